#include "eval/topk.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "framework/error.h"
#include "tests/eval/fakes.h"

namespace recfuse::eval {
namespace {

using models::RowMatrixXf;
using testing::MatrixModel;
using testing::TiedScores;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

std::vector<Index> Top(const std::vector<float>& s, int k) {
  std::vector<Index> out;
  SelectScratch scratch;
  SelectTopK(s, k, &out, &scratch);
  return out;
}

TEST(SelectTopK, TiesGoToTheLowerItemId) {
  //            item: 0  1  2  3  4  5
  const std::vector<float> s = {1, 3, 3, 2, 3, 0};
  EXPECT_EQ(Top(s, 2), (std::vector<Index>{1, 2}));  // 3,3 (ids 1 < 2); 4 loses the tie
  EXPECT_EQ(Top(s, 4), (std::vector<Index>{1, 2, 4, 3}));
  EXPECT_EQ(Top(s, 6), (std::vector<Index>{1, 2, 4, 3, 0, 5}));
}

TEST(SelectTopK, MaskedNaNIsSkippedAndListMayBeShort) {
  const std::vector<float> s = {kNaN, 5, kNaN, 1};
  EXPECT_EQ(Top(s, 3), (std::vector<Index>{1, 3}));  // only two unmasked items
  EXPECT_EQ(Top(s, 1), (std::vector<Index>{1}));
  EXPECT_TRUE(Top({kNaN, kNaN}, 2).empty());
}

TEST(SelectTopK, ModelInfinitiesStayRankable) {
  const std::vector<float> s = {-kInf, kNaN, kInf, -kInf, 0};
  EXPECT_EQ(Top(s, 4), (std::vector<Index>{2, 4, 0, 3}));
}

TEST(SelectTopK, MatchesAFullSortOnRandomRows) {
  framework::Rng rng(3);
  SelectScratch scratch;
  std::vector<Index> got;
  for (int trial = 0; trial < 50; ++trial) {
    const Index n = 1 + static_cast<Index>(rng.UniformInt(200));
    std::vector<float> s(n);
    for (auto& x : s) x = rng.Uniform() < 0.1 ? kNaN : static_cast<float>(rng.UniformInt(8));
    const int k = 1 + static_cast<int>(rng.UniformInt(60));
    std::vector<Index> ref;
    for (Index i = 0; i < n; ++i)
      if (!std::isnan(s[i])) ref.push_back(i);
    std::sort(ref.begin(), ref.end(),
              [&](Index a, Index b) { return s[a] != s[b] ? s[a] > s[b] : a < b; });
    if (ref.size() > static_cast<size_t>(k)) ref.resize(k);
    SelectTopK(s, k, &got, &scratch);
    ASSERT_EQ(got, ref) << "trial " << trial;
  }
}

TEST(SelectTopK, MatchesAFullSortOnLongRows) {
  // Long rows relative to K take the chunk-maxima path; cover ties (few score levels), all
  // equal scores, masked stretches, infinities and K close to the number of chunks.
  framework::Rng rng(4);
  SelectScratch scratch;
  std::vector<Index> got;
  for (int trial = 0; trial < 60; ++trial) {
    const Index n = 500 + static_cast<Index>(rng.UniformInt(4000));
    const int kind = trial % 5;
    std::vector<float> s(n);
    for (Index i = 0; i < n; ++i) {
      if (kind == 0) s[i] = static_cast<float>(rng.Normal());
      if (kind == 1) s[i] = static_cast<float>(rng.UniformInt(3));
      if (kind == 2) s[i] = 1.0f;
      if (kind == 3) s[i] = (i / 64) % 3 == 0 ? kNaN : static_cast<float>(rng.UniformInt(50));
      if (kind == 4) s[i] = rng.Uniform() < 0.5 ? -kInf : (rng.Uniform() < 0.01 ? kInf : 0.0f);
    }
    const int k = 1 + static_cast<int>(rng.UniformInt(trial % 2 ? 10 : 100));
    std::vector<Index> ref;
    for (Index i = 0; i < n; ++i)
      if (!std::isnan(s[i])) ref.push_back(i);
    std::sort(ref.begin(), ref.end(),
              [&](Index a, Index b) { return s[a] != s[b] ? s[a] > s[b] : a < b; });
    if (ref.size() > static_cast<size_t>(k)) ref.resize(k);
    SelectTopK(s, k, &got, &scratch);
    ASSERT_EQ(got, ref) << "trial " << trial << " kind " << kind << " n " << n << " k " << k;
  }
}

TEST(SelectTopK, CandidatesInAnyOrder) {
  std::vector<ScoredItem> c = {{2, 9}, {5, 4}, {2, 1}, {7, 8}, {2, 3}};
  std::vector<Index> out;
  SelectScratch scratch;
  SelectTopKCandidates(c, 4, &out, &scratch);
  EXPECT_EQ(out, (std::vector<Index>{8, 4, 1, 3}));
  SelectTopKCandidates(c, 10, &out, &scratch);
  EXPECT_EQ(out, (std::vector<Index>{8, 4, 1, 3, 9}));
}

TEST(GroupRowsByUser, SortsDeduplicatesAndRejectsBadRows) {
  auto d = testing::MakeDataset(3, 5);
  d.interactions.Add(2, 4, 1);
  d.interactions.Add(0, 3, 1);
  d.interactions.Add(2, 1, 1);
  d.interactions.Add(2, 4, 1);  // duplicate of row 0
  int64_t dups = 0;
  const std::vector<int64_t> rows = {0, 1, 2, 3};
  const UserItems g = GroupRowsByUser(d.interactions, rows, 3, 5, &dups);
  EXPECT_EQ(dups, 1);
  EXPECT_EQ(std::vector<Index>(g.Row(0).begin(), g.Row(0).end()), (std::vector<Index>{3}));
  EXPECT_TRUE(g.Row(1).empty());
  EXPECT_EQ(std::vector<Index>(g.Row(2).begin(), g.Row(2).end()), (std::vector<Index>{1, 4}));
  const std::vector<int64_t> bad = {7};
  EXPECT_THROW(GroupRowsByUser(d.interactions, bad, 3, 5), framework::Error);
}

TEST(RankUsers, NaNScoreNamesTheUser) {
  RowMatrixXf s = TiedScores(5, 4, 3, 1);
  s(3, 2) = kNaN;
  MatrixModel model(s);
  const std::vector<Index> users = {0, 1, 2, 3, 4};
  TopKInput in;
  in.model = &model;
  in.num_users = 5;
  in.num_items = 4;
  in.users = users;
  TopKOptions opt;
  opt.k = 2;
  opt.block_size = 2;
  try {
    RankUsers(in, opt);
    FAIL() << "expected a NaN error";
  } catch (const framework::Error& e) {
    EXPECT_NE(std::string(e.what()).find("NaN score for user 3"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace recfuse::eval
