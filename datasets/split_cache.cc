#include "datasets/split_cache.h"

#include "datasets/hdf5_util.h"

#include <fcntl.h>
#include <hdf5.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "framework/error.h"
#include "framework/hash.h"
#include "framework/io.h"
#include "framework/log.h"

namespace recfuse::datasets {

namespace {

// Bump when the file layout or the meaning of a split changes: old files then simply miss.
constexpr int32_t kFormatVersion = 1;

using hdf5::Handle;
using QuietHdf5Errors = hdf5::QuietErrors;

struct ReadFailure {
  std::string reason;
};

[[noreturn]] void Fail(const std::string& reason) { throw ReadFailure{reason}; }

hid_t FileAccessProps() {
  const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  // Atomic rename already protects readers; HDF5's own flock fails on some network
  // filesystems and would turn a cache into an error.
  if (fapl >= 0) H5Pset_file_locking(fapl, false, true);
  return fapl;
}

std::string ReadStringAttr(hid_t file, const char* name) {
  Handle attr(H5Aopen(file, name, H5P_DEFAULT), H5Aclose);
  if (!attr.ok()) Fail(std::string("missing attribute '") + name + "'");
  Handle type(H5Aget_type(attr.get()), H5Tclose);
  if (!type.ok() || H5Tget_class(type.get()) != H5T_STRING || H5Tis_variable_str(type.get()) > 0)
    Fail(std::string("attribute '") + name + "' is not a fixed-length string");
  const size_t size = H5Tget_size(type.get());
  if (size == 0 || size > (1u << 20)) Fail(std::string("attribute '") + name + "' has a bad size");
  Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(mem.get(), size);
  H5Tset_strpad(mem.get(), H5T_STR_NULLPAD);
  std::string value(size, '\0');
  if (H5Aread(attr.get(), mem.get(), value.data()) < 0)
    Fail(std::string("cannot read attribute '") + name + "'");
  value.resize(std::strlen(value.c_str()));
  return value;
}

template <typename T>
T ReadScalarAttr(hid_t file, const char* name, hid_t mem_type) {
  Handle attr(H5Aopen(file, name, H5P_DEFAULT), H5Aclose);
  if (!attr.ok()) Fail(std::string("missing attribute '") + name + "'");
  Handle space(H5Aget_space(attr.get()), H5Sclose);
  if (!space.ok() || H5Sget_simple_extent_npoints(space.get()) != 1)
    Fail(std::string("attribute '") + name + "' is not a scalar");
  T value{};
  if (H5Aread(attr.get(), mem_type, &value) < 0)
    Fail(std::string("cannot read attribute '") + name + "'");
  return value;
}

template <typename T>
std::vector<T> ReadVector(hid_t file, const char* name, hid_t mem_type, size_t max_size) {
  Handle dset(H5Dopen2(file, name, H5P_DEFAULT), H5Dclose);
  if (!dset.ok()) Fail(std::string("missing dataset '") + name + "'");
  Handle space(H5Dget_space(dset.get()), H5Sclose);
  if (!space.ok() || H5Sget_simple_extent_ndims(space.get()) != 1)
    Fail(std::string("dataset '") + name + "' is not one-dimensional");
  hsize_t dims[1] = {0};
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  // Checked before allocating: a corrupt header must not make us allocate terabytes.
  if (dims[0] > max_size)
    Fail(std::string("dataset '") + name + "' has " + std::to_string(dims[0]) +
         " entries, at most " + std::to_string(max_size) + " possible");
  Handle type(H5Dget_type(dset.get()), H5Tclose);
  if (!type.ok() || H5Tget_class(type.get()) != H5T_INTEGER)
    Fail(std::string("dataset '") + name + "' is not integer");
  std::vector<T> out(static_cast<size_t>(dims[0]));
  if (!out.empty() && H5Dread(dset.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0)
    Fail(std::string("cannot read dataset '") + name + "' (truncated or corrupt)");
  return out;
}

// Reads and validates a cache file; throws ReadFailure with the reason when unusable.
Split ReadCache(const std::string& path, const Dataset& data, const SplitSpec& spec, uint64_t seed,
                uint64_t data_hash) {
  Handle fapl(FileAccessProps(), H5Pclose);
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()), H5Fclose);
  if (!file.ok()) Fail("not a readable HDF5 file");
  const int32_t version = ReadScalarAttr<int32_t>(file.get(), "format_version", H5T_NATIVE_INT32);
  if (version != kFormatVersion)
    Fail("format version " + std::to_string(version) + ", expected " +
         std::to_string(kFormatVersion));
  const std::string hash = ReadStringAttr(file.get(), "data_hash");
  if (hash != framework::ToHex(data_hash))
    Fail("made for data " + hash + ", this data is " + framework::ToHex(data_hash));
  const std::string stored_spec = ReadStringAttr(file.get(), "spec");
  if (stored_spec != spec.ToString())
    Fail("made for split '" + stored_spec + "', expected '" + spec.ToString() + "'");
  const uint64_t stored_seed = ReadScalarAttr<uint64_t>(file.get(), "seed", H5T_NATIVE_UINT64);
  if (stored_seed != seed)
    Fail("made for seed " + std::to_string(stored_seed) + ", expected " + std::to_string(seed));

  const size_t n = data.interactions.size();
  Split s;
  s.train = ReadVector<int64_t>(file.get(), "train", H5T_NATIVE_INT64, n);
  s.valid = ReadVector<int64_t>(file.get(), "valid", H5T_NATIVE_INT64, n);
  s.test = ReadVector<int64_t>(file.get(), "test", H5T_NATIVE_INT64, n);
  s.cold_items = ReadVector<uint8_t>(file.get(), "cold_items", H5T_NATIVE_UINT8,
                                     static_cast<size_t>(data.num_items()));
  s.cold_users = ReadVector<uint8_t>(file.get(), "cold_users", H5T_NATIVE_UINT8,
                                     static_cast<size_t>(data.num_users()));
  if (!file.Close()) Fail("cannot close");

  // Every split kind assigns each row to exactly one part; anything else is corruption.
  std::vector<uint8_t> seen(n, 0);
  for (const auto* part : {&s.train, &s.valid, &s.test}) {
    for (size_t k = 0; k < part->size(); ++k) {
      const int64_t r = (*part)[k];
      if (r < 0 || static_cast<size_t>(r) >= n) Fail("row " + std::to_string(r) + " out of range");
      if (k > 0 && r <= (*part)[k - 1]) Fail("rows not strictly ascending");
      if (seen[r]++) Fail("row " + std::to_string(r) + " in two parts");
    }
  }
  if (s.train.size() + s.valid.size() + s.test.size() != n) Fail("rows missing from every part");
  if (s.test.empty()) Fail("empty test set");
  if (!s.cold_items.empty() && s.cold_items.size() != static_cast<size_t>(data.num_items()))
    Fail("cold_items has the wrong length");
  if (!s.cold_users.empty() && s.cold_users.size() != static_cast<size_t>(data.num_users()))
    Fail("cold_users has the wrong length");
  for (const auto* flags : {&s.cold_items, &s.cold_users})
    for (uint8_t f : *flags)
      if (f > 1) Fail("cold flag other than 0/1");
  return s;
}

void WriteStringAttr(hid_t file, const char* name, const std::string& value,
                     const std::string& path) {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), std::max<size_t>(1, value.size()));
  H5Tset_strpad(type.get(), H5T_STR_NULLPAD);
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attr(H5Acreate2(file, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  std::string buf = value.empty() ? std::string(1, '\0') : value;
  if (!attr.ok() || H5Awrite(attr.get(), type.get(), buf.data()) < 0)
    throw framework::IoError(path + ": cannot write attribute '" + name + "'");
}

template <typename T>
void WriteScalarAttr(hid_t file, const char* name, hid_t type, const T& value,
                     const std::string& path) {
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attr(H5Acreate2(file, name, type, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (!attr.ok() || H5Awrite(attr.get(), type, &value) < 0)
    throw framework::IoError(path + ": cannot write attribute '" + name + "'");
}

template <typename T>
void WriteVector(hid_t file, const char* name, hid_t file_type, hid_t mem_type,
                 const std::vector<T>& v, const std::string& path) {
  const hsize_t dims[1] = {static_cast<hsize_t>(v.size())};
  Handle space(H5Screate_simple(1, dims, nullptr), H5Sclose);
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  // Sorted row indices are highly compressible once byte-shuffled: ~10x smaller files.
  if (!v.empty() && H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0) {
    const hsize_t chunk[1] = {std::min<hsize_t>(dims[0], hsize_t{1} << 16)};
    H5Pset_chunk(dcpl.get(), 1, chunk);
    H5Pset_shuffle(dcpl.get());
    H5Pset_deflate(dcpl.get(), 1);
  }
  Handle dset(H5Dcreate2(file, name, file_type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
              H5Dclose);
  if (!dset.ok() ||
      (!v.empty() && H5Dwrite(dset.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) < 0))
    throw framework::IoError(path + ": cannot write dataset '" + name + "'");
}

void WriteCache(const std::string& path, const Split& s, const SplitSpec& spec, uint64_t seed,
                uint64_t data_hash) {
  Handle fapl(FileAccessProps(), H5Pclose);
  hdf5::WriteFileAtomic(
      path,
      [&](hid_t file) {
        WriteScalarAttr(file, "format_version", H5T_STD_I32LE, kFormatVersion, path);
        WriteStringAttr(file, "data_hash", framework::ToHex(data_hash), path);
        WriteStringAttr(file, "spec", spec.ToString(), path);
        WriteScalarAttr(file, "seed", H5T_STD_U64LE, seed, path);
        WriteVector(file, "train", H5T_STD_I64LE, H5T_NATIVE_INT64, s.train, path);
        WriteVector(file, "valid", H5T_STD_I64LE, H5T_NATIVE_INT64, s.valid, path);
        WriteVector(file, "test", H5T_STD_I64LE, H5T_NATIVE_INT64, s.test, path);
        WriteVector(file, "cold_items", H5T_STD_U8LE, H5T_NATIVE_UINT8, s.cold_items, path);
        WriteVector(file, "cold_users", H5T_STD_U8LE, H5T_NATIVE_UINT8, s.cold_users, path);
      },
      fapl.get());
}

std::string CachePath(uint64_t data_hash, const SplitSpec& spec, uint64_t seed,
                      const std::string& cache_dir) {
  framework::Hasher h;
  h.AddPod(kFormatVersion).AddPod(data_hash).Add(spec.ToString()).AddPod(seed);
  return (std::filesystem::path(cache_dir) / ("split_" + h.HexDigest() + ".h5")).string();
}

}  // namespace

std::string SplitCachePath(const Dataset& data, const SplitSpec& spec, uint64_t seed,
                           const std::string& cache_dir) {
  return CachePath(data.ContentHash(), spec, seed, cache_dir);
}

Split LoadOrMakeSplit(const Dataset& data, const SplitSpec& spec, uint64_t seed,
                      const std::string& cache_dir, SplitCacheStatus* status) {
  SplitCacheStatus dummy;
  if (status == nullptr) status = &dummy;
  if (cache_dir.empty()) {
    *status = SplitCacheStatus::kDisabled;
    return MakeSplit(data, spec, seed);
  }
  const uint64_t data_hash = data.ContentHash();
  const std::string path = CachePath(data_hash, spec, seed, cache_dir);

  *status = SplitCacheStatus::kMiss;
  if (framework::FileExists(path)) {
    std::lock_guard<std::mutex> lock(hdf5::Mutex());
    QuietHdf5Errors quiet;
    try {
      Split s = ReadCache(path, data, spec, seed, data_hash);
      *status = SplitCacheStatus::kHit;
      return s;
    } catch (const ReadFailure& f) {
      RF_LOG(Warn) << path << ": ignoring split cache file (" << f.reason << "); rebuilding it";
      *status = SplitCacheStatus::kRebuilt;
    }
  }
  Split s = MakeSplit(data, spec, seed);
  framework::MakeDirs(cache_dir);
  std::lock_guard<std::mutex> lock(hdf5::Mutex());
  QuietHdf5Errors quiet;
  WriteCache(path, s, spec, seed, data_hash);
  return s;
}

}  // namespace recfuse::datasets
