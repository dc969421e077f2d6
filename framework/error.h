// Exception hierarchy shared by every recfuse library. `main` catches `Error`, prints its
// message on one line and exits non-zero; messages therefore carry their own context
// (file:line for data, key for config) so the user can act on them without a stack trace.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace recfuse::framework {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// A bad option, flag, experiment key or out-of-range value.
class ConfigError : public Error {
 public:
  explicit ConfigError(const std::string& what) : Error("config: " + what) {}
};

// Malformed input data. `line` is 1-based; 0 means "the file as a whole".
class DataError : public Error {
 public:
  DataError(const std::string& file, int64_t line, const std::string& reason)
      : Error(Format(file, line, reason)), file_(file), line_(line), reason_(reason) {}
  const std::string& file() const { return file_; }
  int64_t line() const { return line_; }
  const std::string& reason() const { return reason_; }

 private:
  static std::string Format(const std::string& file, int64_t line, const std::string& reason) {
    return line > 0 ? file + ":" + std::to_string(line) + ": " + reason : file + ": " + reason;
  }
  std::string file_;
  int64_t line_;
  std::string reason_;
};

// A token (user, item, entity, model name...) that is not in the id space it should be in.
class UnknownIdError : public Error {
 public:
  explicit UnknownIdError(const std::string& what) : Error(what) {}
};

// A model or encoder asked for a modality the dataset does not have.
class MissingModalityError : public Error {
 public:
  explicit MissingModalityError(const std::string& what) : Error(what) {}
};

// Filesystem failure: unreadable input, unwritable output directory, disk full.
class IoError : public Error {
 public:
  explicit IoError(const std::string& what) : Error(what) {}
};

}  // namespace recfuse::framework

// Internal invariant check that survives NDEBUG; names the source location so that a
// violated assumption is reportable.
#define RF_CHECK(cond, msg)                                                               \
  do {                                                                                    \
    if (!(cond))                                                                          \
      throw ::recfuse::framework::Error(std::string(__FILE__) + ":" +                    \
                                        std::to_string(__LINE__) + ": check failed (" #cond \
                                        "): " + std::string(msg));                        \
  } while (0)
