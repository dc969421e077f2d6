// Small RAII helpers over HDF5's C API, shared by every recfuse file that reads or writes
// HDF5 (split cache, frozen features). Needs hdf5.h on the include path.
#pragma once

#include <hdf5.h>

#include <functional>
#include <mutex>
#include <string>

namespace recfuse::datasets::hdf5 {

// Debian's HDF5 is built without thread safety and keeps global state (error handlers, id
// tables): every recfuse HDF5 call holds this one process-wide lock.
std::mutex& Mutex();

// HDF5 prints a full error stack to stderr on every failed call by default; a missing or
// corrupt file is an expected case that callers report in one line themselves.
class QuietErrors {
 public:
  QuietErrors() {
    H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~QuietErrors() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }
  QuietErrors(const QuietErrors&) = delete;
  QuietErrors& operator=(const QuietErrors&) = delete;

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

// Owns one HDF5 id; closes it with the matching H5*close.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }
  // Closes now and reports whether closing succeeded (a file's close flushes it).
  bool Close() {
    const hid_t id = id_;
    id_ = -1;
    return id < 0 || close_(id) >= 0;
  }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

// Writes the HDF5 file `path` atomically: fill(file) writes into a temporary beside it
// (".<name>.tmp.<pid>.<n>", the naming framework::WriteFileAtomic uses, never read as a
// result), which is then closed, fsync'ed and renamed over `path`, and the directory is
// fsync'ed, so a killed run leaves the old file or the new one, never half of one. On any
// error the temporary is removed and the error rethrown. The caller holds Mutex().
void WriteFileAtomic(const std::string& path, const std::function<void(hid_t file)>& fill,
                     hid_t file_access = H5P_DEFAULT);

}  // namespace recfuse::datasets::hdf5
