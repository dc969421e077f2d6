// Speed of splitting, subsampling, split caching and stats on a synthetic 10^6/10^7 log.
#include <benchmark/benchmark.h>

#include <filesystem>

#include "datasets/split.h"
#include "datasets/split_cache.h"
#include "datasets/stats.h"
#include "framework/rng.h"
#include "framework/sysinfo.h"

namespace rd = recfuse::datasets;

static const rd::Dataset& Synthetic(int64_t n) {
  static std::map<int64_t, rd::Dataset> cache;
  auto it = cache.find(n);
  if (it != cache.end()) return it->second;
  rd::Dataset& d = cache[n];
  d.name = "synthetic";
  const int64_t users = n / 100, items = n / 100;
  for (int64_t u = 0; u < users; ++u) d.users.GetOrAdd("u" + std::to_string(u));
  for (int64_t i = 0; i < items; ++i) d.items.GetOrAdd("i" + std::to_string(i));
  d.interactions.has_rating = d.interactions.has_timestamp = true;
  d.interactions.Reserve(n);
  recfuse::framework::Rng rng(1);
  for (int64_t r = 0; r < n; ++r) {
    // Skewed items: square of a uniform.
    const double x = rng.Uniform();
    d.interactions.Add(static_cast<rd::Index>(rng.UniformInt(users)),
                       static_cast<rd::Index>(x * x * items), 1 + rng.UniformInt(5),
                       1e9 + rng.UniformInt(1u << 26));
  }
  d.Finalize();
  return d;
}

static void BM_MakeSplit(benchmark::State& state, const char* spec) {
  const auto& d = Synthetic(state.range(0));
  const auto s = rd::SplitSpec::Parse(spec);
  for (auto _ : state) benchmark::DoNotOptimize(rd::MakeSplit(d, s, 1));
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.counters["peak_rss_mb"] = recfuse::framework::PeakRssBytes() / 1e6;
}
BENCHMARK_CAPTURE(BM_MakeSplit, ratio, "ratio:0.8,0.1,0.1")->Arg(1000000)->Arg(10000000)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MakeSplit, temporal, "temporal:0.8,0.1,0.1")->Arg(1000000)->Arg(10000000)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MakeSplit, user_temporal, "user-temporal:0.8,0.1,0.1")->Arg(10000000)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MakeSplit, loo, "loo")->Arg(10000000)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MakeSplit, cold_item, "cold-item:0.1")->Arg(10000000)->Unit(benchmark::kMillisecond);

static void BM_Subsample(benchmark::State& state) {
  const auto& d = Synthetic(state.range(0));
  const auto split = rd::MakeSplit(d, rd::SplitSpec::Parse("ratio:0.8,0.1,0.1"), 1);
  for (auto _ : state) benchmark::DoNotOptimize(rd::SubsampleTrain(d, split.train, 0.3, 1));
  state.SetItemsProcessed(state.iterations() * split.train.size());
}
BENCHMARK(BM_Subsample)->Arg(1000000)->Arg(10000000)->Unit(benchmark::kMillisecond);

static void BM_CacheWrite(benchmark::State& state) {
  const auto& d = Synthetic(state.range(0));
  const auto spec = rd::SplitSpec::Parse("ratio:0.8,0.1,0.1");
  const std::string dir = "/tmp/splits-bench/cache";
  for (auto _ : state) {
    std::filesystem::remove_all(dir);
    rd::SplitCacheStatus st;
    benchmark::DoNotOptimize(rd::LoadOrMakeSplit(d, spec, 1, dir, &st));
  }
  state.counters["file_mb"] = std::filesystem::file_size(rd::SplitCachePath(d, spec, 1, dir)) / 1e6;
}
BENCHMARK(BM_CacheWrite)->Arg(10000000)->Unit(benchmark::kMillisecond);

static void BM_CacheHit(benchmark::State& state) {
  const auto& d = Synthetic(state.range(0));
  const auto spec = rd::SplitSpec::Parse("ratio:0.8,0.1,0.1");
  const std::string dir = "/tmp/splits-bench/cache";
  rd::LoadOrMakeSplit(d, spec, 1, dir);
  for (auto _ : state) {
    rd::SplitCacheStatus st;
    benchmark::DoNotOptimize(rd::LoadOrMakeSplit(d, spec, 1, dir, &st));
    if (st != rd::SplitCacheStatus::kHit) state.SkipWithError("not a hit");
  }
}
BENCHMARK(BM_CacheHit)->Arg(10000000)->Unit(benchmark::kMillisecond);

static void BM_ContentHash(benchmark::State& state) {
  const auto& d = Synthetic(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(d.ContentHash());
}
BENCHMARK(BM_ContentHash)->Arg(10000000)->Unit(benchmark::kMillisecond);

static void BM_Stats(benchmark::State& state) {
  const auto& d = Synthetic(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(rd::ComputeStats(d));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Stats)->Arg(1000000)->Arg(10000000)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
