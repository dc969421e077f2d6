#include "framework/log.h"

#include <gtest/gtest.h>

#include <limits>

namespace recfuse::framework {
namespace {

// Rounding happens before the split into units: 6539.6 s once printed "108m60s".
TEST(FormatDuration, RoundsBeforeSplittingIntoUnits) {
  EXPECT_EQ(FormatDuration(6539.6), "109m00s");
  EXPECT_EQ(FormatDuration(119.6), "2m00s");
  EXPECT_EQ(FormatDuration(59.5), "60s");
  EXPECT_EQ(FormatDuration(0.2), "0s");
  EXPECT_EQ(FormatDuration(125), "2m05s");
  EXPECT_EQ(FormatDuration(7199.4), "119m59s");
  EXPECT_EQ(FormatDuration(7199.6), "2h00m");
  EXPECT_EQ(FormatDuration(3 * 3600 + 7 * 60 + 29.9), "3h07m");
  EXPECT_EQ(FormatDuration(3 * 3600 + 59 * 60 + 45), "4h00m");
}

TEST(FormatDuration, NonsenseIsAQuestionMark) {
  EXPECT_EQ(FormatDuration(-1), "?");
  EXPECT_EQ(FormatDuration(std::numeric_limits<double>::quiet_NaN()), "?");
  EXPECT_EQ(FormatDuration(std::numeric_limits<double>::infinity()), "?");
}

}  // namespace
}  // namespace recfuse::framework

namespace recfuse::framework {
namespace {

// The 5-core case: 8:1:1 per user realised as 69 / 15.5 / 15.5 % of the rows.
TEST(FormatSplitSizes, CountsAndPercentagesOfTheirSum) {
  EXPECT_EQ(FormatSplitSizes(690, 155, 155), "train 690 (69.0%) / valid 155 (15.5%) / test 155 (15.5%) rows");
  EXPECT_EQ(FormatSplitSizes(2, 0, 1), "train 2 (66.7%) / valid 0 (0.0%) / test 1 (33.3%) rows");
  EXPECT_EQ(FormatSplitSizes(0, 0, 0), "no rows");
  EXPECT_THROW(FormatSplitSizes(-1, 0, 1), std::exception);
}

}  // namespace
}  // namespace recfuse::framework
