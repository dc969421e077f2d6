// Catches a slow BLAS under libtorch. Debian's libtorch calls whatever libblas.so.3 the
// system selects: the reference BLAS runs a 1024^2 matmul at ~3 GFLOP/s, OpenBLAS at ~35.
// The GFLOP/s counter is the figure to watch; scripts/bench.sh fails below a floor.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <Eigen/Core>

#include "encoders/threads.h"

static void BM_TorchMatmul1024(benchmark::State& state) {
  recfuse::encoders::SetTorchThreads(static_cast<int>(state.range(0)));
  torch::manual_seed(0);
  auto a = torch::randn({1024, 1024});
  auto b = torch::randn({1024, 1024});
  for (auto _ : state) {
    auto c = torch::mm(a, b);
    benchmark::DoNotOptimize(c.data_ptr<float>());
  }
  const double flops = 2.0 * 1024 * 1024 * 1024;
  state.counters["GFLOPs"] =
      benchmark::Counter(flops * static_cast<double>(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_TorchMatmul1024)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

static void BM_EigenGemm1024(benchmark::State& state) {
  Eigen::MatrixXf a = Eigen::MatrixXf::Random(1024, 1024), b = Eigen::MatrixXf::Random(1024, 1024), c(1024, 1024);
  for (auto _ : state) {
    c.noalias() = a * b;
    benchmark::DoNotOptimize(c.data());
  }
  const double flops = 2.0 * 1024 * 1024 * 1024;
  state.counters["GFLOPs"] =
      benchmark::Counter(flops * static_cast<double>(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_EigenGemm1024)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
