// The sweep ledger's index (sweeps/ledger.h): a claim reads the same number of files whatever the sweep's
// size, and the index, a cache of what the run folders say, is rebuilt from them when it is missing, torn,
// of another plan, or made stale by --retry-failed. Real folders and files; one process.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "common/files.h"
#include "sweeps/ledger.h"
#include "tests/test_util.h"

namespace acm::sweeps {
namespace {

using nlohmann::json;

Sweep plan_of(std::size_t n) {
  Sweep s;
  s.name = "ledger-test";
  for (std::size_t i = 0; i < n; ++i) {
    char id[17], folder[32];
    std::snprintf(id, sizeof id, "%016zx", 0xa000 + i);
    std::snprintf(folder, sizeof folder, "runs/r%05zu", i);
    s.runs.push_back({id, folder, json::object(), json::object(), std::nullopt, false, ""});
  }
  return s;
}

// What the trainer writes when a run ends.
void write_result(const Ledger& ledger, const Sweep& plan, std::size_t run, const std::string& status) {
  fs::make_dirs(ledger.run_dir(run));
  std::ofstream(ledger.run_dir(run) + "/result.json") << json{{"status", status}, {"sweep", {{"id", plan.runs[run].id}}}}.dump();
}

// Files a claim reads in run folders and the index: with the index, the same at 50 and 500 runs with all but
// the last 10 done; without it (the ledger before), every run's folder each time.
TEST(Ledger, AClaimReadsTheSameFilesWhateverTheSweepsSize) {
  std::map<std::pair<bool, std::size_t>, std::int64_t> ops;
  for (bool index : {true, false}) {
    for (std::size_t n : {50u, 500u}) {
      testing::TempDir dir;
      const Sweep plan = plan_of(n);
      LedgerOptions o;
      o.use_index = index;
      Ledger ledger(dir.file("sweep"), plan, o);
      ledger.open();
      for (std::size_t i = 0; i + 10 < n; ++i) write_result(ledger, plan, i, "completed");
      const Pick first = ledger.claim_next(0);  // builds the index from the folders: once per job
      ASSERT_EQ(first.kind, Pick::kRun);
      EXPECT_EQ(first.run, n - 10);
      const std::int64_t before = ledger.file_operations();
      const Pick second = ledger.claim_next(1);
      ASSERT_EQ(second.kind, Pick::kRun);
      EXPECT_EQ(second.run, n - 9);
      EXPECT_EQ(second.counts.done, static_cast<int>(n - 10));
      ops[{index, n}] = ledger.file_operations() - before;
    }
  }
  const std::int64_t with50 = ops[{true, 50}], with500 = ops[{true, 500}], without50 = ops[{false, 50}],
                     without500 = ops[{false, 500}];
  std::printf("  files per claim: index %lld at 50 runs, %lld at 500; without %lld and %lld\n",
              static_cast<long long>(with50), static_cast<long long>(with500), static_cast<long long>(without50),
              static_cast<long long>(without500));
  EXPECT_EQ(with50, with500);
  EXPECT_LT(with500, 10);
  EXPECT_GE(without500, 500);
}

std::string index_text(const testing::TempDir& dir) { return testing::read_text(dir.file("sweep/.sweep.index")); }

// The folders are the truth: a run done there but not in the index is found and added; a torn last line, a
// missing index and one written for another plan are rebuilt, and no done run is ever claimed again.
TEST(Ledger, TheIndexFollowsTheFoldersAndIsRebuiltWhenItCannotBeTrusted) {
  testing::TempDir dir;
  const Sweep plan = plan_of(6);
  Ledger ledger(dir.file("sweep"), plan, {});
  ledger.open();
  write_result(ledger, plan, 0, "completed");
  write_result(ledger, plan, 1, "failed");
  EXPECT_EQ(ledger.claim_next(0).run, 2u);
  EXPECT_NE(index_text(dir).find("d " + plan.runs[0].id + "\n"), std::string::npos);
  EXPECT_NE(index_text(dir).find("f " + plan.runs[1].id + "\n"), std::string::npos);
  // Done in its folder after the index was read (a job that died before anyone looked): found, added.
  write_result(ledger, plan, 3, "completed");
  EXPECT_EQ(ledger.claim_next(0).run, 4u);
  EXPECT_NE(index_text(dir).find("d " + plan.runs[3].id + "\n"), std::string::npos);
  // A writer died mid-line.
  std::ofstream(dir.file("sweep/.sweep.index"), std::ios::app) << "d " << plan.runs[5].id.substr(0, 7);
  EXPECT_EQ(ledger.claim_next(0).run, 5u);  // not taken for done
  EXPECT_EQ(index_text(dir).back(), '\n');
  // Gone, then of another plan: rebuilt, the done runs still done.
  std::remove(dir.file("sweep/.sweep.index").c_str());
  Ledger other(dir.file("sweep"), plan, {});
  Pick p = other.claim_next(0);
  EXPECT_EQ(p.counts.done, 2);
  std::ofstream(dir.file("sweep/.sweep.index"), std::ios::trunc) << "acm-sweep-index 1 0123456789abcdef\nd " << plan.runs[2].id << "\n";
  Ledger third(dir.file("sweep"), plan, {});
  p = third.claim_next(0);
  EXPECT_EQ(p.counts.done, 2) << "an index of another plan was trusted";
  EXPECT_EQ(index_text(dir).find("d " + plan.runs[2].id), std::string::npos);
}

// --retry-failed moves failed results aside: the index, which listed them failed, is rebuilt and the run is
// claimed again.
TEST(Ledger, RetryFailedRebuildsTheIndex) {
  testing::TempDir dir;
  const Sweep plan = plan_of(3);
  {
    Ledger ledger(dir.file("sweep"), plan, {});
    ledger.open();
    write_result(ledger, plan, 0, "failed");
    write_result(ledger, plan, 1, "completed");
    write_result(ledger, plan, 2, "completed");
    EXPECT_EQ(ledger.claim_next(0).kind, Pick::kDone);
  }
  LedgerOptions o;
  o.retry_failed = true;
  Ledger again(dir.file("sweep"), plan, o);
  again.open();
  const Pick p = again.claim_next(0);
  ASSERT_EQ(p.kind, Pick::kRun);
  EXPECT_EQ(p.run, 0u);
}

}  // namespace
}  // namespace acm::sweeps
