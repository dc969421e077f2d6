#include "encoders/feature_import.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>
#include <tuple>

#include "datasets/feature_files.h"
#include "datasets/parse_util.h"
#include "framework/error.h"

namespace recfuse::encoders {

namespace fs = std::filesystem;
using datasets::Index;
using datasets::kNoId;
using framework::DataError;

namespace {

constexpr char kPrefix[] = "features:";
constexpr char kKnown[] =
    "features:npy:PATH, features:ducho:DIR, features:atomic:PATH[#FIELD], features:csv:PATH, features:h5:PATH";

std::string Absolute(const std::string& p) { return datasets::internal::AbsolutePath(p); }

// PATH as given when it exists, else relative to the dataset's folder (see the header).
std::string Resolve(const std::string& path, const datasets::Dataset& data, const std::string& spec) {
  std::error_code ec;
  if (fs::exists(path, ec)) return Absolute(path);
  std::string tried = Absolute(path);
  if (fs::path(path).is_relative() && !data.source.empty()) {
    fs::path base(data.source);
    if (!fs::is_directory(base, ec)) base = base.parent_path();
    const fs::path alt = base / path;
    if (fs::exists(alt, ec)) return Absolute(alt.string());
    tried += " or " + Absolute(alt.string());
  }
  throw framework::IoError("encoder '" + spec + "': no such file or directory (looked for " + tried + ")");
}


struct Rows {
  int64_t dim = 0;
  std::vector<float> values;                 // rows x dim
  std::vector<Index> item;                   // per row: dataset item id
};

ItemFeatures Assemble(const datasets::Dataset& data, const Rows& rows) {
  ItemFeatures f;
  const Eigen::Index n = data.num_items();
  f.values = FeatureMatrix::Zero(n, rows.dim);
  f.present.assign(static_cast<size_t>(n), 0);
  for (size_t r = 0; r < rows.item.size(); ++r) {
    const Index i = rows.item[r];
    std::copy_n(rows.values.data() + r * static_cast<size_t>(rows.dim), rows.dim, f.values.row(i).data());
    f.present[static_cast<size_t>(i)] = 1;
  }
  return f;
}

// Maps table rows (named by token) onto the dataset; a token the dataset lacks is an error
// at its line: it means the file belongs to other data (or other ids) than the one loaded.
Rows MapTable(const datasets::FeatureTable& t, const datasets::Dataset& data, const std::string& path) {
  Rows rows;
  rows.dim = t.dim;
  rows.values = t.values;
  rows.item.reserve(t.tokens.size());
  for (size_t r = 0; r < t.tokens.size(); ++r) {
    const Index i = data.items.Find(t.tokens[r]);
    if (i == kNoId)
      throw DataError(path, t.lines[r],
                      "unknown item '" + t.tokens[r].substr(0, 60) + "' (not in dataset '" + data.name +
                          "', " + std::to_string(data.num_items()) + " items)");
    rows.item.push_back(i);
  }
  return rows;
}

void AddCounts(ItemFeatures& f, int64_t file_rows) {
  const int64_t matched = std::count(f.present.begin(), f.present.end(), uint8_t{1});
  const int64_t absent = static_cast<int64_t>(f.present.size()) - matched;
  f.fallbacks = absent;
  if (file_rows >= 0) f.provenance.emplace_back("rows", std::to_string(file_rows));
  f.provenance.emplace_back("dim", std::to_string(f.values.cols()));
  f.provenance.emplace_back("items_matched", std::to_string(matched));
  f.provenance.emplace_back("items_absent", std::to_string(absent));
}

ItemFeatures FromNpy(const datasets::Dataset& data, const std::string& path) {
  datasets::NpyArray a = datasets::ReadNpy(path);
  if (a.shape.size() != 2 || a.shape[1] < 1)
    throw DataError(path, 0,
                    "expected a 2-D array (items x dim) with dim >= 1, got " + std::to_string(a.shape.size()) +
                        "-D shape (" + [&] {
                          std::string s;
                          for (auto d : a.shape) s += (s.empty() ? "" : ", ") + std::to_string(d);
                          return s;
                        }() + ")");
  const int64_t n_rows = a.shape[0];
  Rows rows;
  rows.dim = a.shape[1];
  rows.values = std::move(a.values);
  std::vector<std::pair<std::string, std::string>> extra;
  const std::string mapping =
      datasets::internal::FindPlainOrGz((fs::path(path).parent_path() / "i_id_mapping.csv").string());
  if (mapping.empty()) {
    if (n_rows != data.num_items())
      throw DataError(path, 0,
                      "has " + std::to_string(n_rows) + " rows but dataset '" + data.name + "' has " +
                          std::to_string(data.num_items()) +
                          " items (row r is item r; put MMRec's i_id_mapping.csv beside the file to map rows "
                          "by item id)");
    for (int64_t r = 0; r < n_rows; ++r) rows.item.push_back(static_cast<Index>(r));
    extra.emplace_back("row_order", "dataset item order");
  } else {
    const std::vector<std::string> tokens =
        datasets::ParseIdMapping(datasets::internal::ReadInputFile(mapping), mapping, n_rows);
    // The dataset names items either by the original token (an Amazon dump loaded as is) or
    // by MMRec's itemID (the MMRec .inter): match on whichever names more of its items.
    int64_t by_token = 0, by_id = 0;
    for (int64_t r = 0; r < n_rows; ++r) {
      by_token += data.items.Find(tokens[static_cast<size_t>(r)]) != kNoId;
      by_id += data.items.Find(std::to_string(r)) != kNoId;
    }
    const bool use_token = by_token >= by_id;
    for (int64_t r = 0; r < n_rows; ++r) {
      const std::string name = use_token ? tokens[static_cast<size_t>(r)] : std::to_string(r);
      const Index i = data.items.Find(name);
      if (i == kNoId)
        throw DataError(path, 0,
                        "row " + std::to_string(r) + " (0-based) is item '" + name.substr(0, 60) + "' per " +
                            mapping + ", which dataset '" + data.name + "' does not have (" +
                            std::to_string(use_token ? by_token : by_id) + " of " + std::to_string(n_rows) +
                            " rows match its items by " + (use_token ? "original token" : "itemID") + ")");
      rows.item.push_back(i);
    }
    extra.emplace_back("row_order", use_token ? "i_id_mapping.csv (original token)" : "i_id_mapping.csv (itemID)");
    extra.emplace_back("mapping", mapping);
    extra.emplace_back("mapping_sha256", FileSha256(mapping));
  }
  ItemFeatures f = Assemble(data, rows);
  f.provenance.emplace_back("dtype", a.dtype == "<f4" ? "float32" : "float64");
  f.provenance.insert(f.provenance.end(), extra.begin(), extra.end());
  AddCounts(f, n_rows);
  return f;
}

ItemFeatures FromDucho(const datasets::Dataset& data, const std::string& dir) {
  if (!fs::is_directory(dir)) throw framework::IoError(dir + ": features:ducho needs a folder of <item_id>.npy files");
  Rows rows;
  int64_t files = 0, others = 0;
  std::string first_file, dtype;
  for (const auto& name : datasets::internal::ListFiles(dir)) {
    const std::string plain = datasets::internal::StripGz(name);
    if (fs::path(plain).extension() != ".npy") {
      ++others;
      continue;
    }
    const std::string path = (fs::path(dir) / name).string();
    const std::string token = fs::path(plain).stem().string();
    const datasets::NpyArray a = datasets::ReadNpy(path);
    const bool vector = a.shape.size() == 1 || (a.shape.size() == 2 && a.shape[0] == 1);
    if (!vector || a.values.empty())
      throw DataError(path, 0, "expected one feature vector, shape (d,) or (1, d) with d >= 1");
    const int64_t d = static_cast<int64_t>(a.values.size());
    if (files == 0) {
      rows.dim = d;
      first_file = name;
      dtype = a.dtype;
    } else if (d != rows.dim) {
      throw DataError(path, 0,
                      "has " + std::to_string(d) + " values but " + first_file + " has " + std::to_string(rows.dim));
    }
    const Index i = data.items.Find(token);
    if (i == kNoId)
      throw DataError(path, 0,
                      "unknown item '" + token.substr(0, 60) + "' (the file name must be an item id of dataset '" +
                          data.name + "')");
    rows.values.insert(rows.values.end(), a.values.begin(), a.values.end());
    rows.item.push_back(i);
    ++files;
  }
  if (files == 0) throw DataError(dir, 0, "no <item_id>.npy files in this folder");
  ItemFeatures f = Assemble(data, rows);
  f.provenance.emplace_back("dtype", dtype == "<f4" ? "float32" : "float64");
  if (others > 0) {
    f.provenance.emplace_back("ignored_files", std::to_string(others));
    f.notes.push_back(dir + ": ignored " + std::to_string(others) + " file(s) not named *.npy");
  }
  AddCounts(f, files);
  return f;
}

}  // namespace

bool IsImportSpec(const std::string& spec) { return spec.rfind(kPrefix, 0) == 0; }

std::string FileSha256(const std::string& path) {
  static std::mutex mu;
  static std::map<std::tuple<std::string, uintmax_t, int64_t>, std::string> memo;
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  const auto mtime = fs::last_write_time(path, ec).time_since_epoch().count();
  const auto key = std::make_tuple(Absolute(path), ec ? 0 : size, static_cast<int64_t>(mtime));
  {
    std::lock_guard<std::mutex> lock(mu);
    if (auto it = memo.find(key); it != memo.end() && !ec) return it->second;
  }
  std::string digest = datasets::Sha256File(path);
  std::lock_guard<std::mutex> lock(mu);
  if (!ec) memo[key] = digest;
  return digest;
}

ItemFeatures ImportFeatures(const datasets::Dataset& data, const std::string& spec) {
  if (!IsImportSpec(spec)) throw framework::ConfigError("not a features: spec: '" + spec + "'");
  const std::string rest = spec.substr(sizeof(kPrefix) - 1);
  const size_t colon = rest.find(':');
  const std::string format = rest.substr(0, colon);
  std::string arg = colon == std::string::npos ? "" : rest.substr(colon + 1);
  if (arg.empty() || (format != "npy" && format != "ducho" && format != "atomic" && format != "csv" && format != "h5"))
    throw framework::ConfigError("unknown or incomplete feature import '" + spec + "'; known: " + kKnown);
  std::string field;
  if (format == "atomic") {
    // A '#' in an existing file's name is the name; otherwise it separates the field.
    const size_t hash = arg.rfind('#');
    std::error_code ec;
    if (hash != std::string::npos && !fs::exists(arg, ec)) {
      field = arg.substr(hash + 1);
      arg = arg.substr(0, hash);
    }
  }
  const std::string path = Resolve(arg, data, spec);
  ItemFeatures f;
  f.provenance.emplace_back("extractor", "imported");
  f.provenance.emplace_back("format", format);
  f.provenance.emplace_back("path", path);
  if (format == "ducho") {
    ItemFeatures g = FromDucho(data, path);
    f.provenance.insert(f.provenance.end(), g.provenance.begin(), g.provenance.end());
    g.provenance = std::move(f.provenance);
    f = std::move(g);
  } else {
    if (!fs::is_regular_file(path)) throw framework::IoError(path + ": not a file (encoder '" + spec + "')");
    f.provenance.emplace_back("sha256", FileSha256(path));
    ItemFeatures g;
    if (format == "npy") {
      g = FromNpy(data, path);
    } else if (format == "h5") {
      // recfuse's own layout (WriteFeaturesH5, `recfuse encode`): rows by item token; the
      // file's own provenance is kept under source_* keys.
      ItemFeatures h = ReadFeaturesH5(path, data);
      g.values = std::move(h.values);
      g.present = std::move(h.present);
      g.notes = std::move(h.notes);
      g.provenance.emplace_back("dtype", "float32");
      if (!h.spec.empty()) g.provenance.emplace_back("source_spec", h.spec);
      for (auto& [k, v] : h.provenance) g.provenance.emplace_back("source_" + k, v);
      AddCounts(g, -1);  // ReadFeaturesH5 keeps only the rows naming the dataset's items
    } else {
      const std::string text = datasets::internal::ReadInputFile(path);
      const datasets::FeatureTable t = format == "csv" ? datasets::ParseFeatureCsv(text, path)
                                                       : datasets::ParseFeatureAtomic(text, path, field);
      g = Assemble(data, MapTable(t, data, path));
      g.provenance.emplace_back("dtype", "text, parsed as float32");
      g.provenance.emplace_back("id_field", t.id_field);
      g.provenance.emplace_back("value_field", t.value_field);
      AddCounts(g, static_cast<int64_t>(t.tokens.size()));
    }
    f.provenance.insert(f.provenance.end(), g.provenance.begin(), g.provenance.end());
    g.provenance = std::move(f.provenance);
    f = std::move(g);
  }
  f.spec = spec;
  int64_t matched = 0;
  for (uint8_t p : f.present) matched += p;
  f.notes.push_back(spec + ": " + std::to_string(matched) + " of " + std::to_string(data.num_items()) +
                    " items have a row (" + std::to_string(f.values.cols()) + " dims); " +
                    std::to_string(f.fallbacks) + " absent (masked)");
  return f;
}

}  // namespace recfuse::encoders
