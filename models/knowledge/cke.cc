// cke: Collaborative Knowledge base Embedding (Zhang et al., KDD 2016).
//
// Item vector (every part d-dimensional, absent parts are zero):
//   e_i = m_i * eta_i                      ID offset (use_id); m_i = 1 for items seen in
//                                          training: an untrained offset is noise
//       + v_{ent(i)}                       TransR entity vector of the item's linked KG
//                                          entity (use_kg); trained jointly, see below
//       + W_t t_i + b_t                    learned projection of frozen text features
//                                          (use_text; the paper's SDAE, here TF-IDF/SVD)
//       + W_v x_i + b_v                    learned projection of frozen image features
//                                          (use_image; the paper's SCAE, here handcrafted)
// score(u, i) = <p_u, e_i>: a dot-product model (PrepareInference fills user_ and item_).
// ID dropout (training only): an item's ID offset is dropped with probability id_dropout
// per step, so the content parts must score items on their own, as they have to for cold
// items (the DropoutNet idea).
// Objective per step: BPR over a batch of (u, i, j) + lambda_kg * TransR margin loss over
// kg_batch triples drawn uniformly from the whole KG with one corrupted head or tail each
// + reg * (||p_u||^2 + ||eta||^2) of the batch. Because the entity table is shared, the KG
// loss shapes the item vectors of linked items (and, through the graph, of cold items).
// TransR's norm constraints (entity and relation vectors in the unit ball) are applied at
// the start of each step, i.e. after the previous optimiser step.
#include <algorithm>
#include <cmath>

#include "encoders/kg_embedding.h"
#include "framework/error.h"
#include "models/neural/neural_base.h"
#include "models/neural/neural_models.h"

namespace recfuse::models::neural {
namespace {

using framework::ParamSpec;
using framework::ParamType;
constexpr const char* kName = "cke";
// The KG is not a frozen feature here: TransR is trained jointly with the recommender.
constexpr const char* kKgSpec = "kg:transr (joint)";

std::vector<ParamSpec> CkeParams() {
  std::vector<ParamSpec> p = {
      {"dim", ParamType::kInt, "64", "size of user, item and KG entity vectors", 2, 4096, {}},
      {"use_id", ParamType::kBool, "true", "item ID offset vectors", 0, 0, {}},
      {"use_kg", ParamType::kBool, "true", "jointly trained TransR vector of the item's KG entity", 0, 0, {}},
      {"use_text", ParamType::kBool, "true", "projected frozen text features", 0, 0, {}},
      {"use_image", ParamType::kBool, "true", "projected frozen image features", 0, 0, {}},
      {"text_features", ParamType::kString, "text:tfidf-svd:64:description",
       "frozen text encoder spec (descriptions only: reviews exist for warm items alone)", 0, 0, {}},
      {"image_features", ParamType::kString, "image:handcrafted", "frozen image encoder spec", 0, 0, {}},
      // The TransR entity vectors live in the unit ball, ~10x the ID vectors: at weight 1 the KG
      // loss pulled the item vectors away from what BPR wants (ml-100k NDCG@10 0.235, vs 0.258
      // with use_kg=false); 0.1 gave 0.269, 0.01 0.270 (seed 0, 2026-11-29).
      {"lambda_kg", ParamType::kFloat, "0.1", "weight of the TransR loss in the joint objective", 0, 1e6, {}},
      {"kg_batch", ParamType::kInt, "1024", "KG triples sampled per training step", 1, 1 << 24, {}},
      {"kg_margin", ParamType::kFloat, "1.0", "TransR margin", 1e-6, 1e6, {}},
      {"kg_relation_dim", ParamType::kInt, "0", "TransR relation space size (0 = dim)", 0, 4096, {}},
      {"reg", ParamType::kFloat, "1e-3", "L2 weight on the batch's user and item ID vectors", 0, 100, {}},
      // content_reg 0.01 (was 0.1), id_dropout 0.2 and lambda_kg 0.1 kept: chosen on validation
      // NDCG@10 by the searches of id_dropout {0.2, 0.8} x content_reg {0.01, 0.1} (x
      // lambda_kg {0.1, 1} and id_dropout 0.5 on the synthetic world, second order there) in
      // experiments/tune_content.conf (cold items of the default synthetic world) and
      // tune_content_ml100k.conf (ml-100k warm 8:1:1), as the candidate whose worst score /
      // best over the two is highest (scripts/joint_choice.py): cold 0.0145 (best 0.0165 at
      // id_dropout 0.8; content_reg 0.1 gave 0.0052: a cold item's score is its projected
      // content, which that L2 kept near zero), warm 0.2108 (best 0.2297 at the old 0.1).
      {"content_reg", ParamType::kFloat, "0.01", "L2 weight on the batch's projected text and image vectors", 0, 100,
       {}},
      {"init_std", ParamType::kFloat, "0.01",
       "std of the initial user and ID vectors (text/image projections start at the same scale)", 1e-6, 10, {}},
      {"id_dropout", ParamType::kFloat, "0.2", "training-time probability of dropping an item's ID offset", 0, 1, {}},
  };
  // The flagship's recipe (mmfusion.cc). Measured on ml-100k (seed 0, test NDCG@10,
  // 2026-11-29): old defaults (init 0.1, default-init projections ~60x the IDs, lr 3e-3,
  // batch 1024, patience 6, lambda_kg 1) 0.168; these 0.269 (best epoch 57). Still below
  // BPR-MF's 0.294, and not because of ID dropout (id_dropout=0: 0.272).
  TrainDefaults d;
  d.epochs = 200;
  d.batch_size = 2048;
  d.lr = 1e-3;
  d.loss = "bpr";
  d.losses = {"bpr", "bce", "softmax"};
  d.negatives = 1;
  d.patience = 10;
  for (auto& s : TrainParams(d)) p.push_back(std::move(s));
  return p;
}

struct Net : torch::nn::Module {
  torch::nn::Embedding user{nullptr}, item{nullptr};
  encoders::TransR kg{nullptr};
  torch::nn::Linear text{nullptr}, image{nullptr};
};

class Cke final : public PairwiseRecommender {
 public:
  explicit Cke(const framework::Config& c) : PairwiseRecommender(kName, ReadTrainOptions(c, Specs())) {
    const auto& s = Specs();
    dim_ = c.GetInt(s, "dim");
    use_id_ = c.GetBool(s, "use_id");
    use_kg_ = c.GetBool(s, "use_kg");
    use_text_ = c.GetBool(s, "use_text");
    use_image_ = c.GetBool(s, "use_image");
    text_spec_ = c.GetString(s, "text_features");
    image_spec_ = c.GetString(s, "image_features");
    lambda_kg_ = c.GetDouble(s, "lambda_kg");
    kg_batch_ = c.GetInt(s, "kg_batch");
    kg_margin_ = c.GetDouble(s, "kg_margin");
    relation_dim_ = c.GetInt(s, "kg_relation_dim");
    if (relation_dim_ == 0) relation_dim_ = dim_;
    reg_ = c.GetDouble(s, "reg");
    content_reg_ = c.GetDouble(s, "content_reg");
    init_std_ = c.GetDouble(s, "init_std");
    id_dropout_ = c.GetDouble(s, "id_dropout");
    if (!use_id_ && !use_kg_ && !use_text_ && !use_image_)
      throw framework::ConfigError("cke: every item part is switched off (use_id/kg/text/image)");
  }

  static const std::vector<ParamSpec>& Specs() {
    static const std::vector<ParamSpec> kSpecs = CkeParams();
    return kSpecs;
  }

 protected:
  void Build(const TrainData& td, const FitContext& ctx) override {
    // Features first, then a reseed: computing them (rather than reading the cache) may
    // reseed torch's global generator, and the model must not depend on the cache state.
    // A modality the dataset lacks is masked out: the flags below say what is really used.
    text_on_ = use_text_, image_on_ = use_image_, kg_on_ = use_kg_;
    if (text_on_) {
      RecordModality("text", text_ = LoadModality(td, ctx, text_spec_, kName, "use_text"));
      text_on_ = text_.available;
    }
    if (image_on_) {
      RecordModality("image", image_ = LoadModality(td, ctx, image_spec_, kName, "use_image"));
      image_on_ = image_.available;
    }
    torch::manual_seed(framework::DeriveSeed(ctx.seed, 0x636b65));
    net_ = std::make_shared<Net>();
    const datasets::Dataset& data = *td.dataset;
    net_->user = net_->register_module("user", torch::nn::Embedding(td.num_users, dim_));
    torch::nn::init::normal_(net_->user->weight, 0, init_std_);
    if (use_id_) {
      net_->item = net_->register_module("item", torch::nn::Embedding(td.num_items, dim_));
      torch::nn::init::normal_(net_->item->weight, 0, init_std_);
      warm_ = WarmItemMask(td).unsqueeze(1);
    }
    if (kg_on_ && (data.kg.empty() || data.entities.size() < 2)) {
      RecordModality("kg", AbsentModality(kKgSpec, kName, "use_kg", "dataset '" + data.name + "' has no knowledge graph"));
      kg_on_ = false;
    }
    std::vector<int64_t> ent(static_cast<size_t>(td.num_items), 0);
    std::vector<float> linked(static_cast<size_t>(td.num_items), 0.0f);
    if (kg_on_) {
      int64_t any = 0;
      for (Index i = 0; i < td.num_items; ++i) {
        const Index e = static_cast<size_t>(i) < data.item_entity.size() ? data.item_entity[static_cast<size_t>(i)]
                                                                          : datasets::kNoId;
        if (e == datasets::kNoId) continue;
        RF_CHECK(e >= 0 && e < data.entities.size(), "cke: item entity link outside the entity id space");
        ent[static_cast<size_t>(i)] = e;
        linked[static_cast<size_t>(i)] = 1.0f;
        ++any;
      }
      ModalityTable kg;
      if (any == 0) {
        kg = AbsentModality(kKgSpec, kName, "use_kg", "no item of dataset '" + data.name + "' links to a KG entity");
        kg_on_ = false;
      } else {
        kg.spec = kKgSpec;
        kg.dim = dim_;
        kg.present = any;
      }
      RecordModality("kg", kg);
    }
    if (kg_on_) {
      item_entity_ = torch::tensor(ent, torch::kInt64);
      linked_ = torch::tensor(linked, torch::kFloat).unsqueeze(1);
      net_->kg = net_->register_module(
          "kg", encoders::TransR(encoders::TransROptions(data.entities.size(), data.relations.size(), dim_)
                                     .relation_dim(relation_dim_)
                                     .margin(kg_margin_)));
      triples_ = &data.kg;
      num_entities_ = data.entities.size();
    }
    if (!use_id_ && !kg_on_ && !text_on_ && !image_on_)
      throw framework::MissingModalityError("cke: dataset '" + data.name +
                                            "' has none of the configured content modalities and use_id=false");
    auto projection = [&](const char* name, int64_t in) {
      torch::nn::Linear lin = net_->register_module(name, torch::nn::Linear(in, dim_));
      InitAtIdScale(*lin, init_std_);
      return lin;
    };
    if (text_on_) net_->text = projection("text", text_.dim);
    if (image_on_) net_->image = projection("image", image_.dim);
    sampler_ = std::make_unique<PairSampler>(td);
  }

  torch::nn::Module& Root() override { return *net_; }

  torch::Tensor BatchLoss(int64_t begin, int64_t end, framework::Rng& rng) override {
    if (kg_on_) net_->kg->NormalizeEntities();  // TransR's constraints after the last step
    const auto batch = sampler_->Get(begin, end, opt_.negatives, rng);
    const int64_t b = end - begin, per = 1 + opt_.negatives;
    const torch::Tensor items = batch.Candidates();
    const torch::Tensor p = net_->user->forward(batch.users);
    torch::Tensor content;  // sum of squared norms of the batch's text and image vectors
    const torch::Tensor e = ItemVectors(items, &content).view({b, per, dim_});
    const torch::Tensor scores = (e * p.unsqueeze(1)).sum(-1);
    torch::Tensor loss = PairLoss(opt_.loss, scores.select(1, 0), scores.slice(1, 1));
    if (reg_ > 0) {
      torch::Tensor r = p.pow(2).sum(-1).mean();
      if (use_id_) r = r + net_->item->forward(items).pow(2).sum(-1).mean();
      loss = loss + reg_ * r;
    }
    // The projections get their own, larger weight: a linear map of hundreds of frozen
    // feature dimensions memorises items as well as an ID table.
    if (content_reg_ > 0 && content.defined()) loss = loss + content_reg_ * content.mean();
    if (kg_on_ && lambda_kg_ > 0) loss = loss + lambda_kg_ * KgLoss(rng);
    return loss;
  }

  void PrepareInference() override {
    user_ = ToEigen(net_->user->weight);
    item_ = ToEigen(ItemVectors(Range(0, num_items_)));
    item_bias_.resize(0);
  }

 private:
  // e_i for the given item ids [n] -> [n, d]; `content_sq`, if given, receives the squared
  // norms [n] of the text and image parts (undefined without either).
  torch::Tensor ItemVectors(const torch::Tensor& items, torch::Tensor* content_sq = nullptr) {
    torch::Tensor e = torch::zeros({items.size(0), dim_});
    if (use_id_) {
      torch::Tensor keep = warm_.index_select(0, items);
      if (net_->is_training() && id_dropout_ > 0) keep = keep * torch::bernoulli(torch::full_like(keep, 1.0 - id_dropout_));
      e = e + net_->item->forward(items) * keep;
    }
    if (kg_on_)
      e = e + net_->kg->entity->forward(item_entity_.index_select(0, items)) * linked_.index_select(0, items);
    auto add_content = [&](torch::nn::Linear& proj, const ModalityTable& t) {
      const torch::Tensor v = proj->forward(t.values.index_select(0, items)) * t.mask.index_select(0, items).unsqueeze(1);
      e = e + v;
      if (content_sq) *content_sq = content_sq->defined() ? *content_sq + v.pow(2).sum(-1) : v.pow(2).sum(-1);
    };
    if (text_on_) add_content(net_->text, text_);
    if (image_on_) add_content(net_->image, image_);
    return e;
  }

  // TransR margin loss over kg_batch triples drawn uniformly (with replacement) from the
  // whole graph: an epoch's cost stays bounded by the interaction count, not the KG size.
  torch::Tensor KgLoss(framework::Rng& rng) {
    kg_pos_.resize(static_cast<size_t>(kg_batch_));
    std::vector<int64_t> h(kg_pos_.size()), r(kg_pos_.size()), t(kg_pos_.size());
    for (size_t k = 0; k < kg_pos_.size(); ++k) {
      kg_pos_[k] = (*triples_)[rng.UniformInt(triples_->size())];
      h[k] = kg_pos_[k].head, r[k] = kg_pos_[k].relation, t[k] = kg_pos_[k].tail;
    }
    const encoders::Corruptions neg = encoders::CorruptTriples(kg_pos_, num_entities_, 1, rng);
    return net_->kg->Loss(torch::tensor(h, torch::kInt64), torch::tensor(r, torch::kInt64),
                          torch::tensor(t, torch::kInt64), torch::tensor(neg.heads, torch::kInt64),
                          torch::tensor(neg.tails, torch::kInt64));
  }

  // Hyperparameters.
  int64_t dim_ = 64, kg_batch_ = 1024, relation_dim_ = 64;
  bool use_id_ = true, use_kg_ = true, use_text_ = true, use_image_ = true;
  bool kg_on_ = true, text_on_ = true, image_on_ = true;  // switched on and present in the dataset
  std::string text_spec_, image_spec_;
  double lambda_kg_ = 0.1, kg_margin_ = 1.0, reg_ = 1e-3, content_reg_ = 0.01, init_std_ = 0.01, id_dropout_ = 0.2;

  // Training state.
  std::shared_ptr<Net> net_;
  torch::Tensor warm_, item_entity_, linked_;
  ModalityTable text_, image_;
  const std::vector<datasets::Triple>* triples_ = nullptr;
  int64_t num_entities_ = 0;
  std::vector<datasets::Triple> kg_pos_;
};

}  // namespace

ModelEntry CkeEntry() {
  return {kName, "multimodal",
          "CKE: item = ID offset + jointly trained TransR entity vector + projected text and image "
          "features, BPR + TransR loss (Zhang et al., KDD 2016)",
          CkeParams(), [](const framework::Config& c) -> std::unique_ptr<Recommender> {
            return std::make_unique<Cke>(c);
          }};
}

}  // namespace recfuse::models::neural
