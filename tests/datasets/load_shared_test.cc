// Integration: the real ml-100k in ../shared/datasets (skipped when absent).
#include <gtest/gtest.h>

#include <algorithm>

#include "datasets/load.h"
#include "tests/test_util.h"

namespace recfuse::datasets {
namespace {

TEST(LoadSharedTest, Ml100kAtomicWithAllModalities) {
  const std::string dir = testing::SharedData("ml-100k");
  if (dir.empty()) GTEST_SKIP() << "ml-100k absent";
  const Dataset d = LoadDataset(dir);
  EXPECT_EQ(d.name, "ml-100k");
  EXPECT_EQ(d.num_users(), 943);
  EXPECT_EQ(d.num_items(), 1682);
  EXPECT_EQ(d.interactions.size(), 100000u);
  EXPECT_EQ(std::count_if(d.item_image.begin(), d.item_image.end(),
                          [](const std::string& p) { return !p.empty(); }),
            1424);
  EXPECT_EQ(d.report.missing_images, 1682 - 1424);
  const auto has_text = d.ItemHasText();
  EXPECT_EQ(std::count(has_text.begin(), has_text.end(), uint8_t{1}), 1649);
  EXPECT_EQ(d.kg.size(), 91631u);
  EXPECT_EQ(
      std::count_if(d.item_entity.begin(), d.item_entity.end(), [](Index e) { return e != kNoId; }),
      1598);
  EXPECT_EQ(d.user_categorical.size(), 4u);  // age gender occupation zip_code (all tokens)
  EXPECT_EQ(d.item_categorical.size(), 3u);  // movie_title release_year class
}

TEST(LoadSharedTest, Ml100kRecboleSplit) {
  const std::string dir = testing::SharedData("ml-100k-recbole-split");
  if (dir.empty()) GTEST_SKIP() << "ml-100k-recbole-split absent";
  const Dataset d = LoadDataset(dir);
  ASSERT_EQ(d.interactions.size(), 100000u);
  ASSERT_EQ(d.fixed_split.size(), 100000u);
  EXPECT_EQ(std::count(d.fixed_split.begin(), d.fixed_split.end(), uint8_t{0}), 80808);
  EXPECT_EQ(std::count(d.fixed_split.begin(), d.fixed_split.end(), uint8_t{1}), 9596);
  EXPECT_EQ(std::count(d.fixed_split.begin(), d.fixed_split.end(), uint8_t{2}), 9596);
  EXPECT_EQ(d.num_users(), 943);
  EXPECT_EQ(d.num_items(), 1682);
  // Side information from the sibling ../ml-100k.
  EXPECT_EQ(d.kg.size(), 91631u);
  const auto has_text = d.ItemHasText();
  EXPECT_EQ(std::count(has_text.begin(), has_text.end(), uint8_t{1}), 1649);
  EXPECT_EQ(std::count_if(d.item_image.begin(), d.item_image.end(),
                          [](const std::string& p) { return !p.empty(); }),
            1424);
}

}  // namespace
}  // namespace recfuse::datasets
