// Image encoder throughput on the synthetic world's 64x64 PNGs: decode + preprocess, the
// handcrafted HSV+HOG features, a tiny ONNX network through OpenCV DNN (the per-image
// overhead of that path; a real ResNet costs its FLOPs on top), and the small CNN's forward.
// Counter "items/s" is the figure to watch. Needs recfuse_encoders (torch, OpenCV).
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <cstring>
#include <filesystem>

#include "datasets/load.h"
#include "datasets/synthetic.h"
#include "encoders/image_cnn.h"
#include "encoders/image_handcrafted.h"
#include "encoders/image_onnx.h"
#include "encoders/threads.h"
#include "framework/io.h"

namespace {

using namespace recfuse;

constexpr int kItems = 1000;

const std::string& WorldDir() {
  static const std::string dir = [] {
    const std::string d =
        (std::filesystem::temp_directory_path() / "recfuse_image_bench_world").string();
    datasets::SyntheticOptions o;
    o.users = 200;
    o.items = kItems;
    o.interactions = 10000;
    o.image_size = 64;
    o.threads = 2;
    datasets::GenerateSynthetic(d, o);
    return d;
  }();
  return dir;
}

const datasets::Dataset& World() {
  static const datasets::Dataset data = datasets::LoadDataset(WorldDir());
  return data;
}

// Protobuf writer for a hand-made ONNX graph (no model downloads in benchmarks either).
class Pb {
 public:
  Pb& Varint(int field, uint64_t v) {
    Raw(static_cast<uint64_t>(field) << 3);
    Raw(v);
    return *this;
  }
  Pb& Bytes(int field, std::string_view s) {
    Raw(static_cast<uint64_t>(field) << 3 | 2);
    Raw(s.size());
    out_.append(s);
    return *this;
  }
  Pb& Msg(int field, const Pb& m) { return Bytes(field, m.out_); }
  const std::string& str() const { return out_; }

 private:
  void Raw(uint64_t v) {
    for (; v >= 0x80; v >>= 7) out_.push_back(static_cast<char>(v | 0x80));
    out_.push_back(static_cast<char>(v));
  }
  std::string out_;
};

// x [N,3,64,64] -> Conv(3->16, 3x3) -> Relu -> GlobalAveragePool -> Flatten [N,16].
const std::string& OnnxPath() {
  static const std::string path = [] {
    const int out = 16;
    std::vector<float> w(out * 27), b(out, 0.1f);
    for (size_t i = 0; i < w.size(); ++i)
      w[i] = static_cast<float>(static_cast<int>(i % 7) - 3) / 10.0f;
    auto tensor = [](const std::string& name, const std::vector<int64_t>& dims,
                     const std::vector<float>& v) {
      Pb t;
      for (int64_t d : dims) t.Varint(1, static_cast<uint64_t>(d));
      std::string raw(v.size() * 4, '\0');
      std::memcpy(raw.data(), v.data(), raw.size());
      return t.Varint(2, 1).Bytes(8, name).Bytes(9, raw);
    };
    auto info = [](const std::string& name, const std::vector<int64_t>& dims) {
      Pb shape;
      for (int64_t d : dims)
        shape.Msg(1, d < 0 ? Pb().Bytes(2, "N") : Pb().Varint(1, static_cast<uint64_t>(d)));
      return Pb().Bytes(1, name).Msg(2, Pb().Msg(1, Pb().Varint(1, 1).Msg(2, shape)));
    };
    auto node = [](const std::string& op, const std::vector<std::string>& in,
                   const std::string& o) {
      Pb n;
      for (const auto& s : in) n.Bytes(1, s);
      return n.Bytes(2, o).Bytes(3, o + "_node").Bytes(4, op);
    };
    Pb g;
    g.Msg(1, node("Conv", {"x", "W", "B"}, "c")
                 .Msg(5, Pb().Bytes(1, "kernel_shape").Varint(20, 7).Varint(8, 3).Varint(8, 3)))
        .Msg(1, node("Relu", {"c"}, "r"))
        .Msg(1, node("GlobalAveragePool", {"r"}, "p"))
        .Msg(1,
             node("Flatten", {"p"}, "y").Msg(5, Pb().Bytes(1, "axis").Varint(20, 2).Varint(3, 1)))
        .Bytes(2, "bench")
        .Msg(5, tensor("W", {out, 3, 3, 3}, w))
        .Msg(5, tensor("B", {out}, b))
        .Msg(11, info("x", {-1, 3, 64, 64}))
        .Msg(12, info("y", {-1, out}));
    Pb model;
    model.Varint(1, 7).Msg(7, g).Msg(8, Pb().Bytes(1, "").Varint(2, 11));
    const std::string p = WorldDir() + "/bench_tiny.onnx";
    framework::WriteFileAtomic(p, model.str());
    return p;
  }();
  return path;
}

void ItemsPerSecond(benchmark::State& state, int64_t per_iteration) {
  state.counters["items/s"] = benchmark::Counter(
      static_cast<double>(per_iteration * state.iterations()), benchmark::Counter::kIsRate);
}

void BM_LoadImages64(benchmark::State& state) {
  const auto& data = World();
  encoders::ImagePreprocessOptions pre;
  pre.size = 64;
  for (auto _ : state) {
    auto batch = encoders::LoadImages(data.item_image, pre, static_cast<int>(state.range(0)));
    benchmark::DoNotOptimize(batch.chw.data());
  }
  ItemsPerSecond(state, data.num_items());
}
BENCHMARK(BM_LoadImages64)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_HandcraftedFeatures(benchmark::State& state) {
  const auto& data = World();
  encoders::EncodeContext ctx;
  ctx.threads = static_cast<int>(state.range(0));
  for (auto _ : state) {
    auto f = encoders::HandcraftedImageFeatures(data, ctx);
    benchmark::DoNotOptimize(f.values.data());
  }
  ItemsPerSecond(state, data.num_items());
}
BENCHMARK(BM_HandcraftedFeatures)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_OnnxTinyNet64(benchmark::State& state) {
  const auto& data = World();
  encoders::EncodeContext ctx;
  ctx.threads = static_cast<int>(state.range(0));
  encoders::OnnxOptions options;
  options.preprocess.size = 64;
  for (auto _ : state) {
    auto f = encoders::OnnxImageFeatures(data, OnnxPath(), ctx, options);
    benchmark::DoNotOptimize(f.values.data());
  }
  ItemsPerSecond(state, data.num_items());
}
BENCHMARK(BM_OnnxTinyNet64)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

// Forward only (eval mode, no autograd), batch 64 of 64x64 images, default options.
void BM_SmallCnnForward64(benchmark::State& state) {
  encoders::SetTorchThreads(static_cast<int>(state.range(0)));
  torch::manual_seed(0);
  encoders::SmallCnnImageEncoder enc(encoders::SmallCnnImageEncoderOptions(64));
  enc->eval();
  const auto images = torch::randn({64, 3, 64, 64});
  const auto present = torch::ones({64});
  torch::NoGradGuard no_grad;
  for (auto _ : state) {
    auto out = enc->forward(images, present);
    benchmark::DoNotOptimize(out.data_ptr<float>());
  }
  ItemsPerSecond(state, 64);
}
BENCHMARK(BM_SmallCnnForward64)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

// Forward + backward of the same batch in training mode (one SGD step's compute).
void BM_SmallCnnTrainStep64(benchmark::State& state) {
  encoders::SetTorchThreads(static_cast<int>(state.range(0)));
  torch::manual_seed(0);
  encoders::SmallCnnImageEncoder enc(encoders::SmallCnnImageEncoderOptions(64));
  const auto images = torch::randn({64, 3, 64, 64});
  const auto present = torch::ones({64});
  for (auto _ : state) {
    enc->zero_grad();
    enc->forward(images, present).pow(2).mean().backward();
  }
  ItemsPerSecond(state, 64);
}
BENCHMARK(BM_SmallCnnTrainStep64)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
