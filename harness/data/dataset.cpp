#include "harness/data/dataset.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "harness/data/error.h"
#include "harness/data/keyed_rng.h"

namespace acm::data {

ChannelStats channel_stats(const Dataset& ds) {
  ChannelStats st;
  const std::int64_t plane = ds.height * ds.width;
  std::vector<std::int64_t> ids;
  const std::int64_t n_ids = ds.in_memory() ? ds.size() : std::min(ds.size(), kLazyStatsImages);
  for (std::int64_t j = 0; j < n_ids; ++j) ids.push_back(ds.in_memory() ? j : j * ds.size() / n_ids);
  std::vector<std::uint64_t> sum(static_cast<std::size_t>(ds.channels), 0), sum_sq(sum);
  std::vector<std::uint8_t> buffer(static_cast<std::size_t>(ds.in_memory() ? 0 : ds.image_bytes()));
  for (std::int64_t i : ids) {
    const std::uint8_t* img = ds.read_image(i, buffer.data());
    for (std::int64_t c = 0; c < ds.channels; ++c) {
      const std::uint8_t* p = img + c * plane;
      std::uint64_t s = 0, s2 = 0;
      for (std::int64_t k = 0; k < plane; ++k) {
        s += p[k];
        s2 += static_cast<std::uint64_t>(p[k]) * p[k];
      }
      sum[static_cast<std::size_t>(c)] += s;
      sum_sq[static_cast<std::size_t>(c)] += s2;
    }
  }
  for (std::int64_t c = 0; c < ds.channels; ++c) {
    const double n = static_cast<double>(plane) * static_cast<double>(std::max<std::int64_t>(n_ids, 1));
    const double mean = static_cast<double>(sum[static_cast<std::size_t>(c)]) / n / 255.0;
    const double var = static_cast<double>(sum_sq[static_cast<std::size_t>(c)]) / n / (255.0 * 255.0) - mean * mean;
    st.mean.push_back(mean);
    st.std.push_back(std::sqrt(std::max(var, 0.0)));
  }
  return st;
}

std::vector<std::int64_t> label_histogram(const Dataset& ds) {
  std::vector<std::int64_t> h(static_cast<std::size_t>(ds.num_classes), 0);
  for (std::int64_t y : ds.labels) ++h[static_cast<std::size_t>(y)];
  return h;
}

namespace {

Dataset take(const Dataset& ds, const std::vector<std::int64_t>& keep, const std::string& how) {
  Dataset out;
  out.name = ds.name;
  out.source = ds.source + " [" + how + "]";
  out.channels = ds.channels;
  out.height = ds.height;
  out.width = ds.width;
  out.num_classes = ds.num_classes;
  const std::int64_t b = ds.image_bytes();
  if (ds.in_memory()) out.images.resize(keep.size() * static_cast<std::size_t>(b));
  else out.lazy = ds.lazy->select(keep);
  out.labels.reserve(keep.size());
  for (std::size_t j = 0; j < keep.size(); ++j) {
    if (ds.in_memory()) std::copy_n(ds.image(keep[j]), b, out.images.data() + j * b);
    out.labels.push_back(ds.labels[static_cast<std::size_t>(keep[j])]);
  }
  return out;
}

}  // namespace

Dataset subset_first(const Dataset& ds, std::int64_t k) {
  if (k <= 0) throw DataError(ds.name + ": subset size must be positive, got " + std::to_string(k));
  if (k > ds.size()) {
    throw DataError(ds.name + ": subset of the first " + std::to_string(k) +
                    " samples asked, but it has only " + std::to_string(ds.size()));
  }
  std::vector<std::int64_t> keep(static_cast<std::size_t>(k));
  std::iota(keep.begin(), keep.end(), 0);
  return take(ds, keep, "first " + std::to_string(k));
}

Dataset subset_per_class(const Dataset& ds, std::int64_t per_class, std::uint64_t seed) {
  if (per_class <= 0) {
    throw DataError(ds.name + ": per-class subset size must be positive, got " + std::to_string(per_class));
  }
  std::vector<std::vector<std::int64_t>> by_class(static_cast<std::size_t>(ds.num_classes));
  for (std::int64_t i = 0; i < ds.size(); ++i) by_class[static_cast<std::size_t>(ds.labels[i])].push_back(i);
  std::vector<std::int64_t> keep;
  for (std::size_t c = 0; c < by_class.size(); ++c) {
    auto& idx = by_class[c];
    if (static_cast<std::int64_t>(idx.size()) < per_class) {
      throw DataError(ds.name + ": per-class subset of " + std::to_string(per_class) + " asked, but class " +
                      std::to_string(c) + " has only " + std::to_string(idx.size()) + " samples");
    }
    // Partial Fisher–Yates with a generator keyed on (seed, class): the draw for one class does not depend
    // on the others.
    KeyedRng rng(seed, 0, c, Stream::kSubset);
    for (std::int64_t j = 0; j < per_class; ++j) {
      const std::int64_t r = j + rng.below(static_cast<std::int64_t>(idx.size()) - j);
      std::swap(idx[static_cast<std::size_t>(j)], idx[static_cast<std::size_t>(r)]);
    }
    keep.insert(keep.end(), idx.begin(), idx.begin() + per_class);
  }
  std::sort(keep.begin(), keep.end());
  return take(ds, keep, std::to_string(per_class) + " per class, seed " + std::to_string(seed));
}

}  // namespace acm::data
