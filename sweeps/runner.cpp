#include "sweeps/runner.h"

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

#include "harness/config/json_reader.h"
#include "harness/dist/agree.h"
#include "harness/dist/communicator.h"
#include "harness/dist/world.h"
#include "harness/progress.h"
#include "harness/train/config.h"
#include "harness/train/signals.h"
#include "harness/train/trainer.h"
#include "results/files.h"
#include "results/render.h"
#include "results/summary.h"

namespace acm::sweeps {

using clock_type = std::chrono::steady_clock;
using nlohmann::json;

namespace {

enum Message : std::int64_t { kRunIt = 1, kNothingLeft = 2, kStop = 3 };

double since(clock_type::time_point t) { return std::chrono::duration<double>(clock_type::now() - t).count(); }

// Waits for a non-blocking collective without spinning: Open MPI's shared-memory transport busy-polls, and
// an idle group must not take CPU from the groups that train beside it.
void wait_quietly(MPI_Request& request) {
  int done = 0;
  while (true) {
    dist::check_mpi(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test");
    if (done) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void broadcast_quietly(std::int64_t* values, int count, const dist::World& group) {
  if (group.size() == 1) return;
  MPI_Request request;
  dist::check_mpi(MPI_Ibcast(values, count, MPI_INT64_T, 0, group.comm(), &request), "MPI_Ibcast");
  wait_quietly(request);
}

void max_quietly(std::int64_t* values, int count, const dist::World& world) {
  if (world.size() == 1) return;
  MPI_Request request;
  dist::check_mpi(MPI_Iallreduce(MPI_IN_PLACE, values, count, MPI_INT64_T, MPI_MAX, world.comm(), &request),
                  "MPI_Iallreduce");
  wait_quietly(request);
}

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

}  // namespace

int run_sweep(const Sweep& plan, const SweepOptions& o) {
  train::install_stop_handlers();
  const auto start = clock_type::now();
  dist::World& world = dist::World::init();
  const int per_run = plan.ranks_per_run;
  dist::MpiCommunicator control(world);
  Ledger ledger(o.out_dir, plan, o.ledger);
  dist::agree(
      control,
      [&] {
        check_claim_timeout(o.ledger.claim_timeout_s);
        if (world.size() % per_run != 0) {
          throw config::ConfigError("$.ranks_per_run: " + std::to_string(per_run) + " does not divide the " +
                                    std::to_string(world.size()) + " ranks of this job");
        }
        if (world.rank() == 0) ledger.open();
      },
      train::exit_code_of);
  const int group_index = world.rank() / per_run, groups = world.size() / per_run;
  const std::unique_ptr<dist::World> group = world.split(group_index, world.rank());
  const bool leader = group->rank() == 0;
  if (world.rank() == 0) {
    std::printf("sweep  %s: %zu runs in %s; %d group(s) of %d rank(s); job %s\n", plan.name.c_str(),
                plan.runs.size(), o.out_dir.c_str(), groups, per_run, ledger.job().c_str());
    std::fflush(stdout);
  }

  double run_seconds = 0;
  int runs_timed = 0;
  bool stopped = false;
  const double heartbeat_s = heartbeat_interval(o.ledger.claim_timeout_s);
  while (true) {
    std::int64_t msg[3] = {kNothingLeft, 0, 0};
    std::string token;  // the leader's claim on the run it trains
    if (leader) {
      bool waiting_said = false;
      while (true) {
        if (train::stop_requested()) {
          msg[0] = kStop;
          break;
        }
        const Pick pick = ledger.claim_next(group_index);
        if (pick.kind == Pick::kRun) {
          token = pick.token;
          msg[0] = kRunIt;
          msg[1] = static_cast<std::int64_t>(pick.run);
          msg[2] = pick.resume ? 1 : 0;
          std::printf("%s | group %d: start %s%s%s\n",
                      status_line(pick.counts, plan.runs.size(), since(start),
                                  runs_timed ? run_seconds / runs_timed : 0, groups)
                          .c_str(),
                      group_index, plan.runs[pick.run].folder.c_str(), pick.resume ? " (resuming)" : "",
                      pick.attempt > 1 ? (" (attempt " + std::to_string(pick.attempt) + ")").c_str() : "");
          std::fflush(stdout);
          break;
        }
        if (pick.kind == Pick::kDone) break;
        if (!waiting_said) {
          std::printf("%s | group %d: waiting (runs in progress elsewhere or waiting for their extractor)\n",
                      status_line(pick.counts, plan.runs.size(), since(start), 0, groups).c_str(), group_index);
          std::fflush(stdout);
          waiting_said = true;
        }
        std::this_thread::sleep_for(std::chrono::duration<double>(o.poll_s));
      }
    }
    broadcast_quietly(msg, 3, *group);
    if (msg[0] == kStop) {
      stopped = true;
      break;
    }
    if (msg[0] == kNothingLeft) break;

    const std::size_t i = static_cast<std::size_t>(msg[1]);
    const PlannedRun& run = plan.runs[i];
    train::TrainOptions t;
    t.out_dir = ledger.run_dir(i);
    t.resume = msg[2] != 0;
    t.world = group.get();
    t.result_extra = {{"sweep", ledger.result_block(i)}};
    std::atomic<bool> lost{false};
    if (leader) {
      t.result_extra["sweep"]["token"] = token;
      t.holds_claim = [&ledger, i, token] { return ledger.holds(i, token); };
      t.claim_lost = &lost;
    }
    std::unique_ptr<FILE, int (*)(FILE*)> log(
        leader ? open_fenced_log(results::join_path(t.out_dir, "train.log"), t.holds_claim, lost) : nullptr,
        &std::fclose);
    t.log = log.get();
    const auto run_start = clock_type::now();
    train::Outcome outcome = train::Outcome::kFailed;
    std::string error;
    {
      std::unique_ptr<Heartbeat> beat;
      if (leader) beat = std::make_unique<Heartbeat>(ledger, i, token, heartbeat_s, lost);
      try {
        outcome = train::run_training(train::parse_run_config(run.config, run.folder), t);
      } catch (const train::LostClaim&) {
        outcome = train::Outcome::kLostClaim;
      } catch (const std::exception& e) {
        // Before training every rank of the group throws (agreed), so this is a failure of the run, not of
        // the job: it is recorded and the group goes on. (During training a failing rank of a group of
        // several ends the whole job instead.)
        error = e.what();
      }
    }
    log.reset();
    const double secs = since(run_start);
    if (!leader) {
      if (outcome == train::Outcome::kInterrupted) {
        stopped = true;
        break;
      }
      continue;
    }
    std::string what;
    if (outcome == train::Outcome::kLostClaim || (lost && outcome != train::Outcome::kInterrupted)) {
      // Another job took the run over while this one was suspended: it is theirs to finish.
      ledger.lost(i, token, group_index);
      what = "lost claim on " + run.folder +
             " (taken over by another job while this one was suspended): "
             "stopped without writing";
    } else if (!error.empty()) {
      ledger.record_failure(i, error, token);
      ledger.finish(i, token, "failed", {{"group", group_index}, {"seconds", secs}, {"error", error}});
      what = "FAILED " + run.folder + ": " + error;
    } else if (outcome == train::Outcome::kInterrupted) {
      ledger.release(i, token);
      what = "stopped " + run.folder + " (checkpoint written, claim released)";
      stopped = true;
    } else {
      json result;
      try {
        result = json::parse(results::read_text(results::join_path(t.out_dir, "result.json")));
      } catch (const std::exception&) {
      }
      const bool ok = outcome == train::Outcome::kCompleted;
      ledger.finish(i, token, ok ? "done" : "failed", {{"group", group_index}, {"seconds", secs}});
      char buf[160];
      if (ok && result.contains("final")) {
        std::snprintf(buf, sizeof buf, "done %s in %s: best test top-1 %.2f%%", run.folder.c_str(),
                      harness::format_duration(secs).c_str(), result["final"].value("best_test_top1", 0.0));
        what = buf;
      } else {
        what = "FAILED " + run.folder + ": " + result.value("error", std::string("see its result.json"));
      }
      if (ok) {
        run_seconds += secs;
        ++runs_timed;
      }
    }
    std::printf("%s | group %d: %s\n",
                status_line(ledger.counts(), plan.runs.size(), since(start), runs_timed ? run_seconds / runs_timed : 0,
                            groups)
                    .c_str(),
                group_index, what.c_str());
    std::fflush(stdout);
    if (stopped) break;
  }

  // Every group is done (or stopped): one quiet collective, then rank 0 reports.
  std::int64_t flags[1] = {stopped ? 1 : 0};
  max_quietly(flags, 1, world);
  std::int64_t code[1] = {0};
  if (world.rank() == 0) {
    const Counts n = ledger.counts();
    if (flags[0]) {
      std::fprintf(stderr, "sweep  stopped by a signal: %d done, %d failed, %d left; run the same command to go on "
                   "(exit %d)\n", n.done, n.failed, n.left + n.running, train::kExitInterrupted);
      code[0] = train::kExitInterrupted;
    } else {
      if (n.left + n.running > 0) {
        std::printf("sweep  %d run(s) still claimed by another job; this job has nothing left to do\n",
                    n.left + n.running);
      } else if (o.report) {
        results::ReportOptions ro;
        ro.metric = o.metric;
        const json summary = results::summarize(o.out_dir, ro);
        const std::string report_dir = results::join_path(o.out_dir, "report");
        const std::string md = results::write_report(summary, report_dir);
        std::printf("\n%s", md.c_str());
        std::printf("report %s/{summary.json,table.md,table.csv,table.tex%s} (%s)\n", report_dir.c_str(),
                    summary["ablations"].empty() ? "" : ",ablation.svg",
                    harness::format_duration(since(start)).c_str());
      }
      code[0] = n.failed > 0 ? 1 : 0;
      if (n.failed > 0) {
        std::fprintf(stderr, "sweep  %d run(s) failed (listed in the report); --retry-failed runs only those\n",
                     n.failed);
      }
    }
    std::fflush(stdout);
  }
  if (world.size() > 1) {
    MPI_Request request;
    dist::check_mpi(MPI_Ibcast(code, 1, MPI_INT64_T, 0, world.comm(), &request), "MPI_Ibcast");
    wait_quietly(request);
  }
  return static_cast<int>(code[0]);
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
    if (r.extractor_from) c["mix"]["extractor"]["path"] = results::join_path(scratch, plan.runs[*r.extractor_from].folder);
    train::TrainOptions t;
    t.out_dir = results::join_path(scratch, r.folder);
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
