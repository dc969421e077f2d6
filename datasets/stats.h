// Descriptive statistics of a Dataset: what `recfuse data inspect` prints and what a report
// states about the data a result was computed on (sizes, sparsity, degree skew, modality
// coverage), all computed from the data, never taken from file headers.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "datasets/dataset.h"

namespace recfuse::datasets {

// Distribution of interactions per user (or per item) over the WHOLE id space, zeros
// included, so that cold ids count towards the skew.
struct DegreeStats {
  int64_t min = 0, max = 0;
  double mean = 0;
  double median = 0;  // mean of the two middle values for an even count
  double p90 = 0;     // linear interpolation between order statistics (numpy's default)
  double gini = 0;    // 0 = every id equally active, -> 1 = one id has everything
};

// One histogram bar: a distinct value (lo == hi) or the range [lo, hi) ([lo, hi] for the last).
struct HistogramBin {
  double lo = 0, hi = 0;
  int64_t count = 0;
};

// Share of items having one modality, and of interactions that fall on such items (the
// latter is what a model actually sees: popular items are likelier to have content).
struct ModalityCoverage {
  std::string name;  // "text", "image", "kg"
  int64_t items = 0;
  double item_fraction = 0;
  double interaction_fraction = 0;
};

// Coverage of one side-information field.
struct FieldStats {
  std::string name;
  // "item_text", "item_categorical", "item_numeric", "user_categorical" or "user_numeric".
  std::string kind;
  int64_t rows_with_value = 0;  // items (or users) with a non-empty / non-NaN value
  double fraction = 0;          // of all items (or users)
  int64_t distinct_values = 0;  // categorical only: size of the value vocabulary
};

struct DatasetStats {
  std::string name, source;
  std::string data_hash;  // hex of Dataset::ContentHash()

  int64_t users = 0, items = 0, interactions = 0;
  double density = 0;  // interactions / (users * items); rows, duplicates included
  int64_t users_without_interactions = 0;
  int64_t cold_items = 0;       // items with zero interactions
  int64_t duplicate_pairs = 0;  // distinct (user, item) pairs occurring more than once
  int64_t duplicate_rows = 0;   // rows beyond the first of each pair

  bool has_rating = false, has_timestamp = false;
  double time_min = 0, time_max = 0, time_days = 0;  // set when has_timestamp and rows exist
  // One bin per distinct rating when there are at most kMaxDistinctRatings of them (the
  // usual 1..5 stars), else 10 equal-width bins. Non-finite ratings are counted apart.
  static constexpr int kMaxDistinctRatings = 20;
  std::vector<HistogramBin> rating_histogram;
  int64_t nonfinite_ratings = 0;

  DegreeStats user_degree, item_degree;

  int64_t items_with_text = 0;   // Dataset::ItemHasText (a text field or a review)
  int64_t items_with_image = 0;  // non-empty item_image path
  int64_t items_with_kg = 0;     // linked to a KG entity
  int64_t kg_triples = 0, kg_entities = 0, kg_relations = 0;
  int64_t reviews = 0;
  // Images: where they were looked for (LoadReport::image_source; "" = the dataset has no
  // image folder or list, so no images at all), the items whose expected image file was not
  // found (still present after filters), and, for an image list, the items it does not name.
  // Files are not decoded here: corrupt ones are found (and counted) when they are encoded.
  bool has_image_source = false;  // a source was given, or some item has an image anyway
  std::string image_source;
  int64_t missing_images = 0;
  int64_t images_not_listed = 0;
  std::vector<ModalityCoverage> coverage;  // text, image, kg (in that order)
  // Where the "text" coverage comes from: one entry per item text field (by its name, e.g.
  // description, plot) and "reviews" last when there are reviews, so a text modality made
  // of review text only is visible as such. An item text field named "reviews" is still an
  // item text field: the review entry is the last one, present exactly when reviews > 0.
  std::vector<ModalityCoverage> text_sources;
  std::vector<FieldStats> fields;

  bool has_fixed_split = false;
  int64_t fixed_train = 0, fixed_valid = 0, fixed_test = 0;

  std::vector<std::string> notes;  // the load report's notes
};

// O(interactions log interactions) time (duplicate detection sorts the pairs), O(interactions)
// extra memory. Pure; safe to call concurrently on the same const Dataset.
DatasetStats ComputeStats(const Dataset& data);
DegreeStats ComputeDegreeStats(std::vector<int64_t> degrees);

// Keys: name, source, data_hash, users, items, interactions, density, has_rating,
// has_timestamp, time_span {min, max, days} (null without timestamps), rating_histogram
// [{value, count}] or [{lo, hi, count}], user_degree / item_degree {min, max, mean, median,
// p90, gini}, nonfinite_ratings, users_without_interactions, cold_items, duplicate_pairs,
// duplicate_rows, items_with_text, items_with_image, items_with_kg, kg_triples, kg_entities,
// kg_relations, reviews, missing_images, images {source, items, missing, not_listed,
// corrupt: null (not checked)} (null without an image source), coverage {text|image|kg:
// {items, item_fraction, interaction_fraction}}, text_sources [{name, kind ("item_text" or
// "reviews"), items, item_fraction, interaction_fraction}], fields [...], fixed_split {train,
// valid, test} (null if none), notes.
nlohmann::json StatsToJson(const DatasetStats& stats);
// Human-readable summary, one fact per line.
std::string StatsToText(const DatasetStats& stats);

}  // namespace recfuse::datasets
