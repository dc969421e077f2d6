#include <cstdio>
#include <iostream>

#include "apps/cli_util.h"
#include "apps/commands.h"
#include "datasets/load.h"
#include "datasets/split.h"
#include "encoders/features.h"
#include "framework/error.h"
#include "framework/log.h"
#include "framework/sysinfo.h"

namespace recfuse::apps {

int CmdEncode(const std::vector<std::string>& args) {
  po::options_description desc(
      "recfuse encode --data DIR --encoder SPEC --out FILE.h5: compute frozen item features\n"
      "SPEC: image:handcrafted | image:onnx:PATH | image:mobilenet_v2[:LAYER] | image:inception_v3[:LAYER]\n"
      "      | text:tfidf-svd:DIM[:description|reviews|both] | text:glove:100[:description|reviews|both][:mean|sif]\n"
      "      | kg:transe:DIM | kg:transr:DIM\n"
      "      | features:npy:PATH | features:ducho:DIR | features:atomic:PATH[#FIELD] | features:csv:PATH | features:h5:PATH\n"
      "(the pretrained specs need scripts/setup.sh --pretrained once; docs/features.md, docs/feature_import.md)");
  std::vector<std::string> sets;
  desc.add_options()("help,h", "show this help")
      ("data", po::value<std::string>(), "dataset folder or file (required)")
      ("encoder", po::value<std::string>(), "encoder spec (required)")
      ("out", po::value<std::string>(), "output HDF5 file (required): /features, /item_tokens, /present")
      ("split", po::value<std::string>()->default_value("ratio:0.8,0.1,0.1"),
       "encoders that learn from interactions or reviews see only this split's training rows; 'none' = all rows")
      ("seed", po::value<uint64_t>()->default_value(0), "seed for the split and the encoder")
      ("threads", po::value<int>()->default_value(2), "worker threads")
      ("set", po::value<std::vector<std::string>>(&sets)->composing(), "data.<loader option>=value")
      ("log-level", po::value<std::string>()->default_value("info"), "debug|info|warn|error|quiet");
  auto vm = ParseArgs(args, desc);
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  ApplyLogLevel(vm["log-level"].as<std::string>());
  for (const char* req : {"data", "encoder", "out"})
    if (!vm.count(req)) throw framework::ConfigError(std::string("--") + req + " is required (see --help)");
  framework::Config all = ConfigFromSets(sets);
  for (const auto& [k, v] : all.values())
    if (k.rfind("data.", 0) != 0) throw framework::ConfigError("encode: unknown --set key '" + k + "' (only data.*)");
  const auto data = datasets::LoadDataset(vm["data"].as<std::string>(),
                                          datasets::LoadOptionsFromConfig(all.Subset("data.")));
  encoders::EncodeContext ctx;
  ctx.seed = vm["seed"].as<uint64_t>();
  ctx.threads = vm["threads"].as<int>();
  std::vector<int64_t> train_rows;
  const std::string split = vm["split"].as<std::string>();
  if (split != "none") {
    train_rows = datasets::MakeSplit(data, datasets::SplitSpec::Parse(split), ctx.seed).train;
    ctx.train_rows = &train_rows;
  }
  framework::Stopwatch sw;
  const std::string spec = vm["encoder"].as<std::string>();
  const auto f = encoders::ComputeFrozenFeatures(data, spec, ctx);
  const double seconds = sw.Seconds();
  const std::string out = vm["out"].as<std::string>();
  encoders::WriteFeaturesH5(out, data, f);
  int64_t present = 0;
  for (auto p : f.present) present += p;
  for (const auto& n : f.notes) RF_LOG(Info) << n;
  std::printf("%s: %lld items x %lld dims (%lld with content, %lld fallbacks) in %.2fs (%.0f items/s) -> %s\n",
              spec.c_str(), static_cast<long long>(f.values.rows()), static_cast<long long>(f.values.cols()),
              static_cast<long long>(present), static_cast<long long>(f.fallbacks), seconds,
              seconds > 0 ? static_cast<double>(f.values.rows()) / seconds : 0.0, out.c_str());
  return 0;
}

}  // namespace recfuse::apps
