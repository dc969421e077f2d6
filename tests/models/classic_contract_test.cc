// The contract every registered classic recommender passes, parameterised over the
// registry's "classic" family: batch scoring equals single scoring, factors reproduce the
// scores, same seed same scores, Save/Load round-trips, cold users and bad ids are handled,
// config validation, and held-out positives rank above unseen items.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "framework/error.h"
#include "models/classic.h"
#include "models/recommender.h"
#include "tests/models/classic_test_data.h"

namespace recfuse::models {
namespace {

using testdata::Clusters;

// Small-data settings (fewer dimensions, more epochs) so that every model learns the four
// clusters in milliseconds. bpr runs single-threaded here; its Hogwild path has its own test.
framework::Config TestConfig(const std::string& name) {
  framework::Config c;
  if (name == "bpr") {
    c.Set("dim", "16");
    c.Set("lr", "0.05");
    c.Set("epochs", "60");
    c.Set("hogwild", "false");
  } else if (name == "ials") {
    c.Set("dim", "8");
    c.Set("iterations", "8");
    c.Set("reg", "0.1");  // the default (100) is sized for ~100k interactions, not a few dozen
    c.Set("alpha", "1");
  } else if (name == "biasedmf") {
    // Trained on ratings alone, it must infer the clusters from ~1.5 low ratings per user
    // to rank the unrated items: that needs a low-rank, well-regularised fit.
    c.Set("dim", "4");
    c.Set("epochs", "100");
    c.Set("lr", "0.02");
    c.Set("reg", "0.1");
  }
  return c;
}

std::vector<std::string> ClassicNames() {
  std::vector<std::string> names;
  for (const auto& m : ModelRegistry())
    if (m.family == "classic") names.push_back(m.name);
  return names;
}

// The suite runs over the classic family and the `random` reference (oracle needs a synthetic
// world's truth files: its contract is in tests/neural/reference_models_test.cc).
std::vector<std::string> ContractNames() {
  std::vector<std::string> names = ClassicNames();
  names.push_back("random");
  return names;
}

class ClassicContract : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    clusters_ = new Clusters(testdata::MakeClusters());
    train_ = new TrainData(MakeTrainData(clusters_->data, clusters_->train_rows, {}));
  }
  static void TearDownTestSuite() {
    delete train_;
    delete clusters_;
  }

  std::unique_ptr<Recommender> Fitted(int threads = 1, uint64_t seed = 42) const {
    auto model = CreateModel(GetParam(), TestConfig(GetParam()));
    FitContext ctx;
    ctx.threads = threads;
    ctx.seed = seed;
    model->Fit(*train_, ctx);
    return model;
  }

  static RowMatrixXf ScoreAll(const Recommender& m) {
    std::vector<Index> users(Clusters::kUsers);
    for (Index u = 0; u < Clusters::kUsers; ++u) users[u] = u;
    RowMatrixXf out(Clusters::kUsers, Clusters::kItems);
    m.ScoreBlock(users, out);
    return out;
  }

  static Clusters* clusters_;
  static TrainData* train_;
};

Clusters* ClassicContract::clusters_ = nullptr;
TrainData* ClassicContract::train_ = nullptr;

TEST_P(ClassicContract, BatchScoresEqualSingleUserScores) {
  const auto model = Fitted();
  const RowMatrixXf all = ScoreAll(*model);
  // Also a shuffled, repeating batch: a row may depend only on its own user.
  const std::vector<Index> batch = {17, 3, 60, 3, 42};
  RowMatrixXf some(batch.size(), Clusters::kItems);
  model->ScoreBlock(batch, some);
  for (size_t k = 0; k < batch.size(); ++k) {
    RowMatrixXf one(1, Clusters::kItems);
    const Index u = batch[k];
    model->ScoreBlock(std::span<const Index>(&u, 1), one);
    EXPECT_TRUE(one.row(0) == all.row(u)) << "user " << u;
    EXPECT_TRUE(some.row(k) == all.row(u)) << "user " << u;
  }
}

TEST_P(ClassicContract, ScoresAreFiniteAndNotConstant) {
  const RowMatrixXf s = ScoreAll(*Fitted());
  EXPECT_TRUE(s.allFinite());
  EXPECT_GT(s.maxCoeff() - s.minCoeff(), 1e-6f);
}

TEST_P(ClassicContract, FactorsReproduceScores) {
  const auto model = Fitted();
  const auto f = model->GetFactors();
  if (!f.user) GTEST_SKIP() << GetParam() << " is not a dot-product model";
  ASSERT_TRUE(f.item);
  ASSERT_EQ(f.user->rows(), Clusters::kUsers);
  ASSERT_EQ(f.item->rows(), Clusters::kItems);
  RowMatrixXf gemm = *f.user * f.item->transpose();
  if (f.item_bias) gemm.rowwise() += f.item_bias->transpose();
  const RowMatrixXf s = ScoreAll(*model);
  EXPECT_LT((gemm - s).cwiseAbs().maxCoeff(), 1e-5f * (1.0f + s.cwiseAbs().maxCoeff()));
}

TEST_P(ClassicContract, SameSeedSameScores) {
  EXPECT_TRUE(ScoreAll(*Fitted(2, 9)) == ScoreAll(*Fitted(2, 9)));
}

TEST_P(ClassicContract, ThreadCountDoesNotChangeScores) {
  // Every classic model's parallel work is row-independent (bpr here is in its
  // single-threaded, reproducible mode).
  EXPECT_TRUE(ScoreAll(*Fitted(1, 5)) == ScoreAll(*Fitted(2, 5)));
}

TEST_P(ClassicContract, SaveLoadRoundTripsExactly) {
  const auto model = Fitted();
  std::stringstream buf;
  model->Save(buf);
  // A fresh default-config instance: the file alone must carry what scoring needs.
  auto loaded = CreateModel(GetParam(), framework::Config());
  loaded->Load(buf);
  EXPECT_TRUE(ScoreAll(*loaded) == ScoreAll(*model));
  EXPECT_EQ(loaded->PredictsRatings(), model->PredictsRatings());
  if (model->PredictsRatings())
    for (Index u : {0, 5, 60}) EXPECT_EQ(loaded->PredictRating(u, 7), model->PredictRating(u, 7));
}

TEST_P(ClassicContract, LoadRejectsAnotherModelsFileAndTruncation) {
  const auto model = Fitted();
  std::stringstream buf;
  model->Save(buf);
  const std::string bytes = buf.str();
  const std::string other = GetParam() == "pop" ? "ease" : "pop";
  auto wrong = CreateModel(other, framework::Config());
  std::stringstream in1(bytes);
  EXPECT_THROW(wrong->Load(in1), framework::Error);
  auto same = CreateModel(GetParam(), framework::Config());
  std::stringstream in2(bytes.substr(0, bytes.size() - 3));
  EXPECT_THROW(same->Load(in2), framework::Error);
}

TEST_P(ClassicContract, ColdUserGetsTheDocumentedFallback) {
  const auto model = Fitted();
  const RowMatrixXf s = ScoreAll(*model);
  const auto cold = s.row(Clusters::kColdUser);
  ASSERT_TRUE(cold.allFinite());
  const auto f = model->GetFactors();
  if (f.user) {
    EXPECT_TRUE(f.user->row(Clusters::kColdUser).isZero(0));
    if (f.item_bias)
      EXPECT_TRUE(cold == f.item_bias->transpose());
    else
      EXPECT_TRUE(cold.isZero(0));
  } else if (GetParam() == "pop") {
    EXPECT_TRUE(cold == s.row(0));  // same ranking for everyone
  } else if (GetParam() == "random") {
    EXPECT_TRUE((cold.array() >= 0).all() && (cold.array() < 1).all());  // random like everyone's
  } else {
    EXPECT_TRUE(cold.isZero(0));
  }
}

TEST_P(ClassicContract, UnknownUserIdAndBadOutputShapeThrow) {
  const auto model = Fitted();
  RowMatrixXf out(1, Clusters::kItems);
  const Index bad[] = {Clusters::kUsers};
  EXPECT_THROW(model->ScoreBlock(bad, out), framework::UnknownIdError);
  const Index negative[] = {-1};
  EXPECT_THROW(model->ScoreBlock(negative, out), framework::UnknownIdError);
  RowMatrixXf wrong(2, Clusters::kItems);
  const Index ok[] = {0};
  EXPECT_THROW(model->ScoreBlock(ok, wrong), framework::Error);
}

TEST_P(ClassicContract, ScoringBeforeFitThrows) {
  auto model = CreateModel(GetParam(), framework::Config());
  RowMatrixXf out(1, Clusters::kItems);
  const Index ok[] = {0};
  EXPECT_THROW(model->ScoreBlock(ok, out), framework::Error);
}

TEST_P(ClassicContract, HeldOutPositivesRankAboveUnseenItems) {
  if (GetParam() == "pop") GTEST_SKIP() << "both clusters are equally popular by construction";
  if (GetParam() == "random") GTEST_SKIP() << "random learns nothing by design (its AUC is ~0.5)";
  const double auc = testdata::HeldOutAuc(*clusters_, *train_, ScoreAll(*Fitted()));
  EXPECT_GT(auc, 0.7) << GetParam();
}

TEST_P(ClassicContract, UnknownAndOutOfRangeHyperparametersAreConfigErrors) {
  framework::Config typo;
  typo.Set("no_such_option", "1", "--set");
  EXPECT_THROW(CreateModel(GetParam(), typo), framework::ConfigError);
  for (const auto& spec : FindModel(GetParam()).params) {
    if (spec.type != framework::ParamType::kInt && spec.type != framework::ParamType::kFloat)
      continue;
    ASSERT_TRUE(std::isfinite(spec.min)) << spec.name << " has no lower bound";
    framework::Config low;
    low.Set(spec.name, std::to_string(static_cast<int64_t>(std::floor(spec.min)) - 1), "--set");
    EXPECT_THROW(CreateModel(GetParam(), low), framework::ConfigError) << spec.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Registry, ClassicContract, ::testing::ValuesIn(ContractNames()),
                         [](const auto& info) { return info.param; });

TEST(ClassicRegistry, ListsEveryClassicModelWithParamsAndDescription) {
  const std::vector<std::string> expected = {"pop",  "itemknn",  "userknn", "ease",    "ials",
                                             "bpr",  "biasedmf", "rp3beta", "slim",    "admmslim"};
  for (const auto& name : expected) {
    const ModelEntry& e = FindModel(name);
    EXPECT_EQ(e.family, "classic");
    EXPECT_FALSE(e.description.empty());
    for (const auto& p : e.params) EXPECT_FALSE(p.description.empty()) << name << "." << p.name;
  }
  EXPECT_EQ(ClassicNames().size(), expected.size());
}

TEST(ReferenceModels, RandomDependsOnTheSeedOnly) {
  const Clusters c = testdata::MakeClusters();
  const TrainData train = MakeTrainData(c.data, c.train_rows, {});
  auto fit = [&](uint64_t seed) {
    auto m = CreateModel("random", framework::Config());
    FitContext ctx;
    ctx.seed = seed;
    m->Fit(train, ctx);
    std::vector<Index> users(Clusters::kUsers);
    for (Index u = 0; u < Clusters::kUsers; ++u) users[u] = u;
    RowMatrixXf out(Clusters::kUsers, Clusters::kItems);
    m->ScoreBlock(users, out);
    return out;
  };
  const RowMatrixXf a = fit(3), b = fit(3), other = fit(4);
  EXPECT_TRUE(a == b);
  EXPECT_FALSE(a == other);
  EXPECT_FALSE(a.row(0) == a.row(1));  // every user gets their own ranking
  EXPECT_GE(a.minCoeff(), 0.0f);
  EXPECT_LT(a.maxCoeff(), 1.0f);
  EXPECT_NEAR(a.mean(), 0.5, 0.05);  // uniform: 61 x 40 draws
  EXPECT_EQ(FindModel("random").family, "reference");
}

TEST(ClassicRegistry, UnknownModelNameIsUnknownIdErrorListingKnownModels) {
  try {
    CreateModel("bprr", framework::Config());
    FAIL() << "expected UnknownIdError";
  } catch (const framework::UnknownIdError& e) {
    EXPECT_NE(std::string(e.what()).find("bpr"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace recfuse::models
