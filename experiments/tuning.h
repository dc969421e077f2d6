// Hyperparameter search on validation data: search spaces, strategies (grid, seeded random
// sampling, successive halving), selection, and the train+validation view a trial sees.
//
// In an experiment file (docs/tuning.md):
//
//   tune = halving:27            # none | grid | random:N | halving | halving:N
//   tune_seeds = 0               # seeds a trial is run with (score = mean); default: first seed
//   [model.bpr]
//   search.dim = 32, 64, 128             # a list: grid points / uniform choice
//   search.lr = loguniform(1e-4, 1e-2)   # ranges: random and halving:N only
//   search.reg = uniform(0, 0.1)
//   search.negatives = int(1, 8)
//
// The tuner never receives test rows: a trial trains and scores on TrainValidView, a copy of
// the dataset holding only the training and validation interactions (reviews of test pairs
// dropped too), so no code path inside a trial can read a test interaction.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datasets/dataset.h"
#include "datasets/split.h"
#include "framework/config.h"

namespace recfuse::experiments {

struct SearchDim {
  enum class Kind { kList, kUniform, kLogUniform, kInt };
  std::string param;
  Kind kind = Kind::kList;
  std::vector<std::string> values;  // kList, in the order written
  double lo = 0, hi = 0;            // ranges, inclusive
  // As written in canonical form: "32, 64, 128", "loguniform(0.0001, 0.01)", "int(1, 8)".
  std::string ToString() const;
};

// Parses `search.<param> = text` against the model's declaration of param; every list value
// and both range ends are validated against the spec (type, min, max, choices). `where`
// names the file line for errors.
SearchDim ParseSearchDim(const std::string& param, const std::string& text, const framework::ParamSpec& spec,
                         const std::string& where);

struct TuneStrategy {
  enum class Kind { kNone, kGrid, kRandom, kHalving };
  Kind kind = Kind::kNone;
  int samples = 0;  // random:N, halving:N (0 with halving = the full grid)
  static TuneStrategy Parse(const std::string& text);  // throws ConfigError
  std::string ToString() const;
};

// Candidate configurations (search parameters only), in a fixed order: the grid in
// row-major order of the dims as written (first dim slowest), or `samples` draws from the
// seeded stream `seed` (lists uniform, uniform/loguniform continuous printed to 6
// significant digits, int uniform). Random draws that repeat an earlier candidate are
// redrawn (up to 100 times each), and when the space is a finite grid no larger than
// `samples`, the grid itself is returned. Grid strategies with a range dim throw.
std::vector<framework::Config> ExpandSearchSpace(const std::vector<SearchDim>& dims, const TuneStrategy& strategy,
                                                 uint64_t seed);

// Successive halving (Jamieson & Talwalkar, AISTATS 2016; the inner loop of Hyperband, Li et
// al., JMLR 2018) with reduction factor eta: round r runs n_r = max(1, floor(n / eta^r))
// configurations with budget b_r = max(1, round(max_budget / eta^(R-1-r))); R is the
// largest number of rounds with n_{R-1} >= 1 and b_0 >= 1 (at least 1). The last round
// always runs at max_budget.
struct HalvingRound {
  int configs = 0;
  int64_t budget = 0;
};
std::vector<HalvingRound> HalvingSchedule(int n, int64_t max_budget, int eta);

// Indices of the `keep` best scores (higher is better), best first; NaN ranks last and ties
// go to the lower index, so the order is a pure function of the table.
std::vector<size_t> RankScores(const std::vector<double>& scores, size_t keep);

// One halving step: the `keep` best of the `alive` candidates by `scores` (indexed by
// candidate; entries of candidates not alive are ignored), returned in candidate order so
// the next round's work list is canonical.
std::vector<size_t> HalvingSurvivors(const std::vector<double>& scores, const std::vector<size_t>& alive, size_t keep);

// What a trial may see: the training (after train_fraction subsampling) and validation
// interactions of `split`, and nothing of its test rows. `data` is copied with only those
// rows (train first, then validation, each in original order) and without reviews written
// by a test (user, item) pair; ids, item content and the KG are kept.
struct TrainValidView {
  datasets::Dataset data;
  std::vector<int64_t> train;  // row indices into data
  std::vector<int64_t> valid;
};
TrainValidView MakeTrainValidView(const datasets::Dataset& data, const datasets::Split& split, double train_fraction,
                                  uint64_t seed);

}  // namespace recfuse::experiments
