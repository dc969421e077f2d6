// File helpers. Every result file is written through AtomicFile: content goes to a
// temporary in the same directory, is fsync'ed, then renamed over the target, so a killed
// process or full disk never leaves a truncated result behind.
#pragma once

#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>

namespace recfuse::framework {

// Reads a whole file; throws IoError naming the path on failure.
std::string ReadFile(const std::string& path);
bool FileExists(const std::string& path);
// Creates the directory and its parents; throws IoError if impossible (e.g. read-only).
void MakeDirs(const std::string& path);

// Writes `content` to `path` atomically (temp + fsync + rename + directory fsync).
void WriteFileAtomic(const std::string& path, std::string_view content);

// Buffers output in memory and commits it atomically; destroyed without Commit(), it
// writes nothing.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path) : path_(std::move(path)) {}
  std::ostringstream& stream() { return buffer_; }
  template <typename T>
  AtomicFile& operator<<(const T& v) {
    buffer_ << v;
    return *this;
  }
  void Commit();

 private:
  std::string path_;
  std::ostringstream buffer_;
  bool committed_ = false;
};

// Splits a text buffer into lines without copying; handles \n and \r\n, and a last line
// without a terminator. Line numbers are 1-based.
class LineCursor {
 public:
  explicit LineCursor(std::string_view text) : text_(text) {}
  bool Next(std::string_view* line);
  int64_t line_number() const { return line_; }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  int64_t line_ = 0;
};

// Splits on a single-character separator into at most max_fields views (the last one
// keeps the rest). Returns the number of fields.
size_t SplitFields(std::string_view line, char sep, std::string_view* fields, size_t max_fields);

}  // namespace recfuse::framework
