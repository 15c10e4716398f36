// `harness sweep` as users launch it — alone, under mpirun with two groups, two jobs on one folder, killed
// and restarted — with tiny runs on synthetic data. Every assertion reads the files a user would: the
// folder's event log (sweep.log.jsonl), each run's result.json, train.log and the report.
// ctest passes the binaries as --harness=PATH --mpirun=PATH and runs these tests one at a time.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "acm/config.h"
#include "tests/test_util.h"

namespace acm {

std::string g_harness, g_mpirun;

namespace {

using nlohmann::json;
using testing::TempDir;

// A sweep of tiny runs (testing::tiny_sweep_spec): 4 steps per epoch.
json tiny_spec(const std::vector<json>& axes, int epochs = 1) { return testing::tiny_sweep_spec(axes, epochs); }

json seeds(int n) {
  json v = json::array();
  for (int i = 0; i < n; ++i) v.push_back(i);
  return {{"name", "seed"}, {"path", "seed"}, {"values", v}};
}

json methods_axis() {
  return json::parse(R"({"name": "method", "values": [
    {"label": "baseline", "set": {"mix": {"method": "none"}}},
    {"label": "cutmix", "set": {"mix": {"method": "cutmix", "prob": 1.0}}},
    {"label": "attentive_cutmix", "set": {"mix": {"method": "attentive_cutmix", "top_n": 6, "cache": true, "extractor": {"input_size": 32}}},
     "extractor_from": {"method": "baseline"}}]})");
}

std::string write_spec(const TempDir& dir, const json& spec, const std::string& name = "spec.json") {
  std::ofstream(dir.file(name)) << spec.dump(2);
  return dir.file(name);
}

struct Job {
  int code = -1;
  std::string output;
};

// `[mpirun -np N] harness sweep SPEC --out OUT EXTRA`, killed after 120 s.
Job sweep(int ranks, const std::string& spec, const std::string& out, const std::string& extra = "",
          const std::string& env = "") {
  std::string cmd = "timeout -s KILL 120 env OMP_NUM_THREADS=1 " + env + " ";
  if (ranks > 0) {
    cmd += g_mpirun + " --allow-run-as-root --oversubscribe --bind-to none -np " + std::to_string(ranks) +
           " -x OMP_NUM_THREADS ";
  }
  cmd += g_harness + " sweep " + spec + " --out " + out + " " + extra + " 2>&1";
  Job j;
  j.code = testing::run_command(cmd, &j.output);
  return j;
}

std::vector<json> events(const std::string& out) {
  std::vector<json> ev;
  std::ifstream in(out + "/sweep.log.jsonl");
  for (std::string line; std::getline(in, line);) ev.push_back(json::parse(line));
  return ev;
}

std::map<std::string, int> count_events(const std::vector<json>& ev, const std::string& kind) {
  std::map<std::string, int> n;
  for (const auto& e : ev) {
    if (e["event"] == kind) ++n[e["run"].get<std::string>()];
  }
  return n;
}

json result_of(const std::string& out, const std::string& folder) {
  return json::parse(testing::read_text(out + "/" + folder + "/result.json"));
}

std::vector<std::string> planned_folders(const std::string& out) {
  std::vector<std::string> f;
  const json plan = json::parse(testing::read_text(out + "/sweep.json"));  // named: the loop must not dangle
  for (const auto& r : plan["runs"]) f.push_back(r["folder"]);
  return f;
}

double mtime(const std::string& path) {
  struct stat st {};
  ::stat(path.c_str(), &st);
  return static_cast<double>(st.st_mtim.tv_sec) + 1e-9 * static_cast<double>(st.st_mtim.tv_nsec);
}

// Every planned run completed exactly once (one "done" event, a completed result carrying its id).
void expect_each_run_done_once(const std::string& out) {
  const auto done = count_events(events(out), "done");
  for (const auto& f : planned_folders(out)) {
    EXPECT_EQ(done.count(f) ? done.at(f) : 0, 1) << f;
    EXPECT_EQ(result_of(out, f)["status"], "completed") << f;
  }
}

TEST(Sweep, TwoGroupsUnderMpirunRunTheGridAndReport) {
  TempDir dir;
  const std::string out = dir.file("out");
  const Job j = sweep(2, write_spec(dir, tiny_spec({methods_axis(), seeds(2)}, 2)), out);
  ASSERT_EQ(j.code, 0) << j.output;
  expect_each_run_done_once(out);
  std::set<int> groups;
  for (const auto& e : events(out)) {
    if (e["event"] == "done") groups.insert(e["group"].get<int>());
  }
  EXPECT_EQ(groups, (std::set<int>{0, 1})) << "both groups ran runs";
  // Attentive CutMix took its extractor from the baseline run of its seed, which was done before it started.
  const json r = result_of(out, "synthetic/resnet18/attentive_cutmix/seed1");
  EXPECT_EQ(r["config"]["mix"]["extractor"]["path"], out + "/synthetic/resnet18/baseline/seed1");
  EXPECT_EQ(r["sweep"]["labels"]["method"], "attentive_cutmix");
  // The report: 3 methods × 2 seeds, all six pairs... three pairs of three methods, the table printed.
  const json s = json::parse(testing::read_text(out + "/report/summary.json"));
  EXPECT_EQ(s["runs_completed"], 6);
  EXPECT_EQ(s["comparisons"].size(), 3u);
  EXPECT_TRUE(s["failed"].empty());
  EXPECT_TRUE(s["incomplete"].empty());
  for (const char* f : {"table.md", "table.csv", "table.tex"}) EXPECT_TRUE(testing::exists(out + "/report/" + f)) << f;
  EXPECT_NE(j.output.find("| resnet18 |"), std::string::npos) << j.output;
  EXPECT_NE(j.output.find("attentive_cutmix − cutmix"), std::string::npos) << j.output;
}

// report.html as a browser reads it: headless Chromium (Debian's, which scripts/setup --tests installs) loads
// the page of a real sweep's report with the gallery embedded; its DOM holds every table of table.md, every
// plot the report wrote and the gallery, and a screenshot of it is a real image.
TEST(Sweep, ReportHtmlRendersInHeadlessChromium) {
  TempDir dir;
  const std::string out = dir.file("out");
  json axis = json::parse(R"({"name": "method", "values": [
    {"label": "baseline", "set": {"mix": {"method": "none"}}},
    {"label": "cutmix", "set": {"mix": {"method": "cutmix", "prob": 1.0}}},
    {"label": "gridmix", "set": {"mix": {"method": "gridmix"}}}]})");
  json spec = tiny_spec({axis, seeds(2)});
  spec["base"]["eval"] = {{"corruption_severities", {3}}};
  const Job j = sweep(0, write_spec(dir, spec), out);
  ASSERT_EQ(j.code, 0) << j.output;
  std::string log;
  const std::string gallery = std::string(ACM_SOURCE_DIR) + "/docs/gallery-fashion-mnist.png";
  ASSERT_EQ(testing::run_command(g_harness + " report " + out + " --gallery " + gallery + " 2>&1", &log), 0) << log;
  EXPECT_NE(log.find("occlusion.svg,fgsm.svg,reliability.svg,report.html}"), std::string::npos) << log;
  const std::string page = out + "/report/report.html";
  std::string dom;
  ASSERT_EQ(testing::run_command("timeout 120 chromium --headless --no-sandbox --disable-gpu --dump-dom file://" + page +
                                     " 2>/dev/null",
                                 &dom),
            0)
      << "chromium (scripts/setup --tests installs it) could not render " << page;
  auto count = [](const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
    return n;
  };
  const std::string md = testing::read_text(out + "/report/table.md");
  EXPECT_GE(count(md, "\n| ---"), 4u) << "main table, beyond top-1, groups, comparisons";
  EXPECT_EQ(count(dom, "<table>"), count(md, "\n| ---")) << dom.substr(0, 2000);
  EXPECT_EQ(count(dom, "<svg "), 3u) << "occlusion, FGSM, reliability";
  for (const char* id : {"id=\"occlusion\"", "id=\"fgsm\"", "id=\"reliability\"", "id=\"gallery\""})
    EXPECT_EQ(count(dom, id), 1u) << id;
  EXPECT_EQ(count(dom, "class=\"reliability\""), 3u) << "a diagram per method";
  EXPECT_NE(dom.find("<h2>Beyond top-1"), std::string::npos);
  EXPECT_NE(dom.find("<td>gridmix</td>"), std::string::npos);
  EXPECT_NE(dom.find("src=\"data:image/png;base64,iVBORw0KGgo"), std::string::npos);
  const std::string shot = dir.file("shot.png");
  ASSERT_EQ(testing::run_command("timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars "
                                 "--window-size=1280,2400 --screenshot=" + shot + " file://" + page + " 2>&1",
                                 &log),
            0)
      << log;
  const std::string png = testing::read_text(shot);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_GT(png.size(), 20000u) << "a page of tables and plots, not a blank one";
}

// One run 40 times longer than the others: the group that takes it runs nothing else, the other group runs
// every short one (a static split would give the long run's group half of them).
TEST(Sweep, RunsAreHandedOutDynamically) {
  TempDir dir;
  const std::string out = dir.file("out");
  const json axis = json::parse(R"({"name": "job", "values": [
      {"label": "long", "set": {"epochs": 40}}, {"label": "s1", "set": {"seed": 1}},
      {"label": "s2", "set": {"seed": 2}}, {"label": "s3", "set": {"seed": 3}}, {"label": "s4", "set": {"seed": 4}}]})");
  const Job j = sweep(2, write_spec(dir, tiny_spec({axis})), out, "--no-report");
  ASSERT_EQ(j.code, 0) << j.output;
  expect_each_run_done_once(out);
  std::map<int, std::vector<std::string>> by_group;
  for (const auto& e : events(out)) {
    if (e["event"] == "claim") by_group[e["group"].get<int>()].push_back(e["run"]);
  }
  ASSERT_EQ(by_group.size(), 2u) << j.output;
  const std::string long_run = "synthetic/resnet18/baseline/long-seed0";
  for (const auto& [g, runs] : by_group) {
    if (std::find(runs.begin(), runs.end(), long_run) != runs.end()) {
      EXPECT_EQ(runs, std::vector<std::string>{long_run}) << "group " << g;
    } else {
      EXPECT_EQ(runs.size(), 4u) << "group " << g;
    }
  }
}

// A run that diverges is recorded failed with its error; the others complete; the report lists it and does
// not average it; --retry-failed runs only it again.
TEST(Sweep, AFailedRunIsRecordedAndTheOthersComplete) {
  TempDir dir;
  const std::string out = dir.file("out");
  const json axis = json::parse(R"({"name": "lr", "values": [
      {"label": "ok"}, {"label": "diverges", "set": {"optimizer": {"lr": 1000, "weight_decay": 0}}}]})");
  const std::string spec = write_spec(dir, tiny_spec({axis, seeds(2)}, 2));
  const Job j = sweep(0, spec, out);
  EXPECT_EQ(j.code, 1) << j.output;
  const std::string bad = "synthetic/resnet18/baseline/diverges-seed0";
  const json r = result_of(out, bad);
  EXPECT_EQ(r["status"], "failed");
  EXPECT_NE(r["error"].get<std::string>().find("non-finite loss"), std::string::npos) << r["error"];
  EXPECT_EQ(r["sweep"]["folder"], bad);
  EXPECT_EQ(result_of(out, "synthetic/resnet18/baseline/ok-seed1")["status"], "completed");
  const json s = json::parse(testing::read_text(out + "/report/summary.json"));
  EXPECT_EQ(s["runs_completed"], 2);
  EXPECT_EQ(s["failed"].size(), 2u);
  EXPECT_NE(j.output.find("Failed runs (not averaged in)"), std::string::npos);

  const double ok_time = mtime(out + "/synthetic/resnet18/baseline/ok-seed0/result.json");
  const Job again = sweep(0, spec, out, "--retry-failed");
  EXPECT_EQ(again.code, 1) << again.output;  // it diverges again
  EXPECT_TRUE(testing::exists(out + "/" + bad + "/result.failed.1.json"));
  EXPECT_EQ(mtime(out + "/synthetic/resnet18/baseline/ok-seed0/result.json"), ok_time);
  EXPECT_EQ(count_events(events(out), "claim").at("synthetic/resnet18/baseline/ok-seed0"), 1);
  EXPECT_EQ(count_events(events(out), "claim").at(bad), 2);
}

// A run killed mid-way (the process dies by SIGKILL at step 6, after the epoch-1 checkpoint at step 4): the
// restarted sweep takes the dead claim over at once (same host, its pid is gone) and resumes the run from its
// checkpoint; the runs done before are not run again.
TEST(Sweep, ARunKilledMidwayResumesFromItsCheckpoint) {
  TempDir dir;
  const std::string out = dir.file("out");
  const json axis = json::parse(R"({"name": "job", "values": [{"label": "a"}, {"label": "b", "set": {"epochs": 3}}]})");
  const std::string spec = write_spec(dir, tiny_spec({axis}, 1));
  // Run a (4 steps) completes; run b dies at its global step 6.
  const Job killed = sweep(0, spec, out, "", "ACM_FAULT_INJECT=kill:0:6");
  EXPECT_EQ(killed.code, 128 + SIGKILL) << killed.output;
  const std::string a = "synthetic/resnet18/baseline/a-seed0", b = "synthetic/resnet18/baseline/b-seed0";
  EXPECT_EQ(result_of(out, a)["status"], "completed");
  EXPECT_FALSE(testing::exists(out + "/" + b + "/result.json"));
  EXPECT_TRUE(testing::exists(out + "/" + b + "/checkpoint.safetensors"));
  const double a_time = mtime(out + "/" + a + "/result.json");

  const Job resumed = sweep(0, spec, out);
  ASSERT_EQ(resumed.code, 0) << resumed.output;
  expect_each_run_done_once(out);
  EXPECT_EQ(mtime(out + "/" + a + "/result.json"), a_time);
  bool took_over = false;
  for (const auto& e : events(out)) {
    if (e["event"] == "takeover" && e["run"] == b) {
      took_over = true;
      EXPECT_EQ(e["attempt"], 2);
      EXPECT_EQ(e["resume"], true);
    }
  }
  EXPECT_TRUE(took_over);
  EXPECT_NE(testing::read_text(out + "/" + b + "/train.log").find("resumed at epoch 2"), std::string::npos);
  EXPECT_EQ(result_of(out, b)["epochs"].size(), 3u);
}

// SIGKILL to the whole job (mpirun and its ranks, as a scheduler ends a job), then the same command again:
// nothing is lost and nothing is run twice.
TEST(Sweep, TheWholeJobKilledThenRestarted) {
  TempDir dir;
  const std::string out = dir.file("out");
  const std::string spec = write_spec(dir, tiny_spec({methods_axis(), seeds(3)}, 3));
  const int pid = testing::spawn({"/usr/bin/setsid", g_mpirun, "--allow-run-as-root", "--oversubscribe", "--bind-to",
                                  "none", "-np", "2", "-x", "OMP_NUM_THREADS=1", g_harness, "sweep", spec, "--out", out},
                                 dir.file("job1.log"));
  ASSERT_TRUE(testing::wait_for_text(out + "/sweep.log.jsonl", "\"event\":\"done\"", 60)) << testing::read_text(dir.file("job1.log"));
  // mpirun and its ranks share the session setsid gave them: SIGKILL to all of it at once.
  std::string ignored;
  testing::run_command("pkill -9 -s " + std::to_string(pid), &ignored);
  testing::wait_exit(pid);
  std::map<std::string, double> before;
  for (const auto& f : planned_folders(out)) {
    if (testing::exists(out + "/" + f + "/result.json")) before[f] = mtime(out + "/" + f + "/result.json");
  }
  ASSERT_FALSE(before.empty());
  ASSERT_LT(before.size(), planned_folders(out).size()) << "the job was killed too late to test anything";

  const std::size_t events_before = events(out).size();

  const Job again = sweep(2, spec, out);
  ASSERT_EQ(again.code, 0) << again.output;
  // Every run completed; none twice. (A run can finish in the instant between its result and its "done" line,
  // so the killed job's log may lack that line: the results, not the lines, are what counts.)
  const auto all = events(out);
  const auto done = count_events(all, "done");
  for (const auto& f : planned_folders(out)) {
    EXPECT_EQ(result_of(out, f)["status"], "completed") << f;
    EXPECT_LE(done.count(f) ? done.at(f) : 0, 1) << f;
  }
  // The restarted job claimed no run the killed one had finished, and rewrote none of their results.
  for (std::size_t i = events_before; i < all.size(); ++i) {
    if (all[i]["event"] == "claim" || all[i]["event"] == "takeover") {
      EXPECT_FALSE(before.count(all[i]["run"].get<std::string>())) << all[i].dump();
    }
  }
  for (const auto& [f, t] : before) EXPECT_EQ(mtime(out + "/" + f + "/result.json"), t) << f;
}

// A claim left by a job on another host (its heartbeat stopped) is taken over once --claim-timeout has passed,
// not before.
TEST(Sweep, AClaimFromAnotherHostIsTakenOverAfterTheTimeout) {
  TempDir dir;
  const std::string out = dir.file("out");
  const std::string spec = write_spec(dir, tiny_spec({seeds(1)}));
  std::string listing;
  ASSERT_EQ(testing::run_command(g_harness + " sweep " + spec + " --out " + out + " --dry-run", &listing), 0);
  const std::string id = listing.substr(listing.find("\n  ") + 3, 16);
  const std::string run = out + "/synthetic/resnet18/baseline/seed0";
  testing::make_dir(out);
  testing::make_dir(out + "/synthetic");
  testing::make_dir(out + "/synthetic/resnet18");
  testing::make_dir(out + "/synthetic/resnet18/baseline");
  testing::make_dir(run);
  std::ofstream(run + "/claim.json") << json{{"id", id}, {"job", "elsewhere:1:dead"}, {"host", "elsewhere"},
                                             {"pid", 1}, {"group", 0}, {"starts", 1}, {"crashes", 0},
                                             {"released", false}}.dump();
  const auto t0 = std::chrono::steady_clock::now();
  const Job j = sweep(0, spec, out, "--claim-timeout 3 --no-report");
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(j.code, 0) << j.output;
  EXPECT_NE(j.output.find("waiting"), std::string::npos) << j.output;
  EXPECT_GE(waited, 2.5);
  bool took_over = false;
  for (const auto& e : events(out)) {
    if (e["event"] == "takeover") {
      took_over = true;
      EXPECT_EQ(e["previous_job"], "elsewhere:1:dead");
      EXPECT_EQ(e["attempt"], 2);
    }
  }
  EXPECT_TRUE(took_over);
  expect_each_run_done_once(out);
}

// Two jobs started on one folder at once share its runs: each run is claimed and done once, by one of them.
TEST(Sweep, TwoJobsOnOneFolderNeverRunARunTwice) {
  TempDir dir;
  const std::string out = dir.file("out");
  const std::string spec = write_spec(dir, tiny_spec({seeds(8)}, 2));
  const std::vector<std::string> argv = {g_harness, "sweep", spec, "--out", out, "--no-report"};
  const int p1 = testing::spawn(argv, dir.file("job1.log")), p2 = testing::spawn(argv, dir.file("job2.log"));
  EXPECT_EQ(testing::wait_exit(p1), 0) << testing::read_text(dir.file("job1.log"));
  EXPECT_EQ(testing::wait_exit(p2), 0) << testing::read_text(dir.file("job2.log"));
  expect_each_run_done_once(out);
  std::map<std::string, int> claims = count_events(events(out), "claim");
  std::set<std::string> jobs;
  for (const auto& e : events(out)) {
    if (e["event"] == "claim") jobs.insert(e["job"].get<std::string>());
  }
  for (const auto& [f, n] : claims) EXPECT_EQ(n, 1) << f;
  EXPECT_EQ(claims.size(), 8u);
  EXPECT_EQ(jobs.size(), 2u) << "both jobs took runs";
}

// A folder remembers its plan: a changed spec is refused with what changed, unless --allow-spec-change, and
// then only the new run is trained.
TEST(Sweep, AChangedSpecIsRefusedUnlessAllowed) {
  TempDir dir;
  const std::string out = dir.file("out");
  const Job first = sweep(0, write_spec(dir, tiny_spec({seeds(2)})), out, "--no-report");
  ASSERT_EQ(first.code, 0) << first.output;
  const double t0 = mtime(out + "/synthetic/resnet18/baseline/seed0/result.json");
  const std::string changed = write_spec(dir, tiny_spec({seeds(3)}), "changed.json");
  const Job refused = sweep(0, changed, out);
  EXPECT_EQ(refused.code, 2) << refused.output;
  EXPECT_NE(refused.output.find("holds another plan of sweep 'tiny' (1 run(s) new or changed, 0 gone)"),
            std::string::npos)
      << refused.output;
  EXPECT_NE(refused.output.find("--allow-spec-change"), std::string::npos);
  const Job allowed = sweep(0, changed, out, "--allow-spec-change --no-report");
  ASSERT_EQ(allowed.code, 0) << allowed.output;
  expect_each_run_done_once(out);
  EXPECT_EQ(mtime(out + "/synthetic/resnet18/baseline/seed0/result.json"), t0);
}

// A run whose config changed keeps its folder name; with --allow-spec-change the old run's folder is moved aside
// (kept, not mixed in) and the run is trained anew.
TEST(Sweep, AChangedRunMovesItsOldFolderAside) {
  TempDir dir;
  const std::string out = dir.file("out");
  const Job first = sweep(0, write_spec(dir, tiny_spec({seeds(1)}, 1)), out, "--no-report");
  ASSERT_EQ(first.code, 0) << first.output;
  const std::string run = out + "/synthetic/resnet18/baseline/seed0";
  const std::string old_id = json::parse(testing::read_text(run + "/run.json"))["id"];
  const std::string changed = write_spec(dir, tiny_spec({seeds(1)}, 2), "changed.json");
  EXPECT_EQ(sweep(0, changed, out, "--no-report").code, 2);
  const Job allowed = sweep(0, changed, out, "--allow-spec-change --no-report");
  ASSERT_EQ(allowed.code, 0) << allowed.output;
  EXPECT_EQ(json::parse(testing::read_text(run + ".superseded-" + old_id + "/result.json"))["epochs"].size(), 1u);
  EXPECT_EQ(result_of(out, "synthetic/resnet18/baseline/seed0")["epochs"].size(), 2u);
  EXPECT_NE(json::parse(testing::read_text(run + "/run.json"))["id"], old_id);
}

// "reuse": a second sweep takes the first one's runs that have its identity and seed (here with another
// eval_batch_size, an execution field, so the run ids differ), copies them with where they came from and
// trains only the rest; the report of the second folder gives the copied groups the first folder's numbers.
// A run another run needs as its extractor is taken only with its checkpoint; without it, it is trained and
// the dry run says why. Under mpirun with two groups.
TEST(Sweep, RunsOfTheSameIdentityAreReusedNotRetrained) {
  TempDir dir;
  const std::string first = dir.file("first"), second = dir.file("second");
  ASSERT_EQ(sweep(0, write_spec(dir, tiny_spec({methods_axis(), seeds(2)}, 2)), first, "--no-report").code, 0);
  json axis = methods_axis();
  axis["values"].push_back(json::parse(R"({"label": "cutmix_half", "set": {"mix": {"method": "cutmix", "prob": 0.5}}})"));
  json spec = tiny_spec({axis, seeds(2)}, 2);
  spec["reuse"] = {first};
  const std::string path = write_spec(dir, spec, "second.json");
  const Job j = sweep(2, path, second, "--set eval_batch_size=8");
  ASSERT_EQ(j.code, 0) << j.output;
  const auto ev = events(second);
  const auto reused = count_events(ev, "reused"), done = count_events(ev, "done");
  for (const char* method : {"baseline", "cutmix", "attentive_cutmix"}) {
    for (int seed : {0, 1}) {
      const std::string f = std::string("synthetic/resnet18/") + method + "/seed" + std::to_string(seed);
      EXPECT_EQ(reused.count(f) ? reused.at(f) : 0, 1) << f;
      EXPECT_EQ(done.count(f), 0u) << f << " was trained again";
      const json a = result_of(first, f), b = result_of(second, f);
      EXPECT_EQ(b["final"], a["final"]) << f;
      EXPECT_EQ(b["epochs"], a["epochs"]) << f;
      EXPECT_EQ(b["reused"]["from"], first + "/" + f) << f;
      EXPECT_EQ(b["reused"]["sweep"]["id"], a["sweep"]["id"]) << f;
      EXPECT_EQ(b["sweep"]["name"], "tiny");
      EXPECT_NE(b["sweep"]["id"], a["sweep"]["id"]) << "another plan's run id (eval_batch_size differs)";
    }
  }
  // The baseline serves as an extractor: its checkpoint came along.
  EXPECT_EQ(testing::read_text(second + "/synthetic/resnet18/baseline/seed0/checkpoint.safetensors"),
            testing::read_text(first + "/synthetic/resnet18/baseline/seed0/checkpoint.safetensors"));
  for (int seed : {0, 1}) {
    const std::string f = "synthetic/resnet18/cutmix_half/seed" + std::to_string(seed);
    EXPECT_EQ(done.count(f) ? done.at(f) : 0, 1) << f;
    EXPECT_FALSE(result_of(second, f).contains("reused")) << f;
  }
  EXPECT_NE(j.output.find("reused synthetic/resnet18/cutmix/seed1 from " + first), std::string::npos) << j.output;
  // Same identity, same numbers: the copied groups' means in the second report equal the first folder's.
  const Job first_report = [&] {
    Job r;
    r.code = testing::run_command(g_harness + " report " + first + " --out " + dir.file("first-report") + " 2>&1",
                                  &r.output);
    return r;
  }();
  ASSERT_EQ(first_report.code, 0) << first_report.output;
  const json s1 = json::parse(testing::read_text(dir.file("first-report") + "/summary.json"));
  const json s2 = json::parse(testing::read_text(second + "/report/summary.json"));
  EXPECT_EQ(s2["runs_completed"], 8);
  std::map<std::string, double> mean1;  // by the group's runs (folders), which both sweeps name alike
  for (const auto& g : s1["groups"]) mean1[g["runs"].dump()] = g["mean"];
  int matched = 0;
  for (const auto& g : s2["groups"]) {
    const auto it = mean1.find(g["runs"].dump());
    if (it == mean1.end()) continue;
    EXPECT_EQ(g["mean"].get<double>(), it->second) << g["runs"];
    ++matched;
  }
  EXPECT_EQ(matched, 3);
  // Without its checkpoint, the first sweep's baseline of seed 0 cannot serve as an extractor: trained here.
  std::remove((first + "/synthetic/resnet18/baseline/seed0/checkpoint.safetensors").c_str());
  const Job dry = sweep(0, path, dir.file("third"), "--dry-run");
  ASSERT_EQ(dry.code, 0) << dry.output;
  EXPECT_NE(dry.output.find("note: synthetic/resnet18/baseline/seed0: not reused from " + first +
                            "/synthetic/resnet18/baseline/seed0, which has no checkpoint.safetensors"),
            std::string::npos)
      << dry.output;
  EXPECT_NE(dry.output.find("baseline/seed1  (reused from " + first), std::string::npos) << dry.output;
  EXPECT_NE(dry.output.find("8 runs (5 reused, 3 to train)"), std::string::npos) << dry.output;
}

// After --allow-spec-change the report counts the new plan's runs only: its n per group is the new plan's
// seeds, and the old runs, moved aside, are listed as not counted with the reason.
TEST(Sweep, AfterAPlanChangeTheReportCountsTheNewPlanOnly) {
  TempDir dir;
  const std::string out = dir.file("out");
  ASSERT_EQ(sweep(0, write_spec(dir, tiny_spec({seeds(2)}, 1)), out, "--no-report").code, 0);
  const Job changed =
      sweep(0, write_spec(dir, tiny_spec({seeds(3)}, 2), "changed.json"), out, "--allow-spec-change");
  ASSERT_EQ(changed.code, 0) << changed.output;
  const json s = json::parse(testing::read_text(out + "/report/summary.json"));
  ASSERT_EQ(s["groups"].size(), 1u) << s["groups"].dump();
  EXPECT_EQ(s["groups"][0]["count"], 3);
  EXPECT_EQ(s["groups"][0]["seeds"], (json{0, 1, 2}));
  EXPECT_EQ(s["groups"][0]["epochs"], 2);
  EXPECT_EQ(s["runs_completed"], 3);
  ASSERT_EQ(s["not_counted"].size(), 2u) << s["not_counted"].dump();
  for (const auto& n : s["not_counted"]) {
    EXPECT_NE(n["folder"].get<std::string>().find(".superseded-"), std::string::npos) << n.dump();
    EXPECT_NE(n["reason"].get<std::string>().find("moved aside when the plan changed"), std::string::npos)
        << n.dump();
  }
  EXPECT_NE(changed.output.find("### Not counted"), std::string::npos) << changed.output;
  EXPECT_NE(changed.output.find("Runs counted: 3 of the 3 planned"), std::string::npos) << changed.output;
}

// Like with like, through the binary: CutMix at 2 epochs and Attentive CutMix at 3 are two labelled rows with
// nothing compared across them; Attentive CutMix with two extractor files is two groups; and a group's n is
// never more than its distinct seeds, however many folders repeat one.
TEST(Sweep, TheReportGroupsOnlyLikeWithLike) {
  TempDir dir;
  std::string log;
  for (int s : {0, 1}) {
    const std::string ex = dir.file("ex" + std::to_string(s));
    ASSERT_EQ(testing::run_command(
                  g_harness + " train --quiet --out " + ex + " --set seed=" + std::to_string(s) +
                      " --set dataset.name=synthetic --set dataset.train_size=64 --set dataset.test_size=16"
                      " --set dataset.channels=1 --set dataset.height=16 --set dataset.width=16"
                      " --set dataset.classes=4 --set model_options.width=4 --set epochs=1"
                      " --set batch_size=16 --set threads=1 2>&1",
                  &log),
              0)
        << log;
  }
  json methods = json::parse(R"({"name": "method", "values": [
    {"label": "cutmix", "set": {"mix": {"method": "cutmix", "prob": 1.0}, "epochs": 2}},
    {"label": "attentive_cutmix", "set": {"mix": {"method": "attentive_cutmix", "top_n": 6, "extractor": {"input_size": 32}}, "epochs": 3},
     "axes": [{"name": "extractor", "values": [{"label": "A"}, {"label": "B"}]}]}]})");
  methods["values"][1]["axes"][0]["values"][0]["set"] = {
      {"mix", {{"extractor", {{"path", dir.file("ex0")}}}}}};
  methods["values"][1]["axes"][0]["values"][1]["set"] = {
      {"mix", {{"extractor", {{"path", dir.file("ex1")}}}}}};
  const std::string out = dir.file("out");
  const Job j = sweep(0, write_spec(dir, tiny_spec({methods, seeds(2)})), out);
  ASSERT_EQ(j.code, 0) << j.output;
  const json s = json::parse(testing::read_text(out + "/report/summary.json"));
  ASSERT_EQ(s["tables"].size(), 1u);
  const json& t = s["tables"][0];
  ASSERT_EQ(t["rows"].size(), 2u) << t.dump();
  EXPECT_EQ(t["rows"][0]["label"], "resnet18 (epochs 2)");
  EXPECT_EQ(t["rows"][1]["label"], "resnet18 (epochs 3)");
  EXPECT_EQ(t["rows"][0]["cells"].size(), 1u);
  EXPECT_TRUE(t["rows"][0]["cells"].contains("cutmix"));
  EXPECT_EQ(t["rows"][1]["cells"].size(), 2u) << "one column per extractor file";
  for (const auto& [label, cell] : t["rows"][1]["cells"].items()) {
    EXPECT_EQ(label.rfind("attentive_cutmix [extractor file ", 0), 0u) << label;
    EXPECT_EQ(cell["count"], 2) << label;
  }
  // The one comparison is between the two extractors, in their row: nothing across rows, no gain column.
  ASSERT_EQ(s["comparisons"].size(), 1u) << s["comparisons"].dump();
  EXPECT_EQ(s["comparisons"][0]["row"], "resnet18 (epochs 3)");
  for (const auto& row : t["rows"]) EXPECT_FALSE(row.contains("gain_over_cutmix"));
  EXPECT_NE(j.output.find("| resnet18 (epochs 2) |"), std::string::npos) << j.output;

  // The runs copied elsewhere with one of them twice (no plan there): n stays the number of distinct seeds.
  const std::string copy = dir.file("copy");
  ASSERT_EQ(testing::run_command("cp -r " + out + " " + copy + " && rm " + copy + "/sweep.json && cp -r " +
                                     copy + "/synthetic/resnet18/cutmix/seed0 " + copy +
                                     "/synthetic/resnet18/cutmix/seed0-again",
                                 &log),
            0)
      << log;
  ASSERT_EQ(testing::run_command(g_harness + " report " + copy + " 2>&1", &log), 0) << log;
  const json c = json::parse(testing::read_text(copy + "/report/summary.json"));
  for (const auto& g : c["groups"]) {
    std::set<int> distinct;
    for (const auto& seed : g["seeds"]) distinct.insert(seed.get<int>());
    EXPECT_EQ(g["count"].get<std::size_t>(), distinct.size()) << g.dump();
  }
  ASSERT_EQ(c["not_counted"].size(), 1u) << c["not_counted"].dump();
  EXPECT_EQ(c["not_counted"][0]["folder"], "synthetic/resnet18/cutmix/seed0-again");
}

// A job suspended past the claim timeout (SIGSTOP, as Slurm's suspend or a paused VM) while a second job
// takes its run over: when it wakes (SIGCONT) it finds the claim gone, logs "lost claim" and writes nothing
// more into the run's folder. The run completes once, by the second job, from the first one's checkpoint.
TEST(Sweep, ASuspendedJobLosesItsClaimAndWritesNothing) {
  TempDir dir;
  const std::string out = dir.file("out");
  const std::string spec = write_spec(dir, tiny_spec({seeds(1)}, 80));
  const std::string run = out + "/synthetic/resnet18/baseline/seed0";
  const std::vector<std::string> argv = {g_harness, "sweep",           spec, "--out",
                                         out,       "--claim-timeout", "2",  "--no-report"};
  const int first = testing::spawn(argv, dir.file("first.log"));
  ASSERT_TRUE(testing::wait_for_text(run + "/train.log", "test  epoch 3/", 60))
      << testing::read_text(dir.file("first.log"));
  ASSERT_EQ(::kill(first, SIGSTOP), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));  // past the 2 s timeout
  const int second = testing::spawn(argv, dir.file("second.log"));
  EXPECT_EQ(testing::wait_exit(second), 0) << testing::read_text(dir.file("second.log"));
  // The run's folder as the second job left it: every file's size and modification time.
  auto snapshot = [&] {
    std::map<std::string, std::pair<long, double>> files;
    for (const auto& name :
         {"result.json", "checkpoint.safetensors", "train.log", "config.json", "run.json", "claim.json"}) {
      struct stat st {};
      if (::stat((run + "/" + name).c_str(), &st) == 0)
        files[name] = {static_cast<long>(st.st_size), mtime(run + "/" + name)};
    }
    // The first job may have been stopped in the middle of a checkpoint write: its temporary file
    // (NAME.tmp.PID) is its own unfinished write, which it removes when it wakes without the claim.
    std::string listing, line, own;
    testing::run_command("ls -A " + run, &listing);
    std::istringstream lines(listing);
    while (std::getline(lines, line)) {
      if (line.find(".tmp." + std::to_string(first)) == std::string::npos) own += line + "\n";
    }
    files["(listing) " + own] = {0, 0};
    return files;
  };
  const auto before = snapshot();
  ASSERT_EQ(::kill(first, SIGCONT), 0);
  EXPECT_EQ(testing::wait_exit(first), 0) << testing::read_text(dir.file("first.log"));
  EXPECT_EQ(snapshot(), before) << "the woken job wrote into the run's folder";
  std::string after;
  testing::run_command("ls -A " + run, &after);
  EXPECT_EQ(after.find(".tmp." + std::to_string(first)), std::string::npos)
      << "the woken job left its unfinished write behind: " << after;
  EXPECT_NE(testing::read_text(dir.file("first.log")).find("lost claim"), std::string::npos)
      << testing::read_text(dir.file("first.log"));

  const auto ev = events(out);
  std::string first_job, takeover_token;
  for (const auto& e : ev) {
    if (e["event"] == "claim") first_job = e["job"];
    if (e["event"] == "takeover") {
      EXPECT_EQ(e["attempt"], 2);
      EXPECT_EQ(e["resume"], true) << "resumed from the suspended job's checkpoint";
      EXPECT_EQ(e["previous_job"], first_job);
      EXPECT_NE(e["previous_token"], "");
      takeover_token = e["token"];
    }
  }
  ASSERT_FALSE(takeover_token.empty()) << "the second job took the run over";
  EXPECT_EQ(count_events(ev, "done").at("synthetic/resnet18/baseline/seed0"), 1);
  int lost = 0;
  for (const auto& e : ev) {
    if (e["event"] == "done") {
      EXPECT_EQ(e["token"], takeover_token);
    }
    if (e["event"] == "lost claim") {
      ++lost;
      EXPECT_EQ(e["job"], first_job);
      EXPECT_EQ(e["result"], "completed");
    }
  }
  EXPECT_EQ(lost, 1);
  const json r = result_of(out, "synthetic/resnet18/baseline/seed0");
  EXPECT_EQ(r["status"], "completed");
  EXPECT_EQ(r["sweep"]["token"], takeover_token);
  EXPECT_EQ(r["epochs"].size(), 80u);
}

// SIGUSR1 to mpirun (what Slurm sends before a time limit): both groups checkpoint, release their claims and
// the job exits 75; the same command then finishes the sweep, resuming the interrupted runs.
TEST(Sweep, SignalCheckpointsReleasesAndTheSameCommandGoesOn) {
  TempDir dir;
  const std::string out = dir.file("out");
  const std::string spec = write_spec(dir, tiny_spec({seeds(2)}, 60));
  const int pid = testing::spawn({g_mpirun, "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-np",
                                  "2", "-x", "OMP_NUM_THREADS=1", g_harness, "sweep", spec, "--out", out},
                                 dir.file("job1.log"));
  ASSERT_TRUE(testing::wait_for_text(out + "/synthetic/resnet18/baseline/seed0/train.log", "test  epoch 2/", 60));
  ASSERT_TRUE(testing::wait_for_text(out + "/synthetic/resnet18/baseline/seed1/train.log", "test  epoch 2/", 60));
  ::kill(pid, SIGUSR1);
  EXPECT_EQ(testing::wait_exit(pid), 75) << testing::read_text(dir.file("job1.log"));
  EXPECT_EQ(count_events(events(out), "released").size(), 2u);
  for (const char* seed : {"seed0", "seed1"}) {
    const std::string d = out + "/synthetic/resnet18/baseline/" + std::string(seed);
    EXPECT_TRUE(testing::exists(d + "/checkpoint.safetensors"));
    EXPECT_FALSE(testing::exists(d + "/result.json"));
    EXPECT_EQ(json::parse(testing::read_text(d + "/claim.json"))["released"], true);
  }
  const Job again = sweep(2, spec, out, "--no-report");
  ASSERT_EQ(again.code, 0) << again.output;
  EXPECT_NE(again.output.find("(resuming)"), std::string::npos) << again.output;
  expect_each_run_done_once(out);
}

// Every shipped spec starts: `sweep --check` trains 2 steps of the first run of each method on synthetic
// data of the spec's shape. The paper specs get an empty data folder (a 2-class JPEG folder for ImageNet's)
// and, as their ImageNet extractor, a harness run trained on synthetic 3×32×32 images.
TEST(Sweep, EveryShippedSpecPassesItsCheck) {
  TempDir dir;
  testing::make_dir(dir.file("data"));
  std::string out;
  ASSERT_EQ(testing::run_command(g_harness + " train --quiet --out " + dir.file("extractor") +
                                     " --set dataset.name=synthetic --set dataset.channels=3 --set dataset.height=32"
                                     " --set dataset.width=32 --set dataset.train_size=32 --set dataset.test_size=8"
                                     " --set epochs=1 --set batch_size=16 --set threads=1 2>&1",
                                 &out),
            0)
      << out;
  const std::string specs = std::string(ACM_SOURCE_DIR) + "/sweeps/specs/";
  testing::write_image_folder(dir.file("imagenet"), 2, 1, 1, 8, 8);
  const std::vector<std::pair<std::string, int>> expected = {
      {"quickstart.json", 4},      {"fashion-mnist-study.json", 4}, {"paper-cifar10.json", 4},
      {"paper-cifar100.json", 4},  {"paper-imagenet.json", 4},      {"ablation-n-cifar10.json", 1},
      {"mixers-fashion-mnist.json", 9}};
  for (const auto& [name, methods] : expected) {
    const std::string data = dir.file(name == "paper-imagenet.json" ? "imagenet" : "data");
    const std::string inputs = name.rfind("paper-", 0) != 0 && name.rfind("ablation-", 0) != 0
                                   ? ""
                                   : " --input data=" + data + " --input extractor=" + dir.file("extractor");
    // ImageNet's 2 steps of 64 at 224×224 take a minute per method on one core: 8 keep the image shape.
    const std::string batch = name == "paper-imagenet.json" ? " --set batch_size=8" : "";
    const int code = testing::run_command("env OMP_NUM_THREADS=1 " + g_harness + " sweep " + specs + name + inputs +
                                              " --set threads=1" + batch + " --check 2>&1",
                                          &out);
    EXPECT_EQ(code, 0) << name << "\n" << out;
    std::size_t checks = 0;
    for (auto p = out.find("check  "); p != std::string::npos; p = out.find("check  ", p + 1)) ++checks;
    // one line per method (plus the extractor run an attentive run depends on), and the final "ok"
    EXPECT_GE(checks, static_cast<std::size_t>(methods) + 1) << name << "\n" << out;
    EXPECT_NE(out.find("check  ok"), std::string::npos) << out;
  }
}

}  // namespace
}  // namespace acm

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  acm::testing::read_binary_flags(argc, argv, &acm::g_harness, &acm::g_mpirun);
  if ((acm::g_harness.empty() || acm::g_mpirun.empty()) && !::testing::GTEST_FLAG(list_tests)) {
    std::fprintf(stderr, "run with --harness=PATH --mpirun=PATH (ctest passes them)\n");
    return 2;
  }
  return RUN_ALL_TESTS();
}
