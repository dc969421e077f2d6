// bm3: BM3 (Zhou, Zhou, Zhang, Liu, Miao, Wang, Zhang, Wu, Miao, "Bootstrap Latent
// Representations for Multi-modal Recommendation", WWW 2023); reference code: MMRec
// src/models/bm3.py (github.com/enoche/MMRec).
//
// Self-supervised, without negatives. A LightGCN over the user-item graph gives
//   u = LightGCN_u,  i = LightGCN_i + e_i  (the reference adds the item's ID embedding),
// modality projections t_i = W_t f^t_i + b, v_i = W_v f^v_i + b, and a shared predictor p.
// The target view is the online one, detached and perturbed by dropout (rate `dropout`);
// for each training pair (u, i) the loss is
//   (1 - cos(p(u), i~)) + (1 - cos(p(i), u~))
//   + cl_weight * sum_m [(1 - cos(p(m_i), i~)) + (1 - cos(p(m_i), m~_i))]
//   + reg * (||U||_F + ||I||_F) / #items          (MMRec's EmbLoss over the online tables)
// with ~ the target view and the means over the batch; score(u, i) = <p(u), p(i)>.
//
// Cold items (mm_common.h): no ID embedding and no graph edges, so their online vector i is
// imputed as the length-matched centroid of their content neighbours' (raw-feature top-k
// graph over warm items); in training a warm item's i is replaced by its imputation with
// probability id_dropout, so the predictor and the users learn to rank imputed items.
//   use_image / use_text: the alignment terms of each modality and the content
//   neighbourhood; a dataset lacking both leaves plain bootstrapped LightGCN without cold
//   imputation.
#include <Eigen/Core>
#include <cmath>
#include <string>
#include <vector>

#include "framework/error.h"
#include "models/multimodal/mm_common.h"
#include "models/neural/neural_base.h"
#include "models/neural/neural_models.h"

namespace recfuse::models::neural {
namespace {

using framework::ParamSpec;
using framework::ParamType;
constexpr const char* kName = "bm3";

std::vector<ParamSpec> Bm3Params() {
  std::vector<ParamSpec> p = {
      {"dim", ParamType::kInt, "64", "embedding size (reference 64)", 1, 4096, {}},
      {"layers", ParamType::kInt, "1", "LightGCN layers (reference grid 1, 2)", 0, 8, {}},
      {"dropout", ParamType::kFloat, "0.3", "dropout of the target view (reference grid 0.3, 0.5)", 0, 0.99, {}},
      {"reg", ParamType::kFloat, "0.1", "weight of the norms of the online tables (reference grid 0.1, 0.01)", 0, 100,
       {}},
      {"cl_weight", ParamType::kFloat, "2.0", "weight of the modality alignment terms (reference 2.0)", 0, 100, {}},
      {"knn_k", ParamType::kInt, "10", "content neighbours of an item for cold-item imputation", 1, 1000, {}},
  };
  // id_dropout 0.3 with knn_k 10: confirmed on the cold validation items of the default
  // synthetic world (experiments/tune_content.conf, id_dropout {0, 0.3, 0.8} x knn_k {10, 50},
  // NDCG@10): 0.0189, against 0.0178 at 0 and 0.0051 at 0.8; knn_k 50 was worse everywhere
  // (0.0005-0.0098). Warm cost not measured.
  p.push_back(mm::IdDropoutParam("online vector", "0.3"));
  for (auto& s : mm::ContentParams()) p.push_back(std::move(s));
  // Not tuned on validation yet (time): 60 epochs / patience 10 / Adam 1e-3 / batch 2048 are
  // MMRec's training settings with a budget. Measured (seed 0, --threads 1, 2026-12-02):
  // ml-100k warm: best validation epoch 28 of 38; cold-item splits peak at epoch 1.
  TrainDefaults d = mm::FamilyTrainDefaults();
  d.loss = "bootstrap";  // no negatives needed
  d.losses = {"bootstrap"};
  for (auto& s : TrainParams(d)) p.push_back(std::move(s));
  return p;
}

struct Net : torch::nn::Module {
  torch::nn::Embedding user{nullptr}, item{nullptr};
  torch::nn::Linear predictor{nullptr};
  std::vector<torch::nn::Linear> trs;  // one per loaded modality
};

class Bm3 final : public PairwiseRecommender {
 public:
  explicit Bm3(const framework::Config& c) : PairwiseRecommender(kName, ReadTrainOptions(c, Specs())) {
    const auto& s = Specs();
    dim_ = c.GetInt(s, "dim");
    layers_ = c.GetInt(s, "layers");
    dropout_ = c.GetDouble(s, "dropout");
    reg_ = c.GetDouble(s, "reg");
    cl_weight_ = c.GetDouble(s, "cl_weight");
    k_ = c.GetInt(s, "knn_k");
    id_dropout_ = c.GetDouble(s, "id_dropout");
    content_ = mm::ReadContentOptions(c, s);
    if (!content_.use_image && !content_.use_text)
      throw framework::ConfigError("bm3: use_image and use_text are both false (BM3 needs a modality)");
  }

  static const std::vector<ParamSpec>& Specs() {
    static const std::vector<ParamSpec> kSpecs = Bm3Params();
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
    net_->user = net_->register_module("user", torch::nn::Embedding(td.num_users, dim_));
    net_->item = net_->register_module("item", torch::nn::Embedding(td.num_items, dim_));
    torch::nn::init::xavier_uniform_(net_->user->weight);
    torch::nn::init::xavier_uniform_(net_->item->weight);
    net_->predictor = net_->register_module("predictor", torch::nn::Linear(dim_, dim_));
    torch::nn::init::xavier_normal_(net_->predictor->weight);
    for (size_t m = 0; m < mods_.size(); ++m) {
      net_->trs.push_back(
          net_->register_module("trs" + std::to_string(m), torch::nn::Linear(mods_[m].table.dim, dim_)));
      torch::nn::init::xavier_normal_(net_->trs.back()->weight);
    }
    sampler_ = std::make_unique<PairSampler>(td);
  }

  torch::nn::Module& Root() override { return *net_; }

  torch::Tensor BatchLoss(int64_t begin, int64_t end, framework::Rng& rng) override {
    const auto batch = sampler_->Get(begin, end, /*negatives=*/0, rng);
    const auto [u_ori, i_ori] = Online(/*training=*/true);
    const torch::Tensor u_target = torch::dropout(u_ori.detach(), dropout_, true).index_select(0, batch.users);
    const torch::Tensor i_target = torch::dropout(i_ori.detach(), dropout_, true).index_select(0, batch.pos);
    const torch::Tensor u_online = net_->predictor->forward(u_ori.index_select(0, batch.users));
    const torch::Tensor i_online = net_->predictor->forward(i_ori.index_select(0, batch.pos));
    torch::Tensor loss = mm::CosineGap(u_online, i_target) + mm::CosineGap(i_online, u_target);
    torch::Tensor align = torch::zeros({});
    for (size_t m = 0; m < mods_.size(); ++m) {
      const torch::Tensor f = mods_[m].table.values.index_select(0, batch.pos);
      const torch::Tensor feat = net_->trs[m]->forward(f);
      const torch::Tensor feat_target = torch::dropout(feat.detach(), dropout_, true);
      const torch::Tensor feat_online = net_->predictor->forward(feat);
      align = align + mm::CosineGap(feat_online, i_target) + mm::CosineGap(feat_online, feat_target);
    }
    const torch::Tensor norms = (u_ori.norm() + i_ori.norm()) / static_cast<double>(num_items_);
    return loss + cl_weight_ * align + reg_ * norms;
  }

  void PrepareInference() override {
    const auto [u, i] = Online(/*training=*/false);
    user_ = ToEigen(net_->predictor->forward(u));
    item_ = ToEigen(net_->predictor->forward(i));
    item_bias_.resize(0);
  }

 private:
  // The online (unpredicted) user and item vectors; training: with ID dropout, else cold
  // items imputed.
  std::pair<torch::Tensor, torch::Tensor> Online(bool training) {
    const torch::Tensor item0 = net_->item->weight * warm_.unsqueeze(1);
    const torch::Tensor all = mm::LayerMean(adj_, torch::cat({net_->user->weight, item0}, 0), layers_);
    const torch::Tensor u = all.slice(0, 0, num_users_);
    torch::Tensor i = all.slice(0, num_users_) + item0;
    if (!mods_.empty())
      i = training ? mm::IdDropout(i, neighbours_, warm_, id_dropout_) : mm::ImputeCold(i, neighbours_, warm_);
    return {u, i};
  }

  // Hyperparameters.
  int64_t dim_ = 64;
  int layers_ = 1, k_ = 10;
  double dropout_ = 0.3, reg_ = 0.1, cl_weight_ = 2.0, id_dropout_ = 0.3;
  mm::ContentOptions content_;

  // Training state.
  std::shared_ptr<Net> net_;
  std::vector<mm::Modality> mods_;
  mm::EdgeList neighbours_;
  torch::Tensor warm_, adj_;
};

}  // namespace

ModelEntry Bm3Entry() {
  return {kName, "multimodal",
          "BM3: bootstrapped LightGCN with modality alignment, no negatives (Zhou et al., WWW 2023)", Bm3Params(),
          [](const framework::Config& c) -> std::unique_ptr<Recommender> { return std::make_unique<Bm3>(c); }};
}

}  // namespace recfuse::models::neural
