#include "results/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace acm::results {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Lentz's method for the continued fraction of I_x(a, b); converges fast for x < (a + 1) / (a + b + 2).
double beta_continued_fraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300, kEps = 1e-15;
  const double qab = a + b, qap = a + 1, qam = a - 1;
  double c = 1, d = 1 - qab * x / qap;
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1 / d;
  double h = d;
  for (int m = 1; m <= 10000; ++m) {
    const int m2 = 2 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    const double del = d * c;
    h *= del;
    if (std::fabs(del - 1) < kEps) return h;
  }
  throw std::runtime_error("incomplete beta: continued fraction did not converge");
}
}  // namespace

double mean(const std::vector<double>& v) {
  if (v.empty()) return kNaN;
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

double sample_std(const std::vector<double>& v) {
  if (v.size() < 2) return kNaN;
  const double m = mean(v);
  double ss = 0;
  for (double x : v) ss += (x - m) * (x - m);
  return std::sqrt(ss / static_cast<double>(v.size() - 1));
}

double incomplete_beta(double a, double b, double x) {
  if (!(x >= 0 && x <= 1)) throw std::invalid_argument("incomplete beta: x outside [0, 1]");
  if (x == 0 || x == 1) return x;
  const double front =
      std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x));
  // The fraction converges for x below the mean of the beta distribution; above it, use the symmetry
  // I_x(a, b) = 1 − I_{1−x}(b, a).
  if (x < (a + 1) / (a + b + 2)) return front * beta_continued_fraction(a, b, x) / a;
  return 1 - front * beta_continued_fraction(b, a, 1 - x) / b;
}

double student_t_two_sided_p(double t, double df) {
  if (std::isnan(t) || std::isnan(df) || df <= 0) return kNaN;
  if (std::isinf(t)) return 0;
  return incomplete_beta(df / 2, 0.5, df / (df + t * t));
}

double student_t_cdf(double t, double df) {
  if (std::isnan(t) || std::isnan(df) || df <= 0) return kNaN;
  if (std::isinf(t)) return t > 0 ? 1 : 0;
  const double tail = 0.5 * incomplete_beta(df / 2, 0.5, df / (df + t * t));  // P(T ≥ |t|)
  return t > 0 ? 1 - tail : tail;
}

double student_t_quantile(double p, double df) {
  if (!(p > 0 && p < 1) || !(df > 0)) return kNaN;
  if (p == 0.5) return 0;
  // Solve for the upper tail q = min(p, 1 − p) on t ≥ 0, where P(T ≥ t) falls from 1/2 to 0: bracket, then
  // bisect to the last representable step (about 60 halvings), so the result is exact to rounding.
  const double q = std::min(p, 1 - p);
  auto upper_tail = [&](double t) { return 0.5 * incomplete_beta(df / 2, 0.5, df / (df + t * t)); };
  double lo = 0, hi = 1;
  while (upper_tail(hi) > q) {
    lo = hi;
    hi *= 2;
    if (hi > 1e300) return p < 0.5 ? -hi : hi;
  }
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    if (mid <= lo || mid >= hi) break;
    (upper_tail(mid) > q ? lo : hi) = mid;
  }
  const double t = 0.5 * (lo + hi);
  return p < 0.5 ? -t : t;
}

Interval mean_confidence_interval(const std::vector<double>& v, double level) {
  if (v.size() < 2) return {kNaN, kNaN};
  const double n = static_cast<double>(v.size());
  const double half = student_t_quantile(0.5 + level / 2, n - 1) * sample_std(v) / std::sqrt(n);
  return {mean(v) - half, mean(v) + half};
}

WelchResult welch_t_test(const std::vector<double>& a, const std::vector<double>& b, double level) {
  WelchResult r{kNaN, kNaN, kNaN, {kNaN, kNaN}};
  if (a.size() < 2 || b.size() < 2) return r;
  const double na = static_cast<double>(a.size()), nb = static_cast<double>(b.size());
  const double va = std::pow(sample_std(a), 2) / na, vb = std::pow(sample_std(b), 2) / nb;
  if (va + vb == 0) return r;  // no spread on either side: the test is undefined (scipy gives NaN too)
  const double difference = mean(a) - mean(b), se = std::sqrt(va + vb);
  r.t = difference / se;
  r.df = (va + vb) * (va + vb) / (va * va / (na - 1) + vb * vb / (nb - 1));
  r.p = student_t_two_sided_p(r.t, r.df);
  const double half = student_t_quantile(0.5 + level / 2, r.df) * se;
  r.ci = {difference - half, difference + half};
  return r;
}

std::vector<double> holm_adjust(const std::vector<double>& p) {
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (!std::isnan(p[i])) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return p[a] < p[b]; });
  std::vector<double> adjusted(p.size(), kNaN);
  const double m = static_cast<double>(order.size());
  double running = 0;  // the step-down maximum keeps the adjusted values in the order of the raw ones
  for (std::size_t j = 0; j < order.size(); ++j) {
    running = std::max(running, std::min(1.0, (m - static_cast<double>(j)) * p[order[j]]));
    adjusted[order[j]] = running;
  }
  return adjusted;
}

}  // namespace acm::results
