// Evaluate a fitted recommender on held-out interactions, and write the evidence files that
// let anyone recompute the numbers.
//
// Protocol (full ranking, the default): every user with >= 1 test item gets one ranked list
// of the whole catalogue minus the masked items (the user's training items and the
// exclude_rows items, e.g. validation positives when testing). Top-K is computed once at
// the largest K and every metric is fed from it; see eval/metrics.h for each definition and
// eval/topk.h for the tie-break (equal scores: ascending item id).
//
// Sampled protocol (sampled_negatives = N > 0): each user's unmasked test positives are
// ranked against N unmasked non-test items drawn uniformly without replacement with
// Rng(DeriveSeed(seed, user)). This is the "1 positive + N negatives" protocol of papers
// such as NCF (He et al., 2017, N = 100). It INFLATES scores relative to full ranking
// (an easy candidate set) and can even reorder models (Krichene & Rendle, "On Sampled
// Metrics for Item Recommendation", KDD 2020); report it only to compare with such papers.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "datasets/dataset.h"
#include "eval/metrics.h"
#include "models/recommender.h"

namespace recfuse::eval {

struct EvalOptions {
  std::vector<int> ks = {10, 20, 50};  // each K > 0 else ConfigError("K must be > 0")
  int threads = 1;                     // <= 0: all hardware threads; results do not depend on it
  int block_size = 256;       // users per scoring block: threads x block x items floats of scratch
  int sampled_negatives = 0;  // 0 = full ranking; N = N sampled negatives (see above)
  uint64_t seed = 0;          // for the sampled protocol
  // Metric names (case-insensitive, see MetricRegistry()); unknown name -> ConfigError.
  std::vector<std::string> metrics = DefaultMetrics();
};

struct EvalTarget {
  const datasets::Dataset* data = nullptr;
  const models::SpMat* train = nullptr;  // users x items: stored entries masked (never ranked)
  std::vector<int64_t> test_rows;        // rows of data->interactions that are held-out positives
  std::vector<int64_t> exclude_rows;     // further rows masked too (validation when testing)
};

struct MetricValue {
  std::string metric;  // lower-case name
  int k;               // 0 for metrics without K (auc, rmse, mae)
  double value;
};

struct EvalResult {
  std::vector<datasets::Index> users;  // evaluated users (>= 1 test item), ascending
  int64_t users_without_test = 0;      // users of the id space with no test item: excluded
  // Per evaluated user: ranked items, best first, max K long (shorter when the unmasked
  // catalogue, or the sampled candidate set, is smaller).
  std::vector<std::vector<datasets::Index>> topk;
  // Means over evaluated users (per-user metrics), then the global beyond-accuracy metrics,
  // in the order of EvalOptions::metrics, each K ascending. A per-user value that is
  // undefined (NaN: auc without a positive or negative, novelty of an empty list) is left
  // out of its mean, and a note says how many.
  std::vector<MetricValue> metrics;
  // "ndcg@10" -> value per evaluated user (aligned with users); "auc" has no "@K".
  std::map<std::string, std::vector<double>> per_user;
  std::vector<int> ks;               // the K values used, ascending, distinct
  int64_t num_test_pairs = 0;        // distinct (user, item) test pairs = Σ |T_u|
  int64_t duplicate_test_pairs = 0;  // repeated (user, item) test rows, counted once
  int64_t masked_test_pairs = 0;     // test pairs also masked: count in |T|, never hit
  std::vector<std::string> notes;    // anything a reader of the numbers should know
  double seconds = 0;
};

// Ranks, scores and aggregates. Thread-safe w.r.t. the model (const calls only). Results do
// not depend on opt.threads (blocks are fixed by position, not by thread); for GEMM models
// a different block_size may change scores in the last bit, as Eigen may block the product
// differently. Throws ConfigError for bad options (K <= 0, unknown metric, block_size <= 0,
// rmse/mae on data without ratings) and framework::Error for "empty test set", rows
// outside data->interactions, a train matrix that is not users x items, or a NaN score
// (naming the user). rmse/mae on a model that does not predict ratings are skipped with a
// note, so that a study can run one metric list over many models.
EvalResult Evaluate(const models::Recommender& model, const EvalTarget& target,
                    const EvalOptions& opt);

// Writes into `dir` (created if needed), each file atomically:
//   test.tsv    user_token \t item_token, one line per distinct held-out (user, item) pair
//               of the evaluated users, sorted by user id then item id;
//   topk.tsv    user_token \t space-separated ranked item tokens (max K), evaluated users
//               in ascending id order;
//   metrics.csv header model,metric,k,value; metric lower-case; values with 17 significant
//               digits (round-trip exact).
// Throws framework::Error if a token contains whitespace (it would corrupt the files).
void WriteEvidence(const std::string& dir, const std::string& model_name, const EvalTarget& target,
                   const EvalResult& result);

// "ndcg@10" for metrics with K, "auc" without: the keys of EvalResult::per_user.
std::string MetricKey(const std::string& metric, int k);

}  // namespace recfuse::eval
