#include "encoders/item_text.h"

#include <unordered_set>

#include "framework/error.h"

namespace recfuse::encoders {
namespace {

using datasets::Index;

uint64_t PairKey(Index u, Index i) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(u)) << 32) | static_cast<uint32_t>(i);
}

void CheckOptions(const TextSourceOptions& options) {
  if (options.max_tokens < 0 || options.max_chars < 0)
    throw framework::ConfigError("text caps must be >= 0 (max_tokens " + std::to_string(options.max_tokens) +
                                 ", max_chars " + std::to_string(options.max_chars) + ")");
}

void AppendText(std::string& out, std::string_view text) {
  if (text.empty()) return;
  if (!out.empty()) out += '\n';
  out.append(text);
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

}  // namespace

TextSource ParseTextSource(std::string_view name) {
  if (name == "description") return TextSource::kDescription;
  if (name == "reviews") return TextSource::kReviews;
  if (name == "both") return TextSource::kBoth;
  throw framework::ConfigError("unknown text source '" + std::string(name) +
                               "' (expected description, reviews or both)");
}

std::vector<uint8_t> TrainingReviewMask(const datasets::Dataset& data, const std::vector<int64_t>* train_rows) {
  std::vector<uint8_t> mask(data.reviews.size(), 0);
  if (train_rows == nullptr) {
    std::fill(mask.begin(), mask.end(), 1);
    return mask;
  }
  const auto& inter = data.interactions;
  std::unordered_set<uint64_t> pairs;
  pairs.reserve(train_rows->size());
  for (int64_t r : *train_rows) {
    if (r < 0 || static_cast<size_t>(r) >= inter.size())
      throw framework::UnknownIdError("training row " + std::to_string(r) + " out of range (" +
                                      std::to_string(inter.size()) + " interactions)");
    pairs.insert(PairKey(inter.user[r], inter.item[r]));
  }
  for (size_t k = 0; k < data.reviews.size(); ++k) {
    const auto& rv = data.reviews[k];
    mask[k] = rv.user != datasets::kNoId && rv.item != datasets::kNoId && pairs.count(PairKey(rv.user, rv.item)) > 0;
  }
  return mask;
}

std::string CapText(std::string_view text, const TextSourceOptions& options) {
  CheckOptions(options);
  std::string_view kept = text;
  if (options.max_tokens > 0) {
    int64_t tokens = 0;
    size_t i = 0;
    while (i < text.size()) {
      while (i < text.size() && IsSpace(text[i])) ++i;
      if (i == text.size()) break;
      if (tokens == options.max_tokens) {
        kept = text.substr(0, i);
        break;
      }
      ++tokens;
      while (i < text.size() && !IsSpace(text[i])) ++i;
    }
    while (!kept.empty() && IsSpace(kept.back())) kept.remove_suffix(1);
  }
  if (options.max_chars > 0 && kept.size() > static_cast<size_t>(options.max_chars)) {
    size_t n = static_cast<size_t>(options.max_chars);
    // Never split a UTF-8 sequence: back up over continuation bytes.
    while (n > 0 && (static_cast<unsigned char>(kept[n]) & 0xC0) == 0x80) --n;
    kept = kept.substr(0, n);
  }
  return std::string(kept);
}

std::vector<std::string> ItemTexts(const datasets::Dataset& data, const TextSourceOptions& options,
                                   const std::vector<int64_t>* train_rows) {
  CheckOptions(options);
  const size_t n = static_cast<size_t>(data.num_items());
  std::vector<std::string> texts(n);
  if (options.source != TextSource::kReviews)
    for (size_t i = 0; i < n; ++i) texts[i] = data.ItemDescription(static_cast<Index>(i));
  if (options.source != TextSource::kDescription) {
    const auto mask = TrainingReviewMask(data, train_rows);
    for (size_t k = 0; k < data.reviews.size(); ++k) {
      const auto& rv = data.reviews[k];
      if (!mask[k] || rv.item == datasets::kNoId) continue;
      if (static_cast<size_t>(rv.item) >= n)
        throw framework::UnknownIdError("review " + std::to_string(k) + " names item id " + std::to_string(rv.item) +
                                        " outside the item id space");
      AppendText(texts[rv.item], rv.text);
    }
  }
  if (options.max_tokens > 0 || options.max_chars > 0)
    for (auto& t : texts) t = CapText(t, options);
  return texts;
}

std::vector<std::string> UserTexts(const datasets::Dataset& data, const TextSourceOptions& options,
                                   const std::vector<int64_t>* train_rows) {
  CheckOptions(options);
  if (options.source == TextSource::kDescription)
    throw framework::ConfigError("user texts come from reviews: text source 'description' has none");
  const size_t n = static_cast<size_t>(data.num_users());
  std::vector<std::string> texts(n);
  const auto mask = TrainingReviewMask(data, train_rows);
  for (size_t k = 0; k < data.reviews.size(); ++k) {
    const auto& rv = data.reviews[k];
    if (!mask[k] || rv.user == datasets::kNoId) continue;
    if (static_cast<size_t>(rv.user) >= n)
      throw framework::UnknownIdError("review " + std::to_string(k) + " names user id " + std::to_string(rv.user) +
                                      " outside the user id space");
    AppendText(texts[rv.user], rv.text);
  }
  if (options.max_tokens > 0 || options.max_chars > 0)
    for (auto& t : texts) t = CapText(t, options);
  return texts;
}

}  // namespace recfuse::encoders
