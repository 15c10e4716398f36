#include "sweeps/runner.h"

#include "sweeps/reuse.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "common/json_reader.h"
#include "harness/dist/agree.h"
#include "harness/dist/communicator.h"
#include "harness/dist/world.h"
#include "harness/progress.h"
#include "harness/train/config.h"
#include "harness/train/signals.h"
#include "harness/train/trainer.h"
#include "common/files.h"
#include "results/render.h"
#include "results/summary.h"

namespace acm::sweeps {

using clock_type = std::chrono::steady_clock;
using nlohmann::json;

namespace {

double since(clock_type::time_point t) { return std::chrono::duration<double>(clock_type::now() - t).count(); }

// Touches the run's claim every few seconds while it trains, so other jobs see it is alive — as long as it is
// still ours: once another job has taken it over, it sets `lost` (the trainer stops at its next step) and
// touches nothing more.
class Heartbeat {
 public:
  Heartbeat(const Ledger& ledger, std::size_t run, std::string token, double every_s, std::atomic<bool>& lost)
      : thread_([this, &ledger, run, token = std::move(token), every_s, &lost] {
          std::unique_lock<std::mutex> lock(mutex_);
          while (!cv_.wait_for(lock, std::chrono::duration<double>(every_s), [this] { return stop_; })) {
            if (!ledger.heartbeat(run, token)) {
              lost = true;
              return;
            }
          }
        }) {}
  ~Heartbeat() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// train.log behind the fence: every write first checks that this job still holds the run's claim, so a job
// that wakes up after a takeover adds nothing to the run's folder (its lines are dropped).
struct FencedLog {
  int fd = -1;
  std::function<bool()> holds;
  std::atomic<bool>* lost = nullptr;
};

ssize_t fenced_write(void* cookie, const char* buf, size_t size) {
  auto* log = static_cast<FencedLog*>(cookie);
  if (log->lost->load() || !log->holds()) {
    *log->lost = true;
    return static_cast<ssize_t>(size);
  }
  for (size_t done = 0; done < size;) {
    const ssize_t n = ::write(log->fd, buf + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return done > 0 ? static_cast<ssize_t>(done) : -1;
    done += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(size);
}

int fenced_close(void* cookie) {
  auto* log = static_cast<FencedLog*>(cookie);
  const int rc = ::close(log->fd);
  delete log;
  return rc;
}

FILE* open_fenced_log(const std::string& path, std::function<bool()> holds, std::atomic<bool>& lost) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error(path + ": cannot open for writing: " + std::strerror(errno));
  auto* log = new FencedLog{fd, std::move(holds), &lost};
  FILE* f = ::fopencookie(log, "a", {nullptr, fenced_write, nullptr, fenced_close});
  if (!f) {
    fenced_close(log);
    throw std::runtime_error(path + ": cannot open for writing");
  }
  std::setvbuf(f, nullptr, _IOLBF, 0);  // a line at a time: each one checked
  return f;
}

std::string status_line(const Counts& n, std::size_t total, double elapsed, double mean_run_s, int groups) {
  const int remaining = n.left + n.running;
  std::string eta = "?";
  if (remaining == 0) {
    eta = "0s";
  } else if (mean_run_s > 0) {
    eta = harness::format_duration(mean_run_s * remaining / groups);
  }
  char buf[200];
  std::snprintf(buf, sizeof buf, "sweep  %d/%zu done | %d running | %d failed | %d left | %s | ETA %s", n.done,
                total, n.running, n.failed, n.left, harness::format_duration(elapsed).c_str(), eta.c_str());
  return buf;
}

// What a group's leader tells its ranks before each run: train run `run` (resuming it or not), or stop.
struct Assignment {
  enum Kind : std::int64_t { kRun = 1, kNothingLeft = 2, kStop = 3 };
  Kind kind = kNothingLeft;
  std::size_t run = 0;
  bool resume = false;
  std::string token;  // the leader's claim on the run (not sent: only the leader holds it)

  void share(const dist::World& group) {
    std::int64_t msg[3] = {kind, static_cast<std::int64_t>(run), resume ? 1 : 0};
    group.broadcast_quietly(msg, 3);
    kind = static_cast<Kind>(msg[0]);
    run = static_cast<std::size_t>(msg[1]);
    resume = msg[2] != 0;
  }
};

// How one run's sitting in this job ended.
struct Sitting {
  train::Outcome outcome = train::Outcome::kFailed;
  std::string error;  // a failure before training (every rank of the group threw)
  bool lost = false;  // the heartbeat saw the claim taken over
  double seconds = 0;
  std::string out_dir;
  bool reused = false;  // taken from another folder (PlannedRun::reuse_from), not trained
};

// One job's part of a sweep: the world split into groups, each taking runs from the ledger until none is left
// or a stop signal comes, then one report.
class SweepJob {
 public:
  SweepJob(const Sweep& plan, const SweepOptions& o)
      : plan_(plan), o_(o), world_(dist::World::init()), ledger_(o.out_dir, plan, o.ledger) {}

  void start();
  Assignment next_assignment();
  Sitting train(const Assignment& a);
  // The ledger's record of the sitting and the status line (group leaders); true when the job must stop.
  bool record(const Assignment& a, const Sitting& s);
  int finish(bool stopped);
  bool leader() const { return group_->rank() == 0; }

 private:
  std::string status(const Counts& n, bool with_eta) const {
    return status_line(n, plan_.runs.size(), since(start_), with_eta && runs_timed_ ? run_seconds_ / runs_timed_ : 0,
                       groups_);
  }
  void say(const std::string& what) const {
    std::printf("%s | group %d: %s\n", status(ledger_.counts(), true).c_str(), group_index_, what.c_str());
    std::fflush(stdout);
  }
  void write_report() const;

  const Sweep& plan_;
  const SweepOptions& o_;
  const clock_type::time_point start_ = clock_type::now();
  dist::World& world_;
  Ledger ledger_;
  std::unique_ptr<dist::World> group_;
  int group_index_ = 0, groups_ = 1;
  double run_seconds_ = 0;
  int runs_timed_ = 0;
};

// Agreed checks, the ledger opened by rank 0, the groups formed.
void SweepJob::start() {
  const int per_run = plan_.ranks_per_run;
  dist::MpiCommunicator control(world_);
  dist::agree(control, [&] {
    check_claim_timeout(o_.ledger.claim_timeout_s);
    if (world_.size() % per_run != 0) {
      throw config::ConfigError("$.ranks_per_run: " + std::to_string(per_run) + " does not divide the " +
                                std::to_string(world_.size()) + " ranks of this job");
    }
    if (world_.rank() == 0) ledger_.open();
  });
  group_index_ = world_.rank() / per_run;
  groups_ = world_.size() / per_run;
  group_ = world_.split(group_index_, world_.rank());
  if (world_.rank() == 0) {
    std::printf("sweep  %s: %zu runs in %s; %d group(s) of %d rank(s); job %s\n", plan_.name.c_str(),
                plan_.runs.size(), o_.out_dir.c_str(), groups_, per_run, ledger_.job().c_str());
    for (const auto& note : plan_.reuse_notes) std::printf("sweep  reuse: %s\n", note.c_str());
    std::fflush(stdout);
  }
}

// The leader claims the next ready run (waiting while runs elsewhere are in progress) and tells its ranks.
Assignment SweepJob::next_assignment() {
  Assignment a;
  bool waiting_said = false;
  while (leader()) {
    if (train::stop_requested()) {
      a.kind = Assignment::kStop;
      break;
    }
    const Pick pick = ledger_.claim_next(group_index_);
    if (pick.kind == Pick::kRun) {
      a = {Assignment::kRun, pick.run, pick.resume, pick.token};
      std::printf("%s | group %d: start %s%s%s\n", status(pick.counts, true).c_str(), group_index_,
                  plan_.runs[pick.run].folder.c_str(), pick.resume ? " (resuming)" : "",
                  pick.attempt > 1 ? (" (attempt " + std::to_string(pick.attempt) + ")").c_str() : "");
      std::fflush(stdout);
      break;
    }
    if (pick.kind == Pick::kDone) break;
    if (!waiting_said) {
      std::printf("%s | group %d: waiting (runs in progress elsewhere or waiting for their extractor)\n",
                  status(pick.counts, false).c_str(), group_index_);
      std::fflush(stdout);
      waiting_said = true;
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(o_.poll_s));
  }
  a.share(*group_);
  return a;
}

// The group trains the run; the leader fences its writes, keeps the claim alive and logs to train.log.
Sitting SweepJob::train(const Assignment& a) {
  const std::size_t i = a.run;
  const PlannedRun& run = plan_.runs[i];
  train::TrainOptions t;
  t.out_dir = ledger_.run_dir(i);
  t.resume = a.resume;
  t.world = group_.get();
  t.result_extra = {{"sweep", ledger_.result_block(i)}};
  std::atomic<bool> lost{false};
  if (leader()) {
    t.result_extra["sweep"]["token"] = a.token;
    t.holds_claim = [this, i, token = a.token] { return ledger_.holds(i, token); };
    t.claim_lost = &lost;
  }
  std::unique_ptr<FILE, int (*)(FILE*)> log(
      leader() ? open_fenced_log(fs::join_path(t.out_dir, "train.log"), t.holds_claim, lost) : nullptr, &std::fclose);
  t.log = log.get();
  const auto run_start = clock_type::now();
  Sitting s;
  s.out_dir = t.out_dir;
  if (!run.reuse_from.empty()) {  // a completed run elsewhere with this identity: copied, not trained
    s.reused = true;
    s.outcome = train::Outcome::kCompleted;
    if (leader()) {
      try {
        copy_reused_run(run.reuse_from, t.out_dir, t.result_extra["sweep"], t.holds_claim);
      } catch (const std::exception& e) {
        s.error = e.what();
      }
    }
    s.seconds = since(run_start);
    return s;
  }
  {
    std::unique_ptr<Heartbeat> beat;
    if (leader()) beat = std::make_unique<Heartbeat>(ledger_, i, a.token, heartbeat_interval(o_.ledger.claim_timeout_s), lost);
    try {
      s.outcome = train::run_training(train::parse_run_config(run.config, run.folder), t);
    } catch (const train::LostClaim&) {
      s.outcome = train::Outcome::kLostClaim;
    } catch (const std::exception& e) {
      // Before training every rank of the group throws (agreed), so this is a failure of the run, not of the
      // job: it is recorded and the group goes on. (During training a failing rank of a group of several ends
      // the whole job instead.)
      s.error = e.what();
    }
  }
  s.lost = lost;
  s.seconds = since(run_start);
  return s;
}

bool SweepJob::record(const Assignment& a, const Sitting& s) {
  const bool interrupted = s.outcome == train::Outcome::kInterrupted;
  if (!leader()) return interrupted;
  const std::size_t i = a.run;
  const std::string& folder = plan_.runs[i].folder;
  std::string what;
  if (s.outcome == train::Outcome::kLostClaim || (s.lost && !interrupted)) {
    // Another job took the run over while this one was suspended: it is theirs to finish.
    ledger_.lost(i, a.token, group_index_);
    what = "lost claim on " + folder + " (taken over by another job while this one was suspended): stopped without writing";
  } else if (!s.error.empty()) {
    ledger_.record_failure(i, s.error, a.token);
    ledger_.finish(i, a.token, "failed", {{"group", group_index_}, {"seconds", s.seconds}, {"error", s.error}});
    what = "FAILED " + folder + ": " + s.error;
  } else if (interrupted) {
    ledger_.release(i, a.token);
    what = "stopped " + folder + " (checkpoint written, claim released)";
  } else {
    json result;
    try {
      result = config::read_json_file(fs::join_path(s.out_dir, "result.json"));
    } catch (const std::exception&) {
    }
    const bool ok = s.outcome == train::Outcome::kCompleted;
    json extra = {{"group", group_index_}, {"seconds", s.seconds}};
    if (s.reused) extra["from"] = plan_.runs[i].reuse_from;
    ledger_.finish(i, a.token, !ok ? "failed" : s.reused ? "reused" : "done", extra);
    char buf[512];
    if (ok && s.reused && result.contains("final")) {
      std::snprintf(buf, sizeof buf, "reused %s from %s: best test top-1 %.2f%%", folder.c_str(),
                    plan_.runs[i].reuse_from.c_str(), result["final"].value("best_test_top1", 0.0));
      what = buf;
    } else if (ok && result.contains("final")) {
      std::snprintf(buf, sizeof buf, "done %s in %s: best test top-1 %.2f%%", folder.c_str(),
                    harness::format_duration(s.seconds).c_str(), result["final"].value("best_test_top1", 0.0));
      what = buf;
    } else {
      what = "FAILED " + folder + ": " + result.value("error", std::string("see its result.json"));
    }
    if (ok && !s.reused) {  // a copy says nothing about how long a run takes
      run_seconds_ += s.seconds;
      ++runs_timed_;
    }
  }
  say(what);
  return interrupted;
}

void SweepJob::write_report() const {
  results::ReportOptions ro;
  ro.metric = o_.metric;
  const json summary = results::to_json(results::summarize(o_.out_dir, ro));
  const std::string report_dir = fs::join_path(o_.out_dir, "report");
  const std::string md = results::write_report(summary, report_dir, results::find_gallery(o_.out_dir, ""));
  std::printf("\n%s", md.c_str());
  std::printf("report %s/%s (%s)\n", report_dir.c_str(), results::report_files(summary).c_str(),
              harness::format_duration(since(start_)).c_str());
}

// Every group is done (or stopped): one quiet collective, then rank 0 reports; every rank returns its code.
int SweepJob::finish(bool stopped) {
  std::int64_t flags[1] = {stopped ? 1 : 0};
  world_.max_quietly(flags, 1);
  std::int64_t code[1] = {0};
  if (world_.rank() == 0) {
    const Counts n = ledger_.counts();
    if (flags[0]) {
      std::fprintf(stderr, "sweep  stopped by a signal: %d done, %d failed, %d left; run the same command to go on "
                   "(exit %d)\n", n.done, n.failed, n.left + n.running, train::kExitInterrupted);
      code[0] = train::kExitInterrupted;
    } else {
      if (n.left + n.running > 0) {
        std::printf("sweep  %d run(s) still claimed by another job; this job has nothing left to do\n",
                    n.left + n.running);
      } else if (o_.report) {
        write_report();
      }
      code[0] = n.failed > 0 ? 1 : 0;
      if (n.failed > 0) {
        std::fprintf(stderr, "sweep  %d run(s) failed (listed in the report); --retry-failed runs only those\n",
                     n.failed);
      }
    }
    std::fflush(stdout);
  }
  world_.broadcast_quietly(code, 1);
  return static_cast<int>(code[0]);
}

}  // namespace

int run_sweep(const Sweep& plan, const SweepOptions& o) {
  train::install_stop_handlers();
  SweepJob job(plan, o);
  job.start();
  bool stopped = false;
  while (!stopped) {
    const Assignment a = job.next_assignment();
    if (a.kind == Assignment::kStop) stopped = true;
    if (a.kind != Assignment::kRun) break;
    stopped = job.record(a, job.train(a));
  }
  return job.finish(stopped);
}

void check_sweep(const Sweep& plan, const std::string& scratch) {
  dist::World& world = dist::World::init();
  if (world.size() != 1) throw config::ConfigError("--check runs in one process (without mpirun)");
  std::set<std::string> methods;
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < plan.runs.size(); ++i) {
    const auto& r = plan.runs[i];
    const std::string m = r.labels.contains("method") ? r.labels["method"].dump() : r.config["mix"]["method"].dump();
    if (!methods.insert(m).second) continue;
    if (r.extractor_from && std::find(order.begin(), order.end(), *r.extractor_from) == order.end()) {
      order.push_back(*r.extractor_from);
    }
    if (std::find(order.begin(), order.end(), i) == order.end()) order.push_back(i);
  }
  for (std::size_t i : order) {
    const auto& r = plan.runs[i];
    json c = r.config;
    const std::int64_t batch = c["batch_size"].get<std::int64_t>();
    c["dataset"] = synthetic_like(c["dataset"], 2 * batch, 16);
    c["epochs"] = 1;
    // Two steps check that the run starts and trains; the end-of-run robustness (some 50 passes over the test
    // images) would make the check of an ImageNet spec take minutes.
    for (const char* k : {"occlusion", "fgsm", "corruption_severities"}) c["eval"][k] = json::array();
    if (r.extractor_from) c["mix"]["extractor"]["path"] = fs::join_path(scratch, plan.runs[*r.extractor_from].folder);
    train::TrainOptions t;
    t.out_dir = fs::join_path(scratch, r.folder);
    t.quiet = true;
    const auto t0 = clock_type::now();
    const auto outcome = train::run_training(train::parse_run_config(c, r.folder + " (synthetic check)"), t);
    if (outcome != train::Outcome::kCompleted) {
      throw std::runtime_error(r.folder + ": the 2-step check on synthetic data did not complete (see " +
                               t.out_dir + "/result.json)");
    }
    const json& s = c["dataset"];
    std::printf("check  %s: 2 steps of %lld on synthetic %lldx%lldx%lld, %lld classes: ok (%s)\n", r.folder.c_str(),
                static_cast<long long>(batch), s.value("channels", 3LL), s.value("height", 32LL),
                s.value("width", 32LL), s.value("classes", 10LL), harness::format_duration(since(t0)).c_str());
    std::fflush(stdout);
  }
}

}  // namespace acm::sweeps
