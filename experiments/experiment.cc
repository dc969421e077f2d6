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
#include <numeric>
#include <tuple>
#include <set>
#include <sstream>

#include "datasets/load.h"
#include "datasets/split.h"
#include "datasets/split_cache.h"
#include "datasets/synthetic.h"
#include "eval/metrics.h"
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
      {"headline", ParamType::kString, "",
       "metric@K labels a report leads with, e.g. recall@20, ndcg@20 (default: those when 20 is in ks, else "
       "ndcg@<first K>)"},
      {"valid_metric", ParamType::kString, "ndcg@10",
       "early-stopping criterion of iterative models on the validation split, <metric>@<K>"},
      {"ablations", ParamType::kString, "none",
       "modality ablations: comma list of none, -id, -text, -image, -kg, -history"},
      {"ablation_splits", ParamType::kString, "",
       "the splits ablated variants run on (default: all; e.g. the cold-item split, where content must matter)"},
      {"ablation_fractions", ParamType::kFloatList, "",
       "the train fractions ablated variants run at (default: all; e.g. 1.0 beside a sparsity curve)", 1e-9, 1},
      {"image_features", ParamType::kString, "",
       "feature axis: ';'-separated image specs, one variant of each model that reads image_features"},
      {"text_features", ParamType::kString, "",
       "feature axis: ';'-separated text specs, one variant of each model that reads text_features"},
      {"kg_features", ParamType::kString, "",
       "feature axis: ';'-separated KG specs, one variant of each model that reads kg_features"},
      {"tune", ParamType::kString, "none",
       "hyperparameter search on validation: none, grid, random:N, halving (grid start) or halving:N (N draws)"},
      {"tune_seeds", ParamType::kIntList, "", "seeds of each selection trial (score = mean); default: the first seed",
       0, 1e18},
      {"tune_sampling_seed", ParamType::kInt, "0", "seed of the random:N / halving:N draws", 0, 1e18},
      {"tune_variants", ParamType::kString, "inherit",
       "inherit: ablations and sparsity levels use the full model's choice; tune: each is tuned itself", 0, 0,
       {"inherit", "tune"}},
      {"halving_eta", ParamType::kInt, "3", "successive halving: keep 1/eta of the configurations per round", 2, 100},
      {"halving_resource", ParamType::kString, "",
       "successive halving: the budget hyperparameter (default epochs, else iterations, if the model declares it)"},
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
      bool searched = false;
      for (const auto& d : m.search) searched |= d.param == axis;
      if (!declared || m.params.Has(axis) || searched) continue;
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

// The budget parameter successive halving varies for a model: the configured one, else
// epochs, else iterations; "" when the model declares none (its candidates then run once
// at full budget).
std::string BudgetParam(const Experiment& exp, const ModelSpecEntry& m) {
  const auto& specs = models::FindModel(m.type).params;
  auto declared = [&](const std::string& n) {
    for (const auto& p : specs)
      if (p.name == n) return true;
    return false;
  };
  if (!exp.halving_resource.empty()) return declared(exp.halving_resource) ? exp.halving_resource : "";
  for (const char* n : {"epochs", "iterations"})
    if (declared(n)) return n;
  return "";
}

std::string FormatDouble(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string FractionText(double f) {
  std::ostringstream o;
  o << f;
  return o.str();
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A subset of the experiment's splits (compared by their parsed form, returned as the
// experiment spells them) or train fractions, from key `what` (for messages) at `origin`.
std::vector<std::string> SplitSubset(const Experiment& exp, const std::string& what, const std::string& value,
                                     const std::string& origin) {
  std::vector<std::string> known, out;
  std::string listed;
  for (const auto& s : exp.splits) {
    known.push_back(datasets::SplitSpec::Parse(s).ToString());
    listed += (listed.empty() ? "" : "; ") + s;
  }
  for (const auto& s : SplitSpecList(value)) {
    std::string canon;
    try {
      canon = datasets::SplitSpec::Parse(s).ToString();
    } catch (const framework::Error& e) {
      throw ConfigError(what + ": " + e.what() + " (from " + origin + ")");
    }
    const auto it = std::find(known.begin(), known.end(), canon);
    if (it == known.end())
      throw ConfigError(what + ": '" + s + "' is not one of the experiment's splits (" + listed + ") (from " + origin +
                        ")");
    const std::string& spelled = exp.splits[static_cast<size_t>(it - known.begin())];
    if (std::find(out.begin(), out.end(), spelled) != out.end())
      throw ConfigError(what + ": '" + s + "' listed twice (from " + origin + ")");
    out.push_back(spelled);
  }
  if (out.empty()) throw ConfigError(what + " is empty (from " + origin + ")");
  return out;
}

std::vector<double> FractionSubset(const Experiment& exp, const std::string& what, const std::vector<double>& values,
                                   const std::string& origin) {
  std::string listed;
  std::vector<double> out;
  for (double f : exp.train_fractions) listed += (listed.empty() ? "" : ", ") + FractionText(f);
  for (double f : values) {
    const auto it = std::find_if(exp.train_fractions.begin(), exp.train_fractions.end(),
                                 [f](double e) { return std::abs(e - f) <= 1e-12; });
    if (it == exp.train_fractions.end())
      throw ConfigError(what + ": " + FractionText(f) + " is not one of the experiment's train_fractions (" + listed +
                        ") (from " + origin + ")");
    if (std::find(out.begin(), out.end(), *it) != out.end())
      throw ConfigError(what + ": " + FractionText(f) + " listed twice (from " + origin + ")");
    out.push_back(*it);
  }
  if (out.empty()) throw ConfigError(what + " is empty (from " + origin + ")");
  return out;
}

// A model section's `splits` / `train_fractions`: which of the experiment's grid cells the
// model gets (each value one of the experiment's); the keys are removed from `sec` (they are
// not hyperparameters).
void RestrictModelGrid(const Experiment& exp, const std::string& label, framework::Config* sec,
                       ModelSpecEntry* m) {
  if (sec->Has("splits")) {
    m->splits = SplitSubset(exp, "model." + label + ".splits", sec->GetString("splits", ""), sec->Origin("splits"));
    sec->Erase("splits");
  }
  if (sec->Has("train_fractions")) {
    m->train_fractions = FractionSubset(exp, "model." + label + ".train_fractions",
                                        sec->GetDoubleList("train_fractions", {}), sec->Origin("train_fractions"));
    sec->Erase("train_fractions");
  }
}

// A model section's `ablations`: a subset of the experiment's (parsed after the models,
// so checked here in a second pass), kept in the experiment's order; `none`, the full
// model, is always run.
void RestrictModelAblations(Experiment* exp, const std::map<std::string, framework::Config>& model_sections) {
  for (auto& m : exp->models) {
    // Feature-axis variants (LABEL@tag) share their section.
    const std::string base = m.label.substr(0, m.label.find('@'));
    const auto sec = model_sections.find(base);
    if (sec == model_sections.end() || !sec->second.Has("ablations")) continue;
    const std::string origin = sec->second.Origin("ablations");
    std::vector<std::string> chosen;
    for (const auto& a : sec->second.GetStringList("ablations", {})) {
      if (std::find(exp->ablations.begin(), exp->ablations.end(), a) == exp->ablations.end()) {
        std::string listed;
        for (const auto& e : exp->ablations) listed += (listed.empty() ? "" : ", ") + e;
        throw ConfigError("model." + base + ".ablations: '" + a + "' is not one of the experiment's ablations (" +
                          listed + ") (from " + origin + ")");
      }
      if (std::find(chosen.begin(), chosen.end(), a) != chosen.end())
        throw ConfigError("model." + base + ".ablations: '" + a + "' listed twice (from " + origin + ")");
      chosen.push_back(a);
    }
    if (chosen.empty()) throw ConfigError("model." + base + ".ablations is empty (from " + origin + ")");
    chosen.push_back("none");  // the full model always runs
    for (const auto& a : exp->ablations)
      if (std::find(chosen.begin(), chosen.end(), a) != chosen.end()) m.ablations.push_back(a);
  }
}

// `headline`: metric@K labels, each a metric the cells compute (eval's registry, and
// `metrics` when set) at a K of `ks`. Default: recall@20 and ndcg@20 when 20 is in ks, else
// ndcg@<first K>.
std::vector<std::string> ParseHeadline(const framework::Config& top, const eval::EvalOptions& eval) {
  const auto has_k = [&](int64_t k) { return std::find(eval.ks.begin(), eval.ks.end(), k) != eval.ks.end(); };
  if (!top.Has("headline")) {
    if (has_k(20)) return {"recall@20", "ndcg@20"};
    return {"ndcg@" + std::to_string(eval.ks.front())};
  }
  const std::string origin = top.Origin("headline");
  std::vector<std::string> out;
  for (const auto& item : top.GetStringList("headline", {})) {
    const size_t at = item.find('@');
    int64_t k = 0;
    if (at == std::string::npos || !framework::ParseInt64(item.substr(at + 1), &k) || k <= 0)
      throw ConfigError("headline: '" + item + "' is not <metric>@<K>, e.g. ndcg@20 (from " + origin + ")");
    std::string metric = Lower(item.substr(0, at));
    const eval::MetricDef* def = nullptr;
    try {
      def = &eval::FindMetric(metric);
    } catch (const ConfigError& e) {
      throw ConfigError("headline: " + std::string(e.what()) + " (from " + origin + ")");
    }
    if (!def->uses_k())
      throw ConfigError("headline: '" + item + "': " + metric + " has no cut-off K (from " + origin + ")");
    bool computed = false;
    for (const auto& m : eval.metrics) computed |= Lower(m) == metric;
    if (!computed)
      throw ConfigError("headline: '" + item + "': " + metric + " is not among the experiment's metrics (from " +
                        origin + ")");
    if (!has_k(k)) {
      std::string ks;
      for (int x : eval.ks) ks += (ks.empty() ? "" : ", ") + std::to_string(x);
      throw ConfigError("headline: '" + item + "': K=" + std::to_string(k) + " is not in ks (" + ks + ") (from " +
                        origin + ")");
    }
    const std::string label = metric + "@" + std::to_string(k);
    if (std::find(out.begin(), out.end(), label) != out.end())
      throw ConfigError("headline: '" + item + "' listed twice (from " + origin + ")");
    out.push_back(label);
  }
  if (out.empty()) throw ConfigError("headline is empty (from " + origin + ")");
  return out;
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

  // Before the models: a model section may restrict itself to a subset of these.
  exp.splits = SplitSpecList(top.GetString(TopLevelSpecs(), "splits"));
  for (const auto& s : exp.splits) datasets::SplitSpec::Parse(s);
  exp.train_fractions = top.GetDoubleList("train_fractions", {1.0});

  exp.tune = TuneStrategy::Parse(top.GetString(TopLevelSpecs(), "tune"));
  for (const auto& label : top.GetStringList("models", {})) {
    ModelSpecEntry m;
    m.tune = exp.tune;  // unless the section sets its own
    m.label = label;
    framework::Config sec = model_sections.count(label) ? model_sections[label] : framework::Config();
    m.type = sec.GetString("type", label);
    sec.Erase("type");
    RestrictModelGrid(exp, label, &sec, &m);
    sec.Erase("ablations");  // checked against the experiment's list below
    const framework::Config written = sec;  // sec loses its search.* keys below
    std::string own_tune;
    if (sec.Has("tune")) {
      own_tune = sec.GetString("tune", "");
      try {
        m.tune = TuneStrategy::Parse(own_tune);
      } catch (const ConfigError& e) {
        throw ConfigError(std::string(e.what()) + " (from " + written.Origin("tune") + ")");
      }
      sec.Erase("tune");
    }
    for (const auto& [k, v] : written.values()) {
      if (k.rfind("search.", 0) != 0) continue;
      const std::string param = k.substr(7);
      const framework::ParamSpec* spec = nullptr;
      try {
        for (const auto& p : models::FindModel(m.type).params)
          if (p.name == param) spec = &p;
      } catch (const framework::UnknownIdError&) {
        break;  // reported below, where the model is looked up
      }
      if (!spec)
        throw ConfigError("search." + param + ": model " + label + " (" + m.type + ") has no hyperparameter '" +
                          param + "' (from " + written.Origin(k) + ")");
      if (sec.Has(param))
        throw ConfigError("model " + label + " sets both " + param + " and search." + param + " (from " +
                          written.Origin(k) + "); keep one");
      m.search.push_back(ParseSearchDim(param, v, *spec, written.Origin(k)));
      sec.Erase(k);
    }
    if (!own_tune.empty() && m.search.empty())
      throw ConfigError("model " + label + " sets tune = " + own_tune + " but has no search.* space (from " +
                        written.Origin("tune") + ")");
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

  for (auto s : top.GetIntList("seeds", {0})) exp.seeds.push_back(static_cast<uint64_t>(s));
  exp.eval.ks.clear();
  for (auto k : top.GetIntList("ks", {10, 20, 50})) exp.eval.ks.push_back(static_cast<int>(k));
  if (top.Has("metrics")) exp.eval.metrics = top.GetStringList("metrics", {});
  exp.eval.sampled_negatives = static_cast<int>(top.GetInt(TopLevelSpecs(), "sampled_negatives"));
  exp.headline = ParseHeadline(top, exp.eval);
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
  RestrictModelAblations(&exp, model_sections);
  if (top.Has("ablation_splits"))
    exp.ablation_splits =
        SplitSubset(exp, "ablation_splits", top.GetString("ablation_splits", ""), top.Origin("ablation_splits"));
  if (top.Has("ablation_fractions"))
    exp.ablation_fractions = FractionSubset(exp, "ablation_fractions", top.GetDoubleList("ablation_fractions", {}),
                                            top.Origin("ablation_fractions"));
  for (const auto& a : exp.ablations) {
    bool applies = false;
    for (const auto& m : exp.models)
      applies |= (m.ablations.empty() || std::find(m.ablations.begin(), m.ablations.end(), a) != m.ablations.end()) &&
                 AblationApplies(models::FindModel(m.type).params, m.params, a);
    if (!applies) {
      RF_LOG(Warn) << "ablation " << a << " applies to no model of " << path << " (none declares use_" << a.substr(1)
                   << "); it adds no cells";
    }
  }
  bool any_search = false;
  for (const auto& m : exp.models) {
    if (!m.search.empty() && m.tune.kind == TuneStrategy::Kind::kNone)
      throw ConfigError("experiment " + path + " has search.* spaces for model " + m.label +
                        " but tune = none; set tune = grid, random:N or halving (top level or in [model." + m.label +
                        "])");
    any_search |= !m.search.empty();
  }
  if (!any_search && exp.tune.kind != TuneStrategy::Kind::kNone) {
    RF_LOG(Warn) << "tune = " << exp.tune.ToString() << " but no model of " << path << " has a search.* space";
  }
  for (auto s : top.GetIntList("tune_seeds", {})) exp.tune_seeds.push_back(static_cast<uint64_t>(s));
  if (exp.tune_seeds.empty()) exp.tune_seeds.push_back(exp.seeds.front());
  exp.tune_sampling_seed = static_cast<uint64_t>(top.GetInt(TopLevelSpecs(), "tune_sampling_seed"));
  exp.tune_variants = top.GetString(TopLevelSpecs(), "tune_variants") == "tune";
  exp.halving_eta = static_cast<int>(top.GetInt(TopLevelSpecs(), "halving_eta"));
  exp.halving_resource = top.GetString(TopLevelSpecs(), "halving_resource");
  for (const auto& m : exp.models) {
    if (m.search.empty()) continue;
    // Candidates are drawn now so that a bad space (a range under grid, an invalid value)
    // fails before any training.
    const auto candidates = ExpandSearchSpace(m.search, m.tune, exp.tune_sampling_seed);
    const auto& specs = models::FindModel(m.type).params;
    for (const auto& c : candidates) {
      framework::Config probe = m.params;
      probe.Merge(c);
      probe.Validate(specs, "model " + m.label + " (" + m.type + ") with searched values " + c.Canonical());
    }
    if (!exp.halving_resource.empty()) {
      bool declared = false;
      for (const auto& p : specs) declared |= p.name == exp.halving_resource;
      if (!declared && m.tune.kind == TuneStrategy::Kind::kHalving) {
        RF_LOG(Warn) << "model " << m.label << " has no '" << exp.halving_resource
                     << "' hyperparameter: its candidates all run at full budget (one round)";
      }
    }
    for (const auto& d : m.search)
      if (m.tune.kind == TuneStrategy::Kind::kHalving && d.param == BudgetParam(exp, m))
        throw ConfigError("search." + d.param + ": the halving budget parameter cannot also be searched");
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
  const framework::ParamSpec* spec = nullptr;
  for (const auto& p : specs)
    if (p.name == param) spec = &p;
  if (!spec) return false;
  // Removing what is already off would only repeat the full model: the switch's effective
  // value decides, the model's default when the file does not set it.
  return model_params.Has(param) ? model_params.GetBool(param, true) : spec->default_value == "true";
}

std::vector<GridCell> ExpandGrid(const Experiment& exp) {
  std::vector<GridCell> cells;
  for (size_t d = 0; d < exp.datasets.size(); ++d)
    for (const auto& split : exp.splits)
      for (double frac : exp.train_fractions)
        for (uint64_t seed : exp.seeds)
          for (const auto& m : exp.models)
            for (const auto& ablation : exp.ablations) {
            if (!m.splits.empty() && std::find(m.splits.begin(), m.splits.end(), split) == m.splits.end()) continue;
            if (!m.train_fractions.empty() &&
                std::find(m.train_fractions.begin(), m.train_fractions.end(), frac) == m.train_fractions.end())
              continue;
            if (!m.ablations.empty() &&
                std::find(m.ablations.begin(), m.ablations.end(), ablation) == m.ablations.end())
              continue;
            if (ablation != "none" &&
                ((!exp.ablation_splits.empty() && std::find(exp.ablation_splits.begin(), exp.ablation_splits.end(),
                                                            split) == exp.ablation_splits.end()) ||
                 (!exp.ablation_fractions.empty() &&
                  std::find(exp.ablation_fractions.begin(), exp.ablation_fractions.end(), frac) ==
                      exp.ablation_fractions.end())))
              continue;
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

namespace {

// A tuning group: one search, whose chosen configuration serves every cell mapped to it.
struct TuneGroup {
  size_t dataset_index = 0;
  std::string split;
  double fraction = 1.0;
  const ModelSpecEntry* model = nullptr;
  std::string ablation = "none";
  std::string id;  // stable, file-name safe
  std::vector<framework::Config> candidates;
  std::vector<HalvingRound> rounds;
  std::string budget_param;           // "" = candidates run at the model's configured budget
  std::vector<size_t> alive;          // candidates of the current round
  std::vector<std::vector<double>> round_scores;  // [round][candidate], NaN = not run
  size_t chosen = 0;
  double chosen_score = 0;
};

struct TrialItem {
  size_t group = 0;
  int round = 0;
  size_t candidate = 0;
  uint64_t seed = 0;
  CellSpec spec;
  std::string dir;
};

// Waits until every dir has run.json (other shards sharing out_dir write theirs).
void Barrier(const std::vector<std::string>& dirs, const RunOptions& options, const std::string& what) {
  const framework::Stopwatch sw;
  double next_note = 60;
  for (;;) {
    std::vector<std::string> missing;
    for (const auto& d : dirs)
      if (!framework::FileExists(d + "/run.json")) missing.push_back(d);
    if (missing.empty()) return;
    if (sw.Seconds() > options.barrier_timeout_seconds)
      throw framework::Error("tuning barrier (" + what + "): " + std::to_string(missing.size()) +
                             " trial(s) of other shards not finished after " +
                             framework::FormatDuration(sw.Seconds()) + ", e.g. " + missing.front() +
                             " (do all shards share the output folder, and are they running?)");
    if (sw.Seconds() > next_note) {
      // A shard that never started in this folder is the usual mistake: tuned sweeps need
      // every shard to write into one shared output folder.
      std::string absent;
      for (int i = 0; i < options.shard_count; ++i)
        if (!framework::FileExists(options.out_dir + "/shards/" + std::to_string(i) + ".started"))
          absent += (absent.empty() ? "" : ", ") + std::to_string(i);
      RF_LOG(Info) << "waiting for " << missing.size() << " trial(s) of other shards (" << what << ")"
                   << (absent.empty() ? ""
                                      : "; shard(s) " + absent + " have not started in " + options.out_dir +
                                            " (a tuned sweep's shards must share one output folder)");
      next_note += 60;
    }
    ::usleep(100000);
  }
}

nlohmann::json ConfigJson(const framework::Config& c) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : c.values()) j[k] = v;
  return j;
}

}  // namespace

int RunExperiment(const Experiment& exp, const RunOptions& options, RunStats* stats) {
  if (options.shard_count < 1 || options.shard_index < 0 || options.shard_index >= options.shard_count)
    throw ConfigError("--shard must be i/n with 0 <= i < n");
  framework::MakeDirs(options.out_dir);
  framework::MakeDirs(options.out_dir + "/cells");
  const std::string cache = options.cache_dir;
  const auto mine_index = [&](size_t i) { return static_cast<int>(i % options.shard_count) == options.shard_index; };

  auto grid = ExpandGrid(exp);

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

  int ran = 0, skipped = 0, trials_ran = 0, trials_skipped = 0, trials_mine = 0;
  double spent = 0;
  const framework::Stopwatch sweep_clock;
  // Each cell resets the kernel's RSS watermark (RunCell), so the sweep's peak is the max of
  // the cells' peaks and of the watermark between cells (dataset loading, generation).
  int64_t sweep_peak = 0;
  nlohmann::json manifest = nlohmann::json::array();
  nlohmann::json trial_manifest = nlohmann::json::array();

  // ---- Selection on validation: groups, then rounds of trials with a barrier after each.
  std::vector<TuneGroup> groups;
  std::vector<int> group_of(grid.size(), -1);
  if (std::any_of(exp.models.begin(), exp.models.end(), [](const ModelSpecEntry& m) { return !m.search.empty(); })) {
    for (size_t i = 0; i < grid.size(); ++i) {
      const GridCell& c = grid[i];
      const ModelSpecEntry* m = nullptr;
      for (const auto& e : exp.models)
        if (e.label == c.model_label) m = &e;
      if (!m || m->search.empty()) continue;
      // The largest fraction this model runs at (its section may leave some out).
      double max_fraction = 0;
      for (double f : m->train_fractions.empty() ? exp.train_fractions : m->train_fractions)
        max_fraction = std::max(max_fraction, f);
      const double frac = exp.tune_variants ? c.spec.train_fraction : max_fraction;
      const std::string abl = exp.tune_variants ? c.ablation : "none";
      int g = -1;
      for (size_t k = 0; k < groups.size(); ++k)
        if (groups[k].dataset_index == c.dataset_index && groups[k].split == c.spec.split &&
            groups[k].fraction == frac && groups[k].model == m && groups[k].ablation == abl)
          g = static_cast<int>(k);
      if (g < 0) {
        TuneGroup t;
        t.dataset_index = c.dataset_index;
        t.split = c.spec.split;
        t.fraction = frac;
        t.model = m;
        t.ablation = abl;
        framework::Hasher h;
        h.Add(exp.datasets[c.dataset_index].name).Add(datasets::SplitSpec::Parse(c.spec.split).ToString())
            .AddPod(frac).Add(m->label).Add(abl);
        t.id = exp.datasets[c.dataset_index].name + "__" + m->label + (abl == "none" ? "" : abl) + "__" +
               h.HexDigest().substr(0, 12);
        t.candidates = ExpandSearchSpace(m->search, m->tune, exp.tune_sampling_seed);
        const int n = static_cast<int>(t.candidates.size());
        t.budget_param = m->tune.kind == TuneStrategy::Kind::kHalving ? BudgetParam(exp, *m) : "";
        if (t.budget_param.empty()) {
          t.rounds = {{n, 0}};
        } else {
          const int64_t max_budget = m->params.GetInt(models::FindModel(m->type).params, t.budget_param);
          t.rounds = HalvingSchedule(n, max_budget, exp.halving_eta);
        }
        t.alive.resize(t.candidates.size());
        std::iota(t.alive.begin(), t.alive.end(), size_t{0});
        groups.push_back(std::move(t));
        g = static_cast<int>(groups.size() - 1);
      }
      group_of[i] = g;
    }
  }

  if (!groups.empty() && options.shard_count > 1) {
    framework::MakeDirs(options.out_dir + "/shards");
    char host[256] = {0};
    ::gethostname(host, sizeof host - 1);
    framework::WriteFileAtomic(options.out_dir + "/shards/" + std::to_string(options.shard_index) + ".started",
                               std::string(host) + " " + std::to_string(::getpid()) + "\n");
  }
  size_t work_index = 0;  // global index over trials then cells: sharding and results order
  int max_rounds = 0;
  for (const auto& g : groups) max_rounds = std::max(max_rounds, static_cast<int>(g.rounds.size()));
  // Views of (dataset, split, seed, fraction) without test rows; a few are kept.
  std::map<std::tuple<size_t, std::string, uint64_t, double>, TrainValidView> views;
  for (int round = 0; round < max_rounds; ++round) {
    std::vector<TrialItem> items;
    for (size_t g = 0; g < groups.size(); ++g) {
      TuneGroup& t = groups[g];
      if (round >= static_cast<int>(t.rounds.size())) continue;
      for (size_t c : t.alive)
        for (uint64_t seed : exp.tune_seeds) {
          TrialItem it;
          it.group = g;
          it.round = round;
          it.candidate = c;
          it.seed = seed;
          CellSpec& s = it.spec;
          s.dataset_name = exp.datasets[t.dataset_index].name;
          s.split = t.split;
          s.seed = seed;
          s.train_fraction = t.fraction;
          s.model = t.model->type;
          s.model_params = t.model->params;
          s.model_params.Merge(t.candidates[c]);
          if (!t.budget_param.empty())
            s.model_params.Set(t.budget_param, std::to_string(t.rounds[round].budget), "successive halving round");
          if (t.ablation != "none") s.model_params.Set("use_" + t.ablation.substr(1), "false", "ablation " + t.ablation);
          s.eval = exp.eval;
          s.threads = exp.threads;
          s.valid_metric = exp.valid_metric;
          s.cache_dir = cache;
          items.push_back(std::move(it));
        }
    }
    std::vector<std::string> dirs;
    for (size_t n = 0; n < items.size(); ++n, ++work_index) {
      TrialItem& it = items[n];
      const TuneGroup& t = groups[it.group];
      dataset(t.dataset_index);  // loads, and fixes the hash
      framework::Hasher h;
      h.Add(CellKey(it.spec, hashes[t.dataset_index])).Add("selection trial");
      it.dir = options.out_dir + "/trials/" + t.id + "__r" + std::to_string(round) + "__" + h.HexDigest();
      dirs.push_back(it.dir);
      if (!mine_index(work_index)) continue;
      ++trials_mine;
      trial_manifest.push_back(it.dir.substr(options.out_dir.size() + 1));
      if (framework::FileExists(it.dir + "/run.json")) {
        ++trials_skipped;
        continue;
      }
      const auto key = std::make_tuple(t.dataset_index, t.split, it.seed, t.fraction);
      if (!views.count(key)) {
        if (views.size() >= 4) views.clear();
        const auto& data = dataset(t.dataset_index);
        const auto split = datasets::LoadOrMakeSplit(data, datasets::SplitSpec::Parse(t.split), it.seed, cache);
        views.emplace(key, MakeTrainValidView(data, split, t.fraction, it.seed));
      }
      framework::Stopwatch sw;
      sweep_peak = std::max(sweep_peak, framework::PeakRssBytes());
      TrialResult r = RunTrial(views.at(key), it.spec);
      sweep_peak = std::max(sweep_peak, r.cell.peak_rss_bytes);
      nlohmann::json j = r.cell.meta;
      j["experiment"] = exp.name;
      j["label"] = t.model->label;
      j["ablation"] = t.ablation;
      j["role"] = "trial";
      j["cell_index"] = work_index;
      j["data_hash"] = framework::ToHex(hashes[t.dataset_index]);
      nlohmann::json space = nlohmann::json::object();
      for (const auto& d : t.model->search) space[d.param] = d.ToString();
      nlohmann::json params = ConfigJson(t.candidates[it.candidate]);
      if (!t.budget_param.empty()) params[t.budget_param] = std::to_string(t.rounds[round].budget);
      j["tuning"] = {{"group", t.id},
                     {"dataset", exp.datasets[t.dataset_index].name},
                     {"split", t.split},
                     {"train_fraction", t.fraction},
                     {"model", t.model->label},
                     {"ablation", t.ablation},
                     {"strategy", t.model->tune.ToString()},
                     {"space", space},
                     {"valid_metric", exp.valid_metric},
                     {"round", round},
                     {"rounds", t.rounds.size()},
                     {"budget_param", t.budget_param},
                     {"budget", t.budget_param.empty() ? nlohmann::json() : nlohmann::json(t.rounds[round].budget)},
                     {"candidate", it.candidate},
                     {"candidates", t.candidates.size()},
                     {"params", params},
                     {"tune_seed", it.seed}};
      framework::MakeDirs(it.dir);
      framework::WriteFileAtomic(it.dir + "/run.json", j.dump(2) + "\n");
      ++trials_ran;
      char buf[64];
      std::snprintf(buf, sizeof buf, "%s=%.4f", exp.valid_metric.c_str(), r.score);
      RF_LOG(Info) << "[trial r" << round << "] " << t.model->label << (t.ablation == "none" ? "" : " " + t.ablation)
                   << " " << t.candidates[it.candidate].Canonical()
                   << (t.budget_param.empty() ? "" : " " + t.budget_param + "=" + std::to_string(t.rounds[round].budget))
                   << " seed=" << it.seed << ": valid " << buf << " (" << framework::FormatDuration(sw.Seconds()) << ")";
    }
    if (options.shard_count > 1) Barrier(dirs, options, "round " + std::to_string(round));
    // Every shard reads the same files, so every shard computes the same survivors.
    std::vector<std::vector<std::pair<double, int>>> sums(groups.size());
    for (size_t g = 0; g < groups.size(); ++g) sums[g].assign(groups[g].candidates.size(), {0.0, 0});
    for (const auto& it : items) {
      const auto j = nlohmann::json::parse(framework::ReadFile(it.dir + "/run.json"));
      const double v = j["score"].is_number() ? j["score"].get<double>() : std::nan("");
      auto& [sum, n] = sums[it.group][it.candidate];
      sum += v;
      ++n;
    }
    for (size_t g = 0; g < groups.size(); ++g) {
      TuneGroup& t = groups[g];
      if (round >= static_cast<int>(t.rounds.size())) continue;
      std::vector<double> scores(t.candidates.size(), std::nan(""));
      for (size_t c : t.alive) scores[c] = sums[g][c].first / std::max(1, sums[g][c].second);
      t.round_scores.push_back(scores);
      const bool last = round + 1 == static_cast<int>(t.rounds.size());
      if (last) {
        // Ties go to the lower candidate index: candidates are in the space's fixed order.
        t.chosen = RankScores(scores, 1).front();
        t.chosen_score = scores[t.chosen];
        RF_LOG(Info) << "tuned " << t.model->label << (t.ablation == "none" ? "" : " " + t.ablation) << " on "
                     << exp.datasets[t.dataset_index].name << " " << t.split << " frac=" << t.fraction << ": "
                     << t.candidates[t.chosen].Canonical() << " (valid " << exp.valid_metric << " " << t.chosen_score
                     << ")";
      } else {
        t.alive = HalvingSurvivors(scores, t.alive, static_cast<size_t>(t.rounds[round + 1].configs));
      }
    }
  }
  views.clear();
  for (size_t i = 0; i < grid.size(); ++i) {
    if (group_of[i] < 0) continue;
    const TuneGroup& t = groups[group_of[i]];
    for (const auto& [k, v] : t.candidates[t.chosen].values())
      grid[i].spec.model_params.Set(k, v,
                                    "chosen on validation (" + t.model->tune.ToString() + ", group " + t.id + ")");
  }

  // ---- The grid's cells, each with its chosen configuration.
  std::vector<size_t> mine;
  const size_t first_cell = work_index;
  for (size_t i = 0; i < grid.size(); ++i)
    if (mine_index(first_cell + i)) mine.push_back(i);
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
    r.meta["cell_index"] = first_cell + mine[n];
    r.meta["role"] = "test";
    if (group_of[mine[n]] >= 0) {
      const TuneGroup& t = groups[group_of[mine[n]]];
      r.meta["tuned"] = {{"group", t.id},
                         {"strategy", t.model->tune.ToString()},
                         {"chosen", ConfigJson(t.candidates[t.chosen])},
                         {"valid_metric", exp.valid_metric},
                         {"valid_score", t.chosen_score},
                         {"inherited", t.ablation != cell.ablation || t.fraction != cell.spec.train_fraction}};
    }
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
  if (skipped > 0 || trials_skipped > 0) {
    RF_LOG(Info) << "resumed: skipped " << skipped << " finished cell(s)"
                 << (trials_skipped > 0 ? " and " + std::to_string(trials_skipped) + " finished trial(s)" : "");
  }
  sweep_peak = std::max(sweep_peak, framework::PeakRssBytes());
  RF_LOG(Info) << "sweep peak RSS " << sweep_peak / 1048576 << " MB (" << ran << " cell(s) run, " << skipped
               << " skipped" << (trials_mine > 0 ? ", " + std::to_string(trials_ran) + " trial(s) run" : "") << ")";

  nlohmann::json meta;
  meta["experiment"] = exp.name;
  meta["description"] = exp.description;
  meta["file"] = exp.file;
  meta["config"] = exp.raw.ToJson();
  meta["cells"] = manifest;
  if (!groups.empty()) {
    meta["trials"] = trial_manifest;
    meta["trials_total"] = first_cell;
  }
  meta["shard"] = std::to_string(options.shard_index) + "/" + std::to_string(options.shard_count);
  meta["git_commit"] = framework::GitCommit();
  meta["baseline"] = exp.baseline;
  meta["headline"] = exp.headline;
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
  if (options.shard_count == 1) WriteTuningJson(options.out_dir);
  if (stats) {
    stats->ran = ran;
    stats->skipped = skipped;
    stats->total = static_cast<int>(mine.size());
    stats->trials_ran = trials_ran;
    stats->trials_skipped = trials_skipped;
    stats->trials_total = trials_mine;
    stats->seconds = sweep_clock.Seconds();
    stats->peak_rss_bytes = sweep_peak;
  }
  return ran;
}

namespace {

// The manifests' cell and trial folders (relative to out_dir), and the experiment name.
struct ManifestLists {
  std::string experiment;
  std::set<std::string> cells, trials;
};

ManifestLists ListFromManifests(const std::string& out_dir) {
  // The manifests name the grid's cells; stale cells from other configurations in the same
  // folder are not part of this experiment's results.
  ManifestLists out;
  for (const auto& entry : fs::directory_iterator(out_dir)) {
    const std::string fname = entry.path().filename().string();
    if (fname.rfind("experiment", 0) != 0 || entry.path().extension() != ".json") continue;
    const auto j = nlohmann::json::parse(framework::ReadFile(entry.path().string()));
    out.experiment = j.value("experiment", "");
    for (const auto& c : j["cells"]) out.cells.insert(c.get<std::string>());
    if (j.contains("trials"))
      for (const auto& c : j["trials"]) out.trials.insert(c.get<std::string>());
  }
  return out;
}

// Finished run.json files of the listed folders, in cell_index order.
std::vector<nlohmann::json> ReadRuns(const std::string& out_dir, const std::set<std::string>& dirs) {
  std::vector<std::pair<int64_t, nlohmann::json>> runs;
  for (const auto& c : dirs) {
    const std::string run = out_dir + "/" + c + "/run.json";
    if (!framework::FileExists(run)) continue;  // another shard's unfinished cell
    auto j = nlohmann::json::parse(framework::ReadFile(run));
    runs.emplace_back(j.value("cell_index", int64_t{0}), std::move(j));
  }
  std::stable_sort(runs.begin(), runs.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<nlohmann::json> out;
  for (auto& [i, j] : runs) out.push_back(std::move(j));
  return out;
}

std::string CsvQuote(const std::string& s) {
  std::string quoted = "\"";
  for (char c : s) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + '"';
}

std::string ParamsField(const nlohmann::json& params) {
  std::string s;
  for (const auto& [k, v] : params.items()) s += (s.empty() ? "" : ";") + k + "=" + v.get<std::string>();
  return s;
}

}  // namespace

void WriteResultsCsv(const std::string& out_dir) {
  const ManifestLists lists = ListFromManifests(out_dir);
  // Rows follow the work order (cell_index): trials, then the grid as the file reads.
  std::vector<nlohmann::json> runs = ReadRuns(out_dir, lists.trials);
  for (auto& j : ReadRuns(out_dir, lists.cells)) runs.push_back(std::move(j));
  std::ostringstream csv;
  // `features` is what the cell actually read per modality, from run.json:
  // "image=image:mobilenet_v2;text=text:glove:100", a masked modality as "image=absent";
  // empty for models that read no frozen features. `role` and `params` (appended last so the
  // earlier columns keep their positions) tell selection trials (validation metrics) from
  // test cells and name the searched values.
  csv << "experiment,dataset,split,train_fraction,seed,model,ablation,metric,k,value,features,role,params\n";
  for (const auto& j : runs) {
    const auto& cfg = j["config"];
    std::string features;
    if (j.contains("modalities"))
      for (const auto& u : j["modalities"])
        features += (features.empty() ? "" : ";") + u.value("modality", std::string("?")) + "=" +
                    (u.value("available", true) ? u.value("spec", std::string()) : std::string("absent"));
    const std::string role = j.value("role", std::string("test"));
    std::string params;
    if (j.contains("tuning")) params = ParamsField(j["tuning"]["params"]);
    else if (j.contains("tuned")) params = ParamsField(j["tuned"]["chosen"]);
    const std::string tail = CsvQuote(features) + "," + role + "," + CsvQuote(params);
    for (const auto& m : j["metrics"]) {
      csv << lists.experiment << "," << cfg["dataset"].get<std::string>() << "," << '"'
          << cfg["split"].get<std::string>() << '"' << "," << FormatDouble(cfg["train_fraction"].get<double>())
          << "," << cfg["seed"].get<uint64_t>() << "," << j["label"].get<std::string>() << ","
          << j.value("ablation", std::string("none")) << "," << m["metric"].get<std::string>() << "," << m["k"].get<int>() << ","
          << FormatDouble(m["value"].get<double>()) << "," << tail << "\n";
    }
  }
  framework::WriteFileAtomic(out_dir + "/results.csv", csv.str());
}

void WriteTuningJson(const std::string& out_dir) {
  const ManifestLists lists = ListFromManifests(out_dir);
  const auto trials = ReadRuns(out_dir, lists.trials);
  if (trials.empty()) return;
  const auto cells = ReadRuns(out_dir, lists.cells);
  std::vector<std::string> order;
  std::map<std::string, nlohmann::json> groups;
  for (const auto& j : trials) {
    const auto& t = j["tuning"];
    const std::string id = t["group"].get<std::string>();
    if (!groups.count(id)) {
      order.push_back(id);
      nlohmann::json g;
      for (const char* k : {"group", "dataset", "split", "train_fraction", "model", "ablation", "strategy", "space",
                            "valid_metric", "rounds", "budget_param", "candidates"})
        g[k] = t[k];
      g["trials"] = nlohmann::json::array();
      g["seconds"] = 0.0;
      groups[id] = g;
    }
    auto& g = groups[id];
    g["trials"].push_back({{"round", t["round"]},
                           {"candidate", t["candidate"]},
                           {"budget", t["budget"]},
                           {"params", t["params"]},
                           {"seed", t["tune_seed"]},
                           {"score", j["score"]},
                           {"seconds", j.value("total_seconds", 0.0)},
                           {"epochs_run", j["curve"].size()}});
    g["seconds"] = g["seconds"].get<double>() + j.value("total_seconds", 0.0);
  }
  for (const auto& c : cells) {
    if (!c.contains("tuned")) continue;
    const std::string id = c["tuned"]["group"].get<std::string>();
    if (groups.count(id) && !groups[id].contains("chosen")) {
      groups[id]["chosen"] = c["tuned"]["chosen"];
      groups[id]["chosen_score"] = c["tuned"]["valid_score"];
    }
  }
  nlohmann::json out;
  out["experiment"] = lists.experiment;
  out["groups"] = nlohmann::json::array();
  for (const auto& id : order) {
    auto& g = groups[id];
    g["n_trials"] = g["trials"].size();
    out["groups"].push_back(g);
  }
  framework::WriteFileAtomic(out_dir + "/tuning.json", out.dump(2) + "\n");
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
  std::map<int64_t, std::string> cells;   // cell_index -> relative cell dir
  std::map<int64_t, std::string> trials;  // the same for selection trials
  std::vector<std::pair<std::string, std::string>> copies;  // from, rel
  std::set<std::string> listed;
  int64_t peak = 0, total = -1, trials_total = -1;
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
      if (m.contains("trials_total")) trials_total = m["trials_total"].get<int64_t>();
      std::vector<std::pair<std::string, bool>> listed_here;  // rel, is trial
      for (const auto& c : m["cells"]) listed_here.emplace_back(c.get<std::string>(), false);
      if (m.contains("trials"))
        for (const auto& c : m["trials"]) listed_here.emplace_back(c.get<std::string>(), true);
      for (const auto& [rel, is_trial] : listed_here) {
        if (!listed.insert(rel).second) continue;
        const std::string from = src + "/" + rel;
        const std::string to = out_dir + "/" + rel;
        if (!framework::FileExists(from + "/run.json"))
          throw ConfigError(from + ": cell listed in " + file + " is not finished (no run.json); resume that shard first");
        if (!same_dir(src) && !framework::FileExists(to + "/run.json")) copies.emplace_back(from, rel);
        const auto run = nlohmann::json::parse(framework::ReadFile(from + "/run.json"));
        (is_trial ? trials : cells)[run.value("cell_index", int64_t{0})] = rel;
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

  if (trials_total >= 0 && static_cast<int64_t>(trials.size()) != trials_total)
    throw ConfigError("merge: " + std::to_string(trials.size()) + " finished selection trials, but the search has " +
                      std::to_string(trials_total));

  // Everything checked: only now is out_dir touched.
  framework::MakeDirs(out_dir + "/cells");
  if (!trials.empty()) framework::MakeDirs(out_dir + "/trials");
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
  if (!trials.empty()) {
    nlohmann::json tl = nlohmann::json::array();
    for (const auto& [index, rel] : trials) tl.push_back(rel);
    meta["trials"] = tl;
  }
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
  WriteTuningJson(out_dir);
  return static_cast<int>(cells.size());
}

}  // namespace recfuse::experiments
