// Text encoders' throughput on the default-size synthetic world (1,500 items, 100k
// interactions, ~30k reviews; generated once per process without images):
//   BM_SentencePieceEncode  tokens/s of Tokenizer::EncodeBatch over every item text
//   BM_TfidfSvd/threads     items/s of TfidfSvdFeatures (spec text:tfidf-svd:64) end to end
//   BM_TfidfSvdLarge/threads  the scale target: 50k generated documents of 100 words drawn
//                           Zipf-like from a 50k-word vocabulary -> FitTfidf, TfidfMatrix,
//                           RandomizedSvdProjection(64); items/s and peak RSS
// Needs recfuse_encoders (hence the torch_ prefix: built only where libtorch is).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <string>

#include "datasets/load.h"
#include "datasets/synthetic.h"
#include "encoders/item_text.h"
#include "encoders/text_tfidf.h"
#include "encoders/tokenizer.h"
#include "framework/rng.h"
#include "framework/sysinfo.h"

namespace rd = recfuse::datasets;
namespace re = recfuse::encoders;

namespace {

struct World {
  std::string dir;
  rd::Dataset data;
  std::vector<std::string> texts;  // per item: description + all reviews
};

const World& SyntheticWorld() {
  static const World world = [] {
    World w;
    w.dir = (std::filesystem::temp_directory_path() / ("recfuse_text_bench_" + std::to_string(::getpid()))).string();
    rd::SyntheticOptions o;
    o.images = false;
    rd::GenerateSynthetic(w.dir, o);
    w.data = rd::LoadDataset(w.dir);
    w.texts = re::ItemTexts(w.data, re::TextSourceOptions{}, nullptr);
    return w;
  }();
  return world;
}

void BM_SentencePieceEncode(benchmark::State& state) {
  const World& w = SyntheticWorld();
  const re::Tokenizer tok = re::Tokenizer::Train(w.texts, 2000, "unigram", 0, w.dir + "/spm");
  int64_t tokens = 0;
  for (auto _ : state) {
    const re::TokenBatch b = tok.EncodeBatch(w.texts, 4096, static_cast<int>(state.range(0)));
    for (int64_t n : b.lengths) tokens += n;
    benchmark::DoNotOptimize(b.ids.data());
  }
  state.counters["tokens_per_s"] = benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
  state.counters["texts"] = static_cast<double>(w.texts.size());
}
BENCHMARK(BM_SentencePieceEncode)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_TfidfSvd(benchmark::State& state) {
  const World& w = SyntheticWorld();
  re::EncodeContext ctx;
  ctx.threads = static_cast<int>(state.range(0));
  for (auto _ : state) {
    const auto f = re::TfidfSvdFeatures(w.data, 64, ctx);
    benchmark::DoNotOptimize(f.values.data());
  }
  state.counters["items_per_s"] = benchmark::Counter(
      static_cast<double>(w.data.num_items()) * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_TfidfSvd)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

const std::vector<std::string>& LargeCorpus() {
  static const std::vector<std::string> docs = [] {
    constexpr int kDocs = 50000, kWords = 50000, kLen = 100;
    recfuse::framework::Rng rng(1);
    std::vector<std::string> out(kDocs);
    for (auto& d : out)
      for (int k = 0; k < kLen; ++k) {
        // Word rank ~ exp(U * ln kWords): a log-uniform (Zipf-like) rank distribution.
        const int w = static_cast<int>(std::exp(rng.Uniform() * std::log(static_cast<double>(kWords)))) - 1;
        d += "w" + std::to_string(w) + " ";
      }
    return out;
  }();
  return docs;
}

void BM_TfidfSvdLarge(benchmark::State& state) {
  const auto& docs = LargeCorpus();
  const int threads = static_cast<int>(state.range(0));
  int64_t terms = 0;
  for (auto _ : state) {
    const auto vocab = re::FitTfidf(docs);
    const auto m = re::TfidfMatrix(vocab, docs, threads);
    re::RandomizedSvdOptions o;
    o.threads = threads;
    const auto p = re::RandomizedSvdProjection(m, 64, o);
    benchmark::DoNotOptimize(p.data());
    terms = static_cast<int64_t>(vocab.terms.size());
  }
  state.counters["items_per_s"] =
      benchmark::Counter(static_cast<double>(docs.size()) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
  state.counters["terms"] = static_cast<double>(terms);
  state.counters["peak_rss_mb"] = static_cast<double>(recfuse::framework::PeakRssBytes()) / (1 << 20);
}
BENCHMARK(BM_TfidfSvdLarge)->Arg(1)->Arg(2)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
