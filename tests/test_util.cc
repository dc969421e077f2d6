#include "tests/test_util.h"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

namespace recfuse::testing {

std::string TempDir(const std::string& tag) {
  static std::atomic<int> counter{0};
  const auto base = std::filesystem::temp_directory_path() /
                    ("recfuse_test_" + tag + "_" + std::to_string(::getpid()) + "_" +
                     std::to_string(counter++));
  std::filesystem::remove_all(base);
  std::filesystem::create_directories(base);
  return base.string();
}

void WriteText(const std::string& path, const std::string& content) {
  const std::filesystem::path p(path);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << content;
}

std::string SharedData(const std::string& rel) {
  const std::string path = std::string(RECFUSE_SHARED_DATA) + "/" + rel;
  if (!std::filesystem::exists(path)) {
    std::cout << "[  SKIPPED ] shared data absent: " << path << "\n";
    return "";
  }
  return path;
}

int RunCommand(const std::string& command, std::string* output) {
  output->clear();
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return -1;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) output->append(buf, n);
  const int status = ::pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string RecfuseBinary() { return RECFUSE_BINARY; }
std::string TestData(const std::string& rel) { return std::string(RECFUSE_TEST_DATA) + "/" + rel; }

}  // namespace recfuse::testing
