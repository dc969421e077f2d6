#include "datasets/hdf5_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "framework/error.h"

namespace recfuse::datasets::hdf5 {

std::mutex& Mutex() {
  static std::mutex m;
  return m;
}

namespace {
void SyncPath(const std::string& p, int flags) {
  const int fd = ::open(p.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}
}  // namespace

void WriteFileAtomic(const std::string& path, const std::function<void(hid_t file)>& fill, hid_t file_access) {
  static std::atomic<uint64_t> counter{0};
  const std::filesystem::path target(path);
  const std::string dir = target.parent_path().string();
  const std::string tmp = (target.parent_path() / ("." + target.filename().string() + ".tmp." +
                                                   std::to_string(::getpid()) + "." + std::to_string(counter++)))
                              .string();
  try {
    Handle file(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, file_access), H5Fclose);
    if (!file.ok()) throw framework::IoError(path + ": cannot create " + tmp);
    fill(file.get());
    if (!file.Close()) throw framework::IoError(path + ": cannot flush " + tmp);
    SyncPath(tmp, O_RDONLY);
    if (::rename(tmp.c_str(), path.c_str()) != 0)
      throw framework::IoError(path + ": rename failed: " + std::strerror(errno));
    SyncPath(dir.empty() ? "." : dir, O_RDONLY | O_DIRECTORY);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
}

}  // namespace recfuse::datasets::hdf5
