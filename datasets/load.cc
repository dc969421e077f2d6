// Format detection, dispatch to the loaders, and the `data.*` options.
#include "datasets/load.h"

#include <filesystem>

#include "datasets/parse_util.h"
#include "framework/error.h"

namespace recfuse::datasets {

namespace fs = std::filesystem;
using framework::ParamSpec;
using framework::ParamType;
using namespace internal;

namespace {

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string DetectFormat(const std::string& path) {
  // Downloads are often gzipped: the extension before ".gz" names the format.
  if (IsDirectory(path)) {
    const auto files = ListFiles(path);
    for (const auto& f : files)
      if (EndsWith(StripGz(f), ".inter"))
        return IsMmrecInterFile((fs::path(path) / f).string()) ? "mmrec" : "atomic";
    for (const auto& f : files)
      if (f == "u.data" || f == "ratings.dat") return "movielens";
    for (const auto& f : files)
      if (EndsWith(Lower(StripGz(f)), ".json") || EndsWith(Lower(StripGz(f)), ".jsonl")) return "amazon";
    throw framework::DataError(
        path, 0,
        "cannot detect format of this folder: expected RecBole atomic files "
        "(*.inter, *.train.inter), MMRec (*.inter with x_label), MovieLens (u.data, "
        "ratings.dat) or Amazon reviews (*.json, *.jsonl, also .gz); set data.format");
  }
  const std::string ext = Lower(fs::path(StripGz(path)).extension().string());
  if (ext == ".csv" || ext == ".tsv") return "csv";
  if (ext == ".json" || ext == ".jsonl") return "amazon";
  if (ext == ".inter") return IsMmrecInterFile(path) ? "mmrec" : "atomic";
  throw framework::DataError(
      path, 0,
      "cannot detect format of this file: expected .csv, .tsv, .json, .jsonl "
      "or .inter (or any of them .gz); set data.format");
}

}  // namespace

const std::vector<ParamSpec>& LoadParamSpecs() {
  static const std::vector<ParamSpec> specs = [] {
    std::vector<ParamSpec> s;
    auto add = [&](std::string name, ParamType type, std::string def, std::string desc,
                   std::vector<std::string> choices = {}) {
      ParamSpec p;
      p.name = std::move(name);
      p.type = type;
      p.default_value = std::move(def);
      p.description = std::move(desc);
      p.choices = std::move(choices);
      s.push_back(std::move(p));
      return &s.back();
    };
    add("format", ParamType::kString, "auto", "input format; auto detects it from the path",
        {"auto", "atomic", "movielens", "amazon", "csv", "mmrec"});
    add("name", ParamType::kString, "",
        "dataset name (atomic: the <name> of <name>.inter); default: the folder or file name");
    add("side_info_dir", ParamType::kString, "",
        "atomic split folders: folder with <name>.item/.user/.kg/.link/...; default: a sibling "
        "folder named <name>");
    add("rating_threshold", ParamType::kFloat, "",
        "keep interactions with rating >= this (implicit feedback); unset keeps all");
    add("dedup", ParamType::kString, "keep",
        "repeated (user, item) interactions: keep all, or only the first/last by timestamp",
        {"keep", "first", "last"});
    add("min_user_interactions", ParamType::kInt, "0",
        "k-core: users need at least this many interactions (iterated with items)")
        ->min = 0;
    add("min_item_interactions", ParamType::kInt, "0",
        "k-core: items need at least this many interactions (iterated with users)")
        ->min = 0;
    add("csv.user", ParamType::kString, "",
        "csv: user id column (name, or index if csv.header=false)");
    add("csv.item", ParamType::kString, "",
        "csv: item id column (name, or index if csv.header=false)");
    add("csv.rating", ParamType::kString, "", "csv: rating column (optional)");
    add("csv.timestamp", ParamType::kString, "", "csv: numeric timestamp column (optional)");
    add("csv.sep", ParamType::kString, ",", "csv: field separator, one character (\\t for tab)");
    add("csv.header", ParamType::kBool, "true", "csv: the first row names the columns");
    add("amazon.reviews", ParamType::kString, "",
        "amazon: reviews JSON-lines file; default: the only *.json/*.jsonl not named meta*");
    add("amazon.meta", ParamType::kString, "",
        "amazon: metadata JSON-lines file; default: the only meta*.json/meta*.jsonl");
    add("amazon.images", ParamType::kString, "",
        "amazon: folder of <asin>.jpg/.png images; default: <folder>/images");
    return s;
  }();
  return specs;
}

LoadOptions LoadOptionsFromConfig(const framework::Config& config) {
  const auto& specs = LoadParamSpecs();
  config.Validate(specs, "data", {"csv.", "amazon."});
  LoadOptions o;
  o.format = config.GetString(specs, "format");
  o.name = config.GetString(specs, "name");
  o.side_info_dir = config.GetString(specs, "side_info_dir");
  if (config.Has("rating_threshold"))
    o.filters.rating_threshold = config.GetDouble("rating_threshold", 0.0);
  o.filters.dedup = config.GetString(specs, "dedup");
  o.filters.min_user_interactions = static_cast<int>(config.GetInt(specs, "min_user_interactions"));
  o.filters.min_item_interactions = static_cast<int>(config.GetInt(specs, "min_item_interactions"));
  for (const auto& [key, value] : config.values())
    if (key.rfind("csv.", 0) == 0 || key.rfind("amazon.", 0) == 0)
      o.format_options.Set(key, value, config.Origin(key));
  return o;
}

Dataset LoadDataset(const std::string& path, const LoadOptions& options) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw framework::IoError(path + ": no such file or directory");
  const std::string format = options.format == "auto" ? DetectFormat(path) : options.format;
  Dataset d;
  if (format == "atomic") {
    if (IsDirectory(path)) {
      d = LoadAtomic(path, options);
    } else {
      // A single <name>.inter file: its folder, restricted to that <name>.
      if (!EndsWith(StripGz(path), ".inter"))
        throw framework::DataError(path, 0,
                                   "the atomic format needs a folder or a <name>.inter file");
      LoadOptions o = options;
      if (o.name.empty()) o.name = fs::path(StripGz(path)).stem().string();
      const fs::path parent = fs::path(path).parent_path();
      d = LoadAtomic(parent.empty() ? "." : parent.string(), o);
    }
  } else if (format == "movielens") {
    d = LoadMovieLens(path, options);
  } else if (format == "amazon") {
    d = LoadAmazon(path, options);
  } else if (format == "csv") {
    d = LoadCsv(path, options);
  } else if (format == "mmrec") {
    d = LoadMmrec(path, options);
  } else {
    throw framework::ConfigError("format='" + options.format +
                                 "' must be auto, atomic, movielens, amazon, csv or mmrec");
  }
  if (!options.name.empty()) d.name = options.name;
  d.source = path;
  // Before filtering: a repaired value is counted once even if its item is filtered out.
  RepairTextEncoding(d);
  ApplyFilters(d, options.filters);
  // Notes quote file names and header fields verbatim, and `data inspect --json` / run.json
  // serialise them: a non-UTF-8 byte there made the JSON writer throw (atomic_fuzz finding).
  for (auto& note : d.report.notes)
    if (!IsValidUtf8(note)) note = RepairUtf8AsLatin1(note);
  d.Finalize();
  return d;
}

}  // namespace recfuse::datasets
