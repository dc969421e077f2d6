// CKE: the neural contract, learning above popularity, the jointly trained KG entity table
// carrying items on its own, and the image switch mattering for cold items (the synthetic
// world's images carry the strongest item signal).
#include <gtest/gtest.h>

#include "tests/neural/neural_test_util.h"

namespace recfuse::testing_neural {
namespace {

framework::Config Small(std::map<std::string, std::string> extra = {}) {
  std::map<std::string, std::string> kv = {{"dim", "16"},       {"epochs", "5"},     {"batch_size", "512"},
                                           {"lr", "0.01"},      {"kg_batch", "256"}, {"text_features", "text:tfidf-svd:16"}};
  for (auto& [k, v] : extra) kv[k] = v;
  return Params(kv);
}

TEST(Cke, KeepsTheModelContract) { ExpectModelContract("cke", Small({{"epochs", "3"}})); }

// Without KG and photos CKE trains on its ID offsets and text, with both recorded absent.
TEST(Cke, ADatasetWithoutKgOrImagesTrainsWithDefaultsAndRecordsThemAbsent) {
  ExpectAbsentModalitiesAreMasked("cke", Params({{"epochs", "3"}}), {"kg", "image"}, {"text"});
}

TEST(Cke, IsADotProductModelWhoseFactorsReproduceTheScores) {
  const auto f = FitOn("cke", Small({{"epochs", "2"}}));
  const auto factors = f->model->GetFactors();
  ASSERT_NE(factors.user, nullptr);
  ASSERT_NE(factors.item, nullptr);
  const auto& w = TinyWorld().data;
  const models::RowMatrixXf all = ScoreAll(*f->model, w.num_users(), w.num_items());
  const models::RowMatrixXf by_hand = (*factors.user) * factors.item->transpose();
  EXPECT_LT((all - by_hand).cwiseAbs().maxCoeff(), 1e-4);
}

// On LearningWorld, where preference, not popularity, decides (see neural_test_util.h).
// Measured 2026-11-29: NDCG@10 0.153 vs pop 0.087 (1.75x), EASE 0.208 (0.74 of it), BPR 0.188.
TEST(Cke, LearnsWellAbovePopularity) {
  ExpectLearnsOnLearningWorld(*FitOn(LearningWorld(), "cke", Small({{"epochs", "20"}})), "cke", 1.4, 0.6);
}

// The entity table needs more updates than the default batch gives it (kg-only NDCG@10 0.086
// at batch 512, 20 epochs, still rising). Measured 2026-11-29, batch 128, 40 epochs (early
// stop at 29): 0.139 vs pop 0.087 (1.6x), EASE 0.208 (0.67 of it).
TEST(Cke, TheJointlyTrainedEntityTableAloneCarriesItems) {
  // Item vector = TransR entity vector only: BPR and the KG loss both train that table.
  const auto kg_only = FitOn(LearningWorld(), "cke", Small({{"epochs", "40"},
                                                            {"batch_size", "128"},
                                                            {"use_id", "false"},
                                                            {"use_text", "false"},
                                                            {"use_image", "false"}}));
  ExpectLearnsOnLearningWorld(*kg_only, "kg-only cke", 1.3, 0.5, /*check_loss=*/false);
}

// Was 0.062 vs 0.060 while cold items were sampled as negatives and item text included
// reviews (fixed 2026-11-29); now 0.081 vs 0.018.
TEST(Cke, ImagesCarryColdItems) {
  const std::string split = "cold-item:0.2";
  const auto with = FitOn("cke", Small({{"epochs", "10"}}), split);
  const auto without = FitOn("cke", Small({{"epochs", "10"}, {"use_image", "false"}}), split);
  const double a = TestMetric(*with, "recall", 20), b = TestMetric(*without, "recall", 20);
  std::printf("  cke cold recall@20: use_image %.4f, use_image=false %.4f\n", a, b);
  EXPECT_GT(a, b + 0.02) << "use_image " << a << " vs use_image=false " << b;
}

TEST(Cke, SwitchesAreValidated) {
  EXPECT_THROW(models::CreateModel("cke", Params({{"use_id", "false"},
                                                  {"use_kg", "false"},
                                                  {"use_text", "false"},
                                                  {"use_image", "false"}})),
               framework::ConfigError);
  EXPECT_THROW(models::CreateModel("cke", Params({{"lambda_kg", "-1"}})), framework::ConfigError);
}

}  // namespace
}  // namespace recfuse::testing_neural
