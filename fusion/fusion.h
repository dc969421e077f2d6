// Fusion: combines the vectors that modality encoders produce for one entity (an item: its
// ID, text, image, KG entity...) into one vector. Every fusion takes the same inputs:
//   x     [B, M, d]  one d-dimensional vector per modality, in a fixed modality order
//   mask  [B, M]     1 where the entity has the modality, 0 where it is missing
//   query [B, q]     optional conditioning vector (the user, for per-user attention)
// Missing modalities are masked, never zero-filled into a softmax: a missing modality gets
// weight exactly 0 and the remaining weights renormalise; a row with no modality at all
// fuses to zeros (no NaN).
//
// Kinds (FusionOptions::kind):
//   sum        masked mean of the modality vectors
//   concat     [x_1 .. x_M, mask] -> MLP -> d (missing vectors enter as zeros, the mask
//              tells the MLP which ones are missing)
//   gated      per-modality, per-dimension sigmoid gates g_m = s(W_m x_m + b_m);
//              fused = sum_m mask_m g_m * x_m (Arevalo et al. 2017, GMU-style)
//   attention  weights = masked softmax over modalities of
//                <W_q query, W_k x_m> / sqrt(d) + b_m        (query given: per user & item)
//                v^T tanh(W x_m + b)                          (no query: per item)
//              fused = sum_m w_m x_m; the weights are returned for inspection/export.
// Modality dropout (training only): each present modality of a row is dropped with
// probability p, never all of them, so the model learns to cope with missing content (the
// DropoutNet idea for cold-start items).
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace recfuse::fusion {

// Softmax over the last dimension where mask != 0; masked entries get exactly 0 and rows
// whose mask is all zero give all zeros (instead of NaN).
torch::Tensor MaskedSoftmax(const torch::Tensor& logits, const torch::Tensor& mask);

// Training-time modality dropout (see above); identity when p <= 0. Uses torch's global
// generator (seeded by the trainer), so it is reproducible.
torch::Tensor DropModalities(const torch::Tensor& mask, double p);

struct FusionOutput {
  torch::Tensor fused;    // [B, d]
  torch::Tensor weights;  // [B, M] modality weights (zeros where masked); undefined for concat
};

struct FusionOptions {
  std::string kind = "attention";  // sum | concat | gated | attention
  int64_t num_modalities = 1;
  int64_t dim = 64;
  int64_t query_dim = 0;           // attention only; 0 = item-only attention
  int64_t hidden = 0;              // concat MLP width (0 = 2 * dim)
  double modality_dropout = 0.0;
};

class FusionImpl : public torch::nn::Module {
 public:
  explicit FusionImpl(const FusionOptions& options);

  FusionOutput forward(const torch::Tensor& x, const torch::Tensor& mask,
                       const torch::Tensor& query = {});

  // Attention with a query, split so that full ranking can use matrix products instead of
  // one forward per (user, item): logits(u, i, m) = <QueryKeys(q_u), ItemKeys(x_i)[m]> + b_m.
  torch::Tensor QueryKeys(const torch::Tensor& query);  // [B, q] -> [B, d], scaled by 1/sqrt(d)
  torch::Tensor ItemKeys(const torch::Tensor& x);       // [B, M, d] -> [B, M, d]
  torch::Tensor ModalityBias() const { return bias_; }  // [M]

  const FusionOptions& options() const { return options_; }

 private:
  FusionOptions options_;
  torch::nn::Sequential mlp_{nullptr};                   // concat
  std::vector<torch::nn::Linear> gates_;                 // gated
  torch::nn::Linear wq_{nullptr}, wk_{nullptr};          // attention with query
  torch::nn::Linear proj_{nullptr}, score_{nullptr};     // attention without query
  torch::Tensor bias_;                                   // attention: per-modality prior
};
TORCH_MODULE(Fusion);

// DKN-style knowledge-aware attention (Wang et al. 2018): a candidate item attends over the
// items of a user's history; weight_j = masked softmax_j MLP([h_j, c, h_j * c]). Returns the
// attention-pooled user vector [B, d] and the weights [B, L].
class CandidateAttentionImpl : public torch::nn::Module {
 public:
  CandidateAttentionImpl(int64_t dim, int64_t hidden);
  FusionOutput forward(const torch::Tensor& history, const torch::Tensor& history_mask,
                       const torch::Tensor& candidate);

 private:
  torch::nn::Sequential mlp_{nullptr};
};
TORCH_MODULE(CandidateAttention);

// Names of the fusion kinds, for ParamSpec choices.
const std::vector<std::string>& FusionKinds();

}  // namespace recfuse::fusion
