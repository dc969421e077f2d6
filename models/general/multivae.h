// The loss pieces of multivae / multidae (models/general/multivae.cc), exposed so the tests
// can check them against hand computations. Torch-only: include from torch code.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace recfuse::models::neural::multivae {

// KL weight after `step` gradient steps (0-based: the first step has beta 0, as in the
// authors' notebook): min(cap, step / total_steps); total_steps 0 means cap from the start.
double AnnealBeta(int64_t step, double cap, int64_t total_steps);

// Mean over the batch rows of the multinomial negative log-likelihood
//   -sum_i x_ui log softmax(logits_u)_i        logits, x: [B, I]
torch::Tensor MultinomialNll(const torch::Tensor& logits, const torch::Tensor& x);

// Mean over the batch rows of KL(N(mu, diag exp(logvar)) || N(0, I))
//   = 1/2 sum_k (exp(logvar_k) + mu_k^2 - 1 - logvar_k)   mu, logvar: [B, K]
torch::Tensor GaussianKl(const torch::Tensor& mu, const torch::Tensor& logvar);

}  // namespace recfuse::models::neural::multivae
