// lightgcn: LightGCN (He, Deng, Wang, Li, Zhang & Wang, "LightGCN: Simplifying and Powering
// Graph Convolution Network for Recommendation", SIGIR 2020).
//
// Ego embeddings E^(0) of users and items, propagated over the symmetric-normalised
// user-item graph without transforms or non-linearities (eq. 7 in matrix form):
//   A~ = D^-1/2 [[0, R], [R^T, 0]] D^-1/2,   E^(k+1) = A~ E^(k)
// combined by the layer mean (eq. 8, alpha_k = 1 / (K+1)):  E = mean_k E^(k)
// and scored by the inner product (eq. 9):  y(u, i) = <e_u, e_i>.
// Trained with BPR and L2 on the batch's ego embeddings (eq. 15, the reference code's
// `regularizer / batch_size`):  L = mean -ln s(y_ui - y_uj) + reg/2 * (|e0_u|^2 + |e0_i|^2 + |e0_j|^2), averaged over the batch.
// Propagation is sparse (models/graph, CSR kernel): never a dense users x items matrix. The
// whole graph is propagated once per batch, as in the reference, so every ego embedding gets
// its gradient through its neighbours.
//
// Cold items (no training interaction) are isolated nodes: their final embedding would be
// their untrained ego embedding / (K+1), noise, so PrepareInference zeroes them (they score 0
// for everyone, as in BPR-MF).
#include <Eigen/Core>
#include <string>
#include <vector>

#include "framework/error.h"
#include "models/graph/graph.h"
#include "models/graph/graph_torch.h"
#include "models/neural/neural_base.h"
#include "models/neural/neural_models.h"

namespace recfuse::models::neural {
namespace {

using framework::ParamSpec;
using framework::ParamType;
constexpr const char* kName = "lightgcn";

std::vector<ParamSpec> LightGcnParams() {
  std::vector<ParamSpec> p = {
      {"dim", ParamType::kInt, "64", "embedding size (the paper's 64)", 1, 4096, {}},
      // 2 (the paper's 3): chosen by experiments/ml100k_tuned.conf's successive halving over
      // layers {2, 3, 4} x reg {1e-4, 1e-3, 1e-2} (validation NDCG@10, ml-100k 8:1:1, seed 0):
      // 2 layers with reg 1e-3 reached 0.2610 at the full 400 epochs, against 0.2590 for 3
      // layers measured by hand (below). Halving's first round (44 epochs) favours the faster
      // converging 2 layers, so the margin is small and partly a budget effect.
      {"layers", ParamType::kInt, "2", "propagation layers K (paper: 3)", 0, 16, {}},
      {"reg", ParamType::kFloat, "1e-3", "L2 weight on the batch's ego embeddings (paper: 1e-4; see below)", 0, 100, {}},
      {"init_std", ParamType::kFloat, "0.1", "std of the normal initial embeddings (reference code: 0.1)", 1e-6,
       10, {}},
  };
  // Chosen on ml-100k's VALIDATION NDCG@10 (ratio:0.8,0.1,0.1, seed 0, one thread,
  // 2026-12-02): the paper's batch 2048 / lr 1e-3 / reg 1e-4 was still rising after 300
  // epochs (valid 0.2520, 0.69 s/epoch with validation); batch 8192 runs 10 batches (propagations) per
  // epoch instead of 40 and with lr 5e-3 converges in ~150 epochs: valid 0.2553 (4096: 0.2559,
  // 2x slower); lr 1e-2 0.2524, 2e-2 0.2453; layers 2 0.2550, 4 0.2535; reg 1e-5 0.2534,
  // 1e-3 0.2590 (kept).
  TrainDefaults d;
  d.epochs = 400;
  d.batch_size = 8192;
  d.lr = 5e-3;
  d.loss = "bpr";
  d.losses = {"bpr", "bce"};
  d.negatives = 1;
  d.patience = 20;
  for (auto& s : TrainParams(d)) p.push_back(std::move(s));
  return p;
}

struct Net : torch::nn::Module {
  torch::nn::Embedding embedding{nullptr};  // users 0..U-1, items U..U+I-1
};

class LightGcn final : public PairwiseRecommender {
 public:
  explicit LightGcn(const framework::Config& c) : PairwiseRecommender(kName, ReadTrainOptions(c, Specs())) {
    const auto& s = Specs();
    dim_ = c.GetInt(s, "dim");
    layers_ = c.GetInt(s, "layers");
    reg_ = c.GetDouble(s, "reg");
    init_std_ = c.GetDouble(s, "init_std");
  }

  static const std::vector<ParamSpec>& Specs() {
    static const std::vector<ParamSpec> kSpecs = LightGcnParams();
    return kSpecs;
  }

 protected:
  void Build(const TrainData& td, const FitContext&) override {
    net_ = std::make_shared<Net>();
    net_->embedding = net_->register_module("embedding", torch::nn::Embedding(td.num_users + td.num_items, dim_));
    torch::nn::init::normal_(net_->embedding->weight, 0, init_std_);
    adj_ = graph::ToTorchSparse(graph::NormalizedBipartite(td.matrix));
    warm_ = WarmItemMask(td);
    sampler_ = std::make_unique<PairSampler>(td);
  }

  torch::nn::Module& Root() override { return *net_; }

  torch::Tensor BatchLoss(int64_t begin, int64_t end, framework::Rng& rng) override {
    const auto batch = sampler_->Get(begin, end, opt_.negatives, rng);
    const int64_t b = end - begin, per = 1 + opt_.negatives;
    const torch::Tensor all = graph::LayerMean(adj_, net_->embedding->weight, layers_);
    const torch::Tensor items = batch.Candidates() + num_users_;
    const torch::Tensor eu = all.index_select(0, batch.users);                     // [b, d]
    const torch::Tensor ei = all.index_select(0, items).view({b, per, dim_});      // [b, 1+n, d]
    const torch::Tensor scores = (eu.unsqueeze(1) * ei).sum(2);                    // [b, 1+n]
    torch::Tensor loss = PairLoss(opt_.loss, scores.select(1, 0), scores.slice(1, 1));
    if (reg_ > 0) {
      const torch::Tensor ego_u = net_->embedding->forward(batch.users);
      const torch::Tensor ego_i = net_->embedding->forward(items);
      loss = loss + reg_ / 2 * (ego_u.pow(2).sum() + ego_i.pow(2).sum()) / static_cast<double>(b);
    }
    return loss;
  }

  void PrepareInference() override {
    const torch::Tensor all = graph::LayerMean(adj_, net_->embedding->weight, layers_);
    user_ = ToEigen(all.slice(0, 0, num_users_));
    item_ = ToEigen(all.slice(0, num_users_) * warm_.unsqueeze(1));
    item_bias_.resize(0);
  }

 private:
  int64_t dim_ = 64;
  int layers_ = 2;
  double reg_ = 1e-3, init_std_ = 0.1;

  std::shared_ptr<Net> net_;
  torch::Tensor adj_, warm_;
};

}  // namespace

ModelEntry LightGcnEntry() {
  return {kName, "general",
          "LightGCN: layer-mean propagation of ID embeddings over the normalised user-item graph, BPR "
          "(He et al., SIGIR 2020)",
          LightGcnParams(),
          [](const framework::Config& c) -> std::unique_ptr<Recommender> { return std::make_unique<LightGcn>(c); }};
}

}  // namespace recfuse::models::neural
