// `harness report`: every result under a folder aggregated over seeds (results/summary.h), tables and plots.
#include <cstdio>
#include <memory>

#include "cli/command.h"
#include "results/render.h"
#include "results/summary.h"

namespace acm::cli {

namespace {

struct ReportFlags {
  std::string dir, out, gallery;
  results::ReportOptions options;
  bool no_paper = false, no_gain = false;
};

int run_report(ReportFlags f) {
  f.options.paper = !f.no_paper;
  f.options.gain = !f.no_gain;
  const std::string out = f.out.empty() ? f.dir + "/report" : f.out;
  const results::Summary summary = results::summarize(f.dir, f.options);
  const nlohmann::json summary_json = results::to_json(summary);
  const std::string md = results::write_report(summary_json, out, results::find_gallery(f.dir, f.gallery));
  std::printf("%s", md.c_str());
  std::printf("report %s/%s: %zu completed run(s) counted, %zu failed, %zu incomplete, %zu not counted\n", out.c_str(),
              results::report_files(summary_json).c_str(), summary.runs_completed(), summary.failed.size(),
              summary.incomplete.size(), summary.not_counted.size());
  return 0;
}

}  // namespace

Command add_report(CLI::App& program) {
  auto o = std::make_shared<ReportFlags>();
  auto* cmd = program.add_subcommand(
      "report",
      "Aggregate every result.json under a folder over seeds: summary.json, tables (Markdown, CSV, LaTeX) shaped like "
      "the paper's, Welch t-tests between methods, calibration and robustness, plots (SVG) and one self-contained report.html");
  cmd->add_option("dir", o->dir, "folder of runs (a sweep folder, or any folder of run folders)")->required();
  cmd->add_option("--out", o->out, "where to write (default DIR/report)");
  cmd->add_option("--metric", o->options.metric, "what each run gives: best | last | median5 (test top-1), ece | nll | brier (calibration), occlusion | occlusion_random | fgsm | mca (robustness), or a JSON pointer into result.json such as /robustness/clean_top1")->capture_default_str();
  cmd->add_option("--gallery", o->gallery, "a gallery PNG (harness gallery) to embed in report.html (default DIR/gallery.png where it exists)");
  cmd->add_option("--alpha", o->options.alpha, "significance level of the t-tests")->capture_default_str();
  cmd->add_flag("--no-paper", o->no_paper, "no published values from the paper");
  cmd->add_flag("--no-gain", o->no_gain, "no gain-over-CutMix column");
  return {cmd, [o] { return run_report(*o); }};
}

}  // namespace acm::cli
