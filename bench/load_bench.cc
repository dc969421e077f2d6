// Load speed: a synthetic 1M-interaction log (6,040 users x 3,706 items, the ML-1M shape)
// written once per process as an atomic .inter, a CSV and a MovieLens ratings.dat; target
// for LoadDataset on the .inter: < 1 s. Also the real ml-100k with all its modalities.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "datasets/load.h"
#include "framework/io.h"
#include "framework/rng.h"
#include "framework/sysinfo.h"

namespace rd = recfuse::datasets;
namespace fw = recfuse::framework;

namespace {

constexpr int64_t kRows = 1000000;
constexpr uint64_t kUsers = 6040, kItems = 3706;

struct Files {
  std::string dir, atomic_dir, csv, movielens_dir;
};

// Writes the three files once; removed at exit.
const Files& SyntheticFiles() {
  static const Files files = [] {
    Files f;
    f.dir = (std::filesystem::temp_directory_path() /
             ("recfuse_load_bench_" + std::to_string(::getpid())))
                .string();
    f.atomic_dir = f.dir + "/synth";
    f.movielens_dir = f.dir + "/ml";
    f.csv = f.dir + "/synth.csv";
    fw::MakeDirs(f.atomic_dir);
    fw::MakeDirs(f.movielens_dir);
    std::string inter = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n";
    std::string csv = "userId,movieId,rating,timestamp\n";
    std::string ml;
    inter.reserve(kRows * 26);
    csv.reserve(kRows * 26);
    ml.reserve(kRows * 30);
    fw::Rng rng(7);
    for (int64_t r = 0; r < kRows; ++r) {
      const double x = rng.Uniform();  // skewed item popularity
      const std::string u = std::to_string(1 + rng.UniformInt(kUsers));
      const std::string i = std::to_string(1 + static_cast<uint64_t>(x * x * kItems));
      const std::string rating = std::to_string(1 + rng.UniformInt(5));
      const std::string t = std::to_string(956703932 + rng.UniformInt(90000000));
      inter += u + '\t' + i + '\t' + rating + '\t' + t + '\n';
      csv += u + ',' + i + ',' + rating + ',' + t + '\n';
      ml += u + "::" + i + "::" + rating + "::" + t + '\n';
    }
    fw::WriteFileAtomic(f.atomic_dir + "/synth.inter", inter);
    fw::WriteFileAtomic(f.csv, csv);
    fw::WriteFileAtomic(f.movielens_dir + "/ratings.dat", ml);
    std::atexit([] { std::filesystem::remove_all(SyntheticFiles().dir); });
    return f;
  }();
  return files;
}

void Report(benchmark::State& state, const rd::Dataset& d) {
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(d.interactions.size()));
  state.counters["interactions"] = static_cast<double>(d.interactions.size());
  state.counters["peak_rss_mb"] = static_cast<double>(fw::PeakRssBytes()) / 1e6;
}

void BM_LoadAtomic1M(benchmark::State& state) {
  const auto& f = SyntheticFiles();
  rd::Dataset d;
  for (auto _ : state) d = rd::LoadDataset(f.atomic_dir);
  if (d.interactions.size() != kRows) state.SkipWithError("wrong interaction count");
  Report(state, d);
}
BENCHMARK(BM_LoadAtomic1M)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_LoadCsv1M(benchmark::State& state) {
  const auto& f = SyntheticFiles();
  rd::LoadOptions o;
  o.format_options.Set("csv.user", "userId");
  o.format_options.Set("csv.item", "movieId");
  o.format_options.Set("csv.rating", "rating");
  o.format_options.Set("csv.timestamp", "timestamp");
  rd::Dataset d;
  for (auto _ : state) d = rd::LoadDataset(f.csv, o);
  Report(state, d);
}
BENCHMARK(BM_LoadCsv1M)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_LoadMovieLens1M(benchmark::State& state) {
  const auto& f = SyntheticFiles();
  rd::Dataset d;
  for (auto _ : state) d = rd::LoadDataset(f.movielens_dir);
  Report(state, d);
}
BENCHMARK(BM_LoadMovieLens1M)->Unit(benchmark::kMillisecond)->MinTime(2.0);

// Load plus rating threshold, dedup and a 10-core: the filters' share of the load time.
void BM_LoadAtomicFiltered1M(benchmark::State& state) {
  const auto& f = SyntheticFiles();
  rd::LoadOptions o;
  o.filters.rating_threshold = 3;
  o.filters.dedup = "first";
  o.filters.min_user_interactions = 10;
  o.filters.min_item_interactions = 10;
  rd::Dataset d;
  for (auto _ : state) d = rd::LoadDataset(f.atomic_dir, o);
  Report(state, d);
}
BENCHMARK(BM_LoadAtomicFiltered1M)->Unit(benchmark::kMillisecond)->MinTime(2.0);

// The real ml-100k: interactions, .item/.user, 91,631 KG triples, plots, 1,682 image lookups.
void BM_LoadMl100k(benchmark::State& state) {
  const std::string dir = std::string(RECFUSE_SHARED_DATA) + "/ml-100k";
  if (!std::filesystem::exists(dir)) {
    state.SkipWithError("shared ml-100k absent");
    return;
  }
  rd::Dataset d;
  for (auto _ : state) d = rd::LoadDataset(dir);
  Report(state, d);
}
BENCHMARK(BM_LoadMl100k)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
