#include "results/render.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "common/files.h"
#include "results/metric.h"

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

// Beyond top-1: each group's secondary metrics (metric.h), mean ± std over seeds, and against its row's
// CutMix the difference with Welch's p.
std::string markdown_beyond(const json& s) {
  std::vector<std::string> names;
  for (const std::string& n : secondary_metrics()) {
    for (const auto& g : s["groups"]) {
      if (g.contains("metrics") && g["metrics"].contains(n)) {
        names.push_back(n);
        break;
      }
    }
  }
  if (names.empty()) return "";
  std::string md = "### Beyond top-1: calibration and robustness, mean ± std over seeds (seeds)\n\n| data set | row | method |";
  std::string rule = "| --- | --- | --- |";
  for (const auto& n : names) {
    const Metric m = find_metric(n);
    md += " " + m.short_title + (m.lower_is_better ? " ↓" : " ↑") + " |";
    rule += " ---: |";
  }
  md += "\n" + rule + "\n";
  bool any_vs = false, any_mixed = false;
  for (const auto& g : s["groups"]) {
    if (!g.contains("metrics") || g["metrics"].empty()) {
      any_mixed = any_mixed || g.value("eval_settings_differ", false);
      continue;
    }
    md += "| " + g["dataset"].get<std::string>() + " | " + g["row"].get<std::string>() + " | " +
          g["column"].get<std::string>() + " |";
    for (const auto& n : names) {
      if (!g["metrics"].contains(n)) {
        md += " — |";
        continue;
      }
      const json& m = g["metrics"][n];
      std::string text = cell_text(m);
      if (m.contains("vs_cutmix")) {
        any_vs = true;
        text += " Δ " + fmt("%+.2f", m["vs_cutmix"]["difference"].get<double>()) + " p " + fmt_p(m["vs_cutmix"]["p"]);
      }
      md += " " + text + " |";
    }
    md += "\n";
  }
  md += "\nECE: expected calibration error over 15 equal-width confidence bins (%); NLL and Brier at the last "
        "evaluation; occlusion: mean top-1 over the centred squares' sizes above 0; FGSM: mean top-1 over ε; mCA: mean "
        "top-1 over the corruptions and severities. ↑ higher is better, ↓ lower.";
  if (any_vs) md += " Δ, p: difference from the row's CutMix and Welch's t-test over seeds (not adjusted).";
  if (any_mixed) md += " Groups whose seeds ran with different `eval` settings are left out of this table.";
  return md + "\n\n";
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
  md += markdown_beyond(s) + markdown_groups(s) + markdown_comparisons(s) + markdown_ablations(s);
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
             csv_field(s["metric"].get<std::string>());
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

namespace {

// Every plot the summary has data for, by file name.
std::vector<std::pair<std::string, std::string>> plots(const json& s) {
  return {{"ablation.svg", render_ablation_svg(s)},
          {"occlusion.svg", render_occlusion_svg(s)},
          {"fgsm.svg", render_fgsm_svg(s)},
          {"reliability.svg", render_reliability_svg(s)}};
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else if (c == '"') out += "&quot;";
    else out += c;
  }
  return out;
}

// The Markdown this renderer writes, inline: **bold** and `code`.
std::string inline_html(const std::string& text) {
  std::string out, escaped = html_escape(text);
  bool bold = false, code = false;
  for (std::size_t i = 0; i < escaped.size(); ++i) {
    if (!code && escaped.compare(i, 2, "**") == 0) {
      out += bold ? "</strong>" : "<strong>";
      bold = !bold;
      ++i;
    } else if (escaped[i] == '`') {
      out += code ? "</code>" : "<code>";
      code = !code;
    } else {
      out += escaped[i];
    }
  }
  return out;
}

std::vector<std::string> table_cells(const std::string& line) {
  std::vector<std::string> cells;
  std::size_t start = 1;
  for (std::size_t p; (p = line.find(" |", start)) != std::string::npos; start = p + 2) {
    std::string c = line.substr(start, p - start);
    c.erase(0, c.find_first_not_of(' '));
    cells.push_back(c);
  }
  return cells;
}

// The subset of Markdown render_markdown writes: ### headings, pipe tables, "- " lists and paragraphs.
std::string markdown_to_html(const std::string& md) {
  std::vector<std::string> lines;
  for (std::size_t start = 0, end; start < md.size(); start = end + 1) {
    end = md.find('\n', start);
    if (end == std::string::npos) end = md.size();
    lines.push_back(md.substr(start, end - start));
  }
  std::string html;
  for (std::size_t i = 0; i < lines.size();) {
    const std::string& l = lines[i];
    if (l.empty()) {
      ++i;
    } else if (l.rfind("### ", 0) == 0) {
      html += "<h2>" + inline_html(l.substr(4)) + "</h2>\n";
      ++i;
    } else if (l[0] == '|') {
      const std::vector<std::string> head = table_cells(l);
      std::vector<bool> right;
      if (i + 1 < lines.size()) {
        for (const auto& c : table_cells(lines[i + 1])) right.push_back(c.size() > 1 && c.back() == ':');
      }
      html += "<table>\n<thead><tr>";
      for (const auto& c : head) html += "<th>" + inline_html(c) + "</th>";
      html += "</tr></thead>\n<tbody>\n";
      for (i += 2; i < lines.size() && !lines[i].empty() && lines[i][0] == '|'; ++i) {
        const std::vector<std::string> cells = table_cells(lines[i]);
        html += "<tr>";
        for (std::size_t k = 0; k < cells.size(); ++k) {
          html += std::string(k < right.size() && right[k] ? "<td class=\"num\">" : "<td>") + inline_html(cells[k]) + "</td>";
        }
        html += "</tr>\n";
      }
      html += "</tbody>\n</table>\n";
    } else if (l.rfind("- ", 0) == 0) {
      html += "<ul>\n";
      for (; i < lines.size() && lines[i].rfind("- ", 0) == 0; ++i) html += "<li>" + inline_html(lines[i].substr(2)) + "</li>\n";
      html += "</ul>\n";
    } else {
      std::string text;
      for (; i < lines.size() && !lines[i].empty() && lines[i][0] != '|' && lines[i].rfind("### ", 0) != 0 &&
             lines[i].rfind("- ", 0) != 0;
           ++i)
        text += (text.empty() ? "" : " ") + lines[i];
      html += "<p>" + inline_html(text) + "</p>\n";
    }
  }
  return html;
}

std::string base64(const std::string& bytes) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    for (int k = 18; k >= 0; k -= 6) out += kAlphabet[(v >> k) & 63];
  }
  if (i < bytes.size()) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace

std::string render_html(const json& s, const std::string& gallery_png) {
  const std::string title =
      s["plan"].is_null() ? "Report: " + s["source"].get<std::string>() : "Report: sweep " + s["plan"]["name"].get<std::string>();
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + html_escape(title) +
      "</title>\n<style>\n"
      "body{font-family:'DejaVu Sans',Arial,sans-serif;margin:24px auto;max-width:1200px;color:#222;font-size:14px}\n"
      "table{border-collapse:collapse;margin:8px 0 4px}th,td{border:1px solid #ccc;padding:3px 8px}"
      "th{background:#f2f2f2}td.num{text-align:right;font-variant-numeric:tabular-nums}\n"
      "h2{font-size:17px;margin-top:28px}figure{margin:16px 0}figcaption{color:#555}code{background:#f4f4f4}\n"
      "img.gallery{max-width:100%;image-rendering:pixelated;border:1px solid #ccc}\n"
      "</style>\n</head>\n<body>\n<h1>" + html_escape(title) + "</h1>\n";
  html += markdown_to_html(render_markdown(s));
  std::string figures;
  for (const auto& [name, svg] : plots(s)) {
    if (svg.empty()) continue;
    figures += "<figure class=\"plot\" id=\"" + name.substr(0, name.size() - 4) + "\">\n" + svg + "<figcaption>" + name +
               "</figcaption>\n</figure>\n";
  }
  if (!figures.empty()) html += "<h2>Plots</h2>\n" + figures;
  if (!gallery_png.empty()) {
    html += "<h2>Gallery: every method on the same donor and recipient</h2>\n<figure id=\"gallery\"><img class=\"gallery\" "
            "alt=\"gallery\" src=\"data:image/png;base64," +
            base64(fs::read_text(gallery_png)) + "\"><figcaption>" + html_escape(gallery_png) + "</figcaption></figure>\n";
  }
  return html + "</body>\n</html>\n";
}

std::string write_report(const json& summary, const std::string& out_dir, const std::string& gallery_png) {
  fs::make_dirs(out_dir);
  const std::string md = render_markdown(summary);
  fs::write_file_atomic(fs::join_path(out_dir, "summary.json"), summary.dump(2) + "\n");
  fs::write_file_atomic(fs::join_path(out_dir, "table.md"), md);
  fs::write_file_atomic(fs::join_path(out_dir, "table.csv"), render_csv(summary));
  fs::write_file_atomic(fs::join_path(out_dir, "table.tex"), render_latex(summary));
  for (const auto& [name, svg] : plots(summary)) {
    if (!svg.empty()) fs::write_file_atomic(fs::join_path(out_dir, name), svg);
  }
  fs::write_file_atomic(fs::join_path(out_dir, "report.html"), render_html(summary, gallery_png));
  return md;
}

std::string report_files(const json& summary) {
  std::string files = "{summary.json,table.md,table.csv,table.tex";
  for (const auto& [name, svg] : plots(summary)) {
    if (!svg.empty()) files += "," + name;
  }
  return files + ",report.html}";
}

std::string find_gallery(const std::string& dir, const std::string& given) {
  if (!given.empty()) {
    if (!fs::path_exists(given)) throw std::runtime_error("--gallery " + given + ": no such file");
    return given;
  }
  const std::string beside = fs::join_path(dir, "gallery.png");
  return fs::path_exists(beside) ? beside : "";
}

}  // namespace acm::results
