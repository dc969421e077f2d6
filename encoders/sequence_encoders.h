// Sequence encoders: a user's (right-aligned, see history.h) item history -> one vector.
//
// Every encoder accepts either
//   - item ids  [B, L] int64 (item id + 1, 0 = padding): the module owns an
//     Embedding(num_items + 1, dim, padding_idx = 0) (options.num_items > 0 required), or
//   - precomputed item vectors [B, L, dim] (e.g. fused multimodal item vectors) plus a mask
//     [B, L] bool (true = real item). Masks must be right-aligned (all padding first);
//     anything else is rejected, because "last column = most recent" is what makes the
//     encoders' output well defined.
// forward() returns [B, dim]: the state after the most recent item. An all-padding row
// returns a zero vector (never NaN). AllPositions() (GRU4Rec, SASRec) returns [B, L, dim]
// with the state after each position (zero at padding), for next-item training with
// per-position targets (BuildNextItemExamples). Outputs do not depend on how much extra left
// padding a row has. Modules are not thread-safe (torch modules hold state); use one per
// thread or guard them. Dropout is active only in train() mode. Call enc->forward(...): the
// two forward overloads make the holder's operator() ambiguous.
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "encoders/history.h"

namespace recfuse::encoders {

// [rows, max_len] int64 tensor of a history batch / of next-item inputs or targets.
torch::Tensor HistoryTensor(const HistoryBatch& batch);
torch::Tensor NextItemInputs(const NextItemExamples& ex);
torch::Tensor NextItemTargets(const NextItemExamples& ex);

// Cross-entropy of per-position states [B, L, dim] against targets [B, L] (item id + 1,
// 0 = ignore) over the full item table [num_items, dim] (logits = state . item). Mean over
// non-ignored positions; 0 (with a graph) if there are none.
torch::Tensor NextItemLoss(const torch::Tensor& states, const torch::Tensor& targets,
                           const torch::Tensor& item_table);

// Hidasi et al. 2016 (GRU4Rec): item embedding -> GRU -> hidden state after the last real item.
struct Gru4RecEncoderOptions {
  Gru4RecEncoderOptions(int64_t num_items, int64_t dim) : num_items_(num_items), dim_(dim) {}
  TORCH_ARG(int64_t, num_items);   // 0 = no ID embedding (precomputed vectors only)
  TORCH_ARG(int64_t, dim);         // input item vector size = output size
  TORCH_ARG(int64_t, num_layers) = 1;
  TORCH_ARG(double, dropout) = 0.0;  // on the input embeddings
};

struct Gru4RecEncoderImpl : torch::nn::Module {
  explicit Gru4RecEncoderImpl(const Gru4RecEncoderOptions& options);
  torch::Tensor forward(const torch::Tensor& items);
  torch::Tensor forward(const torch::Tensor& vectors, const torch::Tensor& mask);
  torch::Tensor AllPositions(const torch::Tensor& items);
  torch::Tensor AllPositions(const torch::Tensor& vectors, const torch::Tensor& mask);
  // Rows 1..num_items of the ID embedding ([num_items, dim]): the item table for scoring.
  torch::Tensor ItemTable() const;

  Gru4RecEncoderOptions options;
  torch::nn::Embedding embedding{nullptr};
  torch::nn::GRU gru{nullptr};
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(Gru4RecEncoder);

// Kang & McAuley 2018 (SASRec): item embedding * sqrt(dim) + learned positional embedding,
// dropout, num_blocks of [pre-layer-norm causal multi-head self-attention + residual,
// layer norm, point-wise feed-forward (two Linear, ReLU, dropout) + residual], final layer
// norm. Positions count from the oldest real item (0, 1, ...), so a history's encoding
// does not depend on its left padding and a training example at position p sees exactly
// what inference on the p+1 item prefix sees. A row may carry at most max_len real items
// (more -> framework::Error; BuildHistoryBatch truncates); padding columns are unlimited.
struct SasRecEncoderOptions {
  SasRecEncoderOptions(int64_t num_items, int64_t dim) : num_items_(num_items), dim_(dim) {}
  TORCH_ARG(int64_t, num_items);  // 0 = no ID embedding (precomputed vectors only)
  TORCH_ARG(int64_t, dim);
  TORCH_ARG(int64_t, max_len) = 50;  // positional embedding size (longest real history)
  TORCH_ARG(int64_t, num_blocks) = 2;
  TORCH_ARG(int64_t, num_heads) = 1;  // must divide dim
  TORCH_ARG(double, dropout) = 0.2;
};

struct SasRecEncoderImpl : torch::nn::Module {
  explicit SasRecEncoderImpl(const SasRecEncoderOptions& options);
  torch::Tensor forward(const torch::Tensor& items);
  torch::Tensor forward(const torch::Tensor& vectors, const torch::Tensor& mask);
  torch::Tensor AllPositions(const torch::Tensor& items);
  torch::Tensor AllPositions(const torch::Tensor& vectors, const torch::Tensor& mask);
  torch::Tensor ItemTable() const;

  struct Block {
    torch::nn::LayerNorm attn_norm{nullptr}, ffn_norm{nullptr};
    torch::nn::Linear q{nullptr}, k{nullptr}, v{nullptr}, out{nullptr};
    torch::nn::Linear ffn1{nullptr}, ffn2{nullptr};
  };

  SasRecEncoderOptions options;
  torch::nn::Embedding embedding{nullptr};
  torch::nn::Embedding position{nullptr};
  torch::nn::Dropout dropout{nullptr};
  std::vector<Block> blocks;
  torch::nn::LayerNorm final_norm{nullptr};

 private:
  torch::Tensor Attention(Block& b, const torch::Tensor& query_in, const torch::Tensor& x,
                          const torch::Tensor& allowed);
};
TORCH_MODULE(SasRecEncoder);

// Baseline: masked mean of the history's item vectors (order-blind).
struct MeanPoolingSequenceEncoderOptions {
  MeanPoolingSequenceEncoderOptions(int64_t num_items, int64_t dim) : num_items_(num_items), dim_(dim) {}
  TORCH_ARG(int64_t, num_items);
  TORCH_ARG(int64_t, dim);
};

struct MeanPoolingSequenceEncoderImpl : torch::nn::Module {
  explicit MeanPoolingSequenceEncoderImpl(const MeanPoolingSequenceEncoderOptions& options);
  torch::Tensor forward(const torch::Tensor& items);
  torch::Tensor forward(const torch::Tensor& vectors, const torch::Tensor& mask);
  torch::Tensor ItemTable() const;

  MeanPoolingSequenceEncoderOptions options;
  torch::nn::Embedding embedding{nullptr};
};
TORCH_MODULE(MeanPoolingSequenceEncoder);

}  // namespace recfuse::encoders
