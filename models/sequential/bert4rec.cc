// BERT4Rec: Sun et al., "BERT4Rec: Sequential Recommendation with Bidirectional Encoder
// Representations from Transformer", CIKM 2019.
//
// A user's training sequence s_1..s_t (a window of at most max_len training items) is read by L
// bidirectional transformer layers and trained on the Cloze task: each epoch, every item of
// every sequence is replaced by the [mask] token with probability mask_ratio (at least one
// per sequence), and the model predicts the original items at the masked positions.
//   input       h_i^0 = LN(v_i + p_i), dropout           v: item/[mask] embedding, p: learned position
//   layer       A = LN(H + Dropout(MH(H)))                MH: multi-head self-attention, no causal
//               H' = LN(A + Dropout(PFFN(A)))             mask; padding keys masked out
//               PFFN(x) = GELU(x W1 + b1) W2 + b2         W1: dim x inner_dim
//   output (7)  P(v) = softmax(GELU(h_i^L W^P + b^P) E^T + b^O)   E: the input item embedding (tied)
//   loss  (8)   mean over the masked cells of -log P(original item), full softmax over all items;
//               hidden rows of masked cells are gathered first, no logits elsewhere.
// Inference (Sec. 3.6): the [mask] token is appended after the user's last max_len - 1 items
// and all items are scored at its position. The user vector GELU(h W^P + b^P), the item
// table E and the bias b^O make this a dot-product model, so scoring, factors and Save/Load
// come from the base. A user without history is scored from the lone [mask].
// The kept (final) state reads each history through the validation interactions, as
// GRU4Rec and SASRec do (sequential.cc, PrepareInference): under leave-one-out the test
// item's predecessor is the validation item; validations during training use training only.
//
// Deviations and choices, against the paper and RecBole 1.2 (recbole/model/sequential_recommender/bert4rec.py):
//  - The LayerNorm + dropout on the input embedding sum: the paper writes h^0 = v + p and is
//    silent on it; the authors' code (BERT's embedding post-processor) and RecBole apply both.
//  - Output layer: the paper's Eq. 7, GELU(h W^P + b^P) E^T + b^O. RecBole (and the authors'
//    code, BERT's MLM head) insert a LayerNorm after the GELU; we do not.
//  - Dropout on the attention probabilities as in the authors' code and RecBole (the paper
//    names dropout on sub-layer outputs only); one rate for all three places (RecBole has
//    separate hidden/attention rates, both 0.2 by default).
//  - Masked cells always become [mask] (paper and RecBole; no BERT-style 80/10/10).
//  - Training data: each user's whole training history cut into non-overlapping max_len
//    windows from the end (train_windows=all; "last" keeps only the last window), newly
//    masked each epoch (the paper's dynamic version of its dupe-factor sampling). RecBole
//    instead feeds every prefix of every history (its sequential data augmentation) and
//    masks each; the paper's code cuts long histories into sliding windows that overlap.
//  - The paper's extra next-item samples (sequences with only the last item masked) are
//    optional: last_item_ratio (default 0, like RecBole, which has no such samples).
//  - Init: weights of embeddings and Linear layers ~ N(0, 0.02^2) truncated at 2 std, biases 0,
//    LayerNorm 1/0 (the paper: "truncated normal in [-0.02, 0.02]", i.e. BERT's initializer;
//    RecBole uses an untruncated N(0, 0.02^2)). LayerNorm eps 1e-12 as BERT and RecBole.
//  - Hyperparameters: paper (ML-1m) dim 64, 2 layers, 2 heads, inner 4 * dim, dropout 0.1,
//    mask_ratio 0.2, max_len 200, Adam lr 1e-4 with linear decay, weight decay 0.01, batch
//    256, 400k steps. RecBole: hidden 64, 2 layers, 2 heads, inner 256, dropout 0.2/0.2,
//    mask_ratio 0.2, max_len 50, lr 1e-3. Defaults below follow RecBole's architecture and
//    lr; epochs/patience were chosen on ml-100k leave-one-out validation (see Bert4RecParams).
#include "models/sequential/bert4rec.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "datasets/dataset.h"
#include "framework/error.h"
#include "models/neural/neural_base.h"
#include "models/neural/neural_models.h"

namespace recfuse::models::neural {
namespace bert4rec {

std::vector<std::vector<int64_t>> TrainingWindows(std::span<const datasets::Index> history, int64_t max_len,
                                                  bool all_windows) {
  std::vector<std::vector<int64_t>> out;
  const size_t len = static_cast<size_t>(max_len);
  size_t end = history.size();
  while (end > 0) {
    const size_t start = end > len ? end - len : 0;
    if (end - start >= 2 || end == history.size())
      out.emplace_back(history.begin() + static_cast<std::ptrdiff_t>(start),
                       history.begin() + static_cast<std::ptrdiff_t>(end));
    if (!all_windows) break;
    end = start;
  }
  return out;
}

ClozeBatch MakeClozeBatch(const std::vector<std::vector<int64_t>>& sequences, int64_t max_len, int64_t num_items,
                          double mask_ratio, double last_item_ratio, framework::Rng& rng) {
  RF_CHECK(max_len >= 1 && num_items >= 1, "MakeClozeBatch: bad sizes");
  ClozeBatch b;
  b.rows = static_cast<int64_t>(sequences.size());
  b.max_len = max_len;
  b.inputs.assign(static_cast<size_t>(b.rows * max_len), 0);
  const int64_t mask = num_items + 1;
  for (int64_t r = 0; r < b.rows; ++r) {
    const auto& s = sequences[static_cast<size_t>(r)];
    const int64_t n = static_cast<int64_t>(s.size());
    RF_CHECK(n >= 1 && n <= max_len, "MakeClozeBatch: a sequence must hold 1..max_len items");
    int64_t* row = b.inputs.data() + r * max_len;
    for (int64_t c = 0; c < n; ++c) {
      const int64_t item = s[static_cast<size_t>(c)];
      RF_CHECK(item >= 0 && item < num_items, "MakeClozeBatch: item id out of range");
      row[c] = item + 1;
    }
    const auto mask_at = [&](int64_t c) {
      row[c] = mask;
      b.positions.push_back(r * max_len + c);
      b.targets.push_back(s[static_cast<size_t>(c)]);
    };
    if (last_item_ratio > 0 && rng.Uniform() < last_item_ratio) {
      mask_at(n - 1);
      continue;
    }
    const size_t before = b.positions.size();
    for (int64_t c = 0; c < n; ++c)
      if (rng.Uniform() < mask_ratio) mask_at(c);
    if (b.positions.size() == before) mask_at(static_cast<int64_t>(rng.UniformInt(static_cast<uint64_t>(n))));
  }
  return b;
}

namespace {

// BERT's initializer: N(0, std^2), values beyond 2 std redrawn (torch's global generator).
void TruncatedNormal(torch::Tensor w, double std) {
  torch::NoGradGuard no_grad;
  w.normal_(0, std);
  for (int it = 0; it < 100; ++it) {
    const torch::Tensor bad = w.abs() > 2 * std;
    if (!bad.any().item<bool>()) return;
    w.masked_scatter_(bad, torch::empty({bad.sum().item<int64_t>()}, w.options()).normal_(0, std));
  }
  w.clamp_(-2 * std, 2 * std);
}

}  // namespace

Bert4RecNetImpl::Bert4RecNetImpl(const Bert4RecNetOptions& o) : options(o) {
  RF_CHECK(o.num_items() >= 1 && o.dim() >= 1 && o.max_len() >= 1 && o.num_layers() >= 1 && o.num_heads() >= 1 &&
               o.dim() % o.num_heads() == 0 && o.inner_dim() >= 1,
           "Bert4RecNet: bad options (num_heads must divide dim)");
  embedding = register_module(
      "embedding", torch::nn::Embedding(torch::nn::EmbeddingOptions(o.num_items() + 2, o.dim()).padding_idx(0)));
  position = register_module("position", torch::nn::Embedding(o.max_len(), o.dim()));
  const auto ln = [&] { return torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.dim()}).eps(1e-12)); };
  input_norm = register_module("input_norm", ln());
  dropout = register_module("dropout", torch::nn::Dropout(o.dropout()));
  for (int64_t i = 0; i < o.num_layers(); ++i) {
    Layer l;
    const std::string p = "layer" + std::to_string(i) + "_";
    l.q = register_module(p + "q", torch::nn::Linear(o.dim(), o.dim()));
    l.k = register_module(p + "k", torch::nn::Linear(o.dim(), o.dim()));
    l.v = register_module(p + "v", torch::nn::Linear(o.dim(), o.dim()));
    l.out = register_module(p + "out", torch::nn::Linear(o.dim(), o.dim()));
    l.attn_norm = register_module(p + "attn_norm", ln());
    l.ffn1 = register_module(p + "ffn1", torch::nn::Linear(o.dim(), o.inner_dim()));
    l.ffn2 = register_module(p + "ffn2", torch::nn::Linear(o.inner_dim(), o.dim()));
    l.ffn_norm = register_module(p + "ffn_norm", ln());
    layers.push_back(l);
  }
  head = register_module("head", torch::nn::Linear(o.dim(), o.dim()));
  bias = register_parameter("bias", torch::zeros({o.num_items()}));

  torch::NoGradGuard no_grad;
  TruncatedNormal(embedding->weight, 0.02);
  embedding->weight[0].zero_();  // padding row
  TruncatedNormal(position->weight, 0.02);
  for (auto& m : modules(/*include_self=*/false))
    if (auto* lin = m->as<torch::nn::Linear>()) {
      TruncatedNormal(lin->weight, 0.02);
      lin->bias.zero_();
    }
}

torch::Tensor Bert4RecNetImpl::Attention(Layer& l, const torch::Tensor& x, const torch::Tensor& allowed) {
  const int64_t B = x.size(0), L = x.size(1), H = options.num_heads(), dh = options.dim() / H;
  const auto heads = [&](const torch::Tensor& t) { return t.view({B, L, H, dh}).transpose(1, 2); };
  const torch::Tensor q = heads(l.q(x)), k = heads(l.k(x)), v = heads(l.v(x));
  torch::Tensor scores = q.matmul(k.transpose(-2, -1)) / std::sqrt(static_cast<double>(dh));
  scores = scores.masked_fill(allowed.logical_not().unsqueeze(1), -std::numeric_limits<double>::infinity());
  const torch::Tensor attn = dropout(torch::softmax(scores, -1));
  return l.out(attn.matmul(v).transpose(1, 2).reshape({B, L, options.dim()}));
}

torch::Tensor Bert4RecNetImpl::Hidden(const torch::Tensor& items) {
  RF_CHECK(items.dim() == 2 && items.scalar_type() == torch::kInt64, "Bert4RecNet: items must be [B, L] int64");
  const int64_t B = items.size(0), L = items.size(1);
  RF_CHECK(L >= 1 && L <= options.max_len(), "Bert4RecNet: sequence length must be 1..max_len");
  if (items.numel() > 0)
    RF_CHECK(items.min().item<int64_t>() >= 0 && items.max().item<int64_t>() <= mask_token(),
             "Bert4RecNet: ids must lie in [0, num_items + 1]");
  torch::Tensor x = embedding(items) + position(torch::arange(L, torch::kInt64)).unsqueeze(0);
  x = dropout(input_norm(x));
  // Every query may attend to every real key, before or after it (the bidirectional part).
  // The diagonal keeps padding queries' softmax defined; their outputs are never read.
  const torch::Tensor allowed = items.gt(0).unsqueeze(1).expand({B, L, L}) | torch::eye(L, torch::kBool).unsqueeze(0);
  for (Layer& l : layers) {
    const torch::Tensor a = l.attn_norm(x + dropout(Attention(l, x, allowed)));
    x = l.ffn_norm(a + dropout(l.ffn2(torch::gelu(l.ffn1(a)))));
  }
  return x;
}

torch::Tensor Bert4RecNetImpl::Project(const torch::Tensor& h) { return torch::gelu(head(h)); }

torch::Tensor Bert4RecNetImpl::ItemTable() const { return embedding->weight.slice(0, 1, options.num_items() + 1); }

torch::Tensor Bert4RecNetImpl::ClozeLoss(const torch::Tensor& items, const torch::Tensor& positions,
                                         const torch::Tensor& targets) {
  RF_CHECK(positions.dim() == 1 && targets.dim() == 1 && positions.size(0) == targets.size(0),
           "Bert4RecNet::ClozeLoss: positions and targets must be [n]");
  const torch::Tensor h = Hidden(items);
  if (positions.numel() == 0) return h.sum() * 0;
  const torch::Tensor picked = h.reshape({-1, options.dim()}).index_select(0, positions);  // [n, dim]
  const torch::Tensor logits = Project(picked).matmul(ItemTable().t()) + bias;              // [n, items]
  return torch::nn::functional::cross_entropy(logits, targets);
}

}  // namespace bert4rec

namespace {

using framework::ParamSpec;
using framework::ParamType;

constexpr int64_t kInferenceRows = 512;  // bounds the [rows, max_len, dim] activations

std::vector<ParamSpec> Bert4RecParams() {
  std::vector<ParamSpec> p = {
      {"dim", ParamType::kInt, "64", "item embedding and hidden size (paper, RecBole: 64)", 2, 4096, {}},
      {"max_len", ParamType::kInt, "50",
       "most recent training items per sequence, [mask] included at inference (RecBole 50; paper 200 on ML-1m)", 2,
       100000, {}},
      {"num_layers", ParamType::kInt, "2", "transformer layers (paper, RecBole: 2)", 1, 16, {}},
      {"num_heads", ParamType::kInt, "2", "attention heads, must divide dim (paper, RecBole: 2)", 1, 64, {}},
      {"inner_dim", ParamType::kInt, "256", "feed-forward inner size (paper: 4 * dim; RecBole 256)", 1, 65536, {}},
      {"dropout", ParamType::kFloat, "0.2",
       "dropout on the input embedding, attention probabilities and sub-layer outputs (RecBole 0.2; paper 0.1)", 0,
       0.95, {}},
      {"mask_ratio", ParamType::kFloat, "0.2",
       "Cloze masking probability per item (paper on ML-1m/ML-20m and RecBole: 0.2)", 0.001, 1, {}},
      // Chosen on ml-100k loo validation NDCG@10 (seed 0, defaults otherwise, 2026-12-04):
      // all 0.1014 @89 (stopped @109, 302 s) vs last 0.0979 @143 (326 s); ml-100k's users have
      // ~100 training items, so "last" never trains on half of them.
      {"train_windows", ParamType::kString, "all",
       "training sequences per user: last = its last max_len items; all = its whole history cut into "
       "non-overlapping max_len windows from the end (the paper's code cuts long histories into windows)",
       0, 0, {"last", "all"}},
      {"last_item_ratio", ParamType::kFloat, "0",
       "share of sequences per epoch with only their last item masked (paper Sec. 3.6; 0 = off, as RecBole)", 0, 1,
       {}},
  };
  TrainDefaults d;
  // epochs/patience chosen on ml-100k loo validation NDCG@10 (seed 0, 400 epochs, no early
  // stop; 2026-12-04): 0.035 @20, 0.059 @60, 0.075 @100, best 0.0979 @143, then a noisy
  // plateau 0.08-0.094 through epoch 284 (never above the @143 best). Validation on 943
  // users swings +-0.01 between epochs, hence patience 20; 400 is a cap, not a target.
  d.epochs = 400;
  d.batch_size = 256;  // sequences per step (paper: 256)
  d.lr = 1e-3;         // RecBole (paper 1e-4 over 400k steps)
  d.loss = "ce";
  d.losses = {"ce"};
  d.patience = 20;
  for (auto& s : TrainParams(d)) p.push_back(std::move(s));
  return p;
}

const std::vector<ParamSpec>& Bert4RecSpecs() {
  static const std::vector<ParamSpec> kSpecs = Bert4RecParams();
  return kSpecs;
}

class Bert4Rec final : public NeuralRecommender {
 public:
  explicit Bert4Rec(const framework::Config& c) : NeuralRecommender("bert4rec", ReadTrainOptions(c, Bert4RecSpecs())) {
    const auto& s = Bert4RecSpecs();
    dim_ = c.GetInt(s, "dim");
    max_len_ = c.GetInt(s, "max_len");
    num_layers_ = c.GetInt(s, "num_layers");
    num_heads_ = c.GetInt(s, "num_heads");
    inner_dim_ = c.GetInt(s, "inner_dim");
    dropout_ = c.GetDouble(s, "dropout");
    mask_ratio_ = c.GetDouble(s, "mask_ratio");
    last_item_ratio_ = c.GetDouble(s, "last_item_ratio");
    all_windows_ = c.GetString(s, "train_windows") == "all";
    if (dim_ % num_heads_ != 0)
      throw framework::ConfigError("bert4rec: num_heads (" + std::to_string(num_heads_) + ") must divide dim (" +
                                   std::to_string(dim_) + ")");
  }

 protected:
  void Build(const TrainData& data, const FitContext&) override {
    td_ = &data;
    net_ = bert4rec::Bert4RecNet(bert4rec::Bert4RecNetOptions(static_cast<int64_t>(data.num_items), dim_)
                                     .max_len(max_len_)
                                     .num_layers(num_layers_)
                                     .num_heads(num_heads_)
                                     .inner_dim(inner_dim_)
                                     .dropout(dropout_));
    sequences_.clear();
    for (Index u = 0; u < data.by_user.rows(); ++u) {
      const auto row = data.by_user.Row(u);
      if (row.empty()) continue;
      for (auto& w : bert4rec::TrainingWindows(row, max_len_, all_windows_))
        sequences_.push_back(std::move(w));
    }
    order_.resize(sequences_.size());
  }

  torch::nn::Module& Root() override { return *net_; }

  int64_t BeginEpoch(int, framework::Rng& rng) override {
    for (size_t k = 0; k < order_.size(); ++k) order_[k] = k;
    rng.Shuffle(order_);
    return static_cast<int64_t>(order_.size());
  }

  torch::Tensor BatchLoss(int64_t begin, int64_t end, framework::Rng& rng) override {
    std::vector<std::vector<int64_t>> batch;
    batch.reserve(static_cast<size_t>(end - begin));
    for (int64_t k = begin; k < end; ++k) batch.push_back(sequences_[order_[static_cast<size_t>(k)]]);
    const bert4rec::ClozeBatch cb = bert4rec::MakeClozeBatch(batch, max_len_, static_cast<int64_t>(td_->num_items),
                                                             mask_ratio_, last_item_ratio_, rng);
    const auto i64 = torch::TensorOptions().dtype(torch::kInt64);
    return net_->ClozeLoss(torch::tensor(cb.inputs, i64).view({cb.rows, cb.max_len}), torch::tensor(cb.positions, i64),
                           torch::tensor(cb.targets, i64));
  }

  void PrepareInference() override {
    item_ = ToEigen(net_->ItemTable().contiguous());
    item_bias_ = Eigen::Map<const Eigen::VectorXf>(net_->bias.contiguous().data_ptr<float>(), td_->num_items);
    user_.setZero(td_->num_users, dim_);
    datasets::Csr with_valid;
    const datasets::Csr* history = &td_->by_user;
    if (final_inference_ && !td_->valid.empty()) {
      datasets::Interactions all = td_->train;
      all.Append(td_->valid);
      with_valid = datasets::BuildUserCsr(all, td_->num_users);
      history = &with_valid;
    }
    const int64_t keep = max_len_ - 1, mask = net_->mask_token();
    for (Index u0 = 0; u0 < td_->num_users; u0 += kInferenceRows) {
      const Index u1 = std::min<Index>(td_->num_users, u0 + kInferenceRows);
      const int64_t rows = u1 - u0;
      // Each row: the last max_len - 1 items, then [mask]; the batch is as wide as its longest row.
      std::vector<int64_t> lens(static_cast<size_t>(rows));
      int64_t width = 1;
      for (Index u = u0; u < u1; ++u) {
        const int64_t n = std::min<int64_t>(keep, static_cast<int64_t>(history->RowSize(u)));
        lens[static_cast<size_t>(u - u0)] = n;
        width = std::max(width, n + 1);
      }
      std::vector<int64_t> items(static_cast<size_t>(rows * width), 0), at(static_cast<size_t>(rows));
      for (Index u = u0; u < u1; ++u) {
        const int64_t r = u - u0, n = lens[static_cast<size_t>(r)];
        const auto row = history->Row(u);
        const size_t start = row.size() - static_cast<size_t>(n);
        for (int64_t c = 0; c < n; ++c)
          items[static_cast<size_t>(r * width + c)] = static_cast<int64_t>(row[start + static_cast<size_t>(c)]) + 1;
        items[static_cast<size_t>(r * width + n)] = mask;
        at[static_cast<size_t>(r)] = r * width + n;
      }
      const auto i64 = torch::TensorOptions().dtype(torch::kInt64);
      const torch::Tensor h = net_->Hidden(torch::tensor(items, i64).view({rows, width}));
      const torch::Tensor picked = h.reshape({-1, dim_}).index_select(0, torch::tensor(at, i64));
      user_.middleRows(u0, rows) = ToEigen(net_->Project(picked).contiguous());
    }
  }

 private:
  bool all_windows_ = false;
  int64_t dim_ = 64, max_len_ = 50, num_layers_ = 2, num_heads_ = 2, inner_dim_ = 256;
  double dropout_ = 0.2, mask_ratio_ = 0.2, last_item_ratio_ = 0;
  const TrainData* td_ = nullptr;
  bert4rec::Bert4RecNet net_{nullptr};
  std::vector<std::vector<int64_t>> sequences_;  // training windows (TrainingWindows), 0-based
  std::vector<size_t> order_;
};

}  // namespace

ModelEntry Bert4RecEntry() {
  return {"bert4rec", "sequential",
          "bidirectional transformer over the user's sequence, Cloze (masked item) training (Sun et al. 2019, CIKM)",
          Bert4RecSpecs(),
          [](const framework::Config& c) -> std::unique_ptr<Recommender> { return std::make_unique<Bert4Rec>(c); }};
}

}  // namespace recfuse::models::neural
