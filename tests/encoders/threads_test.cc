// SetTorchThreads sets both pools: torch's intra-op pool and the BLAS's own (OpenBLAS keeps
// one sized to every core, whose spinning workers made a 1-thread model 11x slower beside
// busy cores). Checked through the BLAS's getter when the process has OpenBLAS.
#include "encoders/threads.h"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "framework/blas.h"

namespace recfuse::encoders {
namespace {

TEST(Threads, SetTorchThreadsSetsTorchAndBlasPools) {
  // A matmul makes sure libtorch has loaded its BLAS before we look for it.
  (void)torch::mm(torch::ones({4, 4}), torch::ones({4, 4}));
  using GetFn = int (*)();
  auto* get = reinterpret_cast<GetFn>(::dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  for (int n : {1, 2, 1}) {
    SetTorchThreads(n);
    EXPECT_EQ(torch::get_num_threads(), n);
    if (get) EXPECT_EQ(get(), n) << "OpenBLAS pool not resized";
  }
  SetTorchThreads(0);  // clamped, never 0 threads
  EXPECT_EQ(torch::get_num_threads(), 1);
  if (!get) {
    EXPECT_FALSE(framework::SetBlasThreads(1));
    std::printf("  no OpenBLAS in this process: only torch's pool was checked\n");
  } else {
    EXPECT_TRUE(framework::SetBlasThreads(1));
  }
}

}  // namespace
}  // namespace recfuse::encoders
