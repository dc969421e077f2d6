// GRU4Rec and SASRec: the neural contract on leave-one-out, learning well above popularity,
// using the synthetic world's Markov (next-item) signal that an order-blind matrix
// factorisation cannot see, the sampled losses, and parameter validation.
#include <gtest/gtest.h>

#include "tests/neural/neural_test_util.h"

namespace recfuse::testing_neural {
namespace {

const std::string kLoo = "loo";

framework::Config Small(std::map<std::string, std::string> extra = {}) {
  std::map<std::string, std::string> kv = {{"dim", "32"},        {"max_len", "30"}, {"epochs", "3"},
                                           {"batch_size", "64"}, {"lr", "0.005"},   {"patience", "3"}};
  for (auto& [k, v] : extra) kv[k] = v;
  return Params(kv);
}

TEST(Sequential, Gru4RecKeepsTheModelContract) { ExpectModelContract("gru4rec", Small({{"epochs", "2"}}), kLoo); }

TEST(Sequential, SasRecKeepsTheModelContract) {
  ExpectModelContract("sasrec", Small({{"epochs", "2"}, {"num_heads", "2"}}), kLoo);
}

TEST(Sequential, FactorsReproduceTheScores) {
  const auto f = FitOn("sasrec", Small({{"epochs", "1"}}), kLoo);
  const auto factors = f->model->GetFactors();
  ASSERT_NE(factors.user, nullptr);
  ASSERT_NE(factors.item, nullptr);
  const auto& w = TinyWorld().data;
  ASSERT_EQ(factors.item->rows(), w.num_items());
  const models::RowMatrixXf all = ScoreAll(*f->model, w.num_users(), w.num_items());
  const models::RowMatrixXf by_hand = (*factors.user) * factors.item->transpose();
  EXPECT_LT((all - by_hand).cwiseAbs().maxCoeff(), 1e-4);
}

// The learning tests run on SessionWorld (see neural_test_util.h), whose sessions follow the
// cluster transition chain, with the user's last item held out and everything before it
// trained on. Plain "loo" holds out the second-last item for validation, which the model
// never sees: the test item's predecessor would be missing from the history the state is
// built from, and the Markov signal with it (GRU4Rec: valid NDCG@10 0.11, test 0.046). So
// no early stopping here: fixed epochs.
datasets::Split LastItemOut(const World& w) {
  datasets::Split s = datasets::MakeSplit(w.data, datasets::SplitSpec::Parse(kLoo), /*seed=*/1);
  s.train.insert(s.train.end(), s.valid.begin(), s.valid.end());
  s.valid.clear();
  return s;
}

// Few windows per epoch on this world (one per user, 64 a batch): 40 epochs at lr 0.01.
framework::Config Trained(std::map<std::string, std::string> extra = {}) {
  std::map<std::string, std::string> kv = {{"epochs", "40"}, {"lr", "0.01"}};
  for (auto& [k, v] : extra) kv[k] = v;
  return Small(kv);
}

// Shared by the tests below (fitting it takes ~4 s).
const Fitted& SasRecOnSessions() {
  static const std::unique_ptr<Fitted> f = FitOnSplit(SessionWorld(), "sasrec", Trained(), LastItemOut(SessionWorld()));
  return *f;
}

double SessionNdcg(const std::string& name, const framework::Config& params = {}) {
  return TestMetric(*FitOnSplit(SessionWorld(), name, params, LastItemOut(SessionWorld())), "ndcg", 10);
}

// Measured 2026-11-29: NDCG@10 sasrec 0.139 (40 epochs), gru4rec 0.131 (30) vs pop 0.067
// (2.1x, 1.95x).
TEST(Sequential, BothLearnWellAbovePopularity) {
  const double p = SessionNdcg("pop");
  const auto gru = FitOnSplit(SessionWorld(), "gru4rec", Trained({{"epochs", "30"}}), LastItemOut(SessionWorld()));
  const std::pair<const char*, const Fitted*> fitted[] = {{"sasrec", &SasRecOnSessions()}, {"gru4rec", gru.get()}};
  for (const auto& [name, f] : fitted) {
    const double n = TestMetric(*f, "ndcg", 10);
    EXPECT_GT(n, 1.5 * p) << name << " " << n << " vs pop " << p;
    ASSERT_FALSE(f->curve.empty());
    EXPECT_LT(f->curve.back().loss, f->curve.front().loss) << name;
  }
}

// Measured 2026-11-29: NDCG@10 sasrec loss=bpr 0.127, softmax 0.135 vs pop 0.067 (1.9x, 2.0x).
TEST(Sequential, SampledLossesLearnToo) {
  const double p = SessionNdcg("pop");
  for (const char* loss : {"bpr", "softmax"}) {
    // 25 epochs: the per-position negative sampling makes an epoch ~1.5x slower than ce.
    const double n = SessionNdcg("sasrec", Trained({{"epochs", "25"}, {"loss", loss}, {"negatives", "4"}}));
    EXPECT_GT(n, 1.5 * p) << "sasrec loss=" << loss << " " << n << " vs pop " << p;
  }
}

// The world's sessions continue, with probability markov_strength, from the item just
// seen: only a model that reads the order can use that for the held-out last item.
// Measured 2026-11-29: NDCG@10 sasrec 0.139 vs BPR 0.103 (1.36x), EASE 0.100.
TEST(Sequential, UsesTheMarkovSignalThatMatrixFactorisationCannot) {
  const double b = SessionNdcg("bpr"), s = TestMetric(SasRecOnSessions(), "ndcg", 10);
  EXPECT_GT(s, 1.2 * b) << "sasrec " << s << " vs bpr " << b;
}

// Plain leave-one-out, validation and early stopping on: the kept state must read each
// history through the validation item (the test item's predecessor), so the test score is
// of the validation score's order. Before the fix the final state used training only:
// GRU4Rec valid NDCG@10 0.11, test 0.046.
TEST(Sequential, TestStateReadsThroughTheValidationItem) {
  const auto f = FitOn(SessionWorld(), "gru4rec", Trained({{"epochs", "30"}, {"patience", "0"}}), kLoo);
  double best_valid = 0;
  for (const auto& r : f->curve) best_valid = std::max(best_valid, r.valid_metric);
  const double test = TestMetric(*f, "ndcg", 10);
  std::printf("  gru4rec loo: best valid NDCG@10 %.4f, test %.4f\n", best_valid, test);
  EXPECT_GT(best_valid, 0.05);
  EXPECT_GT(test, 0.7 * best_valid);
}

TEST(Sequential, ParamsAreValidated) {
  EXPECT_THROW(models::CreateModel("sasrec", Params({{"dim", "30"}, {"num_heads", "4"}})), framework::ConfigError);
  EXPECT_THROW(models::CreateModel("gru4rec", Params({{"loss", "bce"}})), framework::ConfigError);
  EXPECT_THROW(models::CreateModel("gru4rec", Params({{"num_blocks", "2"}})), framework::ConfigError);
  EXPECT_EQ(models::FindModel("sasrec").family, "sequential");
  EXPECT_EQ(models::FindModel("gru4rec").family, "sequential");
}

}  // namespace
}  // namespace recfuse::testing_neural
