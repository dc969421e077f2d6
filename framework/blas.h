// The BLAS that libtorch calls (Debian's libtorch uses whatever libblas.so.3 the system
// selects; setup installs OpenBLAS) keeps its own thread pool, sized to every core and not
// touched by torch::set_num_threads. Its idle workers spin: on a machine whose cores are busy
// (ctest -j2, two sweeps, a build) a 1-thread torch model then ran 10-30x slower (measured:
// mmfusion on ml-100k, 3,200 vs 45,000 examples/s beside two busy processes).
#pragma once

namespace recfuse::framework {

// Sets the BLAS library's thread count to max(1, threads) when the BLAS in this process
// offers a setter (OpenBLAS: openblas_set_num_threads; BLIS: bli_thread_set_num_threads;
// MKL: MKL_Set_Num_Threads). Returns false when none is present (reference BLAS, or no BLAS
// loaded), which is harmless: such a BLAS runs on the calling thread.
bool SetBlasThreads(int threads);

}  // namespace recfuse::framework
