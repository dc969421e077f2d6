// The one interface every recommender implements, classic or neural (RecBole's abstract
// recommender, Cornac's score/rank split): Fit once, then score blocks of users against the
// whole catalogue. Ranking, masking of seen items and top-K live once, in eval/.
#pragma once

#include <Eigen/Core>
#include <Eigen/SparseCore>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <limits>
#include <utility>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "datasets/dataset.h"
#include "framework/config.h"

namespace recfuse::models {

using datasets::Index;
using RowMatrixXf = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using SpMat = Eigen::SparseMatrix<float, Eigen::RowMajor, int64_t>;

// What a model trains on. Ids are the dataset's dense ids; every user/item of the dataset
// exists in the id space even if it has no training interaction (cold users/items).
struct TrainData {
  const datasets::Dataset* dataset = nullptr;  // id maps and side information
  datasets::Interactions train;                // training interactions (duplicates kept)
  datasets::Interactions valid;                // validation interactions (may be empty)
  SpMat matrix;                                // users x items, 1 per distinct training pair
  datasets::Csr by_user;                       // train by user, time-ordered
  std::vector<int64_t> train_rows;             // rows of dataset->interactions in `train`
                                               // (content encoders learn from these only)
  Index num_users = 0;
  Index num_items = 0;
};

// Builds TrainData from a dataset and row selections (train rows, valid rows).
TrainData MakeTrainData(const datasets::Dataset& data, std::span<const int64_t> train_rows,
                        std::span<const int64_t> valid_rows);

struct EpochRecord {
  int epoch = 0;
  double loss = 0;
  double valid_metric = std::numeric_limits<double>::quiet_NaN();
  double seconds = 0;
};

struct FitContext {
  int threads = 1;
  uint64_t seed = 0;
  // Called after each epoch of iterative models (training curves, progress).
  std::function<void(const EpochRecord&)> on_epoch;
  // Validation score of the model in its current state (higher = better; NaN when there is
  // no validation split). Supplied by the caller, which owns evaluation (models/ sits below
  // eval/); iterative models use it for early stopping and best-checkpoint selection.
  std::function<double(const class Recommender&)> validate;
  std::string valid_metric_name;  // e.g. "ndcg@10", for logs
  std::string cache_dir;          // frozen-feature / tokenizer cache ("" = none)
  std::string checkpoint_dir;     // best checkpoint written here when set ("" = memory only)
  bool progress = false;          // one progress line per epoch (throughput, ETA) at Info level
};

class Recommender {
 public:
  virtual ~Recommender() = default;

  virtual void Fit(const TrainData& data, const FitContext& ctx) = 0;

  // Writes the scores of each user in `users` for all items into row k of `out`
  // (out.rows() == users.size(), out.cols() == num_items). Higher = more relevant.
  // Must be const and thread-safe: the evaluator calls it from several threads at once.
  virtual void ScoreBlock(std::span<const Index> users, Eigen::Ref<RowMatrixXf> out) const = 0;

  // Models whose score is <user_vec, item_vec> (+ item_bias) expose their factors so the
  // evaluator can use one GEMM per block of users; null otherwise.
  struct Factors {
    const RowMatrixXf* user = nullptr;     // num_users x d
    const RowMatrixXf* item = nullptr;     // num_items x d
    const Eigen::VectorXf* item_bias = nullptr;  // optional, num_items
  };
  virtual Factors GetFactors() const { return {}; }

  // Rating prediction for RMSE/MAE; only models that say PredictsRatings() implement it.
  virtual bool PredictsRatings() const { return false; }
  virtual float PredictRating(Index user, Index item) const;

  // Models that weigh modalities (attention fusion) report the mean weight of each modality
  // over the training interactions after Fit, in a stable order; empty for the others.
  virtual std::vector<std::pair<std::string, double>> ModalityWeights() const { return {}; }

  // What a content model used for each modality it was configured with: the spec, how many
  // items had it and where the features came from (extractor, package and version or file
  // sha256, layer, preprocessing, pooling, source fields). A modality the dataset lacks
  // entirely is listed with available=false: it is masked out, not an error. run.json and
  // the report record this for every cell; empty for models without content.
  struct ModalityUse {
    std::string modality;  // "image", "text", "kg", ...
    std::string spec;      // the frozen-feature spec
    bool available = true;
    int64_t items_present = 0;
    int64_t fallbacks = 0;
    std::vector<std::pair<std::string, std::string>> provenance;
  };
  virtual std::vector<ModalityUse> ModalitiesUsed() const { return {}; }

  // Binary model state, with a magic number and version checked on Load.
  virtual void Save(std::ostream& out) const = 0;
  virtual void Load(std::istream& in) = 0;
};

// A registered model: one explicit list (registry.cc), no static self-registration.
struct ModelEntry {
  std::string name;
  std::string family;  // "classic", "neural", "multimodal", "sequential", "knowledge"
  std::string description;
  std::vector<framework::ParamSpec> params;
  std::function<std::unique_ptr<Recommender>(const framework::Config&)> create;
};

const std::vector<ModelEntry>& ModelRegistry();
const ModelEntry& FindModel(const std::string& name);  // throws UnknownIdError listing names
// Validates `config` against the model's params (unknown keys are errors), then creates it.
std::unique_ptr<Recommender> CreateModel(const std::string& name, const framework::Config& config);

}  // namespace recfuse::models
