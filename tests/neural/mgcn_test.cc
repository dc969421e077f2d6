// MGCN: the neural contract, switches and bad configs, learning on LearningWorld, cold items
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

TEST(Mgcn, KeepsTheModelContract) { ExpectModelContract("mgcn", Small()); }

TEST(Mgcn, SwitchesAndBadConfigs) {
  ExpectModelContract("mgcn", Small({{"use_image", "false"}, {"epochs", "2"}}));
  // The contrastive term (off by default, see mgcn.cc) keeps the contract too.
  ExpectModelContract("mgcn", Small({{"cl_weight", "0.01"}, {"epochs", "1"}}));
  ExpectModelContract("mgcn", Small({{"use_text", "false"}, {"item_layers", "2"}, {"epochs", "2"}}));
  EXPECT_THROW(models::CreateModel("mgcn", Params({{"use_image", "false"}, {"use_text", "false"}})),
               framework::ConfigError);
  EXPECT_THROW(models::CreateModel("mgcn", Params({{"loss", "hinge"}})), framework::ConfigError);
  EXPECT_THROW(models::CreateModel("mgcn", Params({{"tau", "0"}})), framework::ConfigError);
  EXPECT_THROW(models::CreateModel("mgcn", Params({{"knn_k", "0"}})), framework::ConfigError);
}

// Cold items get non-zero vectors from their content neighbours: distinct across cold items,
// changed when the text is switched off (it changes the neighbourhoods).
TEST(Mgcn, ColdItemsGetContentDependentScores) {
  ExpectColdItemVectorsDependOnContent("mgcn", Small({{"epochs", "2"}}), Small({{"epochs", "2"}, {"use_text", "false"}}));
}

TEST(Mgcn, LearnsWellAbovePopularity) {
  ExpectLearnsOnLearningWorld(*FitOn(LearningWorld(), "mgcn", Small({{"epochs", "30"}, {"dim", "32"}})), "mgcn", 1.5, 0.7);
}

}  // namespace
}  // namespace recfuse::testing_neural
