// Generic delimited text (CSV/TSV) with a user-given column mapping. Quoting follows
// RFC 4180: a field may be enclosed in double quotes, inside which separators and line
// breaks are literal and "" stands for one quote.
#include <algorithm>
#include <cstring>
#include <deque>
#include <filesystem>

#include "datasets/load.h"
#include "datasets/parse_util.h"
#include "framework/error.h"
#include "framework/io.h"

namespace recfuse::datasets {

namespace fs = std::filesystem;
using framework::ConfigError;
using framework::DataError;
using namespace internal;

namespace {

class CsvReader {
 public:
  CsvReader(std::string_view text, char sep, std::string file)
      : text_(text), sep_(sep), file_(std::move(file)) {}

  // Reads the next non-blank record. Views point into the text or into storage owned by
  // the reader that stays valid until the next call.
  bool Next(std::vector<std::string_view>* fields) {
    fields->clear();
    unescaped_.clear();
    while (pos_ < text_.size() && (text_[pos_] == '\n' || text_[pos_] == '\r')) {
      if (text_[pos_] == '\n') ++line_;
      ++pos_;
    }
    if (pos_ >= text_.size()) return false;
    record_line_ = line_;
    for (;;) {
      std::string_view field;
      if (text_[pos_] == '"') {
        field = Quoted();
      } else {
        size_t end = pos_;
        while (end < text_.size() && text_[end] != sep_ && text_[end] != '\n') ++end;
        size_t stop = end;
        if (stop > pos_ && (end == text_.size() || text_[end] == '\n') && text_[stop - 1] == '\r')
          --stop;
        field = text_.substr(pos_, stop - pos_);
        pos_ = end;
      }
      fields->push_back(field);
      if (pos_ >= text_.size()) return true;
      if (text_[pos_] == '\n') {
        ++pos_;
        ++line_;
        return true;
      }
      ++pos_;                      // separator
      if (pos_ >= text_.size()) {  // a trailing separator ends with an empty field
        fields->push_back({});
        return true;
      }
    }
  }
  // 1-based line where the last record returned by Next() started.
  int64_t line() const { return record_line_; }

 private:
  std::string_view Quoted() {
    const int64_t start_line = line_;
    ++pos_;  // opening quote
    const size_t begin = pos_;
    std::string* buf = nullptr;
    size_t copied = begin;  // text_[begin, copied) is already in buf
    for (;;) {
      const void* q = std::memchr(text_.data() + pos_, '"', text_.size() - pos_);
      if (!q) throw DataError(file_, start_line, "unterminated quoted field");
      const size_t qpos = static_cast<size_t>(static_cast<const char*>(q) - text_.data());
      line_ += std::count(text_.begin() + static_cast<ptrdiff_t>(pos_),
                          text_.begin() + static_cast<ptrdiff_t>(qpos), '\n');
      if (qpos + 1 < text_.size() && text_[qpos + 1] == '"') {  // "" -> "
        if (!buf) buf = &unescaped_.emplace_back();
        buf->append(text_.substr(copied, qpos + 1 - copied));
        copied = pos_ = qpos + 2;
        continue;
      }
      pos_ = qpos + 1;
      if (pos_ < text_.size() && text_[pos_] == '\r') ++pos_;
      if (pos_ < text_.size() && text_[pos_] != sep_ && text_[pos_] != '\n')
        throw DataError(file_, line_, "unexpected character after a closing quote");
      if (!buf) return text_.substr(begin, qpos - begin);
      buf->append(text_.substr(copied, qpos - copied));
      return *buf;
    }
  }

  std::string_view text_;
  char sep_;
  std::string file_;
  size_t pos_ = 0;
  int64_t line_ = 1;
  int64_t record_line_ = 0;
  std::deque<std::string> unescaped_;  // deque: growing it never moves earlier strings
};

char ParseSep(const std::string& s) {
  if (s == "\\t" || s == "tab" || s == "\t") return '\t';
  if (s.size() != 1 || s[0] == '"' || s[0] == '\n' || s[0] == '\r')
    throw ConfigError("csv.sep='" + s +
                      "' must be a single character other than a quote or newline");
  return s[0];
}

}  // namespace

Dataset LoadCsv(const std::string& path, const LoadOptions& options) {
  const auto& opts = options.format_options;
  CheckFormatKeys(opts, "csv.",
                  {"csv.user", "csv.item", "csv.rating", "csv.timestamp", "csv.sep", "csv.header"});
  for (const char* key : {"csv.user", "csv.item"})
    if (!opts.Has(key))
      throw ConfigError(std::string("the csv format needs data.") + key +
                        " (the name of the column holding the " + (key + 4) + " ids)");
  const char sep = ParseSep(opts.GetString("csv.sep", ","));
  const bool header = opts.GetBool("csv.header", true);

  const std::string text = ReadInputFile(path);
  CsvReader reader(StripBom(text), sep, path);
  std::vector<std::string_view> fields;
  if (!reader.Next(&fields)) throw DataError(path, 1, "empty file: no header and no interactions");
  const size_t ncols = fields.size();

  auto column = [&](const char* key) -> int {
    if (!opts.Has(key)) return -1;
    const std::string want = opts.GetString(key, "");
    if (!header) {
      int64_t idx;
      if (!framework::ParseInt64(want, &idx) || idx < 0)
        throw ConfigError(std::string(key) + "='" + want +
                          "' must be a 0-based column index because csv.header=false");
      if (idx >= static_cast<int64_t>(ncols))
        throw DataError(path, reader.line(),
                        std::string(key) + "=" + want + " but the first row has only " +
                            std::to_string(ncols) + " columns");
      return static_cast<int>(idx);
    }
    for (size_t k = 0; k < ncols; ++k)
      if (framework::Trim(fields[k]) == want) return static_cast<int>(k);
    std::string names;
    for (const auto& f : fields) names += (names.empty() ? "" : ", ") + std::string(f);
    throw DataError(path, 1, "missing column '" + want + "'; header has: " + names);
  };
  const int cu = column("csv.user"), ci = column("csv.item"), cr = column("csv.rating"),
            ct = column("csv.timestamp");

  Dataset d;
  d.name = options.name.empty() ? fs::path(StripGz(path)).stem().string() : options.name;
  d.source = path;
  auto& inter = d.interactions;
  inter.has_rating = cr >= 0;
  inter.has_timestamp = ct >= 0;
  inter.Reserve(CountLines(text));
  auto add = [&]() {
    const int64_t line = reader.line();
    if (fields.size() != ncols)
      throw DataError(
          path, line,
          "expected " + std::to_string(ncols) + " fields, got " + std::to_string(fields.size()));
    RequireToken(fields[cu], path, line, "user");
    RequireToken(fields[ci], path, line, "item");
    const float r = cr >= 0 ? ParseRating(fields[cr], path, line) : 1.0f;
    const double t = ct >= 0 ? ParseTimestamp(fields[ct], path, line) : 0.0;
    inter.Add(d.users.GetOrAdd(fields[cu]), d.items.GetOrAdd(fields[ci]), r, t);
  };
  if (!header) add();
  while (reader.Next(&fields)) add();
  if (inter.empty()) throw DataError(path, 2, "no interactions (the file has a header only)");
  d.Finalize();
  return d;
}

}  // namespace recfuse::datasets
