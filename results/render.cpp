#include "results/render.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "common/files.h"

namespace acm::results {

using nlohmann::json;

namespace {

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string fmt_p(const json& p) {
  if (p.is_null()) return "n/a";
  const double v = p.get<double>();
  return v < 0.001 ? fmt("%.1e", v) : fmt("%.3f", v);
}

// "91.53 ± 0.12 (3)"; a single seed has no spread: "91.53 (1)".
std::string cell_text(const json& c, const char* pm = " ± ") {
  std::string s = fmt("%.2f", c["mean"].get<double>());
  if (!c["std"].is_null()) s += pm + fmt("%.2f", c["std"].get<double>());
  return s + " (" + std::to_string(c["count"].get<int>()) + ")";
}

bool any_paper(const json& table) {
  for (const auto& row : table["rows"]) {
    for (const auto& [label, c] : row["cells"].items()) {
      if (!c["paper"].is_null()) return true;
    }
  }
  return false;
}

std::vector<std::string> gain_labels(const json& table) {
  std::vector<std::string> labels;
  for (const auto& row : table["rows"]) {
    if (!row.contains("gain_over_cutmix")) continue;
    for (const auto& [label, g] : row["gain_over_cutmix"].items()) {
      if (std::find(labels.begin(), labels.end(), label) == labels.end()) labels.push_back(label);
    }
  }
  return labels;
}

std::string gain_text(const json& g) {
  if (g["p"].is_null()) return fmt("%+.2f", g["difference"].get<double>());
  return fmt("%+.2f", g["difference"].get<double>()) + " (p " + fmt_p(g["p"]) + ", Holm " +
         fmt_p(g["p_holm"]) + ")";
}

std::string ci_text(const json& ci) {
  if (ci.is_null()) return "n/a";
  return "[" + fmt("%.2f", ci[0].get<double>()) + ", " + fmt("%.2f", ci[1].get<double>()) + "]";
}

std::string signed_ci_text(const json& ci) {
  if (ci.is_null()) return "n/a";
  return "[" + fmt("%+.2f", ci[0].get<double>()) + ", " + fmt("%+.2f", ci[1].get<double>()) + "]";
}

std::string counted_text(const json& s) {
  const std::string n = std::to_string(s["runs_completed"].get<int>());
  std::string text;
  if (s["plan"].is_null()) {
    text =
        "No sweep plan (sweep.json) in the folder: every result.json under it is a candidate. Runs "
        "counted: " +
        n + ".";
  } else {
    text = "Runs counted: " + n + " of the " + std::to_string(s["plan"]["runs"].get<int>()) +
           " planned by sweep '" + s["plan"]["name"].get<std::string>() + "' (sweep.json).";
  }
  if (!s["not_counted"].empty()) {
    text += " Not counted: " + std::to_string(s["not_counted"].size()) + " (listed below, with the reason).";
  }
  return text + "\n\n";
}

std::string latex_escape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (ch == '_' || ch == '%' || ch == '&' || ch == '#') out += '\\';
    out += ch;
  }
  for (std::size_t p; (p = out.find("−")) != std::string::npos;) out.replace(p, 3, "$-$");  // minus sign
  return out;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char ch : s) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return out + "\"";
}

// One data set's table: rows and method columns, gain columns, and the note under it.
std::string markdown_table(const json& s, const json& t) {
  const auto gains = gain_labels(t);
  std::string md = "### " + t["dataset"].get<std::string>() + ": " + s["metric_title"].get<std::string>() +
                   ", mean ± std over seeds (seeds)\n\n| model |";
  std::string rule = "| --- |";
  for (const auto& c : t["columns"]) {
    md += " " + c["label"].get<std::string>() + " |";
    rule += " ---: |";
  }
  for (const auto& g : gains) {
    md += " " + g + " |";
    rule += " ---: |";
  }
  md += "\n" + rule + "\n";
  for (const auto& row : t["rows"]) {
    md += "| " + row["label"].get<std::string>() + " |";
    for (const auto& col : t["columns"]) {
      const std::string label = col["label"];
      if (!row["cells"].contains(label)) {
        md += " — |";
        continue;
      }
      const json& c = row["cells"][label];
      std::string text = cell_text(c);
      if (c["best"].get<bool>()) text = "**" + text + "**";
      if (!c["paper"].is_null()) text += " [paper " + fmt("%.2f", c["paper"].get<double>()) + "]";
      md += " " + text + " |";
    }
    for (const auto& g : gains) {
      md += row.contains("gain_over_cutmix") && row["gain_over_cutmix"].contains(g)
                ? " " + gain_text(row["gain_over_cutmix"][g]) + " |"
                : " — |";
    }
    md += "\n";
  }
  md +=
      "\nBold: the best mean in the row. A row's columns share every setting but the method's own; rows "
      "that "
      "differ in anything else are labelled with it and never compared.";
  if (!gains.empty()) {
    md +=
        " Gain columns: difference of means; p: Welch's t-test; Holm: p adjusted over the table's "
        "comparisons.";
  }
  if (any_paper(t)) md += " [paper X]: Walawalkar et al.'s published top-1, shown where the setting matches theirs.";
  return md + "\n\n";
}

std::string markdown_groups(const json& s) {
  if (s["groups"].empty()) return "";
  std::string md = "### Groups: mean with its " + fmt("%g", 100 * s["confidence"].get<double>()) +
                   " % confidence interval (Student's t over seeds)\n\n"
                   "| data set | row | method | seeds | mean ± std | 95 % CI of the mean |\n| --- | --- | --- | --- | "
                   "---: | ---: |\n";
  for (const auto& g : s["groups"]) {
    std::string seeds;
    for (const auto& v : g["seeds"]) seeds += (seeds.empty() ? "" : ", ") + v.dump();
    md += "| " + g["dataset"].get<std::string>() + " | " + g["row"].get<std::string>() + " | " +
          g["column"].get<std::string>() + " | " + seeds + " | " + cell_text(g) + " | " + ci_text(g["ci95"]) + " |\n";
  }
  return md + "\n";
}

std::string markdown_comparisons(const json& s) {
  if (s["comparisons"].empty()) return "";
  std::string md =
      "### Differences between methods (Welch's t-test over seeds; Holm's adjustment per table)\n\n"
      "| data set | row | A | B | A − B | 95 % CI | t | df | p | p (Holm) | beyond the seed spread (Holm p "
      "< " +
      fmt("%g", s["alpha"].get<double>()) +
      ") |\n| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n";
  for (const auto& c : s["comparisons"]) {
    md += "| " + c["dataset"].get<std::string>() + " | " + c["row"].get<std::string>() + " | " +
          c["a"].get<std::string>() + " | " + c["b"].get<std::string>() + " | " +
          fmt("%+.2f", c["difference"].get<double>()) + " | " + signed_ci_text(c["ci95"]) + " | " +
          (c["t"].is_null() ? std::string("n/a") : fmt("%.2f", c["t"].get<double>())) + " | " +
          (c["df"].is_null() ? std::string("n/a") : fmt("%.1f", c["df"].get<double>())) + " | " + fmt_p(c["p"]) +
          " | " + fmt_p(c["p_holm"]) + " | " + (c["beyond_seed_spread"].get<bool>() ? "yes" : "no") + " |\n";
  }
  return md + "\n";
}

std::string markdown_ablations(const json& s) {
  std::string md;
  for (const auto& a : s["ablations"]) {
    md += "### Ablation: " + a["column"].get<std::string>() + " against N on " + a["dataset"].get<std::string>() +
          " / " + a["row"].get<std::string>() + " (the paper's N = " + std::to_string(s["paper_n"].get<int>()) +
          ")\n\n| N | " + s["metric_title"].get<std::string>() + " | 95 % CI |\n| ---: | ---: | ---: |\n";
    for (const auto& p : a["points"]) {
      md += "| " + std::to_string(p["n"].get<int>()) + " | " + cell_text(p) + " | " + ci_text(p["ci95"]) + " |\n";
    }
    md += "\n";
  }
  return md;
}

// The runs listed rather than averaged: `key` is the field that says why.
std::string markdown_listed(const json& items, const std::string& title, const char* key) {
  if (items.empty()) return "";
  std::string md = "### " + title + "\n\n";
  for (const auto& f : items) md += "- `" + f["folder"].get<std::string>() + "`: " + f[key].get<std::string>() + "\n";
  return md + "\n";
}

}  // namespace

std::string render_markdown(const json& s) {
  std::string md = counted_text(s);
  for (const auto& t : s["tables"]) md += markdown_table(s, t);
  md += markdown_groups(s) + markdown_comparisons(s) + markdown_ablations(s);
  md += markdown_listed(s["failed"], "Failed runs (not averaged in)", "error");
  md += markdown_listed(s["incomplete"], "Incomplete runs (not averaged in)", "state");
  md += markdown_listed(s["not_counted"], "Not counted", "reason");
  if (s["tables"].empty()) md += "No completed runs under " + s["source"].get<std::string>() + ".\n";
  return md;
}

std::string render_csv(const json& s) {
  std::vector<std::string> labels;  // the union of every table's columns, in order of appearance
  std::vector<std::string> gains;
  for (const auto& t : s["tables"]) {
    for (const auto& c : t["columns"]) {
      if (std::find(labels.begin(), labels.end(), c["label"]) == labels.end()) labels.push_back(c["label"]);
    }
    for (const auto& g : gain_labels(t)) {
      if (std::find(gains.begin(), gains.end(), g) == gains.end()) gains.push_back(g);
    }
  }
  auto number = [](const json& v, const char* format) {
    return v.is_null() ? std::string() : fmt(format, v.get<double>());
  };
  std::string csv = "dataset,model,row,metric";
  for (const auto& l : labels) {
    for (const char* part : {" mean", " std", " seeds", " ci95 low", " ci95 high", " paper"})
      csv += "," + csv_field(l + part);
  }
  for (const auto& g : gains) {
    for (const char* part : {"", " ci95 low", " ci95 high", " p", " p holm"})
      csv += "," + csv_field(g + part);
  }
  csv += ",best\n";
  for (const auto& t : s["tables"]) {
    for (const auto& row : t["rows"]) {
      csv += csv_field(t["dataset"]) + "," + csv_field(row["model"]) + "," + csv_field(row["label"]) + "," +
             s["metric_field"].get<std::string>();
      std::string best;
      for (const auto& l : labels) {
        if (!row["cells"].contains(l)) {
          csv += ",,,,,,";
          continue;
        }
        const json& c = row["cells"][l];
        const json ci = c["ci95"];
        csv += "," + fmt("%.4f", c["mean"].get<double>()) + "," + number(c["std"], "%.4f") + "," +
               std::to_string(c["count"].get<int>()) + "," + number(ci.is_null() ? ci : ci[0], "%.4f") + "," +
               number(ci.is_null() ? ci : ci[1], "%.4f") + "," + number(c["paper"], "%.2f");
        if (c["best"].get<bool>()) best += (best.empty() ? "" : ";") + l;
      }
      for (const auto& g : gains) {
        if (row.contains("gain_over_cutmix") && row["gain_over_cutmix"].contains(g)) {
          const json& v = row["gain_over_cutmix"][g];
          const json ci = v["ci95"];
          csv += "," + fmt("%.4f", v["difference"].get<double>()) + "," +
                 number(ci.is_null() ? ci : ci[0], "%.4f") + "," + number(ci.is_null() ? ci : ci[1], "%.4f") +
                 "," + number(v["p"], "%.6g") + "," + number(v["p_holm"], "%.6g");
        } else {
          csv += ",,,,,";
        }
      }
      csv += "," + csv_field(best) + "\n";
    }
  }
  return csv;
}

std::string render_latex(const json& s) {
  std::string tex = "% Generated by harness report. Needs \\usepackage{booktabs}.\n";
  for (const auto& t : s["tables"]) {
    const auto gains = gain_labels(t);
    const std::size_t ncols = t["columns"].size() + gains.size();
    tex += "% " + t["dataset"].get<std::string>() + ": " + s["metric_title"].get<std::string>() +
           ", mean $\\pm$ std over seeds; best per row in bold\n\\begin{tabular}{l" + std::string(ncols, 'r') +
           "}\n\\toprule\nModel";
    for (const auto& c : t["columns"]) tex += " & " + latex_escape(c["label"]);
    for (const auto& g : gains) tex += " & " + latex_escape(g);
    tex += " \\\\\n\\midrule\n";
    for (const auto& row : t["rows"]) {
      tex += latex_escape(row["label"]);
      for (const auto& col : t["columns"]) {
        const std::string label = col["label"];
        if (!row["cells"].contains(label)) {
          tex += " & --";
          continue;
        }
        const json& c = row["cells"][label];
        std::string v = fmt("%.2f", c["mean"].get<double>());
        if (c["best"].get<bool>()) v = "\\textbf{" + v + "}";
        if (!c["std"].is_null()) v += " $\\pm$ " + fmt("%.2f", c["std"].get<double>());
        tex += " & " + v;
      }
      for (const auto& g : gains) {
        tex += row.contains("gain_over_cutmix") && row["gain_over_cutmix"].contains(g)
                   ? " & " + fmt("%+.2f", row["gain_over_cutmix"][g]["difference"].get<double>())
                   : " & --";
      }
      tex += " \\\\\n";
    }
    tex += "\\bottomrule\n\\end{tabular}\n\n";
  }
  return tex;
}

std::string render_ablation_svg(const json& s) {
  if (s["ablations"].empty()) return "";
  constexpr double W = 720, H = 440, L = 70, R = 210, T = 48, B = 58;
  const double pw = W - L - R, ph = H - T - B;
  static const char* colours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  const int paper_n = s["paper_n"].get<int>();
  double xmin = paper_n, xmax = paper_n, ymin = 1e300, ymax = -1e300;
  for (const auto& a : s["ablations"]) {
    for (const auto& p : a["points"]) {
      const double n = p["n"].get<double>(), m = p["mean"].get<double>();
      const double sd = p["std"].is_null() ? 0 : p["std"].get<double>();
      xmin = std::min(xmin, n);
      xmax = std::max(xmax, n);
      ymin = std::min(ymin, m - sd);
      ymax = std::max(ymax, m + sd);
    }
  }
  // y ticks: a 1-2-5 step giving about 5 intervals, the range widened to whole steps.
  const double span = std::max(ymax - ymin, 0.1);
  double step = std::pow(10, std::floor(std::log10(span / 5)));
  for (double f : {1.0, 2.0, 5.0, 10.0}) {
    if (span / (step * f) <= 6) {
      step *= f;
      break;
    }
  }
  ymin = std::floor(ymin / step) * step;
  ymax = std::ceil(ymax / step) * step;
  if (ymax <= ymin) ymax = ymin + step;
  const double x0 = xmin - 0.5, x1 = xmax + 0.5;
  auto X = [&](double n) { return L + (n - x0) / (x1 - x0) * pw; };
  auto Y = [&](double v) { return T + (ymax - v) / (ymax - ymin) * ph; };
  auto f1 = [](double v) { return fmt("%.1f", v); };

  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + f1(W) + "\" height=\"" + f1(H) +
                    "\" viewBox=\"0 0 " + f1(W) + " " + f1(H) +
                    "\" font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"12\">\n"
                    "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg += "<text x=\"" + f1(L + pw / 2) + "\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">Attentive CutMix: "
         "accuracy against N (top-N cells of the grid)</text>\n";
  for (double v = ymin; v <= ymax + step / 2; v += step) {
    svg += "<line x1=\"" + f1(L) + "\" y1=\"" + f1(Y(v)) + "\" x2=\"" + f1(L + pw) + "\" y2=\"" + f1(Y(v)) +
           "\" stroke=\"#e0e0e0\"/>\n<text x=\"" + f1(L - 6) + "\" y=\"" + f1(Y(v) + 4) +
           "\" text-anchor=\"end\">" + fmt(step < 1 ? "%.1f" : "%.0f", v) + "</text>\n";
  }
  for (int n = static_cast<int>(xmin); n <= static_cast<int>(xmax); ++n) {
    svg += "<line x1=\"" + f1(X(n)) + "\" y1=\"" + f1(T + ph) + "\" x2=\"" + f1(X(n)) + "\" y2=\"" +
           f1(T + ph + 5) + "\" stroke=\"black\"/>\n<text x=\"" + f1(X(n)) + "\" y=\"" + f1(T + ph + 19) +
           "\" text-anchor=\"middle\">" + std::to_string(n) + "</text>\n";
  }
  svg += "<rect x=\"" + f1(L) + "\" y=\"" + f1(T) + "\" width=\"" + f1(pw) + "\" height=\"" + f1(ph) +
         "\" fill=\"none\" stroke=\"black\"/>\n";
  svg += "<text x=\"" + f1(L + pw / 2) + "\" y=\"" + f1(H - 14) + "\" text-anchor=\"middle\">N</text>\n";
  svg += "<text transform=\"translate(18 " + f1(T + ph / 2) + ") rotate(-90)\" text-anchor=\"middle\">" +
         s["metric_title"].get<std::string>() + "</text>\n";
  svg += "<line class=\"paper-n\" x1=\"" + f1(X(paper_n)) + "\" y1=\"" + f1(T) + "\" x2=\"" + f1(X(paper_n)) +
         "\" y2=\"" + f1(T + ph) + "\" stroke=\"#555\" stroke-dasharray=\"5 4\"/>\n<text x=\"" +
         f1(X(paper_n) + 4) + "\" y=\"" + f1(T + 14) + "\" fill=\"#555\">paper: N = " + std::to_string(paper_n) +
         "</text>\n";
  int k = 0;
  for (const auto& a : s["ablations"]) {
    const std::string colour = colours[k % 10];
    std::string points;
    for (const auto& p : a["points"]) {
      const double n = p["n"].get<double>(), m = p["mean"].get<double>();
      points += (points.empty() ? "" : " ") + f1(X(n)) + "," + f1(Y(m));
      if (!p["std"].is_null()) {
        const double sd = p["std"].get<double>();
        svg += "<path class=\"error-bar\" d=\"M" + f1(X(n)) + " " + f1(Y(m - sd)) + "V" + f1(Y(m + sd)) + "M" +
               f1(X(n) - 4) + " " + f1(Y(m - sd)) + "h8M" + f1(X(n) - 4) + " " + f1(Y(m + sd)) +
               "h8\" stroke=\"" + colour + "\" fill=\"none\"/>\n";
      }
      svg += "<circle cx=\"" + f1(X(n)) + "\" cy=\"" + f1(Y(m)) + "\" r=\"3.5\" fill=\"" + colour + "\"/>\n";
    }
    svg += "<polyline class=\"series\" points=\"" + points + "\" fill=\"none\" stroke=\"" + colour +
           "\" stroke-width=\"2\"/>\n";
    const double ly = T + 10 + 20 * k;
    svg += "<line x1=\"" + f1(L + pw + 14) + "\" y1=\"" + f1(ly) + "\" x2=\"" + f1(L + pw + 38) + "\" y2=\"" +
           f1(ly) + "\" stroke=\"" + colour + "\" stroke-width=\"2\"/>\n<text x=\"" + f1(L + pw + 44) +
           "\" y=\"" + f1(ly + 4) + "\">" + a["dataset"].get<std::string>() + " / " +
           a["row"].get<std::string>() +
           (a["column"] == a["method"] ? std::string() : " " + a["column"].get<std::string>()) + "</text>\n";
    ++k;
  }
  svg += "<text x=\"" + f1(L + pw + 14) + "\" y=\"" + f1(T + 10 + 20 * k + 8) +
         "\" fill=\"#555\" font-size=\"11\">mean ± std over seeds</text>\n</svg>\n";
  return svg;
}

std::string write_report(const json& summary, const std::string& out_dir) {
  fs::make_dirs(out_dir);
  const std::string md = render_markdown(summary);
  fs::write_file_atomic(fs::join_path(out_dir, "summary.json"), summary.dump(2) + "\n");
  fs::write_file_atomic(fs::join_path(out_dir, "table.md"), md);
  fs::write_file_atomic(fs::join_path(out_dir, "table.csv"), render_csv(summary));
  fs::write_file_atomic(fs::join_path(out_dir, "table.tex"), render_latex(summary));
  const std::string svg = render_ablation_svg(summary);
  if (!svg.empty()) fs::write_file_atomic(fs::join_path(out_dir, "ablation.svg"), svg);
  return md;
}

}  // namespace acm::results
