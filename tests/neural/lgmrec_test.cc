// LGMRec: the neural contract, switches and bad configs, learning on LearningWorld, cold items
// scored from their content neighbours.
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

TEST(LgmRec, KeepsTheModelContract) { ExpectModelContract("lgmrec", Small()); }

TEST(LgmRec, SwitchesAndBadConfigs) {
  ExpectModelContract("lgmrec", Small({{"use_image", "false"}, {"epochs", "2"}}));
  ExpectModelContract("lgmrec", Small({{"use_text", "false"}, {"hyper_layers", "2"}, {"epochs", "2"}}));
  EXPECT_THROW(models::CreateModel("lgmrec", Params({{"use_image", "false"}, {"use_text", "false"}})),
               framework::ConfigError);
  EXPECT_THROW(models::CreateModel("lgmrec", Params({{"loss", "hinge"}})), framework::ConfigError);
  EXPECT_THROW(models::CreateModel("lgmrec", Params({{"keep_rate", "0"}})), framework::ConfigError);
  EXPECT_THROW(models::CreateModel("lgmrec", Params({{"knn_k", "0"}})), framework::ConfigError);
}

// Cold items get non-zero vectors from their content neighbours: distinct across cold items,
// changed when the text is switched off (it changes the neighbourhoods).
TEST(LgmRec, ColdItemsGetContentDependentScores) {
  ExpectColdItemVectorsDependOnContent("lgmrec", Small({{"epochs", "2"}}), Small({{"epochs", "2"}, {"use_text", "false"}}));
}

TEST(LgmRec, LearnsWellAbovePopularity) {
  ExpectLearnsOnLearningWorld(*FitOn(LearningWorld(), "lgmrec", Small({{"epochs", "30"}, {"dim", "32"}})), "lgmrec", 1.5, 0.7);
}

}  // namespace
}  // namespace recfuse::testing_neural
