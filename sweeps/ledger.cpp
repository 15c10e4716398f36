#include "sweeps/ledger.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <stdexcept>

#include "common/json_reader.h"
#include "common/files.h"
#include "common/hash.h"

namespace acm::sweeps {

using nlohmann::json;
using fs::join_path;
using fs::path_exists;

namespace {

constexpr int kPlanSchemaVersion = 1;

// flock() on DIR/.sweep.lock for the duration of a scope. The kernel releases it when the holder dies.
class FolderLock {
 public:
  explicit FolderLock(const std::string& dir) {
    const std::string path = fs::join_path(dir, ".sweep.lock");
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw std::runtime_error(path + ": cannot open: " + std::strerror(errno));
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) throw std::runtime_error(path + ": cannot lock: " + std::strerror(errno));
    }
  }
  ~FolderLock() {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

double seconds_of(const struct timespec& t) { return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec); }

json read_json_or_null(const std::string& path) {
  if (!fs::path_exists(path)) return nullptr;
  try {
    return json::parse(fs::read_text(path));
  } catch (const std::exception&) {
    return nullptr;  // a torn or foreign file counts as absent
  }
}

std::string host_name() {
  char buf[256] = {0};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

bool pid_alive(long pid) { return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM); }

double wall_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void remove_if_there(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    throw std::runtime_error(path + ": cannot remove: " + std::strerror(errno));
  }
}

std::string random_hex() {
  std::random_device rd;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", rd());
  return buf;
}

// The claim file as its owner's fd sees it (nullptr when absent or torn).
json read_claim_fd(int fd) {
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(n));
  try {
    return json::parse(text);
  } catch (const std::exception&) {
    return nullptr;
  }
}

bool is_ours(const json& claim, const std::string& id, const std::string& token) {
  return !claim.is_null() && claim.value("id", "") == id && claim.value("token", "") == token &&
         !claim.value("released", false);
}

json plan_json(const Sweep& plan) {
  json runs = json::array();
  for (const auto& r : plan.runs) {
    runs.push_back({{"id", r.id},
                    {"folder", r.folder},
                    {"labels", r.labels},
                    {"extractor_from", r.extractor_from ? json(plan.runs[*r.extractor_from].folder) : json(nullptr)}});
    if (r.extractor_shared) runs.back()["extractor_shared"] = true;
  }
  return {{"schema_version", kPlanSchemaVersion}, {"name", plan.name},         {"description", plan.description},
          {"ranks_per_run", plan.ranks_per_run},  {"max_attempts", plan.max_attempts}, {"inputs", plan.inputs},
          {"spec", plan.spec},                    {"runs", runs}};
}

}  // namespace

std::string make_job_id() { return host_name() + ":" + std::to_string(::getpid()) + ":" + random_hex(); }

double heartbeat_interval(double claim_timeout_s) {
  return std::max(0.5, std::min(30.0, claim_timeout_s / 4));
}

void check_claim_timeout(double claim_timeout_s) {
  const double beat = heartbeat_interval(claim_timeout_s);
  if (!(claim_timeout_s > 3 * beat)) {
    char buf[320];
    std::snprintf(
        buf, sizeof buf,
        "--claim-timeout %g: a claim must outlive 3 heartbeats (one every %g s at this timeout), or a "
        "live job's runs look abandoned and are taken over; the smallest allowed value is more than %g s",
        claim_timeout_s, beat, 3 * heartbeat_interval(0));
    throw config::ConfigError(buf);
  }
}

Ledger::Ledger(std::string dir, const Sweep& plan, LedgerOptions options)
    : dir_(std::move(dir)), plan_(plan), options_(options), job_(make_job_id()), host_(host_name()) {}

std::string Ledger::run_dir(std::size_t run) const { return fs::join_path(dir_, plan_.runs[run].folder); }

json Ledger::result_block(std::size_t run) const {
  const auto& r = plan_.runs[run];
  json block = {{"name", plan_.name}, {"id", r.id}, {"folder", r.folder}, {"labels", r.labels}};
  // A per-seed extractor made by the sweep: the report groups such runs by the extractor run's group.
  if (r.extractor_from) block["extractor_from"] = plan_.runs[*r.extractor_from].folder;
  if (r.extractor_shared) block["extractor_shared"] = true;
  return block;
}

void Ledger::log(const std::string& event, std::size_t run, int group, const json& extra) const {
  json line = {{"time", wall_now()}, {"job", job_}, {"group", group}, {"event", event}};
  if (run < plan_.runs.size()) {
    line["run"] = plan_.runs[run].folder;
    line["id"] = plan_.runs[run].id;
  }
  if (extra.is_object()) line.update(extra);
  fs::append_synced(fs::join_path(dir_, "sweep.log.jsonl"), line.dump() + "\n");
}

void Ledger::open() {
  fs::make_dirs(dir_);
  FolderLock lock(dir_);
  const std::string plan_path = fs::join_path(dir_, "sweep.json");
  const json mine = plan_json(plan_);
  const json old = read_json_or_null(plan_path);
  if (fs::path_exists(plan_path) && old.is_null()) {
    throw std::runtime_error(plan_path + ": not valid JSON (remove it to start this folder's plan afresh)");
  }
  if (old.is_null()) {
    fs::write_file_atomic(plan_path, mine.dump(2) + "\n");
    log("plan", plan_.runs.size(), -1, {{"runs", plan_.runs.size()}});
  } else {
    std::set<std::string> before, after;
    for (const auto& r : old.value("runs", json::array())) before.insert(r.value("id", "") + " " + r.value("folder", ""));
    for (const auto& r : plan_.runs) after.insert(r.id + " " + r.folder);
    if (before != after || old.value("ranks_per_run", 0) != plan_.ranks_per_run) {
      int added = 0, removed = 0;
      std::string example;
      for (const auto& a : after) added += before.count(a) ? 0 : 1;
      for (const auto& b : before) {
        if (!after.count(b)) {
          ++removed;
          if (example.empty()) example = b.substr(b.find(' ') + 1);
        }
      }
      if (!options_.allow_spec_change) {
        throw config::ConfigError(
            plan_path + ": this folder holds another plan of sweep '" + old.value("name", "?") + "' (" +
            std::to_string(added) + " run(s) new or changed, " + std::to_string(removed) + " gone" +
            (example.empty() ? std::string() : ", e.g. " + example) +
            "): the spec, its inputs or --set changed. Pass --allow-spec-change to run the new plan here "
            "(completed runs both plans share are kept), or use another --out folder");
      }
      fs::write_file_atomic(plan_path, mine.dump(2) + "\n");
      log("plan_changed", plan_.runs.size(), -1, {{"added", added}, {"removed", removed}});
      remove_if_there(fs::join_path(dir_, ".sweep.index"));
    }
  }
  bool rebuild = options_.retry_failed;
  if (options_.retry_failed) {
    for (std::size_t i = 0; i < plan_.runs.size(); ++i) {
      const std::string d = run_dir(i), result = fs::join_path(d, "result.json");
      const json r = read_json_or_null(result);
      if (r.is_null() || r.value("status", "") != "failed") continue;
      int k = 1;
      while (fs::path_exists(fs::join_path(d, "result.failed." + std::to_string(k) + ".json"))) ++k;
      const std::string kept = fs::join_path(d, "result.failed." + std::to_string(k) + ".json");
      if (::rename(result.c_str(), kept.c_str()) != 0) {
        throw std::runtime_error(result + ": cannot move aside: " + std::strerror(errno));
      }
      for (const char* f : {"checkpoint.safetensors", "claim.json", "config.json"}) remove_if_there(fs::join_path(d, f));
      fs::sync_folder(d);
      log("retry", i, -1, {{"previous", kept}});
    }
  }
  if (rebuild && options_.use_index) rebuild_index();  // its failed runs are failed no more
}

double Ledger::now_on_disk() const {
  // Claims are aged against the file system's clock, not this host's: touch the lock file and read it back.
  const std::string path = fs::join_path(dir_, ".sweep.lock");
  ::utimensat(AT_FDCWD, path.c_str(), nullptr, 0);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return wall_now();
  return seconds_of(st.st_mtim);
}

Ledger::State Ledger::state_of(std::size_t run, json* claim) const {
  const std::string d = run_dir(run);
  file_ops_ += 1;
  const json result = read_json_or_null(fs::join_path(d, "result.json"));
  const bool ours = !result.is_null() && result.contains("sweep") && result["sweep"].value("id", "") == plan_.runs[run].id;
  if (ours && result.value("status", "") == "completed") return State::kDone;
  if (ours && result.value("status", "") == "failed") return State::kFailed;
  const std::string claim_path = fs::join_path(d, "claim.json");
  file_ops_ += 1;
  const json c = read_json_or_null(claim_path);
  if (claim) *claim = c;
  if (c.is_null() || c.value("released", false) || c.value("id", "") != plan_.runs[run].id) return State::kFree;
  struct stat st {};
  file_ops_ += 1;
  if (::stat(claim_path.c_str(), &st) != 0) return State::kFree;
  if (c.value("job", "") == job_) return State::kLive;  // this job is alive: its claims are too
  const double age = now_on_disk() - seconds_of(st.st_mtim);
  const bool same_host = c.value("host", "") == host_;
  if (same_host && !pid_alive(c.value("pid", 0L))) return State::kFree;  // its process is gone: no need to wait
  return age < options_.claim_timeout_s ? State::kLive : State::kFree;
}


// ---- The index of runs done or failed --------------------------------------------------------------------------

struct Ledger::Index {
  std::string path;
  std::map<std::string, char> state;  // run id -> 'd' (done) or 'f' (failed)
  off_t offset = 0;                   // how far this process has read
  ino_t inode = 0;                    // a rebuild renames a new file over the path
  bool valid = false;
};

std::string Ledger::index_header() const {
  json ids = json::array();
  for (const auto& r : plan_.runs) ids.push_back(r.id);
  return "acm-sweep-index 1 " + hash::of_json(ids) + "\n";
}

// Under the lock: the lines appended since the last read (all of them after a rebuild elsewhere).
void Ledger::load_index() {
  if (!options_.use_index) return;
  if (!index_) index_ = std::make_shared<Index>();
  Index& x = *index_;
  x.path = fs::join_path(dir_, ".sweep.index");
  const int fd = ::open(x.path.c_str(), O_RDONLY | O_CLOEXEC);
  file_ops_ += 1;
  if (fd < 0) {
    rebuild_index();
    return;
  }
  struct stat st {};
  ::fstat(fd, &st);
  if (!x.valid || st.st_ino != x.inode) {
    x.state.clear();
    x.offset = 0;
    x.inode = st.st_ino;
  }
  std::string text;
  if (st.st_size > x.offset) {
    text.resize(static_cast<std::size_t>(st.st_size - x.offset));
    const ssize_t got = ::pread(fd, text.data(), text.size(), x.offset);
    text.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
  }
  ::close(fd);
  std::size_t pos = 0;
  if (x.offset == 0) {
    const std::string header = index_header();
    if (text.compare(0, header.size(), header) != 0) {  // another plan's, or torn at birth
      rebuild_index();
      return;
    }
    pos = header.size();
  }
  while (pos < text.size()) {
    const std::size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) {  // a torn last line: a writer died mid-append
      rebuild_index();
      return;
    }
    const std::string line = text.substr(pos, nl - pos);
    if (line.size() > 2 && (line[0] == 'd' || line[0] == 'f') && line[1] == ' ') x.state[line.substr(2)] = line[0];
    pos = nl + 1;
  }
  x.offset += static_cast<off_t>(pos);
  x.valid = true;
}

// Under the lock: the index written afresh from every run's folder.
void Ledger::rebuild_index() {
  if (!index_) index_ = std::make_shared<Index>();
  Index& x = *index_;
  x.path = fs::join_path(dir_, ".sweep.index");
  std::string text = index_header();
  x.state.clear();
  for (std::size_t i = 0; i < plan_.runs.size(); ++i) {
    const State s = state_of(i, nullptr);
    if (s != State::kDone && s != State::kFailed) continue;
    const char c = s == State::kDone ? 'd' : 'f';
    x.state[plan_.runs[i].id] = c;
    text += std::string(1, c) + " " + plan_.runs[i].id + "\n";
  }
  fs::write_file_atomic(x.path, text);
  struct stat st {};
  ::stat(x.path.c_str(), &st);
  x.inode = st.st_ino;
  x.offset = static_cast<off_t>(text.size());
  x.valid = true;
}

void Ledger::index_add(std::size_t run, State state) {
  if (!options_.use_index || !index_ || !index_->valid) return;
  const char c = state == State::kDone ? 'd' : 'f';
  auto it = index_->state.find(plan_.runs[run].id);
  if (it != index_->state.end() && it->second == c) return;
  index_->state[plan_.runs[run].id] = c;
  file_ops_ += 1;
  fs::append_synced(index_->path, std::string(1, c) + " " + plan_.runs[run].id + "\n");
}

Ledger::State Ledger::indexed_state(std::size_t run, json* claim) {
  if (options_.use_index && index_ && index_->valid) {
    auto it = index_->state.find(plan_.runs[run].id);
    if (it != index_->state.end()) return it->second == 'd' ? State::kDone : State::kFailed;
  }
  const State s = state_of(run, claim);
  if (s == State::kDone || s == State::kFailed) index_add(run, s);
  return s;
}

Counts Ledger::counts() const {
  Counts n;
  for (std::size_t i = 0; i < plan_.runs.size(); ++i) {
    switch (state_of(i, nullptr)) {
      case State::kDone: ++n.done; break;
      case State::kFailed: ++n.failed; break;
      case State::kLive: ++n.running; break;
      case State::kFree: ++n.left; break;
    }
  }
  return n;
}

json Ledger::failure_result(std::size_t run, const std::string& error) const {
  return {{"schema_version", 1},
          {"status", "failed"},
          {"error", error},
          {"config", plan_.runs[run].config},
          {"sweep", result_block(run)}};
}

// Under the lock, for runs nobody holds (its extractor run failed, it crashed max_attempts times).
void Ledger::write_failure(std::size_t run, const std::string& error) {
  fs::make_dirs(run_dir(run));
  fs::write_file_atomic(fs::join_path(run_dir(run), "result.json"), failure_result(run, error).dump(2) + "\n");
  index_add(run, State::kFailed);
}

void Ledger::record_failure(std::size_t run, const std::string& error, const std::string& token) {
  json result = failure_result(run, error);
  result["sweep"]["token"] = token;
  fs::write_file_atomic(fs::join_path(run_dir(run), "result.json"), result.dump(2) + "\n",
                             [&] { return holds(run, token); });
}

Pick Ledger::claim_next(int group) {
  FolderLock lock(dir_);
  load_index();
  const std::size_t n = plan_.runs.size();
  // Each run's state, looked up when needed: from the index, or its folder (indexed_state).
  std::vector<std::optional<State>> states(n);
  std::vector<json> claims(n);
  auto state = [&](std::size_t i) {
    if (!states[i]) states[i] = indexed_state(i, &claims[i]);
    return *states[i];
  };
  if (!options_.use_index) {
    for (std::size_t i = 0; i < n; ++i) state(i);  // the ledger before the index: every folder, every claim
  }
  Pick pick;
  pick.kind = Pick::kDone;
  std::optional<std::size_t> chosen;
  for (std::size_t i = 0; i < n && !chosen; ++i) {
    if (state(i) != State::kFree) continue;
    const auto& r = plan_.runs[i];
    if (r.extractor_from) {
      const State dep = state(*r.extractor_from);
      if (dep == State::kFailed) {
        write_failure(i, "its extractor run " + plan_.runs[*r.extractor_from].folder + " failed");
        log("failed", i, group, {{"error", "extractor run failed"}});
        states[i] = State::kFailed;
        continue;
      }
      if (dep != State::kDone) {
        pick.kind = Pick::kWait;  // ready once its extractor run is done
        continue;
      }
    }
    const json& c = claims[i];
    const bool ours = !c.is_null() && c.value("id", "") == r.id;
    const bool crashed = ours && !c.value("released", false);  // a stale, unreleased claim: its owner died
    const int crashes = (ours ? c.value("crashes", 0) : 0) + (crashed ? 1 : 0);
    if (crashes >= plan_.max_attempts) {
      write_failure(i, "started " + std::to_string(c.value("starts", 0)) + " time(s); " +
                           std::to_string(crashes) +
                           " ended with the job killed or a rank failing (max_attempts " +
                           std::to_string(plan_.max_attempts) + "); last claimed by " + c.value("job", "?"));
      log("failed", i, group, {{"error", "max_attempts"}});
      states[i] = State::kFailed;
      continue;
    }
    // A folder written under another plan (its run.json names another id) is moved aside, not mixed in.
    const std::string d = run_dir(i);
    const json owner = read_json_or_null(fs::join_path(d, "run.json"));
    if (!owner.is_null() && owner.value("id", "") != r.id) {
      const std::string aside = d + ".superseded-" + owner.value("id", "unknown");
      if (::rename(d.c_str(), aside.c_str()) != 0) {
        throw std::runtime_error(d + ": cannot move aside to " + aside + ": " + std::strerror(errno));
      }
      fs::sync_folder(d.substr(0, d.rfind('/')));
      log("superseded", i, group, {{"moved_to", aside}});
    }
    fs::make_dirs(d);
    fs::write_file_atomic(fs::join_path(d, "run.json"),
                               json{{"id", r.id}, {"folder", r.folder}, {"labels", r.labels}}.dump(2) + "\n");
    const int starts = (ours ? c.value("starts", 0) : 0) + 1;
    const std::string token = job_ + "/" + std::to_string(starts) + "/" + random_hex();
    fs::write_file_atomic(fs::join_path(d, "claim.json"), json{{"id", r.id},
                                                                {"token", token},
                                                                {"job", job_},
                                                                {"host", host_},
                                                                {"pid", static_cast<long>(::getpid())},
                                                                {"group", group},
                                                                {"starts", starts},
                                                                {"crashes", crashes},
                                                                {"released", false}}
                                                                   .dump(2) +
                                                               "\n");
    pick.kind = Pick::kRun;
    pick.run = i;
    pick.attempt = starts;
    pick.token = token;
    pick.resume = fs::path_exists(fs::join_path(d, "checkpoint.safetensors"));
    log(crashed ? "takeover" : "claim", i, group,
        {{"attempt", starts},
         {"resume", pick.resume},
         {"token", token},
         {"previous_job", ours ? c.value("job", "") : ""},
         {"previous_token", ours ? c.value("token", "") : ""}});
    states[i] = State::kLive;
    chosen = i;
  }
  // The counts: the runs whose state is known (listed in the index, or read on the way); the rest, after the
  // chosen run, count as left (a live claim among them shows at a later claim). With no run chosen every run
  // was looked at, so the wait-or-done answer is exact.
  for (std::size_t i = 0; i < n; ++i) {
    std::optional<State> st = states[i];
    if (!st && index_ && index_->valid) {
      auto it = index_->state.find(plan_.runs[i].id);
      if (it != index_->state.end()) st = it->second == 'd' ? State::kDone : State::kFailed;
    }
    switch (st.value_or(State::kFree)) {
      case State::kDone: ++pick.counts.done; break;
      case State::kFailed: ++pick.counts.failed; break;
      case State::kLive: ++pick.counts.running; break;
      case State::kFree: ++pick.counts.left; break;
    }
  }
  if (!chosen && pick.counts.running > 0) pick.kind = Pick::kWait;
  return pick;
}

bool Ledger::holds(std::size_t run, const std::string& token) const {
  return is_ours(read_json_or_null(fs::join_path(run_dir(run), "claim.json")), plan_.runs[run].id, token);
}

bool Ledger::heartbeat(std::size_t run, const std::string& token) const {
  const std::string path = fs::join_path(run_dir(run), "claim.json");
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  // Read and touch through one descriptor: a takeover renames a new file over the path, so what we touch is
  // the claim we checked, never a newer one.
  const bool ours = is_ours(read_claim_fd(fd), plan_.runs[run].id, token);
  if (ours) ::futimens(fd, nullptr);
  ::close(fd);
  return ours;
}

bool Ledger::finish(std::size_t run, const std::string& token, const std::string& event, const json& extra) {
  FolderLock lock(dir_);
  const int group = extra.is_object() ? extra.value("group", -1) : -1;  // extra may be null (the default)
  if (!holds(run, token)) {
    lost(run, token, group);
    return false;
  }
  remove_if_there(fs::join_path(run_dir(run), "claim.json"));
  fs::sync_folder(run_dir(run));
  json line = extra.is_object() ? extra : json::object();
  line["token"] = token;
  log(event, run, group, line);
  return true;
}

void Ledger::release(std::size_t run, const std::string& token) {
  FolderLock lock(dir_);
  const std::string path = fs::join_path(run_dir(run), "claim.json");
  json c = read_json_or_null(path);
  if (!is_ours(c, plan_.runs[run].id, token)) {
    lost(run, token, c.is_null() ? -1 : c.value("group", -1));
    return;
  }
  c["released"] = true;
  fs::write_file_atomic(path, c.dump(2) + "\n");
  log("released", run, c.value("group", -1), {{"token", token}});
}

void Ledger::lost(std::size_t run, const std::string& token, int group) {
  const json now = read_json_or_null(fs::join_path(run_dir(run), "claim.json"));
  const json result = read_json_or_null(fs::join_path(run_dir(run), "result.json"));
  log("lost claim", run, group,
      {{"token", token},
       {"held_by", now.is_null() ? json(nullptr) : json(now.value("token", ""))},
       {"result", result.is_null() ? json(nullptr) : json(result.value("status", ""))}});
}

}  // namespace acm::sweeps
