#include "harness/dist/sampler.h"

#include <stdexcept>
#include <string>

namespace acm::dist {

std::int64_t global_steps(std::int64_t n, const ShardOptions& o) {
  if (o.global_batch < 1) throw std::invalid_argument("global batch must be >= 1");
  return o.drop_last ? n / o.global_batch : (n + o.global_batch - 1) / o.global_batch;
}

std::vector<std::int64_t> shard_epoch(const std::vector<std::int64_t>& order, const ShardOptions& o, int rank,
                                      int size) {
  if (size < 1 || rank < 0 || rank >= size) {
    throw std::invalid_argument("rank " + std::to_string(rank) + " outside 0.." + std::to_string(size - 1));
  }
  if (o.global_batch < 1 || o.global_batch % size != 0) {
    throw std::invalid_argument("the global batch (" + std::to_string(o.global_batch) +
                                ") must be a positive multiple of the number of ranks (" +
                                std::to_string(size) + ")");
  }
  const auto n = static_cast<std::int64_t>(order.size());
  const std::int64_t steps = global_steps(n, o), local = o.global_batch / size;
  std::vector<std::int64_t> ids;
  ids.reserve(static_cast<std::size_t>(steps * local));
  for (std::int64_t s = 0; s < steps; ++s) {
    for (std::int64_t k = 0; k < local; ++k) {
      const std::int64_t pos = s * o.global_batch + rank * local + k;
      ids.push_back(order[static_cast<std::size_t>(n > 0 ? pos % n : 0)]);  // pos >= n only when padding
    }
  }
  return ids;
}

}  // namespace acm::dist
