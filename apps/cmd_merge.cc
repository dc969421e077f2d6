#include <cstdio>
#include <iostream>

#include "apps/cli_util.h"
#include "apps/commands.h"
#include "experiments/experiment.h"
#include "framework/error.h"
#include "reports/report.h"

namespace recfuse::apps {

int CmdMerge(const std::vector<std::string>& args) {
  po::options_description desc(
      "recfuse merge OUT_DIR [SHARD_DIR ...]: combine the outputs of 'recfuse run --shard i/n' (or of mpirun\n"
      "ranks) into OUT_DIR/results.csv and the report, as one unsharded run would have written them.\n"
      "Without SHARD_DIRs the shards are expected to have written into OUT_DIR itself");
  std::vector<std::string> dirs;
  desc.add_options()("help,h", "show this help")
      ("dirs", po::value<std::vector<std::string>>(&dirs), "OUT_DIR then SHARD_DIRs (positional)")
      ("no-report", "skip building the HTML report");
  po::positional_options_description pos;
  pos.add("dirs", -1);
  auto vm = ParseArgs(args, desc, &pos);
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  if (dirs.empty()) throw framework::ConfigError("missing OUT_DIR (see --help)");
  const std::string out = dirs[0];
  const std::vector<std::string> shards(dirs.begin() + 1, dirs.end());
  const int cells = experiments::MergeShards(out, shards);
  if (!vm.count("no-report")) reports::BuildReport(out);
  std::printf("merged %d cell(s) from %zu folder(s) into %s/results.csv%s\n", cells, shards.empty() ? 1 : shards.size(),
              out.c_str(), vm.count("no-report") ? "" : (", report: " + out + "/report/index.html").c_str());
  return 0;
}

}  // namespace recfuse::apps
