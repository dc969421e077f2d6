#include <cstdio>
#include <iostream>

#include "apps/cli_util.h"
#include "apps/commands.h"
#include "experiments/cell.h"
#include "experiments/experiment.h"
#include "framework/error.h"
#include "framework/log.h"
#include "framework/sysinfo.h"
#include "reports/report.h"

namespace recfuse::apps {

int CmdRun(const std::vector<std::string>& args) {
  po::options_description desc("recfuse run EXPERIMENT --out DIR: run a sweep, resumably, and write its report");
  std::vector<std::string> sets;
  desc.add_options()("help,h", "show this help")
      ("experiment", po::value<std::string>(), "experiment file (positional)")
      ("out", po::value<std::string>(), "output folder (required); rerunning resumes")
      ("set", po::value<std::vector<std::string>>(&sets)->composing(),
       "key=value override of any experiment key, e.g. seeds=0 or model.bpr.dim=32")
      ("shard", po::value<std::string>(),
       "run the cells with index % n == i, as i/n (default: rank/size of mpirun's environment, else 0/1)")
      ("barrier-timeout", po::value<double>(),
       "tuned sweeps under several shards: seconds to wait for the other shards' trials at a halving or "
       "selection barrier (default 7 days; the shards must share --out)")
      ("cache-dir", po::value<std::string>(), "split cache folder (default ~/.cache/recfuse; 'none' disables)")
      ("no-report", "skip building the HTML report")
      ("log-level", po::value<std::string>()->default_value("info"), "debug|info|warn|error|quiet");
  po::positional_options_description pos;
  pos.add("experiment", 1);
  auto vm = ParseArgs(args, desc, &pos);
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  ApplyLogLevel(vm["log-level"].as<std::string>());
  if (!vm.count("experiment")) throw framework::ConfigError("missing EXPERIMENT file (see --help)");
  if (!vm.count("out")) throw framework::ConfigError("--out is required (see --help)");

  experiments::RunOptions opt;
  opt.out_dir = vm["out"].as<std::string>();
  if (vm.count("shard")) {
    const std::string shard = vm["shard"].as<std::string>();
    const size_t slash = shard.find('/');
    int64_t i = -1, n = -1;
    if (slash == std::string::npos || !framework::ParseInt64(shard.substr(0, slash), &i) ||
        !framework::ParseInt64(shard.substr(slash + 1), &n) || n < 1 || i < 0 || i >= n)
      throw framework::ConfigError("--shard must be i/n with 0 <= i < n, got '" + shard + "'");
    opt.shard_index = static_cast<int>(i);
    opt.shard_count = static_cast<int>(n);
  } else if (experiments::ShardFromEnvironment(&opt.shard_index, &opt.shard_count)) {
    RF_LOG(Info) << "MPI launcher environment: running shard " << opt.shard_index << "/" << opt.shard_count;
  }
  if (vm.count("barrier-timeout")) {
    opt.barrier_timeout_seconds = vm["barrier-timeout"].as<double>();
    if (!(opt.barrier_timeout_seconds > 0))
      throw framework::ConfigError("--barrier-timeout must be a positive number of seconds");
  }
  opt.cache_dir = experiments::DefaultCacheDir();
  if (vm.count("cache-dir")) {
    const std::string c = vm["cache-dir"].as<std::string>();
    opt.cache_dir = c == "none" ? "" : c;
  }
  // A shard's report would show only its slice; `recfuse merge` builds the full one.
  const bool build_report = !vm.count("no-report") && opt.shard_count == 1;

  const auto exp = experiments::LoadExperiment(vm["experiment"].as<std::string>(), sets);
  experiments::RunStats stats;
  experiments::RunExperiment(exp, opt, &stats);
  if (build_report) reports::BuildReport(opt.out_dir);
  std::string where = "results: " + opt.out_dir + "/results.csv";
  if (build_report) where += ", report: " + opt.out_dir + "/report/index.html";
  if (opt.shard_count > 1)
    where += " (shard " + std::to_string(opt.shard_index) + "/" + std::to_string(opt.shard_count) +
             "; combine with 'recfuse merge')";
  const std::string trials =
      stats.trials_total > 0 ? " and " + std::to_string(stats.trials_ran) + " selection trial(s) (skipped " +
                                   std::to_string(stats.trials_skipped) + " finished)"
                             : "";
  std::printf("%s: ran %d cell(s), skipped %d finished%s, in %.1fs; sweep peak RSS %.0f MB; %s\n", exp.name.c_str(),
              stats.ran, stats.skipped, trials.c_str(), stats.seconds, stats.peak_rss_bytes / 1048576.0, where.c_str());
  return 0;
}

int CmdReport(const std::vector<std::string>& args) {
  po::options_description desc("recfuse report RESULTS_DIR: rebuild the report from stored results");
  desc.add_options()("help,h", "show this help")("dir", po::value<std::string>(), "results folder (positional)");
  po::positional_options_description pos;
  pos.add("dir", 1);
  auto vm = ParseArgs(args, desc, &pos);
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  if (!vm.count("dir")) throw framework::ConfigError("missing RESULTS_DIR (see --help)");
  const std::string dir = vm["dir"].as<std::string>();
  reports::BuildReport(dir);
  std::printf("wrote %s/report/index.html, %s/report/summary.tex, %s/results_wide.csv\n", dir.c_str(), dir.c_str(),
              dir.c_str());
  return 0;
}

}  // namespace recfuse::apps
