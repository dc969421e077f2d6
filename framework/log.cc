#include "framework/log.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <mutex>

#include "framework/error.h"

namespace recfuse::framework {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::mutex g_mutex;
const auto g_start = std::chrono::steady_clock::now();
}  // namespace

void SetLogLevel(LogLevel level) { g_level = static_cast<int>(level); }
LogLevel GetLogLevel() { return static_cast<LogLevel>(g_level.load()); }

void LogLine(LogLevel level, const std::string& message) {
  if (static_cast<int>(level) < g_level.load()) return;
  static const char* kNames[] = {"debug", "info", "warn", "error", ""};
  const double t =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - g_start).count();
  std::lock_guard<std::mutex> lock(g_mutex);
  std::fprintf(stderr, "[%8.2fs %s] %s\n", t, kNames[static_cast<int>(level)], message.c_str());
}

std::string FormatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  char buf[48];
  const long long s = std::llround(seconds);
  if (s < 120) {
    std::snprintf(buf, sizeof buf, "%llds", s);
  } else if (s < 7200) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
  } else {
    const long long m = std::llround(seconds / 60);
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", m / 60, m % 60);
  }
  return buf;
}

std::string FormatSplitSizes(int64_t train, int64_t valid, int64_t test) {
  RF_CHECK(train >= 0 && valid >= 0 && test >= 0, "split sizes must be >= 0");
  const int64_t total = train + valid + test;
  if (total == 0) return "no rows";
  char buf[160];
  const double t = static_cast<double>(total);
  std::snprintf(buf, sizeof buf, "train %lld (%.1f%%) / valid %lld (%.1f%%) / test %lld (%.1f%%) rows",
                static_cast<long long>(train), 100.0 * train / t, static_cast<long long>(valid),
                100.0 * valid / t, static_cast<long long>(test), 100.0 * test / t);
  return buf;
}

}  // namespace recfuse::framework
