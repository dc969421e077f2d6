#include "framework/blas.h"

#include <dlfcn.h>

#include <algorithm>

namespace recfuse::framework {

bool SetBlasThreads(int threads) {
  const int n = std::max(1, threads);
  // RTLD_DEFAULT: the symbols of every library already loaded (libtorch's libblas.so.3), so
  // nothing is linked against a particular BLAS and a reference BLAS simply has no setter.
  using SetFn = void (*)(int);
  for (const char* name : {"openblas_set_num_threads", "bli_thread_set_num_threads", "MKL_Set_Num_Threads"})
    if (void* sym = ::dlsym(RTLD_DEFAULT, name)) {
      reinterpret_cast<SetFn>(sym)(n);
      return true;
    }
  return false;
}

}  // namespace recfuse::framework
