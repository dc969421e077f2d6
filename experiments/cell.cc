#include "experiments/cell.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <mutex>

#include "datasets/hdf5_util.h"
#include "experiments/tuning.h"

#include "datasets/split.h"
#include "datasets/split_cache.h"
#include "framework/config.h"
#include "framework/error.h"
#include "framework/hash.h"
#include "framework/io.h"
#include "framework/log.h"
#include "framework/rng.h"
#include "framework/sysinfo.h"

namespace recfuse::experiments {

nlohmann::json CellSpec::ToJson() const {
  nlohmann::json j;
  j["dataset"] = dataset_name;
  j["split"] = datasets::SplitSpec::Parse(split).ToString();
  j["seed"] = seed;
  j["train_fraction"] = train_fraction;
  j["model"] = model;
  j["model_params"] = model_params.ToJson();
  // Every declared hyperparameter with the value this cell runs with (explicit or the code's
  // default). It is part of the resume key, so a rebuilt binary whose default changed reruns
  // the cell instead of serving a result trained under the old default.
  nlohmann::json effective = nlohmann::json::object();
  for (const auto& entry : models::ModelRegistry()) {
    if (entry.name != model) continue;
    for (const auto& p : entry.params)
      effective[p.name] = model_params.GetString(entry.params, p.name);
  }
  j["effective_params"] = effective;
  j["ks"] = eval.ks;
  j["metrics"] = eval.metrics;
  j["sampled_negatives"] = eval.sampled_negatives;
  j["threads"] = threads;
  j["valid_metric"] = valid_metric;
  return j;
}

std::string DefaultCacheDir() {
  if (const char* c = std::getenv("RECFUSE_CACHE")) return c;
  if (const char* x = std::getenv("XDG_CACHE_HOME")) return std::string(x) + "/recfuse";
  if (const char* h = std::getenv("HOME")) return std::string(h) + "/.cache/recfuse";
  return "";
}

namespace {

// The run.json forms of a training curve and of a metric list, shared by cells and trials.
nlohmann::json CurveJson(const std::vector<models::EpochRecord>& records) {
  nlohmann::json curve = nlohmann::json::array();
  for (const auto& r : records)
    curve.push_back({{"epoch", r.epoch}, {"loss", r.loss},
                     {"valid_metric", std::isnan(r.valid_metric) ? nlohmann::json() : nlohmann::json(r.valid_metric)},
                     {"seconds", r.seconds}});
  return curve;
}

nlohmann::json MetricsJson(const eval::EvalResult& r) {
  nlohmann::json metrics = nlohmann::json::array();
  for (const auto& mv : r.metrics) metrics.push_back({{"metric", mv.metric}, {"k", mv.k}, {"value", mv.value}});
  return metrics;
}

// Builds and fits spec's model on train_rows of data, early-stopping on valid_rows (the
// validation split): the part a final cell and a selection trial share.
std::unique_ptr<models::Recommender> FitModel(const datasets::Dataset& data, const std::vector<int64_t>& train_rows,
                                              const std::vector<int64_t>& valid_rows, const CellSpec& spec,
                                              models::TrainData* td, CellResult* result) {
  // Hyperparameters are validated before any training time is spent.
  auto model = models::CreateModel(spec.model, spec.model_params);
  *td = models::MakeTrainData(data, train_rows, valid_rows);
  models::FitContext ctx;
  ctx.threads = spec.threads;
  ctx.seed = spec.seed;
  ctx.on_epoch = [result, &spec](const models::EpochRecord& r) {
    result->curve.push_back(r);
    RF_LOG(Debug) << spec.model << " epoch " << r.epoch << " loss " << r.loss;
  };
  ctx.cache_dir = spec.cache_dir;
  ctx.progress = true;
  ctx.valid_metric_name = spec.valid_metric;
  if (!valid_rows.empty()) {
    const auto at = spec.valid_metric.find('@');
    eval::EvalOptions vopt;
    vopt.metrics = {at == std::string::npos ? spec.valid_metric : spec.valid_metric.substr(0, at)};
    int64_t k = 10;
    if (at != std::string::npos && (!framework::ParseInt64(spec.valid_metric.substr(at + 1), &k) || k <= 0))
      throw framework::ConfigError("valid_metric '" + spec.valid_metric + "': expected <metric>@<K>, e.g. ndcg@10");
    vopt.ks = {static_cast<int>(k)};
    vopt.threads = spec.threads;
    vopt.seed = framework::DeriveSeed(spec.seed, 0x7a11d);
    const models::TrainData* train = td;
    ctx.validate = [&data, train, &valid_rows, vopt](const models::Recommender& m) {
      eval::EvalTarget vt;
      vt.data = &data;
      vt.train = &train->matrix;
      vt.test_rows = valid_rows;
      const eval::EvalResult r = eval::Evaluate(m, vt, vopt);
      for (const auto& mv : r.metrics)
        if (mv.k == vopt.ks[0] || mv.k == 0) return mv.value;
      return std::numeric_limits<double>::quiet_NaN();
    };
  }
  framework::Stopwatch sw;
  model->Fit(*td, ctx);
  result->fit_seconds = sw.Seconds();
  return model;
}

}  // namespace

CellResult RunCell(const datasets::Dataset& data, const CellSpec& spec, eval::EvalTarget* target_out,
                   models::TrainData* train_out) {
  CellResult result;
  result.rss_before_bytes = framework::CurrentRssBytes();
  result.peak_rss_scope = framework::ResetPeakRss() ? "cell" : "process";
  const framework::Stopwatch total;
  const auto split_spec = datasets::SplitSpec::Parse(spec.split);
  const datasets::Split split = datasets::LoadOrMakeSplit(data, split_spec, spec.seed, spec.cache_dir);
  std::vector<int64_t> train_rows = split.train;
  if (spec.train_fraction < 1.0)
    train_rows = datasets::SubsampleTrain(data, split.train, spec.train_fraction, spec.seed);
  if (train_rows.empty())
    throw framework::Error("split '" + spec.split + "' leaves no training interactions");

  models::TrainData td;
  auto model = FitModel(data, train_rows, split.valid, spec, &td, &result);
  framework::Stopwatch sw;

  eval::EvalTarget target;
  target.data = &data;
  target.train = &td.matrix;
  target.test_rows = split.test;
  target.exclude_rows = split.valid;
  eval::EvalOptions eopt = spec.eval;
  eopt.threads = spec.threads;
  eopt.seed = framework::DeriveSeed(spec.seed, 0xe7a1);
  sw.Reset();
  result.eval = eval::Evaluate(*model, target, eopt);
  result.groups = eval::AnalyzeGroups(*model, target, eopt, result.eval);
  result.eval_seconds = sw.Seconds();
  // Current RSS first: the high-water mark read afterwards then bounds it by construction
  // (ASan's allocator grows the heap between two reads in the other order).
  result.rss_after_bytes = framework::CurrentRssBytes();
  result.peak_rss_bytes = framework::PeakRssBytes();
  result.train_interactions = static_cast<int64_t>(train_rows.size());
  result.test_interactions = static_cast<int64_t>(split.test.size());

  nlohmann::json& m = result.meta;
  m["config"] = spec.ToJson();
  m["seed"] = spec.seed;
  m["data_hash"] = framework::ToHex(data.ContentHash());
  m["data_source"] = data.source;
  m["git_commit"] = framework::GitCommit();
  m["version"] = framework::Version();
  m["fit_seconds"] = result.fit_seconds;
  m["eval_seconds"] = result.eval_seconds;
  m["total_seconds"] = total.Seconds();
  m["peak_rss_bytes"] = result.peak_rss_bytes;
  m["peak_rss_scope"] = result.peak_rss_scope;
  m["rss_before_bytes"] = result.rss_before_bytes;
  m["rss_after_bytes"] = result.rss_after_bytes;
  m["train_interactions"] = result.train_interactions;
  m["valid_interactions"] = split.valid.size();
  m["test_interactions"] = result.test_interactions;
  m["evaluated_users"] = result.eval.users.size();
  m["users_without_test"] = result.eval.users_without_test;
  m["num_items"] = data.num_items();  // the denominator of the modalities' coverage
  m["curve"] = CurveJson(result.curve);
  nlohmann::json weights = nlohmann::json::object();
  for (const auto& [name, w] : model->ModalityWeights()) weights[name] = w;
  if (!weights.empty()) m["modality_weights"] = weights;
  nlohmann::json modalities = nlohmann::json::array();
  for (const auto& u : model->ModalitiesUsed()) {
    nlohmann::json prov = nlohmann::json::object();
    for (const auto& [k, v] : u.provenance) prov[k] = v;
    modalities.push_back({{"modality", u.modality}, {"spec", u.spec}, {"available", u.available},
                          {"items_present", u.items_present}, {"fallbacks", u.fallbacks}, {"provenance", prov}});
  }
  if (!modalities.empty()) m["modalities"] = modalities;
  m["finished_at"] = framework::NowIso8601();

  if (train_out) *train_out = std::move(td);
  if (target_out) {
    // td was moved: the mask must point at the caller's copy, or nowhere.
    target.train = train_out ? &train_out->matrix : nullptr;
    *target_out = std::move(target);
  }
  return result;
}

TrialResult RunTrial(const TrainValidView& view, const CellSpec& spec) {
  TrialResult out;
  CellResult& result = out.cell;
  result.rss_before_bytes = framework::CurrentRssBytes();
  result.peak_rss_scope = framework::ResetPeakRss() ? "cell" : "process";
  const framework::Stopwatch total;
  if (view.train.empty()) throw framework::Error("split '" + spec.split + "' leaves no training interactions");
  if (view.valid.empty())
    throw framework::Error("split '" + spec.split + "' has no validation interactions: a tuned model needs them");
  models::TrainData td;
  auto model = FitModel(view.data, view.train, view.valid, spec, &td, &result);
  // The selection metric, and the experiment's metric list, on the validation rows.
  const auto at = spec.valid_metric.find('@');
  const std::string metric = at == std::string::npos ? spec.valid_metric : spec.valid_metric.substr(0, at);
  int64_t k = 10;
  if (at != std::string::npos) framework::ParseInt64(spec.valid_metric.substr(at + 1), &k);
  eval::EvalOptions eopt = spec.eval;
  if (std::find(eopt.ks.begin(), eopt.ks.end(), static_cast<int>(k)) == eopt.ks.end())
    eopt.ks.push_back(static_cast<int>(k));
  if (!eopt.metrics.empty() && std::find(eopt.metrics.begin(), eopt.metrics.end(), metric) == eopt.metrics.end())
    eopt.metrics.push_back(metric);
  eopt.threads = spec.threads;
  eopt.seed = framework::DeriveSeed(spec.seed, 0x7a11d);
  eval::EvalTarget target;
  target.data = &view.data;
  target.train = &td.matrix;
  target.test_rows = view.valid;
  framework::Stopwatch sw;
  result.eval = eval::Evaluate(*model, target, eopt);
  result.eval_seconds = sw.Seconds();
  out.score = std::numeric_limits<double>::quiet_NaN();
  for (const auto& mv : result.eval.metrics)
    if (mv.metric == metric && (mv.k == k || mv.k == 0)) out.score = mv.value;
  result.rss_after_bytes = framework::CurrentRssBytes();
  result.peak_rss_bytes = framework::PeakRssBytes();
  result.train_interactions = static_cast<int64_t>(view.train.size());

  nlohmann::json& m = result.meta;
  m["config"] = spec.ToJson();
  m["seed"] = spec.seed;
  // The hash of what the trial saw (train + validation only), not of the whole dataset.
  m["view_hash"] = framework::ToHex(view.data.ContentHash());
  m["git_commit"] = framework::GitCommit();
  m["version"] = framework::Version();
  m["fit_seconds"] = result.fit_seconds;
  m["eval_seconds"] = result.eval_seconds;
  m["total_seconds"] = total.Seconds();
  m["peak_rss_bytes"] = result.peak_rss_bytes;
  m["train_interactions"] = result.train_interactions;
  m["valid_interactions"] = view.valid.size();
  m["score"] = std::isnan(out.score) ? nlohmann::json() : nlohmann::json(out.score);
  m["curve"] = CurveJson(result.curve);
  m["metrics"] = MetricsJson(result.eval);
  m["finished_at"] = framework::NowIso8601();
  return out;
}

namespace {

namespace h5 = datasets::hdf5;

void WritePerUserH5(const std::string& path, const std::vector<std::string>& users,
                    const std::map<std::string, std::vector<double>>& columns) {
  std::lock_guard<std::mutex> lock(h5::Mutex());
  h5::QuietErrors quiet;
  h5::WriteFileAtomic(path, [&](hid_t file) {
    const hsize_t n = users.size();
    {
      h5::Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
      H5Tset_size(type.get(), H5T_VARIABLE);
      H5Tset_cset(type.get(), H5T_CSET_UTF8);
      h5::Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
      h5::Handle dset(H5Dcreate2(file, "users", type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                      H5Dclose);
      std::vector<const char*> ptrs;
      for (const auto& u : users) ptrs.push_back(u.c_str());
      if (!dset.ok() || (n > 0 && H5Dwrite(dset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) < 0))
        throw framework::IoError(path + ": cannot write dataset 'users'");
    }
    for (const auto& [name, values] : columns) {
      if (values.size() != users.size())
        throw framework::Error(path + ": column '" + name + "' has " + std::to_string(values.size()) +
                               " values for " + std::to_string(users.size()) + " users");
      h5::Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
      h5::Handle dset(H5Dcreate2(file, name.c_str(), H5T_IEEE_F64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT,
                                 H5P_DEFAULT),
                      H5Dclose);
      if (!dset.ok() ||
          (n > 0 && H5Dwrite(dset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0))
        throw framework::IoError(path + ": cannot write dataset '" + name + "'");
    }
  });
}

herr_t CollectName(hid_t, const char* name, const H5L_info_t*, void* out) {
  static_cast<std::vector<std::string>*>(out)->push_back(name);
  return 0;
}

}  // namespace

PerUserTable ReadPerUserH5(const std::string& path) {
  PerUserTable t;
  std::lock_guard<std::mutex> lock(h5::Mutex());
  h5::QuietErrors quiet;
  if (!framework::FileExists(path)) throw framework::IoError(path + ": not found");
  h5::Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.ok()) throw framework::IoError(path + ": not an HDF5 file");
  std::vector<std::string> names;
  if (H5Literate(file.get(), H5_INDEX_NAME, H5_ITER_INC, nullptr, CollectName, &names) < 0)
    throw framework::IoError(path + ": cannot list datasets");
  auto length = [&](hid_t dset, const std::string& name) {
    h5::Handle space(H5Dget_space(dset), H5Sclose);
    hsize_t n = 0;
    if (!space.ok() || H5Sget_simple_extent_ndims(space.get()) != 1 || H5Sget_simple_extent_dims(space.get(), &n, nullptr) < 0)
      throw framework::IoError(path + ": dataset '" + name + "' is not one-dimensional");
    return n;
  };
  {
    h5::Handle dset(H5Dopen2(file.get(), "users", H5P_DEFAULT), H5Dclose);
    if (!dset.ok()) throw framework::IoError(path + ": no dataset 'users'");
    const hsize_t n = length(dset.get(), "users");
    h5::Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(type.get(), H5T_VARIABLE);
    H5Tset_cset(type.get(), H5T_CSET_UTF8);
    std::vector<char*> ptrs(n, nullptr);
    if (n > 0 && H5Dread(dset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) < 0)
      throw framework::IoError(path + ": cannot read 'users'");
    for (char* p : ptrs) t.users.emplace_back(p ? p : "");
    if (n > 0) {
      h5::Handle space(H5Dget_space(dset.get()), H5Sclose);
      H5Dvlen_reclaim(type.get(), space.get(), H5P_DEFAULT, ptrs.data());
    }
  }
  for (const auto& name : names) {
    if (name == "users") continue;
    h5::Handle dset(H5Dopen2(file.get(), name.c_str(), H5P_DEFAULT), H5Dclose);
    if (!dset.ok()) throw framework::IoError(path + ": cannot open dataset '" + name + "'");
    const hsize_t n = length(dset.get(), name);
    if (n != t.users.size())
      throw framework::IoError(path + ": dataset '" + name + "' has " + std::to_string(n) + " rows, 'users' has " +
                               std::to_string(t.users.size()));
    std::vector<double> v(n);
    if (n > 0 && H5Dread(dset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) < 0)
      throw framework::IoError(path + ": cannot read dataset '" + name + "'");
    t.columns.push_back(name);
    t.values.push_back(std::move(v));
  }
  return t;
}

void WriteCellOutputs(const std::string& dir, const CellSpec& spec, const eval::EvalTarget& target,
                      const CellResult& result) {
  framework::MakeDirs(dir);
  eval::WriteEvidence(dir, spec.model, target, result.eval);
  {
    framework::AtomicFile groups(dir + "/groups.csv");
    groups << "group_kind,group,metric,k,value,n_users\n";
    char buf[64];
    for (const auto& g : result.groups) {
      std::snprintf(buf, sizeof buf, "%.17g", g.value);
      groups << g.group_kind << ",\"" << g.group << "\"," << g.metric << "," << g.k << "," << buf << ","
             << g.n_users << "\n";
    }
    groups.Commit();
  }
  {
    framework::AtomicFile per_user(dir + "/per_user.tsv");
    per_user << "user";
    std::vector<const std::vector<double>*> cols;
    for (const auto& [key, values] : result.eval.per_user) {
      per_user << "\t" << key;
      cols.push_back(&values);
    }
    per_user << "\n";
    char buf[64];
    for (size_t r = 0; r < result.eval.users.size(); ++r) {
      per_user << target.data->users.Token(result.eval.users[r]);
      for (const auto* c : cols) {
        std::snprintf(buf, sizeof buf, "\t%.17g", (*c)[r]);
        per_user << buf;
      }
      per_user << "\n";
    }
    per_user.Commit();
    std::vector<std::string> users;
    users.reserve(result.eval.users.size());
    for (const auto u : result.eval.users) users.emplace_back(target.data->users.Token(u));
    std::map<std::string, std::vector<double>> columns(result.eval.per_user.begin(), result.eval.per_user.end());
    WritePerUserH5(dir + "/per_user.h5", users, columns);
  }
  nlohmann::json j = result.meta;
  j["metrics"] = MetricsJson(result.eval);
  framework::WriteFileAtomic(dir + "/run.json", j.dump(2) + "\n");
}

}  // namespace recfuse::experiments
