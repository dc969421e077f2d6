#include "eval/significance.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "framework/error.h"
#include "framework/rng.h"

namespace recfuse::eval {
namespace {

// Reference values below were computed with mpmath (betainc, 30 digits) and by brute-force
// enumeration of all 2^n sign patterns in python; scipy is not installed here.

TEST(Significance, IncompleteBetaClosedForms) {
  // I_x(a,b) for integer a,b = Σ_{j=a}^{a+b-1} C(a+b-1, j) x^j (1-x)^{a+b-1-j}:
  // I_0.5(2,3) = (6 + 4 + 1) / 16.
  EXPECT_NEAR(RegularizedIncompleteBeta(2, 3, 0.5), 11.0 / 16.0, 1e-14);
  // I_x(1,1) = x; I_x(a,1) = x^a.
  EXPECT_NEAR(RegularizedIncompleteBeta(1, 1, 0.3), 0.3, 1e-14);
  EXPECT_NEAR(RegularizedIncompleteBeta(3.5, 1, 0.8), std::pow(0.8, 3.5), 1e-14);
  EXPECT_EQ(RegularizedIncompleteBeta(2, 3, 0), 0.0);
  EXPECT_EQ(RegularizedIncompleteBeta(2, 3, 1), 1.0);
  EXPECT_THROW(RegularizedIncompleteBeta(0, 1, 0.5), framework::Error);
}

TEST(Significance, StudentTKnownValues) {
  // Two-sided p for t = 2, df = 10 is 0.0733880347707404 (mpmath).
  EXPECT_NEAR(2 * (1 - StudentTCdf(2.0, 10)), 0.0733880347707404, 1e-13);
  // df = 1 is Cauchy: P(T <= 1) = 3/4.
  EXPECT_NEAR(StudentTCdf(1.0, 1), 0.75, 1e-14);
  EXPECT_NEAR(StudentTCdf(0.0, 7), 0.5, 1e-15);
  // Non-integer df: P(T <= 1.3), df 3.5 = 0.8637022920978148 (mpmath).
  EXPECT_NEAR(StudentTCdf(1.3, 3.5), 0.8637022920978148, 1e-13);
  EXPECT_NEAR(StudentTCdf(-1.3, 3.5), 1 - 0.8637022920978148, 1e-13);
  EXPECT_NEAR(NormalCdf(1.959963984540054), 0.975, 1e-14);
}

TEST(Significance, PairedTTest) {
  const std::vector<double> a = {0.42, 0.51, 0.38, 0.60, 0.47, 0.55, 0.49, 0.44};
  const std::vector<double> b = {0.40, 0.45, 0.39, 0.52, 0.41, 0.50, 0.50, 0.40};
  // d = [.02,.06,-.01,.08,.06,.05,-.01,.04], mean .03625, sd .033354..., t = 3.073993852018443,
  // df 7, p = 0.017966359870801238 (mpmath, same as scipy.stats.ttest_rel).
  const TTestResult r = PairedTTest(a, b);
  EXPECT_NEAR(r.t, 3.073993852018443, 1e-10);
  EXPECT_EQ(r.df, 7);
  EXPECT_NEAR(r.p_value, 0.017966359870801238, 1e-12);
  EXPECT_NEAR(r.mean_difference, 0.03625, 1e-15);
  // Swapping the models flips t, keeps p.
  const TTestResult s = PairedTTest(b, a);
  EXPECT_NEAR(s.t, -r.t, 1e-12);
  EXPECT_NEAR(s.p_value, r.p_value, 1e-15);
}

TEST(Significance, TTestEdgeCasesAndUndefinedPairs) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const TTestResult same = PairedTTest(std::vector<double>{1, 2, 3}, std::vector<double>{1, 2, 3});
  EXPECT_EQ(same.p_value, 1.0);
  const TTestResult shifted =
      PairedTTest(std::vector<double>{2, 3, 4}, std::vector<double>{1, 2, 3});
  EXPECT_EQ(shifted.p_value, 0.0);
  EXPECT_TRUE(std::isinf(shifted.t));
  const TTestResult dropped =
      PairedTTest(std::vector<double>{1, nan, 3, 5}, std::vector<double>{0, 1, 1, 2});
  EXPECT_EQ(dropped.n, 3);
  EXPECT_EQ(dropped.dropped_undefined, 1);
  EXPECT_THROW(PairedTTest(std::vector<double>{1}, std::vector<double>{0}), framework::Error);
  EXPECT_THROW(PairedTTest(std::vector<double>{1, 2}, std::vector<double>{0}), framework::Error);
}

TEST(Significance, WilcoxonScipyDocumentedExample) {
  // scipy.stats.wilcoxon docs: differences in height of cross- vs self-fertilised plants;
  // statistic 24, exact two-sided p = 0.041259765625.
  const std::vector<double> d = {6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75};
  const std::vector<double> zero(d.size(), 0.0);
  const WilcoxonResult r = WilcoxonSignedRank(d, zero);
  EXPECT_TRUE(r.exact);
  EXPECT_EQ(r.n, 15);
  EXPECT_EQ(r.statistic, 24);
  EXPECT_EQ(r.w_plus, 96);
  EXPECT_NEAR(r.p_value, 0.041259765625, 1e-15);
}

TEST(Significance, WilcoxonExactWithTiesAndZeros) {
  // d = [1,-1,2,2,-3,3,4,5,-2,6, 0, 0]: zeros dropped; |d| ranks with ties averaged:
  // |1|x2 -> 1.5, |2|x3 -> 4, |3|x2 -> 6.5, 4 -> 8, 5 -> 9, 6 -> 10.
  // W+ = 1.5 + 4 + 4 + 6.5 + 8 + 9 + 10 = 43, W- = 12; exact p over all 2^10 sign patterns
  // of these ranks = 0.134765625 (python enumeration).
  const std::vector<double> a = {1, -1, 2, 2, -3, 3, 4, 5, -2, 6, 0, 0};
  const std::vector<double> b(a.size(), 0.0);
  const WilcoxonResult r = WilcoxonSignedRank(a, b);
  EXPECT_TRUE(r.exact);
  EXPECT_EQ(r.n, 10);
  EXPECT_EQ(r.zeros, 2);
  EXPECT_EQ(r.w_plus, 43);
  EXPECT_EQ(r.w_minus, 12);
  EXPECT_EQ(r.statistic, 12);
  EXPECT_NEAR(r.p_value, 0.134765625, 1e-15);
  // All-zero differences: nothing to test.
  const WilcoxonResult none = WilcoxonSignedRank(b, b);
  EXPECT_EQ(none.n, 0);
  EXPECT_EQ(none.p_value, 1.0);
}

TEST(Significance, WilcoxonNormalApproximation) {
  // n = 30 non-zero differences with ties. By hand (python): W+ = 343.5, mean 232.5,
  // var = 30*31*61/24 - Σ(t^3-t)/48 = 2363.75 - 1626/48 (tie groups of 7, 9, 8, 4, 2),
  // z = (|343.5-232.5| - 0.5) / sd = 2.2892644667919546, p = 0.022063990935367928.
  std::vector<double> d;
  for (int i = 0; i < 30; ++i) d.push_back(i % 3 ? (i % 7) - 2.5 : (i % 5) + 0.5);
  const std::vector<double> zero(d.size(), 0.0);
  const WilcoxonResult r = WilcoxonSignedRank(d, zero);
  EXPECT_FALSE(r.exact);
  EXPECT_EQ(r.n, 30);
  EXPECT_EQ(r.w_plus, 343.5);
  EXPECT_NEAR(r.z, 2.2892644667919546, 1e-12);
  EXPECT_NEAR(r.p_value, 0.022063990935367928, 1e-12);
}

TEST(Significance, BootstrapIsSeededAndSane) {
  framework::Rng rng(5);
  std::vector<double> a(400), b(400);
  for (size_t i = 0; i < a.size(); ++i) {
    b[i] = rng.Uniform();
    a[i] = b[i] + 0.1 + 0.2 * rng.Normal();
  }
  const BootstrapCi x = PairedBootstrap(a, b, 2000, 0.95, 1);
  const BootstrapCi y = PairedBootstrap(a, b, 2000, 0.95, 1);
  const BootstrapCi z = PairedBootstrap(a, b, 2000, 0.95, 2);
  EXPECT_EQ(x.lower, y.lower);
  EXPECT_EQ(x.upper, y.upper);
  EXPECT_NE(x.lower, z.lower);
  EXPECT_LT(x.lower, x.mean_difference);
  EXPECT_GT(x.upper, x.mean_difference);
  // Width close to the normal theory 2 * 1.96 * sd(d) / sqrt(n).
  double mean = 0, ss = 0;
  for (size_t i = 0; i < a.size(); ++i) mean += (a[i] - b[i]) / a.size();
  for (size_t i = 0; i < a.size(); ++i) ss += std::pow(a[i] - b[i] - mean, 2);
  const double theory = 2 * 1.959964 * std::sqrt(ss / (a.size() - 1)) / std::sqrt(a.size());
  EXPECT_NEAR((x.upper - x.lower) / theory, 1.0, 0.1);
  EXPECT_NEAR(x.mean_difference, mean, 1e-12);
  // Constant differences: a degenerate interval at the difference.
  const BootstrapCi c = PairedBootstrap(std::vector<double>{3, 4, 5}, std::vector<double>{1, 2, 3});
  EXPECT_EQ(c.lower, 2.0);
  EXPECT_EQ(c.upper, 2.0);
  EXPECT_THROW(PairedBootstrap(a, b, 0), framework::ConfigError);
}

TEST(Significance, HolmBonferroniByHand) {
  // Sorted: .005 (#3) x4 = .02; .01 (#0) x3 = .03; .03 (#2) x2 = .06; .04 (#1) x1 = .04 ->
  // running max keeps .06.
  const std::vector<double> p = {0.01, 0.04, 0.03, 0.005};
  const std::vector<double> adj = HolmBonferroni(p);
  ASSERT_EQ(adj.size(), 4u);
  EXPECT_NEAR(adj[0], 0.03, 1e-15);
  EXPECT_NEAR(adj[1], 0.06, 1e-15);
  EXPECT_NEAR(adj[2], 0.06, 1e-15);
  EXPECT_NEAR(adj[3], 0.02, 1e-15);
  // Capped at 1, and never below the raw p-value.
  const std::vector<double> big = HolmBonferroni(std::vector<double>{0.5, 0.6});
  EXPECT_EQ(big[0], 1.0);
  EXPECT_EQ(big[1], 1.0);
  EXPECT_TRUE(HolmBonferroni(std::vector<double>{}).empty());
  EXPECT_THROW(HolmBonferroni(std::vector<double>{1.5}), framework::Error);
}

}  // namespace
}  // namespace recfuse::eval
