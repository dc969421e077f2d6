// Subcommands of the recfuse CLI. Each parses its own flags (Boost.Program_options) and
// calls into the libraries; nothing here computes results.
#pragma once

#include <string>
#include <vector>

namespace recfuse::apps {

int Dispatch(const std::vector<std::string>& args);

int CmdDataGenerate(const std::vector<std::string>& args);
int CmdDataInspect(const std::vector<std::string>& args);
int CmdEvaluate(const std::vector<std::string>& args);
int CmdModels(const std::vector<std::string>& args);
int CmdRun(const std::vector<std::string>& args);
int CmdReport(const std::vector<std::string>& args);
int CmdMerge(const std::vector<std::string>& args);
int CmdEncode(const std::vector<std::string>& args);

}  // namespace recfuse::apps
