// Training speed of the classic models on an ml-1m-sized synthetic train matrix (6,040
// users x 3,706 items, ~1M distinct pairs, Zipf-like item popularity and user activity):
//  - BPR-MF at dim 64: sampled triples per second per thread (target >= 10M), 1 and 2
//    threads; time = the sampling epochs only (factor init and index copies excluded).
//  - iALS at dim 64: one iteration (user and item half-sweeps).
//  - EASE: whole fit (Gram matrix, Cholesky, inverse) on 3,706 items.
//  - ItemKNN: whole fit (co-occurrence rows, top-100 per item).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "datasets/dataset.h"
#include "framework/rng.h"
#include "models/recommender.h"

namespace recfuse::models {
namespace {

constexpr int kUsers = 6040, kItems = 3706;
constexpr int64_t kTargetPairs = 1'000'000;

struct Synthetic {
  datasets::Dataset data;
  TrainData train;
};

const Synthetic& Data() {
  static const Synthetic* s = [] {
    auto* out = new Synthetic;
    framework::Rng rng(2024);
    auto& d = out->data;
    for (int u = 0; u < kUsers; ++u) d.users.GetOrAdd("u" + std::to_string(u));
    for (int i = 0; i < kItems; ++i) d.items.GetOrAdd("i" + std::to_string(i));
    // Item popularity ∝ 1/(rank+10)^0.9, user activity ∝ 1/(rank+50)^0.6 (heavy-tailed as in
    // MovieLens), scaled so that the expected number of draws is ~kTargetPairs.
    std::vector<double> item_cdf(kItems), user_weight(kUsers);
    double acc = 0;
    for (int i = 0; i < kItems; ++i) item_cdf[i] = acc += std::pow(i + 10.0, -0.9);
    for (auto& c : item_cdf) c /= acc;
    double user_total = 0;
    for (int u = 0; u < kUsers; ++u) user_total += user_weight[u] = std::pow(u + 50.0, -0.6);
    std::vector<int> items;
    for (int u = 0; u < kUsers; ++u) {
      const int degree = std::min<int>(
          kItems / 2,
          std::max<int>(20, static_cast<int>(kTargetPairs * user_weight[u] / user_total)));
      items.clear();
      while (static_cast<int>(items.size()) < degree) {
        const double r = rng.Uniform();
        const int i = static_cast<int>(std::lower_bound(item_cdf.begin(), item_cdf.end(), r) -
                                       item_cdf.begin());
        const int item = std::min(i, kItems - 1);
        if (std::find(items.begin(), items.end(), item) == items.end()) items.push_back(item);
      }
      for (int i : items) d.interactions.Add(u, i);
    }
    d.Finalize();
    std::vector<int64_t> rows(d.interactions.size());
    for (size_t r = 0; r < rows.size(); ++r) rows[r] = static_cast<int64_t>(r);
    out->train = MakeTrainData(d, rows, {});
    return out;
  }();
  return *s;
}

// Fits `name` and reports the summed per-epoch seconds as the iteration's (manual) time.
double FitAndTimeEpochs(const std::string& name, const framework::Config& config, int threads) {
  auto model = CreateModel(name, config);
  FitContext ctx;
  ctx.threads = threads;
  ctx.seed = 1;
  double seconds = 0;
  ctx.on_epoch = [&](const EpochRecord& r) { seconds += r.seconds; };
  model->Fit(Data().train, ctx);
  return seconds;
}

void BM_BprTrain(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  const int epochs = 3;
  framework::Config c;
  c.Set("dim", "64");
  c.Set("epochs", std::to_string(epochs));
  const int64_t pairs = Data().train.matrix.nonZeros();
  double total_seconds = 0;
  int64_t total_triples = 0;
  for (auto _ : state) {
    const double s = FitAndTimeEpochs("bpr", c, threads);
    state.SetIterationTime(s);
    total_seconds += s;
    total_triples += pairs * epochs;
  }
  state.counters["pairs"] = static_cast<double>(pairs);
  state.counters["triples_per_s_per_thread"] = total_triples / total_seconds / threads;
  state.counters["triples_per_s"] = total_triples / total_seconds;
}
BENCHMARK(BM_BprTrain)
    ->Arg(1)
    ->Arg(2)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0);

void BM_IalsIteration(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  framework::Config c;
  c.Set("dim", "64");
  c.Set("iterations", "1");
  for (auto _ : state) state.SetIterationTime(FitAndTimeEpochs("ials", c, threads));
  state.counters["pairs"] = static_cast<double>(Data().train.matrix.nonZeros());
}
BENCHMARK(BM_IalsIteration)
    ->Arg(1)
    ->Arg(2)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0);

void BM_EaseFit(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  for (auto _ : state) {
    auto model = CreateModel("ease", framework::Config());
    FitContext ctx;
    ctx.threads = threads;
    model->Fit(Data().train, ctx);
    benchmark::DoNotOptimize(model);
  }
  state.counters["items"] = kItems;
}
BENCHMARK(BM_EaseFit)->Arg(1)->Arg(2)->Iterations(1)->Unit(benchmark::kSecond);

void BM_ItemKnnFit(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  for (auto _ : state) {
    auto model = CreateModel("itemknn", framework::Config());
    FitContext ctx;
    ctx.threads = threads;
    model->Fit(Data().train, ctx);
    benchmark::DoNotOptimize(model);
  }
}
BENCHMARK(BM_ItemKnnFit)->Arg(1)->Arg(2)->Iterations(1)->Unit(benchmark::kSecond);

}  // namespace
}  // namespace recfuse::models

BENCHMARK_MAIN();
