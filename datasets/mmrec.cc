// MMRec's dataset layout (enoche/MMRec, src/configs/dataset/*.yaml): a folder with
// <name>.inter, tab-separated with the header `userID itemID rating timestamp x_label`
// (x_label 0/1/2 = train/valid/test), and the features beside it: image_feat.npy and
// text_feat.npy, row r = itemID r (the ids are already dense; i_id_mapping.csv maps them
// back to the original tokens).
#include <algorithm>
#include <filesystem>
#include <limits>

#include "datasets/load.h"
#include "datasets/parse_util.h"
#include "framework/config.h"
#include "framework/error.h"
#include "framework/io.h"

namespace recfuse::datasets {

namespace fs = std::filesystem;
using framework::DataError;
using namespace internal;

namespace {

// MMRec sizes its embedding tables max(itemID) + 1; ids far beyond the row count are a
// different file, not dense ids.
constexpr int64_t kMaxDenseId = 50'000'000;

std::vector<std::string_view> Tabs(std::string_view line) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  for (;;) {
    const size_t end = line.find('\t', pos);
    out.push_back(line.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos));
    if (end == std::string_view::npos) return out;
    pos = end + 1;
  }
}

int64_t DenseId(std::string_view s, const std::string& file, int64_t line, const char* what) {
  int64_t v;
  if (!framework::ParseInt64(s, &v) || v < 0)
    throw DataError(file, line,
                    std::string(what) + " '" + std::string(s).substr(0, 40) +
                        "' is not a non-negative integer (MMRec's .inter holds dense integer ids)");
  if (v > kMaxDenseId)
    throw DataError(file, line,
                    std::string(what) + " " + std::to_string(v) + " is above " + std::to_string(kMaxDenseId) +
                        ": MMRec ids are dense (0..n-1)");
  return v;
}

}  // namespace

namespace internal {

bool IsMmrecInterFile(const std::string& path) {
  if (!IsRegularFile(path)) return false;
  std::string line;
  try {
    line = ReadFirstLine(path);
  } catch (const framework::Error&) {
    return false;  // the atomic loader will report the unreadable file
  }
  const auto fields = Tabs(line);
  bool user = false, item = false, label = false;
  for (auto f : fields) {
    if (f.find(':') != std::string_view::npos) return false;  // RecBole's name:type header
    user = user || f == "userID";
    item = item || f == "itemID";
    label = label || f == "x_label";
  }
  return user && item && label;
}

}  // namespace internal

Dataset LoadMmrec(const std::string& path, const LoadOptions& options) {
  std::string inter;
  std::string dir;
  if (IsDirectory(path)) {
    dir = path;
    std::vector<std::string> found;
    for (const auto& f : ListFiles(dir)) {
      const std::string plain = StripGz(f);
      if (plain.size() > 6 && plain.compare(plain.size() - 6, 6, ".inter") == 0 &&
          IsMmrecInterFile((fs::path(dir) / f).string()) &&
          (options.name.empty() || plain == options.name + ".inter"))
        found.push_back(f);
    }
    if (found.empty())
      throw DataError(dir, 0,
                      "no MMRec interaction file (<name>.inter with a userID, itemID, x_label "
                      "header)" + (options.name.empty() ? std::string() : " named " + options.name + ".inter"));
    if (found.size() > 1) {
      // Prefer <folder>.inter, as MMRec's inter_file_name is '<dataset>.inter'.
      const std::string own = BaseName(dir) + ".inter";
      auto it = std::find_if(found.begin(), found.end(), [&](const std::string& f) { return StripGz(f) == own; });
      if (it == found.end()) {
        std::string list;
        for (const auto& f : found) list += (list.empty() ? "" : ", ") + f;
        throw DataError(dir, 0, "several MMRec .inter files (" + list + "); set data.name");
      }
      found = {*it};
    }
    inter = (fs::path(dir) / found[0]).string();
  } else {
    inter = path;
    const fs::path parent = fs::path(path).parent_path();
    dir = parent.empty() ? "." : parent.string();
  }

  const std::string text = ReadInputFile(inter);
  framework::LineCursor cursor(StripBom(text));
  std::string_view line;
  if (!cursor.Next(&line) || line.empty())
    throw DataError(inter, 1, "empty file: expected the header userID<TAB>itemID<TAB>rating<TAB>timestamp<TAB>x_label");
  const auto header = Tabs(line);
  int cu = -1, ci = -1, cr = -1, ct = -1, cx = -1;
  for (size_t k = 0; k < header.size(); ++k) {
    const std::string_view h = header[k];
    const int col = static_cast<int>(k);
    if (h == "userID") cu = col;
    if (h == "itemID") ci = col;
    if (h == "rating") cr = col;
    if (h == "timestamp") ct = col;
    if (h == "x_label") cx = col;
  }
  for (auto [col, name] : {std::pair{cu, "userID"}, std::pair{ci, "itemID"}, std::pair{cx, "x_label"}})
    if (col < 0)
      throw DataError(inter, 1, std::string("header has no '") + name + "' column (MMRec's .inter header is "
                                "userID, itemID, rating, timestamp, x_label, tab-separated)");

  struct Row {
    int64_t user, item;
    float rating;
    double ts;
    uint8_t part;
  };
  std::vector<Row> rows;
  rows.reserve(CountLines(text));
  int64_t max_item = -1;
  const size_t n = header.size();
  while (cursor.Next(&line)) {
    if (line.empty()) continue;
    const int64_t ln = cursor.line_number();
    const auto f = Tabs(line);
    if (f.size() != n)
      throw DataError(inter, ln,
                      "expected " + std::to_string(n) + " tab-separated fields (per the header), got " +
                          std::to_string(f.size()));
    Row r;
    r.user = DenseId(f[cu], inter, ln, "userID");
    r.item = DenseId(f[ci], inter, ln, "itemID");
    r.rating = cr >= 0 ? ParseRating(f[cr], inter, ln) : 1.0f;
    r.ts = ct >= 0 ? ParseTimestamp(f[ct], inter, ln) : 0.0;
    const std::string_view x = f[cx];
    if (x != "0" && x != "1" && x != "2")
      throw DataError(inter, ln,
                      "x_label '" + std::string(x).substr(0, 40) + "' must be 0 (train), 1 (valid) or 2 (test)");
    r.part = static_cast<uint8_t>(x[0] - '0');
    max_item = std::max(max_item, r.item);
    rows.push_back(r);
  }
  if (rows.empty()) throw DataError(inter, 2, "no interactions (the file has a header only)");

  Dataset d;
  d.name = !options.name.empty() ? options.name : fs::path(StripGz(inter)).stem().string();
  d.source = path;
  // Item index == itemID == row of image_feat.npy / text_feat.npy, as MMRec sizes its tables
  // max(itemID) + 1: ids without interactions stay in the catalogue as items.
  d.items.Reserve(static_cast<size_t>(max_item + 1));
  for (int64_t i = 0; i <= max_item; ++i) d.items.GetOrAdd(std::to_string(i));
  // Users in increasing id order (not first-seen), so ids match MMRec's too when dense.
  std::vector<int64_t> users;
  users.reserve(rows.size());
  for (const auto& r : rows) users.push_back(r.user);
  std::sort(users.begin(), users.end());
  users.erase(std::unique(users.begin(), users.end()), users.end());
  for (int64_t u : users) d.users.GetOrAdd(std::to_string(u));

  auto& inter_cols = d.interactions;
  inter_cols.has_rating = cr >= 0;
  inter_cols.has_timestamp = ct >= 0;
  inter_cols.Reserve(rows.size());
  d.fixed_split.reserve(rows.size());
  int64_t counts[3] = {0, 0, 0};
  std::vector<uint8_t> in_train(users.size(), 0);
  for (const auto& r : rows) {
    const Index u = d.users.Find(std::to_string(r.user));
    inter_cols.Add(u, static_cast<Index>(r.item), r.rating, r.ts);
    d.fixed_split.push_back(r.part);
    ++counts[r.part];
    if (r.part == 0) in_train[static_cast<size_t>(u)] = 1;
  }
  d.report.notes.push_back("fixed split from " + BaseName(inter) + " (x_label): " + std::to_string(counts[0]) +
                           " / " + std::to_string(counts[1]) + " / " + std::to_string(counts[2]) +
                           " interactions");
  int64_t cold = 0;
  for (size_t k = 0; k < rows.size(); ++k)
    if (d.fixed_split[k] != 0 && !in_train[static_cast<size_t>(inter_cols.user[k])]) ++cold;
  if (cold > 0)
    d.report.notes.push_back(std::to_string(cold) +
                             " valid/test interactions are by users with no training interaction (MMRec's "
                             "filter_out_cod_start_users drops them; recfuse keeps and evaluates them as cold users)");
  for (const char* feat : {"image_feat.npy", "text_feat.npy"})
    if (const std::string f = FindPlainOrGz((fs::path(dir) / feat).string()); !f.empty())
      d.report.notes.push_back(BaseName(f) + " beside it: use it as a modality with the spec features:npy:" +
                               BaseName(f) + " (relative paths resolve against the dataset folder)");
  d.Finalize();
  return d;
}

}  // namespace recfuse::datasets
