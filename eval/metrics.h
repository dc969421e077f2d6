// Ranking, beyond-accuracy and rating metrics, with RecBole's definitions.
//
// A metric knows its name, its direction and what it is computed from (its scope); the
// evaluator computes each user's top-K list once, at the largest K, and feeds every metric
// from it (RecBole's collector idea). All functions here are pure and thread-safe.
//
// Conventions shared by the per-user ranking metrics:
//   L      the user's ranked list (best first); the evaluator cuts it at the largest K, so at
//          a smaller K only its first K entries count. L can be shorter than K when the
//          catalogue minus the masked items is smaller than K.
//   hits   hits[r] = 1 iff L[r] (rank r+1) is in the user's test set T.
//   |T|    the number of distinct held-out items of the user, *including* test items that
//          are masked (also in train / exclude rows): RecBole counts them too, they just can
//          never be hit.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "datasets/dataset.h"
#include "models/recommender.h"

namespace recfuse::eval {

using datasets::Index;

enum class MetricScope {
  kUserAtK,      // per user, from the hit pattern of L@K and |T| (recall, ndcg, ...)
  kUserListAtK,  // per user, from the items of L@K themselves (novelty, tailpercentage)
  kGlobalAtK,    // one value over all users' lists at K (itemcoverage, gini)
  kUserFullRow,  // per user, needs the user's whole score row (auc); no K
  kRating,       // over the test rows' predicted ratings (rmse, mae); no K
};

struct MetricDef {
  std::string name;  // lower-case, as written in metrics.csv
  bool higher_is_better = true;
  MetricScope scope = MetricScope::kUserAtK;
  std::string definition;  // one line, for --help and reports

  bool per_user() const {
    return scope == MetricScope::kUserAtK || scope == MetricScope::kUserListAtK ||
           scope == MetricScope::kUserFullRow;
  }
  bool uses_k() const {
    return scope == MetricScope::kUserAtK || scope == MetricScope::kUserListAtK ||
           scope == MetricScope::kGlobalAtK;
  }
};

// Every metric the evaluator knows, in a fixed order (the order of metrics.csv rows when
// all are requested).
const std::vector<MetricDef>& MetricRegistry();
// Case-insensitive lookup; throws framework::ConfigError listing the known names.
const MetricDef& FindMetric(std::string_view name);
// recall, precision, ndcg, mrr, hit, map, itemcoverage, gini, tailpercentage, novelty.
// auc (a full pass over each user's row) and rmse/mae (rating models only) are opt-in.
std::vector<std::string> DefaultMetrics();

// ---- Per-user ranking metrics at cut-off k (k > 0). `hits` may be shorter or longer than
// k; only its first min(k, hits.size()) entries count. num_relevant = |T| >= 1.

// Hit@K = 1[|L@K ∩ T| > 0].
double HitAt(std::span<const uint8_t> hits, int k);
// Precision@K = |L@K ∩ T| / K. Divides by K even when L is shorter than K (RecBole does;
// a short list is penalised as if padded with misses).
double PrecisionAt(std::span<const uint8_t> hits, int k);
// Recall@K = |L@K ∩ T| / |T|. RecBole divides by |T|, so a user with |T| > K cannot reach
// 1; some papers divide by min(K, |T|) instead, which gives larger values.
double RecallAt(std::span<const uint8_t> hits, int k, int64_t num_relevant);
// NDCG@K = DCG@K / IDCG@K, DCG@K = Σ_{r=1..K} rel_r / log2(r+1) with binary rel, and
// IDCG@K = Σ_{r=1..min(|T|,K)} 1 / log2(r+1) (the ideal list puts all of T first).
double NdcgAt(std::span<const uint8_t> hits, int k, int64_t num_relevant);
// MRR@K = 1 / rank of the first hit within K; 0 if none.
double MrrAt(std::span<const uint8_t> hits, int k);
// MAP@K (RecBole) = (1 / min(|T|, K)) Σ_{r≤K} Precision@r · rel_r. Other libraries
// normalise by |T| or by the number of hits; RecBole's choice makes a perfect list score 1.
double MapAt(std::span<const uint8_t> hits, int k, int64_t num_relevant);
// Dispatch by name over the kUserAtK metrics above; throws ConfigError for other names.
double UserMetricAt(std::string_view name, std::span<const uint8_t> hits, int k,
                    int64_t num_relevant);

// ---- AUC: fraction of (positive, negative) pairs the scores order correctly, ties
// counting 1/2: AUC = (#{s_p > s_n} + ½ #{s_p = s_n}) / (|P| |N|). Per user, P = the
// user's unmasked test items, N = every other unmasked item (full ranking) or the sampled
// negatives (sampled protocol). NaN when P or N is empty (undefined; the evaluator leaves
// such users out of the mean and says so in EvalResult::notes). RecBole's "AUC" is a
// global AUC over all users' pairs in the sampled setting and its "GAUC" weights users by
// |P|; ours is the unweighted mean over users of the full-ranking per-user AUC.
// Exact integer pair counts: O(|P|·|N|) branch-free (vectorised) when the smaller side has
// <= 32 scores, else O((|P| + |N|) log min(|P|, |N|)). `scratch` is reused to avoid
// allocation (may be null).
double Auc(std::span<const float> positive_scores, std::span<const float> negative_scores,
           std::vector<float>* scratch = nullptr);

// The same AUC for one user's full score row over the catalogue, where NaN marks a masked
// item: P = the unmasked items of `positives` (sorted ids), N = all other unmasked items.
// Computed in place without gathering N (masked NaNs fail every comparison).
double AucOfRow(std::span<const float> row, std::span<const Index> positives,
                std::vector<float>* scratch = nullptr);

// ---- Beyond-accuracy inputs: item popularity in the training matrix.
struct ItemStats {
  // Train popularity of each item = number of distinct training users (stored entries of
  // the train matrix's column).
  std::vector<int64_t> popularity;
  // Tail items: sort items by (popularity ascending, id ascending) and take the longest
  // prefix whose cumulative popularity is <= tail_share · (total train interactions).
  // RecBole instead takes the tail_ratio (default 10%) least popular items by count (or a
  // count threshold when tail_ratio > 1); ours follows the "long tail holds the bottom 20%
  // of the interactions" definition of the popularity-bias literature.
  std::vector<uint8_t> is_tail;
  int64_t num_users = 0;  // rows of the train matrix (the whole user id space)
  int64_t total_interactions = 0;
};
ItemStats ComputeItemStats(const models::SpMat& train, double tail_share = 0.2);

// ---- Beyond-accuracy metrics. `lists` are the users' ranked lists (each cut at k).

// ItemCoverage@K = |∪_u L_u@K| / |items|. RecBole divides by its item count, which
// includes the padding id 0, so RecBole's value is ours · n/(n+1).
double ItemCoverageAt(std::span<const std::vector<Index>> lists, int k, Index num_items);
// Gini@K (RecBole's GiniIndex) over c_i = how many lists L_u@K contain item i, for every
// item including those never recommended (c = 0): with c sorted ascending, c_(1..n),
// Gini = Σ_{j=1..n} (2j − n − 1) c_(j) / (n · Σ_j c_j). 0 = every item recommended equally
// often, → 1 = all recommendations on one item. 0 when nothing is recommended. (RecBole's n
// again counts its padding item.)
double GiniAt(std::span<const std::vector<Index>> lists, int k, Index num_items);
// TailPercentage of one list: |{r ≤ K : L[r] is a tail item}| / |L@K|; NaN for an empty
// list. The reported value is the mean over users (RecBole's per-user mean, which divides
// by K; the same whenever lists are K long).
double TailShareAt(std::span<const Index> list, int k, const ItemStats& stats);
// Novelty of one list: mean over r ≤ K of −log2(pop_{L[r]} / num_users), an item with zero
// train popularity counting as popularity 1; NaN for an empty list. Reported as the mean
// over users.
double NoveltyAt(std::span<const Index> list, int k, const ItemStats& stats);

}  // namespace recfuse::eval
