#include "fusion/fusion.h"

#include <cmath>

#include "framework/error.h"

namespace recfuse::fusion {

const std::vector<std::string>& FusionKinds() {
  static const std::vector<std::string> kKinds = {"sum", "concat", "gated", "attention"};
  return kKinds;
}

torch::Tensor MaskedSoftmax(const torch::Tensor& logits, const torch::Tensor& mask) {
  const torch::Tensor present = mask.to(torch::kBool);
  // A large finite negative rather than -inf: a row with nothing present then gives
  // exp(0) * 0 = 0 everywhere instead of NaN, and gradients stay finite.
  const torch::Tensor filled = logits.masked_fill(present.logical_not(), -1e30);
  const torch::Tensor top = std::get<0>(filled.max(-1, /*keepdim=*/true));
  const torch::Tensor e = (filled - top).exp() * present.to(logits.scalar_type());
  return e / e.sum(-1, true).clamp_min(1e-30);
}

torch::Tensor DropModalities(const torch::Tensor& mask, double p) {
  if (p <= 0) return mask;
  const torch::Tensor keep = torch::bernoulli(torch::full_like(mask, 1.0 - p, torch::kFloat)).to(mask.scalar_type());
  const torch::Tensor dropped = mask * keep;
  // Never drop everything a row has: keep the original mask for such rows.
  const torch::Tensor any = dropped.sum(-1, true) > 0;
  return torch::where(any, dropped, mask);
}

FusionImpl::FusionImpl(const FusionOptions& options) : options_(options) {
  const int64_t m = options_.num_modalities, d = options_.dim;
  if (m < 1 || d < 1) throw framework::ConfigError("fusion: need at least one modality and dim >= 1");
  if (options_.modality_dropout < 0 || options_.modality_dropout >= 1)
    throw framework::ConfigError("fusion: modality_dropout must be in [0, 1)");
  if (options_.kind == "sum") {
  } else if (options_.kind == "concat") {
    const int64_t h = options_.hidden > 0 ? options_.hidden : 2 * d;
    mlp_ = register_module("mlp", torch::nn::Sequential(torch::nn::Linear(m * d + m, h), torch::nn::ReLU(),
                                                       torch::nn::Linear(h, d)));
  } else if (options_.kind == "gated") {
    for (int64_t k = 0; k < m; ++k)
      gates_.push_back(register_module("gate" + std::to_string(k), torch::nn::Linear(d, d)));
  } else if (options_.kind == "attention") {
    if (options_.query_dim > 0) {
      wq_ = register_module("wq", torch::nn::Linear(torch::nn::LinearOptions(options_.query_dim, d).bias(false)));
      wk_ = register_module("wk", torch::nn::Linear(torch::nn::LinearOptions(d, d).bias(false)));
    } else {
      proj_ = register_module("proj", torch::nn::Linear(d, d));
      score_ = register_module("score", torch::nn::Linear(torch::nn::LinearOptions(d, 1).bias(false)));
    }
    bias_ = register_parameter("bias", torch::zeros({m}));
  } else {
    throw framework::ConfigError("fusion: unknown kind '" + options_.kind + "' (sum, concat, gated, attention)");
  }
}

torch::Tensor FusionImpl::QueryKeys(const torch::Tensor& query) {
  RF_CHECK(wq_, "fusion: QueryKeys needs attention with query_dim > 0");
  return wq_->forward(query) / std::sqrt(static_cast<double>(options_.dim));
}

torch::Tensor FusionImpl::ItemKeys(const torch::Tensor& x) {
  RF_CHECK(wk_, "fusion: ItemKeys needs attention with query_dim > 0");
  return wk_->forward(x);
}

FusionOutput FusionImpl::forward(const torch::Tensor& x, const torch::Tensor& mask_in,
                                 const torch::Tensor& query) {
  RF_CHECK(x.dim() == 3 && x.size(1) == options_.num_modalities && x.size(2) == options_.dim,
           "fusion: x must be [B, M, d]");
  RF_CHECK(mask_in.dim() == 2 && mask_in.size(0) == x.size(0) && mask_in.size(1) == x.size(1),
           "fusion: mask must be [B, M]");
  torch::Tensor mask = mask_in.to(x.scalar_type());
  if (is_training()) mask = DropModalities(mask, options_.modality_dropout);
  FusionOutput out;
  const std::string& kind = options_.kind;
  if (kind == "sum") {
    out.weights = mask / mask.sum(-1, true).clamp_min(1);
    out.fused = (out.weights.unsqueeze(-1) * x).sum(1);
  } else if (kind == "concat") {
    out.fused = mlp_->forward(torch::cat({(x * mask.unsqueeze(-1)).flatten(1), mask}, 1));
  } else if (kind == "gated") {
    std::vector<torch::Tensor> parts, strength;
    for (int64_t k = 0; k < options_.num_modalities; ++k) {
      const torch::Tensor xk = x.select(1, k);
      const torch::Tensor g = torch::sigmoid(gates_[k]->forward(xk)) * mask.select(1, k).unsqueeze(-1);
      parts.push_back(g * xk);
      strength.push_back(g.mean(-1));
    }
    out.fused = torch::stack(parts, 0).sum(0);
    const torch::Tensor s = torch::stack(strength, 1);
    out.weights = s / s.sum(-1, true).clamp_min(1e-12);
  } else {  // attention
    torch::Tensor logits;
    if (options_.query_dim > 0) {
      RF_CHECK(query.defined() && query.dim() == 2 && query.size(0) == x.size(0) &&
                   query.size(1) == options_.query_dim,
               "fusion: attention with query_dim > 0 needs a [B, query_dim] query");
      logits = (QueryKeys(query).unsqueeze(1) * ItemKeys(x)).sum(-1);
    } else {
      logits = score_->forward(torch::tanh(proj_->forward(x))).squeeze(-1);
    }
    out.weights = MaskedSoftmax(logits + bias_, mask);
    out.fused = (out.weights.unsqueeze(-1) * x).sum(1);
  }
  return out;
}

CandidateAttentionImpl::CandidateAttentionImpl(int64_t dim, int64_t hidden) {
  mlp_ = register_module("mlp", torch::nn::Sequential(torch::nn::Linear(3 * dim, hidden), torch::nn::ReLU(),
                                                     torch::nn::Linear(hidden, 1)));
}

FusionOutput CandidateAttentionImpl::forward(const torch::Tensor& history, const torch::Tensor& history_mask,
                                             const torch::Tensor& candidate) {
  RF_CHECK(history.dim() == 3 && candidate.dim() == 2 && candidate.size(0) == history.size(0),
           "candidate attention: history [B, L, d], candidate [B, d]");
  const torch::Tensor c = candidate.unsqueeze(1).expand_as(history);
  const torch::Tensor logits = mlp_->forward(torch::cat({history, c, history * c}, -1)).squeeze(-1);
  FusionOutput out;
  out.weights = MaskedSoftmax(logits, history_mask.to(history.scalar_type()));
  out.fused = (out.weights.unsqueeze(-1) * history).sum(1);
  return out;
}

}  // namespace recfuse::fusion
