#include "datasets/hdf5_util.h"

namespace recfuse::datasets::hdf5 {

std::mutex& Mutex() {
  static std::mutex m;
  return m;
}

}  // namespace recfuse::datasets::hdf5
