#include <cstdio>
#include <iostream>

#include "apps/cli_util.h"
#include "apps/commands.h"
#include "datasets/load.h"
#include "datasets/split.h"
#include "experiments/cell.h"
#include "framework/error.h"
#include "framework/io.h"
#include "framework/log.h"
#include "models/recommender.h"

namespace recfuse::apps {

namespace {
// Keys of `--set` that belong to the evaluation itself; `data.*` goes to the loader and
// everything else to the model (whose ParamSpecs reject unknown keys).
const std::vector<framework::ParamSpec>& EvaluateSpecs() {
  using framework::ParamType;
  static const std::vector<framework::ParamSpec> kSpecs = {
      {"train_fraction", ParamType::kFloat, "1.0", "nested subsample of the training split (sparsity)", 1e-9, 1},
      {"ks", ParamType::kIntList, "10,20,50", "cut-offs K for top-K metrics", 1, 1e9},
      {"metrics", ParamType::kString, "", "comma-separated metric names (default: all ranking + beyond-accuracy)"},
      {"sampled_negatives", ParamType::kInt, "0", "0 = full ranking; N = rank against N sampled negatives", 0, 1e7},
      {"block_size", ParamType::kInt, "256", "users per scoring block", 1, 1e6},
      {"cache_dir", ParamType::kString, "", "split cache directory (default ~/.cache/recfuse; 'none' disables)"},
  };
  return kSpecs;
}
}  // namespace

int CmdEvaluate(const std::vector<std::string>& args) {
  po::options_description desc("recfuse evaluate: train a model, evaluate it on the test split");
  std::vector<std::string> sets;
  desc.add_options()("help,h", "show this help")
      ("data", po::value<std::string>(), "dataset folder or file (required)")
      ("model", po::value<std::string>(), "model name, see 'recfuse models' (required)")
      ("split", po::value<std::string>()->default_value("ratio:0.8,0.1,0.1"),
       "ratio:a,b,c | temporal:a,b,c | user-temporal:a,b,c | loo | cold-item:f | cold-user:f | fixed")
      ("seed", po::value<uint64_t>()->default_value(0), "seed for split, sampling and training")
      ("out", po::value<std::string>(), "output folder for metrics.csv, test.tsv, topk.tsv, run.json (required)")
      ("threads", po::value<int>()->default_value(2), "worker threads")
      ("set", po::value<std::vector<std::string>>(&sets)->composing(),
       "key=value: model hyperparameter, data.<loader option>, or one of: train_fraction, ks, metrics, "
       "sampled_negatives, block_size, cache_dir")
      ("log-level", po::value<std::string>()->default_value("info"), "debug|info|warn|error|quiet");
  auto vm = ParseArgs(args, desc);
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  ApplyLogLevel(vm["log-level"].as<std::string>());
  for (const char* req : {"data", "model", "out"})
    if (!vm.count(req)) throw framework::ConfigError(std::string("--") + req + " is required (see --help)");
  const int threads = vm["threads"].as<int>();
  if (threads < 1) throw framework::ConfigError("--threads must be >= 1");

  framework::Config all = ConfigFromSets(sets);
  framework::Config data_cfg = all.Subset("data.");
  framework::Config eval_cfg, model_cfg;
  for (const auto& [k, v] : all.values()) {
    if (k.rfind("data.", 0) == 0) continue;
    bool is_eval = false;
    for (const auto& s : EvaluateSpecs()) is_eval |= s.name == k;
    const std::string key = k.rfind("model.", 0) == 0 ? k.substr(6) : k;
    (is_eval ? eval_cfg : model_cfg).Set(key, v, all.Origin(k));
  }
  eval_cfg.Validate(EvaluateSpecs(), "evaluate");

  experiments::CellSpec spec;
  spec.model = vm["model"].as<std::string>();
  models::FindModel(spec.model);  // unknown model: fail before loading data
  spec.model_params = model_cfg;
  spec.split = vm["split"].as<std::string>();
  datasets::SplitSpec::Parse(spec.split);
  spec.seed = vm["seed"].as<uint64_t>();
  spec.threads = threads;
  spec.train_fraction = eval_cfg.GetDouble(EvaluateSpecs(), "train_fraction");
  spec.eval.ks.clear();
  for (auto k : eval_cfg.GetIntList("ks", {10, 20, 50})) spec.eval.ks.push_back(static_cast<int>(k));
  if (eval_cfg.Has("metrics")) spec.eval.metrics = eval_cfg.GetStringList("metrics", {});
  spec.eval.sampled_negatives = static_cast<int>(eval_cfg.GetInt(EvaluateSpecs(), "sampled_negatives"));
  spec.eval.block_size = static_cast<int>(eval_cfg.GetInt(EvaluateSpecs(), "block_size"));
  std::string cache = eval_cfg.GetString(EvaluateSpecs(), "cache_dir");
  spec.cache_dir = cache == "none" ? "" : (cache.empty() ? experiments::DefaultCacheDir() : cache);

  const std::string data_path = vm["data"].as<std::string>();
  datasets::Dataset data = datasets::LoadDataset(data_path, datasets::LoadOptionsFromConfig(data_cfg));
  spec.dataset_name = data.name;
  RF_LOG(Info) << "loaded " << data.name << ": " << data.num_users() << " users, " << data.num_items()
               << " items, " << data.interactions.size() << " interactions";
  for (const auto& note : data.report.notes) RF_LOG(Info) << note;

  eval::EvalTarget target;
  // Before training: an unwritable --out must fail in a second, not after the fit.
  const std::string out = vm["out"].as<std::string>();
  framework::MakeDirs(out);
  models::TrainData td;
  const auto result = experiments::RunCell(data, spec, &target, &td);
  experiments::WriteCellOutputs(out, spec, target, result);

  std::printf("%s on %s (%s, seed %llu): fit %.2fs, eval %.2fs, %zu users evaluated (%lld without test items)\n",
              spec.model.c_str(), data.name.c_str(), spec.split.c_str(),
              static_cast<unsigned long long>(spec.seed), result.fit_seconds, result.eval_seconds,
              result.eval.users.size(), static_cast<long long>(result.eval.users_without_test));
  std::printf("split %s\n", framework::FormatSplitSizes(result.meta.value("train_interactions", int64_t{0}),
                                                       result.meta.value("valid_interactions", int64_t{0}),
                                                       result.meta.value("test_interactions", int64_t{0}))
                               .c_str());
  for (const auto& m : result.eval.metrics) {
    if (m.k > 0) std::printf("  %-16s@%-4d %.6f\n", m.metric.c_str(), m.k, m.value);
    else std::printf("  %-21s %.6f\n", m.metric.c_str(), m.value);
  }
  std::printf("wrote %s/{metrics.csv,test.tsv,topk.tsv,run.json}\n", out.c_str());
  return 0;
}

int CmdModels(const std::vector<std::string>& args) {
  po::options_description desc("recfuse models: list registered models and their hyperparameters");
  desc.add_options()("help,h", "show this help")("json", "machine-readable output");
  auto vm = ParseArgs(args, desc);
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  if (vm.count("json")) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& m : models::ModelRegistry()) {
      nlohmann::json params = nlohmann::json::array();
      for (const auto& p : m.params)
        params.push_back({{"name", p.name}, {"type", framework::ParamTypeName(p.type)},
                          {"default", p.default_value}, {"description", p.description}});
      j.push_back({{"name", m.name}, {"family", m.family}, {"description", m.description}, {"params", params}});
    }
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  for (const auto& m : models::ModelRegistry()) {
    std::printf("%s  [%s]  %s\n", m.name.c_str(), m.family.c_str(), m.description.c_str());
    for (const auto& p : m.params)
      std::printf("    %-22s %-6s default %-10s %s\n", p.name.c_str(), framework::ParamTypeName(p.type).c_str(),
                  p.default_value.c_str(), p.description.c_str());
  }
  return 0;
}

}  // namespace recfuse::apps
