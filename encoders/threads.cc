#include "encoders/threads.h"

#include <torch/torch.h>

#include <algorithm>

#include "framework/blas.h"

namespace recfuse::encoders {

void SetTorchThreads(int threads) {
  const int n = std::max(1, threads);
  torch::set_num_threads(n);
  framework::SetBlasThreads(n);
}

}  // namespace recfuse::encoders
