// Fit time and peak memory of the item-item linear models of issue #17 on a synthetic sparse
// train matrix: 50,000 users x N items, ~1M distinct pairs, power-law item popularity
// (∝ 1/(rank+10)^0.9) and user activity (∝ 1/(rank+50)^0.6), as in bpr_bench.cc.
//  - rp3beta (k=100) and slim (defaults) at N = 20,000 items, 1 and 2 threads;
//  - admmslim at N = 2,000 (k=1 iteration = inverse + one ADMM step, and k=5, so that the
//    per-iteration cost is their difference / 4) and N = 5,000 (k=1). Dense items², ~20 bytes
//    per items²: 20,000 items fit in ~8 GB but their O(N³) inverse and 100 products take hours
//    on 2 cores, so the bench measures the scaling instead; plus the refusal above max_items.
// Counters: peak_rss_gb is the process's peak resident set (getrusage) after the fit; run one
// benchmark per process (--benchmark_filter) to attribute it to one model.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "datasets/dataset.h"
#include "framework/error.h"
#include "framework/rng.h"
#include "models/recommender.h"

namespace recfuse::models {
namespace {

constexpr int kUsers = 50'000;
constexpr int64_t kTargetPairs = 1'000'000;

struct Synthetic {
  datasets::Dataset data;
  TrainData train;
};

const Synthetic& Data(int items) {
  static std::map<int, std::unique_ptr<Synthetic>> cache;
  auto& slot = cache[items];
  if (slot) return *slot;
  slot = std::make_unique<Synthetic>();
  framework::Rng rng(2024);
  auto& d = slot->data;
  for (int u = 0; u < kUsers; ++u) d.users.GetOrAdd("u" + std::to_string(u));
  for (int i = 0; i < items; ++i) d.items.GetOrAdd("i" + std::to_string(i));
  std::vector<double> item_cdf(static_cast<size_t>(items)), user_weight(kUsers);
  double acc = 0;
  for (int i = 0; i < items; ++i) item_cdf[i] = acc += std::pow(i + 10.0, -0.9);
  for (auto& c : item_cdf) c /= acc;
  double user_total = 0;
  for (int u = 0; u < kUsers; ++u) user_total += user_weight[u] = std::pow(u + 50.0, -0.6);
  std::vector<char> taken(static_cast<size_t>(items), 0);
  std::vector<int> chosen;
  for (int u = 0; u < kUsers; ++u) {
    const int degree = std::min<int>(
        items / 4, std::max<int>(5, static_cast<int>(kTargetPairs * user_weight[u] / user_total)));
    chosen.clear();
    while (static_cast<int>(chosen.size()) < degree) {
      const int i = static_cast<int>(
          std::lower_bound(item_cdf.begin(), item_cdf.end(), rng.Uniform()) - item_cdf.begin());
      const int item = std::min(i, items - 1);
      if (!taken[item]) {
        taken[item] = 1;
        chosen.push_back(item);
      }
    }
    for (int i : chosen) {
      d.interactions.Add(u, i);
      taken[i] = 0;
    }
  }
  d.Finalize();
  std::vector<int64_t> rows(d.interactions.size());
  for (size_t r = 0; r < rows.size(); ++r) rows[r] = static_cast<int64_t>(r);
  slot->train = MakeTrainData(d, rows, {});
  return *slot;
}

double PeakRssGb() {
  rusage r{};
  getrusage(RUSAGE_SELF, &r);
  return static_cast<double>(r.ru_maxrss) * 1024.0 / 1e9;  // ru_maxrss is in KiB on Linux
}

void FitBench(benchmark::State& state, const std::string& name, const framework::Config& config,
              int items) {
  const int threads = static_cast<int>(state.range(0));
  const Synthetic& s = Data(items);
  for (auto _ : state) {
    auto model = CreateModel(name, config);
    FitContext ctx;
    ctx.threads = threads;
    model->Fit(s.train, ctx);
    benchmark::DoNotOptimize(model);
  }
  state.counters["items"] = items;
  state.counters["pairs"] = static_cast<double>(s.train.matrix.nonZeros());
  state.counters["peak_rss_gb"] = PeakRssGb();
}

void BM_Rp3BetaFit(benchmark::State& state) {
  FitBench(state, "rp3beta", framework::Config(), 20'000);
}
BENCHMARK(BM_Rp3BetaFit)->Arg(1)->Arg(2)->Iterations(1)->Unit(benchmark::kSecond);

void BM_SlimFit(benchmark::State& state) { FitBench(state, "slim", framework::Config(), 20'000); }
BENCHMARK(BM_SlimFit)->Arg(1)->Arg(2)->Iterations(1)->Unit(benchmark::kSecond);

// Args: threads, items, ADMM iterations.
void BM_AdmmSlimFit(benchmark::State& state) {
  framework::Config c;
  c.Set("k", std::to_string(state.range(2)));
  FitBench(state, "admmslim", c, static_cast<int>(state.range(1)));
  state.counters["iterations"] = static_cast<double>(state.range(2));
}
BENCHMARK(BM_AdmmSlimFit)
    ->Args({1, 2000, 1})
    ->Args({1, 2000, 5})
    ->Args({2, 2000, 1})
    ->Args({2, 2000, 5})
    ->Args({2, 5000, 1})
    ->Iterations(1)
    ->Unit(benchmark::kSecond);

// The refusal costs nothing: 20,000 items against max_items = 10,000.
void BM_AdmmSlimRefusesAboveMaxItems(benchmark::State& state) {
  framework::Config c;
  c.Set("max_items", "10000");
  const Synthetic& s = Data(20'000);
  for (auto _ : state) {
    auto model = CreateModel("admmslim", c);
    FitContext ctx;
    try {
      model->Fit(s.train, ctx);
      state.SkipWithError("admmslim fitted above max_items");
    } catch (const framework::ConfigError&) {
    }
  }
  state.counters["peak_rss_gb"] = PeakRssGb();
}
BENCHMARK(BM_AdmmSlimRefusesAboveMaxItems)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace recfuse::models

BENCHMARK_MAIN();
