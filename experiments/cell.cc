#include "experiments/cell.h"

#include <cstdio>
#include <cstdlib>

#include "datasets/split.h"
#include "datasets/split_cache.h"
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
  j["ks"] = eval.ks;
  j["metrics"] = eval.metrics;
  j["sampled_negatives"] = eval.sampled_negatives;
  j["threads"] = threads;
  return j;
}

std::string DefaultCacheDir() {
  if (const char* c = std::getenv("RECFUSE_CACHE")) return c;
  if (const char* x = std::getenv("XDG_CACHE_HOME")) return std::string(x) + "/recfuse";
  if (const char* h = std::getenv("HOME")) return std::string(h) + "/.cache/recfuse";
  return "";
}

CellResult RunCell(const datasets::Dataset& data, const CellSpec& spec, eval::EvalTarget* target_out,
                   models::TrainData* train_out) {
  CellResult result;
  const framework::Stopwatch total;
  const auto split_spec = datasets::SplitSpec::Parse(spec.split);
  const datasets::Split split = datasets::LoadOrMakeSplit(data, split_spec, spec.seed, spec.cache_dir);
  std::vector<int64_t> train_rows = split.train;
  if (spec.train_fraction < 1.0)
    train_rows = datasets::SubsampleTrain(data, split.train, spec.train_fraction, spec.seed);
  if (train_rows.empty())
    throw framework::Error("split '" + spec.split + "' leaves no training interactions");

  // Hyperparameters are validated before any training time is spent.
  auto model = models::CreateModel(spec.model, spec.model_params);
  models::TrainData td = models::MakeTrainData(data, train_rows, split.valid);
  models::FitContext ctx;
  ctx.threads = spec.threads;
  ctx.seed = spec.seed;
  ctx.on_epoch = [&](const models::EpochRecord& r) {
    result.curve.push_back(r);
    RF_LOG(Debug) << spec.model << " epoch " << r.epoch << " loss " << r.loss;
  };
  framework::Stopwatch sw;
  model->Fit(td, ctx);
  result.fit_seconds = sw.Seconds();

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
  m["train_interactions"] = result.train_interactions;
  m["valid_interactions"] = split.valid.size();
  m["test_interactions"] = result.test_interactions;
  m["evaluated_users"] = result.eval.users.size();
  m["users_without_test"] = result.eval.users_without_test;
  nlohmann::json curve = nlohmann::json::array();
  for (const auto& r : result.curve)
    curve.push_back({{"epoch", r.epoch}, {"loss", r.loss},
                     {"valid_metric", std::isnan(r.valid_metric) ? nlohmann::json() : nlohmann::json(r.valid_metric)},
                     {"seconds", r.seconds}});
  m["curve"] = curve;
  m["finished_at"] = framework::NowIso8601();

  if (train_out) *train_out = std::move(td);
  if (target_out) {
    // td was moved: the mask must point at the caller's copy, or nowhere.
    target.train = train_out ? &train_out->matrix : nullptr;
    *target_out = std::move(target);
  }
  return result;
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
  }
  nlohmann::json j = result.meta;
  nlohmann::json metrics = nlohmann::json::array();
  for (const auto& mv : result.eval.metrics)
    metrics.push_back({{"metric", mv.metric}, {"k", mv.k}, {"value", mv.value}});
  j["metrics"] = metrics;
  framework::WriteFileAtomic(dir + "/run.json", j.dump(2) + "\n");
}

}  // namespace recfuse::experiments
