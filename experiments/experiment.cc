#include "experiments/experiment.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "datasets/load.h"
#include "datasets/split.h"
#include "datasets/synthetic.h"
#include "framework/error.h"
#include "framework/hash.h"
#include "framework/io.h"
#include "framework/log.h"
#include "framework/sysinfo.h"
#include "models/recommender.h"

namespace recfuse::experiments {

namespace fs = std::filesystem;
using framework::ConfigError;
using framework::ParamType;

namespace {

// Bumped when the meaning of a stored cell changes, so stale cells are not reused.
// 2: cells also write per_user.h5 and record ablation and per-cell RSS (older cells rerun).
constexpr int kResultFormat = 2;

const std::vector<framework::ParamSpec>& TopLevelSpecs() {
  static const std::vector<framework::ParamSpec> kSpecs = {
      {"name", ParamType::kString, "experiment", "experiment name"},
      {"description", ParamType::kString, "", "one-line description shown in the report"},
      {"datasets", ParamType::kString, "", "comma-separated dataset names ([dataset.NAME] sections)"},
      {"models", ParamType::kString, "", "comma-separated model labels ([model.LABEL] sections optional)"},
      {"splits", ParamType::kString, "ratio:0.8,0.1,0.1", "comma-separated split specs (';' also accepted)"},
      {"seeds", ParamType::kIntList, "0", "seeds", 0, 1e18},
      {"train_fractions", ParamType::kFloatList, "1.0", "training fractions (sparsity levels)", 1e-9, 1},
      {"ks", ParamType::kIntList, "10,20,50", "top-K cut-offs", 1, 1e9},
      {"metrics", ParamType::kString, "", "metric names (default: all ranking + beyond-accuracy)"},
      {"sampled_negatives", ParamType::kInt, "0", "0 = full ranking", 0, 1e7},
      {"threads", ParamType::kInt, "2", "worker threads per cell", 1, 1024},
      {"baseline", ParamType::kString, "", "model label that significance tests compare against"},
      {"valid_metric", ParamType::kString, "ndcg@10",
       "early-stopping criterion of iterative models on the validation split, <metric>@<K>"},
      {"ablations", ParamType::kString, "none",
       "modality ablations: comma list of none, -id, -text, -image, -kg, -history"},
      {"image_features", ParamType::kString, "",
       "feature axis: ';'-separated image specs, one variant of each model that reads image_features"},
      {"text_features", ParamType::kString, "",
       "feature axis: ';'-separated text specs, one variant of each model that reads text_features"},
      {"kg_features", ParamType::kString, "",
       "feature axis: ';'-separated KG specs, one variant of each model that reads kg_features"},
  };
  return kSpecs;
}

// The feature axes, in the order their tags appear in a variant's label.
const std::vector<std::string>& FeatureAxes() {
  static const std::vector<std::string> kAxes = {"image_features", "text_features", "kg_features"};
  return kAxes;
}

const std::vector<framework::ParamSpec>& DatasetSpecs() {
  static const std::vector<framework::ParamSpec> kSpecs = {
      {"path", ParamType::kString, "", "dataset folder or file (relative to the experiment file)"},
      {"generate", ParamType::kBool, "false", "generate the synthetic world into OUT/data/NAME"},
  };
  return kSpecs;
}

// Split specs contain commas ("ratio:0.8,0.1,0.1"), so the list splits on ';' when present
// and otherwise on commas that start a new spec (followed by a letter).
std::vector<std::string> SplitSpecList(const std::string& text) {
  std::vector<std::string> out;
  if (text.find(';') != std::string::npos) return framework::Split(text, ';', true);
  std::string cur;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ',') {
      size_t j = i + 1;
      while (j < text.size() && text[j] == ' ') ++j;
      if (j < text.size() && std::isalpha(static_cast<unsigned char>(text[j]))) {
        out.push_back(framework::Trim(cur));
        cur.clear();
        continue;
      }
    }
    cur += c;
  }
  if (!framework::Trim(cur).empty()) out.push_back(framework::Trim(cur));
  return out;
}

// Short, file-name-safe name of a feature spec for a variant label: the modality prefix is
// dropped ("image:mobilenet_v2" -> "mobilenet_v2", "text:glove:100" -> "glove-100") and an
// imported file is named by its kind and file stem ("features:npy:/a/image_feat.npy" ->
// "npy-image_feat").
std::string FeatureTag(const std::string& spec) {
  std::string s = spec;
  for (const char* prefix : {"image:", "text:", "kg:"})
    if (s.rfind(prefix, 0) == 0) s = s.substr(std::string(prefix).size());
  if (s.rfind("features:", 0) == 0) {
    const std::string rest = s.substr(9);
    const size_t colon = rest.find(':');
    s = colon == std::string::npos ? rest
                                   : rest.substr(0, colon) + "-" + fs::path(rest.substr(colon + 1)).stem().string();
  }
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' ? c : '-';
  return out;
}

// Replaces every model that declares a swept `<axis>` parameter (and does not set it itself)
// by one variant per value, labelled LABEL@tag[+tag]; models that set the parameter
// explicitly, and models without it, run once. A one-value axis sets the value without
// changing labels.
void ExpandFeatureAxes(const framework::Config& top, Experiment* exp) {
  std::vector<std::pair<std::string, std::vector<std::string>>> axes;
  for (const auto& axis : FeatureAxes()) {
    if (!top.Has(axis)) continue;
    std::vector<std::string> values;
    for (const auto& v : framework::Split(top.GetString(axis, ""), ';', true)) {
      if (v.empty()) continue;
      if (std::find(values.begin(), values.end(), v) != values.end())
        throw ConfigError(axis + ": '" + v + "' listed twice (from " + top.Origin(axis) + ")");
      values.push_back(v);
    }
    if (values.empty()) throw ConfigError(axis + " is empty (from " + top.Origin(axis) + ")");
    axes.emplace_back(axis, values);
  }
  if (axes.empty()) return;
  std::vector<ModelSpecEntry> out;
  std::set<std::string> applied;
  for (const auto& m : exp->models) {
    std::vector<ModelSpecEntry> variants = {m};
    for (const auto& [axis, values] : axes) {
      bool declared = false;
      for (const auto& p : models::FindModel(m.type).params) declared |= p.name == axis;
      if (!declared || m.params.Has(axis)) continue;
      applied.insert(axis);
      std::vector<ModelSpecEntry> next;
      for (const auto& v : variants)
        for (const auto& value : values) {
          ModelSpecEntry e = v;
          e.params.Set(axis, value, "feature axis " + axis + " (from " + top.Origin(axis) + ")");
          if (values.size() > 1)
            e.label += (e.label.find('@') == std::string::npos ? "@" : "+") + FeatureTag(value);
          // The spec is checked where the model is built; its syntax is validated here so a
          // typo fails before the sweep starts.
          framework::Config probe = e.params;
          probe.Validate(models::FindModel(e.type).params, "model " + e.label + " (" + e.type + ")");
          next.push_back(std::move(e));
        }
      variants = std::move(next);
    }
    for (auto& v : variants) {
      for (const auto& o : out)
        if (o.label == v.label)
          throw ConfigError("feature axes give two variants the label '" + v.label +
                            "' (two specs with the same short name); use [model.X] sections instead");
      out.push_back(std::move(v));
    }
  }
  for (const auto& [axis, values] : axes) {
    if (!applied.count(axis)) {
      RF_LOG(Warn) << axis << " applies to no model of " << exp->file << "; it adds no cells";
    }
  }
  exp->models = std::move(out);
}

std::string FormatDouble(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

Experiment LoadExperiment(const std::string& path, const std::vector<std::string>& overrides) {
  Experiment exp;
  exp.file = path;
  framework::Config raw;
  raw.LoadFile(path);
  for (const auto& o : overrides) raw.SetFromAssignment(o, "--set " + o);
  exp.raw = raw;
  const fs::path base = fs::absolute(fs::path(path)).parent_path();

  framework::Config top;
  std::map<std::string, framework::Config> dataset_sections, model_sections;
  for (const auto& [k, v] : raw.values()) {
    if (k.rfind("dataset.", 0) == 0 || k.rfind("model.", 0) == 0) {
      const bool is_ds = k[0] == 'd';
      const std::string rest = k.substr(is_ds ? 8 : 6);
      const size_t dot = rest.find('.');
      if (dot == std::string::npos || dot == 0)
        throw ConfigError("key '" + k + "' must look like " + (is_ds ? "dataset" : "model") +
                          ".NAME.option (from " + raw.Origin(k) + ")");
      (is_ds ? dataset_sections : model_sections)[rest.substr(0, dot)].Set(rest.substr(dot + 1), v, raw.Origin(k));
    } else {
      top.Set(k, v, raw.Origin(k));
    }
  }
  top.Validate(TopLevelSpecs(), "experiment " + path);
  exp.name = top.GetString(TopLevelSpecs(), "name");
  exp.description = top.GetString(TopLevelSpecs(), "description");
  exp.threads = static_cast<int>(top.GetInt(TopLevelSpecs(), "threads"));
  exp.baseline = top.GetString(TopLevelSpecs(), "baseline");
  exp.valid_metric = top.GetString(TopLevelSpecs(), "valid_metric");

  for (const auto& name : top.GetStringList("datasets", {})) {
    DatasetEntry d;
    d.name = name;
    const framework::Config sec = dataset_sections.count(name) ? dataset_sections[name] : framework::Config();
    framework::Config own;
    for (const auto& [k, v] : sec.values()) {
      if (k.rfind("gen.", 0) == 0) d.generator.Set(k.substr(4), v, sec.Origin(k));
      else if (k.rfind("data.", 0) == 0) d.loader.Set(k.substr(5), v, sec.Origin(k));
      else own.Set(k, v, sec.Origin(k));
    }
    own.Validate(DatasetSpecs(), "dataset." + name, {});
    d.generate = own.GetBool(DatasetSpecs(), "generate");
    d.path = own.GetString(DatasetSpecs(), "path");
    if (!d.generate && d.path.empty())
      throw ConfigError("dataset." + name + " needs 'path' or 'generate = true' (in " + path + ")");
    if (!d.path.empty() && fs::path(d.path).is_relative()) d.path = (base / d.path).lexically_normal().string();
    if (d.generate) datasets::SyntheticOptionsFromConfig(d.generator);  // validates gen.* now
    datasets::LoadOptionsFromConfig(d.loader);                          // validates data.* now
    exp.datasets.push_back(std::move(d));
  }
  for (const auto& [name, sec] : dataset_sections) {
    bool listed = false;
    for (const auto& d : exp.datasets) listed |= d.name == name;
    if (!listed) throw ConfigError("section [dataset." + name + "] is not listed in 'datasets' (in " + path + ")");
  }
  if (exp.datasets.empty()) throw ConfigError("experiment " + path + " lists no datasets");

  for (const auto& label : top.GetStringList("models", {})) {
    ModelSpecEntry m;
    m.label = label;
    framework::Config sec = model_sections.count(label) ? model_sections[label] : framework::Config();
    m.type = sec.GetString("type", label);
    sec.Erase("type");
    m.params = sec;
    try {
      models::FindModel(m.type);
    } catch (const framework::UnknownIdError& e) {
      // Name where the model was asked for: the models list, or a [model.X] type line.
      const std::string key = model_sections.count(label) && model_sections[label].Has("type")
                                  ? "model." + label + ".type"
                                  : "models";
      throw framework::UnknownIdError(std::string(e.what()) + " (from " + raw.Origin(key) + ")");
    }
    // Validate hyperparameters now: a typo must fail before hours of training, not after.
    framework::Config probe = m.params;
    probe.Validate(models::FindModel(m.type).params, "model " + label + " (" + m.type + ")");
    exp.models.push_back(std::move(m));
  }
  for (const auto& [label, sec] : model_sections) {
    bool listed = false;
    for (const auto& m : exp.models) listed |= m.label == label;
    if (!listed) throw ConfigError("section [model." + label + "] is not listed in 'models' (in " + path + ")");
  }
  if (exp.models.empty()) throw ConfigError("experiment " + path + " lists no models");
  ExpandFeatureAxes(top, &exp);

  exp.splits = SplitSpecList(top.GetString(TopLevelSpecs(), "splits"));
  for (const auto& s : exp.splits) datasets::SplitSpec::Parse(s);
  for (auto s : top.GetIntList("seeds", {0})) exp.seeds.push_back(static_cast<uint64_t>(s));
  exp.train_fractions = top.GetDoubleList("train_fractions", {1.0});
  exp.eval.ks.clear();
  for (auto k : top.GetIntList("ks", {10, 20, 50})) exp.eval.ks.push_back(static_cast<int>(k));
  if (top.Has("metrics")) exp.eval.metrics = top.GetStringList("metrics", {});
  exp.eval.sampled_negatives = static_cast<int>(top.GetInt(TopLevelSpecs(), "sampled_negatives"));
  exp.ablations = {"none"};
  for (const auto& a : top.GetStringList("ablations", {"none"})) {
    if (a == "none") continue;
    const auto& known = AblatableModalities();
    if (a.size() < 2 || a[0] != '-' || std::find(known.begin(), known.end(), a.substr(1)) == known.end())
      throw ConfigError("ablations: '" + a + "' is not one of none, -id, -text, -image, -kg, -history (from " +
                        top.Origin("ablations") + ")");
    if (std::find(exp.ablations.begin(), exp.ablations.end(), a) != exp.ablations.end())
      throw ConfigError("ablations: '" + a + "' listed twice (from " + top.Origin("ablations") + ")");
    exp.ablations.push_back(a);
  }
  for (const auto& a : exp.ablations) {
    bool applies = false;
    for (const auto& m : exp.models) applies |= AblationApplies(models::FindModel(m.type).params, m.params, a);
    if (!applies) {
      RF_LOG(Warn) << "ablation " << a << " applies to no model of " << path << " (none declares use_" << a.substr(1)
                   << "); it adds no cells";
    }
  }
  if (!exp.baseline.empty()) {
    bool found = false;
    for (const auto& m : exp.models) found |= m.label == exp.baseline;
    if (!found) {
      std::string labels;
      for (const auto& m : exp.models) labels += (labels.empty() ? "" : ", ") + m.label;
      throw ConfigError("baseline '" + exp.baseline + "' is not one of the experiment's models (" + labels + ")");
    }
  }
  return exp;
}

const std::vector<std::string>& AblatableModalities() {
  static const std::vector<std::string> kModalities = {"id", "text", "image", "kg", "history"};
  return kModalities;
}

bool AblationApplies(const std::vector<framework::ParamSpec>& specs, const framework::Config& model_params,
                     const std::string& ablation) {
  if (ablation == "none") return true;
  const std::string param = "use_" + ablation.substr(1);
  bool declared = false;
  for (const auto& p : specs) declared |= p.name == param;
  if (!declared) return false;
  return !model_params.Has(param) || model_params.GetBool(param, true);
}

std::vector<GridCell> ExpandGrid(const Experiment& exp) {
  std::vector<GridCell> cells;
  for (size_t d = 0; d < exp.datasets.size(); ++d)
    for (const auto& split : exp.splits)
      for (double frac : exp.train_fractions)
        for (uint64_t seed : exp.seeds)
          for (const auto& m : exp.models)
            for (const auto& ablation : exp.ablations) {
            if (!AblationApplies(models::FindModel(m.type).params, m.params, ablation)) continue;
            GridCell c;
            c.dataset_index = d;
            c.model_label = m.label;
            c.spec.dataset_name = exp.datasets[d].name;
            c.spec.split = split;
            c.spec.seed = seed;
            c.spec.train_fraction = frac;
            c.spec.model = m.type;
            c.spec.model_params = m.params;
            c.spec.eval = exp.eval;
            c.spec.threads = exp.threads;
            c.spec.valid_metric = exp.valid_metric;
            c.ablation = ablation;
            if (ablation != "none") c.spec.model_params.Set("use_" + ablation.substr(1), "false", "ablation " + ablation);
            cells.push_back(std::move(c));
          }
  return cells;
}

std::string CellKey(const CellSpec& spec, uint64_t data_hash) {
  framework::Hasher h;
  h.Add(spec.ToJson().dump()).AddPod(data_hash).Add(framework::Version()).AddPod(kResultFormat);
  return h.HexDigest();
}

namespace {

std::string CellDir(const std::string& out, const GridCell& c, const std::string& key) {
  return out + "/cells/" + c.spec.dataset_name + "__" + c.model_label + (c.ablation == "none" ? "" : c.ablation) +
         "__" + key;
}

datasets::Dataset LoadEntry(const DatasetEntry& d, const std::string& out_dir) {
  std::string path = d.path;
  if (d.generate) {
    path = out_dir + "/data/" + d.name;
    const auto opt = datasets::SyntheticOptionsFromConfig(d.generator);
    // Regenerate unless the folder holds a complete world (the meta file is written last).
    // Shards (mpirun ranks) may share OUT: each generates into its own temporary folder and
    // renames it into place; the world is a pure function of its options, so whichever
    // rename wins is the same world, and a reader never sees a half-written one.
    if (!framework::FileExists(path + "/truth_meta.json")) {
      RF_LOG(Info) << "generating synthetic world '" << d.name << "' into " << path;
      char host[256] = {0};
      ::gethostname(host, sizeof host - 1);
      const std::string prefix = "." + d.name + ".tmp." + host + ".";
      const std::string tmp = out_dir + "/data/" + prefix + std::to_string(::getpid());
      std::error_code ec;
      // Leftovers of killed runs on this host (their process is gone) are removed; other
      // hosts' temporaries are left alone, their pids mean nothing here.
      if (fs::is_directory(out_dir + "/data"))
        for (const auto& e : fs::directory_iterator(out_dir + "/data", ec)) {
          const std::string f = e.path().filename().string();
          int64_t pid = 0;
          if (f.rfind(prefix, 0) == 0 && framework::ParseInt64(f.substr(prefix.size()), &pid) && pid > 0 &&
              ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
            fs::remove_all(e.path(), ec);
        }
      fs::remove_all(tmp, ec);
      datasets::GenerateSynthetic(tmp, opt);
      if (fs::exists(path) && !framework::FileExists(path + "/truth_meta.json")) fs::remove_all(path, ec);
      fs::rename(tmp, path, ec);
      if (ec) {
        fs::remove_all(tmp, ec);
        if (!framework::FileExists(path + "/truth_meta.json"))
          throw framework::IoError(path + ": cannot move the generated world into place");
      }
    }
  }
  auto data = datasets::LoadDataset(path, datasets::LoadOptionsFromConfig(d.loader));
  data.name = d.name;
  RF_LOG(Info) << "dataset " << d.name << ": " << data.num_users() << " users, " << data.num_items()
               << " items, " << data.interactions.size() << " interactions (hash "
               << framework::ToHex(data.ContentHash()) << ")";
  return data;
}

}  // namespace

bool ShardFromEnvironment(int* index, int* count, const char* (*getenv_fn)(const char*)) {
  // Rank and size come from the launcher's environment rather than MPI_Init: the cells never
  // communicate (each rank runs its slice and writes its own files), so linking an MPI library
  // would add a hard runtime dependency, and a build-time choice of MPI flavour, for two
  // integers every common launcher already exports.
  auto get = [getenv_fn](const char* name) -> const char* {
    return getenv_fn ? getenv_fn(name) : std::getenv(name);
  };
  auto parse = [](const char* name, const char* text) {
    int64_t v = -1;
    if (!framework::ParseInt64(text, &v) || v < 0 || v > 1000000)
      throw ConfigError(std::string("environment variable ") + name + "='" + text + "' is not a rank/size");
    return static_cast<int>(v);
  };
  const char* rank_vars[] = {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"};
  const char* size_vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"};
  const char* rank_name = nullptr;
  const char* rank_text = nullptr;
  for (const char* v : rank_vars)
    if (const char* t = get(v); t && *t) {
      rank_name = v;
      rank_text = t;
      break;
    }
  const char* size_name = nullptr;
  const char* size_text = nullptr;
  for (const char* v : size_vars)
    if (const char* t = get(v); t && *t) {
      size_name = v;
      size_text = t;
      break;
    }
  if (!rank_text && !size_text) return false;
  if (!rank_text || !size_text)
    throw ConfigError(std::string("MPI environment incomplete: ") + (rank_text ? rank_name : size_name) +
                      " is set but no " + (rank_text ? "size (OMPI_COMM_WORLD_SIZE/PMI_SIZE)" :
                                                       "rank (OMPI_COMM_WORLD_RANK/PMI_RANK/PMIX_RANK)") +
                      " is; pass --shard i/n explicitly");
  const int r = parse(rank_name, rank_text);
  const int n = parse(size_name, size_text);
  if (n < 1 || r >= n)
    throw ConfigError(std::string("MPI environment: ") + rank_name + "=" + rank_text + " is not below " +
                      size_name + "=" + size_text);
  *index = r;
  *count = n;
  return true;
}

int RunExperiment(const Experiment& exp, const RunOptions& options, RunStats* stats) {
  if (options.shard_count < 1 || options.shard_index < 0 || options.shard_index >= options.shard_count)
    throw ConfigError("--shard must be i/n with 0 <= i < n");
  framework::MakeDirs(options.out_dir);
  framework::MakeDirs(options.out_dir + "/cells");
  const std::string cache = options.cache_dir;

  const auto grid = ExpandGrid(exp);
  std::vector<size_t> mine;
  for (size_t i = 0; i < grid.size(); ++i)
    if (static_cast<int>(i % options.shard_count) == options.shard_index) mine.push_back(i);

  // Datasets load lazily, once, in grid order.
  std::vector<std::unique_ptr<datasets::Dataset>> loaded(exp.datasets.size());
  std::vector<uint64_t> hashes(exp.datasets.size(), 0);
  auto dataset = [&](size_t d) -> const datasets::Dataset& {
    if (!loaded[d]) {
      loaded[d] = std::make_unique<datasets::Dataset>(LoadEntry(exp.datasets[d], options.out_dir));
      hashes[d] = loaded[d]->ContentHash();
    }
    return *loaded[d];
  };

  int ran = 0, skipped = 0;
  double spent = 0;
  const framework::Stopwatch sweep_clock;
  // Each cell resets the kernel's RSS watermark (RunCell), so the sweep's peak is the max of
  // the cells' peaks and of the watermark between cells (dataset loading, generation).
  int64_t sweep_peak = 0;
  nlohmann::json manifest = nlohmann::json::array();
  for (size_t n = 0; n < mine.size(); ++n) {
    const GridCell& cell = grid[mine[n]];
    const auto& data = dataset(cell.dataset_index);
    CellSpec spec = cell.spec;
    spec.cache_dir = cache;
    const std::string key = CellKey(spec, hashes[cell.dataset_index]);
    const std::string dir = CellDir(options.out_dir, cell, key);
    manifest.push_back(dir.substr(options.out_dir.size() + 1));
    if (framework::FileExists(dir + "/run.json")) {
      ++skipped;
      RF_LOG(Debug) << "skipping finished cell " << dir;
      continue;
    }
    framework::Stopwatch sw;
    eval::EvalTarget target;
    models::TrainData td;
    sweep_peak = std::max(sweep_peak, framework::PeakRssBytes());
    CellResult r = RunCell(data, spec, &target, &td);
    sweep_peak = std::max(sweep_peak, r.peak_rss_bytes);
    r.meta["experiment"] = exp.name;
    r.meta["label"] = cell.model_label;
    r.meta["ablation"] = cell.ablation;
    r.meta["key"] = key;
    r.meta["cell_index"] = mine[n];
    WriteCellOutputs(dir, spec, target, r);
    ++ran;
    spent += sw.Seconds();
    const size_t left = mine.size() - n - 1;
    const double eta = ran > 0 ? spent / ran * static_cast<double>(left) : 0;
    std::string headline;
    for (const auto& m : r.eval.metrics)
      if ((m.metric == "recall" || m.metric == "ndcg") && m.k == exp.eval.ks.front()) {
        char buf[64];
        std::snprintf(buf, sizeof buf, " %s@%d=%.4f", m.metric.c_str(), m.k, m.value);
        headline += buf;
      }
    RF_LOG(Info) << "[" << (n + 1) << "/" << mine.size() << "] " << spec.dataset_name << " " << spec.split
                 << " frac=" << spec.train_fraction << " seed=" << spec.seed << " " << cell.model_label
                 << (cell.ablation == "none" ? "" : " " + cell.ablation) << ":" << headline << "; "
                 << framework::FormatSplitSizes(r.meta.value("train_interactions", int64_t{0}),
                                                r.meta.value("valid_interactions", int64_t{0}),
                                                r.meta.value("test_interactions", int64_t{0}))
                 << " (" << framework::FormatDuration(sw.Seconds()) << ", ETA " << framework::FormatDuration(eta) << ")";
  }
  if (skipped > 0) RF_LOG(Info) << "resumed: skipped " << skipped << " finished cell(s)";
  sweep_peak = std::max(sweep_peak, framework::PeakRssBytes());
  RF_LOG(Info) << "sweep peak RSS " << sweep_peak / 1048576 << " MB (" << ran << " cell(s) run, " << skipped
               << " skipped)";

  nlohmann::json meta;
  meta["experiment"] = exp.name;
  meta["description"] = exp.description;
  meta["file"] = exp.file;
  meta["config"] = exp.raw.ToJson();
  meta["cells"] = manifest;
  meta["shard"] = std::to_string(options.shard_index) + "/" + std::to_string(options.shard_count);
  meta["git_commit"] = framework::GitCommit();
  meta["baseline"] = exp.baseline;
  meta["shard_index"] = options.shard_index;
  meta["shard_count"] = options.shard_count;
  // This invocation's process peak over the sweep (not only since the last cell's reset).
  meta["peak_rss_bytes"] = sweep_peak;
  meta["cells_run"] = ran;
  meta["cells_skipped"] = skipped;
  meta["cells_total"] = grid.size();
  const std::string manifest_name =
      options.shard_count == 1 ? "experiment.json"
                               : "experiment.shard" + std::to_string(options.shard_index) + ".json";
  framework::WriteFileAtomic(options.out_dir + "/" + manifest_name, meta.dump(2) + "\n");
  WriteResultsCsv(options.out_dir);
  if (stats) {
    stats->ran = ran;
    stats->skipped = skipped;
    stats->total = static_cast<int>(mine.size());
    stats->seconds = sweep_clock.Seconds();
    stats->peak_rss_bytes = sweep_peak;
  }
  return ran;
}

void WriteResultsCsv(const std::string& out_dir) {
  // The manifests name the grid's cells; stale cells from other configurations in the same
  // folder are not part of this experiment's results.
  std::set<std::string> cells;
  std::string experiment;
  for (const auto& entry : fs::directory_iterator(out_dir)) {
    const std::string fname = entry.path().filename().string();
    if (fname.rfind("experiment", 0) != 0 || entry.path().extension() != ".json") continue;
    const auto j = nlohmann::json::parse(framework::ReadFile(entry.path().string()));
    experiment = j.value("experiment", "");
    for (const auto& c : j["cells"]) cells.insert(c.get<std::string>());
  }
  // Rows follow the grid order (cell_index), so results.csv reads like the experiment file.
  std::vector<std::pair<int64_t, nlohmann::json>> runs;
  for (const auto& c : cells) {
    const std::string run = out_dir + "/" + c + "/run.json";
    if (!framework::FileExists(run)) continue;  // another shard's unfinished cell
    auto j = nlohmann::json::parse(framework::ReadFile(run));
    runs.emplace_back(j.value("cell_index", int64_t{0}), std::move(j));
  }
  std::stable_sort(runs.begin(), runs.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::ostringstream csv;
  // `features` (last, so the earlier columns keep their positions) is what the cell actually
  // read per modality, from run.json: "image=image:mobilenet_v2;text=text:glove:100", a
  // masked modality as "image=absent"; empty for models that read no frozen features.
  csv << "experiment,dataset,split,train_fraction,seed,model,ablation,metric,k,value,features\n";
  for (const auto& [index, j] : runs) {
    const auto& cfg = j["config"];
    std::string features;
    if (j.contains("modalities"))
      for (const auto& u : j["modalities"])
        features += (features.empty() ? "" : ";") + u.value("modality", std::string("?")) + "=" +
                    (u.value("available", true) ? u.value("spec", std::string()) : std::string("absent"));
    std::string quoted = "\"";
    for (char c : features) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    quoted += '"';
    for (const auto& m : j["metrics"]) {
      csv << experiment << "," << cfg["dataset"].get<std::string>() << "," << '"'
          << cfg["split"].get<std::string>() << '"' << "," << FormatDouble(cfg["train_fraction"].get<double>())
          << "," << cfg["seed"].get<uint64_t>() << "," << j["label"].get<std::string>() << ","
          << j.value("ablation", std::string("none")) << "," << m["metric"].get<std::string>() << "," << m["k"].get<int>() << ","
          << FormatDouble(m["value"].get<double>()) << "," << quoted << "\n";
    }
  }
  framework::WriteFileAtomic(out_dir + "/results.csv", csv.str());
}

}  // namespace recfuse::experiments

namespace recfuse::experiments {

namespace {

// Manifests (experiment.json / experiment.shard<i>.json) directly inside dir.
std::vector<std::pair<std::string, nlohmann::json>> ReadManifests(const std::string& dir) {
  std::vector<std::pair<std::string, nlohmann::json>> out;
  if (!fs::is_directory(dir)) throw framework::IoError(dir + ": not a directory");
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string f = e.path().filename().string();
    if (f.rfind("experiment", 0) == 0 && e.path().extension() == ".json") names.push_back(e.path().string());
  }
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(framework::ReadFile(n));
    } catch (const nlohmann::json::exception& e) {
      throw framework::DataError(n, 1, std::string("not a valid manifest: ") + e.what());
    }
    if (!j.contains("cells") || !j["cells"].is_array())
      throw framework::DataError(n, 1, "manifest has no 'cells' list");
    out.emplace_back(n, std::move(j));
  }
  return out;
}

}  // namespace

int MergeShards(const std::string& out_dir, const std::vector<std::string>& shard_dirs) {
  std::vector<std::string> sources = shard_dirs;
  if (sources.empty()) sources.push_back(out_dir);
  std::error_code ec;
  const auto same_dir = [&](const std::string& a) { return fs::equivalent(a, out_dir, ec); };

  nlohmann::json first;
  std::string first_file;
  std::map<int64_t, std::string> cells;  // cell_index -> relative cell dir
  std::vector<std::pair<std::string, std::string>> copies;  // from, rel
  std::set<std::string> listed;
  int64_t peak = 0, total = -1;
  std::set<int> shards_seen;
  int shard_count = 0;
  for (const auto& src : sources) {
    const auto manifests = ReadManifests(src);
    if (manifests.empty())
      throw ConfigError(src + ": no experiment.json or experiment.shard<i>.json (not a 'recfuse run' output)");
    for (const auto& [file, m] : manifests) {
      if (first.is_null()) {
        first = m;
        first_file = file;
      } else if (m.value("experiment", "") != first.value("experiment", "") ||
                 m.value("config", nlohmann::json()) != first.value("config", nlohmann::json())) {
        throw ConfigError(file + ": experiment or configuration differs from " + first_file +
                          "; shards of different sweeps cannot be merged");
      }
      peak = std::max(peak, m.value("peak_rss_bytes", int64_t{0}));
      if (m.contains("cells_total")) total = m["cells_total"].get<int64_t>();
      if (m.contains("shard_count")) {
        shard_count = std::max(shard_count, m["shard_count"].get<int>());
        shards_seen.insert(m["shard_index"].get<int>());
      }
      for (const auto& c : m["cells"]) {
        const std::string rel = c.get<std::string>();
        if (!listed.insert(rel).second) continue;
        const std::string from = src + "/" + rel;
        const std::string to = out_dir + "/" + rel;
        if (!framework::FileExists(from + "/run.json"))
          throw ConfigError(from + ": cell listed in " + file + " is not finished (no run.json); resume that shard first");
        if (!same_dir(src) && !framework::FileExists(to + "/run.json")) copies.emplace_back(from, rel);
        const auto run = nlohmann::json::parse(framework::ReadFile(from + "/run.json"));
        cells[run.value("cell_index", int64_t{0})] = rel;
      }
    }
  }
  if (shard_count > 1 && static_cast<int>(shards_seen.size()) < shard_count) {
    std::string missing;
    for (int i = 0; i < shard_count; ++i)
      if (!shards_seen.count(i)) missing += (missing.empty() ? "" : ", ") + std::to_string(i);
    throw ConfigError("merge: shard(s) " + missing + " of " + std::to_string(shard_count) +
                      " have no manifest in the given folders");
  }
  if (total >= 0 && static_cast<int64_t>(cells.size()) != total)
    throw ConfigError("merge: " + std::to_string(cells.size()) + " finished cells, but the grid has " +
                      std::to_string(total));

  // Everything checked: only now is out_dir touched.
  framework::MakeDirs(out_dir + "/cells");
  for (const auto& [from, rel] : copies) {
    // Copy into a temporary sibling, then rename: a killed merge leaves no half cell that a
    // later run would take for finished.
    const std::string to = out_dir + "/" + rel;
    const std::string tmp = out_dir + "/cells/.merge.tmp." + std::to_string(::getpid());
    fs::remove_all(tmp, ec);
    fs::copy(from, tmp, fs::copy_options::recursive);
    fs::remove_all(to, ec);
    fs::rename(tmp, to);
  }

  nlohmann::json meta = first;
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [index, rel] : cells) list.push_back(rel);
  meta["cells"] = list;
  meta["shard"] = "merged";
  meta["shard_index"] = 0;
  meta["shard_count"] = 1;
  meta["merged_from"] = sources;
  meta["peak_rss_bytes"] = peak;  // the largest shard's peak: shards ran in separate processes
  meta.erase("cells_run");
  meta.erase("cells_skipped");
  // Shard manifests in out_dir are superseded by the merged one (WriteResultsCsv reads all).
  for (const auto& e : fs::directory_iterator(out_dir)) {
    const std::string f = e.path().filename().string();
    if (f.rfind("experiment.shard", 0) == 0 && e.path().extension() == ".json") fs::remove(e.path(), ec);
  }
  framework::WriteFileAtomic(out_dir + "/experiment.json", meta.dump(2) + "\n");
  WriteResultsCsv(out_dir);
  return static_cast<int>(cells.size());
}

}  // namespace recfuse::experiments
