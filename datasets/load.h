// Loading datasets from the formats researchers already have, into datasets::Dataset.
//
// Every loader stops at the first malformed record with DataError("file:line: reason").
// Missing image files are counted in Dataset::report.missing_images, not fatal.
#pragma once

#include <limits>
#include <string>
#include <vector>

#include "datasets/dataset.h"
#include "framework/config.h"

namespace recfuse::datasets {

// Post-load filters, applied in this order: rating threshold, dedup, k-core. Each appends
// a note to Dataset::report saying how many records it removed. When a filter removed
// anything, users/items left with no interaction are dropped (content-only cold items too,
// as RecBole does) and ids are re-densified; with no removal, ids are left untouched.
struct FilterOptions {
  // Keep interactions with rating >= threshold (implicit feedback); NaN = keep all.
  double rating_threshold = std::numeric_limits<double>::quiet_NaN();
  // "keep" (all duplicates), "first" or "last" (by timestamp, then file order).
  std::string dedup = "keep";
  int min_user_interactions = 0;  // k-core: iterate until every user and item meets its bound
  int min_item_interactions = 0;
};

struct LoadOptions {
  // "auto" (detect from the path), "atomic", "movielens", "amazon", "csv", "mmrec".
  std::string format = "auto";
  // Dataset name for atomic files (the <name> in <name>.inter); default: the folder name.
  std::string name;
  // Folder with side information for a split-only folder (RecBole's <name>.train.inter...):
  // default: auto-detected sibling folder named <name>.
  std::string side_info_dir;
  // CSV: column mapping and separator, e.g. csv.user=userId, csv.item=movieId,
  // csv.rating=rating, csv.timestamp=timestamp, csv.sep=",", csv.header=true.
  // Amazon: amazon.reviews=FILE, amazon.meta=FILE, amazon.images=DIR.
  framework::Config format_options;
  FilterOptions filters;
};

// The options LoadOptions understands from `--set data.*` keys (format, name, filters, csv.*).
const std::vector<framework::ParamSpec>& LoadParamSpecs();
// Builds LoadOptions from loader keys with the "data." prefix already stripped (the CLI and
// experiment files pass config.Subset("data.")), validated against LoadParamSpecs().
LoadOptions LoadOptionsFromConfig(const framework::Config& config);

// Loads `path` (a folder or a file) in the given or detected format, then applies filters.
Dataset LoadDataset(const std::string& path, const LoadOptions& options = {});

// Individual loaders (LoadDataset dispatches to these).
Dataset LoadAtomic(const std::string& dir, const LoadOptions& options);
Dataset LoadMovieLens(const std::string& dir, const LoadOptions& options);
Dataset LoadAmazon(const std::string& path, const LoadOptions& options);
Dataset LoadCsv(const std::string& path, const LoadOptions& options);
// MMRec's layout: <name>.inter (userID itemID rating timestamp x_label) read as a fixed
// split, item index == itemID so image_feat.npy / text_feat.npy rows line up.
Dataset LoadMmrec(const std::string& path, const LoadOptions& options);

void ApplyFilters(Dataset& data, const FilterOptions& filters);

}  // namespace recfuse::datasets
