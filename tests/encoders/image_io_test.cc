#include "encoders/image_io.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "datasets/load.h"
#include "datasets/synthetic.h"
#include "encoders/image_handcrafted.h"
#include "framework/error.h"
#include "framework/io.h"
#include "tests/test_util.h"

namespace recfuse::encoders {
namespace {

// tests/data/images/wide_4x2.png, row-major RGB.
const uint8_t kWide[2][4][3] = {{{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}},
                                {{0, 0, 0}, {10, 20, 30}, {200, 100, 50}, {0, 128, 255}}};

RgbImage Gradient(int w, int h) {
  RgbImage im{w, h, std::vector<uint8_t>(static_cast<size_t>(w) * h * 3)};
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c)
        im.pixels[(static_cast<size_t>(y) * w + x) * 3 + c] =
            static_cast<uint8_t>((x * 7 + y * 3 + c * 50) % 256);
  return im;
}

ImagePreprocessOptions Raw(int size) {  // no normalisation: outputs are pixel / 255
  ImagePreprocessOptions o;
  o.size = size;
  o.mean = {0, 0, 0};
  o.std = {1, 1, 1};
  return o;
}

TEST(ImageIo, CentreCropOfWideImageIsHandCheckable) {
  // Shorter side already 2: no resize; the 2x2 centre crop is columns 1 and 2.
  const auto batch = LoadImages({testing::TestData("images/wide_4x2.png")}, Raw(2), 1);
  ASSERT_EQ(batch.present, std::vector<uint8_t>{1});
  ASSERT_EQ(batch.chw.size(), 12u);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 2; ++y)
      for (int x = 0; x < 2; ++x)
        EXPECT_FLOAT_EQ(batch.chw[c * 4 + y * 2 + x], kWide[y][x + 1][c] / 255.0f) << c << y << x;

  // ImageNet normalisation of the same crop: (v / 255 - mean) / std per channel.
  ImagePreprocessOptions imagenet;
  imagenet.size = 2;
  const auto norm = LoadImages({testing::TestData("images/wide_4x2.png")}, imagenet, 1);
  EXPECT_NEAR(norm.chw[0 * 4 + 1 * 2 + 1], (200 / 255.0f - 0.485f) / 0.229f,
              1e-5);  // R of (200,100,50)
  EXPECT_NEAR(norm.chw[1 * 4 + 0 * 2 + 0], (255 / 255.0f - 0.456f) / 0.224f,
              1e-5);  // G of (0,255,0)
  EXPECT_NEAR(norm.chw[2 * 4 + 1 * 2 + 0], (30 / 255.0f - 0.406f) / 0.225f,
              1e-5);  // B of (10,20,30)
}

TEST(ImageIo, ShrinkingAveragesPixels) {
  // 4x2 -> shorter side 1 gives 2x1 by area averaging; the centre crop keeps the left cell,
  // the mean of the 2x2 block {red, green, black, (10,20,30)}.
  const auto batch = LoadImages({testing::TestData("images/wide_4x2.png")}, Raw(1), 1);
  ASSERT_EQ(batch.chw.size(), 3u);
  EXPECT_NEAR(batch.chw[0] * 255, (255 + 0 + 0 + 10) / 4.0, 0.51);
  EXPECT_NEAR(batch.chw[1] * 255, (0 + 255 + 0 + 20) / 4.0, 0.51);
  EXPECT_NEAR(batch.chw[2] * 255, (0 + 0 + 0 + 30) / 4.0, 0.51);
}

TEST(ImageIo, DecodesPngJpegAndWebpAsRgb) {
  const std::string dir = testing::TempDir("image_formats");
  const RgbImage im = Gradient(24, 16);
  WriteImage(dir + "/a.png", im);
  WriteImage(dir + "/a.webp", im, 101);  // OpenCV: WebP quality > 100 = lossless
  WriteImage(dir + "/a.jpg", im, 95);
  for (const char* ext : {"png", "webp", "jpg"}) {
    const std::string path = dir + "/a." + ext;
    int64_t w = 0, h = 0;
    ASSERT_TRUE(PeekImageSize(framework::ReadFile(path), &w, &h)) << ext;
    EXPECT_EQ(w, 24) << ext;
    EXPECT_EQ(h, 16) << ext;
    RgbImage back;
    std::string error;
    ASSERT_TRUE(DecodeImageRgb(path, 1 << 20, &back, &error)) << ext << ": " << error;
    ASSERT_EQ(back.width, 24);
    ASSERT_EQ(back.height, 16);
    int max_diff = 0;
    double mean_diff = 0, mean_swapped = 0;  // swapped: as if decoded in BGR order
    for (size_t i = 0; i < im.pixels.size(); ++i) {
      const int d = std::abs(im.pixels[i] - back.pixels[i]);
      max_diff = std::max(max_diff, d);
      mean_diff += d;
      mean_swapped += std::abs(im.pixels[i] - back.pixels[i - i % 3 + 2 - i % 3]);
    }
    if (std::string(ext) == "jpg") {  // lossy, but much closer than the channel-swapped image
      EXPECT_LT(mean_diff, 0.5 * mean_swapped);
    } else {
      EXPECT_EQ(max_diff, 0) << ext;
    }
  }
}

TEST(ImageIo, UnusableImagesAreMaskedAndCountedNeverFatal) {
  const std::string dir = testing::TempDir("image_bad");
  WriteImage(dir + "/whole.jpg", Gradient(40, 40), 90);
  const std::string whole = framework::ReadFile(dir + "/whole.jpg");
  framework::WriteFileAtomic(dir + "/cut.jpg", std::string_view(whole).substr(0, whole.size() / 2));
  const std::vector<std::string> paths = {
      dir + "/does_not_exist.png",
      testing::TestData("images/zero_bytes.png"),
      "",  // item without an image: absent, not a fallback
      testing::TestData("images/corrupt.jpg"),
      testing::TestData("images/wide_4x2.png"),
      testing::TestData("images/corrupt.png"),
      testing::TestData("images/truncated.png"),
      testing::TestData("images/huge_dims.png"),
      dir + "/cut.jpg",
      dir + "/whole.jpg",
  };
  const auto batch = LoadImages(paths, Raw(8), 2);
  EXPECT_EQ(batch.present, (std::vector<uint8_t>{0, 0, 0, 0, 1, 0, 0, 0, 0, 1}));
  EXPECT_EQ(batch.absent, 1);
  EXPECT_EQ(batch.fallbacks, 7);
  ASSERT_EQ(batch.failures.size(), 5u);  // the first five, in path order
  EXPECT_NE(batch.failures[0].find("does_not_exist.png: missing file"), std::string::npos)
      << batch.failures[0];
  EXPECT_NE(batch.failures[1].find("zero-byte"), std::string::npos) << batch.failures[1];
  for (size_t i = 0; i < paths.size(); ++i) {
    if (batch.present[i]) continue;
    const auto begin = batch.chw.begin() + static_cast<int64_t>(i * 3 * 64);
    EXPECT_TRUE(std::all_of(begin, begin + 3 * 64, [](float v) { return v == 0.0f; })) << paths[i];
  }
  const std::string note = DescribeImageFailures(batch);
  EXPECT_NE(note.find("1 items without an image, 7 unusable images"), std::string::npos) << note;

  RgbImage out;
  std::string error;
  EXPECT_FALSE(
      DecodeImageRgb(testing::TestData("images/huge_dims.png"), int64_t{1} << 26, &out, &error));
  EXPECT_NE(error.find("100000x100000"), std::string::npos) << error;
  EXPECT_FALSE(DecodeImageRgb(dir + "/cut.jpg", int64_t{1} << 26, &out, &error));
  EXPECT_NE(error.find("truncated"), std::string::npos) << error;
  // A modest limit refuses even a valid image, by its header.
  EXPECT_FALSE(DecodeImageRgb(dir + "/whole.jpg", 100, &out, &error));
  EXPECT_NE(error.find("40x40"), std::string::npos) << error;
}

TEST(ImageIo, AugmentationIsAPureFunctionOfSeedKeyAndEpoch) {
  const std::string dir = testing::TempDir("image_aug");
  std::vector<std::string> paths;
  for (int i = 0; i < 12; ++i) {
    paths.push_back(dir + "/" + std::to_string(i) + ".png");
    WriteImage(paths.back(), Gradient(20 + i, 18));
  }
  ImageAugmentation aug;
  aug.enabled = true;
  aug.seed = 7;
  aug.epoch = 3;
  const auto plain = LoadImages(paths, Raw(16), 1);
  const auto a1 = LoadImages(paths, Raw(16), 1, aug);
  const auto a2 = LoadImages(paths, Raw(16), 2, aug);
  EXPECT_EQ(a1.chw, a2.chw);  // thread count does not matter
  aug.epoch = 4;
  const auto b = LoadImages(paths, Raw(16), 2, aug);
  EXPECT_NE(a1.chw, b.chw);  // a new epoch draws new crops and flips
  EXPECT_NE(a1.chw, plain.chw);

  // Keys, not positions, select the stream: the same item moved to another slot is
  // augmented the same way.
  std::vector<std::string> swapped = {paths[5], paths[0]};
  std::vector<uint64_t> keys = {5, 0};
  aug.epoch = 3;
  const auto s = LoadImages(swapped, Raw(16), 1, aug, &keys);
  const size_t per = 3 * 16 * 16;
  EXPECT_TRUE(std::equal(s.chw.begin(), s.chw.begin() + per, a1.chw.begin() + 5 * per));

  // Without shifts, each output is the plain crop or its mirror image, and both happen.
  aug.max_shift = 0;
  const auto f = LoadImages(paths, Raw(16), 2, aug);
  int flipped = 0, same = 0;
  for (size_t i = 0; i < paths.size(); ++i) {
    bool is_same = true, is_mirror = true;
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 16; ++y)
        for (int x = 0; x < 16; ++x) {
          const float v = f.chw[i * per + c * 256 + y * 16 + x];
          is_same &= v == plain.chw[i * per + c * 256 + y * 16 + x];
          is_mirror &= v == plain.chw[i * per + c * 256 + y * 16 + 15 - x];
        }
    EXPECT_TRUE(is_same || is_mirror) << i;
    flipped += is_mirror && !is_same;
    same += is_same;
  }
  EXPECT_GT(flipped, 0);
  EXPECT_GT(same, 0);
}

TEST(ImageHandcrafted, SolidColourFillsOneHistogramBinAndNoEdges) {
  RgbImage red{10, 10, {}};
  for (int i = 0; i < 100; ++i) red.pixels.insert(red.pixels.end(), {255, 0, 0});
  std::vector<float> f(kHandcraftedDim, -1.0f);
  HandcraftedFeaturesOf(red, f.data());
  // Hue 0 -> hue bin 0; saturation and value 255 -> top bins: index (0 * 4 + 3) * 4 + 3.
  for (int k = 0; k < kHandcraftedColorDim; ++k) EXPECT_FLOAT_EQ(f[k], k == 15 ? 1.0f : 0.0f) << k;
  for (int k = kHandcraftedColorDim; k < kHandcraftedDim; ++k) EXPECT_FLOAT_EQ(f[k], 0.0f) << k;

  // Left half black, right half white: value histogram splits evenly, HOG sees an edge.
  RgbImage half{64, 64, {}};  // the working size: no resampling blurs the edge
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 64; ++x)
      for (int c = 0; c < 3; ++c) half.pixels.push_back(x < 32 ? 0 : 255);
  HandcraftedFeaturesOf(half, f.data());
  EXPECT_FLOAT_EQ(f[0], 0.5f);  // h 0, s 0, v 0
  EXPECT_FLOAT_EQ(f[3], 0.5f);  // h 0, s 0, v 255
  float hog = 0;
  for (int k = kHandcraftedColorDim; k < kHandcraftedDim; ++k) hog += f[k];
  EXPECT_GT(hog, 0.5f);
}

struct World {
  datasets::Dataset data;
  std::vector<int> cluster;  // per dataset item id
  int clusters = 0;
};

World MakeWorld(const std::string& tag, double signal_image) {
  datasets::SyntheticOptions o;
  o.users = 150;
  o.items = 240;
  o.interactions = 5000;
  o.image_size = 32;
  o.signal_image = signal_image;
  o.threads = 2;
  const std::string dir = testing::TempDir(tag);
  datasets::GenerateSynthetic(dir, o);
  World w;
  w.data = datasets::LoadDataset(dir);
  const auto truth = datasets::ReadSyntheticTruth(dir);
  w.clusters = truth.clusters;
  w.cluster.assign(static_cast<size_t>(w.data.num_items()), -1);
  for (size_t r = 0; r < truth.item_tokens.size(); ++r) {
    const auto id = w.data.items.Find(truth.item_tokens[r]);
    if (id != datasets::kNoId) w.cluster[id] = truth.item_cluster[r];
  }
  return w;
}

TEST(ImageHandcrafted, FeaturesOfSyntheticImagesPredictTheLatentCluster) {
  const World informative = MakeWorld("hc_signal", 1.0);
  EncodeContext ctx;
  ctx.threads = 2;
  const auto f = HandcraftedImageFeatures(informative.data, ctx);
  ASSERT_EQ(f.values.rows(), informative.data.num_items());
  ASSERT_EQ(f.values.cols(), kHandcraftedDim);
  EXPECT_EQ(f.fallbacks, 0);
  EXPECT_TRUE(std::all_of(f.present.begin(), f.present.end(), [](uint8_t p) { return p == 1; }));
  const double chance = 1.0 / informative.clusters;
  const double acc = LinearProbeAccuracy(f.values, informative.cluster, 10.0, 0.6, 1);
  EXPECT_GE(acc, 0.8) << "chance " << chance;
  std::printf("handcrafted probe accuracy: %.3f (signal 1), chance %.3f\n", acc, chance);

  ctx.threads = 1;
  EXPECT_EQ(HandcraftedImageFeatures(informative.data, ctx).values, f.values);  // thread count free

  const World noise = MakeWorld("hc_noise", 0.0);
  const auto g = HandcraftedImageFeatures(noise.data, ctx);
  const double control = LinearProbeAccuracy(g.values, noise.cluster, 10.0, 0.6, 1);
  EXPECT_LT(control, chance + 0.15) << "informative " << acc;
  std::printf("handcrafted probe accuracy: %.3f (signal 0)\n", control);
}

TEST(ImageHandcrafted, ItemsWithoutUsableImagesAreMaskedAndCounted) {
  datasets::Dataset d;
  for (const char* t : {"ok", "none", "broken"}) d.items.GetOrAdd(t);
  d.users.GetOrAdd("u");
  d.interactions.Add(0, 0);
  d.Finalize();
  d.item_image = {testing::TestData("images/wide_4x2.png"), "",
                  testing::TestData("images/truncated.png")};
  const auto f = HandcraftedImageFeatures(d, EncodeContext{});
  EXPECT_EQ(f.present, (std::vector<uint8_t>{1, 0, 0}));
  EXPECT_EQ(f.fallbacks, 2);
  ASSERT_EQ(f.notes.size(), 1u);
  EXPECT_NE(f.notes[0].find("truncated.png"), std::string::npos) << f.notes[0];
  EXPECT_EQ(f.values.row(1).squaredNorm() + f.values.row(2).squaredNorm(), 0.0f);
  EXPECT_NEAR(f.values.row(0).head(kHandcraftedColorDim).sum(), 1.0f, 1e-5);  // L1-normalised

  d.item_image = {"", "", ""};
  EXPECT_THROW(HandcraftedImageFeatures(d, EncodeContext{}), framework::MissingModalityError);
}

}  // namespace
}  // namespace recfuse::encoders
