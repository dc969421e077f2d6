// GroupLens MovieLens raw formats: 100K (u.data, u.item, u.genre, u.user) and
// 1M/10M (ratings.dat, movies.dat, users.dat with "::" separators).
// Format reference: the README files shipped with each MovieLens archive.
#include <filesystem>
#include <limits>
#include <utility>

#include "datasets/load.h"
#include "datasets/parse_util.h"
#include "framework/error.h"
#include "framework/io.h"

namespace recfuse::datasets {

namespace fs = std::filesystem;
using framework::DataError;
using namespace internal;

namespace {

std::string Path(const std::string& dir, const char* file) {
  return (fs::path(dir) / file).string();
}

// Splits on a (possibly multi-character) separator into at most max_fields views; the last
// keeps the rest. Returns the number of fields found.
size_t SplitOn(std::string_view line, std::string_view sep, std::string_view* fields,
               size_t max_fields) {
  size_t n = 0, start = 0;
  while (n + 1 < max_fields) {
    const size_t pos = line.find(sep, start);
    if (pos == std::string_view::npos) break;
    fields[n++] = line.substr(start, pos - start);
    start = pos + sep.size();
  }
  fields[n++] = line.substr(start);
  return n;
}

size_t CountFields(std::string_view line, std::string_view sep) {
  size_t n = 1;
  for (size_t pos = line.find(sep); pos != std::string_view::npos;
       pos = line.find(sep, pos + sep.size()))
    ++n;
  return n;
}

// Calls f(fields, line) for every non-blank line of `path`, which must have exactly
// `expected` fields separated by `sep`.
template <typename F>
void ForEachRecordIn(const std::string& path, std::string_view text, std::string_view sep,
                     size_t expected, F&& f) {
  framework::LineCursor cursor(StripBom(text));
  std::vector<std::string_view> buf(expected + 1);
  std::string_view line;
  while (cursor.Next(&line)) {
    if (line.empty()) continue;
    const size_t got = SplitOn(line, sep, buf.data(), expected + 1);
    if (got != expected)
      throw DataError(path, cursor.line_number(),
                      "expected " + std::to_string(expected) + " '" + std::string(sep) +
                          "'-separated fields, got " + std::to_string(CountFields(line, sep)));
    f(buf.data(), cursor.line_number());
  }
}

template <typename F>
void ForEachRecord(const std::string& path, std::string_view sep, size_t expected, F&& f) {
  const std::string text = framework::ReadFile(path);
  ForEachRecordIn(path, text, sep, expected, std::forward<F>(f));
}

void LoadRatings(const std::string& path, std::string_view sep, Dataset& d) {
  auto& inter = d.interactions;
  inter.has_rating = true;
  inter.has_timestamp = true;
  const std::string text = framework::ReadFile(path);
  inter.Reserve(CountLines(text));
  ForEachRecordIn(path, text, sep, 4, [&](const std::string_view* f, int64_t line) {
    RequireToken(f[0], path, line, "user id");
    RequireToken(f[1], path, line, "item id");
    const float r = ParseRating(f[2], path, line);
    const double t = ParseTimestamp(f[3], path, line);
    inter.Add(d.users.GetOrAdd(f[0]), d.items.GetOrAdd(f[1]), r, t);
  });
  if (inter.empty()) throw DataError(path, 1, "no interactions (empty file)");
}

// Items or users may appear once only: a second record would silently replace the first.
void CheckUnique(std::vector<int64_t>& first_line, Index id, const std::string& path, int64_t line,
                 std::string_view token) {
  if (first_line.size() <= static_cast<size_t>(id))
    first_line.resize(static_cast<size_t>(id) + 1, 0);
  if (first_line[id] != 0)
    throw DataError(path, line,
                    "duplicate id '" + std::string(token) + "' (first on line " +
                        std::to_string(first_line[id]) + ")");
  first_line[id] = line;
}

template <typename T>
T& Grow(std::vector<T>& v, Index id, const T& fill = T()) {
  if (v.size() <= static_cast<size_t>(id)) v.resize(static_cast<size_t>(id) + 1, fill);
  return v[id];
}

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// u.genre: "name|index" lines giving the names of u.item's genre flag columns in order.
std::vector<std::string> LoadGenreNames(const std::string& path) {
  std::vector<std::string> names;
  ForEachRecord(path, "|", 2, [&](const std::string_view* f, int64_t line) {
    int64_t idx;
    if (!framework::ParseInt64(f[1], &idx) || idx != static_cast<int64_t>(names.size()))
      throw DataError(path, line,
                      "expected genre index " + std::to_string(names.size()) + ", got '" +
                          std::string(f[1]) + "'");
    names.emplace_back(f[0]);
  });
  return names;
}

void LoadItems100k(const std::string& dir, Dataset& d) {
  const std::string path = Path(dir, "u.item");
  std::vector<std::string> genres;
  if (IsRegularFile(Path(dir, "u.genre"))) genres = LoadGenreNames(Path(dir, "u.genre"));
  const size_t num_genres = genres.empty() ? 19 : genres.size();
  if (genres.empty())
    for (size_t g = 0; g < num_genres; ++g) genres.push_back(std::to_string(g));

  d.item_text.push_back({"title", {}});
  d.item_categorical.emplace_back();
  d.item_categorical.back().name = "genre";
  TextField& title = d.item_text.back();
  CategoricalField& genre = d.item_categorical.back();
  std::vector<int64_t> first_line;
  // movie id | title | release date | video release date | IMDb URL | genre flags...
  ForEachRecord(path, "|", 5 + num_genres, [&](const std::string_view* f, int64_t line) {
    RequireToken(f[0], path, line, "movie id");
    const Index item = d.items.GetOrAdd(f[0]);
    CheckUnique(first_line, item, path, line, f[0]);
    Grow(title.values, item).assign(f[1]);
    auto& row = Grow(genre.per_row, item);
    for (size_t g = 0; g < num_genres; ++g) {
      const std::string_view flag = f[5 + g];
      if (flag == "1")
        row.push_back(genre.values.GetOrAdd(genres[g]));
      else if (flag != "0")
        throw DataError(
            path, line,
            "genre flag " + std::to_string(g) + " is '" + std::string(flag) + "', expected 0 or 1");
    }
  });
}

Index AddUserRow(Dataset& d, std::vector<int64_t>& first_line, std::string_view id,
                 const std::string& path, int64_t line) {
  RequireToken(id, path, line, "user id");
  const Index user = d.users.GetOrAdd(id);
  CheckUnique(first_line, user, path, line, id);
  return user;
}

// Users: age numeric; gender, occupation and zip code categorical.
void LoadUsers(const std::string& path, std::string_view sep, int age_col, int gender_col,
               int occ_col, int zip_col, Dataset& d) {
  d.user_numeric.push_back({"age", {}});
  for (const char* name : {"gender", "occupation", "zip_code"}) {
    d.user_categorical.emplace_back();
    d.user_categorical.back().name = name;
  }
  NumericField& age = d.user_numeric.back();
  CategoricalField* cats = &d.user_categorical[d.user_categorical.size() - 3];
  const int cols[3] = {gender_col, occ_col, zip_col};
  std::vector<int64_t> first_line;
  ForEachRecord(path, sep, 5, [&](const std::string_view* f, int64_t line) {
    const Index user = AddUserRow(d, first_line, f[0], path, line);
    Grow(age.per_row, user, kNaN) = ParseOptionalFloat(f[age_col], path, line, "age");
    for (int c = 0; c < 3; ++c) {
      auto& row = Grow(cats[c].per_row, user);
      if (!f[cols[c]].empty()) row.push_back(cats[c].values.GetOrAdd(f[cols[c]]));
    }
  });
}

void LoadMovies1m(const std::string& path, Dataset& d) {
  d.item_text.push_back({"title", {}});
  d.item_categorical.emplace_back();
  d.item_categorical.back().name = "genre";
  TextField& title = d.item_text.back();
  CategoricalField& genre = d.item_categorical.back();
  std::vector<int64_t> first_line;
  const std::string text = framework::ReadFile(path);
  framework::LineCursor cursor(StripBom(text));
  std::string_view line;
  while (cursor.Next(&line)) {
    if (line.empty()) continue;
    // MovieID::Title::Genres; split at the first and last separator so that a title holding
    // "::" still parses.
    const size_t a = line.find("::");
    const size_t b = line.rfind("::");
    if (a == std::string_view::npos || a == b)
      throw DataError(path, cursor.line_number(),
                      "expected 3 '::'-separated fields (MovieID::Title::Genres), got " +
                          std::to_string(CountFields(line, "::")));
    const std::string_view id = line.substr(0, a);
    RequireToken(id, path, cursor.line_number(), "movie id");
    const Index item = d.items.GetOrAdd(id);
    CheckUnique(first_line, item, path, cursor.line_number(), id);
    Grow(title.values, item).assign(line.substr(a + 2, b - a - 2));
    auto& row = Grow(genre.per_row, item);
    const std::string_view g = line.substr(b + 2);
    if (g != "(no genres listed)") AddTokenSeq(g, '|', genre.values, row);
  }
}

}  // namespace

Dataset LoadMovieLens(const std::string& dir, const LoadOptions& options) {
  if (!IsDirectory(dir)) throw framework::IoError(dir + ": not a directory");
  Dataset d;
  d.name = options.name.empty() ? BaseName(dir) : options.name;
  d.source = dir;
  if (IsRegularFile(Path(dir, "u.data"))) {
    LoadRatings(Path(dir, "u.data"), "\t", d);
    if (IsRegularFile(Path(dir, "u.item"))) LoadItems100k(dir, d);
    // user id | age | gender | occupation | zip code
    if (IsRegularFile(Path(dir, "u.user"))) LoadUsers(Path(dir, "u.user"), "|", 1, 2, 3, 4, d);
  } else if (IsRegularFile(Path(dir, "ratings.dat"))) {
    LoadRatings(Path(dir, "ratings.dat"), "::", d);
    if (IsRegularFile(Path(dir, "movies.dat"))) LoadMovies1m(Path(dir, "movies.dat"), d);
    // UserID::Gender::Age::Occupation::Zip-code (age and occupation are codes)
    if (IsRegularFile(Path(dir, "users.dat")))
      LoadUsers(Path(dir, "users.dat"), "::", 2, 1, 3, 4, d);
  } else {
    throw DataError(dir, 0,
                    "not a MovieLens folder: neither u.data (100K) nor ratings.dat (1M/10M)");
  }
  d.Finalize();
  return d;
}

}  // namespace recfuse::datasets
