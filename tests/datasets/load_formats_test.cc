// LoadMovieLens, LoadAmazon and LoadCsv on tiny fixtures (tests/data/{movielens,amazon,csv}).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "datasets/load.h"
#include "framework/error.h"
#include "tests/test_util.h"

namespace recfuse::datasets {
namespace {

using testing::TestData;

std::vector<std::string> Values(const std::vector<CategoricalField>& fields,
                                const std::string& name, Index row) {
  for (const auto& f : fields)
    if (f.name == name) {
      std::vector<std::string> out;
      for (Index v : f.per_row[row]) out.push_back(f.values.Token(v));
      return out;
    }
  throw std::runtime_error("no field " + name);
}

TEST(LoadMovieLensTest, Ml100kRaw) {
  const Dataset d = LoadMovieLens(TestData("movielens/ml100k"), {});
  EXPECT_EQ(d.name, "ml100k");
  ASSERT_EQ(d.interactions.size(), 4u);
  EXPECT_EQ(d.num_users(), 4);  // user 4 only in u.user
  EXPECT_EQ(d.num_items(), 4);  // movie 40 only in u.item
  EXPECT_EQ(d.items.Token(3), "40");
  EXPECT_EQ(d.interactions.user, (std::vector<Index>{0, 1, 0, 2}));
  EXPECT_EQ(d.interactions.item, (std::vector<Index>{0, 0, 1, 2}));
  EXPECT_EQ(d.interactions.rating, (std::vector<float>{4, 3, 5, 1}));
  EXPECT_EQ(d.interactions.timestamp[3], 879000000.0);
  ASSERT_EQ(d.item_text.size(), 1u);
  EXPECT_EQ(d.item_text[0].name, "title");
  EXPECT_EQ(d.item_text[0].values[0], "Toy Story (1995)");
  EXPECT_EQ(d.item_text[0].values[1], "Caf\xe9 Society (1995)");  // Latin-1 bytes unchanged
  EXPECT_EQ(Values(d.item_categorical, "genre", 0),
            (std::vector<std::string>{"Animation", "Children's", "Comedy"}));
  EXPECT_EQ(Values(d.item_categorical, "genre", 2),
            (std::vector<std::string>{"Action", "Crime", "Thriller"}));
  EXPECT_EQ(Values(d.item_categorical, "genre", 3), (std::vector<std::string>{"unknown"}));
  ASSERT_EQ(d.user_numeric.size(), 1u);
  EXPECT_EQ(d.user_numeric[0].per_row, (std::vector<float>{24, 53, 23, 24}));
  EXPECT_EQ(Values(d.user_categorical, "occupation", 2), (std::vector<std::string>{"writer"}));
  EXPECT_EQ(Values(d.user_categorical, "zip_code", 1), (std::vector<std::string>{"94043"}));
}

TEST(LoadMovieLensTest, Ml1mRaw) {
  const Dataset d = LoadMovieLens(TestData("movielens/ml1m"), {});
  ASSERT_EQ(d.interactions.size(), 3u);
  EXPECT_EQ(d.num_users(), 2);
  EXPECT_EQ(d.num_items(), 3);  // Jumanji has no rating
  EXPECT_EQ(d.interactions.item, (std::vector<Index>{0, 1, 0}));
  EXPECT_EQ(d.interactions.rating, (std::vector<float>{5, 3, 4}));
  EXPECT_EQ(d.interactions.timestamp[2], 978298413.0);
  EXPECT_EQ(d.item_text[0].values[0], "One Flew Over the Cuckoo's Nest (1975)");
  EXPECT_EQ(Values(d.item_categorical, "genre", 1),
            (std::vector<std::string>{"Animation", "Children's", "Musical"}));
  EXPECT_EQ(Values(d.item_categorical, "genre", 2),
            (std::vector<std::string>{"Adventure", "Children's", "Fantasy"}));
  EXPECT_EQ(d.user_numeric[0].per_row, (std::vector<float>{1, 56}));
  EXPECT_EQ(Values(d.user_categorical, "gender", 0), (std::vector<std::string>{"F"}));
  EXPECT_EQ(Values(d.user_categorical, "occupation", 1), (std::vector<std::string>{"16"}));
}

TEST(LoadAmazonTest, ReviewsMetadataAndImages) {
  const Dataset d = LoadAmazon(TestData("amazon/beauty"), {});
  EXPECT_EQ(d.name, "beauty");
  ASSERT_EQ(d.interactions.size(), 4u);
  EXPECT_EQ(d.num_users(), 3);
  ASSERT_EQ(d.num_items(), 3);  // A9 (metadata only) is not added
  EXPECT_EQ(d.interactions.user, (std::vector<Index>{0, 1, 0, 2}));
  EXPECT_EQ(d.interactions.item, (std::vector<Index>{0, 0, 1, 2}));
  EXPECT_EQ(d.interactions.rating, (std::vector<float>{5, 3, 4, 2}));
  EXPECT_EQ(d.interactions.timestamp[3], 1400000300.0);
  // The review without text is an interaction but not a review.
  ASSERT_EQ(d.reviews.size(), 3u);
  EXPECT_EQ(d.reviews[0].text, "Great\nLove it");
  EXPECT_EQ(d.reviews[2].user, 2);
  EXPECT_EQ(d.reviews[2].item, 2);
  EXPECT_EQ(d.reviews[2].timestamp, 1400000300.0);
  ASSERT_EQ(d.item_text.size(), 1u);
  EXPECT_EQ(d.item_text[0].name, "description");
  EXPECT_EQ(d.item_text[0].values[0], "Soap\nGentle soap.");  // not the duplicate record
  EXPECT_EQ(d.item_text[0].values[1], "Shampoo\nFor hair.\nSmells nice.");
  EXPECT_EQ(d.item_text[0].values[2], "");
  EXPECT_EQ(d.ItemHasText(), (std::vector<uint8_t>{1, 1, 1}));  // A3 through its review
  EXPECT_EQ(Values(d.item_categorical, "category", 0),
            (std::vector<std::string>{"Beauty", "Bath", "Skin"}));
  EXPECT_EQ(Values(d.item_categorical, "category", 1),
            (std::vector<std::string>{"Beauty", "Hair"}));
  EXPECT_EQ(Values(d.item_categorical, "brand", 0), (std::vector<std::string>{"Acme"}));
  EXPECT_TRUE(Values(d.item_categorical, "brand", 1).empty());
  EXPECT_NE(d.item_image[0].find("images/A1.jpg"), std::string::npos);
  EXPECT_NE(d.item_image[2].find("images/A3.png"), std::string::npos);
  EXPECT_EQ(d.item_image[1], "");
  EXPECT_EQ(d.report.missing_images, 1);
  ASSERT_EQ(d.report.notes.size(), 2u);
  EXPECT_NE(d.report.notes[0].find("skipped 1 metadata records of products without reviews"),
            std::string::npos);
  EXPECT_NE(d.report.notes[1].find("skipped 1 repeated"), std::string::npos);
}

TEST(LoadAmazonTest, SingleFileAndOptions) {
  const Dataset d = LoadAmazon(TestData("amazon/beauty/reviews.jsonl"), {});
  EXPECT_EQ(d.name, "reviews");
  EXPECT_EQ(d.interactions.size(), 4u);
  EXPECT_EQ(d.item_text.size(), 1u);  // metadata found next to the file
  LoadOptions o;
  o.format_options.Set("amazon.meta", "missing.json");
  EXPECT_THROW(LoadAmazon(TestData("amazon/beauty"), o), framework::IoError);
  LoadOptions typo;
  typo.format_options.Set("amazon.metadata", "x");
  EXPECT_THROW(LoadAmazon(TestData("amazon/beauty"), typo), framework::ConfigError);
}

LoadOptions CsvOptions() {
  LoadOptions o;
  o.format_options.Set("csv.user", "userId");
  o.format_options.Set("csv.item", "movieId");
  o.format_options.Set("csv.rating", "rating");
  o.format_options.Set("csv.timestamp", "timestamp");
  return o;
}

TEST(LoadCsvTest, QuotedFieldsAndCrlf) {
  const Dataset d = LoadCsv(TestData("csv/ratings.csv"), CsvOptions());
  EXPECT_EQ(d.name, "ratings");
  ASSERT_EQ(d.interactions.size(), 4u);
  EXPECT_EQ(d.num_users(), 3);
  ASSERT_EQ(d.num_items(), 3);
  EXPECT_EQ(d.items.Token(1), "2\"0");  // "2""0" unescaped
  EXPECT_EQ(d.interactions.item, (std::vector<Index>{0, 1, 0, 2}));
  EXPECT_EQ(d.interactions.rating, (std::vector<float>{4, 3.5f, 5, 2}));
  EXPECT_EQ(d.interactions.timestamp, (std::vector<double>{100, 200, 300, 400}));
}

TEST(LoadCsvTest, NoHeaderTabSeparatedAndNoTimestamp) {
  LoadOptions o;
  o.format_options.Set("csv.user", "0");
  o.format_options.Set("csv.item", "1");
  o.format_options.Set("csv.rating", "2");
  o.format_options.Set("csv.sep", "\\t");
  o.format_options.Set("csv.header", "false");
  const Dataset d = LoadCsv(TestData("csv/noheader.tsv"), o);
  ASSERT_EQ(d.interactions.size(), 3u);  // the first line is data
  EXPECT_FALSE(d.interactions.has_timestamp);
  EXPECT_EQ(d.users.Token(0), "u1");
  EXPECT_EQ(d.interactions.rating, (std::vector<float>{5, 3, 1}));
}

TEST(LoadCsvTest, OptionErrors) {
  LoadOptions o;
  o.format_options.Set("csv.user", "userId");
  EXPECT_THROW(LoadCsv(TestData("csv/ratings.csv"), o), framework::ConfigError);  // no csv.item
  o = CsvOptions();
  o.format_options.Set("csv.sep", ";;");
  EXPECT_THROW(LoadCsv(TestData("csv/ratings.csv"), o), framework::ConfigError);
  o = CsvOptions();
  o.format_options.Set("csv.usr", "x");
  EXPECT_THROW(LoadCsv(TestData("csv/ratings.csv"), o), framework::ConfigError);
  o = CsvOptions();
  o.format_options.Set("csv.header", "false");  // column names are not indices then
  EXPECT_THROW(LoadCsv(TestData("csv/ratings.csv"), o), framework::ConfigError);
}

}  // namespace
}  // namespace recfuse::datasets
