// The distributed sampler: a step's samples over all ranks do not depend on the number of ranks; uneven data
// set sizes are dropped or padded consistently.
#include <gtest/gtest.h>

#include <numeric>

#include "harness/dist/sampler.h"
#include "tests/expect_error.h"

namespace acm::dist {
namespace {

std::vector<std::int64_t> order_of(std::int64_t n) {
  std::vector<std::int64_t> o(static_cast<std::size_t>(n));
  std::iota(o.begin(), o.end(), 0);
  for (std::size_t i = 0; i < o.size(); ++i) std::swap(o[i], o[(i * 7919) % o.size()]);  // some permutation
  return o;
}

// The samples of step s over all ranks, in rank order.
std::vector<std::int64_t> step_over_ranks(const std::vector<std::int64_t>& order, const ShardOptions& o,
                                          int size, std::int64_t s) {
  std::vector<std::int64_t> out;
  const std::int64_t local = o.global_batch / size;
  for (int r = 0; r < size; ++r) {
    const auto ids = shard_epoch(order, o, r, size);
    out.insert(out.end(), ids.begin() + s * local, ids.begin() + (s + 1) * local);
  }
  return out;
}

TEST(DistributedSampler, StepsAreTheSameWhateverTheNumberOfRanks) {
  for (bool drop_last : {true, false}) {
    for (std::int64_t n : {60, 61, 100, 5}) {
      const auto order = order_of(n);
      ShardOptions o;
      o.global_batch = 12;
      o.drop_last = drop_last;
      const std::int64_t steps = global_steps(n, o);
      EXPECT_EQ(steps, drop_last ? n / 12 : (n + 11) / 12);
      for (std::int64_t s = 0; s < steps; ++s) {
        const auto one = step_over_ranks(order, o, 1, s);
        for (int size : {2, 3, 4, 6, 12}) {
          EXPECT_EQ(step_over_ranks(order, o, size, s), one) << n << " step " << s << " ranks " << size;
        }
        for (std::int64_t k = 0; k < 12; ++k) {
          const std::int64_t pos = s * 12 + k;
          EXPECT_EQ(one[static_cast<std::size_t>(k)], order[static_cast<std::size_t>(pos % n)]);
        }
      }
      for (int size : {1, 3, 6}) {
        EXPECT_EQ(static_cast<std::int64_t>(shard_epoch(order, o, size - 1, size).size()), steps * 12 / size);
      }
    }
  }
}

TEST(DistributedSampler, PaddingWrapsToTheStartAndDroppingLeavesNoPartialBatch) {
  const auto order = order_of(14);
  ShardOptions o;
  o.global_batch = 6;
  o.drop_last = false;
  // 3 global batches: the third holds samples 12, 13 and then 0..3 of the order.
  const auto last = step_over_ranks(order, o, 2, 2);
  EXPECT_EQ(last, (std::vector<std::int64_t>{order[12], order[13], order[0], order[1], order[2], order[3]}));
  o.drop_last = true;
  EXPECT_EQ(global_steps(14, o), 2);
}

TEST(DistributedSampler, RefusesABatchThatDoesNotSplitAndRanksOutOfRange) {
  const auto order = order_of(20);
  ShardOptions o;
  o.global_batch = 10;
  acm::testing::expect_error<std::invalid_argument>(
      [&] { shard_epoch(order, o, 0, 3); }, {"global batch (10)", "multiple of the number of ranks (3)"});
  acm::testing::expect_error<std::invalid_argument>([&] { shard_epoch(order, o, 2, 2); },
                                                    {"rank 2 outside 0..1"});
}

}  // namespace
}  // namespace acm::dist
