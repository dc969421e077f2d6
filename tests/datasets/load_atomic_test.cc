// LoadAtomic on tiny RecBole atomic-file fixtures (tests/data/atomic/).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "datasets/load.h"
#include "framework/error.h"
#include "tests/test_util.h"

namespace recfuse::datasets {
namespace {

using testing::TestData;

std::vector<std::string> Values(const CategoricalField& f, Index row) {
  std::vector<std::string> out;
  for (Index v : f.per_row[row]) out.push_back(f.values.Token(v));
  return out;
}

const CategoricalField& Cat(const std::vector<CategoricalField>& fields, const std::string& name) {
  for (const auto& f : fields)
    if (f.name == name) return f;
  throw std::runtime_error("no field " + name);
}

TEST(LoadAtomicTest, InteractionsIdsRatingsTimestamps) {
  const Dataset d = LoadAtomic(TestData("atomic/tiny"), {});
  EXPECT_EQ(d.name, "tiny");
  ASSERT_EQ(d.interactions.size(), 5u);
  ASSERT_TRUE(d.interactions.has_rating);
  ASSERT_TRUE(d.interactions.has_timestamp);
  // Users u1,u2,u3 from .inter in first-seen order, then u4 from .user (cold user).
  ASSERT_EQ(d.num_users(), 4);
  EXPECT_EQ(d.users.Token(0), "u1");
  EXPECT_EQ(d.users.Token(2), "u3");
  EXPECT_EQ(d.users.Token(3), "u4");
  // Items i1,i2,i3 from .inter, then i4 from .item (cold item).
  ASSERT_EQ(d.num_items(), 4);
  EXPECT_EQ(d.items.Token(2), "i3");
  EXPECT_EQ(d.items.Token(3), "i4");
  EXPECT_EQ(d.interactions.user, (std::vector<Index>{0, 0, 1, 2, 1}));
  EXPECT_EQ(d.interactions.item, (std::vector<Index>{0, 1, 0, 2, 1}));
  EXPECT_EQ(d.interactions.rating, (std::vector<float>{5, 3, 4, 1, 2.5f}));
  EXPECT_EQ(d.interactions.timestamp, (std::vector<double>{100, 200, 150, 50, 300}));
  EXPECT_TRUE(d.fixed_split.empty());
}

TEST(LoadAtomicTest, ItemAndUserFeatures) {
  const Dataset d = LoadAtomic(TestData("atomic/tiny"), {});
  const auto& title = Cat(d.item_categorical, "title");
  EXPECT_EQ(Values(title, 0), (std::vector<std::string>{"Toy", "Story"}));
  EXPECT_EQ(Values(title, 3), (std::vector<std::string>{"Cold", "Movie"}));  // double space
  EXPECT_TRUE(title.per_row[2].empty());                                     // i3 has no .item row
  const auto& genre = Cat(d.item_categorical, "genre");
  EXPECT_EQ(Values(genre, 1), (std::vector<std::string>{"Action"}));
  ASSERT_EQ(d.item_numeric.size(), 1u);
  EXPECT_EQ(d.item_numeric[0].name, "year");
  EXPECT_EQ(d.item_numeric[0].per_row[0], 1995.0f);
  EXPECT_TRUE(std::isnan(d.item_numeric[0].per_row[3]));  // empty value
  EXPECT_TRUE(std::isnan(d.item_numeric[0].per_row[2]));  // no row
  ASSERT_EQ(d.user_numeric.size(), 1u);
  ASSERT_EQ(d.user_numeric[0].per_row.size(), 4u);
  EXPECT_EQ(d.user_numeric[0].per_row[1], 53.0f);
  EXPECT_EQ(d.user_numeric[0].per_row[3], 30.0f);
  EXPECT_TRUE(std::isnan(d.user_numeric[0].per_row[2]));  // u3 has no .user row
  EXPECT_EQ(Values(Cat(d.user_categorical, "gender"), 3), (std::vector<std::string>{"M"}));
}

TEST(LoadAtomicTest, KnowledgeGraphAndLinks) {
  const Dataset d = LoadAtomic(TestData("atomic/tiny"), {});
  ASSERT_EQ(d.kg.size(), 3u);
  EXPECT_EQ(d.relations.size(), 2);
  // e1 e2 e3 from the kg, e9 only from the link: it must still be an entity.
  ASSERT_EQ(d.entities.size(), 4);
  EXPECT_EQ(d.entities.Token(d.kg[1].head), "e2");
  EXPECT_EQ(d.relations.Token(d.kg[1].relation), "r2");
  EXPECT_EQ(d.entities.Token(d.kg[1].tail), "e3");
  EXPECT_EQ(d.entities.Token(d.item_entity[0]), "e1");
  EXPECT_EQ(d.entities.Token(d.item_entity[1]), "e9");
  EXPECT_EQ(d.item_entity[2], kNoId);
  EXPECT_EQ(d.item_entity[3], kNoId);
}

TEST(LoadAtomicTest, TextReviewsAndImages) {
  const Dataset d = LoadAtomic(TestData("atomic/tiny"), {});
  ASSERT_EQ(d.item_text.size(), 1u);
  EXPECT_EQ(d.item_text[0].name, "plot");
  EXPECT_EQ(d.item_text[0].values[0], "A boy's toys come to life: really, truly.");
  EXPECT_EQ(d.item_text[0].values[2], "Three.");
  EXPECT_EQ(d.item_text[0].values[1], "");
  ASSERT_EQ(d.reviews.size(), 2u);
  EXPECT_EQ(d.reviews[1].user, 1);
  EXPECT_EQ(d.reviews[1].item, 1);
  EXPECT_EQ(d.reviews[1].timestamp, 300);
  EXPECT_EQ(d.reviews[1].text, "Too long");
  // i1: plot + review; i2: review only; i3: plot; i4: nothing.
  EXPECT_EQ(d.ItemHasText(), (std::vector<uint8_t>{1, 1, 1, 0}));

  namespace fs = std::filesystem;
  const std::string images =
      fs::absolute(TestData("atomic/tiny/images")).lexically_normal().string();
  EXPECT_EQ(d.item_image[0], images + "/i1.jpg");
  EXPECT_EQ(d.item_image[2], images + "/i3.png");
  EXPECT_EQ(d.item_image[1], "");
  EXPECT_EQ(d.report.missing_images, 2);  // i2 and i4
  // The non-atomic tiny.notes is reported, not fatal.
  bool noted = false;
  for (const auto& n : d.report.notes) noted |= n.find("tiny.notes") != std::string::npos;
  EXPECT_TRUE(noted);
}

TEST(LoadAtomicTest, ImageListFileAndNoRatings) {
  const Dataset d = LoadAtomic(TestData("atomic/imagelist"), {});
  EXPECT_EQ(d.name, "imagelist");  // folder name; file name detected from the only .inter
  ASSERT_EQ(d.interactions.size(), 3u);
  EXPECT_FALSE(d.interactions.has_rating);
  EXPECT_FALSE(d.interactions.has_timestamp);
  EXPECT_TRUE(d.interactions.rating.empty());
  ASSERT_EQ(d.num_items(), 3);
  EXPECT_NE(d.item_image[0].find("pics/x.jpg"), std::string::npos);
  EXPECT_TRUE(std::filesystem::path(d.item_image[0]).is_absolute());
  EXPECT_EQ(d.item_image[1], "");  // listed, absent on disk
  EXPECT_EQ(d.item_image[2], "");  // not listed
  EXPECT_EQ(d.report.missing_images, 1);
}

TEST(LoadAtomicTest, SplitFolderWithSiblingSideInfo) {
  const Dataset d = LoadAtomic(TestData("atomic/splitcase/mini-split"), {});
  EXPECT_EQ(d.name, "mini-split");
  ASSERT_EQ(d.interactions.size(), 7u);
  EXPECT_EQ(d.fixed_split, (std::vector<uint8_t>{0, 0, 0, 0, 1, 1, 2}));
  EXPECT_EQ(d.interactions.timestamp, (std::vector<double>{1, 2, 3, 4, 5, 6, 7}));
  // Interactions come only from the split files: the sibling's mini.inter (user zz) is not read.
  EXPECT_EQ(d.num_users(), 3);
  EXPECT_EQ(d.users.Find("zz"), kNoId);
  // Side info from ../mini: i9 is a cold item, genres and plot attached.
  ASSERT_EQ(d.num_items(), 4);
  EXPECT_EQ(d.items.Token(3), "i9");
  EXPECT_EQ(Values(Cat(d.item_categorical, "genre"), 0), (std::vector<std::string>{"A", "B"}));
  EXPECT_EQ(d.item_text[0].values[d.items.Find("i2")], "Plot of two.");
}

TEST(LoadAtomicTest, SplitFolderWithExplicitSideInfoDir) {
  LoadOptions o;
  o.side_info_dir = TestData("atomic/tiny");  // no mini.* files, but an images/ folder
  o.name = "mini";
  const Dataset bare = LoadAtomic(TestData("atomic/splitcase/mini-split"), o);
  EXPECT_TRUE(bare.item_categorical.empty());
  EXPECT_EQ(bare.num_items(), 3);
  EXPECT_EQ(bare.report.missing_images, 1);  // tiny/images has i1.jpg and i3.png, not i2
  o.side_info_dir = TestData("atomic/splitcase/mini");
  const Dataset d = LoadAtomic(TestData("atomic/splitcase/mini-split"), o);
  EXPECT_EQ(d.name, "mini");
  EXPECT_EQ(d.num_items(), 4);
  o.side_info_dir = TestData("atomic/does-not-exist");
  EXPECT_THROW(LoadAtomic(TestData("atomic/splitcase/mini-split"), o), framework::IoError);
}

TEST(LoadAtomicTest, SplitFolderWithoutSideInfo) {
  const std::string dir = testing::TempDir("atomic_split") + "/x";
  const std::string h = "user_id:token\titem_id:token\n";
  testing::WriteText(dir + "/x.train.inter", h + "a\tp\nb\tq\n");
  testing::WriteText(dir + "/x.valid.inter", h);
  testing::WriteText(dir + "/x.test.inter", h + "a\tq\n");
  const Dataset d = LoadAtomic(dir, {});
  EXPECT_EQ(d.fixed_split, (std::vector<uint8_t>{0, 0, 2}));
  EXPECT_EQ(d.num_items(), 2);
  // A split file whose header differs from train's is an error naming it.
  testing::WriteText(dir + "/x.test.inter",
                     "user_id:token\titem_id:token\trating:float\na\tq\t1\n");
  try {
    LoadAtomic(dir, {});
    FAIL() << "expected DataError";
  } catch (const framework::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("x.test.inter:1:"), std::string::npos) << e.what();
  }
}

TEST(LoadAtomicTest, ExtraColumnsBlankLinesAndBom) {
  const std::string dir = testing::TempDir("atomic_extra") + "/y";
  testing::WriteText(dir + "/y.inter",
                     "\xEF\xBB\xBFuser_id:token\tnote:text\titem_id:token\ttags:token_seq\r\n"
                     "a\tfree text\tp\tt1 t2\r\n\r\nb\t\tq\t\r\n");
  const Dataset d = LoadAtomic(dir, {});
  ASSERT_EQ(d.interactions.size(), 2u);
  EXPECT_EQ(d.users.Token(0), "a");
  EXPECT_EQ(d.items.Token(1), "q");
}

TEST(LoadAtomicTest, DuplicateItemRowIsAnError) {
  const std::string dir = testing::TempDir("atomic_dup") + "/z";
  testing::WriteText(dir + "/z.inter", "user_id:token\titem_id:token\na\tp\n");
  testing::WriteText(dir + "/z.item", "item_id:token\tc:token\np\tx\nq\ty\np\tz\n");
  try {
    LoadAtomic(dir, {});
    FAIL() << "expected DataError";
  } catch (const framework::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("z.item:4: duplicate item 'p' (first on line 2)"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace recfuse::datasets
