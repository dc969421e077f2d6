// Per-item and per-user text assembly for text encoders: item descriptions and/or reviews,
// where reviews count only if their (user, item) pair is a training interaction, so that
// test reviews never leak into features or vocabularies. Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "datasets/dataset.h"

namespace recfuse::encoders {

enum class TextSource { kDescription, kReviews, kBoth };

// "description" | "reviews" | "both"; anything else -> ConfigError naming the value.
TextSource ParseTextSource(std::string_view name);

struct TextSourceOptions {
  TextSource source = TextSource::kBoth;
  // Caps applied to each assembled text, tokens first (whitespace-separated words), then
  // characters (cut back to a UTF-8 boundary). 0 = no cap; negative -> ConfigError.
  int64_t max_tokens = 0;
  int64_t max_chars = 0;
};

// Per review of data.reviews: 1 if it may be used for training, i.e. its (user, item) pair
// occurs among data.interactions rows `train_rows` (null = every row, no split). Reviews
// without a known user cannot be matched to a training row and are excluded when a split
// is given. Rows out of range -> UnknownIdError.
std::vector<uint8_t> TrainingReviewMask(const datasets::Dataset& data,
                                        const std::vector<int64_t>* train_rows);

// One text per item id (size num_items): its description fields (ItemDescription) and/or
// its training reviews, joined by newlines in data.reviews order; "" when it has none.
std::vector<std::string> ItemTexts(const datasets::Dataset& data, const TextSourceOptions& options,
                                   const std::vector<int64_t>* train_rows);
// One text per user id (size num_users): the training reviews the user wrote (the source
// option is ignored beyond requiring reviews: users have no descriptions).
std::vector<std::string> UserTexts(const datasets::Dataset& data, const TextSourceOptions& options,
                                   const std::vector<int64_t>* train_rows);

// Applies the caps of `options` to `text`.
std::string CapText(std::string_view text, const TextSourceOptions& options);

}  // namespace recfuse::encoders
