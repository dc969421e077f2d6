// TF-IDF -> randomized SVD: hand-checked weights, exact low-rank recovery, no leakage of
// test reviews, and on the synthetic world a linear probe of the item's latent cluster.
#include "encoders/text_tfidf.h"

#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <iostream>

#include "datasets/load.h"
#include "datasets/synthetic.h"
#include "encoders/item_text.h"
#include "framework/error.h"
#include "framework/rng.h"
#include "tests/test_util.h"

namespace recfuse::encoders {
namespace {

TEST(TextTfidf, WordTokensLowerCaseAndSplitOnPunctuation) {
  EXPECT_EQ(WordTokens("The CAT's hat, 42x!"), (std::vector<std::string>{"the", "cat", "s", "hat", "42x"}));
  EXPECT_EQ(WordTokens("caf\xc3\xa9 ok"), (std::vector<std::string>{"caf\xc3\xa9", "ok"}));
  EXPECT_TRUE(WordTokens(" .,; ").empty());
}

TEST(TextTfidf, WeightsMatchHandComputation) {
  const std::vector<std::string> docs = {"a a b", "b c", ""};
  const auto v = FitTfidf(docs);
  EXPECT_EQ(v.documents, 2);
  ASSERT_EQ(v.terms, (std::vector<std::string>{"b", "a", "c"}));  // df 2, then ties by word
  const double idf_b = std::log(3.0 / 3.0) + 1, idf_a = std::log(3.0 / 2.0) + 1;
  EXPECT_NEAR(v.idf[0], idf_b, 1e-12);
  EXPECT_NEAR(v.idf[1], idf_a, 1e-12);
  const auto m = TfidfMatrix(v, docs, 2);
  ASSERT_EQ(m.rows(), 3);
  const Eigen::MatrixXd dense = Eigen::MatrixXd(m);
  const double wa = (1 + std::log(2.0)) * idf_a, wb = idf_b;
  const double norm = std::sqrt(wa * wa + wb * wb);
  EXPECT_NEAR(dense(0, 1), wa / norm, 1e-12);
  EXPECT_NEAR(dense(0, 0), wb / norm, 1e-12);
  EXPECT_NEAR(dense(0, 2), 0.0, 0);
  EXPECT_NEAR(dense.row(1).norm(), 1.0, 1e-12);
  EXPECT_EQ(dense.row(2).norm(), 0.0);
  EXPECT_EQ(FitTfidf(docs, 2).terms, (std::vector<std::string>{"b"}));
}

TEST(TextTfidf, RandomizedSvdRecoversALowRankMatrix) {
  // A rank-3 60 x 40 matrix with singular values 5, 3, 1: the randomized SVD must return
  // them and U * S spanning the same rows (A A^T = P P^T).
  framework::Rng rng(4);
  Eigen::MatrixXd u = Eigen::MatrixXd::NullaryExpr(60, 3, [&] { return rng.Normal(); });
  Eigen::MatrixXd w = Eigen::MatrixXd::NullaryExpr(40, 3, [&] { return rng.Normal(); });
  u = Eigen::HouseholderQR<Eigen::MatrixXd>(u).householderQ() * Eigen::MatrixXd::Identity(60, 3);
  w = Eigen::HouseholderQR<Eigen::MatrixXd>(w).householderQ() * Eigen::MatrixXd::Identity(40, 3);
  const Eigen::Vector3d s(5, 3, 1);
  const Eigen::MatrixXd a = u * s.asDiagonal() * w.transpose();
  const SparseRowMatrix sa = a.sparseView();
  Eigen::VectorXd sv;
  RandomizedSvdOptions o;
  o.seed = 9;
  const Eigen::MatrixXd p = RandomizedSvdProjection(sa, 3, o, &sv);
  EXPECT_NEAR(sv(0), 5, 1e-9);
  EXPECT_NEAR(sv(1), 3, 1e-9);
  EXPECT_NEAR(sv(2), 1, 1e-9);
  EXPECT_LT((p * p.transpose() - a * a.transpose()).norm(), 1e-8);
  o.threads = 2;
  EXPECT_EQ(RandomizedSvdProjection(sa, 3, o), p);  // thread count never changes the result
  EXPECT_THROW(RandomizedSvdProjection(sa, 41, o), framework::ConfigError);
}

TEST(TextTfidf, TestReviewsNeverReachTheVocabulary) {
  datasets::Dataset d;
  d.name = "tiny";
  const auto u0 = d.users.GetOrAdd("u0"), u1 = d.users.GetOrAdd("u1");
  const auto i0 = d.items.GetOrAdd("i0"), i1 = d.items.GetOrAdd("i1"), i2 = d.items.GetOrAdd("i2");
  d.items.GetOrAdd("i3");  // no text at all
  d.interactions.Add(u0, i0);  // row 0: train
  d.interactions.Add(u1, i1);  // row 1: train
  d.interactions.Add(u0, i2);  // row 2: test
  d.item_text.push_back({"description", {"space opera ships", "quiet drama", "", ""}});
  d.reviews.push_back({u0, i0, 0, "trainonlyzebra great"});
  d.reviews.push_back({u1, i1, 0, "boring drama"});
  d.reviews.push_back({u0, i2, 0, "testonlyquokka awful"});
  d.Finalize();
  const std::vector<int64_t> train = {0, 1};
  EncodeContext ctx;
  ctx.train_rows = &train;
  // Through the same assembly TfidfSvdFeatures uses.
  const auto f = TfidfSvdFeatures(d, 2, ctx);
  EXPECT_EQ(f.spec, "text:tfidf-svd:2");
  ASSERT_EQ(f.values.rows(), 4);
  ASSERT_EQ(f.values.cols(), 2);
  // i2's only text is its test review, i3 has none: absent, zero rows, counted.
  EXPECT_EQ(f.present, (std::vector<uint8_t>{1, 1, 0, 0}));
  EXPECT_EQ(f.fallbacks, 2);
  EXPECT_EQ(f.values.row(2).norm(), 0.0f);
  EXPECT_GT(f.values.row(0).norm(), 0.0f);
  // With every row as training, the test review's item gains text.
  ctx.train_rows = nullptr;
  EXPECT_EQ(TfidfSvdFeatures(d, 2, ctx).present, (std::vector<uint8_t>{1, 1, 1, 0}));
  ctx.train_rows = &train;
  EXPECT_THROW(TfidfSvdFeatures(d, 0, ctx), framework::ConfigError);
  EXPECT_THROW(TfidfSvdFeatures(d, 3, ctx), framework::ConfigError);  // only 2 items have text
  datasets::Dataset none;
  none.items.GetOrAdd("x");
  none.Finalize();
  EXPECT_THROW(TfidfSvdFeatures(none, 2, EncodeContext{}), framework::MissingModalityError);
  // Descriptions only: reviews (even training ones) never count, so an item's features do
  // not depend on whether it has interactions; the spec says which source was used.
  ctx.train_rows = nullptr;
  const auto desc = TfidfSvdFeatures(d, 2, ctx, TextSource::kDescription);
  EXPECT_EQ(desc.spec, "text:tfidf-svd:2:description");
  EXPECT_EQ(desc.present, (std::vector<uint8_t>{1, 1, 0, 0}));
  ctx.train_rows = &train;
  EXPECT_EQ(TfidfSvdFeatures(d, 2, ctx, TextSource::kDescription).values, desc.values);
  EXPECT_EQ(TfidfSvdFeatures(d, 2, ctx, TextSource::kReviews).spec, "text:tfidf-svd:2:reviews");
  // Through the dispatcher: the suffix is parsed, a bad one is a ConfigError naming it.
  EXPECT_EQ(ComputeFrozenFeatures(d, "text:tfidf-svd:2:description", ctx).values, desc.values);
  EXPECT_THROW(ComputeFrozenFeatures(d, "text:tfidf-svd:2:plots", ctx), framework::ConfigError);
}

TEST(TextTfidf, VocabularyFromTrainingTextsExcludesTestOnlyWords) {
  datasets::Dataset d;
  const auto u0 = d.users.GetOrAdd("u0");
  const auto i0 = d.items.GetOrAdd("i0"), i1 = d.items.GetOrAdd("i1");
  d.interactions.Add(u0, i0);
  d.interactions.Add(u0, i1);
  d.reviews.push_back({u0, i0, 0, "trainonlyzebra"});
  d.reviews.push_back({u0, i1, 0, "testonlyquokka"});
  d.Finalize();
  const std::vector<int64_t> train = {0};
  // TfidfSvdFeatures builds its vocabulary with FitTfidf over ItemTexts(kBoth, train rows):
  // the same call here must see the training word only.
  TextSourceOptions both;
  const auto v = FitTfidf(ItemTexts(d, both, &train));
  EXPECT_EQ(v.index.count("trainonlyzebra"), 1u);
  EXPECT_EQ(v.index.count("testonlyquokka"), 0u);
}

struct World {
  datasets::Dataset data;
  std::vector<int> labels;  // per dataset item id
  int clusters = 0;
};

World MakeWorld(double signal_text, const std::string& tag) {
  datasets::SyntheticOptions o;
  o.seed = 11;
  o.users = 150;
  o.items = 400;
  o.interactions = 5000;
  o.image_size = 32;
  o.images = false;
  o.signal_text = signal_text;
  o.threads = 1;
  const std::string dir = testing::TempDir(tag);
  datasets::GenerateSynthetic(dir, o);
  World w;
  w.data = datasets::LoadDataset(dir);
  const auto truth = datasets::ReadSyntheticTruth(dir);
  w.clusters = truth.clusters;
  w.labels.assign(static_cast<size_t>(w.data.num_items()), -1);
  for (size_t r = 0; r < truth.item_tokens.size(); ++r) {
    const auto id = w.data.items.Find(truth.item_tokens[r]);
    if (id != datasets::kNoId) w.labels[static_cast<size_t>(id)] = truth.item_cluster[r];
  }
  return w;
}

TEST(TextTfidf, SvdFeaturesRecoverTheLatentClusterOnlyWhenTextCarriesIt) {
  const std::vector<int64_t>* no_split = nullptr;
  EncodeContext ctx;
  ctx.train_rows = no_split;
  ctx.seed = 5;
  ctx.threads = 2;
  const World signal = MakeWorld(1.0, "tfidf1");
  const auto f = TfidfSvdFeatures(signal.data, 16, ctx);
  EXPECT_EQ(f.fallbacks, 0);
  const double acc = LinearProbeAccuracy(f.values, signal.labels, 1.0, 0.7, 1);
  const double chance = 1.0 / signal.clusters;
  EXPECT_GE(acc, 0.8) << "chance " << chance;
  // Same seed + threads: identical features.
  EXPECT_EQ(TfidfSvdFeatures(signal.data, 16, ctx).values, f.values);

  const World noise = MakeWorld(0.0, "tfidf0");
  const double acc0 = LinearProbeAccuracy(TfidfSvdFeatures(noise.data, 16, ctx).values, noise.labels, 1.0, 0.7, 1);
  EXPECT_LT(acc0, 2.0 * chance);
  std::cout << "probe accuracy: signal_text=1 " << acc << ", signal_text=0 " << acc0 << " (chance " << chance << ")\n";
}

}  // namespace
}  // namespace recfuse::encoders
