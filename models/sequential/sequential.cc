// Sequential recommenders: GRU4Rec (Hidasi et al. 2016) and SASRec (Kang & McAuley 2018).
//
// Both read a user's time-ordered training history (TrainData::by_user) through a sequence
// encoder (encoders/sequence_encoders.h) and are trained on next-item prediction at every
// position of a history window: the encoder state after s_1..s_p must rank s_{p+1} first.
//   loss=ce       full softmax cross-entropy over all items (logits = state . E_item), as
//                 RecBole trains both models; encoders::NextItemLoss
//   loss=bpr      -log sigmoid(state . E_pos - state . E_neg), `negatives` uniform
//                 negatives per position drawn from items the user never trained on
//   loss=softmax  sampled softmax over the positive and those negatives
// Inference is a dot product: user vector = encoder state after the user's last max_len
// training items (zero for a user without history), item vector = the encoder's item
// embedding (its padding row dropped), so scoring, factors and Save/Load come from the base.
//
// Training windows: a history s_0..s_{n-1} longer than max_len + 1 is cut into windows that
// end at n-1, n-1-max_len, n-1-2*max_len, ... (each window: up to max_len inputs and the
// same number of shifted targets), so every transition of the history is a target exactly
// once. The newest window is exactly encoders::BuildNextItemExamples' example; the older
// ones matter on long histories (ml-100k users average ~85 training items), where keeping
// only the newest window would discard most of the data.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "encoders/history.h"
#include "encoders/sequence_encoders.h"
#include "framework/error.h"
#include "models/neural/neural_base.h"
#include "models/neural/neural_models.h"

namespace recfuse::models::neural {
namespace {

using framework::ParamSpec;
using framework::ParamType;

// Rows of the user-state batches of PrepareInference: bounds the [rows, max_len, dim]
// activations, not the result.
constexpr int64_t kInferenceRows = 512;

std::vector<ParamSpec> CommonParams() {
  return {
      {"dim", ParamType::kInt, "64", "item embedding and user state size", 2, 4096, {}},
      {"max_len", ParamType::kInt, "50", "most recent training items the encoder reads", 1, 100000, {}},
  };
}

void AppendTrain(std::vector<ParamSpec>& p, TrainDefaults d) {
  d.losses = {"ce", "bpr", "softmax"};
  for (auto& s : TrainParams(d)) p.push_back(std::move(s));
}

std::vector<ParamSpec> Gru4RecParams() {
  auto p = CommonParams();
  p.push_back({"num_layers", ParamType::kInt, "1", "stacked GRU layers", 1, 16, {}});
  p.push_back({"dropout", ParamType::kFloat, "0.3", "dropout on the input item embeddings", 0, 0.95, {}});
  TrainDefaults d;
  d.epochs = 100;
  d.batch_size = 128;
  d.lr = 2e-3;
  d.loss = "ce";
  d.negatives = 1;
  d.patience = 10;
  AppendTrain(p, d);
  return p;
}

std::vector<ParamSpec> SasRecParams() {
  auto p = CommonParams();
  p.push_back({"num_blocks", ParamType::kInt, "2", "self-attention blocks", 1, 16, {}});
  p.push_back({"num_heads", ParamType::kInt, "1", "attention heads (must divide dim)", 1, 64, {}});
  p.push_back({"dropout", ParamType::kFloat, "0.2", "dropout on embeddings, attention output and FFN", 0, 0.95, {}});
  TrainDefaults d;
  d.epochs = 100;
  d.batch_size = 128;
  d.lr = 2e-3;
  d.loss = "ce";
  d.negatives = 1;
  d.patience = 10;
  AppendTrain(p, d);
  return p;
}

const std::vector<ParamSpec>& Gru4RecSpecs() {
  static const std::vector<ParamSpec> kSpecs = Gru4RecParams();
  return kSpecs;
}
const std::vector<ParamSpec>& SasRecSpecs() {
  static const std::vector<ParamSpec> kSpecs = SasRecParams();
  return kSpecs;
}

// All history windows of all users (see the file comment), in the layout of
// encoders::NextItemExamples: right-aligned, item id + 1, 0 = padding.
encoders::NextItemExamples BuildWindows(const datasets::Csr& by_user, int64_t max_len) {
  encoders::NextItemExamples ex;
  ex.max_len = max_len;
  for (datasets::Index u = 0; u < by_user.rows(); ++u) {
    const auto row = by_user.Row(u);
    const int64_t n = static_cast<int64_t>(row.size());
    for (int64_t end = n - 1; end >= 1; end -= max_len) {
      const int64_t start = std::max<int64_t>(0, end - max_len);
      const int64_t m = end - start;  // inputs row[start, end), targets row[start+1, end]
      const size_t base = ex.inputs.size();
      ex.inputs.resize(base + static_cast<size_t>(max_len), 0);
      ex.targets.resize(base + static_cast<size_t>(max_len), 0);
      for (int64_t k = 0; k < m; ++k) {
        const size_t col = base + static_cast<size_t>(max_len - m + k);
        ex.inputs[col] = static_cast<int64_t>(row[static_cast<size_t>(start + k)]) + 1;
        ex.targets[col] = static_cast<int64_t>(row[static_cast<size_t>(start + k + 1)]) + 1;
      }
      ex.users.push_back(u);
      ++ex.rows;
    }
  }
  return ex;
}

// The shared part of both models; Encoder is a TORCH_MODULE holder (Gru4RecEncoder or
// SasRecEncoder) with forward(items), AllPositions(items) and ItemTable().
template <typename Encoder>
class SequentialRecommender : public NeuralRecommender {
 public:
  SequentialRecommender(std::string name, const framework::Config& c, const std::vector<ParamSpec>& specs)
      : NeuralRecommender(std::move(name), ReadTrainOptions(c, specs)) {
    dim_ = c.GetInt(specs, "dim");
    max_len_ = c.GetInt(specs, "max_len");
  }

 protected:
  virtual Encoder MakeEncoder(int64_t num_items) const = 0;

  void Build(const TrainData& data, const FitContext&) override {
    td_ = &data;
    encoder_ = MakeEncoder(static_cast<int64_t>(data.num_items));
    windows_ = BuildWindows(data.by_user, max_len_);
    inputs_ = encoders::NextItemInputs(windows_);
    targets_ = encoders::NextItemTargets(windows_);
    sampler_.reset();
    if (opt_.loss != "ce") sampler_ = std::make_unique<PairSampler>(data);
    order_.resize(static_cast<size_t>(windows_.rows));
  }

  torch::nn::Module& Root() override { return *encoder_; }

  int64_t BeginEpoch(int, framework::Rng& rng) override {
    for (size_t k = 0; k < order_.size(); ++k) order_[k] = static_cast<int64_t>(k);
    for (size_t k = order_.size(); k > 1; --k) std::swap(order_[k - 1], order_[rng.UniformInt(k)]);
    return windows_.rows;
  }

  torch::Tensor BatchLoss(int64_t begin, int64_t end, framework::Rng& rng) override {
    const auto idx = torch::from_blob(order_.data() + begin, {end - begin}, torch::kInt64).clone();
    const torch::Tensor inputs = inputs_.index_select(0, idx);
    const torch::Tensor targets = targets_.index_select(0, idx);
    const torch::Tensor states = encoder_->AllPositions(inputs);  // [B, L, d]
    const torch::Tensor table = encoder_->ItemTable();             // [items, d]
    if (opt_.loss == "ce") return encoders::NextItemLoss(states, targets, table);
    // Sampled losses over the real positions only; negatives avoid all of the user's
    // training items, so a later item of the same history is never a "negative".
    const int64_t b = end - begin, l = max_len_, k = opt_.negatives;
    std::vector<int64_t> flat, pos, neg;
    for (int64_t r = 0; r < b; ++r) {
      const int64_t w = order_[static_cast<size_t>(begin + r)];
      const Index user = windows_.users[static_cast<size_t>(w)];
      for (int64_t c = 0; c < l; ++c) {
        const int64_t t = windows_.targets[static_cast<size_t>(w * l + c)];
        if (t == 0) continue;
        flat.push_back(r * l + c);
        pos.push_back(t - 1);
        for (int64_t j = 0; j < k; ++j) neg.push_back(sampler_->SampleNegative(user, rng));
      }
    }
    const int64_t n = static_cast<int64_t>(flat.size());
    if (n == 0) return (states.sum() * 0.0);
    const auto opts = torch::TensorOptions().dtype(torch::kInt64);
    const torch::Tensor s = states.reshape({b * l, dim_}).index_select(0, torch::tensor(flat, opts));  // [n, d]
    const torch::Tensor pe = table.index_select(0, torch::tensor(pos, opts));                          // [n, d]
    const torch::Tensor ne = table.index_select(0, torch::tensor(neg, opts)).reshape({n, k, dim_});   // [n, k, d]
    const torch::Tensor pos_score = (s * pe).sum(1);
    const torch::Tensor neg_score = torch::bmm(ne, s.unsqueeze(2)).squeeze(2);
    return PairLoss(opt_.loss, pos_score, neg_score);
  }

  void PrepareInference() override {
    item_ = ToEigen(encoder_->ItemTable().contiguous());
    item_bias_.resize(0);
    user_.setZero(td_->num_users, dim_);
    // The kept state reads each user's history through the validation interactions (known
    // by test time; the evaluator masks those items): under leave-one-out the test item's
    // direct predecessor is the validation item, and a next-item model without it loses the
    // transition it was built for (RecBole does the same). Validations use training only.
    datasets::Csr with_valid;
    const datasets::Csr* history = &td_->by_user;
    if (final_inference_ && !td_->valid.empty()) {
      datasets::Interactions all = td_->train;
      all.Append(td_->valid);
      with_valid = datasets::BuildUserCsr(all, td_->num_users);
      history = &with_valid;
    }
    std::vector<Index> users;
    for (Index u0 = 0; u0 < td_->num_users; u0 += kInferenceRows) {
      const Index u1 = std::min<Index>(td_->num_users, u0 + kInferenceRows);
      users.clear();
      for (Index u = u0; u < u1; ++u)
        if (history->RowSize(u) > 0) users.push_back(u);
      if (users.empty()) continue;
      const auto hist = encoders::BuildHistoryBatch(*history, users, max_len_);
      const RowMatrixXf states = ToEigen(encoder_->forward(encoders::HistoryTensor(hist)).contiguous());
      for (size_t k = 0; k < users.size(); ++k) user_.row(users[k]) = states.row(static_cast<Eigen::Index>(k));
    }
  }

  int64_t dim_ = 64;
  int64_t max_len_ = 50;
  Encoder encoder_{nullptr};

 private:
  const TrainData* td_ = nullptr;
  encoders::NextItemExamples windows_;
  torch::Tensor inputs_, targets_;
  std::unique_ptr<PairSampler> sampler_;
  std::vector<int64_t> order_;
};

class Gru4Rec final : public SequentialRecommender<encoders::Gru4RecEncoder> {
 public:
  explicit Gru4Rec(const framework::Config& c) : SequentialRecommender("gru4rec", c, Gru4RecSpecs()) {
    num_layers_ = c.GetInt(Gru4RecSpecs(), "num_layers");
    dropout_ = c.GetDouble(Gru4RecSpecs(), "dropout");
  }

 protected:
  encoders::Gru4RecEncoder MakeEncoder(int64_t num_items) const override {
    return encoders::Gru4RecEncoder(
        encoders::Gru4RecEncoderOptions(num_items, dim_).num_layers(num_layers_).dropout(dropout_));
  }

 private:
  int64_t num_layers_ = 1;
  double dropout_ = 0.3;
};

class SasRec final : public SequentialRecommender<encoders::SasRecEncoder> {
 public:
  explicit SasRec(const framework::Config& c) : SequentialRecommender("sasrec", c, SasRecSpecs()) {
    num_blocks_ = c.GetInt(SasRecSpecs(), "num_blocks");
    num_heads_ = c.GetInt(SasRecSpecs(), "num_heads");
    dropout_ = c.GetDouble(SasRecSpecs(), "dropout");
    if (dim_ % num_heads_ != 0)
      throw framework::ConfigError("sasrec: num_heads (" + std::to_string(num_heads_) + ") must divide dim (" +
                                   std::to_string(dim_) + ")");
  }

 protected:
  encoders::SasRecEncoder MakeEncoder(int64_t num_items) const override {
    encoders::SasRecEncoder enc(encoders::SasRecEncoderOptions(num_items, dim_)
                                    .max_len(max_len_)
                                    .num_blocks(num_blocks_)
                                    .num_heads(num_heads_)
                                    .dropout(dropout_));
    // torch's N(0, 1) embedding init gives item rows of norm sqrt(dim) against a layer-normed
    // state of the same norm: initial logits have std sqrt(dim) (CE ~15 at dim 32) and Adam
    // never shrinks the random part enough, so training stalled near the popularity loss
    // (5.53 vs ln 300 = 5.70 on a 300-item world). N(0, 1/dim) makes the sqrt(dim)-scaled
    // input unit-variance and the initial logits std ~1, as the paper's Xavier init does.
    // Measured 2026-11-29 (tests/neural/sequential_test.cc, SessionWorld, 40 epochs):
    // NDCG@10 0.072 -> 0.139 (ce), 0.036 -> 0.127 (bpr), 0.046 -> 0.135 (softmax); pop 0.067.
    torch::NoGradGuard no_grad;
    torch::nn::init::normal_(enc->embedding->weight, 0, 1 / std::sqrt(static_cast<double>(dim_)));
    enc->embedding->weight[0].zero_();  // padding row
    return enc;
  }

 private:
  int64_t num_blocks_ = 2;
  int64_t num_heads_ = 1;
  double dropout_ = 0.2;
};

}  // namespace

ModelEntry Gru4RecEntry() {
  return {"gru4rec", "sequential",
          "GRU over the user's training sequence, next-item softmax (Hidasi et al. 2016, ICLR)", Gru4RecSpecs(),
          [](const framework::Config& c) -> std::unique_ptr<Recommender> { return std::make_unique<Gru4Rec>(c); }};
}

ModelEntry SasRecEntry() {
  return {"sasrec", "sequential",
          "causal self-attention over the user's training sequence, next-item softmax (Kang & McAuley 2018, ICDM)",
          SasRecSpecs(),
          [](const framework::Config& c) -> std::unique_ptr<Recommender> { return std::make_unique<SasRec>(c); }};
}

}  // namespace recfuse::models::neural
