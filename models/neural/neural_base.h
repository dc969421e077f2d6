// What every neural model shares: the training loop (optimiser, learning-rate schedule,
// early stopping on a validation metric, best checkpoint, progress line, seeding and
// threads), pairwise sampling with negatives, the losses, frozen modality features as
// tensors, and module state (de)serialisation. A model implements five hooks; the loop in
// NeuralRecommender::Fit calls them in this order:
//   Build             once: create modules (under Root()), load features
//   BeginEpoch        per epoch: shuffle / sample, return the number of examples
//   BatchLoss         per batch of examples [begin, end): mean loss (autograd graph)
//   PrepareInference  after training and before each validation, in eval mode and without
//                     grad: fill the state ScoreBlock reads (by default user_, item_ and
//                     item_bias_ of a dot-product model, exported through GetFactors)
// ScoreBlock, Save and Load of dot-product models come for free; models that score pairs
// some other way (an MLP, candidate attention) override them.
#pragma once

#include <torch/torch.h>

#include <Eigen/Core>
#include <cstdint>
#include <string>
#include <vector>

#include "framework/config.h"
#include "framework/rng.h"
#include "models/recommender.h"

namespace recfuse::models::neural {

// ---- hyperparameters every neural model accepts -------------------------------------------
struct TrainDefaults {
  int epochs = 30;
  int batch_size = 1024;
  double lr = 1e-3;
  double weight_decay = 0.0;
  std::string loss = "bpr";
  std::vector<std::string> losses = {"bpr", "bce"};  // what this model supports
  int negatives = 1;
  int patience = 5;
};

// epochs, batch_size, lr, weight_decay, optimizer (adam|adamw|sgd|adagrad), lr_schedule
// (none|cosine|step), warmup_epochs, lr_step_epochs, lr_gamma, patience, eval_every,
// grad_clip, loss, negatives. Append to a model's own ParamSpecs.
std::vector<framework::ParamSpec> TrainParams(const TrainDefaults& defaults = {});

struct TrainOptions {
  int epochs = 30;
  int64_t batch_size = 1024;
  double lr = 1e-3;
  double weight_decay = 0;
  std::string optimizer = "adam";
  std::string lr_schedule = "none";
  int warmup_epochs = 0;
  int lr_step_epochs = 10;
  double lr_gamma = 0.5;
  int patience = 5;    // validations without improvement before stopping (0 = never stop)
  int eval_every = 1;  // validate every N epochs
  double grad_clip = 0;
  std::string loss = "bpr";
  int negatives = 1;
};
TrainOptions ReadTrainOptions(const framework::Config& config, const std::vector<framework::ParamSpec>& specs);

// ---- losses ------------------------------------------------------------------------------
// pos [B], neg [B, N] (or [B]): scores of positives and sampled negatives.
torch::Tensor BprLoss(const torch::Tensor& pos, const torch::Tensor& neg);  // mean -log s(pos - neg)
torch::Tensor BceLoss(const torch::Tensor& pos, const torch::Tensor& neg);  // BCE, positives 1, negatives 0
torch::Tensor PairLoss(const std::string& loss, const torch::Tensor& pos, const torch::Tensor& neg);
// Sampled softmax: cross-entropy of the positive against itself + its negatives.
torch::Tensor SampledSoftmaxLoss(const torch::Tensor& pos, const torch::Tensor& neg);

// ---- sampling ----------------------------------------------------------------------------
// The distinct training (user, item) pairs, shuffled each epoch; negatives drawn uniformly
// from the warm items (at least one training interaction) the user has no training
// interaction with (rejection sampling). Cold items are never sampled: see SampleNegative.
class PairSampler {
 public:
  explicit PairSampler(const TrainData& td);
  int64_t size() const { return static_cast<int64_t>(users_.size()); }
  void Shuffle(framework::Rng& rng);
  struct Batch {
    torch::Tensor users;  // [n] int64
    torch::Tensor pos;    // [n] int64
    torch::Tensor neg;    // [n, k] int64
    // Positive then negatives per example, flattened: [n * (1 + k)], row-major.
    torch::Tensor Candidates() const { return torch::cat({pos.unsqueeze(1), neg}, 1).reshape({-1}); }
  };
  Batch Get(int64_t begin, int64_t end, int negatives, framework::Rng& rng) const;
  // A uniform warm item the user has not interacted with in training.
  Index SampleNegative(Index user, framework::Rng& rng) const;
  bool IsPositive(Index user, Index item) const;

 private:
  const TrainData* td_;
  std::vector<Index> users_, items_;
  std::vector<int64_t> order_;
  std::vector<Index> warm_;  // items with a training pair, ascending
};

// ---- features ----------------------------------------------------------------------------
// A frozen modality (encoders::ComputeFrozenFeatures, cached under ctx.cache_dir, learned
// from training rows only) as tensors: values standardised per column over the present
// items (mean 0, unit variance) so one learning rate suits every modality; absent items
// are zero rows with mask 0. A modality the dataset has none of (the encoder's
// MissingModalityError, or no item with features) is a mask, not an error: the table comes
// back with available=false, dim=0, present=0 and undefined tensors, a warning names the
// model, the modality and `consequence` (what the model does instead, e.g. "falls back to
// BPR-MF"; empty: "trains as with <switch>=false"), and the model must skip it as if its
// use_<m> switch were off. RecordModality then puts available=false in run.json.
struct ModalityTable {
  std::string spec;
  torch::Tensor values;  // [num_items, dim] float32
  torch::Tensor mask;    // [num_items] float32, 1 = present
  int64_t dim = 0;
  int64_t present = 0;
  int64_t fallbacks = 0;
  bool available = true;  // false: the dataset has none of this modality (values undefined, dim 0)
  std::vector<std::pair<std::string, std::string>> provenance;  // ItemFeatures::provenance
};
ModalityTable LoadModality(const TrainData& td, const FitContext& ctx, const std::string& spec,
                           const std::string& model_name, const std::string& switch_name,
                           const std::string& consequence = "");
// The table of a modality the dataset lacks (available=false), with the same warning; for
// modalities a model reads itself rather than through LoadModality (CKE's jointly trained KG).
ModalityTable AbsentModality(const std::string& spec, const std::string& model_name, const std::string& switch_name,
                             const std::string& reason, const std::string& consequence = "");

// 1 for items with at least one training interaction: an ID embedding of an item never
// seen in training is untrained noise, so fusion treats it as a missing modality.
torch::Tensor WarmItemMask(const TrainData& td);

// Every Linear in `module` (itself included) gets weights ~ N(0, (std / sqrt(fan_in))^2) and
// zero bias, so that on standardised inputs its outputs start at the scale of ID vectors
// initialised with N(0, std^2). Torch's default init made projected content ~60x larger than
// the IDs, and training never recovered (ml-100k NDCG@10 0.20 vs 0.29 ID-only).
void InitAtIdScale(torch::nn::Module& module, double std);

// ---- state -------------------------------------------------------------------------------
std::string ModuleBytes(torch::nn::Module& module);
void LoadModuleBytes(torch::nn::Module& module, const std::string& bytes);
// Row-major float copies between Eigen and torch (2-D, float32).
torch::Tensor ToTensor(const RowMatrixXf& m);
RowMatrixXf ToEigen(const torch::Tensor& t);
// Users 0..n-1 as an int64 tensor of a batch range.
torch::Tensor Range(int64_t begin, int64_t end);

// ---- the model base ----------------------------------------------------------------------
class NeuralRecommender : public Recommender {
 public:
  NeuralRecommender(std::string name, TrainOptions options);

  void Fit(const TrainData& data, const FitContext& ctx) final;

  // Dot-product models: scores = user_ * item_^T + item_bias_ (thread-safe, Eigen only).
  void ScoreBlock(std::span<const Index> users, Eigen::Ref<RowMatrixXf> out) const override;
  Factors GetFactors() const override;
  // Dot-product models: header + user_, item_, item_bias_. Others override both.
  void Save(std::ostream& out) const override;
  void Load(std::istream& in) override;

  int best_epoch() const { return best_epoch_; }

  std::vector<ModalityUse> ModalitiesUsed() const override { return modalities_used_; }

 protected:
  virtual void Build(const TrainData& data, const FitContext& ctx) = 0;
  virtual torch::nn::Module& Root() = 0;
  virtual int64_t BeginEpoch(int epoch, framework::Rng& rng) = 0;
  virtual torch::Tensor BatchLoss(int64_t begin, int64_t end, framework::Rng& rng) = 0;
  virtual void PrepareInference() = 0;

  // Models call this once per configured modality after LoadModality (in Build), so that
  // run.json records the spec, coverage and provenance, or that the modality was absent.
  void RecordModality(const std::string& modality, const ModalityTable& t);

  // Throws unless Fit/Load happened; checks ids and the output block's shape.
  void CheckScoreArgs(std::span<const Index> users, const Eigen::Ref<RowMatrixXf>& out) const;

  const std::string name_;
  TrainOptions opt_;
  bool fitted_ = false;
  bool dot_product_ = true;  // false: the model overrides ScoreBlock/Save/Load
  Index num_users_ = 0;
  Index num_items_ = 0;
  RowMatrixXf user_, item_;
  Eigen::VectorXf item_bias_;  // empty = no bias
  int best_epoch_ = 0;
  std::vector<ModalityUse> modalities_used_;
  // True during the last PrepareInference of Fit (the state that is kept and tested), false
  // during validations: a model may then use what validation held out (see sequential/sequential.cc).
  bool final_inference_ = false;
};

// Models trained on (user, positive, sampled negatives) examples: one epoch is one shuffled
// pass over the distinct training pairs. Build() creates sampler_; BatchLoss reads
// sampler_->Get(begin, end, opt_.negatives, rng).
class PairwiseRecommender : public NeuralRecommender {
 public:
  using NeuralRecommender::NeuralRecommender;

 protected:
  int64_t BeginEpoch(int, framework::Rng& rng) override {
    sampler_->Shuffle(rng);
    return sampler_->size();
  }

  std::unique_ptr<PairSampler> sampler_;
};

}  // namespace recfuse::models::neural
