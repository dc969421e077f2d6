// Pretrained extractor throughput on 2 threads: the first 96 ml-100k posters (~300x448 JPEG)
// through decode + resize/crop + the network up to the tap + global average pooling, as
// `recfuse encode --encoder image:...` runs them; the handcrafted HSV+HOG features on the same
// posters for scale; and GloVe pooling of the plots. Counter "items/s" is the figure to watch.
// Needs the converted models (`scripts/setup.sh --pretrained`) and ../shared/datasets/ml-100k;
// a benchmark whose input is missing reports an error instead of a time.
#include <benchmark/benchmark.h>

#include "datasets/load.h"
#include "encoders/image_handcrafted.h"
#include "encoders/pretrained_image.h"
#include "encoders/pretrained_text.h"
#include "framework/io.h"

namespace {

using namespace recfuse;

constexpr int kPosters = 96;  // three 32-image batches: enough for a stable rate, ~2-6 s a run

const datasets::Dataset* Posters() {
  static const datasets::Dataset* data = []() -> const datasets::Dataset* {
    const std::string dir = std::string(RECFUSE_SHARED_DATA) + "/ml-100k";
    if (!framework::FileExists(dir + "/ml-100k.inter")) return nullptr;
    auto* d = new datasets::Dataset(datasets::LoadDataset(dir));
    int kept = 0;
    for (auto& path : d->item_image)
      if (!path.empty() && kept++ >= kPosters) path.clear();
    return d;
  }();
  return data;
}

void BM_PretrainedImage(benchmark::State& state, const std::string& model, const std::string& layer) {
  const datasets::Dataset* data = Posters();
  if (!data) return state.SkipWithError("ml-100k not found");
  if (!encoders::PretrainedImageModelAvailable(model)) return state.SkipWithError("run scripts/setup.sh --pretrained");
  encoders::EncodeContext ctx;
  ctx.threads = 2;
  for (auto _ : state) benchmark::DoNotOptimize(encoders::PretrainedImageFeatures(*data, model, layer, ctx));
  state.counters["items/s"] = benchmark::Counter(static_cast<double>(kPosters) * state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK_CAPTURE(BM_PretrainedImage, mobilenet_v2_block_10_depthwise_relu, std::string("mobilenet_v2"), std::string("block_10_depthwise_relu"))
    ->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);
BENCHMARK_CAPTURE(BM_PretrainedImage, mobilenet_v2_out_relu, std::string("mobilenet_v2"), std::string("out_relu"))
    ->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);
BENCHMARK_CAPTURE(BM_PretrainedImage, inception_v3_mixed5, std::string("inception_v3"), std::string("mixed5"))
    ->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);
BENCHMARK_CAPTURE(BM_PretrainedImage, inception_v3_average_pooling2d_10, std::string("inception_v3"), std::string("average_pooling2d_10"))
    ->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

void BM_Handcrafted(benchmark::State& state) {
  const datasets::Dataset* data = Posters();
  if (!data) return state.SkipWithError("ml-100k not found");
  encoders::EncodeContext ctx;
  ctx.threads = 2;
  for (auto _ : state) benchmark::DoNotOptimize(encoders::HandcraftedImageFeatures(*data, ctx));
  state.counters["items/s"] = benchmark::Counter(static_cast<double>(kPosters) * state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Handcrafted)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

// Pooling only (the ~1 s vector load is outside the loop): all 1,649 plots.
void BM_GlovePooling(benchmark::State& state) {
  const datasets::Dataset* data = Posters();
  if (!data) return state.SkipWithError("ml-100k not found");
  if (!encoders::GloveAvailable()) return state.SkipWithError("run scripts/setup.sh --pretrained");
  static const encoders::WordVectors wv = encoders::LoadGlove();
  encoders::TextSourceOptions opts;
  opts.source = encoders::TextSource::kDescription;
  const auto texts = encoders::ItemTexts(*data, opts, nullptr);
  const auto pooling = state.range(0) ? encoders::WordPooling::kSif : encoders::WordPooling::kMean;
  for (auto _ : state) benchmark::DoNotOptimize(encoders::PoolWordVectors(wv, texts, pooling, 1e-3, 2));
  state.counters["items/s"] = benchmark::Counter(static_cast<double>(texts.size()) * state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_GlovePooling)->Arg(0)->Arg(1)->ArgName("sif")->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
