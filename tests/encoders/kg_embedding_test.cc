#include "encoders/kg_embedding.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <unordered_map>

#include "datasets/load.h"
#include "datasets/synthetic.h"
#include "encoders/kg_features.h"
#include "framework/error.h"
#include "tests/encoders/torch_test_util.h"
#include "tests/test_util.h"

namespace recfuse::encoders {
namespace {

struct World {
  std::string dir;
  datasets::Dataset data;
  std::vector<int> item_cluster;  // per dataset item id
  int clusters = 0;
};

World MakeWorld(double signal_kg, uint64_t seed) {
  datasets::SyntheticOptions o;
  o.seed = seed;
  o.users = 150;
  o.items = 120;
  o.interactions = 5000;
  o.image_size = 32;
  o.images = false;
  o.signal_kg = signal_kg;
  o.threads = 1;
  World w;
  w.dir = testing::TempDir("kg_world");
  datasets::GenerateSynthetic(w.dir, o);
  w.data = datasets::LoadDataset(w.dir);
  const auto truth = datasets::ReadSyntheticTruth(w.dir);
  w.clusters = truth.clusters;
  std::unordered_map<std::string, int> by_token;
  for (size_t n = 0; n < truth.item_tokens.size(); ++n) by_token[truth.item_tokens[n]] = truth.item_cluster[n];
  for (datasets::Index i = 0; i < w.data.num_items(); ++i) w.item_cluster.push_back(by_token.at(w.data.items.Token(i)));
  return w;
}

const World& StructuredWorld() {
  static const World w = MakeWorld(1.0, 5);
  return w;
}

// Every 10th triple held out, as long as its head and tail still occur in training (an
// entity never seen in training has only its random initial vector).
void HoldOut(const datasets::Dataset& d, std::vector<int64_t>* train, std::vector<datasets::Triple>* test) {
  std::vector<int> degree(static_cast<size_t>(d.entities.size()), 0);
  for (const auto& x : d.kg) ++degree[x.head], ++degree[x.tail];
  for (size_t i = 0; i < d.kg.size(); ++i) {
    const auto& x = d.kg[i];
    if (i % 10 == 3 && degree[x.head] > 1 && degree[x.tail] > 1) {
      --degree[x.head], --degree[x.tail];
      test->push_back(x);
    } else {
      train->push_back(static_cast<int64_t>(i));
    }
  }
}

TEST(KgEmbedding, CorruptedNegativesNeverEqualThePositive) {
  std::vector<datasets::Triple> pos;
  for (int i = 0; i < 500; ++i) pos.push_back({i % 3, i % 2, (i + 1) % 3});
  framework::Rng rng(9);
  const Corruptions c = CorruptTriples(pos, 3, 4, rng);
  ASSERT_EQ(c.heads.size(), 2000u);
  int head_changed = 0, tail_changed = 0;
  std::map<int64_t, int> replacement;
  for (size_t b = 0; b < pos.size(); ++b) {
    for (size_t k = 0; k < 4; ++k) {
      const int64_t h = c.heads[b * 4 + k], t = c.tails[b * 4 + k];
      ASSERT_TRUE(h != pos[b].head || t != pos[b].tail) << "negative equals its positive";
      ASSERT_TRUE(h == pos[b].head || t == pos[b].tail) << "exactly one side is replaced";
      ASSERT_TRUE(h >= 0 && h < 3 && t >= 0 && t < 3);
      head_changed += h != pos[b].head;
      tail_changed += t != pos[b].tail;
      ++replacement[h != pos[b].head ? h : t];
    }
  }
  EXPECT_NEAR(head_changed / 2000.0, 0.5, 0.05);
  EXPECT_EQ(head_changed + tail_changed, 2000);
  for (const auto& [e, n] : replacement) EXPECT_GT(n, 500) << "entity " << e << " rarely drawn";
}

TEST(KgEmbedding, LossGradientsAndFiniteDifferences) {
  torch::manual_seed(1);
  const torch::Tensor h = torch::tensor({0, 1, 2}, torch::kInt64), r = torch::tensor({0, 1, 0}, torch::kInt64),
                      t = torch::tensor({1, 2, 3}, torch::kInt64);
  const torch::Tensor hn = torch::tensor({0, 4, 1, 1, 2, 0}, torch::kInt64),
                      tn = torch::tensor({4, 2, 2, 0, 4, 3}, torch::kInt64);
  // A margin large enough that every pair is active, so every parameter receives gradient.
  TransE te(TransEOptions(5, 2, 4).margin(10.0));
  testing::ExpectGradientsReachEveryParameter(*te, [&] { return te->Loss(h, r, t, hn, tn); });
  TransR tr(TransROptions(5, 2, 4).relation_dim(3).margin(10.0));
  testing::ExpectGradientsReachEveryParameter(*tr, [&] { return tr->Loss(h, r, t, hn, tn); });

  TransR trd(TransROptions(5, 2, 4).relation_dim(3).p(2).margin(10.0));
  trd->to(torch::kFloat64);
  const auto loss = [&] { return trd->Loss(h, r, t, hn, tn); };
  testing::ExpectGradientMatchesFiniteDifferences(trd->projection, loss);
  testing::ExpectGradientMatchesFiniteDifferences(trd->entity->weight, loss);
  TransE ted(TransEOptions(5, 2, 4).p(2).margin(10.0));
  ted->to(torch::kFloat64);
  testing::ExpectGradientMatchesFiniteDifferences(ted->relation->weight, [&] { return ted->Loss(h, r, t, hn, tn); });

  // The distance is what the formula says: ||h + r - t||_1 by hand.
  const torch::Tensor d = te->forward(h, r, t);
  const torch::Tensor e = te->entity->weight, rel = te->relation->weight;
  EXPECT_NEAR(d[1].item<double>(), (e[1] + rel[1] - e[2]).abs().sum().item<double>(), 1e-5);
  EXPECT_NEAR(te->AllTails(h, r)[1][2].item<double>(), d[1].item<double>(), 1e-5);
  EXPECT_NEAR(te->AllHeads(r, t)[1][1].item<double>(), d[1].item<double>(), 1e-5);
  const torch::Tensor dr = tr->forward(h, r, t);
  EXPECT_NEAR(tr->AllTails(h, r)[2][3].item<double>(), dr[2].item<double>(), 1e-5);
  EXPECT_NEAR(tr->AllHeads(r, t)[0][0].item<double>(), dr[0].item<double>(), 1e-5);
}

TEST(KgEmbedding, FilteredRankingByHand) {
  // Entities on a line, one relation "+1": TransE with the exact solution has rank 1
  // everywhere; the filter must skip other true triples ranked before the truth.
  datasets::Dataset d;
  for (const char* e : {"a", "b", "c"}) d.entities.GetOrAdd(e);
  d.relations.GetOrAdd("r");
  d.kg = {{0, 0, 1}, {0, 0, 2}};
  KgTrainOptions o;
  o.dim = 1;
  o.epochs = 0;
  KgTrainResult m = TrainKgEmbedding(d, o);
  {
    torch::NoGradGuard no_grad;
    m.transe->entity->weight.copy_(torch::tensor({{0.0f}, {1.0f}, {2.0f}}));
    m.transe->relation->weight.copy_(torch::tensor({{1.0f}}));
  }
  const std::vector<datasets::Triple> test = {{0, 0, 2}};
  // Tail query (a, r, ?): b is closer than c -> rank 2 unfiltered; filtered (a,r,b) is known -> 1.
  // Head query (?, r, c): b is closest (b+1 = c) -> rank 2 (b,r,c) is not known.
  const auto unfiltered = EvaluateLinkPrediction(m, test, test, {1});
  EXPECT_DOUBLE_EQ(unfiltered.mrr, (0.5 + 0.5) / 2);
  const auto filtered = EvaluateLinkPrediction(m, test, d.kg, {1});
  EXPECT_DOUBLE_EQ(filtered.mrr, (1.0 + 0.5) / 2);
  EXPECT_DOUBLE_EQ(filtered.hits[0], 0.5);
  EXPECT_EQ(filtered.queries, 2);
}

double RandomMrr(int64_t n) { return std::log(static_cast<double>(n)) / static_cast<double>(n); }

TEST(KgEmbedding, TransEAndTransRLearnHeldOutTriples) {
  const World& w = StructuredWorld();
  ASSERT_FALSE(w.data.kg.empty());
  std::vector<int64_t> train;
  std::vector<datasets::Triple> test;
  HoldOut(w.data, &train, &test);
  ASSERT_GT(test.size(), 20u);
  KgTrainOptions o;
  o.dim = 16;
  o.epochs = 150;
  o.negatives = 4;
  o.batch_size = 128;
  o.seed = 3;
  o.train_triples = &train;
  const KgTrainResult te = TrainKgEmbedding(w.data, o);
  EXPECT_LT(te.epoch_loss.back(), te.epoch_loss.front());
  const auto m = EvaluateLinkPrediction(te, test, w.data.kg);
  const double random = RandomMrr(w.data.entities.size());
  std::cout << "TransE filtered MRR " << m.mrr << " hits@10 " << m.hits[2] << " (random MRR " << random << ")\n";
  EXPECT_GT(m.mrr, 5 * random);
  EXPECT_GT(m.mrr, 0.2);
  EXPECT_DOUBLE_EQ(FilteredMrr(te, test, w.data.kg), m.mrr);

  o.method = "transr";
  o.transe_pretrain_epochs = 50;
  o.epochs = 100;
  const KgTrainResult tr = TrainKgEmbedding(w.data, o);
  const double mrr_r = FilteredMrr(tr, test, w.data.kg);
  std::cout << "TransR filtered MRR " << mrr_r << "\n";
  EXPECT_GT(mrr_r, 5 * random);
  EXPECT_GT(mrr_r, 0.2);
}

TEST(KgEmbedding, SameSeedSameEmbeddings) {
  const World& w = StructuredWorld();
  KgTrainOptions o;
  o.dim = 8;
  o.epochs = 5;
  o.seed = 17;
  const auto a = TrainKgEmbedding(w.data, o), b = TrainKgEmbedding(w.data, o);
  EXPECT_TRUE(torch::equal(a.entities, b.entities));
  EXPECT_EQ(a.epoch_loss, b.epoch_loss);
  o.seed = 18;
  EXPECT_FALSE(torch::equal(a.entities, TrainKgEmbedding(w.data, o).entities));
  o.method = "transr";
  o.transe_pretrain_epochs = 2;
  EXPECT_TRUE(torch::equal(TrainKgEmbedding(w.data, o).entities, TrainKgEmbedding(w.data, o).entities));
}

TEST(KgEmbedding, KgFeaturesRecoverItemClustersOnlyWhenTheKgCarriesThem) {
  const World& w = StructuredWorld();
  EncodeContext ctx;
  ctx.seed = 4;
  const ItemFeatures f = KgFeatures(w.data, "transe", 16, ctx);
  EXPECT_EQ(f.spec, "kg:transe:16");
  ASSERT_EQ(f.values.rows(), w.data.num_items());
  ASSERT_EQ(f.values.cols(), 16);
  int64_t linked = 0;
  for (datasets::Index i = 0; i < w.data.num_items(); ++i) {
    const bool has = w.data.item_entity[i] != datasets::kNoId;
    linked += has;
    if (!f.present[i]) EXPECT_EQ(f.values.row(i).norm(), 0.0f);
  }
  EXPECT_GT(linked, 0);
  const double chance = 1.0 / w.clusters;
  const double acc = LinearProbeAccuracy(f.values, w.item_cluster, 1.0, 0.6, 1);

  const World control = MakeWorld(0.0, 5);
  const ItemFeatures g = KgFeatures(control.data, "transe", 16, ctx);
  const double control_acc = LinearProbeAccuracy(g.values, control.item_cluster, 1.0, 0.6, 1);
  std::cout << "KG probe accuracy: signal_kg=1 " << acc << ", signal_kg=0 " << control_acc << " (chance " << chance
            << ")\n";
  EXPECT_GT(acc, 4 * chance);
  EXPECT_LT(control_acc, 2.5 * chance);

  const ItemFeatures r = KgFeatures(w.data, "transr", 16, ctx);
  const double acc_r = LinearProbeAccuracy(r.values, w.item_cluster, 1.0, 0.6, 1);
  std::cout << "KG probe accuracy (TransR): " << acc_r << "\n";
  EXPECT_GT(acc_r, 3 * chance);
}

TEST(KgEmbedding, ClearErrors) {
  datasets::Dataset empty;
  empty.name = "nokg";
  empty.items.GetOrAdd("i");
  empty.Finalize();
  EXPECT_THROW(KgFeatures(empty, "transe", 8, {}), framework::MissingModalityError);
  EXPECT_THROW(KgFeatures(StructuredWorld().data, "rotate", 8, {}), framework::ConfigError);
  EXPECT_THROW(KgFeatures(StructuredWorld().data, "transe", 0, {}), framework::ConfigError);
}

}  // namespace
}  // namespace recfuse::encoders
