// The top-K engine: scores users block by block, masks items, selects each user's K best.
//
// Memory is O(threads × block_size × items): each worker owns one reusable block of scores
// and never a users × items matrix. For dot-product models (Recommender::GetFactors) a block
// is one GEMM (block user vectors × item matrix^T, + item bias); other models fill the block
// through Recommender::ScoreBlock.
//
// Order: items are ranked by score descending; EQUAL SCORES ARE ORDERED BY ASCENDING ITEM
// ID. A fixed tie-break makes lists reproducible (a model that outputs many identical
// scores, e.g. popularity or a cold user's zero vector, would otherwise rank them in
// whatever order a selection algorithm happens to leave them) and independent of the
// thread count, which only decides which worker handles a block.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "datasets/dataset.h"
#include "models/recommender.h"

namespace recfuse::eval {

using datasets::Index;

// Per-user sorted, duplicate-free item lists in CSR form (test positives, excluded items).
struct UserItems {
  std::vector<int64_t> indptr;  // num_users + 1 entries
  std::vector<Index> items;

  Index num_users() const { return indptr.empty() ? 0 : static_cast<Index>(indptr.size() - 1); }
  std::span<const Index> Row(Index u) const {
    return {items.data() + indptr[u], static_cast<size_t>(indptr[u + 1] - indptr[u])};
  }
};

// Groups interactions rows `rows` by user. Each user's items come out sorted ascending with
// duplicates removed; the number of removed duplicate (user, item) pairs is added to
// *duplicates if given. A row index outside `inter`, or a user/item id outside
// [0, num_users) / [0, num_items), throws framework::Error naming the row.
UserItems GroupRowsByUser(const datasets::Interactions& inter, std::span<const int64_t> rows,
                          Index num_users, Index num_items, int64_t* duplicates = nullptr);

// Number of (u, i) in `test` that are masked for u: stored in row u of `train` or listed in
// exclude.Row(u).
int64_t CountMaskedPairs(const UserItems& test, const UserItems& exclude,
                         const models::SpMat& train);

struct ScoredItem {
  float score;
  Index item;
};

// Reusable scratch for SelectTopK; one per thread.
struct SelectScratch {
  std::vector<ScoredItem> buffer;
  std::vector<float> maxima, kth;
};

// The min(k, #unmasked) best items of `scores` (one user's row over the whole catalogue,
// index = item id) into *out, best first, ties by ascending item id. NaN marks a MASKED
// item and is skipped (the engine overwrites masked items with NaN after checking the
// model's output has none, so that the model's own -inf scores stay rankable). Partial
// selection, no full sort: a lower bound on the K-th best score from the maxima of ~4K
// chunks lets whole chunks be skipped, and the survivors go through a threshold buffer;
// O(n + k log k).
void SelectTopK(std::span<const float> scores, int k, std::vector<Index>* out,
                SelectScratch* scratch);
// Same over an explicit candidate set (sampled protocol); candidates may come in any order
// and must have distinct items and no NaN score.
void SelectTopKCandidates(std::span<const ScoredItem> candidates, int k, std::vector<Index>* out,
                          SelectScratch* scratch);

struct TopKOptions {
  int k = 10;            // list length (> 0)
  int threads = 1;       // <= 0: all hardware threads
  int block_size = 256;  // users per scoring block (> 0); memory = threads x block x items x 4 B
  // 0 = rank the whole catalogue. N > 0 = rank each user's unmasked test positives against
  // N unmasked non-positive items drawn uniformly without replacement with
  // Rng(DeriveSeed(seed, user)) (all of them when fewer than N exist).
  int sampled_negatives = 0;
  uint64_t seed = 0;
  bool compute_auc = false;  // per-user AUC from the full row (or the candidate set)
};

struct TopKInput {
  const models::Recommender* model = nullptr;
  Index num_users = 0;           // the model's user id space
  Index num_items = 0;           // the catalogue: columns of every score block
  std::span<const Index> users;  // users to rank, any order, each in [0, num_users)
  // Items never ranked for user u: the stored entries of row u of `train` plus
  // exclude->Row(u). Either may be null.
  const models::SpMat* train = nullptr;
  const UserItems* exclude = nullptr;
  // Each user's test items; required for compute_auc and sampled_negatives > 0.
  const UserItems* positives = nullptr;
  // Optional: lets error messages name users by token as well as id.
  const datasets::IdMap* user_tokens = nullptr;
};

struct TopKOutput {
  std::vector<std::vector<Index>> lists;  // aligned with input.users, best first
  std::vector<double> auc;  // aligned with input.users if compute_auc (NaN = undefined)
  // Sampled protocol: users for whom fewer than N unmasked negatives existed (all were used).
  int64_t users_short_of_negatives = 0;
};

// Ranks input.users. Thread-safe with respect to the model (only const calls, from several
// threads). Results do not depend on opt.threads. Throws framework::Error naming the user if
// the model returns a NaN score, and if the model's factors do not match the id spaces.
TopKOutput RankUsers(const TopKInput& input, const TopKOptions& opt);

}  // namespace recfuse::eval
