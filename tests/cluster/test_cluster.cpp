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
#include <thread>

#include <nlohmann/json.hpp>

#include "models/weights.h"
#include "tests/test_util.h"

namespace acm {
namespace {

using nlohmann::json;
using testing::TempDir;

std::string g_harness, g_mpirun, g_simnodes;

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

// The multi-rank tests' run (tests/dist/test_dist_train.cpp): a GroupNorm ResNet on synthetic data, five steps
// of 24, where rank counts agree to 3e-7 and a learning rate 10 % off moves the parameters by 2.9e-2.
std::string write_config(const TempDir& dir, const json& overrides = json::object()) {
  json c = {{"dataset",
             {{"name", "synthetic"},
              {"train_size", 130},
              {"test_size", 50},
              {"channels", 3},
              {"height", 16},
              {"width", 16},
              {"classes", 4}}},
            {"model", "resnet18"},
            {"model_options", {{"width", 8}, {"norm", "group"}}},
            {"epochs", 1},
            {"batch_size", 24},
            {"eval_batch_size", 16},
            {"optimizer", {{"lr", 0.01}}},
            {"schedule", {{"name", "constant"}}},
            {"mix", {{"method", "none"}}},
            {"augment", {{"crop_padding", 0}, {"horizontal_flip", false}}},
            {"threads", 1},
            {"loader_threads", 0},
            {"distributed", {{"bucket_mb", 0.1}, {"first_bucket_mb", 0.02}}}};
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

}  // namespace
}  // namespace acm

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  acm::testing::read_binary_flags(argc, argv, &acm::g_harness, &acm::g_mpirun);
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--simnodes=", 0) == 0) acm::g_simnodes = a.substr(11);
  }
  return RUN_ALL_TESTS();
}
