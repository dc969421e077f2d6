// Frozen item features: a modality turned into one vector per item, computed once and cached
// in HDF5 keyed by (data hash, encoder spec, training rows). Torch-free on purpose: models
// that only consume frozen features (VBPR-style) need no torch headers to read them.
//
// Encoder specs (`recfuse encode --encoder SPEC`):
//   image:handcrafted        HSV colour histogram + HOG (OpenCV)
//   image:onnx:PATH          a frozen pretrained network loaded through OpenCV DNN
//   text:tfidf-svd:DIM[:SRC] TF-IDF over training-split texts -> truncated SVD (Eigen); SRC =
//                           description, reviews or both (default)
//   kg:transe:DIM, kg:transr:DIM   knowledge-graph embeddings reaching items through links
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <string>
#include <vector>

#include "datasets/dataset.h"

namespace recfuse::encoders {

using FeatureMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct ItemFeatures {
  std::string spec;              // encoder spec that produced them
  FeatureMatrix values;          // num_items x dim, dataset item ids; zero rows where absent
  std::vector<uint8_t> present;  // per item: 1 if the item had the modality (mask)
  int64_t fallbacks = 0;         // items whose content was missing or corrupt (counted, not fatal)
  std::vector<std::string> notes;
  // Where the values came from, as key -> value pairs (extractor, package@version or file
  // sha256, layer, input size, normalisation, pooling, text fields, ...): written to the
  // HDF5 file and, through the models, to every cell's run.json.
  std::vector<std::pair<std::string, std::string>> provenance;
};

struct EncodeContext {
  // Rows of data.interactions in the training split. Encoders that learn from interactions
  // or reviews (TF-IDF vocabulary, per-item review text, KG training) use only these, so
  // test reviews never leak into features. Null = all rows (no split).
  const std::vector<int64_t>* train_rows = nullptr;
  uint64_t seed = 0;
  int threads = 1;
  std::string cache_dir;  // "" = no caching
};

// Computes (or loads from cache) the features for `spec`. Throws ConfigError for an
// unknown or malformed spec, MissingModalityError when the dataset lacks the modality.
ItemFeatures ComputeFrozenFeatures(const datasets::Dataset& data, const std::string& spec,
                                   const EncodeContext& ctx);

// HDF5 layout: /features float32 [items x dim], /item_tokens (strings), /present uint8,
// attributes spec, data_hash, fallbacks and provenance (a JSON array of [key, value] pairs).
void WriteFeaturesH5(const std::string& path, const datasets::Dataset& data, const ItemFeatures& f);
// Reads a file written by WriteFeaturesH5 (or by another tool with the same layout) and maps
// its rows onto `data`'s item ids by token; items absent from the file are marked absent.
ItemFeatures ReadFeaturesH5(const std::string& path, const datasets::Dataset& data);

// Linear probe: how well features predict integer labels (e.g. the synthetic world's latent
// cluster). Ridge-regularised one-vs-rest least squares fit on a seeded train part of the
// labelled rows, accuracy on the rest. Used by tests to assert an encoder learned something.
double LinearProbeAccuracy(const FeatureMatrix& x, const std::vector<int>& labels, double ridge,
                           double train_fraction, uint64_t seed);

}  // namespace recfuse::encoders
