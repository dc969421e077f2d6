// Full-ranking evaluation at MovieLens-1M scale: 6,040 users x 3,706 items, dimension 64,
// ~1M masked training interactions, ~100k test rows, K = 10, 20, 50, 2 threads.
// Targets: < 0.3 s per evaluation and < 100 MB peak extra memory (counter peak_extra_MB:
// the peak RSS during the call, the watermark reset just before, minus the RSS before;
// malloc_trim first so that reused free heap memory cannot hide allocations).
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "eval/evaluator.h"
#include "framework/rng.h"
#include "framework/sysinfo.h"
#include "models/recommender.h"

namespace recfuse::eval {
namespace {

using datasets::Index;
using models::RowMatrixXf;

constexpr Index kUsers = 6040;
constexpr Index kItems = 3706;
constexpr int kDim = 64;
constexpr int kTrainPerUser = 165;  // 996,600 training interactions
constexpr int kTestPerUser = 17;    // 102,680 test rows

// A dot-product model; with expose = false the evaluator must use ScoreBlock.
class RandomFactorModel : public models::Recommender {
 public:
  RandomFactorModel(bool expose, uint64_t seed) : expose_(expose) {
    framework::Rng rng(seed);
    user_.resize(kUsers, kDim);
    item_.resize(kItems, kDim);
    bias_.resize(kItems);
    for (int64_t j = 0; j < user_.size(); ++j) user_.data()[j] = static_cast<float>(rng.Normal());
    for (int64_t j = 0; j < item_.size(); ++j) item_.data()[j] = static_cast<float>(rng.Normal());
    for (int64_t j = 0; j < bias_.size(); ++j) bias_[j] = static_cast<float>(rng.Normal());
  }
  void Fit(const models::TrainData&, const models::FitContext&) override {}
  void ScoreBlock(std::span<const Index> users, Eigen::Ref<RowMatrixXf> out) const override {
    RowMatrixXf u(static_cast<int64_t>(users.size()), kDim);
    for (size_t r = 0; r < users.size(); ++r) u.row(static_cast<int64_t>(r)) = user_.row(users[r]);
    out.noalias() = u * item_.transpose();
    out.rowwise() += bias_.transpose();
  }
  Factors GetFactors() const override {
    return expose_ ? Factors{&user_, &item_, &bias_} : Factors{};
  }
  void Save(std::ostream&) const override {}
  void Load(std::istream&) override {}

 private:
  bool expose_;
  RowMatrixXf user_, item_;
  Eigen::VectorXf bias_;
};

struct Setup {
  datasets::Dataset data;
  models::SpMat train;
  EvalTarget target;
  RandomFactorModel gemm_model{true, 2};
  RandomFactorModel block_model{false, 2};

  Setup() {
    for (Index u = 0; u < kUsers; ++u) data.users.GetOrAdd("u" + std::to_string(u));
    for (Index i = 0; i < kItems; ++i) data.items.GetOrAdd("i" + std::to_string(i));
    data.Finalize();
    framework::Rng rng(1);
    std::vector<uint32_t> stamp(kItems, 0);
    std::vector<Eigen::Triplet<float, int64_t>> trips;
    trips.reserve(static_cast<size_t>(kUsers) * kTrainPerUser);
    auto& inter = data.interactions;
    inter.Reserve(static_cast<size_t>(kUsers) * (kTrainPerUser + kTestPerUser));
    for (Index u = 0; u < kUsers; ++u) {
      int drawn = 0;
      while (drawn < kTrainPerUser + kTestPerUser) {
        const Index i = static_cast<Index>(rng.UniformInt(kItems));
        if (stamp[i] == static_cast<uint32_t>(u) + 1) continue;
        stamp[i] = static_cast<uint32_t>(u) + 1;
        const int64_t row = static_cast<int64_t>(inter.size());
        inter.Add(u, i);
        if (drawn < kTrainPerUser)
          trips.emplace_back(u, i, 1.0f);
        else
          target.test_rows.push_back(row);
        ++drawn;
      }
    }
    train.resize(kUsers, kItems);
    train.setFromTriplets(trips.begin(), trips.end());
    train.makeCompressed();
    target.data = &data;
    target.train = &train;
  }
};

Setup& GetSetup() {
  static Setup* s = new Setup();
  return *s;
}

void Run(benchmark::State& state, const models::Recommender& model, EvalOptions opt) {
  Setup& s = GetSetup();
  double peak_extra = 0;
  EvalResult r;
  for (auto _ : state) {
    r = EvalResult();  // release the previous result before measuring
    // Hand free heap pages back to the kernel, so the call's allocations must fault in new
    // pages and show up in the RSS instead of silently reusing resident free memory.
    malloc_trim(0);
    framework::ResetPeakRss();
    const int64_t before = framework::CurrentRssBytes();
    r = Evaluate(model, s.target, opt);
    benchmark::DoNotOptimize(r.metrics.data());
    peak_extra =
        std::max(peak_extra, static_cast<double>(framework::PeakRssBytes() - before) / (1 << 20));
  }
  state.counters["peak_extra_MB"] = peak_extra;
  state.counters["users"] = static_cast<double>(r.users.size());
  state.counters["test_rows"] = static_cast<double>(s.target.test_rows.size());
  state.counters["train_nnz"] = static_cast<double>(s.train.nonZeros());
  for (const auto& m : r.metrics)
    if (m.metric == "ndcg" && m.k == 10) state.counters["ndcg@10"] = m.value;
}

EvalOptions BaseOptions() {
  EvalOptions opt;
  opt.ks = {10, 20, 50};
  opt.threads = 2;
  return opt;
}

// Arg = threads; the target is for 2.
void BM_FullRankingGemm(benchmark::State& state) {
  EvalOptions opt = BaseOptions();
  opt.threads = static_cast<int>(state.range(0));
  Run(state, GetSetup().gemm_model, opt);
}
BENCHMARK(BM_FullRankingGemm)
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime()
    ->MinTime(2.0);

void BM_FullRankingScoreBlock(benchmark::State& state) {
  Run(state, GetSetup().block_model, BaseOptions());
}
BENCHMARK(BM_FullRankingScoreBlock)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime()
    ->MinTime(2.0);

void BM_FullRankingGemmWithAuc(benchmark::State& state) {
  EvalOptions opt = BaseOptions();
  opt.metrics.push_back("auc");
  Run(state, GetSetup().gemm_model, opt);
}
BENCHMARK(BM_FullRankingGemmWithAuc)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime()
    ->MinTime(2.0);

void BM_Sampled100Gemm(benchmark::State& state) {
  EvalOptions opt = BaseOptions();
  opt.sampled_negatives = 100;
  Run(state, GetSetup().gemm_model, opt);
}
BENCHMARK(BM_Sampled100Gemm)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime()
    ->MinTime(2.0);

}  // namespace
}  // namespace recfuse::eval

BENCHMARK_MAIN();
