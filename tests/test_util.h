// Helpers shared by every test binary.
#pragma once

#include <string>

namespace recfuse::testing {

// A fresh, empty directory under the system temp dir, unique per call.
std::string TempDir(const std::string& tag);
// Writes `content` to `path` (creating parent directories).
void WriteText(const std::string& path, const std::string& content);
// Path of ../shared/datasets/<rel>, or "" (after printing why) if it is absent, so tests
// that need real data can GTEST_SKIP() with the printed reason.
std::string SharedData(const std::string& rel);
// Runs a shell command, captures stdout+stderr into *output, returns the exit status.
int RunCommand(const std::string& command, std::string* output);
// Path of the recfuse CLI binary built alongside the tests.
std::string RecfuseBinary();
std::string TestData(const std::string& rel);

}  // namespace recfuse::testing
