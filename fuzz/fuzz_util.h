// Shared plumbing of the libFuzzer targets in fuzz/.
//
// The loaders read files, not buffers, so every target materialises its input as files in
// a private scratch folder and calls the real loader on it. One input can describe several
// files (an atomic .inter with its .item and .kg, MovieLens u.data with u.item...): lines of
// the form `@@ <name>` start a new file, text before the first marker goes to the target's
// default file. Seed corpora under fuzz/corpus/<target>/ use the same layout, so mutations
// reach the cross-file checks (unknown ids in .link, duplicate items...) too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace recfuse::fuzz {

struct FuzzFile {
  std::string name;     // file name inside the scratch folder (validated, no '/')
  std::string content;
};

// Splits `data` into files as described above. A marker whose name is not accepted by
// `allowed` (or is not a plain file name) is kept as ordinary content, so mutations of the
// marker line are still valid inputs. At most `max_files` files; later markers are content.
std::vector<FuzzFile> UnpackFiles(const uint8_t* data, size_t size, const std::string& default_name,
                                  const std::function<bool(const std::string&)>& allowed,
                                  size_t max_files = 8);

// A per-process scratch folder (created on first use) emptied before every call, so one
// input's files never leak into the next execution.
std::string FreshScratchDir();

// Writes `files` into `dir` (plain write: no atomic rename needed for scratch files).
void WriteFiles(const std::string& dir, const std::vector<FuzzFile>& files);

// Runs `body`, treating recfuse::framework::Error as the expected outcome of bad input.
// An Error produced by RF_CHECK (message "<source path>:<line>: check failed (...") means a parser let bad
// input reach an internal invariant: that is reported and aborts, as does any other
// exception type (libFuzzer reports the uncaught exception as a crash).
void ExpectOnlyRecfuseErrors(const std::function<void()>& body);

// Loader targets share one extra file: `@@ options` holds `key=value` lines with loader keys
// (as `--set data.KEY=...` takes them: filters, csv.*). Keys that name other paths
// (side_info_dir, amazon.*) or rename the dataset are dropped, so an input cannot make the
// loader read /dev/zero or files outside the scratch folder. Returns the remaining files.
std::vector<FuzzFile> TakeLoaderOptions(std::vector<FuzzFile> files,
                                        std::vector<std::string>* assignments);

// Loads `dir` with recfuse::datasets::LoadDataset and the given option assignments (parsed
// by LoadOptionsFromConfig, so option errors are exercised too), then computes the inspect
// statistics and the content hash, which walk every loaded vector.
void LoadAndInspect(const std::string& path, const std::vector<std::string>& assignments,
                    const std::string& format, const std::string& name = "");

}  // namespace recfuse::fuzz
