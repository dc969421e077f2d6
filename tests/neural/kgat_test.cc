// KGAT: the neural contract; the knowledge-aware attention (eq. 4) and its per-head softmax
// on a hand-checkable graph; one Bi-Interaction step (eq. 8) against a hand computation;
// learning above popularity on a world with a KG; a dataset without a KG training on the
// user-item graph alone with the KG recorded absent; determinism at two threads.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "models/knowledge/kgat.h"
#include "tests/neural/neural_test_util.h"

namespace recfuse::testing_neural {
namespace {

namespace kgat = models::neural::kgat;

framework::Config Small(std::map<std::string, std::string> extra = {}) {
  std::map<std::string, std::string> kv = {{"dim", "16"},        {"kg_dim", "16"},     {"layers", "16"},
                                           {"epochs", "3"},      {"batch_size", "512"}, {"kg_batch", "512"},
                                           {"lr", "0.01"}};
  for (auto& [k, v] : extra) kv[k] = v;
  return Params(kv);
}

TEST(Kgat, KeepsTheModelContract) { ExpectModelContract("kgat", Small()); }

// Nodes 0, 1, 2; edges 0 -r0-> 1, 0 -r1-> 2, 1 -r0-> 0; d = k = 2, e W_r as row vectors.
TEST(Kgat, AttentionIsThePapersScoreSoftmaxedOverEachHeadsNeighbours) {
  kgat::Edges g;
  g.num_nodes = 3;
  g.num_relations = 2;
  g.head = {0, 0, 1};
  g.tail = {1, 2, 0};
  g.relation = {0, 1, 0};
  const torch::Tensor ego = torch::tensor({1.0f, 0.0f, 0.0f, 1.0f, 1.0f, 1.0f}).view({3, 2});
  const torch::Tensor rel = torch::tensor({0.0f, 0.0f, 0.5f, -0.5f}).view({2, 2});
  // W_0 = I; W_1 swaps the coordinates.
  const torch::Tensor transfer = torch::tensor({1.0f, 0.0f, 0.0f, 1.0f, 0.0f, 1.0f, 1.0f, 0.0f}).view({2, 2, 2});
  const torch::Tensor w = kgat::AttentionWeights(g, ego, rel, transfer);
  ASSERT_EQ(w.numel(), 3);
  // pi(0, r0, 1) = (0, 1) . tanh((1, 0) + 0) = 0.
  // pi(0, r1, 2) = ((1,1) W_1) . tanh((1,0) W_1 + (0.5, -0.5)) = (1, 1) . tanh((0.5, 0.5)) = 2 tanh(0.5).
  const double p01 = 0.0, p02 = 2 * std::tanh(0.5);
  const double z = std::exp(p01) + std::exp(p02);
  EXPECT_NEAR(w[0].item<float>(), std::exp(p01) / z, 1e-6);
  EXPECT_NEAR(w[1].item<float>(), std::exp(p02) / z, 1e-6);
  EXPECT_NEAR(w[2].item<float>(), 1.0, 1e-6);  // node 1's only neighbour
  EXPECT_NEAR(w[0].item<float>() + w[1].item<float>(), 1.0, 1e-6);

  // On a random CKG-like graph: weights >= 0 and sum to 1 over every head's edges.
  kgat::Edges r;
  r.num_nodes = 6;
  r.num_relations = 3;
  for (int64_t h = 0; h < 6; ++h)
    for (int64_t t = 0; t < 6; ++t)
      if (t != h && (h + 2 * t) % 3 != 0) {
        r.head.push_back(h);
        r.tail.push_back(t);
        r.relation.push_back((h * t) % 3);
      }
  torch::manual_seed(5);
  const torch::Tensor wr =
      kgat::AttentionWeights(r, torch::randn({6, 4}), torch::randn({3, 3}), torch::randn({3, 4, 3}));
  std::vector<double> sum(6, 0.0);
  for (size_t k = 0; k < r.head.size(); ++k) {
    const float v = wr[static_cast<int64_t>(k)].item<float>();
    EXPECT_GE(v, 0.0f);
    sum[static_cast<size_t>(r.head[k])] += v;
  }
  for (int64_t h = 0; h < 6; ++h) EXPECT_NEAR(sum[static_cast<size_t>(h)], 1.0, 1e-5) << "head " << h;
}

// e = [[1, 2], [3, -1]], A = [[0, 0.5], [1, 0]]: e_N = [[1.5, -0.5], [1, 2]].
// W1 = I, b1 = (-3, 0); W2 = [[1, 1], [0, -1]], b2 = (0, 0.1); LeakyReLU slope 0.01.
//   node 0: W1(e + e_N) + b1 = (2.5 - 3, 1.5) = (-0.5, 1.5) -> (-0.005, 1.5)
//           W2(e (.) e_N) + b2 = W2 (1.5, -1) + b2 = (0.5, 1.1) -> (0.5, 1.1)   sum (0.495, 2.6)
//   node 1: W1 (4, 1) + b1 = (1, 1);  W2 (3, -2) + b2 = (1, 2.1)               sum (2, 3.1)
TEST(Kgat, OneBiInteractionStepMatchesAHandComputation) {
  kgat::Edges g;
  g.num_nodes = 2;
  g.num_relations = 1;
  g.head = {0, 1};
  g.tail = {1, 0};
  g.relation = {0, 0};
  const torch::Tensor adj = kgat::ToCsr(g, torch::tensor({0.5f, 1.0f}));
  torch::nn::Linear w1(2, 2), w2(2, 2);
  {
    torch::NoGradGuard no_grad;
    w1->weight.copy_(torch::tensor({1.0f, 0.0f, 0.0f, 1.0f}).view({2, 2}));
    w1->bias.copy_(torch::tensor({-3.0f, 0.0f}));
    w2->weight.copy_(torch::tensor({1.0f, 1.0f, 0.0f, -1.0f}).view({2, 2}));
    w2->bias.copy_(torch::tensor({0.0f, 0.1f}));
  }
  const torch::Tensor ego = torch::tensor({1.0f, 2.0f, 3.0f, -1.0f}).view({2, 2}).requires_grad_(true);
  const torch::Tensor out = kgat::BiInteraction(adj, ego, w1, w2);
  const std::vector<float> want = {0.495f, 2.6f, 2.0f, 3.1f};
  for (int64_t k = 0; k < 4; ++k) EXPECT_NEAR(out.view({-1})[k].item<float>(), want[static_cast<size_t>(k)], 1e-5);
  // Differentiable in the node vectors (the gradient reaches node 1 through node 0's message).
  out.sum().backward();
  ASSERT_TRUE(ego.grad().defined());
  EXPECT_GT(ego.grad().abs().sum().item<float>(), 0.0f);
}

// On LearningWorld (see neural_test_util.h; CKE's bars).
TEST(Kgat, LearnsWellAbovePopularity) {
  const auto f = FitOn(LearningWorld(), "kgat", Small({{"epochs", "15"}}));
  const double m = ExpectLearnsOnLearningWorld(*f, "kgat", 1.4, 0.6);
  std::printf("  kgat LearningWorld NDCG@10 %.4f (%zu epochs)\n", m, f->curve.size());
  const auto kg = RecordedModality(*f->model, "kg");
  ASSERT_TRUE(kg.has_value());
  EXPECT_TRUE(kg->available);
  EXPECT_GT(kg->items_present, 0);
}

// Without a KG the CKG is the user-item graph: same scores as use_kg=false, KG recorded absent.
TEST(Kgat, ADatasetWithoutKgTrainsOnTheUserItemGraphAndRecordsTheKgAbsent) {
  ExpectAbsentModalitiesAreMasked("kgat", Small({{"epochs", "2"}}), {"kg"}, {});
}

TEST(Kgat, SameSeedAndThreadsGiveIdenticalScoresAtTwoThreads) {
  const auto a = FitOn("kgat", Small({{"epochs", "1"}}), "ratio:0.8,0.1,0.1", 4, /*threads=*/2);
  const auto b = FitOn("kgat", Small({{"epochs", "1"}}), "ratio:0.8,0.1,0.1", 4, /*threads=*/2);
  const auto& w = TinyWorld().data;
  EXPECT_EQ((ScoreAll(*a->model, w.num_users(), w.num_items()) - ScoreAll(*b->model, w.num_users(), w.num_items()))
                .cwiseAbs()
                .maxCoeff(),
            0.0f);
}

TEST(Kgat, BadConfigValuesAreConfigErrors) {
  EXPECT_THROW(models::CreateModel("kgat", Params({{"layers", "0"}})), framework::ConfigError);
  EXPECT_THROW(models::CreateModel("kgat", Params({{"mess_dropout", "1"}})), framework::ConfigError);
  EXPECT_THROW(models::CreateModel("kgat", Params({{"kg_batch", "0"}})), framework::ConfigError);
  EXPECT_THROW(models::CreateModel("kgat", Params({{"reg", "-1"}})), framework::ConfigError);
}

}  // namespace
}  // namespace recfuse::testing_neural
