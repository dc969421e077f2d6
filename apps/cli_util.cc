#include "apps/cli_util.h"

#include "framework/error.h"
#include "framework/log.h"

namespace recfuse::apps {

po::variables_map ParseArgs(const std::vector<std::string>& args, const po::options_description& desc,
                            const po::positional_options_description* positional) {
  po::variables_map vm;
  try {
    auto parser = po::command_line_parser(args).options(desc);
    if (positional) parser.positional(*positional);
    po::store(parser.run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw framework::ConfigError(std::string(e.what()) + " (see --help)");
  }
  return vm;
}

framework::Config ConfigFromSets(const std::vector<std::string>& sets) {
  framework::Config c;
  for (const auto& s : sets) c.SetFromAssignment(s, "--set " + s);
  return c;
}

void ApplyLogLevel(const std::string& level) {
  using framework::LogLevel;
  if (level == "debug") framework::SetLogLevel(LogLevel::kDebug);
  else if (level == "info") framework::SetLogLevel(LogLevel::kInfo);
  else if (level == "warn") framework::SetLogLevel(LogLevel::kWarn);
  else if (level == "error") framework::SetLogLevel(LogLevel::kError);
  else if (level == "quiet") framework::SetLogLevel(LogLevel::kQuiet);
  else throw framework::ConfigError("--log-level must be debug|info|warn|error|quiet, got '" + level + "'");
}

}  // namespace recfuse::apps
