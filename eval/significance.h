// Paired significance tests over per-user metric values (EvalResult::per_user) of two
// models evaluated on the same users, and multiple-comparison correction.
//
// Every test takes a[i], b[i] = the two models' values for user i (same order, same users).
// A pair in which either value is NaN (an undefined per-user value, e.g. auc of a user
// without unmasked positives) is left out and counted in `dropped_undefined`.
// Differences are a - b: a positive mean difference means model a scores higher.
// All functions are pure and thread-safe; the bootstrap is seeded.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace recfuse::eval {

// Regularized incomplete beta I_x(a, b), a, b > 0, x in [0, 1] (continued fraction of
// Numerical Recipes §6.4 with the modified Lentz method, to ~1e-15 relative).
double RegularizedIncompleteBeta(double a, double b, double x);
// P(T <= t) for Student's t with df > 0 degrees of freedom.
double StudentTCdf(double t, double df);
// Φ(z), the standard normal CDF.
double NormalCdf(double z);

struct TTestResult {
  double t = 0;
  double df = 0;
  double p_value = 1;  // two-sided
  double mean_difference = 0;
  int64_t n = 0;
  int64_t dropped_undefined = 0;
};
// Paired t-test (scipy.stats.ttest_rel): t = mean(d) / (sd(d) / sqrt(n)), sd with n - 1,
// df = n - 1, p = 2 P(T > |t|). Needs n >= 2 defined pairs (else framework::Error). When
// every difference is equal: p = 1 (t = NaN) if they are all 0, p = 0 (t = ±inf) otherwise
// (scipy returns NaN for both).
TTestResult PairedTTest(std::span<const double> a, std::span<const double> b);

struct WilcoxonResult {
  double statistic = 0;  // min(W+, W-), as scipy.stats.wilcoxon reports for two-sided
  double w_plus = 0;     // sum of the ranks of positive differences
  double w_minus = 0;
  int64_t n = 0;      // non-zero differences used
  int64_t zeros = 0;  // zero differences dropped (Wilcoxon's original "wilcox" method)
  int64_t dropped_undefined = 0;
  bool exact = false;  // exact null distribution (n <= 25) vs normal approximation
  double z = 0;        // normal approximation only
  double p_value = 1;  // two-sided
};
// Wilcoxon signed-rank test. Zero differences are dropped; |d| ties get average ranks.
// n <= 25: exact null distribution of W+ given these ranks (all 2^n sign patterns,
// computed by dynamic programming over doubled ranks, so it stays exact with ties; scipy
// falls back to the normal approximation when there are ties), p = min(1, 2 min(P(W+ <= w),
// P(W+ >= w))). n > 25: normal approximation with mean n(n+1)/4, variance
// n(n+1)(2n+1)/24 - Σ(t³ - t)/48 over tie groups, and continuity correction:
// z = max(0, |W+ - mean| - 0.5) / sd, p = 2 (1 - Φ(z)). n = 0 gives p = 1.
WilcoxonResult WilcoxonSignedRank(std::span<const double> a, std::span<const double> b);

struct BootstrapCi {
  double mean_difference = 0;  // mean(a - b) on the data
  double lower = 0;
  double upper = 0;
  double confidence = 0.95;
  int resamples = 0;
  int64_t n = 0;
  int64_t dropped_undefined = 0;
};
// Paired bootstrap of the mean difference: `resamples` resamples of the n pairs with
// replacement drawn by framework::Rng(seed), percentile interval at `confidence` with
// linear interpolation between order statistics (numpy.percentile's default). Needs
// n >= 1, resamples >= 1, 0 < confidence < 1.
BootstrapCi PairedBootstrap(std::span<const double> a, std::span<const double> b,
                            int resamples = 10000, double confidence = 0.95, uint64_t seed = 0);

// Holm-Bonferroni adjusted p-values, in the input order: with p sorted ascending
// p_(1) <= ... <= p_(m) (ties by input position), adj_(j) = min(1, max_{i<=j} (m-i+1) p_(i)).
// Reject hypothesis j at level α iff adj_j <= α. Monotone in p. p-values must lie in [0, 1].
std::vector<double> HolmBonferroni(std::span<const double> p_values);

}  // namespace recfuse::eval
