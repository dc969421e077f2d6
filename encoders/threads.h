// One call for the thread count of torch work: torch's intra-op pool and the BLAS pool under
// it (framework/blas.h says why both). No torch include: callers outside torch code use it too.
#pragma once

namespace recfuse::encoders {

// torch::set_num_threads(max(1, threads)) and framework::SetBlasThreads(threads).
// Process-wide, like torch's own setting.
void SetTorchThreads(int threads);

}  // namespace recfuse::encoders
