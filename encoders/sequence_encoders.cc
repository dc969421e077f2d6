#include "encoders/sequence_encoders.h"

#include <cmath>
#include <limits>
#include <string>

#include "framework/error.h"

namespace recfuse::encoders {
namespace {

torch::Tensor FromBuffer(const std::vector<int64_t>& v, int64_t rows, int64_t cols) {
  return torch::tensor(v, torch::kInt64).view({rows, cols});
}

// The mask of real items for an id batch, after checking ids against the embedding size.
torch::Tensor IdMask(const torch::Tensor& items, int64_t num_items) {
  RF_CHECK(num_items > 0, "sequence encoder built without an ID embedding (num_items = 0) got item ids");
  RF_CHECK(items.dim() == 2 && items.scalar_type() == torch::kInt64,
           "item ids must be a [B, L] int64 tensor");
  if (items.numel() > 0) {
    RF_CHECK(items.min().item<int64_t>() >= 0 && items.max().item<int64_t>() <= num_items,
             "item ids (+1) must lie in [0, " + std::to_string(num_items) + "]");
  }
  return items > 0;
}

// Number of real items per row; rejects masks that are not right-aligned.
torch::Tensor CheckedLengths(const torch::Tensor& vectors, const torch::Tensor& mask, int64_t dim) {
  RF_CHECK(vectors.dim() == 3 && vectors.size(2) == dim,
           "item vectors must be [B, L, " + std::to_string(dim) + "]");
  RF_CHECK(mask.dim() == 2 && mask.size(0) == vectors.size(0) && mask.size(1) == vectors.size(1),
           "mask must be [B, L] matching the item vectors");
  const torch::Tensor m = mask.to(torch::kBool);
  const int64_t L = m.size(1);
  const torch::Tensor len = m.sum(1);
  const torch::Tensor expected =
      torch::arange(L, torch::kInt64).unsqueeze(0) >= (L - len).unsqueeze(1);
  RF_CHECK(torch::equal(m, expected), "sequence mask must be right-aligned (padding first, most recent item last)");
  return len;
}

// Reorders columns of x ([B, L, ...]) so that out[:, j] = x[:, (j + shift_b) mod L].
torch::Tensor RollRows(const torch::Tensor& x, const torch::Tensor& shift) {
  const int64_t B = x.size(0), L = x.size(1);
  torch::Tensor idx = torch::remainder(torch::arange(L, torch::kInt64).unsqueeze(0) + shift.unsqueeze(1), L);
  idx = idx.view({B, L, 1}).expand({B, L, x.size(2)});
  return x.gather(1, idx);
}

torch::Tensor LastColumn(const torch::Tensor& states) {
  return states.select(1, states.size(1) - 1);
}

torch::Tensor EmptyResult(const torch::Tensor& vectors, int64_t dim) {
  return torch::zeros({vectors.size(0), dim}, vectors.options());
}

}  // namespace

torch::Tensor HistoryTensor(const HistoryBatch& batch) { return FromBuffer(batch.items, batch.rows, batch.max_len); }
torch::Tensor NextItemInputs(const NextItemExamples& ex) { return FromBuffer(ex.inputs, ex.rows, ex.max_len); }
torch::Tensor NextItemTargets(const NextItemExamples& ex) { return FromBuffer(ex.targets, ex.rows, ex.max_len); }

torch::Tensor NextItemLoss(const torch::Tensor& states, const torch::Tensor& targets,
                           const torch::Tensor& item_table) {
  RF_CHECK(states.dim() == 3 && targets.dim() == 2 && states.size(0) == targets.size(0) &&
               states.size(1) == targets.size(1),
           "NextItemLoss: states [B, L, dim] and targets [B, L] must agree");
  RF_CHECK(item_table.dim() == 2 && item_table.size(1) == states.size(2),
           "NextItemLoss: item table must be [num_items, dim]");
  const torch::Tensor flat_t = targets.reshape({-1});
  const torch::Tensor sel = (flat_t > 0).nonzero().squeeze(1);
  if (sel.numel() == 0) return states.sum() * 0;
  const torch::Tensor h = states.reshape({-1, states.size(2)}).index_select(0, sel);
  const torch::Tensor logits = h.matmul(item_table.t());
  return torch::nn::functional::cross_entropy(logits, flat_t.index_select(0, sel) - 1);
}

// ---------------------------------------------------------------------------------- GRU4Rec

Gru4RecEncoderImpl::Gru4RecEncoderImpl(const Gru4RecEncoderOptions& o) : options(o) {
  RF_CHECK(o.dim() > 0 && o.num_items() >= 0 && o.num_layers() >= 1, "Gru4RecEncoder: bad options");
  if (o.num_items() > 0) {
    embedding = register_module(
        "embedding", torch::nn::Embedding(torch::nn::EmbeddingOptions(o.num_items() + 1, o.dim()).padding_idx(0)));
  }
  gru = register_module(
      "gru", torch::nn::GRU(torch::nn::GRUOptions(o.dim(), o.dim()).num_layers(o.num_layers()).batch_first(true)));
  dropout = register_module("dropout", torch::nn::Dropout(o.dropout()));
}

torch::Tensor Gru4RecEncoderImpl::AllPositions(const torch::Tensor& vectors, const torch::Tensor& mask) {
  const torch::Tensor len = CheckedLengths(vectors, mask, options.dim());
  const int64_t L = vectors.size(1);
  if (L == 0) return vectors;
  // nn::GRU has no notion of left padding: running it over leading padding would move the
  // hidden state away from zero. Rotate each row so its real items come first (padding
  // after them cannot influence them: the GRU is causal), run, rotate back.
  const torch::Tensor left = RollRows(dropout(vectors), L - len);
  const torch::Tensor out = std::get<0>(gru->forward(left));
  const torch::Tensor right = RollRows(out, len);
  return right * mask.to(right.scalar_type()).unsqueeze(-1);
}

torch::Tensor Gru4RecEncoderImpl::AllPositions(const torch::Tensor& items) {
  const torch::Tensor mask = IdMask(items, options.num_items());
  return AllPositions(embedding(items), mask);
}

torch::Tensor Gru4RecEncoderImpl::forward(const torch::Tensor& vectors, const torch::Tensor& mask) {
  if (vectors.dim() == 3 && vectors.size(1) == 0) return EmptyResult(vectors, options.dim());
  return LastColumn(AllPositions(vectors, mask));
}

torch::Tensor Gru4RecEncoderImpl::forward(const torch::Tensor& items) {
  const torch::Tensor mask = IdMask(items, options.num_items());
  return forward(embedding(items), mask);
}

torch::Tensor Gru4RecEncoderImpl::ItemTable() const {
  RF_CHECK(!embedding.is_empty(), "Gru4RecEncoder has no ID embedding");
  return embedding->weight.slice(0, 1);
}

// ----------------------------------------------------------------------------------- SASRec

SasRecEncoderImpl::SasRecEncoderImpl(const SasRecEncoderOptions& o) : options(o) {
  RF_CHECK(o.dim() > 0 && o.num_items() >= 0 && o.max_len() >= 1 && o.num_blocks() >= 1 &&
               o.num_heads() >= 1 && o.dim() % o.num_heads() == 0,
           "SasRecEncoder: bad options (num_heads must divide dim)");
  if (o.num_items() > 0) {
    embedding = register_module(
        "embedding", torch::nn::Embedding(torch::nn::EmbeddingOptions(o.num_items() + 1, o.dim()).padding_idx(0)));
  }
  position = register_module("position", torch::nn::Embedding(o.max_len(), o.dim()));
  dropout = register_module("dropout", torch::nn::Dropout(o.dropout()));
  const auto ln = [&] { return torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.dim()}).eps(1e-8)); };
  for (int64_t i = 0; i < o.num_blocks(); ++i) {
    Block b;
    const std::string p = "block" + std::to_string(i) + "_";
    b.attn_norm = register_module(p + "attn_norm", ln());
    b.ffn_norm = register_module(p + "ffn_norm", ln());
    b.q = register_module(p + "q", torch::nn::Linear(o.dim(), o.dim()));
    b.k = register_module(p + "k", torch::nn::Linear(o.dim(), o.dim()));
    b.v = register_module(p + "v", torch::nn::Linear(o.dim(), o.dim()));
    b.out = register_module(p + "out", torch::nn::Linear(o.dim(), o.dim()));
    b.ffn1 = register_module(p + "ffn1", torch::nn::Linear(o.dim(), o.dim()));
    b.ffn2 = register_module(p + "ffn2", torch::nn::Linear(o.dim(), o.dim()));
    blocks.push_back(b);
  }
  final_norm = register_module("final_norm", ln());
}

torch::Tensor SasRecEncoderImpl::Attention(Block& b, const torch::Tensor& query_in,
                                           const torch::Tensor& x, const torch::Tensor& allowed) {
  const int64_t B = x.size(0), L = x.size(1), H = options.num_heads(), dh = options.dim() / H;
  const auto heads = [&](const torch::Tensor& t) { return t.view({B, L, H, dh}).transpose(1, 2); };
  const torch::Tensor q = heads(b.q(query_in)), k = heads(b.k(x)), v = heads(b.v(x));
  torch::Tensor scores = q.matmul(k.transpose(-2, -1)) / std::sqrt(static_cast<double>(dh));
  scores = scores.masked_fill(allowed.logical_not().unsqueeze(1), -std::numeric_limits<double>::infinity());
  const torch::Tensor attn = dropout(torch::softmax(scores, -1));
  return b.out(attn.matmul(v).transpose(1, 2).reshape({B, L, options.dim()}));
}

torch::Tensor SasRecEncoderImpl::AllPositions(const torch::Tensor& vectors, const torch::Tensor& mask) {
  const torch::Tensor len = CheckedLengths(vectors, mask, options.dim());
  const int64_t L = vectors.size(1);
  if (L == 0) return vectors;
  RF_CHECK(len.max().item<int64_t>() <= options.max_len(),
           "SasRecEncoder: a history has " + std::to_string(len.max().item<int64_t>()) +
               " items, more than max_len " + std::to_string(options.max_len()) + "; truncate it");
  const torch::Tensor keep = mask.to(torch::kBool);
  const torch::Tensor fmask = keep.to(vectors.scalar_type()).unsqueeze(-1);
  const torch::Tensor pos = (torch::arange(L, torch::kInt64).unsqueeze(0) - (L - len).unsqueeze(1)).clamp_min(0);
  torch::Tensor x = dropout(vectors + position(pos)) * fmask;
  // Query i may attend to real keys j <= i. The diagonal is always allowed so that padding
  // rows (and fully empty histories) never softmax over nothing (NaN); their outputs are
  // zeroed by the mask, and a real query's own key is real anyway.
  const torch::Tensor causal = torch::ones({L, L}, torch::kBool).tril();
  const torch::Tensor allowed =
      (causal.unsqueeze(0) & keep.unsqueeze(1)) | torch::eye(L, torch::kBool).unsqueeze(0);
  for (Block& b : blocks) {
    const torch::Tensor q = b.attn_norm(x);
    x = q + Attention(b, q, x, allowed);
    x = b.ffn_norm(x);
    x = x + dropout(b.ffn2(dropout(torch::relu(b.ffn1(x)))));
    x = x * fmask;
  }
  return final_norm(x) * fmask;
}

torch::Tensor SasRecEncoderImpl::AllPositions(const torch::Tensor& items) {
  const torch::Tensor mask = IdMask(items, options.num_items());
  return AllPositions(embedding(items) * std::sqrt(static_cast<double>(options.dim())), mask);
}

torch::Tensor SasRecEncoderImpl::forward(const torch::Tensor& vectors, const torch::Tensor& mask) {
  if (vectors.dim() == 3 && vectors.size(1) == 0) return EmptyResult(vectors, options.dim());
  return LastColumn(AllPositions(vectors, mask));
}

torch::Tensor SasRecEncoderImpl::forward(const torch::Tensor& items) {
  return LastColumn(AllPositions(items));
}

torch::Tensor SasRecEncoderImpl::ItemTable() const {
  RF_CHECK(!embedding.is_empty(), "SasRecEncoder has no ID embedding");
  return embedding->weight.slice(0, 1);
}

// ------------------------------------------------------------------------------ Mean pooling

MeanPoolingSequenceEncoderImpl::MeanPoolingSequenceEncoderImpl(const MeanPoolingSequenceEncoderOptions& o)
    : options(o) {
  RF_CHECK(o.dim() > 0 && o.num_items() >= 0, "MeanPoolingSequenceEncoder: bad options");
  if (o.num_items() > 0) {
    embedding = register_module(
        "embedding", torch::nn::Embedding(torch::nn::EmbeddingOptions(o.num_items() + 1, o.dim()).padding_idx(0)));
  }
}

torch::Tensor MeanPoolingSequenceEncoderImpl::forward(const torch::Tensor& vectors, const torch::Tensor& mask) {
  const torch::Tensor len = CheckedLengths(vectors, mask, options.dim());
  const torch::Tensor fmask = mask.to(vectors.scalar_type()).unsqueeze(-1);
  // Clamping the count at 1 turns an empty history into 0 / 1 = 0 rather than 0 / 0.
  return (vectors * fmask).sum(1) / len.clamp_min(1).to(vectors.scalar_type()).unsqueeze(1);
}

torch::Tensor MeanPoolingSequenceEncoderImpl::forward(const torch::Tensor& items) {
  const torch::Tensor mask = IdMask(items, options.num_items());
  return forward(embedding(items), mask);
}

torch::Tensor MeanPoolingSequenceEncoderImpl::ItemTable() const {
  RF_CHECK(!embedding.is_empty(), "MeanPoolingSequenceEncoder has no ID embedding");
  return embedding->weight.slice(0, 1);
}

}  // namespace recfuse::encoders
