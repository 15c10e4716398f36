// Statistics over seeds: mean, sample standard deviation and Welch's t-test, so that a report can say whether
// the difference between two methods exceeds the seed-to-seed spread.
#pragma once

#include <vector>

namespace acm::results {

double mean(const std::vector<double>& v);
// Sample standard deviation (n − 1 in the denominator, as numpy's std(ddof=1)); NaN for fewer than 2 values.
double sample_std(const std::vector<double>& v);

struct WelchResult {
  double t = 0;   // (mean(a) − mean(b)) / sqrt(var(a)/n_a + var(b)/n_b)
  double df = 0;  // Welch–Satterthwaite degrees of freedom
  double p = 0;   // two-sided p-value; NaN when either side has < 2 values or both have no spread
};

// Welch's unequal-variance t-test, as scipy.stats.ttest_ind(a, b, equal_var=False).
WelchResult welch_t_test(const std::vector<double>& a, const std::vector<double>& b);

// The regularised incomplete beta function I_x(a, b) (continued fraction, Numerical Recipes §6.4).
double incomplete_beta(double a, double b, double x);
// P(|T| ≥ |t|) for Student's t with `df` degrees of freedom.
double student_t_two_sided_p(double t, double df);

}  // namespace acm::results
