#include "eval/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "framework/error.h"
#include "framework/rng.h"
#include "tests/eval/fakes.h"

namespace recfuse::eval {
namespace {

constexpr double kTol = 1e-12;
const double kL3 = 1.0 / std::log2(3.0);  // 0.6309297535714575
const double kL5 = 1.0 / std::log2(5.0);  // 0.43067655807339306

// One user, ranked list with hits at ranks 2 and 4, |T| = 3.
const std::vector<uint8_t> kHits = {0, 1, 0, 1, 0};

TEST(Metrics, AtFiveByHand) {
  EXPECT_EQ(HitAt(kHits, 5), 1.0);
  EXPECT_NEAR(PrecisionAt(kHits, 5), 2.0 / 5.0, kTol);  // 2 hits / K
  EXPECT_NEAR(RecallAt(kHits, 5, 3), 2.0 / 3.0, kTol);  // 2 hits / |T|
  // DCG = 1/log2(3) + 1/log2(5); IDCG over min(3,5) = 3 ideal hits = 1 + 1/log2(3) + 1/2.
  EXPECT_NEAR(NdcgAt(kHits, 5, 3), (kL3 + kL5) / (1.0 + kL3 + 0.5), kTol);
  EXPECT_NEAR(MrrAt(kHits, 5), 0.5, kTol);  // first hit at rank 2
  // MAP = (P@2 + P@4) / min(3,5) = (1/2 + 2/4) / 3.
  EXPECT_NEAR(MapAt(kHits, 5, 3), 1.0 / 3.0, kTol);
}

TEST(Metrics, SmallerKReadsAPrefix) {
  // K=3: hits [0,1,0]. IDCG over min(3,3) = 3 ideal hits.
  EXPECT_NEAR(PrecisionAt(kHits, 3), 1.0 / 3.0, kTol);
  EXPECT_NEAR(RecallAt(kHits, 3, 3), 1.0 / 3.0, kTol);
  EXPECT_NEAR(NdcgAt(kHits, 3, 3), kL3 / (1.0 + kL3 + 0.5), kTol);
  EXPECT_NEAR(MapAt(kHits, 3, 3), 0.5 / 3.0, kTol);  // P@2 / min(3,3)
  // K=2 with |T|=3: IDCG over min(3,2) = 2: 1 + 1/log2(3); MAP divides by 2.
  EXPECT_NEAR(NdcgAt(kHits, 2, 3), kL3 / (1.0 + kL3), kTol);
  EXPECT_NEAR(MapAt(kHits, 2, 3), 0.5 / 2.0, kTol);
  // K=1: no hit at rank 1.
  EXPECT_EQ(HitAt(kHits, 1), 0.0);
  EXPECT_EQ(MrrAt(kHits, 1), 0.0);
  EXPECT_EQ(NdcgAt(kHits, 1, 3), 0.0);
}

TEST(Metrics, ListShorterThanKStillDividesPrecisionByK) {
  const std::vector<uint8_t> hits = {1, 0};              // the catalogue only had 2 rankable items
  EXPECT_NEAR(PrecisionAt(hits, 10), 1.0 / 10.0, kTol);  // RecBole: / K, not / |L|
  EXPECT_NEAR(RecallAt(hits, 10, 1), 1.0, kTol);
  EXPECT_NEAR(NdcgAt(hits, 10, 1), 1.0, kTol);
  EXPECT_NEAR(MapAt(hits, 10, 1), 1.0, kTol);
}

TEST(Metrics, PerfectListScoresOne) {
  const std::vector<uint8_t> hits = {1, 1, 1, 0};
  EXPECT_NEAR(NdcgAt(hits, 4, 3), 1.0, kTol);
  EXPECT_NEAR(MapAt(hits, 4, 3), 1.0, kTol);
  // |T| = 5 > K = 3: recall caps at 3/5 (RecBole divides by |T|), NDCG and MAP reach 1.
  EXPECT_NEAR(RecallAt(hits, 3, 5), 0.6, kTol);
  EXPECT_NEAR(NdcgAt(hits, 3, 5), 1.0, kTol);
  EXPECT_NEAR(MapAt(hits, 3, 5), 1.0, kTol);
}

TEST(Metrics, DispatchAndRegistry) {
  EXPECT_NEAR(UserMetricAt("map", kHits, 5, 3), MapAt(kHits, 5, 3), 0);
  EXPECT_THROW(UserMetricAt("gini", kHits, 5, 3), framework::ConfigError);
  EXPECT_EQ(FindMetric("NDCG").name, "ndcg");  // case-insensitive like RecBole configs
  EXPECT_THROW(FindMetric("ndgc"), framework::ConfigError);
  EXPECT_FALSE(FindMetric("gini").higher_is_better);
  EXPECT_FALSE(FindMetric("rmse").higher_is_better);
  EXPECT_TRUE(FindMetric("auc").per_user());
  EXPECT_FALSE(FindMetric("auc").uses_k());
  EXPECT_FALSE(FindMetric("itemcoverage").per_user());
  for (const auto& name : DefaultMetrics()) EXPECT_NO_THROW(FindMetric(name));
}

TEST(Metrics, AucCountsTiesAsHalf) {
  // Positives {3, 1}, negatives {2, 1, 0}: 3 beats all three (3 pairs); 1 beats 0 (1),
  // ties 1 (1/2), loses to 2 (0): (3 + 1.5) / (2 * 3) = 0.75.
  const std::vector<float> pos = {3, 1}, neg = {2, 1, 0};
  EXPECT_NEAR(Auc(pos, neg), 0.75, kTol);
  EXPECT_TRUE(std::isnan(Auc({}, neg)));
  EXPECT_TRUE(std::isnan(Auc(pos, {})));
}

TEST(Metrics, AucEqualsBruteForcePairCounting) {
  // Every strategy (short side <= 32 counted directly, else sorted and searched; positives
  // or negatives the short side); integer scores force ties.
  framework::Rng rng(7);
  std::vector<float> scratch;
  for (auto [n_pos, n_neg] : {std::pair{40, 300}, {10, 300}, {300, 10}, {300, 40}}) {
    std::vector<float> pos(n_pos), neg(n_neg);
    for (auto& x : pos) x = static_cast<float>(rng.UniformInt(6));
    for (auto& x : neg) x = static_cast<float>(rng.UniformInt(6));
    double correct = 0;
    for (float p : pos)
      for (float n : neg) correct += p > n ? 1.0 : (p == n ? 0.5 : 0.0);
    EXPECT_NEAR(Auc(pos, neg, &scratch), correct / (n_pos * n_neg), kTol) << n_pos << " " << n_neg;
    EXPECT_NEAR(Auc(pos, neg), correct / (n_pos * n_neg), kTol);
  }
}

TEST(Metrics, AucOfRowSkipsMaskedItemsAndMatchesAuc) {
  framework::Rng rng(8);
  for (int n_pos : {1, 5, 32, 33, 80}) {
    std::vector<float> row(200);
    for (auto& x : row)
      x = rng.Uniform() < 0.15 ? std::nanf("") : static_cast<float>(rng.UniformInt(9));
    std::vector<Index> positives;
    for (Index i = 0; i < 200 && static_cast<int>(positives.size()) < n_pos; i += 2)
      positives.push_back(i);
    std::vector<float> pos, neg;
    for (Index i = 0; i < 200; ++i) {
      if (std::isnan(row[i])) continue;
      const bool is_pos = std::binary_search(positives.begin(), positives.end(), i);
      (is_pos ? pos : neg).push_back(row[i]);
    }
    EXPECT_NEAR(AucOfRow(row, positives), Auc(pos, neg), kTol) << n_pos;
  }
  // By hand: items [3, NaN(masked positive), 1, 2], positives {0, 1}: P = {3}, N = {1, 2}.
  const std::vector<float> row = {3, std::nanf(""), 1, 2};
  EXPECT_NEAR(AucOfRow(row, std::vector<Index>{0, 1}), 1.0, kTol);
  EXPECT_TRUE(std::isnan(AucOfRow(row, std::vector<Index>{1})));  // only masked positives
}

// Train: item0 by users 0..4, item1 by users 0..2, item2 by user 0, item3 by user 1,
// item4 by nobody. Popularity [5, 3, 1, 1, 0], total 10.
models::SpMat PopTrain() {
  std::vector<Eigen::Triplet<float, int64_t>> t;
  for (int u = 0; u < 5; ++u) t.emplace_back(u, 0, 1.0f);
  for (int u = 0; u < 3; ++u) t.emplace_back(u, 1, 1.0f);
  t.emplace_back(0, 2, 1.0f);
  t.emplace_back(1, 3, 1.0f);
  models::SpMat m(5, 5);
  m.setFromTriplets(t.begin(), t.end());
  return m;
}

TEST(Metrics, ItemStatsTailIsBottomTwentyPercentOfInteractions) {
  const ItemStats s = ComputeItemStats(PopTrain());
  EXPECT_EQ(s.popularity, (std::vector<int64_t>{5, 3, 1, 1, 0}));
  EXPECT_EQ(s.total_interactions, 10);
  EXPECT_EQ(s.num_users, 5);
  // Ascending (pop, id): item4 (cum 0), item2 (1), item3 (2 <= 0.2*10), item1 (5 > 2) stops.
  EXPECT_EQ(s.is_tail, (std::vector<uint8_t>{0, 0, 1, 1, 1}));
}

TEST(Metrics, TailShareAndNoveltyByHand) {
  const ItemStats s = ComputeItemStats(PopTrain());
  const std::vector<Index> list = {0, 2, 4};
  // K=2: {0, 2}: one tail item of two.
  EXPECT_NEAR(TailShareAt(list, 2, s), 0.5, kTol);
  EXPECT_NEAR(TailShareAt(list, 3, s), 2.0 / 3.0, kTol);
  // Novelty K=2: (-log2(5/5) - log2(1/5)) / 2 = log2(5) / 2.
  EXPECT_NEAR(NoveltyAt(list, 2, s), std::log2(5.0) / 2.0, kTol);
  // K=3 adds item4 with zero popularity, counted as 1: (0 + 2 log2 5) / 3.
  EXPECT_NEAR(NoveltyAt(list, 3, s), 2.0 * std::log2(5.0) / 3.0, kTol);
  EXPECT_TRUE(std::isnan(NoveltyAt({}, 3, s)));
  EXPECT_TRUE(std::isnan(TailShareAt({}, 3, s)));
}

TEST(Metrics, CoverageAndGiniByHand) {
  // 4 items; lists {0,1} and {0,2}: counts item0=2, item1=1, item2=1, item3=0.
  const std::vector<std::vector<Index>> lists = {{0, 1}, {0, 2}};
  EXPECT_NEAR(ItemCoverageAt(lists, 2, 4), 3.0 / 4.0, kTol);
  // Sorted counts [0,1,1,2], n=4, total 4: Σ(2j-n-1)c = -3*0 -1*1 +1*1 +3*2 = 6;
  // Gini = 6 / (4*4) = 0.375.
  EXPECT_NEAR(GiniAt(lists, 2, 4), 0.375, kTol);
  // K=1: both lists recommend item0 only: counts [0,0,0,2]: 3*2 / (4*2) = 0.75.
  EXPECT_NEAR(GiniAt(lists, 1, 4), 0.75, kTol);
  EXPECT_NEAR(ItemCoverageAt(lists, 1, 4), 0.25, kTol);
  // Perfectly even recommendations have Gini 0.
  const std::vector<std::vector<Index>> even = {{0, 1}, {2, 3}};
  EXPECT_NEAR(GiniAt(even, 2, 4), 0.0, kTol);
  EXPECT_EQ(GiniAt(std::vector<std::vector<Index>>{}, 2, 4), 0.0);
}

}  // namespace
}  // namespace recfuse::eval
