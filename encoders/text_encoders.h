// Trainable text encoders (libtorch): padded token ids [B, L] (int64, id 0 = padding, the
// Tokenizer convention) -> TextEncoding {embedding [B, dim], mask [B]}. A row without any
// token (an item without text) gets an all-zero embedding and mask 0, never NaN, and
// padding never changes a row's output (extra pad columns, or pads between tokens, are
// ignored). Forward is deterministic for a fixed torch thread count.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "encoders/tokenizer.h"

namespace recfuse::encoders {

struct TextEncoding {
  torch::Tensor embedding;  // [B, dim], zero rows where mask == 0
  torch::Tensor mask;       // [B], same dtype as embedding: 1 if the row has >= 1 token
  torch::Tensor attention;  // [B, L] pooling weights (AttentionPooling only; else undefined)
};

// [rows, max_len] int64 tensor of a TokenBatch (copied).
torch::Tensor TokenBatchToTensor(const TokenBatch& batch);

struct MeanEmbeddingTextEncoderOptions {
  MeanEmbeddingTextEncoderOptions(int64_t vocab_size, int64_t dim) : vocab_size_(vocab_size), dim_(dim) {}
  TORCH_ARG(int64_t, vocab_size);  // including pad id 0
  TORCH_ARG(int64_t, dim);         // embedding and output size
};

// Masked mean of token embeddings (the bag-of-embeddings baseline).
struct MeanEmbeddingTextEncoderImpl : torch::nn::Module {
  explicit MeanEmbeddingTextEncoderImpl(const MeanEmbeddingTextEncoderOptions& options);
  TextEncoding forward(const torch::Tensor& ids);
  MeanEmbeddingTextEncoderOptions options;
  torch::nn::Embedding embedding{nullptr};
};
TORCH_MODULE(MeanEmbeddingTextEncoder);

struct TextCnnEncoderOptions {
  TextCnnEncoderOptions(int64_t vocab_size, int64_t dim) : vocab_size_(vocab_size), dim_(dim) {}
  TORCH_ARG(int64_t, vocab_size);
  TORCH_ARG(int64_t, dim);
  TORCH_ARG(int64_t, embedding_dim) = 64;
  TORCH_ARG(int64_t, filters) = 64;  // per width
  TORCH_ARG(std::vector<int64_t>, widths) = std::vector<int64_t>{3, 4, 5};
  TORCH_ARG(double, dropout) = 0.0;  // on the pooled features, training mode only
};

// Kim (2014) / DeepCoNN / ConvMF: embeddings -> Conv1d per width (`filters` maps) -> ReLU
// -> max over the positions where a window starts on a real token -> concat -> Linear(dim).
// Windows running past the last token see zero embeddings, so texts shorter than a width
// still count. widths must be non-empty and positive (else ConfigError).
struct TextCnnEncoderImpl : torch::nn::Module {
  explicit TextCnnEncoderImpl(const TextCnnEncoderOptions& options);
  TextEncoding forward(const torch::Tensor& ids);
  TextCnnEncoderOptions options;
  torch::nn::Embedding embedding{nullptr};
  std::vector<torch::nn::Conv1d> convs;
  torch::nn::Linear project{nullptr};
};
TORCH_MODULE(TextCnnEncoder);

struct AttentionPoolingTextEncoderOptions {
  AttentionPoolingTextEncoderOptions(int64_t vocab_size, int64_t dim) : vocab_size_(vocab_size), dim_(dim) {}
  TORCH_ARG(int64_t, vocab_size);
  TORCH_ARG(int64_t, dim);
  TORCH_ARG(int64_t, embedding_dim) = 64;
  TORCH_ARG(int64_t, attention_dim) = 32;
};

// Additive attention pooling: score_t = v . tanh(W e_t + b), softmax over the row's real
// tokens only (pads masked with -inf before the softmax), pooled = sum_t a_t e_t, then
// Linear(dim). TextEncoding::attention holds a_t (zeros on pads and on empty rows).
struct AttentionPoolingTextEncoderImpl : torch::nn::Module {
  explicit AttentionPoolingTextEncoderImpl(const AttentionPoolingTextEncoderOptions& options);
  TextEncoding forward(const torch::Tensor& ids);
  AttentionPoolingTextEncoderOptions options;
  torch::nn::Embedding embedding{nullptr};
  torch::nn::Linear attention_hidden{nullptr};
  torch::nn::Linear attention_score{nullptr};
  torch::nn::Linear project{nullptr};
};
TORCH_MODULE(AttentionPoolingTextEncoder);

}  // namespace recfuse::encoders
