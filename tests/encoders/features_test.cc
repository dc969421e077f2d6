#include "encoders/features.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "framework/error.h"
#include "framework/rng.h"
#include "tests/test_util.h"

namespace recfuse::encoders {
namespace {

datasets::Dataset ThreeItems() {
  datasets::Dataset d;
  for (const char* t : {"a", "b", "c"}) d.items.GetOrAdd(t);
  d.users.GetOrAdd("u");
  d.interactions.Add(0, 0);
  d.Finalize();
  return d;
}

TEST(Features, Hdf5RoundTripMapsRowsByItemToken) {
  const auto data = ThreeItems();
  ItemFeatures f;
  f.spec = "test:spec";
  f.values.resize(3, 2);
  f.values << 1, 2, 3, 4, 0, 0;
  f.present = {1, 1, 0};
  const std::string dir = testing::TempDir("features");
  WriteFeaturesH5(dir + "/f.h5", data, f);
  const auto g = ReadFeaturesH5(dir + "/f.h5", data);
  EXPECT_EQ(g.spec, "test:spec");
  EXPECT_EQ(g.values, f.values);
  EXPECT_EQ(g.present, f.present);

  // The same file read against a dataset whose ids differ: rows follow tokens, not positions.
  datasets::Dataset other;
  for (const char* t : {"c", "x", "a"}) other.items.GetOrAdd(t);
  other.Finalize();
  const auto h = ReadFeaturesH5(dir + "/f.h5", other);
  EXPECT_FLOAT_EQ(h.values(2, 0), 1);
  EXPECT_FLOAT_EQ(h.values(2, 1), 2);
  EXPECT_EQ(h.present, (std::vector<uint8_t>{0, 0, 1}));  // x is absent from the file
  ASSERT_EQ(h.notes.size(), 1u);                         // "b" is not in `other`
}

TEST(Features, UnreadableFilesAreClearErrors) {
  const auto data = ThreeItems();
  const std::string dir = testing::TempDir("features_bad");
  EXPECT_THROW(ReadFeaturesH5(dir + "/missing.h5", data), framework::IoError);
  testing::WriteText(dir + "/junk.h5", "not hdf5 at all");
  EXPECT_THROW(ReadFeaturesH5(dir + "/junk.h5", data), framework::DataError);
}

TEST(Features, LinearProbeSeparatesInformativeFromNoiseFeatures) {
  // Three classes; informative features are the class centre plus noise, noise features
  // carry no label information.
  framework::Rng rng(3);
  const int n = 600;
  FeatureMatrix good(n, 4), noise(n, 4);
  std::vector<int> labels(n);
  for (int i = 0; i < n; ++i) {
    labels[i] = i % 3;
    for (int j = 0; j < 4; ++j) {
      good(i, j) = static_cast<float>((j == labels[i] ? 3.0 : 0.0) + rng.Normal());
      noise(i, j) = static_cast<float>(rng.Normal());
    }
  }
  EXPECT_GT(LinearProbeAccuracy(good, labels, 1.0, 0.7, 1), 0.9);
  EXPECT_LT(LinearProbeAccuracy(noise, labels, 1.0, 0.7, 1), 0.5);  // chance = 1/3
}

}  // namespace
}  // namespace recfuse::encoders

#include "datasets/load.h"
#include "datasets/synthetic.h"

namespace recfuse::encoders {
namespace {

TEST(Features, DispatchCachesByDataSpecAndTrainingRows) {
  const std::string world = testing::TempDir("features_world");
  datasets::SyntheticOptions opt;
  opt.users = 60;
  opt.items = 50;
  opt.interactions = 1000;
  opt.image_size = 16;
  datasets::GenerateSynthetic(world, opt);
  const auto data = datasets::LoadDataset(world);
  EncodeContext ctx;
  ctx.cache_dir = testing::TempDir("features_cache");
  const auto a = ComputeFrozenFeatures(data, "text:tfidf-svd:4", ctx);
  EXPECT_EQ(a.values.rows(), 50);
  EXPECT_EQ(a.values.cols(), 4);
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(ctx.cache_dir)) files += e.path().extension() == ".h5";
  EXPECT_EQ(files, 1);
  const auto b = ComputeFrozenFeatures(data, "text:tfidf-svd:4", ctx);  // served from cache
  EXPECT_EQ(a.values, b.values);
  std::vector<int64_t> rows = {0, 1, 2};
  ctx.train_rows = &rows;
  ComputeFrozenFeatures(data, "text:tfidf-svd:4", ctx);  // other training rows: new entry
  files = 0;
  for (const auto& e : std::filesystem::directory_iterator(ctx.cache_dir)) files += e.path().extension() == ".h5";
  EXPECT_EQ(files, 2);
  EXPECT_THROW(ComputeFrozenFeatures(data, "audio:mfcc", ctx), framework::ConfigError);
  EXPECT_THROW(ComputeFrozenFeatures(data, "kg:transe:0", ctx), framework::ConfigError);
}

}  // namespace
}  // namespace recfuse::encoders
