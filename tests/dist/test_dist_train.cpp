// `harness train` under real mpirun, as a user launches it: the same run at 1, 2 and 3 ranks ends with the
// same parameters; rank 0 alone prints and writes; a failing or killed rank ends the whole job quickly with
// its message. ctest passes the binaries as --harness=PATH --mpirun=PATH and runs these tests one at a time.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <regex>

#include <nlohmann/json.hpp>

#include "models/weights.h"
#include "tests/test_util.h"

namespace acm {

std::string g_harness, g_mpirun;

namespace {

using nlohmann::json;
using testing::TempDir;

const std::string& binary(const std::string& path) {
  if (path.empty()) throw std::runtime_error("run with --harness=PATH --mpirun=PATH (ctest passes them)");
  return path;
}

struct Job {
  int code = -1;
  double seconds = 0;
  std::string output;
};

// `mpirun -np N harness train --config CONFIG --out OUT EXTRA`, killed by `timeout` after 90 s.
Job launch(int ranks, const std::string& config, const std::string& out, const std::string& extra = "",
           const std::string& fault = "") {
  std::string cmd = "timeout -s KILL 90 ";
  if (!fault.empty()) cmd += "env ACM_FAULT_INJECT=" + fault + " ";
  cmd += binary(g_mpirun) + " --allow-run-as-root --oversubscribe -np " + std::to_string(ranks) +
         " -x OMP_NUM_THREADS=1" + (fault.empty() ? "" : " -x ACM_FAULT_INJECT") + " " + binary(g_harness) +
         " train --config " + config + " --out " + out + " " + extra + " 2>&1";
  Job j;
  const auto t0 = std::chrono::steady_clock::now();
  j.code = testing::run_command(cmd, &j.output);
  j.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return j;
}

// testing::multi_rank_run_config(): five steps where rank counts agree to 3e-7 (its comment says why).
std::string write_config(const TempDir& dir, const std::string& name,
                         const json& overrides = json::object()) {
  json c = testing::multi_rank_run_config();
  c.merge_patch(overrides);
  const std::string path = dir.file(name);
  std::ofstream(path) << c.dump(2);
  return path;
}

json read_json(const std::string& path) { return json::parse(testing::read_text(path)); }

std::map<std::string, at::Tensor> model_tensors(const std::string& checkpoint) {
  std::map<std::string, at::Tensor> out;
  for (auto& [name, t] : models::read_safetensors(checkpoint).tensors) {
    if (name.rfind("model/", 0) == 0) out[name] = t;
  }
  return out;
}

double worst_difference(const std::map<std::string, at::Tensor>& a,
                        const std::map<std::string, at::Tensor>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (const auto& [name, t] : a) {
    auto it = b.find(name);
    if (it == b.end()) {
      ADD_FAILURE() << name << " missing";
      continue;
    }
    if (t.is_floating_point()) worst = std::max(worst, (t - it->second).abs().max().item<double>());
  }
  return worst;
}

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (std::size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

TEST(DistTrain, OneTwoAndThreeRanksEndWithTheSameParameters) {
  TempDir dir;
  const std::string config = write_config(dir, "run.json");
  std::map<std::string, at::Tensor> first;
  json first_result;
  for (int ranks : {1, 2, 3}) {
    const std::string out = dir.file("np" + std::to_string(ranks));
    const Job j = launch(ranks, config, out);
    ASSERT_EQ(j.code, 0) << j.output;
    // Only rank 0 prints and writes.
    EXPECT_EQ(count(j.output, "done  best test top-1"), 1) << j.output;
    EXPECT_EQ(count(j.output, "test  epoch 1/1"), 1) << j.output;
    const json r = read_json(out + "/result.json");
    const json& d = r["distributed"];
    EXPECT_EQ(d["world_size"], ranks);
    EXPECT_EQ(d["hosts"].size(), static_cast<std::size_t>(ranks));
    EXPECT_EQ(d["devices"], json(std::vector<std::string>(static_cast<std::size_t>(ranks), "cpu")));
    EXPECT_EQ(d["local_batch"], 24 / ranks);
    EXPECT_GE(d["buckets"].get<int>(), 3);
    EXPECT_EQ(d["test_images_evaluated"], 50);  // uneven shards, every test image once
    const auto tensors = model_tensors(out + "/checkpoint.safetensors");
    if (ranks == 1) {
      first = tensors;
      first_result = r;
      continue;
    }
    const double worst = worst_difference(tensors, first);
    std::printf("  %d ranks vs 1: worst parameter difference %.3g after 5 steps\n", ranks, worst);
    EXPECT_LT(worst, 1e-5);
    EXPECT_NEAR(r["epochs"][0]["train_loss"].get<double>(),
                first_result["epochs"][0]["train_loss"].get<double>(), 1e-5);
    EXPECT_EQ(r["epochs"][0]["test_top1"], first_result["epochs"][0]["test_top1"]);
    // Calibration sums add over the ranks' uneven shards: the whole test set's figures, as one rank's.
    for (const char* k : {"ece", "nll", "brier"}) {
      EXPECT_NEAR(r["calibration"][k].get<double>(), first_result["calibration"][k].get<double>(), 1e-5) << k;
    }
    double counted = 0;
    for (const auto& b : r["calibration"]["bins"]) counted += b["count"].get<double>();
    EXPECT_EQ(counted, 50);
    EXPECT_EQ(r["calibration"]["bins"].size(), 15u);
    EXPECT_TRUE(r["final"].contains("last_test_ece"));
    // Occlusion and FGSM over the ranks' shards: the same curves as one rank's (one image is 2 %).
    EXPECT_EQ(r["robustness"]["images"], 50);
    for (const char* curve : {"center_top1", "random_top1"}) {
      for (std::size_t k = 0; k < 6; ++k) {
        EXPECT_NEAR(r["robustness"]["occlusion"][curve][k].get<double>(),
                    first_result["robustness"]["occlusion"][curve][k].get<double>(), 2.0) << curve << k;
      }
    }
    for (std::size_t k = 0; k < 4; ++k) {
      EXPECT_NEAR(r["robustness"]["fgsm"]["top1"][k].get<double>(), first_result["robustness"]["fgsm"]["top1"][k].get<double>(), 2.0);
    }
    // Corruptions: draws keyed per image, so the ranks' shards corrupt each image as one rank does.
    const json& cr = r["robustness"]["corruption"];
    EXPECT_EQ(cr["images"], 50);
    EXPECT_NEAR(cr["mean_top1"].get<double>(), first_result["robustness"]["corruption"]["mean_top1"].get<double>(), 2.0);
  }
}

// Stopped at 2 ranks, resumed at 3: the sampler and the averaged gradients do not depend on the rank count.
TEST(DistTrain, StopAtTwoRanksResumeAtThreeMatchesOneRank) {
  TempDir dir;
  const std::string config = write_config(dir, "run.json");
  const Job whole = launch(1, config, dir.file("whole"));
  ASSERT_EQ(whole.code, 0) << whole.output;
  const Job part = launch(2, config, dir.file("split"), "--stop-after 4");
  ASSERT_EQ(part.code, 75) << part.output;
  EXPECT_EQ(count(part.output, "continue with --resume"), 1) << part.output;
  const Job rest = launch(3, config, dir.file("split"), "--resume");
  ASSERT_EQ(rest.code, 0) << rest.output;
  EXPECT_LT(worst_difference(model_tensors(dir.file("split/checkpoint.safetensors")),
                             model_tensors(dir.file("whole/checkpoint.safetensors"))),
            1e-5);
}

// SIGUSR1 to mpirun (Open MPI forwards it to every rank) stops all ranks at the same step with a checkpoint
// and exit 75; the resumed run ends where an uninterrupted one does.
TEST(DistTrain, SigusrToMpirunStopsEveryRankAtOneStepAndTheRunResumes) {
  TempDir dir;
  const std::string config =
      write_config(dir, "run.json", {{"epochs", 3}, {"dataset", {{"train_size", 2400}}}});
  const Job whole = launch(2, config, dir.file("whole"));
  ASSERT_EQ(whole.code, 0) << whole.output;
  const std::string log = dir.file("stop.log");
  const int pid = testing::spawn(
      {binary(g_mpirun), "--allow-run-as-root", "--oversubscribe", "-np", "2", "-x", "OMP_NUM_THREADS=1",
       binary(g_harness), "train", "--config", config, "--out", dir.file("stopped")},
      log);
  ASSERT_TRUE(testing::wait_for_text(log, "dist  2 ranks", 60)) << testing::read_text(log);
  ::usleep(1500 * 1000);  // early in the run (300 steps in all)
  ::kill(pid, SIGUSR1);
  const int code = testing::wait_exit(pid);
  const std::string text = testing::read_text(log);
  ASSERT_EQ(code, 75) << text;
  EXPECT_EQ(count(text, "signal 10: checkpoint at epoch"), 1) << text;  // rank 0 alone says so
  const Job rest = launch(2, config, dir.file("stopped"), "--resume");
  ASSERT_EQ(rest.code, 0) << rest.output;
  EXPECT_NE(rest.output.find("resumed at epoch"), std::string::npos) << rest.output;
  EXPECT_LT(worst_difference(model_tensors(dir.file("stopped/checkpoint.safetensors")),
                             model_tensors(dir.file("whole/checkpoint.safetensors"))),
            1e-6);
}

TEST(DistTrain, GlobalBatchNotDivisibleByRanksIsAConfigError) {
  TempDir dir;
  const Job j = launch(3, write_config(dir, "run.json", {{"batch_size", 20}}), dir.file("out"));
  EXPECT_EQ(j.code, 2) << j.output;
  EXPECT_NE(j.output.find("$.batch_size: 20 (the global batch) is not divisible by the number of ranks (3)"),
            std::string::npos)
      << j.output;
  EXPECT_FALSE(testing::exists(dir.file("out/result.json")));
}

// A check that fails on one rank only (a file it cannot read, say): every rank stops before training, with
// that rank's message printed once.
TEST(DistTrain, ACheckFailingOnOneRankStopsEveryRank) {
  TempDir dir;
  const Job j = launch(3, write_config(dir, "run.json"), dir.file("out"), "", "setup:2:0");
  EXPECT_EQ(j.code, 1) << j.output;
  EXPECT_LT(j.seconds, 30);
  EXPECT_EQ(count(j.output, "error"), 1) << j.output;
  EXPECT_TRUE(std::regex_search(j.output, std::regex("error on rank 2 \\(.*\\) of 3: injected fault: setup check")))
      << j.output;
}

// A config every rank rejects is one line for the job, from rank 0, with the rank count (not one per rank:
// at 64 ranks that would be 64 copies); exit 2 on every rank.
TEST(DistTrain, AnErrorEveryRankAgreesOnIsPrintedOnce) {
  TempDir dir;
  const Job j = launch(3, write_config(dir, "run.json"), dir.file("out"), "--set optimizer.bogus=1");
  EXPECT_EQ(j.code, 2) << j.output;
  EXPECT_EQ(count(j.output, "error"), 1) << j.output;
  EXPECT_TRUE(std::regex_search(j.output, std::regex("error on all 3 ranks: .*\\$\\.optimizer\\.bogus")))
      << j.output;
  EXPECT_FALSE(testing::exists(dir.file("out/config.json")));
}

// A rank failing during training ends the whole job: non-zero, within 30 s, with the rank's message, and no
// result that claims anything.
void expect_job_ends(int ranks, const std::string& fault, const std::string& message) {
  TempDir dir;
  const Job j = launch(ranks, write_config(dir, "run.json"), dir.file("out"), "", fault);
  EXPECT_NE(j.code, 0) << j.output;
  EXPECT_LT(j.seconds, 30) << j.output;
  EXPECT_TRUE(std::regex_search(j.output, std::regex(message))) << j.output;
  EXPECT_FALSE(testing::exists(dir.file("out/result.json")));
}

TEST(DistTrain, ARankThatThrowsEndsTheJobWithItsMessage) {
  expect_job_ends(2, "throw:1:3", "rank 1 \\(.*\\): error: injected fault: exception at global step 3");
}

TEST(DistTrain, AKilledRankEndsTheJob) { expect_job_ends(3, "kill:1:3", "rank 1 .*signal 9"); }

// A non-finite loss on one rank: every rank agrees at that step, rank 0 writes the failed result.
TEST(DistTrain, ANonFiniteLossOnOneRankFailsTheRunEverywhere) {
  TempDir dir;
  const Job j = launch(2, write_config(dir, "run.json"), dir.file("out"), "", "nan:1:2");
  EXPECT_EQ(j.code, 1) << j.output;
  EXPECT_LT(j.seconds, 30);
  const json r = read_json(dir.file("out/result.json"));
  EXPECT_EQ(r["status"], "failed");
  EXPECT_NE(r["error"].get<std::string>().find("non-finite loss on 1 of 2 ranks at epoch 1 step 3"),
            std::string::npos)
      << r["error"];
}

// An ImageNet-style JPEG folder, decoded lazily by each rank's loader threads: 4 classes told apart by colour,
// learnt far above chance (25%) at 2 ranks. `crop`: the training crop ("center" or "random_resized").
std::string write_image_folder_config(const TempDir& dir, const std::string& crop = "center") {
  testing::write_image_folder(dir.file("imagenet"), 4, 24, 6, 40, 36);
  return write_config(dir, "imagenet.json",
                      {{"dataset",
                        {{"name", "imagenet"}, {"path", dir.file("imagenet")}, {"image_size", 32}, {"resize", 36},
                         {"train_crop", crop}, {"decode_oversample", crop == "center" ? 2.0 : 1.0},
                         {"train_size", nullptr}, {"test_size", nullptr}, {"channels", nullptr}, {"height", nullptr},
                         {"width", nullptr}, {"classes", nullptr}}},
                       // BatchNorm: GroupNorm normalises each image on its own and would erase a flat colour.
                       {"model_options", {{"norm", "batch"}}},
                       {"epochs", 12},
                       {"batch_size", 16},
                       {"optimizer", {{"lr", 0.05}}},
                       {"augment", {{"crop_padding", 2}, {"horizontal_flip", true}}},
                       {"loader_threads", 2}});
}

// With RandomResizedCrop and the faster DCT-scaled decode (oversampling 1) in training: both recorded.
TEST(DistTrain, ImageFolderTrainsAtTwoRanks) {
  TempDir dir;
  const Job j = launch(2, write_image_folder_config(dir, "random_resized"), dir.file("out"));
  ASSERT_EQ(j.code, 0) << j.output;
  const json r = read_json(dir.file("out/result.json"));
  EXPECT_EQ(r["status"], "completed");
  EXPECT_EQ(r["config"]["dataset"]["name"], "imagenet");
  EXPECT_EQ(r["config"]["dataset"]["train_crop"], "random_resized");
  EXPECT_EQ(r["config"]["dataset"]["decode_oversample"], 1.0);
  EXPECT_GE(r["final"]["best_test_top1"].get<double>(), 75.0) << j.output;
}

// A JPEG that went bad after the listing (a truncated copy): the rank that reads it ends the job, naming the
// file, and no result claims anything.
TEST(DistTrain, ACorruptImageEndsTheJobNamingTheFile) {
  TempDir dir;
  const std::string config = write_image_folder_config(dir);
  const std::string victim = dir.file("imagenet/train/c002/c002_3.JPEG");
  std::string bytes = testing::read_text(victim);
  bytes.resize(bytes.size() / 2);
  std::ofstream(victim, std::ios::binary | std::ios::trunc) << bytes;
  const Job j = launch(2, config, dir.file("out"));
  EXPECT_NE(j.code, 0) << j.output;
  EXPECT_LT(j.seconds, 30) << j.output;
  // Found in training (one rank's error ends the job) or while the ranks check the files (agreed, printed once).
  EXPECT_TRUE(std::regex_search(
      j.output, std::regex("(rank [01] \\(.*\\): error|error on (all 2 ranks|rank [01] \\(.*\\) of 2)): .*" + victim +
                           ": (truncated|corrupt) JPEG")))
      << j.output;
  EXPECT_FALSE(testing::exists(dir.file("out/result.json")));
}

}  // namespace
}  // namespace acm

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  acm::testing::read_binary_flags(argc, argv, &acm::g_harness, &acm::g_mpirun);
  return RUN_ALL_TESTS();
}
