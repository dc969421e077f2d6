// ApplyFilters: exact removal counts on a hand-built table, and consistent id remapping.
#include <gtest/gtest.h>

#include "datasets/load.h"
#include "framework/error.h"
#include "tests/test_util.h"

namespace recfuse::datasets {
namespace {

// r0 u1 a 5 10 | r1 u1 b 4 20 | r2 u1 a 3 30 | r3 u2 a 4 5 | r4 u2 c 2 15
// r5 u3 b 5 40 | r6 u3 a 4 50 | r7 u4 d 5 60 | r8 u3 b 3 35       (+ cold item e)
Dataset Table(bool with_rating = true) {
  const std::string dir = testing::TempDir("filters") + "/f";
  std::string inter = with_rating ? "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
                                  : "user_id:token\titem_id:token\tr:float\ttimestamp:float\n";
  inter +=
      "u1\ta\t5\t10\nu1\tb\t4\t20\nu1\ta\t3\t30\nu2\ta\t4\t5\nu2\tc\t2\t15\n"
      "u3\tb\t5\t40\nu3\ta\t4\t50\nu4\td\t5\t60\nu3\tb\t3\t35\n";
  testing::WriteText(dir + "/f.inter", inter);
  testing::WriteText(dir + "/f.plot",
                     "item_id:token\tplot:text\na\tplot a\nb\tplot b\nc\tplot c\ne\tplot e\n");
  testing::WriteText(dir + "/f.link", "item_id:token\tentity_id:token\nb\tEB\nd\tED\n");
  testing::WriteText(dir + "/f.item", "item_id:token\tkind:token\ne\tcold\nb\tbee\n");
  testing::WriteText(dir + "/f.user", "user_id:token\tage:float\nu3\t33\nu2\t22\n");
  testing::WriteText(
      dir + "/f.review",
      "user_id:token\titem_id:token\treview:text\nu2\ta\tby u2\nu2\tc\ton c\nu1\tb\tby u1\n");
  Dataset d = LoadAtomic(dir, {});
  d.fixed_split = {0, 1, 2, 0, 1, 2, 0, 1, 2};
  return d;
}

std::vector<std::string> Tokens(const IdMap& m) { return m.tokens(); }

TEST(FiltersTest, NoFilterKeepsEverythingIncludingColdItems) {
  Dataset d = Table();
  ApplyFilters(d, {});
  EXPECT_EQ(d.interactions.size(), 9u);
  EXPECT_EQ(d.num_items(), 5);  // e has no interactions but content
  EXPECT_TRUE(d.report.notes.empty());
}

TEST(FiltersTest, RatingThreshold) {
  Dataset d = Table();
  FilterOptions f;
  f.rating_threshold = 4;
  ApplyFilters(d, f);
  // r2 (3), r4 (2), r8 (3) go; item c loses its only interaction.
  EXPECT_EQ(d.interactions.size(), 6u);
  EXPECT_EQ(d.interactions.rating, (std::vector<float>{5, 4, 4, 5, 4, 5}));
  EXPECT_EQ(Tokens(d.items), (std::vector<std::string>{"a", "b", "d"}));  // c and cold e dropped
  EXPECT_EQ(d.num_users(), 4);
  ASSERT_GE(d.report.notes.size(), 2u);
  EXPECT_EQ(d.report.notes[0],
            "rating_threshold=4 (keep rating >= 4): removed 3 of 9 interactions, 0 users, 1 items");
  EXPECT_NE(d.report.notes[1].find("removed 0 users and 2 items"), std::string::npos)
      << d.report.notes[1];
}

TEST(FiltersTest, RatingThresholdNeedsRatings) {
  Dataset d = Table(/*with_rating=*/false);
  FilterOptions f;
  f.rating_threshold = 4;
  EXPECT_THROW(ApplyFilters(d, f), framework::ConfigError);
}

TEST(FiltersTest, DedupFirstAndLastByTimestamp) {
  Dataset first = Table();
  FilterOptions f;
  f.dedup = "first";
  ApplyFilters(first, f);
  // (u1,a): r0@10 beats r2@30; (u3,b): r8@35 beats r5@40 although later in the file.
  EXPECT_EQ(first.interactions.size(), 7u);
  EXPECT_EQ(first.interactions.timestamp, (std::vector<double>{10, 20, 5, 15, 50, 60, 35}));
  EXPECT_EQ(first.report.notes[0].substr(first.report.notes[0].find("removed")),
            "removed 2 of 9 interactions, 0 users, 0 items");
  Dataset last = Table();
  f.dedup = "last";
  ApplyFilters(last, f);
  EXPECT_EQ(last.interactions.timestamp, (std::vector<double>{20, 30, 5, 15, 40, 50, 60}));
  f.dedup = "newest";
  EXPECT_THROW(ApplyFilters(last, f), framework::ConfigError);
}

TEST(FiltersTest, FilterThatRemovesNothingKeepsIds) {
  Dataset d = Table();
  FilterOptions f;
  f.min_user_interactions = 1;
  ApplyFilters(d, f);
  EXPECT_EQ(d.interactions.size(), 9u);
  EXPECT_EQ(d.num_items(), 5);  // no re-densification: cold item e stays
  ASSERT_EQ(d.report.notes.size(), 1u);
}

TEST(FiltersTest, KCoreIteratesAndRemapsSideInfo) {
  Dataset d = Table();
  FilterOptions f;
  f.min_user_interactions = 2;
  f.min_item_interactions = 2;
  ApplyFilters(d, f);
  // Round 1 drops r4 (item c) and r7 (user u4, item d); then u2 has 1 left: round 2 drops r3.
  EXPECT_EQ(
      d.report.notes[0],
      "k-core (users >= 2, items >= 2, 2 rounds): removed 3 of 9 interactions, 2 users, 2 items");
  ASSERT_EQ(d.interactions.size(), 6u);
  EXPECT_EQ(Tokens(d.users), (std::vector<std::string>{"u1", "u3"}));
  EXPECT_EQ(Tokens(d.items), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(d.interactions.user, (std::vector<Index>{0, 0, 0, 1, 1, 1}));
  EXPECT_EQ(d.interactions.item, (std::vector<Index>{0, 1, 0, 1, 0, 1}));
  // Kept rows r0 r1 r2 r5 r6 r8 carry their split codes along.
  EXPECT_EQ(d.fixed_split, (std::vector<uint8_t>{0, 1, 2, 2, 0, 2}));
  // Every per-item / per-user vector follows the new ids.
  EXPECT_EQ(d.item_text[0].values, (std::vector<std::string>{"plot a", "plot b"}));
  EXPECT_EQ(d.item_entity.size(), 2u);
  EXPECT_EQ(d.item_entity[0], kNoId);
  EXPECT_EQ(d.entities.Token(d.item_entity[1]), "EB");
  ASSERT_EQ(d.item_image.size(), 2u);
  const auto& kind = d.item_categorical[0];
  ASSERT_EQ(kind.per_row.size(), 2u);
  EXPECT_EQ(kind.values.Token(kind.per_row[1][0]), "bee");
  EXPECT_TRUE(kind.per_row[0].empty());
  EXPECT_EQ(d.user_numeric[0].per_row[1], 33.0f);
  // The review of c goes with c; u2's review of a stays as content without its author.
  ASSERT_EQ(d.reviews.size(), 2u);
  EXPECT_EQ(d.reviews[0].text, "by u2");
  EXPECT_EQ(d.reviews[0].user, kNoId);
  EXPECT_EQ(d.reviews[0].item, 0);
  EXPECT_EQ(d.reviews[1].user, 0);
  EXPECT_EQ(d.reviews[1].item, 1);
}

TEST(FiltersTest, AllThreeInOrder) {
  Dataset d = Table();
  FilterOptions f;
  f.rating_threshold = 4;
  f.dedup = "first";
  f.min_user_interactions = 2;
  f.min_item_interactions = 2;
  ApplyFilters(d, f);
  // Threshold leaves r0 r1 r3 r5 r6 r7 (no duplicates left); k-core drops r3 and r7.
  EXPECT_EQ(d.interactions.timestamp, (std::vector<double>{10, 20, 40, 50}));
  EXPECT_NE(d.report.notes[1].find("removed 0 of 6 interactions"), std::string::npos);
  EXPECT_NE(d.report.notes[2].find("removed 2 of 6 interactions, 2 users, 1 items"),
            std::string::npos)
      << d.report.notes[2];
}

TEST(FiltersTest, RemovingEverythingIsAnError) {
  Dataset d = Table();
  FilterOptions f;
  f.min_user_interactions = 100;
  EXPECT_THROW(ApplyFilters(d, f), framework::ConfigError);
}

}  // namespace
}  // namespace recfuse::datasets
