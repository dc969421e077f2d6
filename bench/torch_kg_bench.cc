// Speed of the sequence encoders and the KG trainer. Needs libtorch: links recfuse_encoders
// (torch_*_bench.cc are built only with RECFUSE_WITH_TORCH, see bench/CMakeLists.txt).
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <string>

#include "datasets/load.h"
#include "encoders/kg_embedding.h"
#include "encoders/sequence_encoders.h"
#include "encoders/threads.h"
#include "framework/sysinfo.h"

namespace {

using namespace recfuse;

// One TransE / TransR epoch over ml-100k's KG (~91k triples, 34.6k entities, dim 64, one
// negative) with KgFeatures' batching (|kg| / 20 triples a batch).
void BM_KgEpochMl100k(benchmark::State& state) {
  static const datasets::Dataset data = [] {
    return datasets::LoadDataset(std::string(RECFUSE_SHARED_DATA) + "/ml-100k");
  }();
  if (data.kg.empty()) {
    state.SkipWithError("ml-100k KG not found under ../shared/datasets");
    return;
  }
  encoders::KgTrainOptions o;
  o.method = state.range(0) == 0 ? "transe" : "transr";
  o.dim = 64;
  o.epochs = 1;
  o.batch_size = static_cast<int>((data.kg.size() + 19) / 20);
  o.threads = static_cast<int>(state.range(1));
  for (auto _ : state) {
    const auto r = encoders::TrainKgEmbedding(data, o);
    benchmark::DoNotOptimize(r.entities.data_ptr<float>());
  }
  state.counters["triples/s"] = benchmark::Counter(static_cast<double>(data.kg.size() * state.iterations()),
                                                   benchmark::Counter::kIsRate);
  state.counters["peak_rss_MB"] = static_cast<double>(framework::PeakRssBytes()) / 1e6;
}
BENCHMARK(BM_KgEpochMl100k)->Args({0, 1})->Args({0, 2})->Args({1, 1})->Args({1, 2})->Unit(benchmark::kMillisecond)->UseRealTime();

// Forward + backward of SASRec (2 blocks, dim 64) / GRU4Rec on a [256, 50] batch of ids.
void BM_SequenceTrainStep(benchmark::State& state) {
  encoders::SetTorchThreads(static_cast<int>(state.range(1)));
  torch::manual_seed(0);
  constexpr int64_t kItems = 1700, kLen = 50, kBatch = 256;
  const torch::Tensor items = torch::randint(1, kItems + 1, {kBatch, kLen}, torch::kInt64);
  const torch::Tensor targets = torch::randint(1, kItems + 1, {kBatch, kLen}, torch::kInt64);
  encoders::SasRecEncoder sas(encoders::SasRecEncoderOptions(kItems, 64).max_len(kLen));
  encoders::Gru4RecEncoder gru(encoders::Gru4RecEncoderOptions(kItems, 64));
  for (auto _ : state) {
    torch::Tensor loss = state.range(0) == 0
                             ? encoders::NextItemLoss(sas->AllPositions(items), targets, sas->ItemTable())
                             : encoders::NextItemLoss(gru->AllPositions(items), targets, gru->ItemTable());
    loss.backward();
    benchmark::DoNotOptimize(loss.item<float>());
  }
  state.counters["sequences/s"] =
      benchmark::Counter(static_cast<double>(kBatch * state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SequenceTrainStep)->Args({0, 1})->Args({0, 2})->Args({1, 2})->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
