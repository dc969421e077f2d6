#include "encoders/text_encoders.h"

#include <algorithm>

#include "framework/error.h"

namespace recfuse::encoders {
namespace {

namespace F = torch::nn::functional;

void CheckIds(const torch::Tensor& ids, int64_t vocab_size, const char* who) {
  if (ids.dim() != 2 || ids.scalar_type() != torch::kInt64)
    throw framework::ConfigError(std::string(who) + ": token ids must be a 2-d int64 tensor [B, L]");
  if (ids.numel() > 0) {
    const int64_t lo = ids.min().item<int64_t>(), hi = ids.max().item<int64_t>();
    if (lo < 0 || hi >= vocab_size)
      throw framework::UnknownIdError(std::string(who) + ": token id outside 0.." + std::to_string(vocab_size - 1) +
                                      " (min " + std::to_string(lo) + ", max " + std::to_string(hi) + ")");
  }
}

void CheckSizes(int64_t vocab_size, int64_t dim, const char* who) {
  if (vocab_size < 2 || dim < 1)
    throw framework::ConfigError(std::string(who) + ": vocab_size must be >= 2 (pad + 1 token) and dim >= 1");
}

torch::nn::Embedding MakeEmbedding(int64_t vocab, int64_t dim) {
  return torch::nn::Embedding(torch::nn::EmbeddingOptions(vocab, dim).padding_idx(Tokenizer::kPadId));
}

}  // namespace

torch::Tensor TokenBatchToTensor(const TokenBatch& batch) {
  RF_CHECK(static_cast<int64_t>(batch.ids.size()) == batch.rows * batch.max_len, "TokenBatch ids size");
  return torch::from_blob(const_cast<int64_t*>(batch.ids.data()), {batch.rows, batch.max_len}, torch::kInt64).clone();
}

MeanEmbeddingTextEncoderImpl::MeanEmbeddingTextEncoderImpl(const MeanEmbeddingTextEncoderOptions& o) : options(o) {
  CheckSizes(o.vocab_size(), o.dim(), "MeanEmbeddingTextEncoder");
  embedding = register_module("embedding", MakeEmbedding(o.vocab_size(), o.dim()));
}

TextEncoding MeanEmbeddingTextEncoderImpl::forward(const torch::Tensor& ids) {
  CheckIds(ids, options.vocab_size(), "MeanEmbeddingTextEncoder");
  const auto e = embedding(ids);  // [B, L, D]
  const auto tok = ids.ne(Tokenizer::kPadId).to(e.scalar_type());
  const auto count = tok.sum(1);
  const auto row_mask = count.gt(0).to(e.scalar_type());
  const auto sum = (e * tok.unsqueeze(-1)).sum(1);
  return {sum / count.clamp_min(1).unsqueeze(-1), row_mask, {}};
}

TextCnnEncoderImpl::TextCnnEncoderImpl(const TextCnnEncoderOptions& o) : options(o) {
  CheckSizes(o.vocab_size(), o.dim(), "TextCnnEncoder");
  if (o.widths().empty() || *std::min_element(o.widths().begin(), o.widths().end()) < 1 || o.filters() < 1 ||
      o.embedding_dim() < 1)
    throw framework::ConfigError("TextCnnEncoder: widths must be non-empty and positive, filters and embedding_dim >= 1");
  embedding = register_module("embedding", MakeEmbedding(o.vocab_size(), o.embedding_dim()));
  for (size_t k = 0; k < o.widths().size(); ++k)
    convs.push_back(register_module("conv" + std::to_string(o.widths()[k]),
                                    torch::nn::Conv1d(torch::nn::Conv1dOptions(o.embedding_dim(), o.filters(), o.widths()[k]))));
  project = register_module(
      "project", torch::nn::Linear(o.filters() * static_cast<int64_t>(o.widths().size()), o.dim()));
}

TextEncoding TextCnnEncoderImpl::forward(const torch::Tensor& ids) {
  CheckIds(ids, options.vocab_size(), "TextCnnEncoder");
  const auto tok_bool = ids.ne(Tokenizer::kPadId);
  if (ids.size(1) == 0) {  // no positions at all: Conv1d would reject the input
    const auto zeros = torch::zeros({ids.size(0), options.dim()}, embedding->weight.options());
    return {zeros, torch::zeros({ids.size(0)}, embedding->weight.options()), {}};
  }
  // Pad embeddings are zero through padding_idx already; multiplying keeps that true even
  // if someone overwrote the pad row.
  const auto e = embedding(ids) * tok_bool.unsqueeze(-1).to(embedding->weight.scalar_type());
  const auto x = e.transpose(1, 2);  // [B, E, L]
  const auto valid = tok_bool.unsqueeze(1);  // [B, 1, L]: windows starting on a real token
  std::vector<torch::Tensor> pooled;
  for (size_t k = 0; k < convs.size(); ++k) {
    const int64_t w = options.widths()[k];
    const auto xp = F::pad(x, F::PadFuncOptions({0, w - 1}));  // every position gets a full window
    auto h = torch::relu(convs[k](xp));                         // [B, F, L]
    // After ReLU every value is >= 0, so zeroing invalid positions leaves the max over the
    // valid ones unchanged and makes an empty row pool to exactly 0 (no -inf to clean up).
    h = h * valid.to(h.scalar_type());
    pooled.push_back(std::get<0>(h.max(2)));
  }
  auto features = torch::cat(pooled, 1);
  if (options.dropout() > 0) features = F::dropout(features, F::DropoutFuncOptions().p(options.dropout()).training(is_training()));
  const auto row_mask = tok_bool.any(1).to(features.scalar_type());
  return {project(features) * row_mask.unsqueeze(-1), row_mask, {}};
}

AttentionPoolingTextEncoderImpl::AttentionPoolingTextEncoderImpl(const AttentionPoolingTextEncoderOptions& o)
    : options(o) {
  CheckSizes(o.vocab_size(), o.dim(), "AttentionPoolingTextEncoder");
  if (o.embedding_dim() < 1 || o.attention_dim() < 1)
    throw framework::ConfigError("AttentionPoolingTextEncoder: embedding_dim and attention_dim must be >= 1");
  embedding = register_module("embedding", MakeEmbedding(o.vocab_size(), o.embedding_dim()));
  attention_hidden = register_module("attention_hidden", torch::nn::Linear(o.embedding_dim(), o.attention_dim()));
  attention_score =
      register_module("attention_score", torch::nn::Linear(torch::nn::LinearOptions(o.attention_dim(), 1).bias(false)));
  project = register_module("project", torch::nn::Linear(o.embedding_dim(), o.dim()));
}

TextEncoding AttentionPoolingTextEncoderImpl::forward(const torch::Tensor& ids) {
  CheckIds(ids, options.vocab_size(), "AttentionPoolingTextEncoder");
  const auto tok = ids.ne(Tokenizer::kPadId);  // [B, L]
  const auto e = embedding(ids);               // [B, L, E]
  auto scores = attention_score(torch::tanh(attention_hidden(e))).squeeze(-1);  // [B, L]
  const auto has = tok.any(1, /*keepdim=*/true);                                 // [B, 1]
  scores = scores.masked_fill(tok.logical_not(), -std::numeric_limits<double>::infinity());
  // An all-pad row would softmax over only -inf (NaN): give it finite scores, then zero it.
  scores = torch::where(has, scores, torch::zeros_like(scores));
  const auto weights = torch::softmax(scores, 1) * has.to(e.scalar_type());
  const auto pooled = (weights.unsqueeze(-1) * e).sum(1);
  const auto row_mask = has.squeeze(1).to(e.scalar_type());
  return {project(pooled) * row_mask.unsqueeze(-1), row_mask, weights};
}

}  // namespace recfuse::encoders
