// LGMRec: the neural contract, switches and bad configs, learning on LearningWorld, cold items
// scored from their content neighbours.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

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
  const std::string split = "cold-item:0.2";
  const auto both = FitOn("lgmrec", Small({{"epochs", "2"}}), split);
  const auto image = FitOn("lgmrec", Small({{"epochs", "2"}, {"use_text", "false"}}), split);
  const auto& a = *both->model->GetFactors().item;
  const auto& b = *image->model->GetFactors().item;
  std::vector<bool> warm(static_cast<size_t>(a.rows()), false);
  for (int64_t k = 0; k < both->td.matrix.nonZeros(); ++k)
    warm[static_cast<size_t>(both->td.matrix.innerIndexPtr()[k])] = true;
  std::vector<datasets::Index> cold;
  for (datasets::Index i = 0; i < a.rows(); ++i)
    if (!warm[static_cast<size_t>(i)]) cold.push_back(i);
  ASSERT_GT(cold.size(), 10u);
  double spread = 0, change = 0;
  for (datasets::Index i : cold) {
    spread += (a.row(i) - a.row(cold[0])).norm();
    change += (a.row(i) - b.row(i)).norm();
  }
  EXPECT_GT(spread / static_cast<double>(cold.size()), 1e-2) << "cold items all alike";
  EXPECT_GT(change / static_cast<double>(cold.size()), 1e-2) << "cold vectors do not depend on the text";
}

TEST(LgmRec, LearnsWellAbovePopularity) {
  ExpectLearnsOnLearningWorld(*FitOn(LearningWorld(), "lgmrec", Small({{"epochs", "30"}, {"dim", "32"}})), "lgmrec", 1.5, 0.7);
}

}  // namespace
}  // namespace recfuse::testing_neural
