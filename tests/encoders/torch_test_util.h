// Shared checks for libtorch modules: every trainable parameter receives a gradient, and
// autograd agrees with central finite differences (in double precision).
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>

namespace recfuse::testing {

// Runs loss_fn(), backpropagates, and expects a defined, finite, not-all-zero gradient on
// every parameter of `module` that requires grad.
inline void ExpectGradientsReachEveryParameter(torch::nn::Module& module,
                                               const std::function<torch::Tensor()>& loss_fn) {
  module.zero_grad();
  loss_fn().backward();
  for (const auto& p : module.named_parameters()) {
    if (!p.value().requires_grad()) continue;
    ASSERT_TRUE(p.value().grad().defined()) << "no gradient for " << p.key();
    EXPECT_TRUE(torch::isfinite(p.value().grad()).all().item<bool>()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << "zero gradient for " << p.key();
  }
}

// Compares autograd's gradient of the scalar loss_fn() w.r.t. `param` (a double tensor with
// requires_grad) against central differences at up to `max_checks` coordinates.
inline void ExpectGradientMatchesFiniteDifferences(torch::Tensor param,
                                                   const std::function<torch::Tensor()>& loss_fn,
                                                   double eps = 1e-6, double tol = 1e-5,
                                                   int64_t max_checks = 20) {
  ASSERT_EQ(param.scalar_type(), torch::kFloat64) << "finite differences need double precision";
  if (param.grad().defined()) param.grad().zero_();
  loss_fn().backward();
  const torch::Tensor analytic = param.grad().clone();
  torch::NoGradGuard no_grad;
  auto flat = param.view({-1});
  const int64_t n = std::min<int64_t>(flat.numel(), max_checks);
  for (int64_t k = 0; k < n; ++k) {
    const int64_t i = k * flat.numel() / n;
    const double orig = flat[i].item<double>();
    flat[i] = orig + eps;
    const double plus = loss_fn().item<double>();
    flat[i] = orig - eps;
    const double minus = loss_fn().item<double>();
    flat[i] = orig;
    const double numeric = (plus - minus) / (2 * eps);
    EXPECT_NEAR(analytic.view({-1})[i].item<double>(), numeric, tol * std::max(1.0, std::abs(numeric)))
        << "coordinate " << i;
  }
}

}  // namespace recfuse::testing
