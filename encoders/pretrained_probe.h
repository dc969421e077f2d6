// Intrinsic check of item features against side information, used to choose the pretrained
// extractors' default layer and pooling without looking at recommendation metrics: do an
// item's nearest neighbours in feature space share its labels (e.g. a movie's genres)?
#pragma once

#include <cstdint>
#include <vector>

#include "datasets/dataset.h"
#include "encoders/features.h"

namespace recfuse::encoders {

struct LabelOverlap {
  double knn = 0;       // mean Jaccard(labels(i), labels(j)) over each item's k nearest neighbours
  double random = 0;    // mean Jaccard over all pairs of the same items (the chance level)
  int64_t items = 0;    // items used: present in `present` and with at least one label
};

// Items with features (present) and labels; features centred (column means over those
// items subtracted), then cosine similarity; each item's k most similar other items (ties by
// lower id) give its mean Jaccard overlap of label sets. Deterministic. k must be >= 1 and
// below the number of usable items, else ConfigError.
LabelOverlap KnnLabelOverlap(const FeatureMatrix& x, const std::vector<uint8_t>& present,
                             const std::vector<std::vector<datasets::Index>>& labels, int k);

}  // namespace recfuse::encoders
