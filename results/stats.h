// Statistics over seeds for citing: mean, sample standard deviation, the 95 % confidence interval of a mean
// (Student's t), Welch's t-test with the confidence interval of the difference, and Holm's adjustment of the
// p-values of a family of comparisons. Checked against scipy and statsmodels (tests/results).
#pragma once

#include <vector>

namespace acm::results {

double mean(const std::vector<double>& v);
// Sample standard deviation (n − 1 in the denominator, as numpy's std(ddof=1)); NaN for fewer than 2 values.
double sample_std(const std::vector<double>& v);

struct Interval {
  double low = 0, high = 0;  // NaN when undefined
};

// The `level` (e.g. 0.95) confidence interval of the mean: mean ± t_{n−1} · s/√n, as
// scipy.stats.t.interval(level, n − 1, mean, sem). NaN bounds for fewer than 2 values.
Interval mean_confidence_interval(const std::vector<double>& v, double level = 0.95);

struct WelchResult {
  double t = 0;   // (mean(a) − mean(b)) / sqrt(var(a)/n_a + var(b)/n_b)
  double df = 0;  // Welch–Satterthwaite degrees of freedom
  double p = 0;   // two-sided p-value; NaN when either side has < 2 values or both have no spread
  Interval ci;    // confidence interval of mean(a) − mean(b) at the level asked for (Welch's df)
};

// Welch's unequal-variance t-test, as scipy.stats.ttest_ind(a, b, equal_var=False) and its
// confidence_interval(level).
WelchResult welch_t_test(const std::vector<double>& a, const std::vector<double>& b, double level = 0.95);

// Holm's step-down adjustment of a family of p-values, as statsmodels' multipletests(p, method="holm"):
// sorted ascending, p_(i) becomes max_{j ≤ i} min(1, (m − j + 1) · p_(j)). NaN entries are not part of the
// family (m counts the others) and stay NaN. Returned in the input's order.
std::vector<double> holm_adjust(const std::vector<double>& p);

// The regularised incomplete beta function I_x(a, b) (continued fraction, Numerical Recipes §6.4).
double incomplete_beta(double a, double b, double x);
// P(|T| ≥ |t|) for Student's t with `df` degrees of freedom.
double student_t_two_sided_p(double t, double df);
// P(T ≤ t), and its inverse (scipy.stats.t.cdf / t.ppf) for 0 < p < 1.
double student_t_cdf(double t, double df);
double student_t_quantile(double p, double df);

}  // namespace acm::results
