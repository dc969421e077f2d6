// dkn: knowledge-aware candidate attention (Wang et al., WWW 2018, "DKN").
//
// Item vector (d-dimensional; absent parts are zero):
//   x_i = m_i * q_i                ID embedding (use_id); m_i = 1 for items seen in training
//       + W_e e_i + b_e            frozen KG entity embedding of the linked entity (use_kg;
//                                  kg_features, TransE by default)
//       + W_t t_i + b_t            frozen text features (use_text; text_features)
//                                  (DKN's word vectors come in through this spec:
//                                  text_features=text:glove:100 is pooled GloVe, the
//                                  paper's word embeddings, after scripts/setup.sh --pretrained)
// i.e. a linear projection of [q_i; e_i; t_i] with missing parts left out.
// User for a candidate c: the user's last max_len training items h_1..h_L attend to c,
//   a_j = masked softmax_j f(h_j, c),   u_c = sum_j a_j h_j,
//   f = <h_j, c> / sqrt(d)                              (attention=dot, the default)
//   f = w2^T relu(W [h_j; c; h_j * c] + b1) + b2        (attention=mlp, DKN's network via
//                                                        fusion::CandidateAttention)
// score(u, c) = <u_c, x_c> + <w, x_c>: the item bias is a function of the item vector, so
// cold items get one from their content (a free per-item bias would rank every cold item
// below the popular warm ones) and users without history still get a popularity ranking. While training, the candidate itself is masked out of the
// history, otherwise a positive would simply attend to its own copy.
// Full ranking: with dot attention everything is one GEMM per user, S = H X^T, scores
// = column sums of softmax(S / sqrt(d)) * S. For mlp the first layer is split,
// W [h; c; h*c] = W1 h + W2 c + W3 (h * c), and W3 (h_j * c) for all candidates is the GEMM
// (h_j o W3) X^T, so no [L, I, 3d] tensor is ever formed.
#include <algorithm>
#include <cmath>

#include "framework/error.h"
#include "fusion/fusion.h"
#include "models/neural/neural_base.h"
#include "models/neural/neural_models.h"
#include "models/serialize.h"

namespace recfuse::models::neural {

namespace dkn_internal {

// Scores [I] of one user: history h [L, d] with mask [L] (1 = present), candidates x [I, d].
// Dot attention: sum_j softmax_j(<h_j, x_i> / sqrt(d)) <h_j, x_i>.
torch::Tensor DotScores(const torch::Tensor& h, const torch::Tensor& mask, const torch::Tensor& x) {
  const torch::Tensor s = torch::mm(x, h.t());  // [I, L]
  const double scale = 1.0 / std::sqrt(static_cast<double>(h.size(1)));
  const torch::Tensor a = fusion::MaskedSoftmax(s * scale, mask.to(s.scalar_type()).unsqueeze(0).expand_as(s));
  return (a * s).sum(1);
}

// Same with MLP attention; w1 [hid, 3d] (columns: h, c, h*c), b1 [hid], w2 [1, hid], b2 [1]
// are the two Linear layers of fusion::CandidateAttention.
torch::Tensor SplitMlpScores(const torch::Tensor& h, const torch::Tensor& mask, const torch::Tensor& x,
                             const torch::Tensor& w1, const torch::Tensor& b1, const torch::Tensor& w2,
                             const torch::Tensor& b2) {
  const int64_t l = h.size(0), d = h.size(1), hid = w1.size(0), n = x.size(0);
  RF_CHECK(w1.size(1) == 3 * d, "dkn: attention weights do not match the vector size");
  const torch::Tensor wh = w1.slice(1, 0, d), wc = w1.slice(1, d, 2 * d), whc = w1.slice(1, 2 * d, 3 * d);
  const torch::Tensor ph = torch::mm(h, wh.t());                   // [L, hid]
  const torch::Tensor pc = torch::mm(x, wc.t()) + b1;              // [I, hid]
  const torch::Tensor g = (h.unsqueeze(1) * whc.unsqueeze(0)).reshape({l * hid, d});
  const torch::Tensor phc = torch::mm(g, x.t()).view({l, hid, n});  // W3 (h_j * x_i)
  const torch::Tensor z = torch::relu(phc + ph.unsqueeze(2) + pc.t().unsqueeze(0));
  const torch::Tensor logits = (z * w2.reshape({1, hid, 1})).sum(1).t() + b2;  // [I, L]
  const torch::Tensor s = torch::mm(x, h.t());                                 // [I, L]
  const torch::Tensor a = fusion::MaskedSoftmax(logits, mask.to(s.scalar_type()).unsqueeze(0).expand_as(s));
  return (a * s).sum(1);
}

}  // namespace dkn_internal

namespace {

using framework::ParamSpec;
using framework::ParamType;
constexpr const char* kName = "dkn";

std::vector<ParamSpec> DknParams() {
  std::vector<ParamSpec> p = {
      {"dim", ParamType::kInt, "64", "size of the item vectors", 2, 4096, {}},
      {"max_len", ParamType::kInt, "50", "most recent training items the candidate attends over", 1, 100000, {}},
      {"attention", ParamType::kString, "dot", "candidate attention: dot (fast) or mlp (DKN's network)", 0, 0,
       {"dot", "mlp"}},
      {"attention_hidden", ParamType::kInt, "32", "hidden width of the mlp attention", 1, 4096, {}},
      {"use_id", ParamType::kBool, "true", "item ID embeddings", 0, 0, {}},
      {"use_kg", ParamType::kBool, "true", "frozen KG entity embedding of the item", 0, 0, {}},
      {"use_text", ParamType::kBool, "true", "frozen item text features", 0, 0, {}},
      {"kg_features", ParamType::kString, "kg:transe:32", "frozen KG encoder spec", 0, 0, {}},
      {"text_features", ParamType::kString, "text:tfidf-svd:64:description",
       "frozen text encoder spec (descriptions only: reviews exist for warm items alone)", 0, 0, {}},
      {"reg", ParamType::kFloat, "1e-4", "L2 weight on the batch's item ID vectors", 0, 100, {}},
      {"id_dropout", ParamType::kFloat, "0.2", "training-time probability of dropping an item's ID embedding", 0, 1, {}},
  };
  TrainDefaults d;
  d.epochs = 40;
  d.batch_size = 1024;
  d.lr = 2e-3;
  d.loss = "bpr";
  d.losses = {"bpr", "bce", "softmax"};
  d.negatives = 1;
  d.patience = 5;
  for (auto& s : TrainParams(d)) p.push_back(std::move(s));
  return p;
}

struct Net : torch::nn::Module {
  torch::nn::Embedding item{nullptr};
  torch::nn::Linear kg{nullptr}, text{nullptr}, bias{nullptr};
  fusion::CandidateAttention attention{nullptr};
};

class Dkn final : public PairwiseRecommender {
 public:
  explicit Dkn(const framework::Config& c) : PairwiseRecommender(kName, ReadTrainOptions(c, Specs())) {
    const auto& s = Specs();
    dim_ = c.GetInt(s, "dim");
    max_len_ = c.GetInt(s, "max_len");
    mlp_ = c.GetString(s, "attention") == "mlp";
    hidden_ = c.GetInt(s, "attention_hidden");
    use_id_ = c.GetBool(s, "use_id");
    use_kg_ = c.GetBool(s, "use_kg");
    use_text_ = c.GetBool(s, "use_text");
    kg_spec_ = c.GetString(s, "kg_features");
    text_spec_ = c.GetString(s, "text_features");
    reg_ = c.GetDouble(s, "reg");
    id_dropout_ = c.GetDouble(s, "id_dropout");
    if (!use_id_ && !use_kg_ && !use_text_)
      throw framework::ConfigError("dkn: every item part is switched off (use_id/kg/text)");
    dot_product_ = false;
  }

  static const std::vector<ParamSpec>& Specs() {
    static const std::vector<ParamSpec> kSpecs = DknParams();
    return kSpecs;
  }

  void ScoreBlock(std::span<const Index> users, Eigen::Ref<RowMatrixXf> out) const override {
    CheckScoreArgs(users, out);
    torch::NoGradGuard no_grad;
    const float* mask = history_mask_.data_ptr<float>();
    for (size_t k = 0; k < users.size(); ++k) {
      const Index u = users[k];
      const float* m = mask + u * max_len_;
      int64_t len = 0;
      while (len < max_len_ && m[len] > 0) ++len;  // histories are left-aligned
      torch::Tensor s;
      if (len == 0) {
        s = torch::zeros({num_items_});
      } else {
        const torch::Tensor ids = history_[u].slice(0, 0, len);
        const torch::Tensor h = x_.index_select(0, ids);
        const torch::Tensor hm = torch::ones({len});
        s = mlp_ ? dkn_internal::SplitMlpScores(h, hm, x_, w1_, b1_, w2_, b2_) : dkn_internal::DotScores(h, hm, x_);
      }
      s = (s + bias_).contiguous();
      std::copy(s.data_ptr<float>(), s.data_ptr<float>() + num_items_, &out(static_cast<Eigen::Index>(k), 0));
    }
  }

  void Save(std::ostream& out) const override {
    if (!fitted_) throw framework::Error("dkn: Save before Fit");
    WriteHeader(out, kName);
    WritePod<int64_t>(out, num_users_);
    WritePod<int64_t>(out, num_items_);
    WritePod<int64_t>(out, max_len_);
    WritePod<int64_t>(out, mlp_ ? 1 : 0);
    WriteMatrix(out, ToEigen(x_));
    WriteMatrix(out, ToEigen(bias_.unsqueeze(1)));
    const torch::Tensor h = history_.contiguous();
    WriteVector(out, std::vector<int64_t>(h.data_ptr<int64_t>(), h.data_ptr<int64_t>() + h.numel()));
    WriteMatrix(out, ToEigen(history_mask_));
    if (mlp_) {
      WriteMatrix(out, ToEigen(w1_));
      WriteMatrix(out, ToEigen(b1_.unsqueeze(0)));
      WriteMatrix(out, ToEigen(w2_));
      WriteMatrix(out, ToEigen(b2_.unsqueeze(0)));
    }
  }

  void Load(std::istream& in) override {
    ReadHeader(in, kName);
    const auto nu = ReadPod<int64_t>(in), ni = ReadPod<int64_t>(in), len = ReadPod<int64_t>(in);
    const auto kind = ReadPod<int64_t>(in);
    if (nu < 0 || ni < 1 || len < 1 || (kind != 0 && kind != 1))
      throw framework::Error("dkn: model file corrupt: sizes");
    RowMatrixXf x, bias, mask;
    std::vector<int64_t> hist;
    ReadMatrix(in, x);
    ReadMatrix(in, bias);
    ReadVector(in, hist);
    ReadMatrix(in, mask);
    if (x.rows() != ni || bias.rows() != ni || bias.cols() != 1 || static_cast<int64_t>(hist.size()) != nu * len ||
        mask.rows() != nu || mask.cols() != len)
      throw framework::Error("dkn: model file corrupt: shapes disagree");
    for (const int64_t i : hist)
      if (i < 0 || i >= ni) throw framework::Error("dkn: model file corrupt: history item out of range");
    mlp_ = kind == 1;
    if (mlp_) {
      RowMatrixXf w1, b1, w2, b2;
      ReadMatrix(in, w1);
      ReadMatrix(in, b1);
      ReadMatrix(in, w2);
      ReadMatrix(in, b2);
      if (w1.cols() != 3 * x.cols() || b1.cols() != w1.rows() || w2.cols() != w1.rows() || b2.cols() != 1)
        throw framework::Error("dkn: model file corrupt: attention shapes disagree");
      w1_ = ToTensor(w1), b1_ = ToTensor(b1).squeeze(0), w2_ = ToTensor(w2), b2_ = ToTensor(b2).squeeze(0);
    }
    num_users_ = static_cast<Index>(nu), num_items_ = static_cast<Index>(ni), max_len_ = len, dim_ = x.cols();
    x_ = ToTensor(x);
    bias_ = ToTensor(bias).squeeze(1);
    history_ = torch::tensor(hist, torch::kInt64).view({nu, len});
    history_mask_ = ToTensor(mask);
    fitted_ = true;
  }

 protected:
  void Build(const TrainData& td, const FitContext& ctx) override {
    // Features first: computing them (rather than reading the cache) may reseed torch's
    // global generator (the KG trainer does), so the modules are initialised only after a
    // reseed of our own; cached or fresh features then give the same model.
    // A modality the dataset lacks is masked out: kg_on_/text_on_ say what is really used.
    kg_on_ = use_kg_, text_on_ = use_text_;
    if (kg_on_) {
      RecordModality("kg", kg_ = LoadModality(td, ctx, kg_spec_, kName, "use_kg"));
      kg_on_ = kg_.available;
    }
    if (text_on_) {
      RecordModality("text", text_ = LoadModality(td, ctx, text_spec_, kName, "use_text"));
      text_on_ = text_.available;
    }
    if (!use_id_ && !kg_on_ && !text_on_)
      throw framework::MissingModalityError("dkn: dataset '" + td.dataset->name +
                                            "' has neither KG nor text and use_id=false: nothing to score items with");
    torch::manual_seed(framework::DeriveSeed(ctx.seed, 0x646b6e));
    net_ = std::make_shared<Net>();
    if (use_id_) {
      net_->item = net_->register_module("item", torch::nn::Embedding(td.num_items, dim_));
      torch::nn::init::normal_(net_->item->weight, 0, 0.1);
      warm_ = WarmItemMask(td).unsqueeze(1);
    }
    if (kg_on_) {
      net_->kg = net_->register_module("kg", torch::nn::Linear(kg_.dim, dim_));
    }
    if (text_on_) {
      net_->text = net_->register_module("text", torch::nn::Linear(text_.dim, dim_));
    }
    net_->bias = net_->register_module("bias", torch::nn::Linear(torch::nn::LinearOptions(dim_, 1).bias(false)));
    torch::nn::init::zeros_(net_->bias->weight);
    if (mlp_) net_->attention = net_->register_module("attention", fusion::CandidateAttention(dim_, hidden_));
    // Left-aligned last max_len training items per user, oldest first.
    history_ = torch::zeros({td.num_users, max_len_}, torch::kInt64);
    history_mask_ = torch::zeros({td.num_users, max_len_}, torch::kFloat);
    auto* hp = history_.data_ptr<int64_t>();
    auto* mp = history_mask_.data_ptr<float>();
    for (Index u = 0; u < td.num_users; ++u) {
      const auto row = td.by_user.Row(u);
      const size_t from = row.size() > static_cast<size_t>(max_len_) ? row.size() - static_cast<size_t>(max_len_) : 0;
      for (size_t k = from; k < row.size(); ++k) {
        hp[u * max_len_ + static_cast<int64_t>(k - from)] = row[k];
        mp[u * max_len_ + static_cast<int64_t>(k - from)] = 1.0f;
      }
    }
    sampler_ = std::make_unique<PairSampler>(td);
  }

  torch::nn::Module& Root() override { return *net_; }

  torch::Tensor BatchLoss(int64_t begin, int64_t end, framework::Rng& rng) override {
    const auto batch = sampler_->Get(begin, end, opt_.negatives, rng);
    const int64_t b = end - begin, per = 1 + opt_.negatives, n = b * per;
    const torch::Tensor items = batch.Candidates();  // [n]
    const torch::Tensor x = ItemVectors();
    const torch::Tensor hist = history_.index_select(0, batch.users).repeat_interleave(per, 0);  // [n, L]
    const torch::Tensor mask =
        history_mask_.index_select(0, batch.users).repeat_interleave(per, 0) * (hist != items.unsqueeze(1)).to(torch::kFloat);
    const torch::Tensor h = x.index_select(0, hist.reshape({-1})).view({n, max_len_, dim_});
    const torch::Tensor c = x.index_select(0, items);
    torch::Tensor score;
    if (mlp_) {
      score = (net_->attention->forward(h, mask, c).fused * c).sum(-1);
    } else {
      const torch::Tensor s = (h * c.unsqueeze(1)).sum(-1);  // [n, L]
      const torch::Tensor a = fusion::MaskedSoftmax(s / std::sqrt(static_cast<double>(dim_)), mask);
      score = (a * s).sum(-1);
    }
    score = (score + net_->bias->forward(c).squeeze(1)).view({b, per});
    torch::Tensor loss = PairLoss(opt_.loss, score.select(1, 0), score.slice(1, 1));
    if (use_id_ && reg_ > 0) loss = loss + reg_ * net_->item->forward(items).pow(2).sum(-1).mean();
    return loss;
  }

  void PrepareInference() override {
    x_ = ItemVectors().detach().contiguous().clone();
    bias_ = net_->bias->forward(x_).detach().squeeze(1).contiguous().clone();
    if (mlp_) {
      // CandidateAttention's MLP: Sequential(Linear(3d, hid), ReLU, Linear(hid, 1)).
      const auto params = net_->attention->named_parameters();
      w1_ = params["mlp.0.weight"].detach().clone();
      b1_ = params["mlp.0.bias"].detach().clone();
      w2_ = params["mlp.2.weight"].detach().clone();
      b2_ = params["mlp.2.bias"].detach().clone();
    }
  }

 private:
  // x_i for every item [I, d].
  torch::Tensor ItemVectors() {
    torch::Tensor x = torch::zeros({num_items_, dim_});
    if (use_id_) {
      // ID dropout (training only) makes the content parts score items on their own, as
      // they must for cold items.
      torch::Tensor keep = warm_;
      if (net_->is_training() && id_dropout_ > 0) keep = keep * torch::bernoulli(torch::full_like(keep, 1.0 - id_dropout_));
      x = x + net_->item->weight * keep;
    }
    if (kg_on_) x = x + net_->kg->forward(kg_.values) * kg_.mask.unsqueeze(1);
    if (text_on_) x = x + net_->text->forward(text_.values) * text_.mask.unsqueeze(1);
    return x;
  }

  // Hyperparameters.
  int64_t dim_ = 64, max_len_ = 50, hidden_ = 32;
  bool mlp_ = false, use_id_ = true, use_kg_ = true, use_text_ = true;
  bool kg_on_ = true, text_on_ = true;  // switched on and present in the dataset
  std::string kg_spec_, text_spec_;
  double reg_ = 1e-4, id_dropout_ = 0.2;

  // Training state.
  std::shared_ptr<Net> net_;
  torch::Tensor warm_;
  ModalityTable kg_, text_;

  // Inference state: item vectors [I, d], item biases [I], histories [U, L] (left-aligned)
  // and their mask, the mlp attention's weights.
  torch::Tensor x_, bias_, history_, history_mask_, w1_, b1_, w2_, b2_;
};

}  // namespace

ModelEntry DknEntry() {
  return {kName, "knowledge",
          "DKN: candidate-aware attention over the user's recent items, item = ID + projected KG entity "
          "and text features (Wang et al., WWW 2018)",
          DknParams(), [](const framework::Config& c) -> std::unique_ptr<Recommender> {
            return std::make_unique<Dkn>(c);
          }};
}

}  // namespace recfuse::models::neural
