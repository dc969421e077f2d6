// Train/validation/test splits and training-set subsampling.
//
// A Split holds row indices into Dataset::interactions. Every split is a pure function of
// (dataset content, spec, seed), so it can be cached by that key (see split_cache.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datasets/dataset.h"

namespace recfuse::datasets {

struct SplitSpec {
  enum class Kind {
    kRatio,         // "ratio:0.8,0.1,0.1"  random per user
    kTemporal,      // "temporal:0.8,0.1,0.1"  global time cut-offs
    kUserTemporal,  // "user-temporal:0.8,0.1,0.1"  per user, by time
    kLeaveOneOut,   // "loo"  last item test, second-last valid (per user, by time)
    kColdItem,      // "cold-item:0.1"  a fraction of items (and all their interactions) held out
    kColdUser,      // "cold-user:0.1"  a fraction of users held out
    kFixed,         // "fixed"  the source's own split (Dataset::fixed_split)
  };
  Kind kind = Kind::kRatio;
  double train = 0.8, valid = 0.1, test = 0.1;  // ratios (kRatio, kTemporal, kUserTemporal)
  double cold_fraction = 0.1;                   // kColdItem / kColdUser

  // Parses the textual forms above; throws ConfigError naming the spec when malformed.
  static SplitSpec Parse(const std::string& text);
  std::string ToString() const;  // canonical form, used in cache keys
};

struct Split {
  std::vector<int64_t> train, valid, test;  // row indices into Dataset::interactions
  // Cold-start splits: which users/items are cold (never in train). Empty otherwise.
  std::vector<uint8_t> cold_items;  // per item, 1 if held out of training
  std::vector<uint8_t> cold_users;  // per user
};

// Deterministic for (dataset, spec, seed).
Split MakeSplit(const Dataset& data, const SplitSpec& spec, uint64_t seed);

// The training rows kept at `fraction` (0 < fraction <= 1). Nested: for a fixed seed, the
// rows kept at a smaller fraction are a subset of those kept at a larger one, so a sparsity
// curve measures only the loss of data. Every user with training rows keeps at least one
// (their smallest-key row), so the size is max(round(fraction * n), training users).
// Returns rows in their original order.
std::vector<int64_t> SubsampleTrain(const Dataset& data, const std::vector<int64_t>& train,
                                    double fraction, uint64_t seed);

}  // namespace recfuse::datasets
