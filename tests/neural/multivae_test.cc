// Mult-VAE^PR and Mult-DAE: the neural contract, the loss pieces against hand computations
// (multinomial NLL, the Gaussian KL's closed form), the annealing schedule, learning well
// above popularity, the exported factors reproducing the scores (h W_out^T + b_out), cold
// users, determinism with two threads, and bad configs.
#include "models/general/multivae.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "tests/neural/neural_test_util.h"

namespace recfuse::testing_neural {
namespace {

namespace mv = models::neural::multivae;

framework::Config Small(std::map<std::string, std::string> extra = {}) {
  std::map<std::string, std::string> kv = {
      {"hidden_dims", "32"}, {"latent_dim", "16"}, {"epochs", "3"}, {"batch_size", "100"}};
  for (auto& [k, v] : extra) kv[k] = v;
  return Params(kv);
}

TEST(MultiVae, KeepsTheModelContract) {
  ExpectModelContract("multivae", Small());
  ExpectModelContract("multivae",
                      Small({{"hidden_dims", ""}, {"epochs", "2"}}));  // no hidden layer: h is z
  ExpectModelContract("multivae", Small({{"hidden_dims", "32,24"}, {"epochs", "2"}}));
}

TEST(MultiDae, KeepsTheModelContract) {
  ExpectModelContract("multidae", Small());
  ExpectModelContract("multidae",
                      Small({{"hidden_dims", ""}, {"epochs", "2"}}));  // the notebook's I-K-I
}

// -sum_i x_i log softmax(l)_i, by hand: rows (1, 2, 0) with items 0 and 2, and (0, 0, 3)
// with item 1 counted twice (the formula is linear in x).
TEST(MultiVae, MultinomialNllMatchesHandComputation) {
  const torch::Tensor logits = torch::tensor({1.0f, 2.0f, 0.0f, 0.0f, 0.0f, 3.0f}).view({2, 3});
  const torch::Tensor x = torch::tensor({1.0f, 0.0f, 1.0f, 0.0f, 2.0f, 0.0f}).view({2, 3});
  const double z1 = std::log(std::exp(1.0) + std::exp(2.0) + 1.0);
  const double z2 = std::log(2.0 + std::exp(3.0));
  const double row1 = -((1.0 - z1) + (0.0 - z1));
  const double row2 = -2.0 * (0.0 - z2);
  EXPECT_NEAR(mv::MultinomialNll(logits, x).item<double>(), (row1 + row2) / 2, 1e-5);
}

// KL(N(mu, s^2) || N(0, 1)) = 1/2 (s^2 + mu^2 - 1 - ln s^2) per dimension: 0 at the prior,
// 1/2 for mu = 1, s = 1; (2 + 0.25 - 1 - ln 2) / 2 for mu = 0.5, s^2 = 2; summed over
// dimensions and averaged over rows.
TEST(MultiVae, GaussianKlMatchesClosedForm) {
  const torch::Tensor mu = torch::tensor({0.0f, 1.0f, 0.5f, 0.0f}).view({2, 2});
  const torch::Tensor logvar =
      torch::tensor({0.0f, 0.0f, static_cast<float>(std::log(2.0)), 0.0f}).view({2, 2});
  const double row1 = 0.0 + 0.5, row2 = 0.5 * (2.0 + 0.25 - 1.0 - std::log(2.0)) + 0.0;
  EXPECT_NEAR(mv::GaussianKl(mu, logvar).item<double>(), (row1 + row2) / 2, 1e-6);
  EXPECT_NEAR(mv::GaussianKl(torch::zeros({3, 4}), torch::zeros({3, 4})).item<double>(), 0.0, 1e-7);
  // A Monte-Carlo estimate of E_q[log q - log p] agrees with the closed form.
  torch::manual_seed(5);
  const double m = 0.7, lv = -0.4, s = std::exp(0.5 * lv);
  const torch::Tensor z = m + s * torch::randn({200000}, torch::kDouble);
  const torch::Tensor log_q = -0.5 * ((z - m) / s).pow(2) - std::log(s);
  const torch::Tensor log_p = -0.5 * z.pow(2);
  const double mc = (log_q - log_p).mean().item<double>();
  const double closed = mv::GaussianKl(torch::tensor({static_cast<float>(m)}).view({1, 1}),
                                       torch::tensor({static_cast<float>(lv)}).view({1, 1}))
                            .item<double>();
  EXPECT_NEAR(mc, closed, 0.01);
}

// beta after N steps = min(cap, N / total): 0 at the first step, linear, then flat at the cap.
TEST(MultiVae, AnnealingIsLinearUpToTheCap) {
  EXPECT_EQ(mv::AnnealBeta(0, 0.2, 1000), 0.0);
  EXPECT_DOUBLE_EQ(mv::AnnealBeta(1, 0.2, 1000), 0.001);
  EXPECT_DOUBLE_EQ(mv::AnnealBeta(150, 0.2, 1000), 0.15);
  EXPECT_DOUBLE_EQ(mv::AnnealBeta(200, 0.2, 1000), 0.2);
  EXPECT_DOUBLE_EQ(mv::AnnealBeta(100000, 0.2, 1000), 0.2);
  EXPECT_DOUBLE_EQ(mv::AnnealBeta(7, 0.3, 0), 0.3);   // total 0: the cap from the start
  EXPECT_DOUBLE_EQ(mv::AnnealBeta(3, 2.0, 4), 0.75);  // caps above 1 are reached past total
}

// The KL term is wired to the annealing clock: with anneal_cap 0 the VAE's loss is the NLL
// alone, so the same seed gives a lower first-epoch loss than with the full KL weight from
// step 0 (the KL is positive), and total_anneal_steps large enough to keep beta ~ 0 for the
// whole epoch behaves like cap 0.
TEST(MultiVae, KlWeightFollowsTheSchedule) {
  auto loss1 = [](std::map<std::string, std::string> kv) {
    kv["epochs"] = "1";
    const auto f = FitOn("multivae", Small(kv), "ratio:0.8,0.1,0.1", 3);
    return f->curve.at(0).loss;
  };
  const double none = loss1({{"anneal_cap", "0"}});
  const double full = loss1({{"anneal_cap", "1"}, {"total_anneal_steps", "0"}});
  const double slow = loss1({{"anneal_cap", "1"}, {"total_anneal_steps", "1000000000"}});
  EXPECT_GT(full, none + 1e-3);
  EXPECT_NEAR(slow, none, 1e-3 * std::abs(none));
}

TEST(MultiVae, LearnsWellAbovePopularity) {
  const auto f = FitOn(LearningWorld(), "multivae",
                       Small({{"hidden_dims", "64"}, {"epochs", "60"}, {"lr", "3e-3"}}));
  const double m = ExpectLearnsOnLearningWorld(*f, "multivae", 1.5, 0.7);
  std::printf("  multivae LearningWorld NDCG@10 %.4f (%zu epochs)\n", m, f->curve.size());
}

TEST(MultiDae, LearnsWellAbovePopularity) {
  const auto f = FitOn(LearningWorld(), "multidae",
                       Small({{"hidden_dims", "64"}, {"epochs", "60"}, {"lr", "3e-3"}}));
  const double m = ExpectLearnsOnLearningWorld(*f, "multidae", 1.5, 0.7);
  std::printf("  multidae LearningWorld NDCG@10 %.4f (%zu epochs)\n", m, f->curve.size());
}

// Scores are <h_u, W_out[i]> + b_out[i] with h_u the decoder's tanh hidden layer: the factors
// have the hidden width, lie in [-1, 1], and reproduce every score. Cold users (no training
// row) all share one finite, non-constant ranking: the encoder's response to the zero input.
TEST(MultiVae, FactorsReproduceScoresAndColdUsersShareARanking) {
  for (const char* name : {"multivae", "multidae"}) {
    const auto f = FitOn(name, Small({{"epochs", "2"}}), "cold-user:0.2");
    const auto fac = f->model->GetFactors();
    ASSERT_NE(fac.user, nullptr) << name;
    ASSERT_NE(fac.item, nullptr) << name;
    ASSERT_NE(fac.item_bias, nullptr) << name;
    EXPECT_EQ(fac.user->cols(), 32) << name;
    EXPECT_LE(fac.user->cwiseAbs().maxCoeff(), 1.0f) << name;
    const auto& w = TinyWorld();
    const auto nu = w.data.num_users(), ni = w.data.num_items();
    const models::RowMatrixXf scores = ScoreAll(*f->model, nu, ni);
    models::RowMatrixXf expect = (*fac.user) * fac.item->transpose();
    expect.rowwise() += fac.item_bias->transpose();
    EXPECT_LT((scores - expect).cwiseAbs().maxCoeff(), 1e-4) << name;
    std::vector<datasets::Index> cold;
    for (datasets::Index u = 0; u < nu; ++u)
      if (f->td.matrix.outerIndexPtr()[u + 1] == f->td.matrix.outerIndexPtr()[u]) cold.push_back(u);
    ASSERT_GE(cold.size(), 2u) << name;
    ASSERT_TRUE(scores.allFinite()) << name;
    for (size_t k = 1; k < cold.size(); ++k)
      EXPECT_EQ((scores.row(cold[k]) - scores.row(cold[0])).cwiseAbs().maxCoeff(), 0.0f) << name;
    EXPECT_GT(scores.row(cold[0]).maxCoeff() - scores.row(cold[0]).minCoeff(), 1e-4) << name;
  }
}

// Same seed and thread count, bit-identical scores (the contract checks one thread).
TEST(MultiVae, SameSeedTwoThreadsIsDeterministic) {
  const auto& w = TinyWorld();
  const auto a = FitOn("multivae", Small({{"epochs", "2"}}), "ratio:0.8,0.1,0.1", 4, 2);
  const auto b = FitOn("multivae", Small({{"epochs", "2"}}), "ratio:0.8,0.1,0.1", 4, 2);
  EXPECT_EQ((ScoreAll(*a->model, w.data.num_users(), w.data.num_items()) -
             ScoreAll(*b->model, w.data.num_users(), w.data.num_items()))
                .cwiseAbs()
                .maxCoeff(),
            0.0f);
}

TEST(MultiVae, BadConfigsAreConfigErrorsNamingTheParameter) {
  const auto expect_error = [](const char* name, const std::string& key, const std::string& value) {
    try {
      models::CreateModel(name, Params({{key, value}}));
      ADD_FAILURE() << name << ": " << key << "=" << value << " accepted";
    } catch (const framework::ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
  };
  for (const char* name : {"multivae", "multidae"}) {
    expect_error(name, "negatives", "4");
    expect_error(name, "loss", "bpr");
    expect_error(name, "hidden_dims", "0");
    expect_error(name, "latent_dim", "0");
    expect_error(name, "dropout", "1");
  }
  expect_error("multivae", "anneal_cap", "-1");
  expect_error("multidae", "anneal_cap", "0.2");  // a VAE-only parameter
}

}  // namespace
}  // namespace recfuse::testing_neural
