// Flag handling shared by the subcommands.
#pragma once

#include <boost/program_options.hpp>
#include <string>
#include <vector>

#include "framework/config.h"

namespace recfuse::apps {

namespace po = boost::program_options;

// Parses args against desc (+ positional), rejecting unknown flags with a clear message.
po::variables_map ParseArgs(const std::vector<std::string>& args, const po::options_description& desc,
                            const po::positional_options_description* positional = nullptr);

// `--set key=value` assignments into a Config (origin "--set").
framework::Config ConfigFromSets(const std::vector<std::string>& sets);

// Applies --log-level / --quiet style flags.
void ApplyLogLevel(const std::string& level);

}  // namespace recfuse::apps
