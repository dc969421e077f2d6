#include "eval/evaluator.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <map>
#include <set>

#include "framework/config.h"
#include "framework/error.h"
#include "framework/io.h"
#include "tests/eval/fakes.h"
#include "tests/test_util.h"

namespace recfuse::eval {
namespace {

using models::RowMatrixXf;
using testing::FactorModel;
using testing::MatrixModel;

constexpr double kTol = 1e-12;
const double kL3 = 1.0 / std::log2(3.0);

// Four users, six items.
//   row  user item  role   rating
//   0    u0   i0    train  4
//   1    u0   i1    train  4
//   2    u1   i2    train  4
//   3    u2   i0    train  4
//   4    u3   i5    train  4
//   5    u0   i2    test   4
//   6    u0   i3    test   2
//   7    u1   i0    test   5
//   8    u3   i1    test   3
//   9    u1   i3    valid (excluded when testing)
// u2 has no test item.
struct Tiny {
  datasets::Dataset data = testing::MakeDataset(4, 6);
  models::SpMat train;
  EvalTarget target;
  Tiny() {
    const int pairs[10][2] = {{0, 0}, {0, 1}, {1, 2}, {2, 0}, {3, 5},
                              {0, 2}, {0, 3}, {1, 0}, {3, 1}, {1, 3}};
    const float ratings[10] = {4, 4, 4, 4, 4, 4, 2, 5, 3, 4};
    for (int r = 0; r < 10; ++r) data.interactions.Add(pairs[r][0], pairs[r][1], ratings[r]);
    train = testing::TrainMatrix(data, {0, 1, 2, 3, 4});
    target.data = &data;
    target.train = &train;
    target.test_rows = {5, 6, 7, 8};
    target.exclude_rows = {9};
  }
};

// Unmasked rankings (ties by item id):
//   u0: masked i0,i1 -> i3(3) i4(3) i2(1) i5(0); T={i2,i3}; hits [1,0,1,0]
//   u1: masked i2 (train), i3 (valid) -> i0(2) i4(1) i5(1) i1(0); T={i0}; hits [1,0,0,0]
//   u3: masked i5 -> all 0: i0 i1 i2 i3 i4; T={i1}; hits [0,1,0,0,0]
MatrixModel TinyModel() {
  RowMatrixXf s(4, 6);
  s << 5, 4, 1, 3, 3, 0,  //
      2, 0, 0, 9, 1, 1,   //
      1, 1, 1, 1, 1, 1,   //
      0, 0, 0, 0, 0, 0;
  return MatrixModel(s);
}

double Metric(const EvalResult& r, const std::string& name, int k) {
  for (const auto& m : r.metrics)
    if (m.metric == name && m.k == k) return m.value;
  ADD_FAILURE() << "metric " << name << "@" << k << " missing";
  return std::nan("");
}

EvalOptions TinyOptions() {
  EvalOptions opt;
  opt.ks = {4, 2};
  opt.metrics = {"recall",       "precision", "ndcg",           "mrr",    "hit", "map", "auc",
                 "itemcoverage", "gini",      "tailpercentage", "novelty"};
  return opt;
}

TEST(Evaluate, ListsAndUsersByHand) {
  Tiny t;
  const MatrixModel model = TinyModel();
  const EvalResult r = Evaluate(model, t.target, TinyOptions());
  EXPECT_EQ(r.users, (std::vector<Index>{0, 1, 3}));
  EXPECT_EQ(r.users_without_test, 1);  // u2
  EXPECT_EQ(r.ks, (std::vector<int>{2, 4}));
  ASSERT_EQ(r.topk.size(), 3u);
  EXPECT_EQ(r.topk[0], (std::vector<Index>{3, 4, 2, 5}));
  EXPECT_EQ(r.topk[1], (std::vector<Index>{0, 4, 5, 1}));
  EXPECT_EQ(r.topk[2], (std::vector<Index>{0, 1, 2, 3}));
  EXPECT_EQ(r.num_test_pairs, 4);
  EXPECT_EQ(r.masked_test_pairs, 0);
}

TEST(Evaluate, AccuracyMetricsByHand) {
  Tiny t;
  const MatrixModel model = TinyModel();
  const EvalResult r = Evaluate(model, t.target, TinyOptions());
  // K=2: u0 hits [1,0] |T|=2; u1 [1,0] |T|=1; u3 [0,1] |T|=1.
  EXPECT_NEAR(Metric(r, "recall", 2), (0.5 + 1 + 1) / 3, kTol);
  EXPECT_NEAR(Metric(r, "precision", 2), 0.5, kTol);
  // ndcg: u0 1/(1+1/log2 3); u1 1; u3 1/log2 3.
  EXPECT_NEAR(Metric(r, "ndcg", 2), (1 / (1 + kL3) + 1 + kL3) / 3, kTol);
  EXPECT_NEAR(Metric(r, "mrr", 2), (1 + 1 + 0.5) / 3, kTol);
  EXPECT_NEAR(Metric(r, "hit", 2), 1.0, kTol);
  // map: u0 (1/1)/2; u1 1; u3 (1/2)/1.
  EXPECT_NEAR(Metric(r, "map", 2), (0.5 + 1 + 0.5) / 3, kTol);
  // K=4: u0 hits [1,0,1,0]; u1 [1,0,0,0]; u3 [0,1,0,0].
  EXPECT_NEAR(Metric(r, "recall", 4), 1.0, kTol);
  EXPECT_NEAR(Metric(r, "precision", 4), (0.5 + 0.25 + 0.25) / 3, kTol);
  // u0: (1 + 1/log2 4) / (1 + 1/log2 3).
  EXPECT_NEAR(Metric(r, "ndcg", 4), (1.5 / (1 + kL3) + 1 + kL3) / 3, kTol);
  // u0: (1/1 + 2/3) / 2.
  EXPECT_NEAR(Metric(r, "map", 4), ((1 + 2.0 / 3) / 2 + 1 + 0.5) / 3, kTol);
  // Per-user values are aligned with users.
  EXPECT_EQ(r.per_user.at("recall@2"), (std::vector<double>{0.5, 1, 1}));
}

TEST(Evaluate, AucAndBeyondAccuracyByHand) {
  Tiny t;
  const MatrixModel model = TinyModel();
  const EvalResult r = Evaluate(model, t.target, TinyOptions());
  // AUC u0: P={i2:1, i3:3}, N={i4:3, i5:0}: i2 beats i5 (1); i3 ties i4 (1/2), beats i5
  // (1): 2.5/4. u1: i0 (2) above all of N: 1. u3: all tied: 1/2.
  EXPECT_NEAR(Metric(r, "auc", 0), (0.625 + 1 + 0.5) / 3, kTol);
  EXPECT_EQ(r.per_user.at("auc"), (std::vector<double>{0.625, 1, 0.5}));
  // Lists @2: u0 {i3,i4}, u1 {i0,i4}, u3 {i0,i1}: 4 distinct of 6 items.
  EXPECT_NEAR(Metric(r, "itemcoverage", 2), 4.0 / 6, kTol);
  // Counts [i0 2, i1 1, i2 0, i3 1, i4 2, i5 0] sorted [0,0,1,1,2,2], n=6, total 6:
  // (-5*0 -3*0 -1*1 +1*1 +3*2 +5*2) / (6*6) = 16/36.
  EXPECT_NEAR(Metric(r, "gini", 2), 16.0 / 36, kTol);
  // Train popularity [2,1,1,0,0,1], total 5, tail budget 1: i3 (0), i4 (0), i1 (cum 1)
  // are tail. @2: u0 {i3,i4} 1; u1 {i0,i4} 1/2; u3 {i0,i1} 1/2.
  EXPECT_NEAR(Metric(r, "tailpercentage", 2), 2.0 / 3, kTol);
  // Novelty, 4 users: -log2(2/4)=1 (i0), -log2(1/4)=2 (i1), zero-pop i3,i4 count as 1: 2.
  // u0 (2+2)/2, u1 (1+2)/2, u3 (1+2)/2.
  EXPECT_NEAR(Metric(r, "novelty", 2), (2 + 1.5 + 1.5) / 3, kTol);
}

TEST(Evaluate, MetricOrderFollowsOptionsThenK) {
  Tiny t;
  const MatrixModel model = TinyModel();
  EvalOptions opt;
  opt.ks = {4, 2, 4};
  opt.metrics = {"hit", "gini", "recall"};
  const EvalResult r = Evaluate(model, t.target, opt);
  std::vector<std::string> got;
  for (const auto& m : r.metrics) got.push_back(MetricKey(m.metric, m.k));
  EXPECT_EQ(got, (std::vector<std::string>{"hit@2", "hit@4", "gini@2", "gini@4", "recall@2",
                                           "recall@4"}));
  EXPECT_EQ(r.per_user.count("gini@2"), 0u);  // global metric: no per-user values
}

TEST(Evaluate, KLargerThanCatalogueGivesShortListsAndPrecisionOverK) {
  Tiny t;
  const MatrixModel model = TinyModel();
  EvalOptions opt;
  opt.ks = {10};
  opt.metrics = {"precision", "recall"};
  const EvalResult r = Evaluate(model, t.target, opt);
  // 6 items minus the masked ones: u0 4, u1 4, u3 5 rankable.
  EXPECT_EQ(r.topk[0].size(), 4u);
  EXPECT_EQ(r.topk[1].size(), 4u);
  EXPECT_EQ(r.topk[2].size(), 5u);
  // Hits: u0 2, u1 1, u3 1; each divided by K = 10, not by the list length.
  EXPECT_NEAR(Metric(r, "precision", 10), (0.2 + 0.1 + 0.1) / 3, kTol);
  EXPECT_NEAR(Metric(r, "recall", 10), 1.0, kTol);
}

TEST(Evaluate, MaskedItemsNeverRecommendedButCountInT) {
  Tiny t;
  // u0's test set also holds i1, a training item of u0 (row 1 used as a test row too),
  // and u1's test holds i3, its excluded validation item.
  t.target.test_rows = {5, 6, 7, 8, 1, 9};
  t.target.exclude_rows = {9};
  const MatrixModel model = TinyModel();
  EvalOptions opt;
  opt.ks = {4};
  opt.metrics = {"recall"};
  const EvalResult r = Evaluate(model, t.target, opt);
  EXPECT_EQ(r.masked_test_pairs, 2);
  EXPECT_FALSE(r.notes.empty());
  // The lists are unchanged: masked items never appear.
  EXPECT_EQ(r.topk[0], (std::vector<Index>{3, 4, 2, 5}));
  EXPECT_EQ(r.topk[1], (std::vector<Index>{0, 4, 5, 1}));
  // u0: 2 hits of |T|=3; u1: 1 of |T|=2; u3: 1 of 1.
  EXPECT_NEAR(Metric(r, "recall", 4), (2.0 / 3 + 0.5 + 1) / 3, kTol);

  // Without the exclusion, u1's i3 (score 9) is ranked first.
  t.target.exclude_rows.clear();
  const EvalResult r2 = Evaluate(model, t.target, opt);
  EXPECT_EQ(r2.topk[1].front(), 3);
  EXPECT_EQ(r2.masked_test_pairs, 1);
}

TEST(Evaluate, TrainItemsNeverAppearOnRandomData) {
  auto s = testing::MakeRandomSetup(30, 25, 8, 3, 11);
  MatrixModel model(testing::TiedScores(30, 25, 4, 12));
  EvalTarget target{&s.data, &s.train, s.test_rows, s.valid_rows};
  EvalOptions opt;
  opt.ks = {20};
  const EvalResult r = Evaluate(model, target, opt);
  for (size_t x = 0; x < r.users.size(); ++x) {
    // 25 items - 8 train - 1 valid = 16 rankable < K.
    EXPECT_EQ(r.topk[x].size(), 16u);
    for (Index i : r.topk[x]) {
      EXPECT_EQ(s.train.coeff(r.users[x], i), 0.0f);
      for (int64_t v : s.valid_rows)
        if (s.data.interactions.user[v] == r.users[x]) EXPECT_NE(s.data.interactions.item[v], i);
    }
  }
  EXPECT_EQ(r.users_without_test, 4);  // users 3, 10, 17, 24 have no test item
}

TEST(Evaluate, GemmPathEqualsScoreBlockPath) {
  auto s = testing::MakeRandomSetup(70, 40, 5, 2, 21);
  const auto user = testing::IntMatrix(70, 6, -3, 3, 22);
  const auto item = testing::IntMatrix(40, 6, -3, 3, 23);
  Eigen::VectorXf bias = testing::IntMatrix(40, 1, -2, 2, 24).col(0);
  FactorModel gemm(user, item, bias, true), plain(user, item, bias, false);
  EvalTarget target{&s.data, &s.train, s.test_rows, s.valid_rows};
  EvalOptions opt;
  opt.block_size = 16;
  opt.metrics.push_back("auc");
  const EvalResult a = Evaluate(gemm, target, opt);
  const EvalResult b = Evaluate(plain, target, opt);
  EXPECT_EQ(gemm.score_block_calls(), 0);  // the GEMM path did not call ScoreBlock
  EXPECT_GT(plain.score_block_calls(), 0);
  EXPECT_EQ(a.topk, b.topk);
  EXPECT_EQ(a.per_user, b.per_user);
  ASSERT_EQ(a.metrics.size(), b.metrics.size());
  for (size_t j = 0; j < a.metrics.size(); ++j) EXPECT_EQ(a.metrics[j].value, b.metrics[j].value);
}

TEST(Evaluate, ResultsIndependentOfThreadCount) {
  auto s = testing::MakeRandomSetup(90, 35, 6, 3, 31);
  MatrixModel model(testing::TiedScores(90, 35, 5, 32));
  FactorModel factors(testing::IntMatrix(90, 8, -4, 4, 33), testing::IntMatrix(35, 8, -4, 4, 34),
                      Eigen::VectorXf::Zero(35), true);
  EvalTarget target{&s.data, &s.train, s.test_rows, s.valid_rows};
  for (const models::Recommender* m : {static_cast<const models::Recommender*>(&model),
                                       static_cast<const models::Recommender*>(&factors)}) {
    for (int sampled : {0, 10}) {
      EvalOptions opt;
      opt.block_size = 7;
      opt.sampled_negatives = sampled;
      opt.metrics.push_back("auc");
      opt.threads = 1;
      const EvalResult one = Evaluate(*m, target, opt);
      opt.threads = 3;
      const EvalResult three = Evaluate(*m, target, opt);
      EXPECT_EQ(one.topk, three.topk);
      EXPECT_EQ(one.per_user, three.per_user);
      ASSERT_EQ(one.metrics.size(), three.metrics.size());
      for (size_t j = 0; j < one.metrics.size(); ++j)
        EXPECT_EQ(one.metrics[j].value, three.metrics[j].value) << one.metrics[j].metric;
    }
  }
}

TEST(Evaluate, SampledProtocolIsSeededAndDrawsUnmaskedNegatives) {
  auto s = testing::MakeRandomSetup(40, 60, 10, 2, 41);
  MatrixModel model(testing::TiedScores(40, 60, 100, 42));
  EvalTarget target{&s.data, &s.train, s.test_rows, s.valid_rows};
  EvalOptions opt;
  opt.ks = {50};
  opt.sampled_negatives = 5;
  opt.seed = 9;
  const EvalResult a = Evaluate(model, target, opt);
  const EvalResult b = Evaluate(model, target, opt);
  EXPECT_EQ(a.topk, b.topk);
  opt.seed = 10;
  const EvalResult c = Evaluate(model, target, opt);
  EXPECT_NE(a.topk, c.topk);
  for (size_t x = 0; x < a.users.size(); ++x) {
    // 2 positives + 5 negatives, all ranked since K = 50.
    ASSERT_EQ(a.topk[x].size(), 7u);
    const Index u = a.users[x];
    std::set<Index> valid_items;
    for (int64_t v : s.valid_rows)
      if (s.data.interactions.user[v] == u) valid_items.insert(s.data.interactions.item[v]);
    int positives = 0;
    for (Index i : a.topk[x]) {
      EXPECT_EQ(s.train.coeff(u, i), 0.0f);
      EXPECT_EQ(valid_items.count(i), 0u);
      for (int64_t t : s.test_rows)
        positives += s.data.interactions.user[t] == u && s.data.interactions.item[t] == i;
    }
    EXPECT_EQ(positives, 2);
    EXPECT_EQ(std::set<Index>(a.topk[x].begin(), a.topk[x].end()).size(), 7u);  // no repeats
  }
  EXPECT_NEAR(Metric(a, "recall", 50), 1.0, kTol);  // every positive is in the 7-item list
}

TEST(Evaluate, SampledWithMoreNegativesThanItemsEqualsFullRanking) {
  auto s = testing::MakeRandomSetup(20, 30, 6, 2, 51);
  MatrixModel model(testing::TiedScores(20, 30, 4, 52));
  EvalTarget target{&s.data, &s.train, s.test_rows, s.valid_rows};
  EvalOptions opt;
  opt.metrics.push_back("auc");
  const EvalResult full = Evaluate(model, target, opt);
  opt.sampled_negatives = 1000;
  const EvalResult sampled = Evaluate(model, target, opt);
  EXPECT_EQ(full.topk, sampled.topk);
  EXPECT_EQ(full.per_user, sampled.per_user);
  bool noted = false;
  for (const auto& n : sampled.notes) noted |= n.find("fewer than 1000") != std::string::npos;
  EXPECT_TRUE(noted);
}

TEST(Evaluate, RatingMetricsByHand) {
  Tiny t;
  MatrixModel model = TinyModel();
  EvalOptions opt;
  opt.ks = {2};
  opt.metrics = {"rmse", "mae"};
  // Without rating predictions the metrics are skipped, with a note.
  const EvalResult skipped = Evaluate(model, t.target, opt);
  EXPECT_TRUE(skipped.metrics.empty());
  ASSERT_FALSE(skipped.notes.empty());
  model.set_rating(3.0f);
  const EvalResult r = Evaluate(model, t.target, opt);
  // Test ratings 4, 2, 5, 3 vs 3: errors 1, -1, 2, 0.
  EXPECT_NEAR(Metric(r, "rmse", 0), std::sqrt(6.0 / 4), kTol);
  EXPECT_NEAR(Metric(r, "mae", 0), 1.0, kTol);
  t.data.interactions.has_rating = false;
  EXPECT_THROW(Evaluate(model, t.target, opt), framework::ConfigError);
}

TEST(Evaluate, BadInputFailsClearly) {
  Tiny t;
  const MatrixModel model = TinyModel();
  EvalOptions opt;
  opt.ks = {10, 0};
  try {
    Evaluate(model, t.target, opt);
    FAIL();
  } catch (const framework::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("K must be > 0"), std::string::npos);
  }
  opt.ks = {-3};
  EXPECT_THROW(Evaluate(model, t.target, opt), framework::ConfigError);
  opt.ks = {5};
  opt.metrics = {"recall", "ndgc"};
  EXPECT_THROW(Evaluate(model, t.target, opt), framework::ConfigError);
  opt.metrics = {"recall"};
  EvalTarget empty = t.target;
  empty.test_rows.clear();
  try {
    Evaluate(model, empty, opt);
    FAIL();
  } catch (const framework::Error& e) {
    EXPECT_NE(std::string(e.what()).find("empty test set"), std::string::npos);
  }
  EvalTarget out_of_range = t.target;
  out_of_range.test_rows.push_back(99);
  EXPECT_THROW(Evaluate(model, out_of_range, opt), framework::Error);
  RowMatrixXf s(4, 6);
  s.setZero();
  s(1, 4) = std::nanf("");
  const MatrixModel nan_model(s);
  try {
    Evaluate(nan_model, t.target, opt);
    FAIL();
  } catch (const framework::Error& e) {
    EXPECT_NE(std::string(e.what()).find("user 1 ('u1')"), std::string::npos) << e.what();
  }
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  for (auto& l : framework::Split(text, '\n'))
    if (!l.empty()) out.push_back(l);
  return out;
}

TEST(WriteEvidence, FilesRecomputeTheReportedMetrics) {
  auto s = testing::MakeRandomSetup(25, 30, 6, 3, 61);
  MatrixModel model(testing::TiedScores(25, 30, 6, 62));
  EvalTarget target{&s.data, &s.train, s.test_rows, s.valid_rows};
  EvalOptions opt;
  opt.ks = {5, 10};
  const EvalResult r = Evaluate(model, target, opt);
  const std::string dir = recfuse::testing::TempDir("eval_evidence") + "/out";
  WriteEvidence(dir, "fake,model", target, r);

  // test.tsv: user \t item, sorted by user id then item id.
  std::map<std::string, std::set<std::string>> truth;
  std::vector<std::pair<Index, Index>> order;
  for (const auto& line : Lines(framework::ReadFile(dir + "/test.tsv"))) {
    const auto f = framework::Split(line, '\t');
    ASSERT_EQ(f.size(), 2u);
    truth[f[0]].insert(f[1]);
    order.emplace_back(s.data.users.Find(f[0]), s.data.items.Find(f[1]));
  }
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
  EXPECT_EQ(static_cast<int64_t>(order.size()), r.num_test_pairs);
  EXPECT_EQ(truth.size(), r.users.size());

  // topk.tsv: recompute recall and NDCG independently.
  std::map<int, double> recall, ndcg;
  const auto topk_lines = Lines(framework::ReadFile(dir + "/topk.tsv"));
  ASSERT_EQ(topk_lines.size(), r.users.size());
  for (const auto& line : topk_lines) {
    const auto f = framework::Split(line, '\t');
    ASSERT_EQ(f.size(), 2u);
    const auto items = framework::Split(f[1], ' ');
    ASSERT_LE(items.size(), 10u);
    const auto& t = truth.at(f[0]);
    for (int k : {5, 10}) {
      double hits = 0, dcg = 0, idcg = 0;
      for (size_t p = 0; p < items.size() && p < static_cast<size_t>(k); ++p)
        if (t.count(items[p])) {
          hits += 1;
          dcg += 1 / std::log2(p + 2.0);
        }
      for (size_t p = 0; p < t.size() && p < static_cast<size_t>(k); ++p)
        idcg += 1 / std::log2(p + 2.0);
      recall[k] += hits / t.size() / r.users.size();
      ndcg[k] += dcg / idcg / r.users.size();
    }
  }

  const auto csv = Lines(framework::ReadFile(dir + "/metrics.csv"));
  ASSERT_EQ(csv.front(), "model,metric,k,value");
  ASSERT_EQ(csv.size(), r.metrics.size() + 1);
  int checked = 0;
  for (size_t j = 1; j < csv.size(); ++j) {
    ASSERT_EQ(csv[j].rfind("\"fake,model\",", 0), 0u) << csv[j];  // CSV-quoted name
    const auto f = framework::Split(csv[j].substr(13), ',');
    ASSERT_EQ(f.size(), 3u);
    double value = 0;
    ASSERT_TRUE(framework::ParseDouble(f[2], &value));
    EXPECT_EQ(value, r.metrics[j - 1].value);  // 17 significant digits round-trip
    const int k = std::stoi(f[1]);
    if (f[0] == "recall") {
      EXPECT_NEAR(value, recall[k], 1e-12);
      ++checked;
    }
    if (f[0] == "ndcg") {
      EXPECT_NEAR(value, ndcg[k], 1e-12);
      ++checked;
    }
  }
  EXPECT_EQ(checked, 4);
}

}  // namespace
}  // namespace recfuse::eval
