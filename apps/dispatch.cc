#include <cstdio>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "framework/error.h"
#include "framework/sysinfo.h"

namespace recfuse::apps {

namespace {
const char* kUsage = R"(usage: recfuse <command> [options]

commands:
  data generate --out DIR [--seed N] [--set key=value ...]
                                   write the synthetic multimodal world
  data inspect PATH [--json]       counts, density, modality coverage, degrees
  evaluate --data DIR --model NAME --split SPEC --seed N --out DIR [--set key=value ...]
                                   train a model, evaluate it, write metrics + evidence
  encode --data DIR --encoder SPEC --out FILE.h5
                                   frozen item features (image:handcrafted, image:onnx:PATH,
                                   image:mobilenet_v2[:LAYER], image:inception_v3[:LAYER],
                                   text:tfidf-svd:DIM, text:glove:100, kg:transe:DIM,
                                   kg:transr:DIM, features:npy|ducho|atomic|csv|h5:PATH)
  models                           list registered models and their hyperparameters
  run EXPERIMENT --out DIR         run an experiment sweep and write its report
  run EXPERIMENT --out DIR --shard i/n
                                   run one slice of the grid (under mpirun: rank/size)
  merge OUT_DIR [SHARD_DIR ...]    combine shard outputs into one results.csv + report
  report RESULTS_DIR               rebuild the report from stored results
  version                          print version and git commit

Run 'recfuse <command> --help' for a command's options.
)";
}  // namespace

int Dispatch(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  const std::string& cmd = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (cmd == "version") {
    std::printf("recfuse %s (commit %s)\n", framework::Version().c_str(), framework::GitCommit().c_str());
    return 0;
  }
  if (cmd == "data") {
    if (rest.empty()) throw framework::ConfigError("'recfuse data' needs a subcommand: generate | inspect");
    const std::string sub = rest[0];
    std::vector<std::string> sub_args(rest.begin() + 1, rest.end());
    if (sub == "generate") return CmdDataGenerate(sub_args);
    if (sub == "inspect") return CmdDataInspect(sub_args);
    throw framework::ConfigError("unknown subcommand 'data " + sub + "' (expected generate | inspect)");
  }
  if (cmd == "evaluate") return CmdEvaluate(rest);
  if (cmd == "models") return CmdModels(rest);
#ifndef RECFUSE_NO_ENCODERS
  if (cmd == "encode") return CmdEncode(rest);
#else
  if (cmd == "encode") throw framework::ConfigError("this build has no encoders (RECFUSE_WITH_TORCH=OFF)");
#endif
  if (cmd == "run") return CmdRun(rest);
  if (cmd == "report") return CmdReport(rest);
  if (cmd == "merge") return CmdMerge(rest);
  throw framework::ConfigError("unknown command '" + cmd + "'; run 'recfuse --help' for the list");
}

}  // namespace recfuse::apps
