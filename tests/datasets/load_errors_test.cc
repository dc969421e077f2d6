// Every loader stops at the first malformed record with "file:line: reason".
#include <gtest/gtest.h>

#include "datasets/load.h"
#include "framework/error.h"
#include "tests/test_util.h"

namespace recfuse::datasets {
namespace {

using testing::TestData;

// Runs `load`, expects a DataError whose message contains `where` (file:line) and `why`.
template <typename F>
void ExpectDataError(F&& load, const std::string& where, const std::string& why) {
  try {
    load();
    ADD_FAILURE() << "expected DataError at " << where;
  } catch (const framework::DataError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(where), std::string::npos) << msg;
    EXPECT_NE(msg.find(why), std::string::npos) << msg;
  }
}

Dataset Atomic(const std::string& rel) { return LoadAtomic(TestData(rel), {}); }

TEST(LoadErrorsTest, WrongColumnCount) {
  ExpectDataError([] { Atomic("bad/columns"); },
                  "columns.inter:3:", "expected 4 tab-separated fields (per the header), got 3");
}

TEST(LoadErrorsTest, NonNumericRating) {
  ExpectDataError([] { Atomic("bad/rating_text"); },
                  "rating_text.inter:2:", "rating 'five' is not a number");
}

TEST(LoadErrorsTest, NanRating) {
  ExpectDataError([] { Atomic("bad/rating_nan"); }, "rating_nan.inter:4:", "not finite");
}

TEST(LoadErrorsTest, NegativeTimestamp) {
  ExpectDataError([] { Atomic("bad/negative_ts"); },
                  "negative_ts.inter:3:", "timestamp '-5' is negative");
}

TEST(LoadErrorsTest, MissingHeaderType) {
  ExpectDataError([] { Atomic("bad/no_type"); },
                  "no_type.inter:1:", "header field 'user_id' has no type");
}

TEST(LoadErrorsTest, UnknownItemInLink) {
  ExpectDataError([] { Atomic("bad/unknown_link"); }, "unknown_link.link:3:", "unknown item 'i99'");
}

TEST(LoadErrorsTest, EmptyInter) {
  ExpectDataError([] { Atomic("bad/empty"); }, "empty.inter:1:", "empty file");
}

TEST(LoadErrorsTest, HeaderOnlyInter) {
  ExpectDataError([] { Atomic("bad/header_only"); }, "header_only.inter:2:", "no interactions");
}

TEST(LoadErrorsTest, MovieLensBadRating) {
  ExpectDataError([] { LoadMovieLens(TestData("bad/ml_rating"), {}); },
                  "u.data:2:", "rating 'x' is not a number");
}

TEST(LoadErrorsTest, MalformedJsonLine) {
  ExpectDataError([] { LoadAmazon(TestData("bad/json"), {}); },
                  "reviews.jsonl:2:", "malformed JSON: [json.exception.parse_error");
}

TEST(LoadErrorsTest, MissingCsvColumn) {
  LoadOptions o;
  o.format_options.Set("csv.user", "userId");
  o.format_options.Set("csv.item", "movieId");
  ExpectDataError(
      [&] { LoadCsv(TestData("bad/csv_missing_column.csv"), o); },
      "csv_missing_column.csv:1:", "missing column 'movieId'; header has: userId, itemId, rating");
}

TEST(LoadErrorsTest, CsvLineNumbersCountQuotedLineBreaks) {
  LoadOptions o;
  o.format_options.Set("csv.user", "user");
  o.format_options.Set("csv.item", "item");
  o.format_options.Set("csv.rating", "rating");
  // Record 4 spans lines 4-5, so the bad rating of the next record is on line 6.
  ExpectDataError([&] { LoadCsv(TestData("bad/csv_line.csv"), o); },
                  "csv_line.csv:6:", "rating 'bad' is not a number");
}

TEST(LoadErrorsTest, UnterminatedCsvQuote) {
  const std::string path = testing::TempDir("csv_quote") + "/q.csv";
  testing::WriteText(path, "u,i\n1,2\n3,\"4\n5,6\n");
  LoadOptions o;
  o.format_options.Set("csv.user", "u");
  o.format_options.Set("csv.item", "i");
  ExpectDataError([&] { LoadCsv(path, o); }, "q.csv:3:", "unterminated quoted field");
}

TEST(LoadErrorsTest, MovieLensWrongFieldCount) {
  const std::string dir = testing::TempDir("ml_bad");
  testing::WriteText(dir + "/ratings.dat", "1::2::3::4\n1::2::3\n");
  ExpectDataError([&] { LoadMovieLens(dir, {}); },
                  "ratings.dat:2:", "expected 4 '::'-separated fields, got 3");
}

TEST(LoadErrorsTest, AmazonMissingField) {
  const std::string dir = testing::TempDir("amz_bad");
  testing::WriteText(dir + "/r.json",
                     "{\"reviewerID\": \"a\", \"asin\": \"x\", \"overall\": 5}\n"
                     "{\"reviewerID\": \"b\", \"overall\": 4}\n");
  ExpectDataError([&] { LoadAmazon(dir, {}); }, "r.json:2:", "missing 'asin'");
  // A rating on some reviews only would silently mix explicit and implicit feedback.
  testing::WriteText(dir + "/r.json",
                     "{\"reviewerID\": \"a\", \"asin\": \"x\", \"overall\": 5}\n"
                     "{\"reviewerID\": \"b\", \"asin\": \"x\"}\n");
  ExpectDataError([&] { LoadAmazon(dir, {}); }, "r.json:2:", "missing 'overall'");
}

}  // namespace
}  // namespace recfuse::datasets
