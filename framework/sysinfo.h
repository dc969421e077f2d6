// Process facts recorded with every result: code version, peak memory, wall time.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace recfuse::framework {

std::string GitCommit();
std::string Version();
// Peak resident set size of this process so far, in bytes (VmHWM).
int64_t PeakRssBytes();
// Current resident set size in bytes (VmRSS).
int64_t CurrentRssBytes();
// Resets the peak-RSS watermark where the kernel allows it (/proc/self/clear_refs), so a
// phase's own peak can be measured; returns false if unsupported.
bool ResetPeakRss();
std::string NowIso8601();

class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double Seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  void Reset() { start_ = std::chrono::steady_clock::now(); }

 private:
  std::chrono::steady_clock::time_point start_;
};

}  // namespace recfuse::framework
