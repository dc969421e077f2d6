// Leveled logging to stderr. Results go to files, never to the log, so the log level can
// change without changing any output file.
#pragma once

#include <cstdint>
#include <sstream>
#include <string>

namespace recfuse::framework {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kQuiet = 4 };

void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
void LogLine(LogLevel level, const std::string& message);

// A duration for progress lines (ETA, epoch time): "45s" below 2 minutes, "108m05s" below
// 2 hours, "3h07m" above. Rounded to whole seconds (minutes for hours) BEFORE splitting into
// units, so 6539.6 s reads "109m00s", never "108m60s". Negative or non-finite -> "?".
std::string FormatDuration(double seconds);

// The realised split, "train 690 (69.0%) / valid 155 (15.5%) / test 155 (15.5%) rows": per-user
// rounding with at least one validation and one test item can move a nominal 8:1:1 far from
// 80/10/10 on short user histories, so it is printed where the numbers are. Percentages are of
// train + valid + test; all zero -> "no rows". Negative counts are a bug: throws.
std::string FormatSplitSizes(int64_t train, int64_t valid, int64_t test);

class LogMessage {
 public:
  explicit LogMessage(LogLevel level) : level_(level) {}
  ~LogMessage() { LogLine(level_, stream_.str()); }
  std::ostringstream& stream() { return stream_; }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};

}  // namespace recfuse::framework

#define RF_LOG(level)                                                                  \
  if (::recfuse::framework::LogLevel::k##level < ::recfuse::framework::GetLogLevel()) \
    ;                                                                                  \
  else                                                                                 \
    ::recfuse::framework::LogMessage(::recfuse::framework::LogLevel::k##level).stream()
