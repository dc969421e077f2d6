#include "datasets/stats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "framework/hash.h"

namespace recfuse::datasets {
namespace {

// 3 users, 4 items:
//   u0: i0 (5), i1 (3), i0 again (4)     -> one duplicate pair
//   u1: i0 (1), i2 (5)
//   u2: i0 (4)
// item i3 has no interactions; degrees users [3,2,1], items [4,1,1,0].
Dataset HandMade() {
  Dataset d;
  d.name = "hand";
  d.source = "/data/hand";
  for (const char* u : {"u0", "u1", "u2"}) d.users.GetOrAdd(u);
  for (const char* i : {"i0", "i1", "i2", "i3"}) d.items.GetOrAdd(i);
  d.interactions.has_rating = true;
  d.interactions.has_timestamp = true;
  const double day = 86400;
  d.interactions.Add(0, 0, 5, 1 * day);
  d.interactions.Add(0, 1, 3, 5 * day);
  d.interactions.Add(0, 0, 4, 11 * day);
  d.interactions.Add(1, 0, 1, 2 * day);
  d.interactions.Add(1, 2, 5, 3 * day);
  d.interactions.Add(2, 0, 4, 4 * day);
  d.item_text.push_back({"plot", {"a plot", "", "another", ""}});
  d.reviews.push_back({0, 3, 0, "review of the item nobody rated"});
  d.item_image = {"/img/i0.jpg", "/img/i1.jpg", "", ""};
  for (const char* e : {"e0", "e1", "e2"}) d.entities.GetOrAdd(e);
  d.relations.GetOrAdd("r0");
  d.kg = {{0, 0, 1}, {1, 0, 2}};
  d.item_entity = {kNoId, 0, kNoId, kNoId};
  CategoricalField genre;
  genre.name = "genre";
  const Index a = genre.values.GetOrAdd("a"), b = genre.values.GetOrAdd("b");
  genre.per_row = {{a, b}, {}, {a}, {}};
  d.item_categorical.push_back(genre);
  d.user_numeric.push_back({"age", {20.0f, std::nanf(""), 30.0f}});
  d.fixed_split = {0, 0, 1, 2, 0, 0};
  d.report.notes = {"dedup=keep: 0 rows removed"};
  d.report.missing_images = 1;
  d.Finalize();
  return d;
}

TEST(ComputeStats, CountsOnAHandMadeDataset) {
  const Dataset d = HandMade();
  const DatasetStats s = ComputeStats(d);
  EXPECT_EQ(s.users, 3);
  EXPECT_EQ(s.items, 4);
  EXPECT_EQ(s.interactions, 6);
  EXPECT_DOUBLE_EQ(s.density, 0.5);
  EXPECT_EQ(s.cold_items, 1);
  EXPECT_EQ(s.users_without_interactions, 0);
  EXPECT_EQ(s.duplicate_pairs, 1);
  EXPECT_EQ(s.duplicate_rows, 1);
  EXPECT_TRUE(s.has_rating);
  EXPECT_TRUE(s.has_timestamp);
  EXPECT_DOUBLE_EQ(s.time_min, 86400);
  EXPECT_DOUBLE_EQ(s.time_max, 11 * 86400);
  EXPECT_DOUBLE_EQ(s.time_days, 10);
  ASSERT_EQ(s.rating_histogram.size(), 4u);  // 1, 3, 4, 5
  const double values[] = {1, 3, 4, 5};
  const int64_t counts[] = {1, 1, 2, 2};
  for (size_t k = 0; k < 4; ++k) {
    EXPECT_EQ(s.rating_histogram[k].lo, values[k]);
    EXPECT_EQ(s.rating_histogram[k].hi, values[k]);
    EXPECT_EQ(s.rating_histogram[k].count, counts[k]);
  }
  // Users [3,2,1]: mean 2, median 2, p90 at rank 1.8 -> 2.8, gini = sum|xi-xj| / (2 n^2 mean)
  // = 8 / 36.
  EXPECT_EQ(s.user_degree.min, 1);
  EXPECT_EQ(s.user_degree.max, 3);
  EXPECT_DOUBLE_EQ(s.user_degree.mean, 2);
  EXPECT_DOUBLE_EQ(s.user_degree.median, 2);
  EXPECT_NEAR(s.user_degree.p90, 2.8, 1e-12);
  EXPECT_NEAR(s.user_degree.gini, 8.0 / 36.0, 1e-12);
  // Items [4,1,1,0] (the cold item counts): median (1+1)/2, p90 at rank 2.7 -> 1 + 0.7*3,
  // gini = 24 / (2 * 16 * 1.5).
  EXPECT_EQ(s.item_degree.min, 0);
  EXPECT_EQ(s.item_degree.max, 4);
  EXPECT_DOUBLE_EQ(s.item_degree.mean, 1.5);
  EXPECT_DOUBLE_EQ(s.item_degree.median, 1);
  EXPECT_NEAR(s.item_degree.p90, 3.1, 1e-12);
  EXPECT_NEAR(s.item_degree.gini, 0.5, 1e-12);

  // Text: i0, i2 by plot, i3 by review. Image: i0, i1. KG: i1.
  EXPECT_EQ(s.items_with_text, 3);
  EXPECT_EQ(s.items_with_image, 2);
  EXPECT_EQ(s.items_with_kg, 1);
  ASSERT_EQ(s.coverage.size(), 3u);
  EXPECT_EQ(s.coverage[0].name, "text");
  EXPECT_DOUBLE_EQ(s.coverage[0].item_fraction, 0.75);
  EXPECT_DOUBLE_EQ(s.coverage[0].interaction_fraction, 5.0 / 6.0);
  EXPECT_EQ(s.coverage[1].name, "image");
  EXPECT_DOUBLE_EQ(s.coverage[1].item_fraction, 0.5);
  EXPECT_DOUBLE_EQ(s.coverage[1].interaction_fraction, 5.0 / 6.0);
  EXPECT_EQ(s.coverage[2].name, "kg");
  EXPECT_DOUBLE_EQ(s.coverage[2].item_fraction, 0.25);
  EXPECT_DOUBLE_EQ(s.coverage[2].interaction_fraction, 1.0 / 6.0);
  EXPECT_EQ(s.kg_triples, 2);
  EXPECT_EQ(s.kg_entities, 3);
  EXPECT_EQ(s.kg_relations, 1);
  EXPECT_EQ(s.reviews, 1);
  EXPECT_EQ(s.missing_images, 1);

  ASSERT_EQ(s.fields.size(), 3u);
  EXPECT_EQ(s.fields[0].kind, "item_text");
  EXPECT_EQ(s.fields[0].rows_with_value, 2);
  EXPECT_EQ(s.fields[1].name, "genre");
  EXPECT_EQ(s.fields[1].rows_with_value, 2);
  EXPECT_EQ(s.fields[1].distinct_values, 2);
  EXPECT_DOUBLE_EQ(s.fields[1].fraction, 0.5);
  EXPECT_EQ(s.fields[2].kind, "user_numeric");
  EXPECT_EQ(s.fields[2].rows_with_value, 2);
  EXPECT_DOUBLE_EQ(s.fields[2].fraction, 2.0 / 3.0);

  EXPECT_TRUE(s.has_fixed_split);
  EXPECT_EQ(s.fixed_train, 4);
  EXPECT_EQ(s.fixed_valid, 1);
  EXPECT_EQ(s.fixed_test, 1);
  EXPECT_EQ(s.notes, d.report.notes);
  EXPECT_EQ(s.data_hash, framework::ToHex(d.ContentHash()));
}

TEST(ComputeStats, JsonCarriesTheDocumentedKeys) {
  const nlohmann::json j = StatsToJson(ComputeStats(HandMade()));
  for (const char* key :
       {"users",         "items",       "interactions",  "items_with_text", "items_with_image",
        "items_with_kg", "kg_triples",  "kg_entities",   "kg_relations",    "reviews",
        "density",       "has_rating",  "has_timestamp", "time_span",       "rating_histogram",
        "user_degree",   "item_degree", "cold_items",    "duplicate_pairs", "missing_images",
        "coverage",      "notes",       "data_hash"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["interactions"], 6);
  EXPECT_DOUBLE_EQ(j["time_span"]["days"].get<double>(), 10.0);
  EXPECT_EQ(j["rating_histogram"][2]["value"], 4.0);
  EXPECT_EQ(j["rating_histogram"][2]["count"], 2);
  EXPECT_DOUBLE_EQ(j["item_degree"]["gini"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(j["coverage"]["kg"]["interaction_fraction"].get<double>(), 1.0 / 6.0);
  EXPECT_EQ(j["fixed_split"]["train"], 4);
  EXPECT_EQ(j["notes"][0], "dedup=keep: 0 rows removed");
}

TEST(ComputeStats, TextNamesTheKeyFacts) {
  const std::string text = StatsToText(ComputeStats(HandMade()));
  for (const char* part : {"hand", "interactions    6", "gini", "text: 3 of 4 items (75.0%)",
                           "kg              2 triples", "dedup=keep: 0 rows removed"})
    EXPECT_NE(text.find(part), std::string::npos) << part << "\n" << text;
}

// The text modality says which fields it comes from: plot covers i0 and i2, the one review
// covers i3; a dataset without images says so instead of "missing images 0".
TEST(ComputeStats, TextSourcesAndNoImages) {
  const DatasetStats s = ComputeStats(HandMade());
  ASSERT_EQ(s.text_sources.size(), 2u);
  EXPECT_EQ(s.text_sources[0].name, "plot");
  EXPECT_EQ(s.text_sources[0].items, 2);
  EXPECT_EQ(s.text_sources[1].name, "reviews");
  EXPECT_EQ(s.text_sources[1].items, 1);
  const std::string text = StatsToText(s);
  for (const char* part : {"text from       plot (item text): 2 of 4 items (50.0%)", "reviews: 1 of 4 items (25.0%)",
                           "images          2 of 4 items have an image file (50.0%), 1 missing (no file found)"})
    EXPECT_NE(text.find(part), std::string::npos) << part << "\n" << text;
  EXPECT_EQ(StatsToJson(s)["text_sources"][1]["items"], 1);
  EXPECT_EQ(StatsToJson(s)["text_sources"][0]["kind"], "item_text");
  EXPECT_EQ(StatsToJson(s)["text_sources"][1]["kind"], "reviews");
  EXPECT_EQ(StatsToJson(s)["images"]["missing"], 1);

  Dataset reviews_only = HandMade();
  reviews_only.item_text.clear();
  reviews_only.item_image.clear();
  reviews_only.report.missing_images = 0;
  const std::string t2 = StatsToText(ComputeStats(reviews_only));
  EXPECT_NE(t2.find("images          none (the dataset has no image folder or image list)"), std::string::npos) << t2;
  EXPECT_EQ(t2.find("missing"), std::string::npos) << t2;
  // Review text is not item text: the modality line and the sources say so.
  EXPECT_NE(t2.find("text: 1 of 4 items (25.0%), 0.0% of interactions  (review text only)"), std::string::npos) << t2;
  EXPECT_NE(t2.find("text from       item text: none (no item text field)"), std::string::npos) << t2;
  EXPECT_NE(t2.find("reviews: 1 of 4 items"), std::string::npos) << t2;
  EXPECT_TRUE(StatsToJson(ComputeStats(reviews_only))["images"].is_null());
  EXPECT_EQ(t2.find("plot:"), std::string::npos) << t2;
}

TEST(ComputeStats, ImplicitDataWithoutTimestamps) {
  Dataset d;
  d.users.GetOrAdd("u");
  d.items.GetOrAdd("i");
  d.interactions.Add(0, 0);
  d.Finalize();
  const DatasetStats s = ComputeStats(d);
  EXPECT_FALSE(s.has_rating);
  EXPECT_FALSE(s.has_timestamp);
  EXPECT_TRUE(s.rating_histogram.empty());
  EXPECT_DOUBLE_EQ(s.density, 1.0);
  const nlohmann::json j = StatsToJson(s);
  EXPECT_TRUE(j["time_span"].is_null());
  EXPECT_TRUE(j["fixed_split"].is_null());
}

TEST(ComputeStats, ManyDistinctRatingsAreBinned) {
  Dataset d;
  d.users.GetOrAdd("u");
  d.interactions.has_rating = true;
  for (int k = 0; k < 25; ++k) d.interactions.Add(0, d.items.GetOrAdd("i" + std::to_string(k)), k);
  d.Finalize();
  const DatasetStats s = ComputeStats(d);
  ASSERT_EQ(s.rating_histogram.size(), 10u);  // 25 distinct > 20: 10 bins of width 2.4
  int64_t total = 0;
  for (const auto& b : s.rating_histogram) total += b.count;
  EXPECT_EQ(total, 25);
  EXPECT_EQ(s.rating_histogram.front().count, 3);  // 0, 1, 2 in [0, 2.4)
  EXPECT_EQ(s.rating_histogram.back().count, 3);   // 22, 23, 24 in [21.6, 24]
  EXPECT_DOUBLE_EQ(s.rating_histogram.back().hi, 24);
}

TEST(DegreeStats, EvenCountMedianAndDegenerateCases) {
  const DegreeStats d = ComputeDegreeStats({4, 1, 3, 2});
  EXPECT_DOUBLE_EQ(d.median, 2.5);
  EXPECT_NEAR(d.p90, 3.7, 1e-12);    // rank 2.7 of [1,2,3,4]
  EXPECT_NEAR(d.gini, 0.25, 1e-12);  // sum|xi-xj| = 20, 2 n^2 mean = 80
  EXPECT_DOUBLE_EQ(ComputeDegreeStats({0, 0, 0}).gini, 0);
  EXPECT_DOUBLE_EQ(ComputeDegreeStats({5, 5, 5}).gini, 0);
  EXPECT_NEAR(ComputeDegreeStats({0, 0, 0, 7}).gini, 0.75, 1e-12);  // (n-1)/n: one has all
  const DegreeStats single = ComputeDegreeStats({7});
  EXPECT_DOUBLE_EQ(single.median, 7);
  EXPECT_DOUBLE_EQ(single.p90, 7);
  EXPECT_EQ(ComputeDegreeStats({}).max, 0);
}

}  // namespace
}  // namespace recfuse::datasets
