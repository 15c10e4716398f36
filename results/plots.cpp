#include "results/plots.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace acm::results {

using nlohmann::json;

namespace {

const char* const kColours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

std::string f1(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else out += c;
  }
  return out;
}

// A 1-2-5 step giving about 5 intervals over [lo, hi], the range widened to whole steps.
double nice_step(double& lo, double& hi) {
  const double span = std::max(hi - lo, 0.1);
  double step = std::pow(10, std::floor(std::log10(span / 5)));
  for (double f : {1.0, 2.0, 5.0, 10.0}) {
    if (span / (step * f) <= 6) {
      step *= f;
      break;
    }
  }
  lo = std::floor(lo / step) * step;
  hi = std::ceil(hi / step) * step;
  if (hi <= lo) hi = lo + step;
  return step;
}

std::string svg_open(double w, double h) {
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + f1(w) + "\" height=\"" + f1(h) + "\" viewBox=\"0 0 " +
         f1(w) + " " + f1(h) +
         "\" font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"12\">\n"
         "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
}

// A group's name in a legend: "data set / row method".
std::string group_label(const json& g) {
  return g["dataset"].get<std::string>() + " / " + g["row"].get<std::string>() + " " + g["column"].get<std::string>();
}

std::vector<double> numbers(const json& a, double scale = 1) {
  std::vector<double> v;
  for (const auto& x : a) v.push_back(x.is_number() ? x.get<double>() * scale : std::nan(""));
  return v;
}

}  // namespace

std::string line_plot_svg(const LinePlot& p) {
  constexpr double W = 760, H = 440, L = 70, R = 250, T = 48, B = 58;
  const double pw = W - L - R, ph = H - T - B;
  double xmin = 1e300, xmax = -1e300, ymin = 1e300, ymax = -1e300;
  for (const auto& s : p.series) {
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      const double sd = i < s.sd.size() && !std::isnan(s.sd[i]) ? s.sd[i] : 0;
      xmin = std::min(xmin, s.x[i]);
      xmax = std::max(xmax, s.x[i]);
      ymin = std::min(ymin, s.y[i] - sd);
      ymax = std::max(ymax, s.y[i] + sd);
    }
  }
  if (p.marker) {
    xmin = std::min(xmin, p.marker_x);
    xmax = std::max(xmax, p.marker_x);
  }
  if (xmin > xmax) return "";
  const double ystep = nice_step(ymin, ymax);
  const double pad = p.x_ticks.size() > 1 ? 0.5 * (xmax - xmin) / static_cast<double>(p.x_ticks.size() - 1)
                                          : std::max(0.05 * (xmax - xmin), 0.5);
  const double x0 = xmin - pad, x1 = xmax + pad;
  auto X = [&](double v) { return L + (v - x0) / (x1 - x0) * pw; };
  auto Y = [&](double v) { return T + (ymax - v) / (ymax - ymin) * ph; };
  std::string svg = svg_open(W, H);
  svg += "<text x=\"" + f1(L + pw / 2) + "\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">" + escape(p.title) +
         "</text>\n";
  for (double v = ymin; v <= ymax + ystep / 2; v += ystep) {
    svg += "<line x1=\"" + f1(L) + "\" y1=\"" + f1(Y(v)) + "\" x2=\"" + f1(L + pw) + "\" y2=\"" + f1(Y(v)) +
           "\" stroke=\"#e0e0e0\"/>\n<text x=\"" + f1(L - 6) + "\" y=\"" + f1(Y(v) + 4) + "\" text-anchor=\"end\">" +
           fmt(ystep < 1 ? "%.1f" : "%.0f", v) + "</text>\n";
  }
  std::vector<std::pair<double, std::string>> ticks = p.x_ticks;
  if (ticks.empty()) {
    for (int k = 0; k <= 4; ++k) {
      const double v = xmin + (xmax - xmin) * k / 4;
      ticks.push_back({v, fmt("%g", v)});
    }
  }
  for (const auto& [v, text] : ticks) {
    svg += "<line x1=\"" + f1(X(v)) + "\" y1=\"" + f1(T + ph) + "\" x2=\"" + f1(X(v)) + "\" y2=\"" + f1(T + ph + 5) +
           "\" stroke=\"black\"/>\n<text x=\"" + f1(X(v)) + "\" y=\"" + f1(T + ph + 19) +
           "\" text-anchor=\"middle\">" + escape(text) + "</text>\n";
  }
  svg += "<rect x=\"" + f1(L) + "\" y=\"" + f1(T) + "\" width=\"" + f1(pw) + "\" height=\"" + f1(ph) +
         "\" fill=\"none\" stroke=\"black\"/>\n";
  svg += "<text x=\"" + f1(L + pw / 2) + "\" y=\"" + f1(H - 14) + "\" text-anchor=\"middle\">" + escape(p.x_label) +
         "</text>\n";
  svg += "<text transform=\"translate(18 " + f1(T + ph / 2) + ") rotate(-90)\" text-anchor=\"middle\">" +
         escape(p.y_label) + "</text>\n";
  if (p.marker) {
    svg += "<line class=\"paper-n\" x1=\"" + f1(X(p.marker_x)) + "\" y1=\"" + f1(T) + "\" x2=\"" + f1(X(p.marker_x)) +
           "\" y2=\"" + f1(T + ph) + "\" stroke=\"#555\" stroke-dasharray=\"5 4\"/>\n<text x=\"" +
           f1(X(p.marker_x) + 4) + "\" y=\"" + f1(T + 14) + "\" fill=\"#555\">" + escape(p.marker_label) + "</text>\n";
  }
  int k = 0;
  for (const auto& s : p.series) {
    const std::string colour = kColours[k % 10];
    std::string points;
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      const double x = s.x[i], m = s.y[i];
      points += (points.empty() ? "" : " ") + f1(X(x)) + "," + f1(Y(m));
      if (i < s.sd.size() && !std::isnan(s.sd[i])) {
        const double sd = s.sd[i];
        svg += "<path class=\"error-bar\" d=\"M" + f1(X(x)) + " " + f1(Y(m - sd)) + "V" + f1(Y(m + sd)) + "M" +
               f1(X(x) - 4) + " " + f1(Y(m - sd)) + "h8M" + f1(X(x) - 4) + " " + f1(Y(m + sd)) + "h8\" stroke=\"" +
               colour + "\" fill=\"none\"/>\n";
      }
      svg += "<circle cx=\"" + f1(X(x)) + "\" cy=\"" + f1(Y(m)) + "\" r=\"3.5\" fill=\"" + colour + "\"/>\n";
    }
    svg += "<polyline class=\"series\" points=\"" + points + "\" fill=\"none\" stroke=\"" + colour +
           "\" stroke-width=\"2\"/>\n";
    const double ly = T + 10 + 20 * k;
    svg += "<line x1=\"" + f1(L + pw + 14) + "\" y1=\"" + f1(ly) + "\" x2=\"" + f1(L + pw + 38) + "\" y2=\"" + f1(ly) +
           "\" stroke=\"" + colour + "\" stroke-width=\"2\"/>\n<text x=\"" + f1(L + pw + 44) + "\" y=\"" +
           f1(ly + 4) + "\">" + escape(s.label) + "</text>\n";
    ++k;
  }
  svg += "<text x=\"" + f1(L + pw + 14) + "\" y=\"" + f1(T + 10 + 20 * k + 8) + "\" fill=\"#555\" font-size=\"11\">" +
         escape(p.note) + "</text>\n</svg>\n";
  return svg;
}

std::string render_ablation_svg(const json& s) {
  if (s["ablations"].empty()) return "";
  LinePlot p;
  p.title = "Attentive CutMix: accuracy against N (top-N cells of the grid)";
  p.x_label = "N";
  p.y_label = s["metric_title"].get<std::string>();
  p.marker = true;
  p.marker_x = s["paper_n"].get<int>();
  p.marker_label = "paper: N = " + std::to_string(s["paper_n"].get<int>());
  int lo = s["paper_n"].get<int>(), hi = lo;
  for (const auto& a : s["ablations"]) {
    LinePlot::Series series;
    series.label = a["dataset"].get<std::string>() + " / " + a["row"].get<std::string>() +
                   (a["column"] == a["method"] ? std::string() : " " + a["column"].get<std::string>());
    for (const auto& pt : a["points"]) {
      series.x.push_back(pt["n"].get<double>());
      series.y.push_back(pt["mean"].get<double>());
      series.sd.push_back(pt["std"].is_null() ? std::nan("") : pt["std"].get<double>());
      lo = std::min(lo, pt["n"].get<int>());
      hi = std::max(hi, pt["n"].get<int>());
    }
    p.series.push_back(series);
  }
  for (int n = lo; n <= hi; ++n) p.x_ticks.push_back({n, std::to_string(n)});
  return line_plot_svg(p);
}

namespace {

// One line per group holding the curve `key` of summary.json's group "curves"; x scaled by `x_scale`. Lines
// are named by their method where every group shares the data set and row (named in the title then).
std::string curve_plot(const json& s, const char* key, LinePlot p, double x_scale, const char* tick_format) {
  std::vector<const json*> groups;
  for (const auto& g : s["groups"]) {
    if (g.contains("curves") && g["curves"].contains(key) && !g["curves"][key].is_null()) groups.push_back(&g);
  }
  bool one_row = true;
  for (const json* g : groups) {
    one_row = one_row && (*g)["dataset"] == (*groups[0])["dataset"] && (*g)["row"] == (*groups[0])["row"];
  }
  if (one_row && !groups.empty()) {
    p.title += " (" + (*groups[0])["dataset"].get<std::string>() + " / " + (*groups[0])["row"].get<std::string>() + ")";
  }
  std::vector<double> xs;
  for (const json* gp : groups) {
    const json& g = *gp;
    const json& c = g["curves"][key];
    LinePlot::Series series{one_row ? g["column"].get<std::string>() : group_label(g), numbers(c["x"], x_scale),
                            numbers(c["mean"]), numbers(c["std"])};
    for (double x : series.x) {
      if (std::find(xs.begin(), xs.end(), x) == xs.end()) xs.push_back(x);
    }
    p.series.push_back(series);
  }
  if (p.series.empty()) return "";
  std::sort(xs.begin(), xs.end());
  for (double x : xs) p.x_ticks.push_back({x, fmt(tick_format, x)});
  return line_plot_svg(p);
}

}  // namespace

std::string render_occlusion_svg(const json& s) {
  LinePlot p;
  p.title = "Occlusion: top-1, a centred square set to zero";
  p.x_label = "side of the occluded square (fraction of the image side)";
  p.y_label = "test top-1 (%)";
  return curve_plot(s, "occlusion_center", p, 1.0, "%g");
}

std::string render_fgsm_svg(const json& s) {
  LinePlot p;
  p.title = "FGSM: top-1 under the fast gradient sign attack";
  p.x_label = "ε (grey levels of 255)";
  p.y_label = "test top-1 (%)";
  return curve_plot(s, "fgsm", p, 255.0, "%.0f");
}

std::string render_reliability_svg(const json& s) {
  std::vector<const json*> groups;
  for (const auto& g : s["groups"]) {
    if (g.contains("curves") && g["curves"].contains("reliability")) groups.push_back(&g);
  }
  if (groups.empty()) return "";
  constexpr double P = 200, gap = 56, top = 40, left = 50;
  const std::size_t cols = std::min<std::size_t>(4, groups.size()), rows = (groups.size() + cols - 1) / cols;
  const double W = left + static_cast<double>(cols) * (P + gap), H = top + static_cast<double>(rows) * (P + gap + 28);
  std::string svg = svg_open(W, H);
  svg += "<text x=\"" + f1(W / 2) + "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">Reliability: accuracy per "
         "confidence bin (pooled over seeds) against the diagonal</text>\n";
  for (std::size_t k = 0; k < groups.size(); ++k) {
    const json& g = *groups[k];
    const double x0 = left + static_cast<double>(k % cols) * (P + gap),
                 y0 = top + 28 + static_cast<double>(k / cols) * (P + gap + 28);
    std::string title = g["column"].get<std::string>();
    if (g["metrics"].contains("ece")) title += " · ECE " + fmt("%.2f", g["metrics"]["ece"]["mean"].get<double>()) + " %";
    svg += "<g class=\"reliability\">\n<text x=\"" + f1(x0 + P / 2) + "\" y=\"" + f1(y0 - 8) +
           "\" text-anchor=\"middle\">" + escape(title) + "</text>\n";
    svg += "<rect x=\"" + f1(x0) + "\" y=\"" + f1(y0) + "\" width=\"" + f1(P) + "\" height=\"" + f1(P) +
           "\" fill=\"none\" stroke=\"black\"/>\n";
    for (const auto& b : g["curves"]["reliability"]) {
      if (b["accuracy"].is_null() || b["count"].get<double>() == 0) continue;
      const double lo = b["lower"].get<double>(), hi = b["upper"].get<double>(), acc = b["accuracy"].get<double>();
      const double conf = b["confidence"].get<double>();
      svg += "<rect class=\"bin\" x=\"" + f1(x0 + lo * P) + "\" y=\"" + f1(y0 + (1 - acc) * P) + "\" width=\"" +
             f1((hi - lo) * P) + "\" height=\"" + f1(acc * P) +
             "\" fill=\"#1f77b4\" fill-opacity=\"0.75\" stroke=\"white\"/>\n";
      svg += "<circle cx=\"" + f1(x0 + conf * P) + "\" cy=\"" + f1(y0 + (1 - conf) * P) +
             "\" r=\"2\" fill=\"#d62728\"/>\n";
    }
    svg += "<line x1=\"" + f1(x0) + "\" y1=\"" + f1(y0 + P) + "\" x2=\"" + f1(x0 + P) + "\" y2=\"" + f1(y0) +
           "\" stroke=\"#555\" stroke-dasharray=\"4 3\"/>\n";
    for (double v : {0.0, 0.5, 1.0}) {
      svg += "<text x=\"" + f1(x0 + v * P) + "\" y=\"" + f1(y0 + P + 14) + "\" text-anchor=\"middle\" font-size=\"10\">" +
             fmt("%g", v) + "</text>\n<text x=\"" + f1(x0 - 4) + "\" y=\"" + f1(y0 + (1 - v) * P + 4) +
             "\" text-anchor=\"end\" font-size=\"10\">" + fmt("%g", v) + "</text>\n";
    }
    svg += "<text x=\"" + f1(x0 + P / 2) + "\" y=\"" + f1(y0 + P + 28) +
           "\" text-anchor=\"middle\" font-size=\"10\">confidence (bars: accuracy; dots: mean confidence)</text>\n</g>\n";
  }
  return svg + "</svg>\n";
}

}  // namespace acm::results
