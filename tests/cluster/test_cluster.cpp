// A cluster on one machine: ranks on different hosts, each a simulated node (tests/cluster/simnodes: its own
// network namespace, address and hostname on a private bridge; the file system shared). Open MPI launches
// across them over TCP from node n1 with a hostfile, through an rsh agent that enters the node, as ssh would.
// Where nodes cannot be made here (no root, no namespaces) every test skips and says why.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "models/weights.h"
#include "tests/test_util.h"

namespace acm {
namespace {

using nlohmann::json;
using testing::TempDir;

std::string g_harness, g_mpirun, g_simnodes, g_simslurm, g_sbatch_script;

std::string quote(const std::string& s) { return "'" + s + "'"; }

// Whether simnodes can make nodes here, and if not, why (asked once).
const std::string& unusable_reason() {
  static const std::string why = [] {
    std::string out;
    const int rc = testing::run_command(quote(g_simnodes) + " check", &out);
    return rc == 0 ? std::string() : (out.empty() ? "simnodes check failed" : out);
  }();
  return why;
}

// Whether simslurm can run Slurm here (its programs and PMIx plugin), and if not, why.
const std::string& slurm_unusable_reason() {
  static const std::string why = [] {
    std::string out;
    const int rc = testing::run_command(quote(g_simslurm) + " check", &out);
    return rc == 0 ? std::string() : (out.empty() ? "simslurm check failed" : out);
  }();
  return why;
}

#define SKIP_WITHOUT_SLURM()                                                                             \
  do {                                                                                                   \
    SKIP_WITHOUT_NODES();                                                                                \
    if (!slurm_unusable_reason().empty()) GTEST_SKIP() << "no Slurm here: " << slurm_unusable_reason(); \
  } while (0)

#define SKIP_WITHOUT_NODES()                                                                           \
  do {                                                                                                 \
    if (g_harness.empty() || g_simnodes.empty()) FAIL() << "run with --harness --mpirun --simnodes (ctest passes them)"; \
    if (!unusable_reason().empty()) GTEST_SKIP() << "no simulated nodes here: " << unusable_reason();  \
  } while (0)

// N nodes n1..nN for the test's lifetime; what a killed test leaves behind goes at the next start (gc).
class Cluster {
 public:
  explicit Cluster(int nodes) : name_("acm" + std::to_string(getpid() % 1000000)), nodes_(nodes) {
    std::string out;
    testing::run_command(quote(g_simnodes) + " gc", &out);
    const int rc = testing::run_command("ACM_SIMNODES_OWNER=" + std::to_string(getpid()) + " " + quote(g_simnodes) +
                                            " up " + name_ + " " + std::to_string(nodes),
                                        &out);
    if (rc != 0) throw std::runtime_error("simnodes up: " + out);
  }
  ~Cluster() {
    std::string out;
    testing::run_command(quote(g_simnodes) + " down " + name_, &out);
  }
  const std::string& name() const { return name_; }
  std::string subnet() const {
    std::string out;
    testing::run_command(quote(g_simnodes) + " subnet " + name_, &out);
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
  }
  // `mpirun` started on node n1 over `slots` ranks per node, every option a cluster over TCP needs, and `extra`
  // MCA settings.
  std::vector<std::string> mpirun(const TempDir& dir, int slots, int ranks,
                                  const std::vector<std::string>& extra = {}) const {
    const std::string hostfile = dir.file("hostfile");
    std::ofstream hf(hostfile);
    for (int i = 1; i <= nodes_; ++i) hf << "n" << i << " slots=" << slots << "\n";
    hf.close();
    const std::string net = subnet();
    std::vector<std::string> argv = {
        "/usr/bin/env", "ACM_SIMNODES=" + name_, g_simnodes, "exec", name_, "n1", g_mpirun, "--allow-run-as-root",
        "--hostfile", hostfile, "--mca", "plm_rsh_agent", g_simnodes + " agent", "--mca", "btl", "self,vader,tcp",
        "--mca", "btl_tcp_if_include", net, "--mca", "oob_tcp_if_include", net, "-x", "OMP_NUM_THREADS=1"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.insert(argv.end(), {"-np", std::to_string(ranks)});
    return argv;
  }

 private:
  std::string name_;
  int nodes_;
};

std::string join(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + quote(a);
  return s;
}

struct Job {
  int code = -1;
  std::string output;
};

Job run(const std::string& command) {
  Job j;
  j.code = testing::run_command("timeout -s KILL 150 " + command + " 2>&1", &j.output);
  return j;
}

// The multi-rank tests' run (testing::multi_rank_run_config): five steps of 24, where rank counts agree to
// 3e-7 and a learning rate 10 % off moves the parameters by 2.9e-2.
std::string write_config(const TempDir& dir, const json& overrides = json::object()) {
  json c = testing::multi_rank_run_config();
  c.merge_patch(overrides);
  const std::string path = dir.file("run.json");
  std::ofstream(path) << c.dump(2);
  return path;
}

json read_json(const std::string& path) { return json::parse(testing::read_text(path)); }

double worst_parameter_difference(const std::string& a, const std::string& b) {
  std::map<std::string, at::Tensor> ta, tb;
  for (auto& [name, t] : models::read_safetensors(a).tensors) ta[name] = t;
  for (auto& [name, t] : models::read_safetensors(b).tensors) tb[name] = t;
  double worst = 0;
  for (const auto& [name, t] : ta) {
    if (name.rfind("model/", 0) != 0 || !t.is_floating_point()) continue;
    EXPECT_TRUE(tb.count(name)) << name;
    if (tb.count(name)) worst = std::max(worst, (t - tb[name]).abs().max().item<double>());
  }
  return worst;
}

// Two nodes × one and two ranks train as one rank does; the result lists each rank's host, and the rank
// within a node (what picks a GPU) counts from 0 on every node.
TEST(Cluster, TwoNodesTrainAsOneRank) {
  SKIP_WITHOUT_NODES();
  TempDir dir;
  const std::string config = write_config(dir);
  const Job one = run(quote(g_harness) + " train --quiet --config " + config + " --out " + dir.file("np1"));
  ASSERT_EQ(one.code, 0) << one.output;
  Cluster cluster(2);
  for (int slots : {1, 2}) {
    const std::string out = dir.file("nodes2x" + std::to_string(slots));
    const Job j = run(join(cluster.mpirun(dir, slots, 2 * slots)) + " " + quote(g_harness) + " train --config " +
                      config + " --out " + out);
    ASSERT_EQ(j.code, 0) << j.output;
    EXPECT_NE(j.output.find("dist  " + std::to_string(2 * slots) + " ranks on 2 host(s)"), std::string::npos)
        << j.output;
    // Open MPI gives ranks a pseudo-terminal; the log still gets plain lines, no terminal escapes.
    EXPECT_EQ(j.output.find("\033["), std::string::npos) << j.output;
    const json d = read_json(out + "/result.json")["distributed"];
    const json hosts = slots == 1 ? json{"n1", "n2"} : json{"n1", "n1", "n2", "n2"};
    const json local = slots == 1 ? json{0, 0} : json{0, 1, 0, 1};
    EXPECT_EQ(d["hosts"], hosts);
    EXPECT_EQ(d["local_ranks"], local);
    const double worst = worst_parameter_difference(out + "/checkpoint.safetensors", dir.file("np1/checkpoint.safetensors"));
    std::printf("  2 nodes x %d ranks vs 1 rank: worst parameter difference %.3g after 5 steps\n", slots, worst);
    EXPECT_LT(worst, 1e-5);
  }
}

// Starts a 2-node training long enough to be killed in, waits until it trains, does `to_node` to n2 and
// returns how many seconds the job took to end after it, with its exit code and log.
struct Ending {
  int code;
  double seconds;
  std::string log;
};
Ending lose_node_two(const std::string& how, const std::vector<std::string>& mca) {
  TempDir dir;
  const std::string config = write_config(dir, {{"dataset", {{"train_size", 24000}}}, {"epochs", 3}});
  Cluster cluster(2);
  std::vector<std::string> argv = cluster.mpirun(dir, 1, 2, mca);
  for (const std::string& a : {g_harness, std::string("train"), std::string("--config"), config, std::string("--out"),
                               dir.file("out")}) {
    argv.push_back(a);
  }
  const int pid = testing::spawn(argv, dir.file("log"));
  if (!testing::wait_for_text(dir.file("log"), "dist  2 ranks on 2 host(s)", 60)) {
    ADD_FAILURE() << "the job did not start training: " << testing::read_text(dir.file("log"));
    return {-1, 0, ""};
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));  // in training: collectives in flight
  std::string out;
  const auto t0 = std::chrono::steady_clock::now();
  testing::run_command(quote(g_simnodes) + " " + how + " " + cluster.name() + " n2", &out);
  const int code = testing::wait_exit(pid);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::string log = testing::read_text(dir.file("log"));
  EXPECT_FALSE(testing::exists(dir.file("out/result.json")));  // nothing claims a result
  return {code, seconds, log};
}

// A node dies mid-training (every process on it killed: its sockets close): the job ends at once, non-zero,
// naming the node.
TEST(Cluster, ANodeThatDiesEndsTheJob) {
  SKIP_WITHOUT_NODES();
  const Ending e = lose_node_two("kill", {});
  std::printf("  node n2 killed: the job ended %.2f s later, exit %d\n", e.seconds, e.code);
  EXPECT_NE(e.code, 0) << e.log;
  EXPECT_LT(e.seconds, 30) << e.log;
  // Open MPI names the node: "Remote daemon: ... on node n2", or, when a rank notices first, "Peer host: n2".
  EXPECT_TRUE(std::regex_search(e.log, std::regex("(on node|Peer host:) +n2"))) << e.log;
}

// A node that falls silent (its link gone: no connection is closed, nothing answers) is found by Open MPI's
// keepalive on its daemons' connections: after keepalive_time idle seconds, probes every intvl seconds, and
// `probes` unanswered ones. Open MPI's defaults (300, 20, 9) take up to 8 minutes; the README's cluster
// settings (30, 5, 4) up to 50 s; this test uses (5, 1, 5): up to 10 s, and the job must end within 20.
TEST(Cluster, ANodeThatFallsSilentEndsTheJobWithinTheKeepalive) {
  SKIP_WITHOUT_NODES();
  const Ending e = lose_node_two("cut", {"--mca", "oob_tcp_keepalive_time", "5", "--mca", "oob_tcp_keepalive_intvl", "1",
                                         "--mca", "oob_tcp_keepalive_probes", "5"});
  std::printf("  node n2 cut off: the job ended %.2f s later, exit %d (keepalive 5 s + 5 x 1 s)\n", e.seconds, e.code);
  EXPECT_NE(e.code, 0) << e.log;
  EXPECT_LT(e.seconds, 20) << e.log;
  EXPECT_TRUE(std::regex_search(e.log, std::regex("(on node|Peer host:) +n2"))) << e.log;
}

// ---- Slurm on the simulated nodes (tests/cluster/simslurm) -----------------------------------------------

// Slurm on `nodes` simulated nodes: munged, slurmctld on n1, a slurmd per node, for the test's lifetime.
class SlurmCluster {
 public:
  explicit SlurmCluster(int nodes) : cluster_(nodes) {
    std::string out;
    if (testing::run_command(quote(g_simslurm) + " up " + cluster_.name() + " " + dir_.file("slurm"), &out) != 0) {
      throw std::runtime_error("simslurm up: " + out + testing::read_text(dir_.file("slurm/log/slurmctld.log")));
    }
  }
  const Cluster& cluster() const { return cluster_; }
  // The controller's and the nodes' logs, for a failure's message.
  std::string logs() const {
    std::string out;
    testing::run_command("tail -n 25 " + dir_.file("slurm/log") + "/*.log", &out);
    return out;
  }
  // A Slurm client command on n1 (sbatch, srun, scontrol...).
  std::string client(const std::string& command) const {
    return quote(g_simslurm) + " run " + cluster_.name() + " " + dir_.file("slurm") + " " + command;
  }
  std::string submit(const std::string& args) const {
    std::string out;
    testing::run_command(client("sbatch --parsable " + args) + " 2>&1", &out);
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
  }
  std::string job_field(const std::string& job, const std::string& field) const {
    std::string out;
    testing::run_command(client("scontrol show job " + job) + " 2>&1", &out);
    const std::smatch m = [&] {
      std::smatch x;
      std::regex_search(out, x, std::regex(field + "=([^ \n]*)"));
      return x;
    }();
    return m.size() > 1 ? m[1].str() : "";
  }
  // Waits until the job has ended: its final state, or "timeout" after `seconds`.
  std::string wait_ended(const std::string& job, double seconds) const {
    const auto t0 = std::chrono::steady_clock::now();
    while (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < seconds) {
      const std::string state = job_field(job, "JobState");
      if (state == "COMPLETED" || state == "FAILED" || state == "CANCELLED" || state == "TIMEOUT" ||
          state == "NODE_FAIL") {
        return state;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    return "timeout";
  }

 private:
  Cluster cluster_;
  TempDir dir_;
};

// Eight tiny runs (2 methods × 4 seeds): synthetic 1×16×16 images, a width-4 ResNet-18; `train_size` sets
// their length (64: a fraction of a second each; 1024 with 3 epochs: about 2 s, long enough to be stopped in).
std::string write_sweep_spec(const TempDir& dir, int train_size, int epochs) {
  const json spec = testing::tiny_sweep_spec({json::parse(R"({"name": "method", "values": [
          {"label": "baseline", "set": {"mix": {"method": "none"}}},
          {"label": "cutmix", "set": {"mix": {"method": "cutmix", "prob": 1.0}}}]})"),
                                              json::parse(R"({"name": "seed", "path": "seed", "values": [0, 1, 2, 3]})")},
                                             epochs, train_size);
  const std::string path = dir.file("spec.json");
  std::ofstream(path) << spec.dump(2);
  return path;
}

std::vector<json> events(const std::string& out) {
  std::vector<json> ev;
  std::ifstream in(out + "/sweep.log.jsonl");
  for (std::string line; std::getline(in, line);) ev.push_back(json::parse(line));
  return ev;
}

// Every planned run completed exactly once (one "done" event, a completed result); the hosts that did them.
std::set<std::string> expect_each_run_done_once(const std::string& out) {
  std::map<std::string, int> done;
  std::set<std::string> hosts;
  for (const json& e : events(out)) {
    if (e["event"] != "done") continue;
    ++done[e["run"].get<std::string>()];
    const std::string job = e["job"];
    hosts.insert(job.substr(0, job.find(':')));  // jobs are named host:pid:random
  }
  const json plan = read_json(out + "/sweep.json");
  EXPECT_EQ(plan["runs"].size(), 8u);
  for (const json& r : plan["runs"]) {
    const std::string f = r["folder"];
    EXPECT_EQ(done.count(f) ? done.at(f) : 0, 1) << f;
    EXPECT_EQ(read_json(out + "/" + f + "/result.json")["status"], "completed") << f;
  }
  return hosts;
}

// srun with PMIx launches the ranks on both nodes: the same parameters as one rank, each rank's host, the rank
// within a node counted per node.
TEST(Slurm, SrunTrainsAcrossNodesAsOneRank) {
  SKIP_WITHOUT_SLURM();
  TempDir dir;
  const std::string config = write_config(dir);
  ASSERT_EQ(run(quote(g_harness) + " train --quiet --config " + config + " --out " + dir.file("np1")).code, 0);
  SlurmCluster slurm(2);
  for (int per_node : {1, 2}) {
    const std::string out = dir.file("srun" + std::to_string(per_node));
    const Job j = run(slurm.client("srun --mpi=pmix -N 2 --ntasks-per-node=" + std::to_string(per_node) + " " +
                                   quote(g_harness) + " train --config " + config + " --out " + out));
    ASSERT_EQ(j.code, 0) << j.output;
    const json d = read_json(out + "/result.json")["distributed"];
    EXPECT_EQ(d["hosts"], per_node == 1 ? json({"n1", "n2"}) : json({"n1", "n1", "n2", "n2"}));
    EXPECT_EQ(d["local_ranks"], per_node == 1 ? json({0, 0}) : json({0, 1, 0, 1}));
    const double worst = worst_parameter_difference(out + "/checkpoint.safetensors", dir.file("np1/checkpoint.safetensors"));
    std::printf("  srun -N 2, %d per node, vs 1 rank: worst parameter difference %.3g\n", per_node, worst);
    EXPECT_LT(worst, 1e-5);
  }
}

// A sweep of 8 runs in an sbatch job over 2 nodes (srun: a group per node), and a second job on one node on
// the same folder at the same time: every run completed exactly once, by ranks on both nodes.
TEST(Slurm, ASweepInTwoJobsOnOneFolderRunsEachRunOnce) {
  SKIP_WITHOUT_SLURM();
  TempDir dir;
  const std::string spec = write_sweep_spec(dir, 64, 2), out = dir.file("sweep");
  SlurmCluster slurm(2);
  const std::string sweep = "srun --mpi=pmix " + quote(g_harness) + " sweep " + spec + " --out " + out + " --no-report";
  const std::string a = slurm.submit("-N 2 -n 2 -o " + dir.file("job-a.out") + " --wrap " + quote(sweep));
  const std::string b = slurm.submit("-N 1 -n 1 -o " + dir.file("job-b.out") + " --wrap " + quote(sweep));
  ASSERT_FALSE(a.empty() || b.empty()) << a << b;
  EXPECT_EQ(slurm.wait_ended(a, 120), "COMPLETED") << testing::read_text(dir.file("job-a.out"));
  EXPECT_EQ(slurm.wait_ended(b, 120), "COMPLETED") << testing::read_text(dir.file("job-b.out"));
  const std::set<std::string> hosts = expect_each_run_done_once(out);
  EXPECT_TRUE(hosts.count("n1") && hosts.count("n2")) << "runs were done only on " << *hosts.begin();
}

// Preemption as Slurm does it, with scripts/slurm/sweep.sbatch: USR1 to the job's steps (what its
// `--signal=USR1@300` sends 5 minutes before the limit) makes every running run checkpoint and release its claim,
// and the sweep exit 75; the script then requeues the job, which resumes the sweep. Nothing is lost (every run
// completes) and nothing is run twice.
TEST(Slurm, APreemptedJobIsRequeuedAndFinishesTheSweep) {
  SKIP_WITHOUT_SLURM();
  TempDir dir;
  const std::string spec = write_sweep_spec(dir, 1024, 3), out = dir.file("sweep");
  SlurmCluster slurm(2);
  // The shipped batch script, its resource lines overridden for these 2-CPU nodes.
  const std::string job = slurm.submit("-N 2 --ntasks-per-node=1 --cpus-per-task=1 -o " + dir.file("job.out") +
                                       " --export=ALL,ACM_HARNESS=" + g_harness + " " + g_sbatch_script + " " + spec +
                                       " --out " + out + " --no-report");
  ASSERT_FALSE(job.empty());
  ASSERT_TRUE(testing::wait_for_text(out + "/sweep.log.jsonl", "\"event\":\"done\"", 90)) << testing::read_text(dir.file("job.out"));
  std::string ignored;
  testing::run_command(slurm.client("scancel --signal=USR1 " + job), &ignored);
  ASSERT_TRUE(testing::wait_for_text(dir.file("job.out"), "sweep exit 75, restart 0", 60)) << testing::read_text(dir.file("job.out"));
  // Slurm starts the requeued job again once the first start's credential has expired (simslurm: 10 s).
  EXPECT_EQ(slurm.wait_ended(job, 150), "COMPLETED") << testing::read_text(dir.file("job.out")) << slurm.logs();
  EXPECT_EQ(slurm.job_field(job, "Restarts"), "1");
  const std::string log = testing::read_text(dir.file("job.out"));
  EXPECT_NE(log.find("checkpoint written, claim released"), std::string::npos) << log;
  EXPECT_NE(log.find("sweep exit 0, restart 1"), std::string::npos) << log;
  expect_each_run_done_once(out);
}

// A node dies under a sweep (2 nodes, a group each, launched by mpirun): the job ends within 30 s naming the
// node; the dead node's claims are not judged by a pid on another host but by their heartbeat, so the same
// sweep run again (from n1, a claim timeout of 4 s) takes them over once they are stale and completes every
// run exactly once.
TEST(Cluster, ASweepThatLostANodeCompletesWhenRunAgain) {
  SKIP_WITHOUT_NODES();
  TempDir dir;
  const std::string spec = write_sweep_spec(dir, 1024, 3), out = dir.file("sweep");
  Cluster cluster(2);
  std::vector<std::string> argv = cluster.mpirun(dir, 1, 2);
  for (const std::string& a : {g_harness, std::string("sweep"), spec, std::string("--out"), out, std::string("--no-report")}) {
    argv.push_back(a);
  }
  const int pid = testing::spawn(argv, dir.file("job1.log"));
  ASSERT_TRUE(testing::wait_for_text(out + "/sweep.log.jsonl", "\"event\":\"done\"", 90)) << testing::read_text(dir.file("job1.log"));
  // Kill n2 right after it claims a new run, so that the run has all its training ahead of it. A claim n2
  // made earlier may be ending: killed after its result is written and before "done" is logged, the run is
  // complete and there is nothing to take over (both groups start together and their runs take as long, so
  // that moment is likely).
  auto n2_claims = [&](std::string* last) {
    int claims = 0;
    std::ifstream in(out + "/sweep.log.jsonl");
    for (std::string line; std::getline(in, line);) {
      const json e = json::parse(line, nullptr, /*allow_exceptions=*/false);  // a line being written: skipped
      if (!e.is_object() || e.value("job", "").rfind("n2:", 0) != 0) continue;
      *last = e.value("event", "");
      if (*last == "claim") ++claims;
    }
    return claims;
  };
  std::string last;
  const int claims_before = n2_claims(&last);
  bool holds_claim = false;
  for (int i = 0; i < 1200 && !holds_claim; ++i) {
    holds_claim = n2_claims(&last) > claims_before && last == "claim";
    if (!holds_claim) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(holds_claim) << "n2 made no new claim: " << testing::read_text(out + "/sweep.log.jsonl");
  std::string ignored;
  const auto t0 = std::chrono::steady_clock::now();
  testing::run_command(quote(g_simnodes) + " kill " + cluster.name() + " n2", &ignored);
  const int code = testing::wait_exit(pid);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::string log = testing::read_text(dir.file("job1.log"));
  std::printf("  node n2 killed under a sweep: the job ended %.2f s later, exit %d\n", seconds, code);
  EXPECT_NE(code, 0) << log;
  EXPECT_LT(seconds, 30) << log;
  EXPECT_TRUE(std::regex_search(log, std::regex("(on node|Peer host:) +n2"))) << log;
  const Job again = run("env ACM_SIMNODES=" + cluster.name() + " " + quote(g_simnodes) + " exec " + cluster.name() +
                        " n1 " + quote(g_harness) + " sweep " + spec + " --out " + out + " --no-report --claim-timeout 4");
  ASSERT_EQ(again.code, 0) << again.output;
  expect_each_run_done_once(out);
  int taken_over_from_n2 = 0;
  for (const json& e : events(out)) {
    if (e["event"] == "takeover" && e.dump().find("n2:") != std::string::npos) ++taken_over_from_n2;
  }
  EXPECT_GE(taken_over_from_n2, 1) << "no run of the dead node was taken over";
}

}  // namespace
}  // namespace acm

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  acm::testing::read_binary_flags(argc, argv, &acm::g_harness, &acm::g_mpirun);
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--simnodes=", 0) == 0) acm::g_simnodes = a.substr(11);
    if (a.rfind("--simslurm=", 0) == 0) acm::g_simslurm = a.substr(11);
    if (a.rfind("--sbatch-script=", 0) == 0) acm::g_sbatch_script = a.substr(16);
  }
  return RUN_ALL_TESTS();
}
