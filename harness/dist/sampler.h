// The distributed sampler: which samples each rank trains on at each step of an epoch.
//
// The global order of an epoch (data::epoch_order: a function of the seed and the epoch only) is cut into
// global batches of `global_batch` samples; rank r takes the r-th of `size` equal consecutive slices of each.
// So the samples of a step, taken over all ranks in rank order, are the same whatever the number of ranks;
// only the pairing of mixing methods (drawn inside each rank's local batch) depends on it. A final incomplete
// global batch is dropped, or padded with samples from the start of the order, the same way on every rank.
#pragma once

#include <cstdint>
#include <vector>

namespace acm::dist {

struct ShardOptions {
  std::int64_t global_batch = 128;  // must be divisible by the number of ranks
  bool drop_last = true;            // false: pad the last global batch from the start of the order
};

// Global batches of an epoch over `n` samples.
std::int64_t global_steps(std::int64_t n, const ShardOptions& o);
// Rank `rank`'s sample ids for the whole epoch, step after step (global_steps × global_batch/size ids).
// std::invalid_argument when global_batch is not a positive multiple of size, or rank is outside 0..size-1.
std::vector<std::int64_t> shard_epoch(const std::vector<std::int64_t>& order, const ShardOptions& o, int rank,
                                      int size);

}  // namespace acm::dist
