// Group analyses: the same metrics broken down by kinds of users and kinds of items.
//
// User groups (activity buckets, cold vs warm users) average EvalResult::per_user over
// subsets of the evaluated users. Item groups (popularity head/mid/tail, cold vs warm items)
// are different: a user's hits on "tail items" need the user's test set restricted to tail
// items, T_u ∩ G, with the ranked list and the masking unchanged (so a head-item hit is
// simply not a hit for the tail group), and the users are those with T_u ∩ G non-empty.
//
// Every function returns tidy rows; groups with no user produce rows with value NaN and
// n_users 0, so a missing group is visible rather than absent.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "eval/evaluator.h"
#include "models/recommender.h"

namespace recfuse::eval {

struct GroupRow {
  std::string group_kind;  // user_activity, user_coldness, item_popularity, item_coldness
  std::string group;       // e.g. "q1:[1,17]", "cold", "head"
  std::string metric;
  int k = 0;
  double value = 0;     // mean over the group's users with a defined value
  int64_t n_users = 0;  // users whose value entered the mean
};

struct GroupOptions {
  // Users split into this many activity buckets at the quantiles of their number of
  // distinct training items (see GroupByUserActivity).
  int activity_buckets = 5;
  // Items sorted by training popularity descending (ties: ascending id): the first
  // ceil(head_share · n) are "head", the last floor(tail_share · n) "tail", the rest "mid".
  double head_share = 0.2;
  double tail_share = 0.5;
  // "cold" = at most this many distinct training interactions (0 = strictly cold-start).
  int64_t cold_user_max_train = 5;
  int64_t cold_item_max_train = 5;
};

// Training interactions per user / item: stored entries per row / column of `train`.
std::vector<int64_t> UserTrainCounts(const models::SpMat& train);
std::vector<int64_t> ItemTrainCounts(const models::SpMat& train);

// Rows averaging each per-user metric of `result` (in the order of result.metrics) over
// the users with group_of[x] == g, for g in [0, names.size()); group_of is aligned with
// result.users.
std::vector<GroupRow> SummarizeUserGroups(const EvalResult& result, const std::string& kind,
                                          const std::vector<int>& group_of,
                                          const std::vector<std::string>& names);

// Activity buckets: with c the sorted training counts of the n evaluated users, bucket b
// (1..B) has upper edge e_b = c[ceil(b·n/B) - 1] and holds users with e_{b-1} < count <= e_b
// (e_0 = -inf), so users with equal counts share a bucket and buckets whose edge repeats
// the previous one are empty (then omitted). Groups are named "q<b>:[lo,hi]", the range of
// training counts inside the bucket.
std::vector<GroupRow> GroupByUserActivity(const EvalResult& result, const models::SpMat& train,
                                          int buckets = 5);
// "cold" (<= cold_max distinct training items) vs "warm" users.
std::vector<GroupRow> GroupByUserColdness(const EvalResult& result, const models::SpMat& train,
                                          int64_t cold_max = 5);

// Per item: 0 = head, 1 = mid, 2 = tail (see GroupOptions).
std::vector<uint8_t> ItemPopularityGroups(const models::SpMat& train, double head_share = 0.2,
                                          double tail_share = 0.5);

// Evaluates with each user's test set restricted to items with item_mask[i] != 0 (the
// ranking and the masking unchanged), by re-running Evaluate on the filtered test rows.
// Works for every protocol and metric. Throws framework::Error("empty test set") when no
// test row falls in the set.
EvalResult GroupByItemSet(const models::Recommender& model, const EvalTarget& target,
                          const EvalOptions& opt, const std::vector<uint8_t>& item_mask);

// The same restriction computed from `full`'s stored top-K lists, without scoring again.
// Only the full-ranking protocol (the lists do not depend on T there; with sampled
// negatives they do: framework::Error) and only the per-user ranking metrics at K (recall,
// precision, ndcg, mrr, hit, map) are computed; the others in opt.metrics do not depend on
// T (beyond-accuracy), need scores (auc) or are not rankings (rmse, mae), and are left out.
// Gives the same values as GroupByItemSet for those metrics.
EvalResult RestrictToItemSet(const EvalTarget& target, const EvalResult& full,
                             const EvalOptions& opt, const std::vector<uint8_t>& item_mask);

// Rows for item groups, one RestrictToItemSet (full ranking) or GroupByItemSet (sampled)
// per group; `model` is only used for the latter.
std::vector<GroupRow> GroupByItemPopularity(const models::Recommender& model,
                                            const EvalTarget& target, const EvalOptions& opt,
                                            const EvalResult& full, double head_share = 0.2,
                                            double tail_share = 0.5);
std::vector<GroupRow> GroupByItemColdness(const models::Recommender& model,
                                          const EvalTarget& target, const EvalOptions& opt,
                                          const EvalResult& full, int64_t cold_max = 5);

// All four analyses, in the order user_activity, user_coldness, item_popularity,
// item_coldness.
std::vector<GroupRow> AnalyzeGroups(const models::Recommender& model, const EvalTarget& target,
                                    const EvalOptions& opt, const EvalResult& full,
                                    const GroupOptions& group_opt = {});

}  // namespace recfuse::eval
