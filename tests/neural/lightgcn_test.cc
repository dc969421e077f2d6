// LightGCN: the neural contract, learning above popularity, the exported factors being the
// layer-mean propagation of the ego embeddings (eq. 8), and cold items scoring zero.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "tests/neural/neural_test_util.h"

namespace recfuse::testing_neural {
namespace {

framework::Config Small(std::map<std::string, std::string> extra = {}) {
  std::map<std::string, std::string> kv = {{"dim", "16"}, {"epochs", "3"}, {"lr", "0.01"}, {"batch_size", "1024"}};
  for (auto& [k, v] : extra) kv[k] = v;
  return Params(kv);
}

TEST(LightGcn, KeepsTheModelContract) {
  ExpectModelContract("lightgcn", Small());
  ExpectModelContract("lightgcn", Small({{"layers", "0"}, {"epochs", "2"}}));  // K = 0: plain MF
}

TEST(LightGcn, LearnsWellAbovePopularity) {
  const auto f = FitOn(LearningWorld(), "lightgcn", Small({{"epochs", "30"}}));
  const double m = ExpectLearnsOnLearningWorld(*f, "lightgcn", 1.5, 0.7);
  std::printf("  lightgcn LearningWorld NDCG@10 %.4f (%zu epochs)\n", m, f->curve.size());
}

// Cold items are isolated nodes with untrained ego embeddings: zero factors, zero scores;
// and the scores are the dot product of the exported factors (full ranking by GEMM).
TEST(LightGcn, ColdItemsScoreZeroAndFactorsReproduceScores) {
  const auto f = FitOn("lightgcn", Small({{"epochs", "2"}}), "cold-item:0.2");
  const auto factors = f->model->GetFactors();
  ASSERT_NE(factors.user, nullptr);
  ASSERT_NE(factors.item, nullptr);
  EXPECT_EQ(factors.user->cols(), 16);
  const auto& w = TinyWorld();
  std::vector<bool> warm(static_cast<size_t>(w.data.num_items()), false);
  for (int64_t k = 0; k < f->td.matrix.nonZeros(); ++k) warm[static_cast<size_t>(f->td.matrix.innerIndexPtr()[k])] = true;
  const models::RowMatrixXf scores = ScoreAll(*f->model, w.data.num_users(), w.data.num_items());
  int cold = 0;
  for (datasets::Index i = 0; i < w.data.num_items(); ++i) {
    if (warm[static_cast<size_t>(i)]) {
      EXPECT_GT(factors.item->row(i).cwiseAbs().maxCoeff(), 0.0f) << "warm item " << i;
      continue;
    }
    ++cold;
    EXPECT_EQ(factors.item->row(i).cwiseAbs().maxCoeff(), 0.0f) << "cold item " << i;
  }
  EXPECT_GT(cold, 0);
  for (datasets::Index u : {datasets::Index{0}, datasets::Index{17}})
    for (datasets::Index i : {datasets::Index{0}, datasets::Index{5}, w.data.num_items() - 1})
      EXPECT_NEAR(scores(u, i), factors.user->row(u).dot(factors.item->row(i)), 1e-4);
}

// Propagation matters: with layers 0 a user's and an item's factor are their ego
// embeddings; with K layers a user's factor moves toward its items' (the smoothing of eq. 7).
// Checked through the model: after training with K=3 the mean cosine between a user's factor
// and the mean factor of its training items is higher than with K=0 (same seed, epochs).
TEST(LightGcn, PropagationSmoothsUsersTowardTheirItems) {
  const auto closeness = [](const Fitted& f) {
    const auto fac = f.model->GetFactors();
    double sum = 0;
    int n = 0;
    for (int64_t u = 0; u < f.td.matrix.rows(); ++u) {
      Eigen::RowVectorXf mean = Eigen::RowVectorXf::Zero(fac.item->cols());
      int c = 0;
      for (models::SpMat::InnerIterator it(f.td.matrix, u); it; ++it, ++c) mean += fac.item->row(it.col());
      if (c == 0) continue;
      sum += fac.user->row(u).dot(mean) / (fac.user->row(u).norm() * mean.norm() + 1e-12);
      ++n;
    }
    return sum / n;
  };
  const double k0 = closeness(*FitOn("lightgcn", Small({{"layers", "0"}, {"epochs", "2"}, {"lr", "0.001"}})));
  const double k3 = closeness(*FitOn("lightgcn", Small({{"layers", "3"}, {"epochs", "2"}, {"lr", "0.001"}})));
  std::printf("  user-to-own-items cosine: K=0 %.3f, K=3 %.3f\n", k0, k3);
  EXPECT_GT(k3, k0 + 0.2);
}

}  // namespace
}  // namespace recfuse::testing_neural
