// The answers the synthetic world was built to have (datasets/synthetic.h):
//  1. Cold items (no training interaction) can only be recommended from their content, so
//     content models beat every ID-only model there by a wide margin.
//  2. The generator's image signal is the strongest (0.9, text 0.6, KG 0.3), so removing
//     the image modality hurts the flagship more than removing any other content modality.
// Both are measured on the cold-item split (Recall@20 over held-out cold items, full
// ranking against the whole catalogue), averaged over two seeds.
#include <gtest/gtest.h>

#include <algorithm>
#include <tuple>

#include "tests/neural/neural_test_util.h"

namespace recfuse::testing_neural {
namespace {

constexpr const char* kColdSplit = "cold-item:0.2";

bool Implemented(const std::string& name) {
  return models::FindModel(name).description.find("not yet implemented") == std::string::npos;
}

double ColdRecall(const std::string& name, const framework::Config& params) {
  double sum = 0;
  for (uint64_t seed : {1, 2}) sum += TestMetric(*FitOn(name, params, kColdSplit, seed), "recall", 20);
  return sum / 2;
}

framework::Config Flagship(std::map<std::string, std::string> extra = {}) {
  std::map<std::string, std::string> kv = {{"dim", "32"}, {"epochs", "25"}, {"lr", "0.005"},
                                           {"kg_features", "kg:transe:16"}, {"patience", "5"},
                                           // The history profile helps warm users but, measured,
                                           // pulls cold-item recall@20 from 0.17 to 0.003.
                                           {"use_history", "false"}};
  for (auto& [k, v] : extra) kv[k] = v;
  return Params(kv);
}

TEST(KnownAnswers, ContentModelsBeatEveryIdOnlyModelOnColdItems) {
  double best_id = 0;
  std::string best_id_name;
  std::vector<std::pair<std::string, framework::Config>> id_only = {
      {"pop", {}}, {"itemknn", {}}, {"ease", {}}, {"bpr", Params({{"epochs", "30"}, {"dim", "32"}})}};
  if (Implemented("neumf")) id_only.push_back({"neumf", Params({{"epochs", "10"}})});
  for (const auto& [name, params] : id_only) {
    const double r = ColdRecall(name, params);
    std::printf("  cold-item recall@20  %-10s %.4f\n", name.c_str(), r);
    if (r >= best_id) best_id = r, best_id_name = name;
  }
  // Asserted for the flagship, CKE and VBPR (measured 2026-11-29: mmfusion 0.152 with its
  // default multinomial loss, 0.131 with BPR; CKE 0.089, VBPR 0.061; best ID-only neumf 0.015). DeepCoNN (0.000) is printed, not asserted: its text towers, trained
  // from scratch on warm items' texts, do not carry over to unseen items (deepconn_test.cc).
  std::vector<std::tuple<std::string, framework::Config, bool>> content = {{"mmfusion", Flagship(), true}};
  if (Implemented("cke")) content.push_back({"cke", Params({{"epochs", "20"}}), true});
  if (Implemented("vbpr")) content.push_back({"vbpr", Params({{"epochs", "20"}}), true});
  if (Implemented("deepconn")) content.push_back({"deepconn", Params({{"epochs", "20"}}), false});
  for (const auto& [name, params, asserted] : content) {
    const double r = ColdRecall(name, params);
    std::printf("  cold-item recall@20  %-10s %.4f%s\n", name.c_str(), r, asserted ? "" : " (not asserted)");
    if (!asserted) continue;
    EXPECT_GE(r, 2 * best_id) << name << " vs best ID-only model " << best_id_name;
    // A random ranking would find ~20 of the ~270 unseen items (recall ~0.07): demand more
    // than most of that, so "beats models that cannot rank cold items at all" is not enough.
    EXPECT_GT(r, 0.05) << name << " must find cold items, not only beat models that cannot";
  }
}

// Measured 2026-11-29 (2 seeds): with the multinomial loss (the default) full 0.152; without
// image -0.049, without text +0.021, without kg +0.007. With BPR: full 0.131; without image
// -0.092, without text +0.022, without kg +0.016. The answer came out once (a) negatives were drawn from warm items only
// (cold items had been pure negatives, so "content without an ID" scored low) and (b) content
// vectors started at the ID vectors' scale with their own L2 weight (content_reg): before,
// removing any content modality raised cold-item recall.
TEST(KnownAnswers, RemovingTheStrongestModalityHurtsTheFlagshipMost) {
  const double full = ColdRecall("mmfusion", Flagship());
  double drop[3];
  const char* mods[] = {"image", "text", "kg"};
  for (int k = 0; k < 3; ++k) {
    drop[k] = full - ColdRecall("mmfusion", Flagship({{std::string("use_") + mods[k], "false"}}));
    std::printf("  mmfusion cold recall@20 full %.4f, without %-5s drop %+.4f\n", full, mods[k], drop[k]);
  }
  EXPECT_GT(drop[0], drop[1]) << "image (signal 0.9) vs text (0.6)";
  EXPECT_GT(drop[0], drop[2]) << "image (signal 0.9) vs kg (0.3)";
  EXPECT_GT(drop[0], 0.0);
}

}  // namespace
}  // namespace recfuse::testing_neural
