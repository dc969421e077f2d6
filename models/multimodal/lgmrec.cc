// lgmrec: LGMRec (Guo, Li, Zhou, Yu, Liu, Zheng, "LGMRec: Local and Global Graph Learning
// for Multimodal Recommendation", AAAI 2024); reference code: github.com/georgeguo-cn/LGMRec
// models/lgmrec.py.
//
// Local graph embedding: the collaborative part C = LightGCN layer mean of [E_u; E_i]
// (ui_layers) plus, per modality m, the modality part: item features F_m W_m, users as the
// mean of their items', propagated mm_layers times over the normalised user-item graph
// (A^L, no layer mean): M = sum_m normalize(M_m); L = C + M.
// Global hypergraph embedding: learned hyperedges H_m (features x hyper_num), item
// memberships softmax_gumbel(F_m H_m / tau), user memberships softmax_gumbel(R F_m H_m / tau)
// (R the binary user-item matrix), dropout (1 - keep_rate) on the memberships in training;
// per hyper layer lat = I_h^T X_i, X_i = I_h lat, X_u = U_h lat, starting from C's items;
// G = sum_m [X_u; X_i]_m. Final L + alpha * normalize(G), scored by dot product.
// Loss: BPR + cl_weight * (InfoNCE(G^v_u, G^t_u) + InfoNCE(G^v_i, G^t_i)) summed over the
// batch's users / positives against all users / items (the reference's ssl_triple_loss,
// temperature tau) + reg * (||u|| + ||i+|| + ||i-||) / batch (the reference's reg_loss).
//
// Deviations, on purpose: the reference overwrites the image users' memberships with the
// text's (uv_hyper = gumbel_softmax(ut_hyper)) and uses the text users' unnormalised; here
// each modality's user memberships are its own softmax. At inference the memberships are
// the noise-free softmax(x / tau) (the reference samples Gumbel noise at test time too, so
// its scores are random). The contrastive term needs two modalities and is skipped with one.
// Cold items (mm_common.h): ID embeddings zero; the hypergraph part of a cold item comes from
// its content memberships, its collaborative and modality parts (empty without edges) are
// the length-matched centroids of its warm content neighbours' (ID dropout in training).
//   use_image / use_text: modalities; a dataset lacking both trains C (LightGCN) alone.
#include <Eigen/Core>
#include <cmath>
#include <string>
#include <vector>

#include "framework/error.h"
#include "models/graph/graph_torch.h"
#include "models/multimodal/mm_common.h"
#include "models/neural/neural_base.h"
#include "models/neural/neural_models.h"

namespace recfuse::models::neural {
namespace {

using framework::ParamSpec;
using framework::ParamType;
constexpr const char* kName = "lgmrec";

std::vector<ParamSpec> LgmRecParams() {
  std::vector<ParamSpec> p = {
      // Values from the reference's search grids (configs/model, README): embedding 64,
      // 2 collaborative and 2 modality layers, 1 hypergraph layer, 4 hyperedges, keep 0.5,
      // alpha 0.2, cl_weight 1e-4, reg 1e-6; not tuned here.
      {"dim", ParamType::kInt, "64", "embedding size (reference 64)", 1, 4096, {}},
      {"ui_layers", ParamType::kInt, "2", "LightGCN layers of the collaborative part", 0, 8, {}},
      {"mm_layers", ParamType::kInt, "2", "propagations of the modality part over the user-item graph", 0, 8, {}},
      {"hyper_layers", ParamType::kInt, "1", "hypergraph layers", 1, 8, {}},
      {"hyper_num", ParamType::kInt, "4", "learned hyperedges per modality", 1, 4096, {}},
      {"keep_rate", ParamType::kFloat, "0.5", "1 - dropout of the hyperedge memberships in training", 0.01, 1, {}},
      {"alpha", ParamType::kFloat, "0.2", "weight of the global (hypergraph) embedding", 0, 100, {}},
      {"cl_weight", ParamType::kFloat, "1e-4", "weight of the cross-modal hypergraph contrastive term", 0, 100, {}},
      {"reg", ParamType::kFloat, "1e-6", "weight of the batch vectors' norms", 0, 100, {}},
      {"tau", ParamType::kFloat, "0.2", "Gumbel-softmax and InfoNCE temperature (reference 0.2)", 1e-3, 100, {}},
      {"knn_k", ParamType::kInt, "10", "content neighbours of an item for cold-item imputation", 1, 1000, {}},
  };
  // id_dropout 0.3: confirmed on the cold validation items of the default synthetic world
  // (experiments/tune_content.conf, {0, 0.3, 0.8}, NDCG@10): 0.0475, against 0.0437 at 0 and
  // 0.0449 at 0.8 (a trial takes ~5 min there). Warm cost not measured.
  p.push_back(mm::IdDropoutParam("local embedding", "0.3"));
  for (auto& s : mm::ContentParams()) p.push_back(std::move(s));
  // Not tuned on validation yet (time): 60 epochs / patience 10 / Adam 1e-3 / batch 2048 are
  // MMRec's training settings with a budget. Measured (seed 0, --threads 1, 2026-12-02):
  // not measured before the deadline.
  TrainDefaults d = mm::FamilyTrainDefaults();
  for (auto& s : TrainParams(d)) p.push_back(std::move(s));
  return p;
}

struct Net : torch::nn::Module {
  torch::nn::Embedding user{nullptr}, item{nullptr};
  std::vector<torch::Tensor> trs, hyper;  // one per loaded modality
};

class LgmRec final : public PairwiseRecommender {
 public:
  explicit LgmRec(const framework::Config& c) : PairwiseRecommender(kName, ReadTrainOptions(c, Specs())) {
    const auto& s = Specs();
    dim_ = c.GetInt(s, "dim");
    ui_layers_ = c.GetInt(s, "ui_layers");
    mm_layers_ = c.GetInt(s, "mm_layers");
    hyper_layers_ = c.GetInt(s, "hyper_layers");
    hyper_num_ = c.GetInt(s, "hyper_num");
    keep_rate_ = c.GetDouble(s, "keep_rate");
    alpha_ = c.GetDouble(s, "alpha");
    cl_weight_ = c.GetDouble(s, "cl_weight");
    reg_ = c.GetDouble(s, "reg");
    tau_ = c.GetDouble(s, "tau");
    k_ = c.GetInt(s, "knn_k");
    id_dropout_ = c.GetDouble(s, "id_dropout");
    content_ = mm::ReadContentOptions(c, s);
    if (!content_.use_image && !content_.use_text)
      throw framework::ConfigError("lgmrec: use_image and use_text are both false (LGMRec without modalities is "
                                   "its collaborative part: use lightgcn)");
  }

  static const std::vector<ParamSpec>& Specs() {
    static const std::vector<ParamSpec> kSpecs = LgmRecParams();
    return kSpecs;
  }

 protected:
  void Build(const TrainData& td, const FitContext& ctx) override {
    net_ = std::make_shared<Net>();
    mods_ = mm::LoadContent(td, ctx, content_, kName,
                            [this](const std::string& m, const ModalityTable& t) { RecordModality(m, t); });
    warm_ = WarmItemMask(td);
    adj_ = mm::SymBipartite(td.matrix);
    neighbours_ = mm::ContentNeighbourGraph(mods_, mm::WarmItems(td), k_);
    // R (binary) and 1 / user degree.
    r_ = mm::UserItemBlock(td.matrix);
    r_.vals = torch::ones_like(r_.vals);
    inv_deg_ = 1.0 / torch::zeros({td.num_users}).index_add(0, r_.rows, r_.vals).clamp_min(1).unsqueeze(1);
    net_->user = net_->register_module("user", torch::nn::Embedding(td.num_users, dim_));
    net_->item = net_->register_module("item", torch::nn::Embedding(td.num_items, dim_));
    torch::nn::init::xavier_uniform_(net_->user->weight);
    torch::nn::init::xavier_uniform_(net_->item->weight);
    for (size_t m = 0; m < mods_.size(); ++m) {
      const std::string k = std::to_string(m);
      net_->trs.push_back(net_->register_parameter(
          "trs" + k, torch::nn::init::xavier_uniform_(torch::zeros({mods_[m].table.dim, dim_}))));
      net_->hyper.push_back(net_->register_parameter(
          "hyper" + k, torch::nn::init::xavier_uniform_(torch::zeros({mods_[m].table.dim, hyper_num_}))));
    }
    sampler_ = std::make_unique<PairSampler>(td);
  }

  torch::nn::Module& Root() override { return *net_; }

  torch::Tensor BatchLoss(int64_t begin, int64_t end, framework::Rng& rng) override {
    const auto batch = sampler_->Get(begin, end, opt_.negatives, rng);
    const Out o = Forward(/*training=*/true);
    const int64_t b = end - begin, per = 1 + opt_.negatives;
    const torch::Tensor ue = o.all.index_select(0, batch.users);
    const torch::Tensor ie = o.all.slice(0, num_users_).index_select(0, batch.Candidates()).view({b, per, dim_});
    const torch::Tensor scores = (ue.unsqueeze(1) * ie).sum(2);
    torch::Tensor loss = PairLoss(opt_.loss, scores.select(1, 0), scores.slice(1, 1));
    loss = loss + reg_ * (ue.norm() + ie.select(1, 0).norm() + ie.slice(1, 1).norm()) / static_cast<double>(b);
    if (o.hyper.size() == 2 && cl_weight_ > 0) {
      const torch::Tensor& v = o.hyper[0];
      const torch::Tensor& t = o.hyper[1];
      const torch::Tensor vu = v.slice(0, 0, num_users_), tu = t.slice(0, 0, num_users_);
      const torch::Tensor vi = v.slice(0, num_users_), ti = t.slice(0, num_users_);
      const torch::Tensor cl = mm::InfoNce(vu.index_select(0, batch.users), tu.index_select(0, batch.users), tu, tau_)
                                   .sum() +
                               mm::InfoNce(vi.index_select(0, batch.pos), ti.index_select(0, batch.pos), ti, tau_).sum();
      loss = loss + cl_weight_ * cl;
    }
    return loss;
  }

  void PrepareInference() override {
    const Out o = Forward(/*training=*/false);
    user_ = ToEigen(o.all.slice(0, 0, num_users_));
    item_ = ToEigen(o.all.slice(0, num_users_));
    item_bias_.resize(0);
  }

 private:
  struct Out {
    torch::Tensor all;                // [U + I, d]
    std::vector<torch::Tensor> hyper;  // per modality, [U + I, d]
  };

  torch::Tensor Memberships(const torch::Tensor& logits, bool training) const {
    namespace F = torch::nn::functional;
    if (!training) return torch::softmax(logits / tau_, 1);
    return torch::dropout(F::gumbel_softmax(logits, F::GumbelSoftmaxFuncOptions().tau(tau_).hard(false).dim(1)),
                          1 - keep_rate_, true);
  }

  torch::Tensor Cold(const torch::Tensor& x, bool training) const {
    return training ? mm::IdDropout(x, neighbours_, warm_, id_dropout_) : mm::ImputeCold(x, neighbours_, warm_);
  }

  Out Forward(bool training) {
    namespace F = torch::nn::functional;
    const auto unit = F::NormalizeFuncOptions().dim(1);
    const torch::Tensor item0 = net_->item->weight * warm_.unsqueeze(1);
    torch::Tensor cge = mm::LayerMean(adj_, torch::cat({net_->user->weight, item0}, 0), ui_layers_);
    Out o;
    if (mods_.empty()) {
      o.all = cge;
      return o;
    }
    cge = torch::cat({cge.slice(0, 0, num_users_), Cold(cge.slice(0, num_users_), training)}, 0);
    const torch::Tensor cge_items = cge.slice(0, num_users_);
    torch::Tensor mge = torch::zeros_like(cge), ghe = torch::zeros_like(cge);
    for (size_t m = 0; m < mods_.size(); ++m) {
      const torch::Tensor& f = mods_[m].table.values;
      const torch::Tensor item_feats = torch::mm(f, net_->trs[m]);
      const torch::Tensor user_feats = r_.Apply(item_feats) * inv_deg_;
      const torch::Tensor x = graph::Propagate(adj_, torch::cat({user_feats, item_feats}, 0), mm_layers_);
      mge = mge + F::normalize(x, unit);
      const torch::Tensor ih_logits = torch::mm(f, net_->hyper[m]);
      const torch::Tensor ih = Memberships(ih_logits, training);
      const torch::Tensor uh = Memberships(r_.Apply(ih_logits), training);
      torch::Tensor xi = cge_items, xu;
      for (int l = 0; l < hyper_layers_; ++l) {
        const torch::Tensor lat = torch::mm(ih.t(), xi);
        xi = torch::mm(ih, lat);
        xu = torch::mm(uh, lat);
      }
      o.hyper.push_back(torch::cat({xu, xi}, 0));
      ghe = ghe + o.hyper.back();
    }
    // The modality part of a cold item is empty after a propagation over the user-item graph.
    if (mm_layers_ > 0) mge = torch::cat({mge.slice(0, 0, num_users_), Cold(mge.slice(0, num_users_), training)}, 0);
    o.all = cge + mge + alpha_ * F::normalize(ghe, unit);
    return o;
  }

  // Hyperparameters.
  int64_t dim_ = 64, hyper_num_ = 4;
  int ui_layers_ = 2, mm_layers_ = 2, hyper_layers_ = 1, k_ = 10;
  double keep_rate_ = 0.5, alpha_ = 0.2, cl_weight_ = 1e-4, reg_ = 1e-6, tau_ = 0.2, id_dropout_ = 0.3;
  mm::ContentOptions content_;

  // Training state.
  std::shared_ptr<Net> net_;
  std::vector<mm::Modality> mods_;
  mm::EdgeList neighbours_, r_;
  torch::Tensor warm_, adj_, inv_deg_;
};

}  // namespace

ModelEntry LgmRecEntry() {
  return {kName, "multimodal",
          "LGMRec: local user-item and modality graph embeddings plus a learned-hyperedge global embedding (Guo et "
          "al., AAAI 2024)",
          LgmRecParams(),
          [](const framework::Config& c) -> std::unique_ptr<Recommender> { return std::make_unique<LgmRec>(c); }};
}

}  // namespace recfuse::models::neural
