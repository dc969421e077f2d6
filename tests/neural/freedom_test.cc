// FREEDOM: the model contract, learning above popularity, and cold items: scored through
// their warm content neighbours (non-zero, dependent on the modality, well above chance),
// zero when there is no content graph.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "tests/neural/neural_test_util.h"

namespace recfuse::testing_neural {
namespace {

framework::Config Small(std::map<std::string, std::string> extra = {}) {
  std::map<std::string, std::string> kv = {{"dim", "16"}, {"epochs", "3"}, {"lr", "0.01"}, {"batch_size", "1024"}};
  for (auto& [k, v] : extra) kv[k] = v;
  return Params(kv);
}

std::vector<bool> WarmItems(const Fitted& f) {
  std::vector<bool> warm(static_cast<size_t>(f.td.num_items), false);
  for (int64_t k = 0; k < f.td.matrix.nonZeros(); ++k) warm[static_cast<size_t>(f.td.matrix.innerIndexPtr()[k])] = true;
  return warm;
}

TEST(Freedom, KeepsTheModelContract) {
  ExpectModelContract("freedom", Small());
  ExpectModelContract("freedom", Small({{"use_image", "false"}, {"dropout", "0"}, {"epochs", "2"}}), "cold-item:0.2");
}

TEST(Freedom, LearnsWellAbovePopularity) {
  const auto f = FitOn(LearningWorld(), "freedom", Small({{"epochs", "30"}}));
  const double m = ExpectLearnsOnLearningWorld(*f, "freedom", 1.5, 0.7);
  std::printf("  freedom LearningWorld NDCG@10 %.4f\n", m);
}

TEST(Freedom, ColdItemsAreScoredThroughTheirContentNeighbours) {
  const std::string split = "cold-item:0.2";
  const auto& w = TinyWorld();
  const auto nu = w.data.num_users(), ni = w.data.num_items();
  const auto both = FitOn("freedom", Small({{"epochs", "10"}}), split);
  const auto text = FitOn("freedom", Small({{"epochs", "10"}, {"use_image", "false"}}), split);
  const auto none = FitOn("freedom", Small({{"epochs", "10"}, {"use_image", "false"}, {"use_text", "false"}}), split);
  const models::RowMatrixXf a = ScoreAll(*both->model, nu, ni), b = ScoreAll(*text->model, nu, ni),
                            z = ScoreAll(*none->model, nu, ni);
  const auto warm = WarmItems(*both);
  int cold = 0, nonzero = 0, differ = 0;
  for (datasets::Index i = 0; i < ni; ++i) {
    if (warm[static_cast<size_t>(i)]) continue;
    ++cold;
    if (a.col(i).cwiseAbs().maxCoeff() > 1e-6) ++nonzero;
    if ((a.col(i) - b.col(i)).cwiseAbs().maxCoeff() > 1e-4) ++differ;
    EXPECT_EQ(z.col(i).cwiseAbs().maxCoeff(), 0.0f) << "cold item " << i << " without a content graph";
  }
  ASSERT_GT(cold, 0);
  EXPECT_EQ(nonzero, cold);
  EXPECT_GT(differ, cold * 9 / 10);
  const double r = TestMetric(*both, "recall", 20), chance = ChanceRecall(*both, 20);
  std::printf("  freedom cold recall@20 %.4f (text only %.4f, no content %.4f), chance %.4f\n", r,
              TestMetric(*text, "recall", 20), TestMetric(*none, "recall", 20), chance);
  EXPECT_GT(r, 3 * chance);
}

}  // namespace
}  // namespace recfuse::testing_neural
