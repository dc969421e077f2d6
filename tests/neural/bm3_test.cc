// BM3: the neural contract, switches and bad configs, learning on LearningWorld, cold items
// scored from their content neighbours, and the bootstrap loss needing no negatives.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "tests/neural/mm_family_test_util.h"
#include "tests/neural/neural_test_util.h"

namespace recfuse::testing_neural {
namespace {

framework::Config Small(std::map<std::string, std::string> extra = {}) {
  std::map<std::string, std::string> kv = {{"dim", "16"}, {"epochs", "3"}, {"lr", "0.005"}};
  for (auto& [k, v] : extra) kv[k] = v;
  return Params(kv);
}

TEST(Bm3, KeepsTheModelContract) { ExpectModelContract("bm3", Small()); }

TEST(Bm3, SwitchesAndBadConfigs) {
  ExpectModelContract("bm3", Small({{"use_image", "false"}, {"epochs", "2"}}));
  ExpectModelContract("bm3", Small({{"use_text", "false"}, {"layers", "2"}, {"epochs", "2"}}));
  EXPECT_THROW(models::CreateModel("bm3", Params({{"use_image", "false"}, {"use_text", "false"}})),
               framework::ConfigError);
  EXPECT_THROW(models::CreateModel("bm3", Params({{"loss", "bpr"}})), framework::ConfigError);
  EXPECT_THROW(models::CreateModel("bm3", Params({{"dropout", "1"}})), framework::ConfigError);
  EXPECT_THROW(models::CreateModel("bm3", Params({{"knn_k", "0"}})), framework::ConfigError);
}

// Cold items get non-zero vectors from their content neighbours: distinct across cold items,
// changed when the text is switched off (it changes the neighbourhoods).
TEST(Bm3, ColdItemsGetContentDependentScores) {
  ExpectColdItemVectorsDependOnContent("bm3", Small({{"epochs", "2"}}), Small({{"epochs", "2"}, {"use_text", "false"}}));
}

TEST(Bm3, LearnsWellAbovePopularity) {
  ExpectLearnsOnLearningWorld(*FitOn(LearningWorld(), "bm3", Small({{"epochs", "40"}, {"dim", "32"}, {"lr", "0.01"}})), "bm3", 1.5, 0.7);
}

}  // namespace
}  // namespace recfuse::testing_neural
