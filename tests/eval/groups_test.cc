#include "eval/groups.h"

#include <gtest/gtest.h>

#include <cmath>

#include "framework/error.h"
#include "tests/eval/fakes.h"

namespace recfuse::eval {
namespace {

using models::RowMatrixXf;
using testing::MatrixModel;

constexpr double kTol = 1e-12;

// The same tiny setup as evaluator_test: train counts u0 2, u1 1, u2 1, u3 1; item
// popularity [2,1,1,0,0,1]; rankings u0 [i3 i4 i2 i5], u1 [i0 i4 i5 i1], u3 [i0 i1 i2 i3 i4];
// tests u0 {i2,i3}, u1 {i0}, u3 {i1}.
struct Tiny {
  datasets::Dataset data = testing::MakeDataset(4, 6);
  models::SpMat train;
  EvalTarget target;
  RowMatrixXf scores{4, 6};
  Tiny() {
    const int pairs[10][2] = {{0, 0}, {0, 1}, {1, 2}, {2, 0}, {3, 5},
                              {0, 2}, {0, 3}, {1, 0}, {3, 1}, {1, 3}};
    for (const auto& p : pairs) data.interactions.Add(p[0], p[1], 1);
    train = testing::TrainMatrix(data, {0, 1, 2, 3, 4});
    target = {&data, &train, {5, 6, 7, 8}, {9}};
    scores << 5, 4, 1, 3, 3, 0, 2, 0, 0, 9, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0;
  }
};

EvalOptions Options() {
  EvalOptions opt;
  opt.ks = {2};
  opt.metrics = {"recall", "ndcg", "itemcoverage"};
  return opt;
}

const GroupRow* Find(const std::vector<GroupRow>& rows, const std::string& kind,
                     const std::string& group, const std::string& metric) {
  for (const auto& r : rows)
    if (r.group_kind == kind && r.group == group && r.metric == metric) return &r;
  return nullptr;
}

TEST(Groups, UserActivityBucketsByHand) {
  Tiny t;
  const MatrixModel model(t.scores);
  const EvalResult r = Evaluate(model, t.target, Options());
  // Evaluated users u0, u1, u3 with train counts 2, 1, 1; sorted [1,1,2]. Two buckets:
  // edges c[ceil(3/2)-1] = c[1] = 1 and c[2] = 2: q1 = {u1,u3}, q2 = {u0}.
  const auto rows = GroupByUserActivity(r, t.train, 2);
  // recall@2: u0 1/2, u1 1, u3 1.
  const GroupRow* q1 = Find(rows, "user_activity", "q1:[1,1]", "recall");
  const GroupRow* q2 = Find(rows, "user_activity", "q2:[2,2]", "recall");
  ASSERT_NE(q1, nullptr);
  ASSERT_NE(q2, nullptr);
  EXPECT_NEAR(q1->value, 1.0, kTol);
  EXPECT_EQ(q1->n_users, 2);
  EXPECT_NEAR(q2->value, 0.5, kTol);
  EXPECT_EQ(q2->n_users, 1);
  EXPECT_EQ(q1->k, 2);
  // No rows for the global itemcoverage; 2 groups x (recall, ndcg).
  EXPECT_EQ(rows.size(), 4u);
  // Five buckets over three users: edges 1,1,1,2,2 collapse to two buckets.
  EXPECT_EQ(GroupByUserActivity(r, t.train, 5).size(), 4u);
}

TEST(Groups, ColdWarmUsers) {
  Tiny t;
  const MatrixModel model(t.scores);
  const EvalResult r = Evaluate(model, t.target, Options());
  const auto rows = GroupByUserColdness(r, t.train, 1);
  EXPECT_NEAR(Find(rows, "user_coldness", "cold", "recall")->value, 1.0, kTol);  // u1, u3
  EXPECT_NEAR(Find(rows, "user_coldness", "warm", "recall")->value, 0.5, kTol);  // u0
  // Nobody has 0 training items: the cold group is reported empty, not dropped.
  const auto none = GroupByUserColdness(r, t.train, 0);
  const GroupRow* cold = Find(none, "user_coldness", "cold", "recall");
  ASSERT_NE(cold, nullptr);
  EXPECT_TRUE(std::isnan(cold->value));
  EXPECT_EQ(cold->n_users, 0);
}

TEST(Groups, ItemPopularityGroupsByHand) {
  Tiny t;
  // Popularity [2,1,1,0,0,1]; descending (pop, then id): i0 i1 i2 i5 i3 i4.
  // head = ceil(0.2*6) = 2 items {i0,i1}; tail = floor(0.5*6) = 3 items {i5,i3,i4}.
  EXPECT_EQ(ItemPopularityGroups(t.train), (std::vector<uint8_t>{0, 0, 1, 2, 2, 2}));
}

TEST(Groups, RestrictedTestSetByHand) {
  Tiny t;
  const MatrixModel model(t.scores);
  const EvalOptions opt = Options();
  const EvalResult full = Evaluate(model, t.target, opt);
  // Only i3 counts: users with a test item in {i3}: u0 (T = {i3}); its list @2 = [i3, i4].
  std::vector<uint8_t> mask(6, 0);
  mask[3] = 1;
  const EvalResult sub = RestrictToItemSet(t.target, full, opt, mask);
  EXPECT_EQ(sub.users, (std::vector<Index>{0}));
  EXPECT_EQ(sub.users_without_test, 3);
  ASSERT_EQ(sub.metrics.size(), 2u);  // recall, ndcg; itemcoverage does not depend on T
  EXPECT_NEAR(sub.metrics[0].value, 1.0, kTol);
  EXPECT_NEAR(sub.metrics[1].value, 1.0, kTol);
  // Head items {i0, i1}: u1 (T={i0}, hit at rank 1) and u3 (T={i1}, hit at rank 2).
  const auto rows = GroupByItemPopularity(model, t.target, opt, full);
  EXPECT_NEAR(Find(rows, "item_popularity", "head", "recall")->value, 1.0, kTol);
  EXPECT_EQ(Find(rows, "item_popularity", "head", "recall")->n_users, 2);
  EXPECT_NEAR(Find(rows, "item_popularity", "head", "ndcg")->value,
              (1.0 + 1.0 / std::log2(3.0)) / 2, kTol);
  // Mid {i2}: u0 with T={i2}, not in [i3, i4]: 0. Tail {i3,i4,i5}: u0 T={i3}: 1.
  EXPECT_NEAR(Find(rows, "item_popularity", "mid", "recall")->value, 0.0, kTol);
  EXPECT_NEAR(Find(rows, "item_popularity", "tail", "recall")->value, 1.0, kTol);
}

TEST(Groups, RestrictionFromStoredListsEqualsReEvaluation) {
  auto s = testing::MakeRandomSetup(60, 40, 6, 4, 71);
  const MatrixModel model(testing::TiedScores(60, 40, 7, 72));
  EvalTarget target{&s.data, &s.train, s.test_rows, s.valid_rows};
  EvalOptions opt;
  opt.ks = {5, 20};
  const EvalResult full = Evaluate(model, target, opt);
  const auto group = ItemPopularityGroups(s.train);
  for (uint8_t g = 0; g < 3; ++g) {
    std::vector<uint8_t> mask(group.size());
    for (size_t i = 0; i < group.size(); ++i) mask[i] = group[i] == g;
    const EvalResult fast = RestrictToItemSet(target, full, opt, mask);
    const EvalResult slow = GroupByItemSet(model, target, opt, mask);
    EXPECT_EQ(fast.users, slow.users);
    for (const auto& m : fast.metrics) {
      bool found = false;
      for (const auto& n : slow.metrics)
        if (n.metric == m.metric && n.k == m.k) {
          EXPECT_EQ(m.value, n.value) << m.metric << "@" << m.k;
          found = true;
        }
      EXPECT_TRUE(found);
    }
    EXPECT_EQ(fast.per_user.at("ndcg@5"), slow.per_user.at("ndcg@5"));
  }
  // Sampled lists depend on T: the fast path refuses.
  opt.sampled_negatives = 5;
  std::vector<uint8_t> all(40, 1);
  EXPECT_THROW(RestrictToItemSet(target, full, opt, all), framework::Error);
}

TEST(Groups, AnalyzeGroupsCoversAllKinds) {
  auto s = testing::MakeRandomSetup(50, 30, 5, 3, 81);
  const MatrixModel model(testing::TiedScores(50, 30, 5, 82));
  EvalTarget target{&s.data, &s.train, s.test_rows, s.valid_rows};
  EvalOptions opt;
  opt.ks = {10};
  opt.metrics = {"recall"};
  const EvalResult full = Evaluate(model, target, opt);
  GroupOptions g;
  g.cold_item_max_train = -1;  // no item is that cold: an empty group
  const auto rows = AnalyzeGroups(model, target, opt, full, g);
  std::set<std::string> kinds;
  for (const auto& r : rows) kinds.insert(r.group_kind);
  EXPECT_EQ(kinds, (std::set<std::string>{"user_activity", "user_coldness", "item_popularity",
                                          "item_coldness"}));
  const GroupRow* cold = Find(rows, "item_coldness", "cold", "recall");
  ASSERT_NE(cold, nullptr);
  EXPECT_TRUE(std::isnan(cold->value));
  EXPECT_EQ(cold->n_users, 0);
  // User activity buckets partition the evaluated users.
  int64_t n = 0;
  for (const auto& r : rows)
    if (r.group_kind == "user_activity") n += r.n_users;
  EXPECT_EQ(n, static_cast<int64_t>(full.users.size()));
}

}  // namespace
}  // namespace recfuse::eval
