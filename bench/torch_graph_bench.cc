// Graph models: sparse propagation kernels, and per-epoch time and peak memory of LightGCN
// and FREEDOM, on ml-100k (random 8:1:1 train part, seed 0; skipped with a message when
// ../shared is absent) and on a synthetic world of 20k users x 20k items x 400k
// interactions (datasets::GenerateSynthetic), at 2 threads unless the name says otherwise.
//
// BM_Spmm/<layout>/<data>/<threads>: one forward + backward of sum(w * A x) for the LightGCN
// adjacency A and x [nodes, 64]:
//   csr    graph_torch's CSR kernel in a torch::autograd::Function (what the models use)
//   coo    torch::mm on a coalesced COO tensor (torch's own sparse path)
// BM_Epoch/<model>/<data>/<threads>: one epoch of Fit (defaults, dim 64), without validation; the
// time is the epoch's (EpochRecord::seconds), building the graphs and features excluded.
// Counters: peak_rss_mb (process peak during the fit; watermark reset before it).
//
// Measured 2026-12-02 on the shared 2-core machine with four other developers' jobs running
// (load average 4-5), so upper bounds; wall time (CPU time):
//   BM_Spmm csr ml100k 1 thr 8.2 ms (3.6)   coo 17.1 ms (6.9)   [161,616 nnz]
//           csr synth20k 1 thr 62 ms (40)   coo 101 ms (67)     [800k nnz]
//           2 threads were slower for both layouts on the loaded machine (csr 121 ms, coo 184 ms)
//   BM_Epoch lightgcn ml100k   1 thr 0.46 s (0.32), 2 thr 5.4 s (1.4)   peak RSS 228-232 MB
//            freedom  ml100k   1 thr 0.85 s,        2 thr 24.9 s        peak RSS 223-261 MB
//            lightgcn synth20k 1 thr 11.4 s (7.6),  2 thr 28.5 s        peak RSS 582 MB
//            freedom  synth20k 1 thr 26.1 s,        2 thr 111 s         peak RSS 645-697 MB
// (RecBole's LightGCN: 0.73 s per ml-100k epoch on 2 threads.) Two threads lose on a machine
// whose cores are already busy: torch's intra-op pool waits for a descheduled worker in every
// parallel region; rerun on an idle machine before quoting the 2-thread figures.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "datasets/load.h"
#include "datasets/split.h"
#include "datasets/synthetic.h"
#include "encoders/threads.h"
#include "framework/config.h"
#include "framework/error.h"
#include "framework/sysinfo.h"
#include "models/graph/graph.h"
#include "models/graph/graph_torch.h"
#include "models/recommender.h"

namespace {

using namespace recfuse;

struct World {
  std::string dir;  // temp dir to remove ("" for ml-100k)
  datasets::Dataset data;
  models::TrainData td;
  bool ok = false;
  std::string why;
};

std::unique_ptr<World> LoadMl100k() {
  auto w = std::make_unique<World>();
  const std::string path = std::string(RECFUSE_SHARED_DATA) + "/ml-100k";
  if (!std::filesystem::exists(path)) {
    w->why = "no " + path;
    return w;
  }
  w->data = datasets::LoadDataset(path);
  const auto split = datasets::MakeSplit(w->data, datasets::SplitSpec::Parse("ratio:0.8,0.1,0.1"), 0);
  w->td = models::MakeTrainData(w->data, split.train, {});
  w->ok = true;
  return w;
}

std::unique_ptr<World> MakeSynthetic20k() {
  auto w = std::make_unique<World>();
  char tmpl[] = "/tmp/recfuse_graph_bench_XXXXXX";
  RF_CHECK(mkdtemp(tmpl) != nullptr, "mkdtemp failed");
  w->dir = tmpl;
  datasets::SyntheticOptions o;
  o.users = 20000;
  o.items = 20000;
  o.interactions = 400000;
  o.image_size = 32;  // the graph models read frozen features; small images keep generation short
  o.threads = 2;
  datasets::GenerateSynthetic(w->dir + "/world", o);
  w->data = datasets::LoadDataset(w->dir + "/world");
  std::vector<int64_t> rows(static_cast<size_t>(w->data.interactions.size()));
  std::iota(rows.begin(), rows.end(), int64_t{0});
  w->td = models::MakeTrainData(w->data, rows, {});
  w->ok = true;
  return w;
}

const World& GetWorld(const std::string& name) {
  static std::map<std::string, std::unique_ptr<World>> worlds;
  auto& w = worlds[name];
  if (!w) {
    w = name == "ml100k" ? LoadMl100k() : MakeSynthetic20k();
    if (!w->dir.empty())
      std::atexit([] {
        for (auto& [n, x] : worlds) {
          std::error_code ec;
          if (x && !x->dir.empty()) std::filesystem::remove_all(x->dir, ec);
        }
      });
  }
  return *w;
}

void BM_Spmm(benchmark::State& state, const std::string& layout, const std::string& data, int threads) {
  const World& w = GetWorld(data);
  if (!w.ok) {
    state.SkipWithError(("skipped: " + w.why).c_str());
    return;
  }
  encoders::SetTorchThreads(threads);
  const models::SpMat a = models::graph::NormalizedBipartite(w.td.matrix);
  const torch::Tensor adj = layout == "csr" ? models::graph::ToTorchSparse(a) : models::graph::ToTorchCoo(a);
  torch::manual_seed(0);
  const torch::Tensor x = torch::randn({a.rows(), 64}).requires_grad_(true);
  const torch::Tensor g = torch::randn({a.rows(), 64});
  for (auto _ : state) {
    const torch::Tensor y = models::graph::SparseMm(adj, x);
    (y * g).sum().backward();
    benchmark::DoNotOptimize(x.grad().data_ptr<float>());
    x.mutable_grad().zero_();
  }
  state.counters["nnz"] = static_cast<double>(a.nonZeros());
}

void BM_Epoch(benchmark::State& state, const std::string& name, const std::string& data, int threads) {
  const World& w = GetWorld(data);
  if (!w.ok) {
    state.SkipWithError(("skipped: " + w.why).c_str());
    return;
  }
  framework::Config config;
  config.Set("epochs", "1");
  try {
    models::CreateModel(name, config);
  } catch (const framework::UnknownIdError& e) {
    state.SkipWithError((name + " is not registered").c_str());
    return;
  }
  double seconds = 0;
  int64_t peak = 0;
  for (auto _ : state) {
    auto model = models::CreateModel(name, config);
    models::FitContext ctx;
    ctx.threads = threads;
    ctx.seed = 0;
    ctx.cache_dir = (w.dir.empty() ? std::string("/tmp/recfuse_graph_bench_cache") : w.dir + "/cache");
    double epoch_seconds = 0;
    ctx.on_epoch = [&epoch_seconds](const models::EpochRecord& r) { epoch_seconds += r.seconds; };
    framework::ResetPeakRss();
    model->Fit(w.td, ctx);
    peak = std::max(peak, framework::PeakRssBytes());
    state.SetIterationTime(epoch_seconds);
    seconds += epoch_seconds;
  }
  state.counters["peak_rss_mb"] = static_cast<double>(peak) / (1024.0 * 1024.0);
  state.counters["train_pairs"] = static_cast<double>(w.td.matrix.nonZeros());
}

}  // namespace

int main(int argc, char** argv) {
  for (const std::string data : {"ml100k", "synth20k"}) {
    for (const std::string layout : {"csr", "coo"})
      for (int threads : {1, 2})
        benchmark::RegisterBenchmark(("BM_Spmm/" + layout + "/" + data + "/" + std::to_string(threads)).c_str(),
                                     BM_Spmm, layout, data, threads)
            ->Unit(benchmark::kMillisecond)
            ->MinTime(0.5);
    for (const std::string model : {"lightgcn", "freedom"})
      for (int threads : {1, 2})
      benchmark::RegisterBenchmark(("BM_Epoch/" + model + "/" + data + "/" + std::to_string(threads)).c_str(), BM_Epoch,
                                   model, data, threads)
          ->Iterations(1)
          ->Repetitions(1)
          ->UseManualTime()
          ->Unit(benchmark::kSecond);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
