// On-disk cache of splits, so that every cell of a sweep (and every re-run) evaluates on the
// very same rows without recomputing them, and a study can ship the split it used.
//
// A split is a pure function of (dataset content, spec, seed); the cache file name is a hash
// of exactly that plus a format version, and the file repeats the three as attributes so a
// hash collision or a hand-copied file cannot be mistaken for the right split.
//
// File: <cache_dir>/split_<key>.h5 (HDF5). Datasets /train, /valid, /test (int64 row indices
// into Dataset::interactions, ascending), /cold_items, /cold_users (uint8, empty when not a
// cold-start split); attributes data_hash (hex string), spec (canonical string), seed
// (uint64), format_version (int32).
#pragma once

#include <cstdint>
#include <string>

#include "datasets/dataset.h"
#include "datasets/split.h"

namespace recfuse::datasets {

enum class SplitCacheStatus {
  kDisabled,  // cache_dir was empty: computed, nothing written
  kHit,       // read from the cache file
  kMiss,      // no cache file: computed and written
  kRebuilt,   // cache file unreadable, corrupt or for other data: computed and overwritten
};

// The cache file for (data, spec, seed) under cache_dir (which need not exist).
std::string SplitCachePath(const Dataset& data, const SplitSpec& spec, uint64_t seed,
                           const std::string& cache_dir);

// Returns MakeSplit(data, spec, seed), reading it from cache_dir when a valid cache file
// exists and writing one otherwise (temp file + fsync + rename, so readers never see a
// partial file and concurrent writers of the same key are harmless). A cache file that
// cannot be read, does not match (data, spec, seed), or fails validation (rows out of range,
// overlapping or missing rows, empty test set) is ignored with a warning and rebuilt.
// Empty cache_dir disables caching. Throws what MakeSplit throws, and IoError if cache_dir
// cannot be created or written. Thread-safe (HDF5 calls are serialised inside).
Split LoadOrMakeSplit(const Dataset& data, const SplitSpec& spec, uint64_t seed,
                      const std::string& cache_dir, SplitCacheStatus* status = nullptr);

}  // namespace recfuse::datasets
