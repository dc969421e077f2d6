// NeuMF: the neural contract, learning above popularity, the split-first-layer scoring
// against a hand computation, and the tower switches.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "models/serialize.h"
#include "tests/neural/neural_test_util.h"

namespace recfuse::testing_neural {
namespace {

framework::Config Small(std::map<std::string, std::string> extra = {}) {
  std::map<std::string, std::string> kv = {{"gmf_dim", "8"},      {"mlp_dim", "8"}, {"layers", "16,8"},
                                           {"epochs", "3"},       {"lr", "0.005"},  {"batch_size", "1024"},
                                           {"negatives", "2"}};
  for (auto& [k, v] : extra) kv[k] = v;
  return Params(kv);
}

TEST(NeuMf, KeepsTheModelContract) { ExpectModelContract("neumf", Small()); }

TEST(NeuMf, KeepsTheModelContractWithOneTowerAndBprLoss) {
  ExpectModelContract("neumf", Small({{"use_gmf", "false"}, {"epochs", "2"}}));
  ExpectModelContract("neumf", Small({{"use_mlp", "false"}, {"loss", "bpr"}, {"epochs", "2"}}));
}

// On LearningWorld, where preference, not popularity, decides (see neural_test_util.h).
// Measured 2026-11-29: NDCG@10 0.179 vs pop 0.087 (2.1x), EASE 0.208 (0.86 of it), BPR 0.188.
TEST(NeuMf, LearnsWellAbovePopularity) {
  const auto nm = FitOn(LearningWorld(), "neumf", Small({{"epochs", "25"}, {"negatives", "4"}, {"patience", "5"}}));
  ExpectLearnsOnLearningWorld(*nm, "neumf", 1.5, 0.7);
}

// A hand-made model file (2 users, 3 items, GMF dim 2, MLP dim 1 -> layers 2-1) whose
// scores are computed here independently in double: w^T [p_u * q_i; relu(W2 relu(W1 [p'_u;
// q'_i] + b1) + b2)] + b. The file holds the split first layer: A_u = W1[:, :1] p'_u + b1,
// B_i = W1[:, 1:] q'_i, and p_u * w_gmf.
TEST(NeuMf, ScoresMatchAHandComputedNetwork) {
  const double p[2][2] = {{0.5, -1.0}, {2.0, 0.25}};          // GMF user embeddings
  const double q[3][2] = {{1.0, 0.0}, {-0.5, 0.5}, {0.3, 2.0}};  // GMF item embeddings
  const double pm[2] = {1.5, -0.5};                           // MLP user embeddings (dim 1)
  const double qm[3] = {0.2, -1.0, 0.7};                      // MLP item embeddings
  const double w1[2][2] = {{0.4, -0.3}, {-0.6, 0.9}};          // layer 1: [2 out, 2 in]
  const double b1[2] = {0.1, -0.2};
  const double w2[1][2] = {{0.7, -1.1}};                       // layer 2: [1 out, 2 in]
  const double b2[1] = {0.05};
  const double w[3] = {0.8, -0.4, 1.3};                        // predict: 2 GMF + 1 MLP
  const double bias = -0.15;

  models::RowMatrixXf gu(2, 2), gi(3, 2), mu(2, 2), mi(3, 2), hw(1, 2), hb(1, 1), ow(1, 1);
  for (int u = 0; u < 2; ++u)
    for (int d = 0; d < 2; ++d) gu(u, d) = static_cast<float>(p[u][d] * w[d]);
  for (int i = 0; i < 3; ++i)
    for (int d = 0; d < 2; ++d) gi(i, d) = static_cast<float>(q[i][d]);
  for (int u = 0; u < 2; ++u)
    for (int o = 0; o < 2; ++o) mu(u, o) = static_cast<float>(w1[o][0] * pm[u] + b1[o]);
  for (int i = 0; i < 3; ++i)
    for (int o = 0; o < 2; ++o) mi(i, o) = static_cast<float>(w1[o][1] * qm[i]);
  hw << static_cast<float>(w2[0][0]), static_cast<float>(w2[0][1]);
  hb << static_cast<float>(b2[0]);
  ow << static_cast<float>(w[2]);
  std::stringstream blob;
  models::WriteHeader(blob, "neumf");
  models::WritePod<int64_t>(blob, 2);
  models::WritePod<int64_t>(blob, 3);
  models::WritePod<int64_t>(blob, 1);
  for (const auto* m : {&gu, &gi, &mu, &mi, &hw, &hb, &ow}) models::WriteMatrix(blob, *m);
  models::WritePod<float>(blob, static_cast<float>(bias));

  auto model = models::CreateModel("neumf", Params({}));
  model->Load(blob);
  const models::RowMatrixXf s = ScoreAll(*model, 2, 3);
  for (int u = 0; u < 2; ++u)
    for (int i = 0; i < 3; ++i) {
      double h1[2];
      for (int o = 0; o < 2; ++o) h1[o] = std::max(0.0, w1[o][0] * pm[u] + w1[o][1] * qm[i] + b1[o]);
      const double h2 = std::max(0.0, w2[0][0] * h1[0] + w2[0][1] * h1[1] + b2[0]);
      const double expect = w[0] * p[u][0] * q[i][0] + w[1] * p[u][1] * q[i][1] + w[2] * h2 + bias;
      EXPECT_NEAR(s(u, i), expect, 1e-5) << "user " << u << " item " << i;
    }
}

TEST(NeuMf, RejectsBadArchitectures) {
  EXPECT_THROW(models::CreateModel("neumf", Params({{"use_gmf", "false"}, {"use_mlp", "false"}})),
               framework::ConfigError);
  EXPECT_THROW(models::CreateModel("neumf", Params({{"layers", "16,0"}})), framework::ConfigError);
  EXPECT_THROW(models::CreateModel("neumf", Params({{"loss", "softmax"}})), framework::ConfigError);
}

}  // namespace
}  // namespace recfuse::testing_neural
