// LoadDataset: format detection, dispatch, naming, filters; LoadOptionsFromConfig.
#include <gtest/gtest.h>

#include <cmath>

#include "datasets/load.h"
#include "framework/config.h"
#include "framework/error.h"
#include "tests/test_util.h"

namespace recfuse::datasets {
namespace {

using testing::TestData;

TEST(LoadDatasetTest, DetectsEachFormat) {
  EXPECT_EQ(LoadDataset(TestData("atomic/tiny")).interactions.size(), 5u);
  EXPECT_EQ(LoadDataset(TestData("atomic/splitcase/mini-split")).fixed_split.size(), 7u);
  EXPECT_EQ(LoadDataset(TestData("movielens/ml100k")).interactions.size(), 4u);
  EXPECT_EQ(LoadDataset(TestData("movielens/ml1m")).interactions.size(), 3u);
  EXPECT_EQ(LoadDataset(TestData("amazon/beauty")).interactions.size(), 4u);
  LoadOptions csv;
  csv.format_options.Set("csv.user", "userId");
  csv.format_options.Set("csv.item", "movieId");
  const Dataset d = LoadDataset(TestData("csv/ratings.csv"), csv);
  EXPECT_EQ(d.interactions.size(), 4u);
  EXPECT_EQ(d.name, "ratings");
  EXPECT_EQ(d.source, TestData("csv/ratings.csv"));
}

TEST(LoadDatasetTest, SingleInterFile) {
  const Dataset d = LoadDataset(TestData("atomic/tiny/tiny.inter"));
  EXPECT_EQ(d.name, "tiny");
  EXPECT_EQ(d.num_items(), 4);  // side files next to it are read as well
}

TEST(LoadDatasetTest, NameOptionAndFiltersApplied) {
  LoadOptions o;
  o.name = "tiny";
  o.filters.rating_threshold = 3;
  const Dataset d = LoadDataset(TestData("atomic/tiny"), o);
  EXPECT_EQ(d.name, "tiny");
  // Ratings 5 3 4 1 2.5: two below 3 go; u3/i3 and the cold u4/i4 are dropped.
  EXPECT_EQ(d.interactions.size(), 3u);
  EXPECT_EQ(d.num_users(), 2);
  EXPECT_EQ(d.num_items(), 2);
  EXPECT_EQ(d.item_image.size(), 2u);
}

TEST(LoadDatasetTest, UndetectableAndMissingPaths) {
  const std::string dir = testing::TempDir("detect");
  testing::WriteText(dir + "/notes.txt", "hello\n");
  try {
    LoadDataset(dir);
    FAIL();
  } catch (const framework::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot detect format"), std::string::npos);
  }
  EXPECT_THROW(LoadDataset(dir + "/notes.txt"), framework::DataError);
  EXPECT_THROW(LoadDataset(dir + "/nope"), framework::IoError);
  LoadOptions o;
  o.format = "parquet";
  EXPECT_THROW(LoadDataset(TestData("atomic/tiny"), o), framework::ConfigError);
}

TEST(LoadOptionsTest, FromConfig) {
  framework::Config c;
  c.Set("format", "csv");
  c.Set("name", "mine");
  c.Set("rating_threshold", "3.5");
  c.Set("dedup", "last");
  c.Set("min_user_interactions", "5");
  c.Set("min_item_interactions", "2");
  c.Set("csv.user", "userId");
  c.Set("amazon.meta", "m.json");
  const LoadOptions o = LoadOptionsFromConfig(c);
  EXPECT_EQ(o.format, "csv");
  EXPECT_EQ(o.name, "mine");
  EXPECT_EQ(o.filters.rating_threshold, 3.5);
  EXPECT_EQ(o.filters.dedup, "last");
  EXPECT_EQ(o.filters.min_user_interactions, 5);
  EXPECT_EQ(o.filters.min_item_interactions, 2);
  EXPECT_EQ(o.format_options.GetString("csv.user", ""), "userId");
  EXPECT_EQ(o.format_options.GetString("amazon.meta", ""), "m.json");
  EXPECT_FALSE(o.format_options.Has("format"));

  const LoadOptions defaults = LoadOptionsFromConfig(framework::Config());
  EXPECT_EQ(defaults.format, "auto");
  EXPECT_TRUE(std::isnan(defaults.filters.rating_threshold));
  EXPECT_EQ(defaults.filters.dedup, "keep");
}

TEST(LoadOptionsTest, RejectsBadKeysAndValues) {
  for (const auto& [k, v] :
       std::vector<std::pair<std::string, std::string>>{{"formt", "csv"},
                                                        {"dedup", "newest"},
                                                        {"min_user_interactions", "-1"},
                                                        {"format", "xml"},
                                                        {"rating_threshold", "high"}}) {
    framework::Config c;
    c.Set(k, v);
    EXPECT_THROW(LoadOptionsFromConfig(c), framework::ConfigError) << k << "=" << v;
  }
}

}  // namespace
}  // namespace recfuse::datasets
