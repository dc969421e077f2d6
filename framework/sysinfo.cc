#include "framework/sysinfo.h"

#include <ctime>
#include <fstream>
#include <string>

#include "recfuse_version.h"

namespace recfuse::framework {

std::string GitCommit() { return RECFUSE_GIT_COMMIT; }
std::string Version() { return RECFUSE_VERSION; }

namespace {
int64_t StatusField(const char* name) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string key = std::string(name) + ":";
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) return std::stoll(line.substr(key.size())) * 1024;
  }
  return -1;
}
}  // namespace

int64_t PeakRssBytes() { return StatusField("VmHWM"); }
int64_t CurrentRssBytes() { return StatusField("VmRSS"); }

bool ResetPeakRss() {
  std::ofstream out("/proc/self/clear_refs");
  if (!out) return false;
  out << "5";
  return static_cast<bool>(out);
}

std::string NowIso8601() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

}  // namespace recfuse::framework
