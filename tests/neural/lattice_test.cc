// LATTICE: the neural contract, switches and bad configs, learning on LearningWorld, cold
// items scored from their content; and hand-computed checks of the MMRec-family helpers
// (models/multimodal/mm_common.h) the four models share.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "models/multimodal/mm_common.h"
#include "tests/neural/mm_family_test_util.h"
#include "tests/neural/neural_test_util.h"

namespace recfuse::testing_neural {
namespace {

namespace mm = models::neural::mm;

framework::Config Small(std::map<std::string, std::string> extra = {}) {
  std::map<std::string, std::string> kv = {{"dim", "16"}, {"feat_dim", "16"}, {"epochs", "3"}, {"lr", "0.005"}};
  for (auto& [k, v] : extra) kv[k] = v;
  return Params(kv);
}

// A 3-node graph by hand: edges 0->1 (2), 0->2 (1), 1->0 (1); node 2 has no row.
mm::EdgeList HandGraph() {
  mm::EdgeList g;
  g.n = 3;
  g.rows = torch::tensor({0, 0, 1}, torch::kInt64);
  g.cols = torch::tensor({1, 2, 0}, torch::kInt64);
  g.vals = torch::tensor({2.0f, 1.0f, 1.0f});
  return g;
}

TEST(MmCommon, PropagationSymAndRowNormalisationByHand) {
  const mm::EdgeList g = HandGraph();
  const torch::Tensor x = torch::tensor({1.0f, 10.0f, 100.0f}).view({3, 1});
  // A x: row 0 = 2*10 + 1*100, row 1 = 1, row 2 = 0.
  const torch::Tensor ax = g.Apply(x);
  EXPECT_FLOAT_EQ(ax[0][0].item<float>(), 120.0f);
  EXPECT_FLOAT_EQ(ax[1][0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(ax[2][0].item<float>(), 0.0f);
  // Row sums d = (3, 1, 0): D^-1/2 A D^-1/2 has 2/sqrt(3*1) on 0->1, 0 on 0->2 (d_2 = 0), 1/sqrt(3) on 1->0.
  const mm::EdgeList s = mm::SymNormalized(g);
  EXPECT_NEAR(s.vals[0].item<float>(), 2.0 / std::sqrt(3.0), 1e-6);
  EXPECT_NEAR(s.vals[1].item<float>(), 0.0, 1e-6);
  EXPECT_NEAR(s.vals[2].item<float>(), 1.0 / std::sqrt(3.0), 1e-6);
  const mm::EdgeList r = mm::RowNormalized(g);
  EXPECT_NEAR(r.vals[0].item<float>(), 2.0 / 3.0, 1e-6);
  EXPECT_NEAR(r.vals[1].item<float>(), 1.0 / 3.0, 1e-6);
  EXPECT_NEAR(r.vals[2].item<float>(), 1.0, 1e-6);
}

// Apply is differentiable in the edge values (LATTICE learns its graph through them): the
// gradient of sum(A x) w.r.t. the value of edge (r, c) is x_c, checked against a finite
// difference of the normalised graph too.
TEST(MmCommon, EdgeValuesGetGradientsThatMatchFiniteDifferences) {
  mm::EdgeList g = HandGraph();
  g.vals = g.vals.clone().requires_grad_(true);
  const torch::Tensor x = torch::tensor({1.0f, 10.0f, 100.0f, 2.0f, 3.0f, 4.0f}).view({3, 2});
  mm::SymNormalized(g).Apply(x).sum().backward();
  const torch::Tensor grad = g.vals.grad().clone();
  for (int e = 0; e < 3; ++e) {
    const double h = 1e-5;
    auto at = [&](double delta) {
      mm::EdgeList p = HandGraph();
      p.vals = p.vals.to(torch::kDouble);
      p.vals[e] += delta;
      return mm::SymNormalized(p).Apply(x.to(torch::kDouble)).sum().item<double>();
    };
    const double fd = (at(h) - at(-h)) / (2 * h);
    EXPECT_NEAR(grad[e].item<float>(), fd, 1e-4 * std::max(1.0, std::abs(fd))) << "edge " << e;
  }
}

// A cold item's imputation is the centroid of its neighbours' rows with their mean length;
// warm rows keep their own, and IdDropout(p = 0) is ImputeCold.
TEST(MmCommon, ColdImputationIsTheLengthMatchedCentroidOfWarmNeighbours) {
  mm::EdgeList g;  // item 2 (cold) -> items 0, 1 with weights 0.5, 0.5
  g.n = 3;
  g.rows = torch::tensor({2, 2}, torch::kInt64);
  g.cols = torch::tensor({0, 1}, torch::kInt64);
  g.vals = torch::tensor({0.5f, 0.5f});
  const torch::Tensor x = torch::tensor({3.0f, 0.0f, 0.0f, 1.0f, 7.0f, 7.0f}).view({3, 2});
  const torch::Tensor warm = torch::tensor({1.0f, 1.0f, 0.0f});
  const torch::Tensor y = mm::ImputeCold(x, g, warm);
  // centroid (1.5, 0.5), length sqrt(2.5); mean neighbour length (3 + 1) / 2 = 2.
  const double scale = 2.0 / std::sqrt(2.5);
  EXPECT_NEAR(y[2][0].item<float>(), 1.5 * scale, 1e-5);
  EXPECT_NEAR(y[2][1].item<float>(), 0.5 * scale, 1e-5);
  EXPECT_FLOAT_EQ(y[0][0].item<float>(), 3.0f);
  EXPECT_FLOAT_EQ(y[1][1].item<float>(), 1.0f);
  EXPECT_EQ((mm::IdDropout(x, g, warm, 0.0) - y).abs().max().item<float>(), 0.0f);
}

TEST(Lattice, KeepsTheModelContract) { ExpectModelContract("lattice", Small()); }

TEST(Lattice, SwitchesAndBadConfigs) {
  ExpectModelContract("lattice", Small({{"use_image", "false"}, {"epochs", "2"}}));
  ExpectModelContract("lattice", Small({{"use_text", "false"}, {"cf_model", "mf"}, {"epochs", "2"}}));
  EXPECT_THROW(models::CreateModel("lattice", Params({{"use_image", "false"}, {"use_text", "false"}})),
               framework::ConfigError);
  EXPECT_THROW(models::CreateModel("lattice", Params({{"cf_model", "ngcf"}})), framework::ConfigError);
  EXPECT_THROW(models::CreateModel("lattice", Params({{"knn_k", "0"}})), framework::ConfigError);
  EXPECT_THROW(models::CreateModel("lattice", Params({{"lambda", "1.5"}})), framework::ConfigError);
}

// Cold items (no training interaction) get non-zero vectors that depend on their content:
// distinct across cold items, and changed when a modality is switched off.
TEST(Lattice, ColdItemsGetContentDependentScores) {
  const auto c = ExpectColdItemVectorsDependOnContent("lattice", Small({{"epochs", "2"}}),
                                                      Small({{"epochs", "2"}, {"use_text", "false"}}));
  const auto& a = *c.both->model->GetFactors().item;
  for (datasets::Index i : c.cold) EXPECT_GT(a.row(i).norm(), 1e-3) << "cold item " << i << " has no vector";
  const models::RowMatrixXf s = ScoreAll(*c.both->model, 5, a.rows());
  for (datasets::Index i : c.cold) EXPECT_NE(s(0, i), 0.0f) << "cold item " << i;
}

TEST(Lattice, LearnsWellAbovePopularity) {
  ExpectLearnsOnLearningWorld(*FitOn(LearningWorld(), "lattice", Small({{"epochs", "40"}, {"dim", "32"}, {"feat_dim", "32"}})), "lattice", 1.5, 0.7);
}

}  // namespace
}  // namespace recfuse::testing_neural
