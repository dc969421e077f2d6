// `recfuse data inspect PATH [--json] [--set data.key=value ...]`: loads a dataset exactly
// as `evaluate` would and prints what is in it.
#include <iostream>
#include <nlohmann/json.hpp>

#include "apps/cli_util.h"
#include "apps/commands.h"
#include "datasets/load.h"
#include "datasets/stats.h"
#include "framework/error.h"

namespace recfuse::apps {

int CmdDataInspect(const std::vector<std::string>& args) {
  po::options_description desc(
      "usage: recfuse data inspect PATH [options]\n\n"
      "Counts, density, degrees and modality coverage of the dataset at PATH (a folder or\n"
      "file), loaded exactly as 'evaluate' would load it.\n\noptions");
  std::vector<std::string> sets;
  desc.add_options()("help,h", "show this help");
  desc.add_options()("json", po::bool_switch(), "print JSON instead of text");
  desc.add_options()("set", po::value<std::vector<std::string>>(&sets)->composing(),
                     "data.key=value loader option (format, name, filters, csv.*), as for "
                     "'evaluate'");
  desc.add_options()("log-level", po::value<std::string>()->default_value("warn"),
                     "debug|info|warn|error|quiet");
  // PATH is positional only; kept out of the help's option list.
  po::options_description all;
  all.add(desc).add_options()("path", po::value<std::string>(), "dataset folder or file");
  po::positional_options_description positional;
  positional.add("path", 1);
  const auto vm = ParseArgs(args, all, &positional);
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  ApplyLogLevel(vm["log-level"].as<std::string>());
  if (!vm.count("path"))
    throw framework::ConfigError("data inspect: PATH is required (see --help)");

  const framework::Config config = ConfigFromSets(sets);
  // Only loader options make sense here; anything else would be silently ignored.
  for (const auto& [key, value] : config.values())
    if (key.rfind("data.", 0) != 0)
      throw framework::ConfigError("data inspect: --set " + key +
                                   ": only data.* loader options apply here");
  const datasets::Dataset data = datasets::LoadDataset(
      vm["path"].as<std::string>(), datasets::LoadOptionsFromConfig(config.Subset("data.")));
  const datasets::DatasetStats stats = datasets::ComputeStats(data);
  if (vm["json"].as<bool>())
    std::cout << datasets::StatsToJson(stats).dump(2) << "\n";
  else
    std::cout << datasets::StatsToText(stats);
  return 0;
}

}  // namespace recfuse::apps
