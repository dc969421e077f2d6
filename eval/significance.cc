#include "eval/significance.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "framework/error.h"
#include "framework/rng.h"

namespace recfuse::eval {

namespace {

// Continued fraction for I_x(a, b), valid for x < (a + 1) / (a + b + 2) (NR 6.4).
double BetaContinuedFraction(double a, double b, double x) {
  constexpr int kMaxIter = 10000;
  constexpr double kEps = 1e-16;
  constexpr double kTiny = 1e-300;
  const double qab = a + b, qap = a + 1.0, qam = a - 1.0;
  double c = 1.0;
  double d = 1.0 - qab * x / qap;
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1.0 / d;
  double h = d;
  for (int m = 1; m <= kMaxIter; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1.0 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1.0 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    const double del = d * c;
    h *= del;
    if (std::fabs(del - 1.0) < kEps) return h;
  }
  throw framework::Error(
      "incomplete beta: continued fraction did not converge (a=" + std::to_string(a) +
      ", b=" + std::to_string(b) + ", x=" + std::to_string(x) + ")");
}

struct Pairs {
  std::vector<double> d;
  int64_t dropped = 0;
};

Pairs Differences(std::span<const double> a, std::span<const double> b) {
  if (a.size() != b.size())
    throw framework::Error("paired test needs equally long samples (got " +
                           std::to_string(a.size()) + " and " + std::to_string(b.size()) + ")");
  Pairs p;
  p.d.reserve(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) || std::isnan(b[i])) {
      ++p.dropped;
      continue;
    }
    p.d.push_back(a[i] - b[i]);
  }
  return p;
}

double Mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

}  // namespace

double RegularizedIncompleteBeta(double a, double b, double x) {
  if (!(a > 0) || !(b > 0)) throw framework::Error("incomplete beta needs a, b > 0");
  if (!(x >= 0 && x <= 1)) throw framework::Error("incomplete beta needs x in [0, 1]");
  if (x == 0 || x == 1) return x;
  const double log_front =
      std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  const double front = std::exp(log_front);
  // The continued fraction converges fast only on one side of the mean; use the symmetry
  // I_x(a, b) = 1 - I_{1-x}(b, a) on the other.
  if (x < (a + 1.0) / (a + b + 2.0)) return front * BetaContinuedFraction(a, b, x) / a;
  return 1.0 - front * BetaContinuedFraction(b, a, 1.0 - x) / b;
}

double StudentTCdf(double t, double df) {
  if (!(df > 0)) throw framework::Error("Student's t needs df > 0");
  if (std::isnan(t)) return std::numeric_limits<double>::quiet_NaN();
  if (std::isinf(t)) return t > 0 ? 1.0 : 0.0;
  // P(|T| > |t|) = I_{df/(df+t²)}(df/2, 1/2).
  const double tail = RegularizedIncompleteBeta(df / 2.0, 0.5, df / (df + t * t));
  return t > 0 ? 1.0 - tail / 2.0 : tail / 2.0;
}

double NormalCdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

TTestResult PairedTTest(std::span<const double> a, std::span<const double> b) {
  const Pairs p = Differences(a, b);
  TTestResult r;
  r.n = static_cast<int64_t>(p.d.size());
  r.dropped_undefined = p.dropped;
  if (r.n < 2) throw framework::Error("paired t-test needs at least 2 defined pairs");
  r.df = static_cast<double>(r.n - 1);
  r.mean_difference = Mean(p.d);
  double ss = 0;
  for (double x : p.d) ss += (x - r.mean_difference) * (x - r.mean_difference);
  const double sd = std::sqrt(ss / r.df);
  if (sd == 0) {
    if (r.mean_difference == 0) {
      r.t = std::numeric_limits<double>::quiet_NaN();
      r.p_value = 1.0;
    } else {
      r.t = std::copysign(std::numeric_limits<double>::infinity(), r.mean_difference);
      r.p_value = 0.0;
    }
    return r;
  }
  r.t = r.mean_difference / (sd / std::sqrt(static_cast<double>(r.n)));
  r.p_value = RegularizedIncompleteBeta(r.df / 2.0, 0.5, r.df / (r.df + r.t * r.t));
  return r;
}

WilcoxonResult WilcoxonSignedRank(std::span<const double> a, std::span<const double> b) {
  Pairs p = Differences(a, b);
  WilcoxonResult r;
  r.dropped_undefined = p.dropped;
  std::vector<double> d;
  d.reserve(p.d.size());
  for (double x : p.d) {
    if (x == 0) {
      ++r.zeros;
      continue;
    }
    d.push_back(x);
  }
  r.n = static_cast<int64_t>(d.size());
  if (r.n == 0) return r;  // nothing to test: p = 1

  // Average ranks of |d|, kept doubled (2 * rank) so they are integers even with ties.
  std::vector<size_t> order(d.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](size_t x, size_t y) { return std::fabs(d[x]) < std::fabs(d[y]); });
  std::vector<int64_t> rank2(d.size());
  double tie_term = 0;  // Σ (t³ - t) over tie groups
  for (size_t s = 0; s < order.size();) {
    size_t e = s + 1;
    while (e < order.size() && std::fabs(d[order[e]]) == std::fabs(d[order[s]])) ++e;
    // Ranks s+1 .. e average to (s+1+e)/2; doubled: s+1+e.
    for (size_t j = s; j < e; ++j) rank2[order[j]] = static_cast<int64_t>(s + 1 + e);
    const double t = static_cast<double>(e - s);
    tie_term += t * t * t - t;
    s = e;
  }
  int64_t w_plus2 = 0, total2 = 0;
  for (size_t i = 0; i < d.size(); ++i) {
    total2 += rank2[i];
    if (d[i] > 0) w_plus2 += rank2[i];
  }
  r.w_plus = static_cast<double>(w_plus2) / 2.0;
  r.w_minus = static_cast<double>(total2 - w_plus2) / 2.0;
  r.statistic = std::min(r.w_plus, r.w_minus);

  const double n = static_cast<double>(r.n);
  if (r.n <= 25) {
    r.exact = true;
    // count[s] = number of sign patterns whose positive doubled ranks sum to s. Counts go
    // up to 2^25, exact in a double.
    std::vector<double> count(static_cast<size_t>(total2) + 1, 0.0);
    count[0] = 1.0;
    int64_t reach = 0;
    for (int64_t r2 : rank2) {
      for (int64_t s = reach; s >= 0; --s)
        if (count[s] != 0) count[s + r2] += count[s];
      reach += r2;
    }
    double below = 0, above = 0, all = 0;
    for (int64_t s = 0; s <= total2; ++s) {
      all += count[s];
      if (s <= w_plus2) below += count[s];
      if (s >= w_plus2) above += count[s];
    }
    r.p_value = std::min(1.0, 2.0 * std::min(below, above) / all);
    return r;
  }
  const double mean = n * (n + 1.0) / 4.0;
  const double var = n * (n + 1.0) * (2.0 * n + 1.0) / 24.0 - tie_term / 48.0;
  r.z = std::max(0.0, std::fabs(r.w_plus - mean) - 0.5) / std::sqrt(var);
  r.p_value = std::min(1.0, 2.0 * (1.0 - NormalCdf(r.z)));
  return r;
}

BootstrapCi PairedBootstrap(std::span<const double> a, std::span<const double> b, int resamples,
                            double confidence, uint64_t seed) {
  if (resamples < 1) throw framework::ConfigError("bootstrap needs resamples >= 1");
  if (!(confidence > 0 && confidence < 1))
    throw framework::ConfigError("bootstrap confidence must lie in (0, 1)");
  const Pairs p = Differences(a, b);
  BootstrapCi ci;
  ci.n = static_cast<int64_t>(p.d.size());
  ci.dropped_undefined = p.dropped;
  ci.confidence = confidence;
  ci.resamples = resamples;
  if (ci.n == 0) throw framework::Error("bootstrap needs at least 1 defined pair");
  ci.mean_difference = Mean(p.d);
  framework::Rng rng(seed);
  std::vector<double> means(static_cast<size_t>(resamples));
  const uint64_t n = static_cast<uint64_t>(ci.n);
  for (auto& m : means) {
    double s = 0;
    for (uint64_t j = 0; j < n; ++j) s += p.d[rng.UniformInt(n)];
    m = s / static_cast<double>(n);
  }
  std::sort(means.begin(), means.end());
  auto quantile = [&](double q) {
    const double h = (static_cast<double>(means.size()) - 1.0) * q;
    const size_t lo = static_cast<size_t>(std::floor(h));
    const size_t hi = std::min(lo + 1, means.size() - 1);
    return means[lo] + (h - static_cast<double>(lo)) * (means[hi] - means[lo]);
  };
  const double alpha = 1.0 - confidence;
  ci.lower = quantile(alpha / 2.0);
  ci.upper = quantile(1.0 - alpha / 2.0);
  return ci;
}

std::vector<double> HolmBonferroni(std::span<const double> p_values) {
  const size_t m = p_values.size();
  for (size_t i = 0; i < m; ++i)
    if (!(p_values[i] >= 0 && p_values[i] <= 1))
      throw framework::Error("Holm-Bonferroni: p-value #" + std::to_string(i) + " = " +
                             std::to_string(p_values[i]) + " is not in [0, 1]");
  std::vector<size_t> order(m);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t x, size_t y) { return p_values[x] < p_values[y]; });
  std::vector<double> adjusted(m);
  double running = 0;
  for (size_t j = 0; j < m; ++j) {
    const double scaled = static_cast<double>(m - j) * p_values[order[j]];
    running = std::max(running, std::min(1.0, scaled));
    adjusted[order[j]] = running;
  }
  return adjusted;
}

}  // namespace recfuse::eval
