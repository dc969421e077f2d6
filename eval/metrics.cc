#include "eval/metrics.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <numeric>

#include "framework/error.h"

namespace recfuse::eval {

const std::vector<MetricDef>& MetricRegistry() {
  // The direction (second field) is the one place the report and the LaTeX table learn
  // which value is "best"; each is checked against the formula below it in this file:
  //   accuracy metrics (recall .. auc): more hits / better ordering -> higher is better;
  //   itemcoverage: share of the catalogue recommended to someone -> higher is better;
  //   gini: 0 = every item recommended equally often, -> 1 = all on one item (GiniAt), so a
  //     higher value is LESS diverse -> lower is better;
  //   tailpercentage, novelty: more long-tail / less popular items -> higher is better;
  //   rmse, mae: rating errors -> lower is better.
  static const std::vector<MetricDef> kMetrics = {
      {"recall", true, MetricScope::kUserAtK, "|L@K ∩ T| / |T|"},
      {"precision", true, MetricScope::kUserAtK, "|L@K ∩ T| / K"},
      {"ndcg", true, MetricScope::kUserAtK, "DCG@K / IDCG@K, binary relevance, log2(rank+1)"},
      {"mrr", true, MetricScope::kUserAtK, "1 / rank of the first hit within K (0 if none)"},
      {"hit", true, MetricScope::kUserAtK, "1 if any of L@K is in T"},
      {"map", true, MetricScope::kUserAtK, "Σ_{r≤K} P@r·rel_r / min(|T|, K)"},
      {"auc", true, MetricScope::kUserFullRow,
       "per-user fraction of (test, unmasked non-test) pairs ordered correctly, ties 1/2"},
      {"itemcoverage", true, MetricScope::kGlobalAtK, "|∪ L_u@K| / |items|"},
      {"gini", false, MetricScope::kGlobalAtK,
       "Gini index of item recommendation counts over all items (0 = equal, lower = more diverse)"},
      {"tailpercentage", true, MetricScope::kUserListAtK,
       "share of L@K in the long tail (bottom 20% of train interactions)"},
      {"novelty", true, MetricScope::kUserListAtK, "mean of -log2(train pop / #users) over L@K"},
      {"rmse", false, MetricScope::kRating,
       "sqrt(mean (predicted - true rating)^2) over test rows"},
      {"mae", false, MetricScope::kRating, "mean |predicted - true rating| over test rows"},
  };
  return kMetrics;
}

const MetricDef& FindMetric(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const auto& m : MetricRegistry())
    if (m.name == lower) return m;
  std::string known;
  for (const auto& m : MetricRegistry()) known += (known.empty() ? "" : ", ") + m.name;
  throw framework::ConfigError("unknown metric '" + std::string(name) +
                               "'; known metrics: " + known);
}

std::vector<std::string> DefaultMetrics() {
  return {"recall",       "precision", "ndcg",           "mrr",    "hit", "map",
          "itemcoverage", "gini",      "tailpercentage", "novelty"};
}

namespace {

size_t Cut(std::span<const uint8_t> hits, int k) {
  RF_CHECK(k > 0, "K must be > 0");
  return std::min(hits.size(), static_cast<size_t>(k));
}

int64_t CountHits(std::span<const uint8_t> hits, int k) {
  const size_t n = Cut(hits, k);
  int64_t c = 0;
  for (size_t r = 0; r < n; ++r) c += hits[r] != 0;
  return c;
}

}  // namespace

double HitAt(std::span<const uint8_t> hits, int k) { return CountHits(hits, k) > 0 ? 1.0 : 0.0; }

double PrecisionAt(std::span<const uint8_t> hits, int k) {
  return static_cast<double>(CountHits(hits, k)) / k;
}

double RecallAt(std::span<const uint8_t> hits, int k, int64_t num_relevant) {
  RF_CHECK(num_relevant > 0, "recall needs at least one relevant item");
  return static_cast<double>(CountHits(hits, k)) / static_cast<double>(num_relevant);
}

double NdcgAt(std::span<const uint8_t> hits, int k, int64_t num_relevant) {
  RF_CHECK(num_relevant > 0, "ndcg needs at least one relevant item");
  const size_t n = Cut(hits, k);
  double dcg = 0;
  for (size_t r = 0; r < n; ++r)
    if (hits[r]) dcg += 1.0 / std::log2(static_cast<double>(r) + 2.0);
  const int64_t ideal = std::min<int64_t>(num_relevant, k);
  double idcg = 0;
  for (int64_t r = 0; r < ideal; ++r) idcg += 1.0 / std::log2(static_cast<double>(r) + 2.0);
  return dcg / idcg;
}

double MrrAt(std::span<const uint8_t> hits, int k) {
  const size_t n = Cut(hits, k);
  for (size_t r = 0; r < n; ++r)
    if (hits[r]) return 1.0 / static_cast<double>(r + 1);
  return 0.0;
}

double MapAt(std::span<const uint8_t> hits, int k, int64_t num_relevant) {
  RF_CHECK(num_relevant > 0, "map needs at least one relevant item");
  const size_t n = Cut(hits, k);
  double sum = 0;
  int64_t found = 0;
  for (size_t r = 0; r < n; ++r) {
    if (!hits[r]) continue;
    ++found;
    sum += static_cast<double>(found) / static_cast<double>(r + 1);
  }
  return sum / static_cast<double>(std::min<int64_t>(num_relevant, k));
}

double UserMetricAt(std::string_view name, std::span<const uint8_t> hits, int k,
                    int64_t num_relevant) {
  if (name == "recall") return RecallAt(hits, k, num_relevant);
  if (name == "precision") return PrecisionAt(hits, k);
  if (name == "ndcg") return NdcgAt(hits, k, num_relevant);
  if (name == "mrr") return MrrAt(hits, k);
  if (name == "hit") return HitAt(hits, k);
  if (name == "map") return MapAt(hits, k, num_relevant);
  throw framework::ConfigError("'" + std::string(name) + "' is not a per-user ranking metric at K");
}

namespace {

// Adds #{x < s} and #{x == s} over xs. Eight independent lanes with a fixed inner trip
// count, a shape GCC/Clang vectorise at -O2.
void CountBelowAndEqual(std::span<const float> xs, float s, int64_t* below, int64_t* equal) {
  int32_t b[8] = {0}, e[8] = {0};
  const float* x = xs.data();
  const size_t n = xs.size();
  size_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int l = 0; l < 8; ++l) {
      b[l] += x[j + l] < s;
      e[l] += x[j + l] == s;
    }
  int64_t bs = 0, es = 0;
  for (int l = 0; l < 8; ++l) {
    bs += b[l];
    es += e[l];
  }
  for (; j < n; ++j) {
    bs += x[j] < s;
    es += x[j] == s;
  }
  *below += bs;
  *equal += es;
}

}  // namespace

double Auc(std::span<const float> positive_scores, std::span<const float> negative_scores,
           std::vector<float>* scratch) {
  if (positive_scores.empty() || negative_scores.empty())
    return std::numeric_limits<double>::quiet_NaN();
  // Twice the number of correctly ordered pairs, so that ties (worth 1/2) stay integers and
  // every strategy below gives the same count.
  std::vector<float> local;
  std::vector<float>& sorted = scratch ? *scratch : local;
  int64_t correct2 = 0;
  const size_t small = std::min(positive_scores.size(), negative_scores.size());
  if (small <= 32) {
    // A few test items against thousands of negatives (the usual case): branch-free counting
    // loops over the long side, which the compiler vectorises; faster than binary searches.
    const bool pos_short = positive_scores.size() <= negative_scores.size();
    const auto shorter = pos_short ? positive_scores : negative_scores;
    const auto longer = pos_short ? negative_scores : positive_scores;
    int64_t above = 0, ties = 0;  // pairs where the short side's score is above / equal
    for (float s : shorter) CountBelowAndEqual(longer, s, &above, &ties);
    const int64_t pairs = static_cast<int64_t>(shorter.size() * longer.size());
    correct2 = pos_short ? 2 * above + ties : 2 * (pairs - above - ties) + ties;
  } else if (positive_scores.size() <= negative_scores.size()) {
    sorted.assign(positive_scores.begin(), positive_scores.end());
    std::sort(sorted.begin(), sorted.end());
    const int64_t n_pos = static_cast<int64_t>(sorted.size());
    for (float n : negative_scores) {
      const auto lo = std::lower_bound(sorted.begin(), sorted.end(), n);
      const auto hi = std::upper_bound(lo, sorted.end(), n);
      correct2 += 2 * (n_pos - (hi - sorted.begin())) + (hi - lo);  // p > n, then p == n
    }
  } else {
    sorted.assign(negative_scores.begin(), negative_scores.end());
    std::sort(sorted.begin(), sorted.end());
    for (float p : positive_scores) {
      const auto lo = std::lower_bound(sorted.begin(), sorted.end(), p);
      const auto hi = std::upper_bound(lo, sorted.end(), p);
      correct2 += 2 * (lo - sorted.begin()) + (hi - lo);  // n < p, then n == p
    }
  }
  const double pairs =
      static_cast<double>(positive_scores.size()) * static_cast<double>(negative_scores.size());
  return static_cast<double>(correct2) / (2.0 * pairs);
}

double AucOfRow(std::span<const float> row, std::span<const Index> positives,
                std::vector<float>* scratch) {
  std::vector<float> local;
  std::vector<float>& pos = scratch ? *scratch : local;
  pos.clear();
  for (Index i : positives)
    if (!std::isnan(row[static_cast<size_t>(i)])) pos.push_back(row[static_cast<size_t>(i)]);
  if (pos.empty()) return std::numeric_limits<double>::quiet_NaN();
  if (pos.size() > 32) {
    // Many positives: gather the negatives and count by sorting.
    std::vector<float> neg;
    size_t p = 0;
    for (size_t i = 0; i < row.size(); ++i) {
      const bool is_pos = p < positives.size() && static_cast<size_t>(positives[p]) == i;
      if (is_pos) ++p;
      if (!is_pos && !std::isnan(row[i])) neg.push_back(row[i]);
    }
    std::vector<float> sorted;
    return Auc(std::span<const float>(pos), neg, &sorted);
  }
  int64_t unmasked = 0;
  {
    int32_t lanes[8] = {0};
    size_t j = 0;
    for (; j + 8 <= row.size(); j += 8)
      for (int l = 0; l < 8; ++l) lanes[l] += row[j + l] == row[j + l];  // false for NaN
    for (int l = 0; l < 8; ++l) unmasked += lanes[l];
    for (; j < row.size(); ++j) unmasked += row[j] == row[j];
  }
  const int64_t n_pos = static_cast<int64_t>(pos.size());
  const int64_t n_neg = unmasked - n_pos;
  if (n_neg == 0) return std::numeric_limits<double>::quiet_NaN();
  // Count against the whole row, then take out the positive-vs-positive comparisons
  // (including each positive's tie with itself).
  int64_t below = 0, equal = 0;
  for (float s : pos) CountBelowAndEqual(row, s, &below, &equal);
  for (float s : pos)
    for (float q : pos) {
      below -= q < s;
      equal -= q == s;
    }
  return static_cast<double>(2 * below + equal) /
         (2.0 * static_cast<double>(n_pos) * static_cast<double>(n_neg));
}

ItemStats ComputeItemStats(const models::SpMat& train, double tail_share) {
  RF_CHECK(tail_share >= 0 && tail_share <= 1, "tail_share must lie in [0, 1]");
  ItemStats s;
  const Index n_items = static_cast<Index>(train.cols());
  s.num_users = train.rows();
  s.popularity.assign(static_cast<size_t>(n_items), 0);
  for (int64_t u = 0; u < train.outerSize(); ++u)
    for (models::SpMat::InnerIterator it(train, u); it; ++it) ++s.popularity[it.col()];
  s.total_interactions = std::accumulate(s.popularity.begin(), s.popularity.end(), int64_t{0});
  std::vector<Index> order(static_cast<size_t>(n_items));
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](Index a, Index b) {
    return s.popularity[a] != s.popularity[b] ? s.popularity[a] < s.popularity[b] : a < b;
  });
  s.is_tail.assign(static_cast<size_t>(n_items), 0);
  const double budget = tail_share * static_cast<double>(s.total_interactions);
  int64_t cumulative = 0;
  for (Index i : order) {
    cumulative += s.popularity[i];
    if (static_cast<double>(cumulative) > budget) break;
    s.is_tail[i] = 1;
  }
  return s;
}

double ItemCoverageAt(std::span<const std::vector<Index>> lists, int k, Index num_items) {
  RF_CHECK(k > 0, "K must be > 0");
  RF_CHECK(num_items > 0, "item coverage needs a non-empty catalogue");
  std::vector<uint8_t> seen(static_cast<size_t>(num_items), 0);
  int64_t distinct = 0;
  for (const auto& list : lists) {
    const size_t n = std::min(list.size(), static_cast<size_t>(k));
    for (size_t r = 0; r < n; ++r) {
      uint8_t& s = seen[static_cast<size_t>(list[r])];
      distinct += s == 0;
      s = 1;
    }
  }
  return static_cast<double>(distinct) / static_cast<double>(num_items);
}

double GiniAt(std::span<const std::vector<Index>> lists, int k, Index num_items) {
  RF_CHECK(k > 0, "K must be > 0");
  RF_CHECK(num_items > 0, "gini needs a non-empty catalogue");
  std::vector<int64_t> count(static_cast<size_t>(num_items), 0);
  int64_t total = 0;
  for (const auto& list : lists) {
    const size_t n = std::min(list.size(), static_cast<size_t>(k));
    for (size_t r = 0; r < n; ++r) ++count[static_cast<size_t>(list[r])];
    total += static_cast<int64_t>(n);
  }
  if (total == 0) return 0.0;
  std::sort(count.begin(), count.end());
  const double n = static_cast<double>(num_items);
  double sum = 0;
  for (size_t j = 0; j < count.size(); ++j)
    sum += (2.0 * static_cast<double>(j + 1) - n - 1.0) * static_cast<double>(count[j]);
  return sum / (n * static_cast<double>(total));
}

double TailShareAt(std::span<const Index> list, int k, const ItemStats& stats) {
  RF_CHECK(k > 0, "K must be > 0");
  const size_t n = std::min(list.size(), static_cast<size_t>(k));
  if (n == 0) return std::numeric_limits<double>::quiet_NaN();
  int64_t tail = 0;
  for (size_t r = 0; r < n; ++r) tail += stats.is_tail[static_cast<size_t>(list[r])] != 0;
  return static_cast<double>(tail) / static_cast<double>(n);
}

double NoveltyAt(std::span<const Index> list, int k, const ItemStats& stats) {
  RF_CHECK(k > 0, "K must be > 0");
  RF_CHECK(stats.num_users > 0, "novelty needs a non-empty user id space");
  const size_t n = std::min(list.size(), static_cast<size_t>(k));
  if (n == 0) return std::numeric_limits<double>::quiet_NaN();
  double sum = 0;
  for (size_t r = 0; r < n; ++r) {
    const int64_t pop = std::max<int64_t>(1, stats.popularity[static_cast<size_t>(list[r])]);
    sum -= std::log2(static_cast<double>(pop) / static_cast<double>(stats.num_users));
  }
  return sum / static_cast<double>(n);
}

}  // namespace recfuse::eval
