// Item-item linear models of issue #17 (rp3beta, slim, admmslim): each against a hand
// computation or the optimality conditions of its objective, plus thread-count independence
// on data large enough to split the work, and bad configurations.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <sstream>

#include "framework/error.h"
#include "framework/rng.h"
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
                                      const TrainData& train, int threads = 1,
                                      std::vector<EpochRecord>* epochs = nullptr) {
  auto model = CreateModel(name, config);
  FitContext ctx;
  ctx.threads = threads;
  if (epochs) ctx.on_epoch = [epochs](const EpochRecord& r) { epochs->push_back(r); };
  model->Fit(train, ctx);
  return model;
}

framework::Config Cfg(std::initializer_list<std::pair<const char*, const char*>> kv) {
  framework::Config c;
  for (const auto& [k, v] : kv) c.Set(k, v, "test");
  return c;
}

// The item-item weight matrix W (row = the history item, column = the scored item) of a
// fitted rp3beta / slim / admmslim, read back from its model file (header, users, items, X, W).
Eigen::MatrixXd Weights(const Recommender& m, const std::string& name) {
  std::stringstream buf;
  m.Save(buf);
  ReadHeader(buf, name);
  ReadPod<int64_t>(buf);
  ReadPod<int64_t>(buf);
  SpMat x, w;
  classic_internal::ReadSparse(buf, x);
  classic_internal::ReadSparse(buf, w);
  return Eigen::MatrixXd(w.cast<double>());
}

std::string SavedBytes(const Recommender& m) {
  std::stringstream buf;
  m.Save(buf);
  return buf.str();
}

Eigen::MatrixXd DenseX(const TrainData& t) { return Eigen::MatrixXd(t.matrix.cast<double>()); }

// Random binary data: `users` x `items`, each cell present with probability `density`.
datasets::Dataset RandomData(int users, int items, double density, uint64_t seed) {
  framework::Rng rng(seed);
  std::vector<std::tuple<int, int, float>> rows;
  for (int u = 0; u < users; ++u)
    for (int i = 0; i < items; ++i)
      if (rng.Uniform() < density * (1.0 + 2.0 * (i % 3 == 0))) rows.emplace_back(u, i, 1.0f);
  return FromRows(users, items, rows, false);
}

// Three users: u0 {0,1,2}, u1 {0,1}, u2 {1,3}; |I_u| = 3, 2, 2; pop = |U_i| = 2, 3, 1, 1.
datasets::Dataset Rp3Example() {
  return FromRows(3, 4,
                  {{0, 0, 1}, {0, 1, 1}, {0, 2, 1}, {1, 0, 1}, {1, 1, 1}, {2, 1, 1}, {2, 3, 1}});
}

TEST(Rp3Beta, MatchesHandComputedWalkOn3x4) {
  const auto data = Rp3Example();
  const auto train = MakeTrainData(data, testdata::AllRows(data), {});
  // alpha = 1: (P_iu P_ui) rows are  0: [5/12, 5/12, 1/6, 0]   1: [5/18, 4/9, 1/9, 1/6]
  //                                  2: [1/3, 1/3, 1/3, 0]     3: [0, 1/2, 0, 1/2];
  // beta = 0.5 divides column j by sqrt(pop_j) = sqrt(2), sqrt(3), 1, 1; the diagonal is 0.
  const double r2 = std::sqrt(2.0), r3 = std::sqrt(3.0);
  const double w[4][4] = {{0, 5.0 / 12 / r3, 1.0 / 6, 0},
                          {5.0 / 18 / r2, 0, 1.0 / 9, 1.0 / 6},
                          {1.0 / 3 / r2, 1.0 / 3 / r3, 0, 0},
                          {0, 0.5 / r3, 0, 0}};
  const auto model = FitModel("rp3beta",
                              Cfg({{"alpha", "1"}, {"beta", "0.5"}, {"normalize_similarity", "false"}}),
                              train);
  const Eigen::MatrixXd got = Weights(*model, "rp3beta");
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) EXPECT_NEAR(got(i, j), w[i][j], 1e-6) << i << "," << j;
  const auto s = ScoreUsers(*model, 3, 4);  // score(u, .) = X_u W: u1 = rows 0 + 1
  EXPECT_NEAR(s(1, 0), 5.0 / 18 / r2, 1e-6);
  EXPECT_NEAR(s(1, 1), 5.0 / 12 / r3, 1e-6);
  EXPECT_NEAR(s(1, 2), 1.0 / 6 + 1.0 / 9, 1e-6);
  EXPECT_NEAR(s(1, 3), 1.0 / 6, 1e-6);

  // k = 1 keeps each row's largest entry: 0 -> 1 (0.2406 > 1/6), 1 -> 0 (0.1964 > 1/6),
  // 2 -> 0 (0.2357), 3 -> 1 (0.2887); then each column its largest: column 0 keeps row 2
  // (0.2357 > 0.1964), column 1 row 3 (0.2887 > 0.2406).
  const auto top1 = FitModel("rp3beta", Cfg({{"alpha", "1"}, {"beta", "0.5"}, {"k", "1"}, {"normalize_similarity", "false"}}), train);
  Eigen::MatrixXd expected = Eigen::MatrixXd::Zero(4, 4);
  expected(2, 0) = w[2][0];
  expected(3, 1) = w[3][1];
  EXPECT_TRUE(Weights(*top1, "rp3beta").isApprox(expected, 1e-6)) << Weights(*top1, "rp3beta");
  // normalize_similarity makes each row's kept weight 1 before the column cut, whose ties
  // then go to the smaller row: column 0 keeps row 1, column 1 row 0.
  const auto top1n = FitModel(
      "rp3beta", Cfg({{"alpha", "1"}, {"beta", "0.5"}, {"k", "1"}, {"normalize_similarity", "true"}}),
      train);
  expected.setZero();
  expected(1, 0) = expected(0, 1) = 1;
  EXPECT_TRUE(Weights(*top1n, "rp3beta") == expected) << Weights(*top1n, "rp3beta");

  // alpha = 0.5 raises each step probability to the power 0.5: W_10 =
  // (sqrt(1/3)·sqrt(1/3) [via u0] + sqrt(1/3)·sqrt(1/2) [via u1]) / sqrt(pop_0 = 2), W_30 = 0.
  const auto half = FitModel(
      "rp3beta", Cfg({{"alpha", "0.5"}, {"beta", "0.5"}, {"normalize_similarity", "false"}}), train);
  const auto sh = ScoreUsers(*half, 3, 4);
  EXPECT_NEAR(sh(2, 0), (1.0 / 3 + std::sqrt(1.0 / 6)) / r2, 1e-6);
}

// ElasticNet KKT conditions of column j (sklearn's scaling): with
// g_k = (1/n) X_kᵀ(Xw - X_j) + alpha(1 - l1_ratio) w_k and l1 = alpha·l1_ratio,
// w_k > 0 => g_k = -l1;  w_k < 0 => g_k = l1;  w_k = 0 => -l1 <= g_k (<= l1 unless positive_only).
void ExpectKkt(const Eigen::MatrixXd& x, const Eigen::MatrixXd& w, double alpha, double l1_ratio,
               bool positive, double tol) {
  const double n = static_cast<double>(x.rows());
  const double l1 = alpha * l1_ratio, l2 = alpha * (1 - l1_ratio);
  const Eigen::MatrixXd grad = x.transpose() * (x * w - x) / n + l2 * w;
  int checked_active = 0;
  for (Eigen::Index j = 0; j < w.cols(); ++j) {
    EXPECT_EQ(w(j, j), 0.0) << "w_jj, j=" << j;
    for (Eigen::Index k = 0; k < w.rows(); ++k) {
      if (k == j) continue;
      const double g = grad(k, j), v = w(k, j);
      if (v > 0) {
        EXPECT_NEAR(g, -l1, tol) << "active k=" << k << " j=" << j;
        ++checked_active;
      } else if (v < 0) {
        EXPECT_FALSE(positive) << "negative weight k=" << k << " j=" << j;
        EXPECT_NEAR(g, l1, tol) << "active k=" << k << " j=" << j;
        ++checked_active;
      } else {
        EXPECT_GE(g, -l1 - tol) << "inactive k=" << k << " j=" << j;
        if (!positive) EXPECT_LE(g, l1 + tol) << "inactive k=" << k << " j=" << j;
      }
    }
  }
  EXPECT_GT(checked_active, 10);
}

TEST(Slim, SolutionSatisfiesElasticNetKktAndIsSparseWithZeroDiagonal) {
  const auto data = RandomData(40, 15, 0.15, 11);
  const auto train = MakeTrainData(data, testdata::AllRows(data), {});
  const Eigen::MatrixXd x = DenseX(train);
  for (const bool positive : {true, false}) {
    const auto model = FitModel("slim",
                                Cfg({{"alpha", "0.02"},
                                     {"l1_ratio", "0.3"},
                                     {"positive_only", positive ? "true" : "false"},
                                     {"tol", "1e-12"},
                                     {"max_iter", "100000"}}),
                                train);
    const Eigen::MatrixXd w = Weights(*model, "slim");
    SCOPED_TRACE(positive ? "positive_only" : "signed");
    ExpectKkt(x, w, 0.02, 0.3, positive, 2e-6);
    const int64_t zeros = (w.array() == 0).count() - w.rows();
    EXPECT_GT(zeros, w.size() / 10) << "the L1 term should zero out a share of W";
    EXPECT_LT(zeros, w.size() - w.rows()) << "W is all zero";
    if (!positive) EXPECT_LT(w.minCoeff(), 0.0) << "the signed problem should use negative weights";
  }
}

TEST(Slim, DefaultToleranceStopsNearTheOptimum) {
  // sklearn's stopping rule (duality gap < 1e-4·||X_j||²) leaves W close to the tight solve.
  const auto data = RandomData(40, 15, 0.15, 12);
  const auto train = MakeTrainData(data, testdata::AllRows(data), {});
  const auto loose = Weights(*FitModel("slim", Cfg({{"alpha", "0.02"}}), train), "slim");
  const auto tight =
      Weights(*FitModel("slim", Cfg({{"alpha", "0.02"}, {"tol", "1e-12"}, {"max_iter", "100000"}}),
                        train),
              "slim");
  EXPECT_LT((loose - tight).cwiseAbs().maxCoeff(), 1e-2);
  EXPECT_GT(tight.cwiseAbs().maxCoeff(), 0.05);
}

TEST(Slim, TopKKeepsTheLargestWeightsPerColumn) {
  const auto data = RandomData(40, 15, 0.2, 13);
  const auto train = MakeTrainData(data, testdata::AllRows(data), {});
  const auto all = Weights(*FitModel("slim", Cfg({{"alpha", "0.01"}}), train), "slim");
  const auto top = Weights(*FitModel("slim", Cfg({{"alpha", "0.01"}, {"topk", "2"}}), train), "slim");
  for (Eigen::Index j = 0; j < all.cols(); ++j) {
    EXPECT_LE((top.col(j).array() != 0).count(), 2);
    std::vector<double> v(all.col(j).data(), all.col(j).data() + all.rows());
    std::sort(v.rbegin(), v.rend());
    for (Eigen::Index k = 0; k < all.rows(); ++k)
      if (top(k, j) != 0) {
        EXPECT_EQ(top(k, j), all(k, j));
        EXPECT_GE(all(k, j), v[1]);
      }
  }
}

TEST(AdmmSlim, WithoutL1AndSignConstraintConvergesToEase) {
  // λ1 = 0 and no projection make C = B a fixed point of (G + λ2 I)B = G - dMat(γ): EASE with
  // reg_weight = λ2. ρ = λ2 contracts the error by >= 2 per iteration.
  const Clusters c = testdata::MakeClusters();
  const auto train = MakeTrainData(c.data, c.train_rows, {});
  const auto admm = FitModel("admmslim",
                             Cfg({{"lambda1", "0"},
                                  {"lambda2", "20"},
                                  {"rho", "20"},
                                  {"k", "200"},
                                  {"positive_only", "false"}}),
                             train);
  const auto ease = FitModel("ease", Cfg({{"reg_weight", "20"}}), train);
  const Eigen::MatrixXd c_admm = Weights(*admm, "admmslim");
  // EASE's B, by the scores of one-item users: B = I·B. Here from its closed form instead.
  const Eigen::MatrixXd x = DenseX(train);
  Eigen::MatrixXd p = (x.transpose() * x + 20.0 * Eigen::MatrixXd::Identity(x.cols(), x.cols()))
                          .inverse();
  Eigen::MatrixXd b(p.rows(), p.cols());
  for (Eigen::Index i = 0; i < p.rows(); ++i)
    for (Eigen::Index j = 0; j < p.cols(); ++j) b(i, j) = i == j ? 0 : -p(i, j) / p(j, j);
  EXPECT_LT((c_admm - b).cwiseAbs().maxCoeff(), 1e-5);
  EXPECT_GT(b.cwiseAbs().maxCoeff(), 0.05);
  const RowMatrixXf sa = ScoreUsers(*admm, Clusters::kUsers, Clusters::kItems);
  const RowMatrixXf se = ScoreUsers(*ease, Clusters::kUsers, Clusters::kItems);
  EXPECT_LT((sa - se).cwiseAbs().maxCoeff(), 1e-4);
}

TEST(AdmmSlim, L1GivesSparseNonnegativeWeightsWithZeroDiagonalAndConverges) {
  const Clusters c = testdata::MakeClusters();
  const auto train = MakeTrainData(c.data, c.train_rows, {});
  std::vector<EpochRecord> epochs;
  const auto model = FitModel(
      "admmslim", Cfg({{"lambda1", "5"}, {"lambda2", "50"}, {"rho", "100"}, {"k", "150"}}), train,
      1, &epochs);
  const Eigen::MatrixXd w = Weights(*model, "admmslim");
  EXPECT_TRUE(w.diagonal().isZero(0));
  EXPECT_GE(w.minCoeff(), 0.0);
  const int64_t nonzero = (w.array() != 0).count();
  EXPECT_GT(nonzero, 40);
  EXPECT_LT(nonzero, w.size() / 2) << "λ1/ρ = 0.05 should zero out most pairs";
  ASSERT_EQ(epochs.size(), 150u);
  EXPECT_LT(epochs.back().loss, 1e-3 * epochs.front().loss) << "primal residual ||B - C||";
}

TEST(AdmmSlim, RefusesMoreItemsThanMaxItemsWithConfigError) {
  const auto data = FromRows(2, 5, {{0, 0, 1}, {1, 4, 1}});
  const auto train = MakeTrainData(data, testdata::AllRows(data), {});
  try {
    FitModel("admmslim", Cfg({{"max_items", "4"}}), train);
    FAIL() << "expected ConfigError";
  } catch (const framework::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("max_items=4"), std::string::npos) << e.what();
  }
}

TEST(LinearModels, LearnTheClustersFarBetterThanPop) {
  const Clusters c = testdata::MakeClusters();
  const auto train = MakeTrainData(c.data, c.train_rows, {});
  const double pop = testdata::HeldOutAuc(
      c, train, ScoreUsers(*FitModel("pop", {}, train), Clusters::kUsers, Clusters::kItems));
  for (const char* name : {"rp3beta", "slim", "admmslim"}) {
    framework::Config cfg;
    if (std::string(name) == "slim") cfg.Set("alpha", "0.01");  // defaults sized for 943 users
    const double auc = testdata::HeldOutAuc(
        c, train, ScoreUsers(*FitModel(name, cfg, train), Clusters::kUsers, Clusters::kItems));
    EXPECT_GT(auc, 0.85) << name;
    EXPECT_GT(auc, pop + 0.25) << name << " vs pop " << pop;
  }
}

TEST(LinearModels, TwoThreadsGiveBitIdenticalModels) {
  // 300 items: several parallel chunks for every model (ADMM-SLIM's blocks are 128 columns).
  const auto data = RandomData(200, 300, 0.03, 21);
  const auto train = MakeTrainData(data, testdata::AllRows(data), {});
  const std::vector<std::pair<std::string, framework::Config>> cases = {
      {"rp3beta", Cfg({{"k", "20"}})},
      {"slim", Cfg({{"alpha", "0.01"}})},
      {"slim", Cfg({{"alpha", "0.01"}, {"positive_only", "false"}, {"topk", "10"}})},
      {"admmslim", Cfg({{"k", "10"}, {"rho", "100"}, {"lambda2", "20"}, {"lambda1", "0.5"}})},
  };
  for (const auto& [name, cfg] : cases) {
    const std::string one = SavedBytes(*FitModel(name, cfg, train, 1));
    EXPECT_EQ(one, SavedBytes(*FitModel(name, cfg, train, 2))) << name;
    EXPECT_EQ(one, SavedBytes(*FitModel(name, cfg, train, 3))) << name;
  }
}

TEST(LinearModels, BadHyperparametersAreConfigErrorsNamingTheParameter) {
  const std::vector<std::tuple<std::string, std::string, std::string>> bad = {
      {"rp3beta", "k", "0"},          {"rp3beta", "beta", "-1"},
      {"rp3beta", "normalize_similarity", "maybe"},
      {"slim", "alpha", "0"},         {"slim", "l1_ratio", "1.5"},
      {"slim", "max_iter", "0"},      {"slim", "topk", "-2"},
      {"admmslim", "rho", "0"},       {"admmslim", "lambda2", "-1"},
      {"admmslim", "k", "-1"},        {"admmslim", "positive_only", "2"},
  };
  for (const auto& [model, key, value] : bad) {
    framework::Config c;
    c.Set(key, value, "--set");
    try {
      CreateModel(model, c);
      ADD_FAILURE() << model << "." << key << "=" << value << " accepted";
    } catch (const framework::ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace recfuse::models
