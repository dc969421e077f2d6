// Per-model checks of the classic recommenders against hand computations and their
// training objectives.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>

#include "framework/error.h"
#include "models/classic.h"
#include "models/recommender.h"
#include "tests/models/classic_test_data.h"

namespace recfuse::models {
namespace {

using testdata::Clusters;
using testdata::FromRows;

RowMatrixXf ScoreUsers(const Recommender& m, Index num_users, Index num_items) {
  std::vector<Index> users(num_users);
  for (Index u = 0; u < num_users; ++u) users[u] = u;
  RowMatrixXf out(num_users, num_items);
  m.ScoreBlock(users, out);
  return out;
}

std::unique_ptr<Recommender> FitModel(const std::string& name, const framework::Config& config,
                                      const TrainData& train,
                                      std::vector<EpochRecord>* epochs = nullptr, int threads = 1) {
  auto model = CreateModel(name, config);
  FitContext ctx;
  ctx.threads = threads;
  ctx.seed = 3;
  if (epochs) ctx.on_epoch = [epochs](const EpochRecord& r) { epochs->push_back(r); };
  model->Fit(train, ctx);
  return model;
}

TEST(Pop, ScoresAreTrainingInteractionCountsIncludingDuplicates) {
  // Item 1 is interacted with three times (twice by user 0), item 0 once, item 2 never.
  const auto data = FromRows(2, 3, {{0, 1, 1}, {0, 1, 1}, {1, 1, 1}, {1, 0, 1}});
  const auto train = MakeTrainData(data, testdata::AllRows(data), {});
  const auto s = ScoreUsers(*FitModel("pop", {}, train), 2, 3);
  for (int u = 0; u < 2; ++u) {
    EXPECT_EQ(s(u, 0), 1.0f);
    EXPECT_EQ(s(u, 1), 3.0f);
    EXPECT_EQ(s(u, 2), 0.0f);
  }
}

TEST(Ease, MatchesHandComputedClosedFormOn3Items) {
  // X = [[1,1,0],[0,1,0],[1,1,1]], λ = 1: G = XᵀX + I = [[3,2,1],[2,4,1],[1,1,2]],
  // det G = 13, P = G⁻¹ = [[7,-3,-2],[-3,5,-1],[-2,-1,8]] / 13, B_ij = -P_ij / P_jj:
  // B = [[0, 3/5, 2/8], [3/7, 0, 1/8], [2/7, 1/5, 0]]; scores = X B.
  const auto data =
      FromRows(3, 3, {{0, 0, 1}, {0, 1, 1}, {1, 1, 1}, {2, 0, 1}, {2, 1, 1}, {2, 2, 1}});
  const auto train = MakeTrainData(data, testdata::AllRows(data), {});
  framework::Config c;
  c.Set("reg_weight", "1");
  const auto s = ScoreUsers(*FitModel("ease", c, train), 3, 3);
  const double b[3][3] = {{0, 3.0 / 5, 2.0 / 8}, {3.0 / 7, 0, 1.0 / 8}, {2.0 / 7, 1.0 / 5, 0}};
  const int x[3][3] = {{1, 1, 0}, {0, 1, 0}, {1, 1, 1}};
  for (int u = 0; u < 3; ++u)
    for (int i = 0; i < 3; ++i) {
      double expected = 0;
      for (int j = 0; j < 3; ++j) expected += x[u][j] * b[j][i];
      EXPECT_NEAR(s(u, i), expected, 1e-6) << "user " << u << " item " << i;
    }
  // Spot values written out: user 0 = rows 0 + 1 of B.
  EXPECT_NEAR(s(0, 0), 3.0 / 7, 1e-6);
  EXPECT_NEAR(s(0, 2), 0.375, 1e-6);
}

TEST(Ease, RefusesMoreItemsThanMaxItemsWithConfigError) {
  const auto data = FromRows(2, 5, {{0, 0, 1}, {1, 4, 1}});
  const auto train = MakeTrainData(data, testdata::AllRows(data), {});
  framework::Config c;
  c.Set("max_items", "4");
  try {
    FitModel("ease", c, train);
    FAIL() << "expected ConfigError";
  } catch (const framework::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("max_items=4"), std::string::npos) << e.what();
  }
}

// Three users: u0 {0,1,2}, u1 {0,1}, u2 {1,3}. Item audiences |U_0|=2, |U_1|=3, |U_2|=1,
// |U_3|=1; co-occurrences (0,1)=2, (0,2)=1, (1,2)=1, (1,3)=1.
datasets::Dataset KnnExample() {
  return FromRows(3, 4,
                  {{0, 0, 1}, {0, 1, 1}, {0, 2, 1}, {1, 0, 1}, {1, 1, 1}, {2, 1, 1}, {2, 3, 1}});
}

TEST(ItemKnn, SimilarityMatchesHandComputationWithShrinkAndTopK) {
  const auto data = KnnExample();
  const auto train = MakeTrainData(data, testdata::AllRows(data), {});
  const double s = 0.5;
  const double s01 = 2 / (std::sqrt(2.0 * 3.0) + s);  // 0.678088
  const double s02 = 1 / (std::sqrt(2.0 * 1.0) + s);  // 0.522408
  const double s12 = 1 / (std::sqrt(3.0 * 1.0) + s);  // 0.448018
  const double s13 = s12;
  framework::Config all;
  all.Set("shrink", "0.5");
  all.Set("k", "10");
  // score(u, i) = Σ_{j ∈ I_u} sim(i, j).
  auto full = ScoreUsers(*FitModel("itemknn", all, train), 3, 4);
  EXPECT_NEAR(full(1, 0), s01, 1e-6);  // u1 {0,1}: sim(0,0)=0 excluded + sim(0,1)
  EXPECT_NEAR(full(1, 1), s01, 1e-6);
  EXPECT_NEAR(full(1, 2), s02 + s12, 1e-6);
  EXPECT_NEAR(full(1, 3), s13, 1e-6);
  EXPECT_NEAR(full(2, 0), s01, 1e-6);  // u2 {1,3}
  EXPECT_NEAR(full(2, 1), s13, 1e-6);
  EXPECT_NEAR(full(2, 2), s12, 1e-6);
  EXPECT_NEAR(full(2, 3), s13, 1e-6);
  // k = 1 keeps each item's single best neighbour: 0->1, 1->0, 2->0, 3->1.
  framework::Config one = all;
  one.Set("k", "1");
  auto top1 = ScoreUsers(*FitModel("itemknn", one, train), 3, 4);
  EXPECT_NEAR(top1(1, 0), s01, 1e-6);
  EXPECT_NEAR(top1(1, 1), s01, 1e-6);
  EXPECT_NEAR(top1(1, 2), s02, 1e-6);  // 2's neighbour 1 was dropped
  EXPECT_NEAR(top1(1, 3), s13, 1e-6);
  EXPECT_NEAR(top1(2, 2), 0.0, 1e-9);  // neither 1 nor 3 is 2's kept neighbour
  EXPECT_NEAR(top1(0, 3), s13, 1e-6);
}

TEST(UserKnn, SimilarityMatchesHandComputationWithShrinkAndTopK) {
  const auto data = KnnExample();
  const auto train = MakeTrainData(data, testdata::AllRows(data), {});
  // |I_u0|=3, |I_u1|=2, |I_u2|=2; overlaps (0,1)=2, (0,2)=1, (1,2)=1; shrink 0.5.
  const double s01 = 2 / (std::sqrt(3.0 * 2.0) + 0.5);
  const double s02 = 1 / (std::sqrt(3.0 * 2.0) + 0.5);
  const double s12 = 1 / (std::sqrt(2.0 * 2.0) + 0.5);  // 0.4 > s02: u2's best neighbour is u1
  framework::Config all;
  all.Set("shrink", "0.5");
  // score(u, i) = Σ_{v ∈ topk(u)} sim(u, v) X(v, i).
  auto full = ScoreUsers(*FitModel("userknn", all, train), 3, 4);
  EXPECT_NEAR(full(2, 0), s02 + s12, 1e-6);
  EXPECT_NEAR(full(2, 1), s02 + s12, 1e-6);
  EXPECT_NEAR(full(2, 2), s02, 1e-6);
  EXPECT_NEAR(full(2, 3), 0.0, 1e-9);
  EXPECT_NEAR(full(0, 3), s02, 1e-6);
  EXPECT_NEAR(full(0, 0), s01, 1e-6);
  framework::Config one = all;
  one.Set("k", "1");
  auto top1 = ScoreUsers(*FitModel("userknn", one, train), 3, 4);
  EXPECT_NEAR(top1(2, 0), s12, 1e-6);
  EXPECT_NEAR(top1(2, 2), 0.0, 1e-9);
  EXPECT_NEAR(top1(0, 3), 0.0, 1e-9);  // u0 keeps only u1, who never saw item 3
}

TEST(Ials, LossDecreasesAcrossIterations) {
  const auto c = testdata::MakeClusters();
  const auto train = MakeTrainData(c.data, c.train_rows, {});
  framework::Config cfg;
  cfg.Set("dim", "8");
  cfg.Set("iterations", "6");
  cfg.Set("alpha", "5");
  cfg.Set("reg", "0.01");  // the default (100) is sized for ~100k interactions; here it would be all the loss
  std::vector<EpochRecord> epochs;
  FitModel("ials", cfg, train, &epochs);
  ASSERT_EQ(epochs.size(), 6u);
  // Each half-sweep is CG on a convex quadratic started at the current factors, so the
  // objective cannot increase (up to float rounding).
  for (size_t k = 1; k < epochs.size(); ++k)
    EXPECT_LE(epochs[k].loss, epochs[k - 1].loss * (1 + 1e-5)) << "iteration " << k + 1;
  EXPECT_LT(epochs.back().loss, 0.8 * epochs.front().loss);
  EXPECT_EQ(epochs.front().epoch, 1);
}

TEST(Ials, ItemFactorsSolveTheirNormalEquationsWithDuplicateCounts) {
  // The last half-sweep solves every item row given the user factors. With at least `dim`
  // CG steps, CG is exact up to rounding, so y_i must satisfy
  //   (XᵀX + reg I + Σ_{u ∈ U_i} (c_ui - 1) x_u x_uᵀ) y_i = Σ_{u ∈ U_i} c_ui x_u,
  // with c_ui = 1 + alpha · (number of times u interacted with i): duplicates count.
  const auto data = FromRows(5, 4,
                             {{0, 0, 1},
                              {0, 0, 1},
                              {0, 0, 1},
                              {0, 1, 1},
                              {1, 1, 1},
                              {1, 2, 1},
                              {2, 2, 1},
                              {2, 2, 1},
                              {2, 3, 1},
                              {3, 0, 1},
                              {3, 3, 1},
                              {4, 1, 1}});
  const auto train = MakeTrainData(data, testdata::AllRows(data), {});
  const double alpha = 2.0, reg = 0.1;
  framework::Config cfg;
  cfg.Set("dim", "3");
  cfg.Set("cg_steps", "6");
  cfg.Set("iterations", "3");
  cfg.Set("alpha", "2");
  cfg.Set("reg", "0.1");
  const auto model = FitModel("ials", cfg, train);
  const Eigen::MatrixXd x = model->GetFactors().user->cast<double>();
  const Eigen::MatrixXd y = model->GetFactors().item->cast<double>();
  // Interaction counts, by hand from the rows above.
  const int count[5][4] = {{3, 1, 0, 0}, {0, 1, 1, 0}, {0, 0, 2, 1}, {1, 0, 0, 1}, {0, 1, 0, 0}};
  for (int i = 0; i < 4; ++i) {
    Eigen::MatrixXd a = x.transpose() * x + reg * Eigen::MatrixXd::Identity(3, 3);
    Eigen::VectorXd b = Eigen::VectorXd::Zero(3);
    for (int u = 0; u < 5; ++u) {
      if (count[u][i] == 0) continue;
      const double c = 1 + alpha * count[u][i];
      a += (c - 1) * x.row(u).transpose() * x.row(u);
      b += c * x.row(u).transpose();
    }
    const Eigen::VectorXd exact = a.ldlt().solve(b);
    EXPECT_LT((y.row(i).transpose() - exact).norm(), 1e-3 * (1 + exact.norm())) << "item " << i;
  }
}

TEST(Bpr, LossDecreases) {
  const auto c = testdata::MakeClusters();
  const auto train = MakeTrainData(c.data, c.train_rows, {});
  framework::Config cfg;
  cfg.Set("dim", "16");
  cfg.Set("lr", "0.05");
  cfg.Set("epochs", "30");
  std::vector<EpochRecord> epochs;
  FitModel("bpr", cfg, train, &epochs);
  ASSERT_EQ(epochs.size(), 30u);
  double first = 0, last = 0;
  for (int k = 0; k < 5; ++k) {
    first += epochs[k].loss;
    last += epochs[epochs.size() - 1 - k].loss;
  }
  EXPECT_NEAR(epochs.front().loss, std::log(2.0), 0.1);  // random factors: σ(x) ≈ 1/2
  EXPECT_LT(last, 0.7 * first);
}

TEST(Bpr, HogwildWithTwoThreadsStillLearns) {
  const auto c = testdata::MakeClusters();
  const auto train = MakeTrainData(c.data, c.train_rows, {});
  framework::Config cfg;
  cfg.Set("dim", "16");
  cfg.Set("lr", "0.05");
  cfg.Set("epochs", "60");
  const auto model = FitModel("bpr", cfg, train, nullptr, 2);
  EXPECT_GT(testdata::HeldOutAuc(c, train, ScoreUsers(*model, Clusters::kUsers, Clusters::kItems)),
            0.7);
}

TEST(Bpr, NegativesNeverComeFromTheUsersRow) {
  // User 0 has every item but one; the only legal negative is item 2, so after training its
  // bias is pushed below every positive's.
  const auto data = FromRows(1, 4, {{0, 0, 1}, {0, 1, 1}, {0, 3, 1}});
  const auto train = MakeTrainData(data, testdata::AllRows(data), {});
  framework::Config cfg;
  cfg.Set("epochs", "50");
  cfg.Set("lr", "0.1");
  const auto model = FitModel("bpr", cfg, train);
  const auto& bias = *model->GetFactors().item_bias;
  for (int i : {0, 1, 3}) EXPECT_GT(bias[i], bias[2]);
}

TEST(Bpr, NegativesNeverComeFromTheUsersRowOnSparseData) {
  // Sparse enough (2k pairs in 1M cells) for the hashed pair set instead of the bitmap.
  // User 0 has every item except item 2; every other user u has item u only. If the
  // membership test were wrong, user 0's ~1000 steps per epoch would spread their negatives
  // evenly; done right, all of them hit item 2, whose bias becomes by far the lowest.
  std::vector<std::tuple<int, int, float>> rows;
  for (int i = 0; i < 1000; ++i)
    if (i != 2) rows.emplace_back(0, i, 1.0f);
  for (int u = 1; u < 1000; ++u) rows.emplace_back(u, u, 1.0f);
  const auto data = FromRows(1000, 1000, rows);
  const auto train = MakeTrainData(data, testdata::AllRows(data), {});
  framework::Config cfg;
  cfg.Set("dim", "4");
  cfg.Set("epochs", "5");
  const auto model = FitModel("bpr", cfg, train);
  const auto& bias = *model->GetFactors().item_bias;
  Eigen::Index lowest;
  bias.minCoeff(&lowest);
  EXPECT_EQ(lowest, 2);
  float second = 1e9f;
  for (Eigen::Index i = 0; i < bias.size(); ++i)
    if (i != 2) second = std::min(second, bias[i]);
  EXPECT_LT(bias[2], second - 0.1f);
}

TEST(Bpr, UserWithEveryItemIsRejectedClearly) {
  const auto data = FromRows(1, 2, {{0, 0, 1}, {0, 1, 1}});
  const auto train = MakeTrainData(data, testdata::AllRows(data), {});
  EXPECT_THROW(FitModel("bpr", {}, train), framework::Error);
}

double GlobalMeanRmse(const TrainData& train) {
  double mean = 0;
  for (float r : train.train.rating) mean += r;
  mean /= static_cast<double>(train.train.size());
  double se = 0;
  for (float r : train.train.rating) se += (r - mean) * (r - mean);
  return std::sqrt(se / static_cast<double>(train.train.size()));
}

TEST(BiasedMf, TrainRmseDecreasesAndBeatsTheGlobalMean) {
  const auto c = testdata::MakeClusters();
  const auto train = MakeTrainData(c.data, c.train_rows, {});
  framework::Config cfg;
  cfg.Set("dim", "8");
  cfg.Set("epochs", "40");
  cfg.Set("lr", "0.02");
  std::vector<EpochRecord> epochs;
  const auto model = FitModel("biasedmf", cfg, train, &epochs);
  ASSERT_EQ(epochs.size(), 40u);
  EXPECT_LT(epochs.back().loss, epochs.front().loss);
  for (size_t k = 5; k < epochs.size(); k += 5) EXPECT_LT(epochs[k].loss, epochs[k - 5].loss) << k;
  // The reported loss is the train RMSE of PredictRating; recompute it here.
  double se = 0;
  for (size_t r = 0; r < train.train.size(); ++r) {
    const double e =
        train.train.rating[r] - model->PredictRating(train.train.user[r], train.train.item[r]);
    se += e * e;
  }
  const double rmse = std::sqrt(se / static_cast<double>(train.train.size()));
  EXPECT_NEAR(rmse, epochs.back().loss, 1e-9);
  const double baseline = GlobalMeanRmse(train);
  EXPECT_LT(rmse, 0.5 * baseline) << "global-mean RMSE " << baseline;
}

TEST(BiasedMf, PredictionsStayInTheTrainingRatingRange) {
  const auto c = testdata::MakeClusters();
  const auto train = MakeTrainData(c.data, c.train_rows, {});
  framework::Config cfg;
  cfg.Set("dim", "8");
  const auto model = FitModel("biasedmf", cfg, train);
  EXPECT_TRUE(model->PredictsRatings());
  for (Index u = 0; u < Clusters::kUsers; ++u)
    for (Index i = 0; i < Clusters::kItems; ++i) {
      const float r = model->PredictRating(u, i);
      EXPECT_GE(r, 1.0f);
      EXPECT_LE(r, 5.0f);
    }
  EXPECT_THROW(model->PredictRating(0, Clusters::kItems), framework::UnknownIdError);
  EXPECT_THROW(model->PredictRating(Clusters::kUsers, 0), framework::UnknownIdError);
}

TEST(BiasedMf, RequiresRatings) {
  const auto data = FromRows(2, 2, {{0, 0, 1}, {1, 1, 1}}, /*with_rating=*/false);
  const auto train = MakeTrainData(data, testdata::AllRows(data), {});
  EXPECT_THROW(FitModel("biasedmf", {}, train), framework::MissingModalityError);
}

}  // namespace
}  // namespace recfuse::models
