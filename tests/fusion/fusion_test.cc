// Fusion layer: masking semantics (a missing modality gets weight exactly 0 and cannot
// influence the output), the attention decomposition full ranking relies on, modality
// dropout, candidate attention, and autograd against finite differences.
#include "fusion/fusion.h"

#include <gtest/gtest.h>

#include <cmath>

#include "framework/error.h"
#include "tests/encoders/torch_test_util.h"

namespace recfuse::fusion {
namespace {

TEST(MaskedSoftmax, MatchesSoftmaxOverPresentEntriesAndZerosElsewhere) {
  const auto logits = torch::tensor({{1.0, 2.0, 3.0}, {0.5, -1.0, 4.0}, {1.0, 1.0, 1.0}}, torch::kDouble);
  const auto mask = torch::tensor({{1.0, 0.0, 1.0}, {1.0, 1.0, 1.0}, {0.0, 0.0, 0.0}}, torch::kDouble);
  const auto w = MaskedSoftmax(logits, mask);
  // Row 0 by hand: softmax over {1, 3} -> e^1/(e^1+e^3), 0, e^3/(e^1+e^3).
  const double d0 = std::exp(1.0) + std::exp(3.0);
  EXPECT_NEAR(w[0][0].item<double>(), std::exp(1.0) / d0, 1e-12);
  EXPECT_EQ(w[0][1].item<double>(), 0.0);
  EXPECT_NEAR(w[0][2].item<double>(), std::exp(3.0) / d0, 1e-12);
  EXPECT_TRUE(torch::allclose(w[1], torch::softmax(logits[1], 0)));
  // Nothing present: zeros, never NaN.
  EXPECT_EQ(w[2].abs().sum().item<double>(), 0.0);
  EXPECT_FALSE(w.isnan().any().item<bool>());
}

TEST(MaskedSoftmax, GradientIsFiniteForFullyMaskedRows) {
  auto logits = torch::randn({2, 3}, torch::kDouble).requires_grad_(true);
  const auto mask = torch::tensor({{0.0, 0.0, 0.0}, {1.0, 0.0, 1.0}}, torch::kDouble);
  (MaskedSoftmax(logits, mask) * torch::randn({2, 3}, torch::kDouble)).sum().backward();
  EXPECT_TRUE(logits.grad().isfinite().all().item<bool>());
  EXPECT_EQ(logits.grad()[0].abs().sum().item<double>(), 0.0);
}

class FusionKinds : public ::testing::TestWithParam<std::string> {};

FusionOptions Opts(const std::string& kind, int64_t query_dim = 0) {
  FusionOptions o;
  o.kind = kind;
  o.num_modalities = 3;
  o.dim = 8;
  o.query_dim = query_dim;
  return o;
}

TEST_P(FusionKinds, MissingModalityCannotInfluenceTheOutput) {
  torch::manual_seed(0);
  const int64_t q = GetParam() == "attention" ? 5 : 0;
  Fusion f(Opts(GetParam(), q));
  f->eval();
  auto x = torch::randn({4, 3, 8});
  const auto mask = torch::tensor({{1.f, 0.f, 1.f}, {1.f, 1.f, 1.f}, {0.f, 0.f, 1.f}, {1.f, 0.f, 0.f}});
  const auto query = q ? torch::randn({4, q}) : torch::Tensor();
  const auto a = f->forward(x, mask, query);
  auto x2 = x.clone();
  x2.select(1, 1).copy_(torch::randn({4, 8}) * 100);  // modality 1 is missing for rows 0, 2, 3
  const auto b = f->forward(x2, mask, query);
  for (int64_t r : {0, 2, 3}) EXPECT_TRUE(torch::allclose(a.fused[r], b.fused[r], 1e-5, 1e-6)) << "row " << r;
  EXPECT_FALSE(torch::allclose(a.fused[1], b.fused[1])) << "a present modality must matter";
  if (a.weights.defined()) {
    EXPECT_EQ(a.weights[0][1].item<float>(), 0.0f);
    EXPECT_NEAR(a.weights.sum(1)[0].item<float>(), 1.0f, 1e-5);
  }
}

TEST_P(FusionKinds, GradientsReachEveryParameter) {
  torch::manual_seed(1);
  const int64_t q = GetParam() == "attention" ? 5 : 0;
  Fusion f(Opts(GetParam(), q));
  const auto x = torch::randn({6, 3, 8});
  const auto mask = torch::ones({6, 3});
  const auto query = q ? torch::randn({6, q}) : torch::Tensor();
  if (GetParam() == "sum") GTEST_SKIP() << "sum has no parameters";
  testing::ExpectGradientsReachEveryParameter(*f, [&] { return f->forward(x, mask, query).fused.pow(2).sum(); });
}

INSTANTIATE_TEST_SUITE_P(All, FusionKinds, ::testing::Values("sum", "concat", "gated", "attention"));

TEST(AttentionFusion, QueryKeyDecompositionReproducesForwardScores) {
  // Full ranking computes <q, sum_m a_m x_m> from Q'K^T and QX^T products; it must equal
  // the forward pass exactly (up to float rounding).
  torch::manual_seed(2);
  Fusion f(Opts("attention", 8));
  f->eval();
  torch::NoGradGuard ng;
  const auto x = torch::randn({5, 3, 8});
  const auto mask = torch::tensor({{1.f, 1.f, 1.f}, {0.f, 1.f, 1.f}, {1.f, 0.f, 0.f}, {1.f, 1.f, 0.f}, {0.f, 0.f, 1.f}});
  const auto q = torch::randn({5, 8});
  const auto direct = (f->forward(x, mask, q).fused * q).sum(-1);
  const auto logits = (f->QueryKeys(q).unsqueeze(1) * f->ItemKeys(x)).sum(-1) + f->ModalityBias();
  const auto w = MaskedSoftmax(logits, mask);
  const auto per_modality = (x * q.unsqueeze(1)).sum(-1);  // <q, x_m>
  EXPECT_TRUE(torch::allclose(direct, (w * per_modality).sum(-1), 1e-5, 1e-6));
}

TEST(AttentionFusion, GradientMatchesFiniteDifferences) {
  torch::manual_seed(3);
  Fusion f(Opts("attention", 4));
  f->to(torch::kDouble);
  const auto x = torch::randn({3, 3, 8}, torch::kDouble);
  const auto mask = torch::tensor({{1.0, 0.0, 1.0}, {1.0, 1.0, 1.0}, {0.0, 1.0, 0.0}}, torch::kDouble);
  const auto q = torch::randn({3, 4}, torch::kDouble);
  const auto target = torch::randn({3, 8}, torch::kDouble);
  auto loss = [&] { return (f->forward(x, mask, q).fused - target).pow(2).sum(); };
  for (auto& p : f->parameters()) testing::ExpectGradientMatchesFiniteDifferences(p, loss, 1e-6, 1e-5, 12);
}

TEST(GatedFusion, GradientMatchesFiniteDifferences) {
  torch::manual_seed(4);
  Fusion f(Opts("gated"));
  f->to(torch::kDouble);
  const auto x = torch::randn({3, 3, 8}, torch::kDouble);
  const auto mask = torch::tensor({{1.0, 0.0, 1.0}, {1.0, 1.0, 1.0}, {0.0, 1.0, 0.0}}, torch::kDouble);
  auto loss = [&] { return f->forward(x, mask).fused.pow(2).sum(); };
  for (auto& p : f->parameters()) testing::ExpectGradientMatchesFiniteDifferences(p, loss, 1e-6, 1e-5, 8);
}

TEST(ModalityDropout, NeverDropsEverythingAndDropsAtTheRequestedRate) {
  torch::manual_seed(5);
  const auto mask = torch::ones({20000, 3});
  const auto d = DropModalities(mask, 0.3);
  EXPECT_TRUE((d.sum(1) >= 1).all().item<bool>());
  // P(kept) = 0.7 plus the rows restored because all three were dropped (0.3^3 = 2.7%).
  const double kept = d.mean().item<double>();
  EXPECT_NEAR(kept, 0.7 + 0.027, 0.01);
  EXPECT_TRUE(torch::equal(DropModalities(mask, 0.0), mask));
  // Already-missing modalities stay missing.
  const auto partial = torch::tensor({{1.f, 0.f, 0.f}, {0.f, 1.f, 1.f}});
  for (int k = 0; k < 50; ++k) EXPECT_TRUE(((DropModalities(partial, 0.5) - partial) <= 0).all().item<bool>());
}

TEST(ModalityDropout, AppliesInTrainingModeOnly) {
  torch::manual_seed(6);
  FusionOptions o = Opts("sum");
  o.modality_dropout = 0.5;
  Fusion f(o);
  const auto x = torch::randn({64, 3, 8});
  const auto mask = torch::ones({64, 3});
  f->eval();
  EXPECT_TRUE(torch::allclose(f->forward(x, mask).fused, x.mean(1), 1e-5, 1e-6));
  f->train();
  EXPECT_FALSE(torch::allclose(f->forward(x, mask).fused, x.mean(1), 1e-5, 1e-6));
}

TEST(CandidateAttention, PaddedHistoryGetsZeroWeightAndCannotInfluence) {
  torch::manual_seed(7);
  CandidateAttention att(8, 16);
  torch::NoGradGuard ng;
  auto h = torch::randn({2, 5, 8});
  const auto m = torch::tensor({{0.f, 0.f, 1.f, 1.f, 1.f}, {1.f, 1.f, 1.f, 1.f, 1.f}});
  const auto c = torch::randn({2, 8});
  const auto a = att->forward(h, m, c);
  EXPECT_EQ(a.weights[0][0].item<float>(), 0.0f);
  EXPECT_NEAR(a.weights.sum(1)[0].item<float>(), 1.0f, 1e-5);
  auto h2 = h.clone();
  h2[0][0].fill_(50);
  EXPECT_TRUE(torch::allclose(att->forward(h2, m, c).fused[0], a.fused[0]));
  // The candidate changes the weights (that is the point of DKN's attention).
  EXPECT_FALSE(torch::allclose(att->forward(h, m, torch::randn({2, 8})).weights, a.weights));
}

TEST(Fusion, RejectsBadOptionsAndShapes) {
  EXPECT_THROW({ Fusion f(Opts("median")); }, recfuse::framework::ConfigError);
  FusionOptions o = Opts("sum");
  o.modality_dropout = 1.0;
  EXPECT_THROW({ Fusion g(o); }, recfuse::framework::ConfigError);
  Fusion f(Opts("attention", 4));
  EXPECT_THROW(f->forward(torch::randn({2, 3, 8}), torch::ones({2, 3})), recfuse::framework::Error);  // no query
  EXPECT_THROW(f->forward(torch::randn({2, 2, 8}), torch::ones({2, 2}), torch::randn({2, 4})), recfuse::framework::Error);
}

}  // namespace
}  // namespace recfuse::fusion
