#include "encoders/image_onnx.h"

#include <gtest/gtest.h>

#include <cstring>

#include "framework/error.h"
#include "framework/io.h"
#include "tests/test_util.h"

namespace recfuse::encoders {
namespace {

// A minimal protobuf writer, enough to spell an ONNX ModelProto by hand (no model can be
// downloaded in tests, and no ONNX package is assumed). Field numbers from onnx.proto.
class Pb {
 public:
  Pb& Varint(int field, uint64_t v) {
    Key(field, 0);
    Raw(v);
    return *this;
  }
  Pb& Bytes(int field, std::string_view s) {
    Key(field, 2);
    Raw(s.size());
    out_.append(s);
    return *this;
  }
  Pb& Msg(int field, const Pb& m) { return Bytes(field, m.out_); }
  const std::string& str() const { return out_; }

 private:
  void Key(int field, int wire) {
    Raw(static_cast<uint64_t>(field) << 3 | static_cast<uint64_t>(wire));
  }
  void Raw(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>(v | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  std::string out_;
};

Pb FloatTensor(const std::string& name, const std::vector<int64_t>& dims,
               const std::vector<float>& values) {
  Pb t;
  for (int64_t d : dims) t.Varint(1, static_cast<uint64_t>(d));
  t.Varint(2, 1);  // FLOAT
  t.Bytes(8, name);
  std::string raw(values.size() * 4, '\0');
  std::memcpy(raw.data(), values.data(), raw.size());  // little-endian, as ONNX requires
  return t.Bytes(9, raw);
}

// ValueInfoProto of a float tensor; a negative dim is the free batch dimension "N".
Pb ValueInfo(const std::string& name, const std::vector<int64_t>& dims) {
  Pb shape;
  for (int64_t d : dims)
    shape.Msg(1, d < 0 ? Pb().Bytes(2, "N") : Pb().Varint(1, static_cast<uint64_t>(d)));
  Pb tensor;
  tensor.Varint(1, 1).Msg(2, shape);
  return Pb().Bytes(1, name).Msg(2, Pb().Msg(1, tensor));
}

Pb Node(const std::string& op, const std::vector<std::string>& in, const std::string& out,
        const std::vector<Pb>& attributes = {}) {
  Pb n;
  for (const auto& s : in) n.Bytes(1, s);
  n.Bytes(2, out).Bytes(3, out + "_node").Bytes(4, op);
  for (const auto& a : attributes) n.Msg(5, a);
  return n;
}

constexpr int kSize = 8, kOut = 2, kK = 3;

// x [N,3,8,8] -> Conv(3->2, 3x3, no padding) "c" -> GlobalAveragePool "p" -> Flatten "y".
std::string TinyConvNet(const std::vector<float>& weight, const std::vector<float>& bias) {
  Pb graph;
  graph.Msg(1, Node("Conv", {"x", "W", "B"}, "c",
                    {Pb().Bytes(1, "kernel_shape").Varint(20, 7).Varint(8, kK).Varint(8, kK)}));
  graph.Msg(1, Node("GlobalAveragePool", {"c"}, "p"));
  graph.Msg(1, Node("Flatten", {"p"}, "y", {Pb().Bytes(1, "axis").Varint(20, 2).Varint(3, 1)}));
  graph.Bytes(2, "tiny");
  graph.Msg(5, FloatTensor("W", {kOut, 3, kK, kK}, weight));
  graph.Msg(5, FloatTensor("B", {kOut}, bias));
  graph.Msg(11, ValueInfo("x", {-1, 3, kSize, kSize}));
  graph.Msg(12, ValueInfo("y", {-1, kOut}));
  Pb model;
  model.Varint(1, 7).Bytes(2, "recfuse-test").Msg(7, graph).Msg(8, Pb().Bytes(1, "").Varint(2, 11));
  return model.str();
}

RgbImage Pattern(int seed) {
  RgbImage im{kSize, kSize, std::vector<uint8_t>(kSize * kSize * 3)};
  for (size_t i = 0; i < im.pixels.size(); ++i)
    im.pixels[i] = static_cast<uint8_t>((i * 37 + seed * 91) % 256);
  return im;
}

struct Fixture {
  std::string dir = testing::TempDir("onnx");
  std::vector<float> weight, bias{0.5f, -0.25f};
  datasets::Dataset data;
  OnnxOptions options;
  Fixture() {
    for (int i = 0; i < kOut * 3 * kK * kK; ++i)
      weight.push_back(static_cast<float>((i * 7) % 11 - 5) / 10.0f);
    framework::WriteFileAtomic(dir + "/tiny.onnx", TinyConvNet(weight, bias));
    for (const char* t : {"a", "b", "none", "c", "bad", "d"}) data.items.GetOrAdd(t);
    data.users.GetOrAdd("u");
    data.interactions.Add(0, 0);
    data.Finalize();
    for (int i = 0; i < 6; ++i) {
      if (i == 2) continue;
      data.item_image[i] = dir + "/" + std::to_string(i) + ".png";
      if (i != 4) WriteImage(data.item_image[i], Pattern(i));
    }
    framework::WriteFileAtomic(data.item_image[4], "not an image");
    options.preprocess.size = kSize;
    options.batch_size = 2;  // batches cross the absent and the broken item
  }
};

TEST(ImageOnnx, FeaturesEqualHandComputedConvolutionAndAveragePool) {
  Fixture fx;
  EncodeContext ctx;
  ctx.threads = 2;
  const auto f = OnnxImageFeatures(fx.data, fx.dir + "/tiny.onnx", ctx, fx.options);
  ASSERT_EQ(f.values.rows(), 6);
  ASSERT_EQ(f.values.cols(), kOut);
  EXPECT_EQ(f.present, (std::vector<uint8_t>{1, 1, 0, 1, 0, 1}));
  EXPECT_EQ(f.fallbacks, 2);
  ASSERT_EQ(f.notes.size(), 1u);
  EXPECT_NE(f.notes[0].find("4.png"), std::string::npos) << f.notes[0];

  // Reference: the same preprocessing, then the convolution and mean written out.
  const auto batch = LoadImages(fx.data.item_image, fx.options.preprocess, 1);
  const int o_side = kSize - kK + 1;
  for (int item = 0; item < 6; ++item) {
    if (!f.present[item]) {
      EXPECT_EQ(f.values.row(item).squaredNorm(), 0.0f);
      continue;
    }
    const float* x = batch.chw.data() + item * 3 * kSize * kSize;
    for (int o = 0; o < kOut; ++o) {
      double sum = 0;
      for (int i = 0; i < o_side; ++i)
        for (int j = 0; j < o_side; ++j) {
          double v = fx.bias[o];
          for (int c = 0; c < 3; ++c)
            for (int ki = 0; ki < kK; ++ki)
              for (int kj = 0; kj < kK; ++kj)
                v += fx.weight[((o * 3 + c) * kK + ki) * kK + kj] *
                     x[(c * kSize + i + ki) * kSize + j + kj];
          sum += v;
        }
      EXPECT_NEAR(f.values(item, o), sum / (o_side * o_side), 1e-4) << item << " " << o;
    }
  }
}

TEST(ImageOnnx, NamedIntermediateOutputIsFlattened) {
  Fixture fx;
  fx.options.output_layer = "c_node";  // the convolution node, before pooling
  const auto f = OnnxImageFeatures(fx.data, fx.dir + "/tiny.onnx", EncodeContext{}, fx.options);
  const int o_side = kSize - kK + 1;
  ASSERT_EQ(f.values.cols(), kOut * o_side * o_side);
  const auto batch = LoadImages({fx.data.item_image[0]}, fx.options.preprocess, 1);
  double v = fx.bias[1];  // output channel 1 at (0, 0)
  for (int c = 0; c < 3; ++c)
    for (int ki = 0; ki < kK; ++ki)
      for (int kj = 0; kj < kK; ++kj)
        v +=
            fx.weight[((1 * 3 + c) * kK + ki) * kK + kj] * batch.chw[(c * kSize + ki) * kSize + kj];
  EXPECT_NEAR(f.values(0, o_side * o_side), v, 1e-4);

  fx.options.output_layer = "no_such_node";
  try {
    OnnxImageFeatures(fx.data, fx.dir + "/tiny.onnx", EncodeContext{}, fx.options);
    FAIL() << "no error for an unknown layer";
  } catch (const framework::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("c_node"), std::string::npos) << e.what();  // lists layers
  }
}

TEST(ImageOnnx, MissingOrBrokenModelIsAClearError) {
  Fixture fx;
  EXPECT_THROW(OnnxImageFeatures(fx.data, fx.dir + "/nope.onnx", EncodeContext{}, fx.options),
               framework::IoError);
  framework::WriteFileAtomic(fx.dir + "/junk.onnx", "definitely not protobuf \xff\xff\xff");
  try {
    OnnxImageFeatures(fx.data, fx.dir + "/junk.onnx", EncodeContext{}, fx.options);
    FAIL() << "no error for a junk model";
  } catch (const framework::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("junk.onnx"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace recfuse::encoders
