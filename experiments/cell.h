// One cell of an experiment grid: load-once data + (split, seed, fraction, model, params)
// -> trained model evaluated on the test split. `recfuse evaluate` is exactly one cell;
// `recfuse run` is many, sharing loaded datasets and cached splits.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/dataset.h"
#include "eval/evaluator.h"
#include "eval/groups.h"
#include "framework/config.h"
#include "models/recommender.h"

namespace recfuse::experiments {

struct CellSpec {
  std::string dataset_name;           // label in results
  std::string split = "ratio:0.8,0.1,0.1";
  uint64_t seed = 0;
  double train_fraction = 1.0;        // sparsity study: nested subsample of the training split
  std::string model;
  framework::Config model_params;     // validated against the model's ParamSpecs
  eval::EvalOptions eval;
  int threads = 1;
  std::string cache_dir;              // split and frozen-feature cache; "" = none
  // Early stopping / best-checkpoint criterion of iterative models, "<metric>@<k>" on the
  // validation split (full ranking, training items masked).
  std::string valid_metric = "ndcg@10";

  // Canonical description used in the resume key and recorded with the result.
  nlohmann::json ToJson() const;
};

struct CellResult {
  eval::EvalResult eval;
  std::vector<eval::GroupRow> groups;      // by user activity, item popularity, cold/warm
  std::vector<models::EpochRecord> curve;  // per-epoch loss / validation metric
  double fit_seconds = 0;
  double eval_seconds = 0;
  // Memory of the cell, from /proc/self/status. RunCell resets the kernel's RSS watermark
  // when it starts (framework::ResetPeakRss), so peak_rss_bytes is the process's highest
  // RSS while this cell ran: it includes what the process already held (loaded datasets,
  // caches), i.e. rss_before_bytes, plus the cell's own working set. Where the reset is not
  // supported peak_rss_scope is "process" (peak since the process started), else "cell".
  int64_t peak_rss_bytes = 0;
  int64_t rss_before_bytes = 0;
  int64_t rss_after_bytes = 0;
  std::string peak_rss_scope = "cell";
  int64_t train_interactions = 0;
  int64_t test_interactions = 0;
  nlohmann::json meta;  // config, seed, data hash, git commit, timings, memory
};

// Trains and evaluates. `target_out` receives the evaluation target (for evidence files).
CellResult RunCell(const datasets::Dataset& data, const CellSpec& spec,
                   eval::EvalTarget* target_out = nullptr, models::TrainData* train_out = nullptr);

struct TrainValidView;

// One selection trial: fits spec's model on view.train (early stopping on view.valid) and
// evaluates it on view.valid with spec.eval's metrics plus spec.valid_metric. The view holds
// no test rows (MakeTrainValidView), so a trial cannot read the test set. cell.meta holds
// config, view hash, timings, curve, score and the validation metrics (run.json of a trial).
struct TrialResult {
  CellResult cell;
  double score = 0;  // spec.valid_metric on validation; NaN when undefined
};
TrialResult RunTrial(const TrainValidView& view, const CellSpec& spec);

// Writes metrics.csv, test.tsv, topk.tsv (WriteEvidence), groups.csv, per_user.tsv (one
// row per evaluated user, one column per metric@k: the input of significance tests),
// per_user.h5 (the same table: string dataset /users, one float64 dataset per metric@k, in
// the TSV's row order) and, last, run.json into dir. run.json doubles as the cell's
// "finished" marker. Every file is written to a temporary name and renamed into place.
// Takes the process-wide HDF5 lock (datasets::hdf5::Mutex) for the HDF5 part.
void WriteCellOutputs(const std::string& dir, const CellSpec& spec, const eval::EvalTarget& target,
                      const CellResult& result);

// The per-user table of a cell, as stored in per_user.h5.
struct PerUserTable {
  std::vector<std::string> users;              // user tokens, one per row
  std::vector<std::string> columns;            // "metric@k" (or "metric"), sorted by name
  std::vector<std::vector<double>> values;     // values[c][row]
};

// Reads per_user.h5; throws IoError naming the file on a missing or malformed file.
// Thread-safe (takes the HDF5 lock).
PerUserTable ReadPerUserH5(const std::string& path);

// Default split-cache directory: $RECFUSE_CACHE, else $XDG_CACHE_HOME/recfuse, else
// $HOME/.cache/recfuse.
std::string DefaultCacheDir();

}  // namespace recfuse::experiments
