// BERT4Rec internals (see bert4rec.cc for the model, its equations and deviations), exposed
// for the tests of the masking and the network: the Cloze batch builder and the
// bidirectional transformer. Torch-only; the registry reaches the model through
// neural_models.h.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <span>
#include <vector>

#include "datasets/dataset.h"
#include "framework/rng.h"

namespace recfuse::models::neural::bert4rec {

// One Cloze training batch. Rows are LEFT-aligned (oldest item at column 0, padding after
// the last item), because a bidirectional encoder has no "last column = now" to keep and
// positions then simply count from the oldest item. Entries: item id + 1, 0 = padding,
// num_items + 1 = the [mask] token.
struct ClozeBatch {
  int64_t rows = 0;
  int64_t max_len = 0;
  std::vector<int64_t> inputs;     // rows x max_len, with the masked cells set to [mask]
  std::vector<int64_t> positions;  // flat cell index row * max_len + col of each masked cell
  std::vector<int64_t> targets;    // the 0-based item id that was at that cell
};

// sequences: 0-based item ids, oldest first, each non-empty and at most max_len long.
// Per sequence: with probability last_item_ratio only its last item is masked (the paper's
// next-item samples, Sun et al. 2019 Sec. 3.6); otherwise each item is masked independently
// with probability mask_ratio, and if none was, one uniformly chosen item is (a sequence
// without a target would contribute nothing). Padding is never masked. Draws from rng only,
// in sequence order: the same rng state gives the same batch.
// The training sequences of one time-ordered history: its last max_len items, or with
// all_windows its whole history cut into non-overlapping max_len windows from the end (a
// leading remainder of one item, which has no context to be predicted from, is dropped).
std::vector<std::vector<int64_t>> TrainingWindows(std::span<const datasets::Index> history, int64_t max_len,
                                                  bool all_windows);

ClozeBatch MakeClozeBatch(const std::vector<std::vector<int64_t>>& sequences, int64_t max_len, int64_t num_items,
                          double mask_ratio, double last_item_ratio, framework::Rng& rng);

struct Bert4RecNetOptions {
  Bert4RecNetOptions(int64_t num_items, int64_t dim) : num_items_(num_items), dim_(dim) {}
  TORCH_ARG(int64_t, num_items);
  TORCH_ARG(int64_t, dim);
  TORCH_ARG(int64_t, max_len) = 50;  // positional embedding size
  TORCH_ARG(int64_t, num_layers) = 2;
  TORCH_ARG(int64_t, num_heads) = 2;  // must divide dim
  TORCH_ARG(int64_t, inner_dim) = 256;
  TORCH_ARG(double, dropout) = 0.2;
};

// Item embedding rows: 0 padding, 1..num_items the items, num_items + 1 [mask].
struct Bert4RecNetImpl : torch::nn::Module {
  explicit Bert4RecNetImpl(const Bert4RecNetOptions& options);

  // items [B, L] int64, left-aligned (see ClozeBatch), L <= max_len -> hidden states
  // [B, L, dim] of the last layer. Padding keys are masked out of every attention, so a
  // real position's state does not depend on how much padding follows; padding positions'
  // states are meaningless.
  torch::Tensor Hidden(const torch::Tensor& items);
  // The paper's output projection GELU(h W^P + b^P) of hidden rows [n, dim] -> [n, dim];
  // logits are its product with ItemTable() plus `bias`.
  torch::Tensor Project(const torch::Tensor& h);
  // Rows 1..num_items of the item embedding ([num_items, dim]), the tied output layer.
  torch::Tensor ItemTable() const;
  // Mean cross-entropy over the masked cells only: the hidden rows at `positions` (flat
  // indices into [B * L], int64 [n]) are gathered before any logit is computed, so
  // unmasked and padding cells cost nothing. targets: int64 [n], 0-based item ids.
  torch::Tensor ClozeLoss(const torch::Tensor& items, const torch::Tensor& positions, const torch::Tensor& targets);
  int64_t mask_token() const { return options.num_items() + 1; }

  struct Layer {
    torch::nn::Linear q{nullptr}, k{nullptr}, v{nullptr}, out{nullptr};
    torch::nn::LayerNorm attn_norm{nullptr};
    torch::nn::Linear ffn1{nullptr}, ffn2{nullptr};
    torch::nn::LayerNorm ffn_norm{nullptr};
  };

  Bert4RecNetOptions options;
  torch::nn::Embedding embedding{nullptr};
  torch::nn::Embedding position{nullptr};
  torch::nn::LayerNorm input_norm{nullptr};
  torch::nn::Dropout dropout{nullptr};
  std::vector<Layer> layers;
  torch::nn::Linear head{nullptr};  // W^P, b^P
  torch::Tensor bias;               // b^O [num_items]

 private:
  torch::Tensor Attention(Layer& l, const torch::Tensor& x, const torch::Tensor& allowed);
};
TORCH_MODULE(Bert4RecNet);

}  // namespace recfuse::models::neural::bert4rec
