// Training throughput and memory of the neural models on the default-size synthetic world
// (datasets::SyntheticOptions defaults: 2000 users x 1500 items, 100k interactions, all
// modalities), generated once into a temp dir. One benchmark per model, one iteration =
// Fit for exactly one epoch at 2 threads, dim 64, batch 256, on every interaction (no
// validation, so nothing but training is timed).
//
// Counters:
//   samples_per_s  training interactions per second of the epoch. Both models visit every
//                  training interaction once per epoch (sasrec: each transition is a
//                  next-item target once; mmfusion: each distinct pair once, as a pair
//                  with BPR or in its user's row with the multinomial loss), so the figure
//                  compares across models. The time is the epoch's own (EpochRecord::
//                  seconds): building the model and frozen features is excluded.
//   peak_rss_mb    peak resident memory during the fit (watermark reset before it where the
//                  kernel allows; otherwise the process peak so far).
// A model whose create throws "not implemented" (a placeholder entry) is skipped.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "datasets/load.h"
#include "datasets/synthetic.h"
#include "framework/config.h"
#include "framework/error.h"
#include "framework/sysinfo.h"
#include "models/recommender.h"

namespace {

using namespace recfuse;

struct World {
  std::string dir;
  datasets::Dataset data;
  models::TrainData td;
};

const World& TheWorld() {
  static std::unique_ptr<World> world = [] {
    auto w = std::make_unique<World>();
    char tmpl[] = "/tmp/recfuse_train_bench_XXXXXX";
    RF_CHECK(mkdtemp(tmpl) != nullptr, "mkdtemp failed");
    w->dir = tmpl;
    datasets::SyntheticOptions o;  // the default size, on purpose
    o.threads = 2;                 // never changes the output
    datasets::GenerateSynthetic(w->dir + "/world", o);
    w->data = datasets::LoadDataset(w->dir + "/world");
    std::vector<int64_t> rows(static_cast<size_t>(w->data.interactions.size()));
    std::iota(rows.begin(), rows.end(), int64_t{0});
    w->td = models::MakeTrainData(w->data, rows, {});
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(TheWorld().dir, ec);
    });
    return w;
  }();
  return *world;
}

void BM_TrainEpoch(benchmark::State& state, const std::string& name, std::map<std::string, std::string> params) {
  const World& w = TheWorld();
  framework::Config config;
  for (const auto& [k, v] : params) config.Set(k, v);
  config.Set("epochs", "1");
  config.Set("dim", "64");
  config.Set("batch_size", "256");
  std::unique_ptr<models::Recommender> probe;
  try {
    probe = models::CreateModel(name, config);
  } catch (const framework::Error& e) {
    if (std::string(e.what()).find("not implemented") != std::string::npos) {
      state.SkipWithError((name + ": " + e.what()).c_str());
      return;
    }
    throw;
  }
  probe.reset();
  double seconds = 0;
  int64_t peak = 0;
  for (auto _ : state) {
    auto model = models::CreateModel(name, config);
    models::FitContext ctx;
    ctx.threads = 2;
    ctx.seed = 0;
    ctx.cache_dir = w.dir + "/cache";  // frozen features computed by the first fit only
    double epoch_seconds = 0;
    ctx.on_epoch = [&epoch_seconds](const models::EpochRecord& r) { epoch_seconds += r.seconds; };
    framework::ResetPeakRss();
    model->Fit(w.td, ctx);
    peak = std::max(peak, framework::PeakRssBytes());
    state.SetIterationTime(epoch_seconds);
    seconds += epoch_seconds;
  }
  const double samples = static_cast<double>(w.td.train.size()) * static_cast<double>(state.iterations());
  state.counters["samples_per_s"] = samples / std::max(1e-9, seconds);
  state.counters["peak_rss_mb"] = static_cast<double>(peak) / (1024.0 * 1024.0);
}

}  // namespace

int main(int argc, char** argv) {
  struct Case {
    const char* name;
    std::map<std::string, std::string> params;
  };
  const std::vector<Case> cases = {
      {"sasrec", {{"max_len", "50"}}},
      // The default loss (multinomial: a batch is 256 users scored against every item) and
      // the pairwise BPR loss (a batch is 256 pairs).
      {"mmfusion", {{"user_batch", "256"}}},
      {"mmfusion", {{"loss", "bpr"}}},
  };
  for (const auto& c : cases)
    benchmark::RegisterBenchmark(("BM_TrainEpoch/" + std::string(c.name) +
                                  (c.params.count("loss") ? "/" + c.params.at("loss") : std::string()))
                                     .c_str(),
                                 BM_TrainEpoch, std::string(c.name),
                                 c.params)
        ->Iterations(1)
        ->Repetitions(1)
        ->UseManualTime()
        ->Unit(benchmark::kSecond);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
