#include "encoders/sequence_encoders.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "encoders/history.h"
#include "encoders/threads.h"
#include "framework/error.h"
#include "framework/rng.h"
#include "tests/encoders/torch_test_util.h"

namespace recfuse::encoders {
namespace {

// User 0: items 3,1,4,1,5 (time order); user 1: item 2; user 2: nothing.
datasets::Csr HandCsr() {
  datasets::Csr c;
  c.indptr = {0, 5, 6, 6};
  c.cols = {3, 1, 4, 1, 5, 2};
  c.ref = {0, 1, 2, 3, 4, 5};
  return c;
}

TEST(SequenceHistory, RightAlignedTruncatedToMostRecent) {
  const auto csr = HandCsr();
  const std::vector<datasets::Index> users = {0, 1, 2, 0};
  const HistoryBatch b = BuildHistoryBatch(csr, users, 3);
  ASSERT_EQ(b.rows, 4);
  ASSERT_EQ(b.max_len, 3);
  EXPECT_EQ(b.items, (std::vector<int64_t>{5, 2, 6, 0, 0, 3, 0, 0, 0, 5, 2, 6}));
  EXPECT_EQ(b.lengths, (std::vector<int64_t>{3, 1, 0, 3}));
  EXPECT_EQ(b.At(1, 2), 3);

  const HistoryBatch wide = BuildHistoryBatch(csr, users, 7);
  EXPECT_EQ(std::vector<int64_t>(wide.items.begin(), wide.items.begin() + 7),
            (std::vector<int64_t>{0, 0, 4, 2, 5, 2, 6}));
  const std::vector<datasets::Index> bad = {3};
  EXPECT_THROW(BuildHistoryBatch(csr, bad, 3), framework::Error);
  EXPECT_THROW(BuildHistoryBatch(csr, users, 0), framework::Error);
}

TEST(SequenceHistory, NextItemExamplesShiftTargetsByOne) {
  const auto csr = HandCsr();
  const std::vector<datasets::Index> users = {0, 1, 2};
  const NextItemExamples short_ex = BuildNextItemExamples(csr, users, 3);
  ASSERT_EQ(short_ex.rows, 1);  // users 1 and 2 have no (input, target) pair
  EXPECT_EQ(short_ex.users, (std::vector<datasets::Index>{0}));
  EXPECT_EQ(short_ex.inputs, (std::vector<int64_t>{2, 5, 2}));   // items 1,4,1
  EXPECT_EQ(short_ex.targets, (std::vector<int64_t>{5, 2, 6}));  // items 4,1,5

  const NextItemExamples ex = BuildNextItemExamples(csr, users, 6);
  EXPECT_EQ(ex.inputs, (std::vector<int64_t>{0, 0, 4, 2, 5, 2}));
  EXPECT_EQ(ex.targets, (std::vector<int64_t>{0, 0, 2, 5, 2, 6}));
  const torch::Tensor t = NextItemTargets(ex);
  EXPECT_EQ(t.sizes(), (torch::IntArrayRef{1, 6}));
  EXPECT_EQ(t[0][5].item<int64_t>(), 6);
}

constexpr int64_t kItems = 12, kDim = 8;

torch::Tensor SampleItems() {
  // Row 0 full, row 1 two items, row 2 empty.
  return torch::tensor({{3, 1, 4, 1, 5}, {0, 0, 0, 9, 2}, {0, 0, 0, 0, 0}}, torch::kInt64);
}

torch::Tensor PadLeft(const torch::Tensor& items, int64_t extra) {
  return torch::cat({torch::zeros({items.size(0), extra}, torch::kInt64), items}, 1);
}

SasRecEncoder MakeSasRec(int64_t blocks = 2, int64_t heads = 2, double dropout = 0.0) {
  return SasRecEncoder(SasRecEncoderOptions(kItems, kDim).max_len(10).num_blocks(blocks).num_heads(heads).dropout(dropout));
}

TEST(SequenceEncoders, ShapesAndEmptyHistoryIsZero) {
  torch::manual_seed(1);
  Gru4RecEncoder gru(Gru4RecEncoderOptions(kItems, kDim));
  SasRecEncoder sas = MakeSasRec();
  MeanPoolingSequenceEncoder mean(MeanPoolingSequenceEncoderOptions(kItems, kDim));
  sas->eval();
  const torch::Tensor items = SampleItems();
  for (const torch::Tensor& out : {gru->forward(items), sas->forward(items), mean->forward(items)}) {
    ASSERT_EQ(out.sizes(), (torch::IntArrayRef{3, kDim}));
    EXPECT_TRUE(torch::isfinite(out).all().item<bool>());
    EXPECT_EQ(out[2].abs().sum().item<double>(), 0.0);  // empty history
    EXPECT_GT(out[1].abs().sum().item<double>(), 0.0);
  }
  for (const torch::Tensor& all : {gru->AllPositions(items), sas->AllPositions(items)}) {
    ASSERT_EQ(all.sizes(), (torch::IntArrayRef{3, 5, kDim}));
    EXPECT_TRUE(torch::isfinite(all).all().item<bool>());
    EXPECT_EQ(all[1].slice(0, 0, 3).abs().sum().item<double>(), 0.0);  // padding positions
  }
  // A batch made of empty histories only: still zeros, still no NaN, gradients finite.
  sas->train();
  const torch::Tensor empty = torch::zeros({2, 4}, torch::kInt64);
  const torch::Tensor e = sas->forward(empty);
  EXPECT_EQ(e.abs().sum().item<double>(), 0.0);
  EXPECT_EQ(gru->forward(empty).abs().sum().item<double>(), 0.0);
  EXPECT_EQ(mean->forward(empty).abs().sum().item<double>(), 0.0);
  (e.sum() + sas->forward(items).sum()).backward();
  for (const auto& p : sas->parameters()) EXPECT_TRUE(torch::isfinite(p.grad()).all().item<bool>());
}

TEST(SequenceEncoders, ExtraLeftPaddingDoesNotChangeOutput) {
  torch::manual_seed(2);
  Gru4RecEncoder gru(Gru4RecEncoderOptions(kItems, kDim));
  SasRecEncoder sas = MakeSasRec();
  MeanPoolingSequenceEncoder mean(MeanPoolingSequenceEncoderOptions(kItems, kDim));
  sas->eval();
  const torch::Tensor items = SampleItems(), padded = PadLeft(items, 4);
  EXPECT_TRUE(torch::allclose(gru->forward(items), gru->forward(padded), 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(sas->forward(items), sas->forward(padded), 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(mean->forward(items), mean->forward(padded), 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(sas->AllPositions(items), sas->AllPositions(padded).slice(1, 4), 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(gru->AllPositions(items), gru->AllPositions(padded).slice(1, 4), 1e-5, 1e-6));
  // Order matters for the sequence models (it would not for the mean).
  const torch::Tensor reversed = torch::tensor({{5, 1, 4, 1, 3}}, torch::kInt64);
  EXPECT_FALSE(torch::allclose(gru->forward(items.slice(0, 0, 1)), gru->forward(reversed), 1e-4, 1e-5));
  EXPECT_FALSE(torch::allclose(sas->forward(items.slice(0, 0, 1)), sas->forward(reversed), 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(mean->forward(items.slice(0, 0, 1)), mean->forward(reversed), 1e-5, 1e-6));
}

TEST(SequenceEncoders, PrecomputedVectorsMatchIdPath) {
  torch::manual_seed(3);
  Gru4RecEncoder gru(Gru4RecEncoderOptions(kItems, kDim));
  MeanPoolingSequenceEncoder mean(MeanPoolingSequenceEncoderOptions(kItems, kDim));
  SasRecEncoder vec_sas(SasRecEncoderOptions(0, kDim).max_len(10).dropout(0.0));  // vectors only
  vec_sas->eval();
  const torch::Tensor items = SampleItems(), mask = items > 0;
  EXPECT_TRUE(torch::allclose(gru->forward(items), gru->forward(gru->embedding(items), mask)));
  EXPECT_TRUE(torch::allclose(mean->forward(items), mean->forward(mean->embedding(items), mask)));
  // Garbage in padding slots of precomputed vectors is ignored.
  const torch::Tensor v = torch::randn({3, 5, kDim});
  const torch::Tensor v2 = torch::where(mask.unsqueeze(-1), v, torch::full_like(v, 1e3));
  EXPECT_TRUE(torch::allclose(gru->forward(v, mask), gru->forward(v2, mask), 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(vec_sas->forward(v, mask), vec_sas->forward(v2, mask), 1e-5, 1e-6));
  EXPECT_EQ(vec_sas->forward(v, mask)[2].abs().sum().item<double>(), 0.0);
  // A mask with padding after real items is rejected, as are ids for an id-less module.
  const torch::Tensor bad_mask = torch::tensor({{true, false, true, true, true}}).expand({3, 5});
  EXPECT_THROW(gru->forward(v, bad_mask), framework::Error);
  EXPECT_THROW(vec_sas->forward(items), framework::Error);
  EXPECT_THROW(gru->forward(torch::full({1, 3}, kItems + 1, torch::kInt64)), framework::Error);
}

TEST(SequenceEncoders, SasRecIsCausal) {
  torch::manual_seed(4);
  SasRecEncoder sas = MakeSasRec();
  sas->eval();
  const torch::Tensor a = torch::tensor({{0, 3, 1, 4, 1, 5}}, torch::kInt64);
  torch::Tensor b = a.clone();
  b[0][4] = 7;  // change a later item
  const torch::Tensor oa = sas->AllPositions(a), ob = sas->AllPositions(b);
  EXPECT_TRUE(torch::allclose(oa.slice(1, 0, 4), ob.slice(1, 0, 4), 1e-6, 1e-7));
  EXPECT_FALSE(torch::allclose(oa.select(1, 4), ob.select(1, 4), 1e-4, 1e-5));
  EXPECT_FALSE(torch::allclose(oa.select(1, 5), ob.select(1, 5), 1e-4, 1e-5));
  // And position p's output equals encoding the prefix ending at p on its own.
  EXPECT_TRUE(torch::allclose(oa.select(1, 3), sas->forward(a.slice(1, 0, 4)), 1e-5, 1e-6));
}

TEST(SequenceEncoders, GradientsReachEveryParameter) {
  torch::manual_seed(5);
  const torch::Tensor items = SampleItems();
  const torch::Tensor targets = torch::tensor({{2, 6, 3, 7, 8}, {0, 0, 0, 4, 1}, {0, 0, 0, 0, 0}}, torch::kInt64);
  Gru4RecEncoder gru(Gru4RecEncoderOptions(kItems, kDim));
  testing::ExpectGradientsReachEveryParameter(
      *gru, [&] { return NextItemLoss(gru->AllPositions(items), targets, gru->ItemTable()); });
  SasRecEncoder sas = MakeSasRec(2, 2, 0.1);
  testing::ExpectGradientsReachEveryParameter(
      *sas, [&] { return NextItemLoss(sas->AllPositions(items), targets, sas->ItemTable()); });
  MeanPoolingSequenceEncoder mean(MeanPoolingSequenceEncoderOptions(kItems, kDim));
  testing::ExpectGradientsReachEveryParameter(*mean, [&] { return mean->forward(items).pow(2).sum(); });
}

torch::Tensor Param(torch::nn::Module& m, const std::string& name) {
  for (const auto& p : m.named_parameters())
    if (p.key() == name) return p.value();
  ADD_FAILURE() << "no parameter " << name;
  return {};
}

TEST(SequenceEncoders, GradientsMatchFiniteDifferencesInDouble) {
  torch::manual_seed(6);
  const torch::Tensor items = torch::tensor({{0, 3, 1, 4}, {0, 0, 2, 5}}, torch::kInt64);
  const torch::Tensor targets = torch::tensor({{0, 2, 5, 6}, {0, 0, 6, 1}}, torch::kInt64);
  SasRecEncoder sas(SasRecEncoderOptions(6, 4).max_len(4).num_blocks(1).num_heads(2).dropout(0.0));
  sas->to(torch::kFloat64);
  const auto sas_loss = [&] { return NextItemLoss(sas->AllPositions(items), targets, sas->ItemTable()); };
  for (const char* name : {"block0_q.weight", "block0_k.weight", "block0_v.weight", "embedding.weight", "position.weight"})
    testing::ExpectGradientMatchesFiniteDifferences(Param(*sas, name), sas_loss);

  Gru4RecEncoder gru(Gru4RecEncoderOptions(6, 3));
  gru->to(torch::kFloat64);
  const auto gru_loss = [&] { return NextItemLoss(gru->AllPositions(items), targets, gru->ItemTable()); };
  for (const char* name : {"gru.weight_ih_l0", "gru.weight_hh_l0", "embedding.weight"})
    testing::ExpectGradientMatchesFiniteDifferences(Param(*gru, name), gru_loss);
}

TEST(SequenceEncoders, SameSeedSameOutput) {
  const torch::Tensor items = SampleItems();
  const auto run = [&](uint64_t seed) {
    torch::manual_seed(seed);
    SasRecEncoder sas = MakeSasRec(2, 2, 0.3);
    sas->train();  // dropout draws from torch's seeded generator too
    Gru4RecEncoder gru(Gru4RecEncoderOptions(kItems, kDim));
    return torch::cat({sas->forward(items), gru->forward(items)}, 1);
  };
  encoders::SetTorchThreads(1);
  EXPECT_TRUE(torch::equal(run(11), run(11)));
  EXPECT_FALSE(torch::equal(run(11), run(12)));
}

// Markov sequences: item i is followed by (i + 1) mod n with probability 0.9, else by a
// uniformly random item. A next-item model must learn the successor map.
struct MarkovData {
  datasets::Csr csr;
};

MarkovData MakeMarkov(int64_t n, int users, uint64_t seed) {
  framework::Rng rng(seed);
  MarkovData d;
  d.csr.indptr.push_back(0);
  for (int u = 0; u < users; ++u) {
    const int len = 6 + static_cast<int>(rng.UniformInt(10));
    int64_t item = static_cast<int64_t>(rng.UniformInt(n));
    for (int k = 0; k < len; ++k) {
      d.csr.cols.push_back(static_cast<datasets::Index>(item));
      d.csr.ref.push_back(static_cast<int64_t>(d.csr.ref.size()));
      item = rng.Uniform() < 0.9 ? (item + 1) % n : static_cast<int64_t>(rng.UniformInt(n));
    }
    d.csr.indptr.push_back(static_cast<int64_t>(d.csr.cols.size()));
  }
  return d;
}

// Trains on all but each user's last item, then HR@10 of that last item.
template <typename Encoder>
double TrainAndHitRate(Encoder enc, const MarkovData& d, int epochs) {
  const int users = d.csr.rows();
  datasets::Csr train = d.csr;  // drop each user's last item
  train.cols.clear();
  train.indptr = {0};
  for (int u = 0; u < users; ++u) {
    const auto row = d.csr.Row(u);
    train.cols.insert(train.cols.end(), row.begin(), row.end() - 1);
    train.indptr.push_back(static_cast<int64_t>(train.cols.size()));
  }
  train.ref.assign(train.cols.size(), 0);
  std::vector<datasets::Index> all(static_cast<size_t>(users));
  for (int u = 0; u < users; ++u) all[static_cast<size_t>(u)] = u;
  const NextItemExamples ex = BuildNextItemExamples(train, all, 20);
  const torch::Tensor in = NextItemInputs(ex), tg = NextItemTargets(ex);
  torch::optim::Adam opt(enc->parameters(), torch::optim::AdamOptions(0.01));
  enc->train();
  for (int e = 0; e < epochs; ++e) {
    for (int64_t s = 0; s < ex.rows; s += 64) {
      const int64_t t = std::min(ex.rows, s + 64);
      opt.zero_grad();
      const torch::Tensor loss = NextItemLoss(enc->AllPositions(in.slice(0, s, t)), tg.slice(0, s, t), enc->ItemTable());
      loss.backward();
      opt.step();
    }
  }
  enc->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor scores = enc->forward(HistoryTensor(BuildHistoryBatch(train, all, 20))).matmul(enc->ItemTable().t());
  const torch::Tensor top = std::get<1>(scores.topk(10, 1));
  int hits = 0;
  for (int u = 0; u < users; ++u) {
    const int64_t truth = d.csr.Row(u).back();
    hits += (top[u] == truth).any().item<bool>() ? 1 : 0;
  }
  return static_cast<double>(hits) / users;
}

TEST(SequenceEncoders, LearnNextItemOnMarkovSequences) {
  encoders::SetTorchThreads(1);
  constexpr int64_t n = 60;  // chance HR@10 = 10/60
  const MarkovData d = MakeMarkov(n, 300, 21);
  torch::manual_seed(21);
  const double gru_hr = TrainAndHitRate(Gru4RecEncoder(Gru4RecEncoderOptions(n, 16)), d, 15);
  const double sas_hr =
      TrainAndHitRate(SasRecEncoder(SasRecEncoderOptions(n, 16).max_len(20).num_blocks(1).num_heads(1).dropout(0.1)), d, 15);
  std::cout << "Markov HR@10: GRU4Rec " << gru_hr << ", SASRec " << sas_hr << " (chance " << 10.0 / n << ")\n";
  EXPECT_GT(gru_hr, 0.6);
  EXPECT_GT(sas_hr, 0.6);
}

}  // namespace
}  // namespace recfuse::encoders
