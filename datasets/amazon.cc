// Amazon product reviews (McAuley et al., 2014/2018 JSON-lines dumps): one review object per
// line, plus an optional metadata file with one product object per line.
// Only strict JSON is accepted; the 2014 "loose" python-dict files must be converted first.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>

#include "datasets/load.h"
#include "datasets/parse_util.h"
#include "framework/error.h"
#include "framework/io.h"

namespace recfuse::datasets {

namespace fs = std::filesystem;
using framework::DataError;
using nlohmann::json;
using namespace internal;

namespace {

// Downloads come gzipped (reviews_X_5.json.gz, meta_X.json.gz): the extension before ".gz"
// decides.
bool IsJsonName(const std::string& f) {
  const std::string ext = fs::path(StripGz(f)).extension().string();
  return ext == ".json" || ext == ".jsonl";
}

bool IsMetaName(const std::string& f) { return f.rfind("meta", 0) == 0 && IsJsonName(f); }

// An option naming a file: as given if it exists, else relative to the dataset folder.
std::string ResolveOption(const std::string& value, const std::string& folder) {
  if (fs::path(value).is_absolute() || fs::exists(value)) return value;
  return (fs::path(folder) / value).string();
}

std::string OnlyFile(const std::vector<std::string>& candidates, const std::string& folder,
                     const std::string& what, const std::string& key) {
  if (candidates.size() == 1) return (fs::path(folder) / candidates[0]).string();
  std::string list;
  for (const auto& c : candidates) list += (list.empty() ? "" : ", ") + c;
  throw DataError(folder, 0, "several " + what + " files (" + list + "); set data." + key);
}

// Calls f(object, line) for every non-blank line of a JSON-lines file.
template <typename F>
void ForEachObject(const std::string& path, F&& f) {
  const std::string text = ReadInputFile(path);
  framework::LineCursor cursor(StripBom(text));
  std::string_view line;
  while (cursor.Next(&line)) {
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    json obj;
    try {
      obj = json::parse(line);
    } catch (const json::exception& e) {
      throw DataError(path, cursor.line_number(), std::string("malformed JSON: ") + e.what());
    }
    if (!obj.is_object()) throw DataError(path, cursor.line_number(), "expected a JSON object");
    f(obj, cursor.line_number());
  }
}

const std::string* StringField(const json& obj, const char* key, const std::string& path,
                               int64_t line) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  if (!it->is_string()) throw DataError(path, line, std::string("'") + key + "' is not a string");
  return &it->get_ref<const std::string&>();
}

std::string RequiredString(const json& obj, const char* key, const std::string& path,
                           int64_t line) {
  const std::string* s = StringField(obj, key, path, line);
  if (!s) throw DataError(path, line, std::string("missing '") + key + "'");
  if (s->empty()) throw DataError(path, line, std::string("empty '") + key + "'");
  return *s;
}

// A number, or a string holding one (some dumps quote "overall"); nullopt when absent.
std::optional<double> NumberField(const json& obj, const char* key, const std::string& path,
                                  int64_t line) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (it->is_number()) return it->get<double>();
  if (it->is_string()) {
    double v;
    if (framework::ParseDouble(it->get_ref<const std::string&>(), &v)) return v;
  }
  throw DataError(path, line, std::string("'") + key + "' is not a number: " + it->dump());
}

// Strings of a string, an array of strings, or nested arrays of them (2014 "categories").
void CollectStrings(const json& v, const std::string& key, const std::string& path, int64_t line,
                    std::vector<std::string>& out) {
  if (v.is_null()) return;
  if (v.is_string()) {
    if (!v.get_ref<const std::string&>().empty()) out.push_back(v.get<std::string>());
    return;
  }
  if (!v.is_array())
    throw DataError(path, line, "'" + key + "' is neither a string nor an array of strings");
  for (const auto& e : v) CollectStrings(e, key, path, line, out);
}

// A column whose presence is decided by the whole file: all rows or none must have it.
struct OptionalColumn {
  explicit OptionalColumn(const char* k) : key(k) {}
  const char* key;
  std::vector<double> values;
  int64_t first_missing = 0, first_present = 0;
  void Add(std::optional<double> v, int64_t line) {
    if (v) {
      if (!first_present) first_present = line;
    } else if (!first_missing) {
      first_missing = line;
    }
    values.push_back(v.value_or(0));
  }
  bool Present(const std::string& path) const {
    if (first_present && first_missing)
      throw DataError(path, first_missing,
                      std::string("missing '") + key + "' (line " + std::to_string(first_present) +
                          " has one; it must be on every review or none)");
    return first_present != 0;
  }
};

void LoadReviews(const std::string& path, Dataset& d) {
  std::vector<Index> users, items;
  OptionalColumn rating("overall"), time("unixReviewTime");
  ForEachObject(path, [&](const json& obj, int64_t line) {
    const Index u = d.users.GetOrAdd(RequiredString(obj, "reviewerID", path, line));
    const Index i = d.items.GetOrAdd(RequiredString(obj, "asin", path, line));
    auto r = NumberField(obj, "overall", path, line);
    if (r && !std::isfinite(*r)) throw DataError(path, line, "'overall' is not finite");
    rating.Add(r, line);
    auto t = NumberField(obj, "unixReviewTime", path, line);
    if (t && (!std::isfinite(*t) || *t < 0))
      throw DataError(path, line, "'unixReviewTime' is negative or not finite");
    time.Add(t, line);
    users.push_back(u);
    items.push_back(i);
    const std::string* summary = StringField(obj, "summary", path, line);
    const std::string* body = StringField(obj, "reviewText", path, line);
    Review rev;
    rev.user = u;
    rev.item = i;
    rev.timestamp = t.value_or(0);
    if (summary && !summary->empty()) rev.text = *summary;
    if (body && !body->empty()) {
      if (!rev.text.empty()) rev.text += '\n';
      rev.text += *body;
    }
    if (!rev.text.empty()) d.reviews.push_back(std::move(rev));
  });
  if (users.empty()) throw DataError(path, 1, "no interactions (no review objects)");
  auto& inter = d.interactions;
  inter.has_rating = rating.Present(path);
  inter.has_timestamp = time.Present(path);
  inter.Reserve(users.size());
  for (size_t k = 0; k < users.size(); ++k)
    inter.Add(users[k], items[k], static_cast<float>(rating.values[k]), time.values[k]);
}

void LoadMeta(const std::string& path, Dataset& d) {
  d.Finalize();
  d.item_text.push_back(
      {"description", std::vector<std::string>(static_cast<size_t>(d.num_items()))});
  TextField& text = d.item_text.back();
  for (const char* name : {"category", "brand"}) {
    d.item_categorical.emplace_back();
    d.item_categorical.back().name = name;
    d.item_categorical.back().per_row.resize(static_cast<size_t>(d.num_items()));
  }
  CategoricalField& category = d.item_categorical[d.item_categorical.size() - 2];
  CategoricalField& brand = d.item_categorical.back();
  std::vector<uint8_t> seen(static_cast<size_t>(d.num_items()), 0);
  int64_t without_reviews = 0, duplicates = 0;
  ForEachObject(path, [&](const json& obj, int64_t line) {
    const std::string asin = RequiredString(obj, "asin", path, line);
    const Index item = d.items.Find(asin);
    if (item == kNoId) {
      ++without_reviews;
      return;
    }
    if (seen[item]) {
      ++duplicates;
      return;
    }
    seen[item] = 1;
    std::vector<std::string> parts;
    if (const std::string* title = StringField(obj, "title", path, line); title && !title->empty())
      parts.push_back(*title);
    if (auto it = obj.find("description"); it != obj.end())
      CollectStrings(*it, "description", path, line, parts);
    std::string& desc = text.values[item];
    for (const auto& p : parts) {
      if (!desc.empty()) desc += '\n';
      desc += p;
    }
    std::vector<std::string> cats;
    for (const char* key : {"categories", "category"})
      if (auto it = obj.find(key); it != obj.end()) CollectStrings(*it, key, path, line, cats);
    for (const auto& c : cats) {
      const Index v = category.values.GetOrAdd(c);
      auto& row = category.per_row[item];
      if (std::find(row.begin(), row.end(), v) == row.end()) row.push_back(v);
    }
    if (const std::string* b = StringField(obj, "brand", path, line); b && !b->empty())
      brand.per_row[item].push_back(brand.values.GetOrAdd(*b));
  });
  // Metadata dumps cover whole categories while review files are often k-cores; products
  // nobody reviewed are not part of this dataset, but the user should know they were skipped.
  if (without_reviews)
    d.report.notes.push_back(BaseName(path) + ": skipped " + std::to_string(without_reviews) +
                             " metadata records of products without reviews");
  if (duplicates)
    d.report.notes.push_back(
        BaseName(path) + ": skipped " + std::to_string(duplicates) +
        " repeated metadata records (the first record of each product is used)");
}

}  // namespace

Dataset LoadAmazon(const std::string& path, const LoadOptions& options) {
  const auto& opts = options.format_options;
  CheckFormatKeys(opts, "amazon.", {"amazon.reviews", "amazon.meta", "amazon.images"});
  if (!fs::exists(path)) throw framework::IoError(path + ": no such file or directory");
  const bool is_dir = IsDirectory(path);
  const std::string folder = is_dir ? path : fs::path(AbsolutePath(path)).parent_path().string();

  std::string reviews;
  if (opts.Has("amazon.reviews")) {
    reviews = ResolveOption(opts.GetString("amazon.reviews", ""), folder);
  } else if (!is_dir) {
    reviews = path;
  } else {
    std::vector<std::string> found;
    for (const auto& f : ListFiles(folder))
      if (IsJsonName(f) && !IsMetaName(f)) found.push_back(f);
    if (found.empty())
      throw DataError(folder, 0, "no review file (*.json, *.jsonl or their .gz not starting with 'meta')");
    reviews = OnlyFile(found, folder, "review", "amazon.reviews");
  }
  if (!IsRegularFile(reviews)) throw framework::IoError(reviews + ": no such review file");

  std::string meta;
  if (opts.Has("amazon.meta")) {
    meta = ResolveOption(opts.GetString("amazon.meta", ""), folder);
    if (!IsRegularFile(meta)) throw framework::IoError(meta + ": no such metadata file");
  } else {
    std::vector<std::string> found;
    for (const auto& f : ListFiles(folder))
      if (IsMetaName(f) && AbsolutePath((fs::path(folder) / f).string()) != AbsolutePath(reviews))
        found.push_back(f);
    if (!found.empty()) meta = OnlyFile(found, folder, "metadata", "amazon.meta");
  }

  Dataset d;
  d.name = !options.name.empty() ? options.name
                                 : (is_dir ? BaseName(path) : fs::path(StripGz(path)).stem().string());
  d.source = path;
  LoadReviews(reviews, d);
  if (!meta.empty()) LoadMeta(meta, d);
  d.Finalize();

  std::string images = (fs::path(folder) / "images").string();
  if (opts.Has("amazon.images")) {
    images = ResolveOption(opts.GetString("amazon.images", ""), folder);
    if (!IsDirectory(images))
      throw framework::IoError(images + ": amazon.images is not a directory");
  }
  if (IsDirectory(images)) AttachImageFolder(d, images);
  return d;
}

}  // namespace recfuse::datasets
