// Frozen text baseline, spec "text:tfidf-svd:DIM": latent semantic analysis of each item's
// description + training reviews. Torch-free (Eigen).
//
// Pipeline: lower-case word tokens -> vocabulary and IDF from the training-split item texts
// (ItemTexts with the EncodeContext's training rows, so test reviews never contribute) ->
// sublinear tf (1 + ln tf) x smooth idf (ln((1 + n) / (1 + df)) + 1), rows L2-normalised ->
// randomized truncated SVD (Halko, Martinsson & Tropp 2011) to DIM dimensions, each item
// represented by U_k * Sigma_k (its coordinates on the top singular directions).
#pragma once

#include <Eigen/SparseCore>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "datasets/dataset.h"
#include "encoders/features.h"
#include "encoders/item_text.h"

namespace recfuse::encoders {

// Word tokens of `text`: maximal runs of ASCII letters/digits or non-ASCII bytes (so UTF-8
// words stay whole), ASCII lower-cased. Everything else separates tokens.
std::vector<std::string> WordTokens(std::string_view text);

struct TfidfVocabulary {
  std::vector<std::string> terms;                   // term id -> word
  std::unordered_map<std::string, int32_t> index;   // word -> term id
  std::vector<double> idf;                          // per term id
  int64_t documents = 0;                            // non-empty documents it was fitted on
};

// Vocabulary (terms sorted by decreasing document frequency, ties by word, so ids do not
// depend on document order) and smooth IDF over `docs`; terms in fewer than min_df docs
// are dropped.
TfidfVocabulary FitTfidf(const std::vector<std::string>& docs, int64_t min_df = 1);

using SparseRowMatrix = Eigen::SparseMatrix<double, Eigen::RowMajor, int64_t>;

// docs.size() x terms matrix of sublinear tf-idf, rows L2-normalised (a doc without known
// terms is an empty row). Words not in the vocabulary are ignored. Rows on `threads` threads.
SparseRowMatrix TfidfMatrix(const TfidfVocabulary& vocab, const std::vector<std::string>& docs, int threads = 1);

struct RandomizedSvdOptions {
  int64_t oversample = 10;  // extra random directions beyond rank
  int power_iterations = 3;
  uint64_t seed = 0;
  int threads = 1;
};

// Top-`rank` left singular vectors scaled by their singular values (a.rows() x rank, in
// decreasing singular value order, each column's sign fixed so its largest-magnitude entry
// is positive) and the singular values. Randomized range finder with re-orthonormalised
// power iterations; memory O((rows + cols) * (rank + oversample)) beyond `a`. Same seed
// gives the same result for any thread count. rank must be in 1..min(rows, cols), else
// ConfigError.
Eigen::MatrixXd RandomizedSvdProjection(const SparseRowMatrix& a, int64_t rank, const RandomizedSvdOptions& options,
                                        Eigen::VectorXd* singular_values = nullptr);

// The "text:tfidf-svd:DIM[:SOURCE]" features: values num_items x dim (dataset item ids), present = 1
// for items with at least one word in their training-split text, zero rows and fallbacks
// counted otherwise. Uses ctx.train_rows, ctx.seed and ctx.threads (not ctx.cache_dir).
// No item text at all -> MissingModalityError; dim < 1 or above the rank the texts allow
// (min(items with text, vocabulary size)) -> ConfigError.
// `source` picks the text (spec suffix ":description", ":reviews", ":both"; none = both).
// Content models meant to serve cold items want "description": reviews exist only for
// items with training interactions, so with "both" a cold item's text looks systematically
// unlike every warm item's (it lacks the review vocabulary), a shift the model never saw.
ItemFeatures TfidfSvdFeatures(const datasets::Dataset& data, int dim, const EncodeContext& ctx,
                              TextSource source = TextSource::kBoth);

}  // namespace recfuse::encoders
