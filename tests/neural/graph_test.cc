// Graph utilities (models/graph): the LightGCN adjacency and one propagation step against
// hand computations, the propagation's gradient against finite differences, kNN graphs on a
// hand-made matrix, the normalisations, FREEDOM's degree-sensitive pruning.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <vector>

#include "framework/error.h"
#include "framework/rng.h"
#include "models/graph/graph.h"
#include "models/graph/graph_torch.h"

namespace recfuse::models::graph {
namespace {

using Triplet = Eigen::Triplet<float, int64_t>;

SpMat Make(int64_t rows, int64_t cols, const std::vector<Triplet>& t) {
  SpMat m(rows, cols);
  m.setFromTriplets(t.begin(), t.end());
  m.makeCompressed();
  return m;
}

// user 0: items 0, 1; user 1: item 1; user 2: items 1, 2.
// Degrees: users 2, 1, 2; items 1, 3, 1.
SpMat ThreeByThree() { return Make(3, 3, {{0, 0, 1}, {0, 1, 1}, {1, 1, 1}, {2, 1, 1}, {2, 2, 1}}); }

std::map<std::pair<int64_t, int64_t>, float> Entries(const SpMat& m) {
  std::map<std::pair<int64_t, int64_t>, float> e;
  for (int64_t i = 0; i < m.outerSize(); ++i)
    for (SpMat::InnerIterator it(m, i); it; ++it) e[{i, it.col()}] = it.value();
  return e;
}

TEST(Graph, NormalizedBipartiteMatchesHandComputation) {
  const SpMat a = NormalizedBipartite(ThreeByThree());
  ASSERT_EQ(a.rows(), 6);
  ASSERT_EQ(a.cols(), 6);
  const double s2 = std::sqrt(2.0), s3 = std::sqrt(3.0), s6 = std::sqrt(6.0);
  // Items are nodes 3, 4, 5. A_ui = 1 / sqrt(d_u d_i), symmetric.
  const std::map<std::pair<int64_t, int64_t>, double> want = {
      {{0, 3}, 1 / s2}, {{0, 4}, 1 / s6}, {{1, 4}, 1 / s3}, {{2, 4}, 1 / s6}, {{2, 5}, 1 / s2}};
  const auto got = Entries(a);
  EXPECT_EQ(got.size(), 2 * want.size());
  for (const auto& [ij, v] : want) {
    ASSERT_TRUE(got.count(ij)) << ij.first << "," << ij.second;
    EXPECT_NEAR(got.at(ij), v, 1e-6);
    ASSERT_TRUE(got.count({ij.second, ij.first}));
    EXPECT_NEAR(got.at({ij.second, ij.first}), v, 1e-6);
  }
  // A cold item (no interaction) and a cold user: isolated nodes, no entries, no NaN.
  const SpMat r = Make(4, 4, {{0, 0, 1}, {0, 1, 1}, {1, 1, 1}, {2, 1, 1}, {2, 2, 1}});
  const SpMat b = NormalizedBipartite(r);
  ASSERT_EQ(b.rows(), 8);
  EXPECT_EQ(b.nonZeros(), 10);
  for (int64_t node : {3, 7}) {
    EXPECT_EQ(b.row(node).nonZeros(), 0);
    EXPECT_EQ(SpMat(b.transpose()).row(node).nonZeros(), 0);
  }
  EXPECT_NEAR(Entries(b).at({0, 4}), 1 / s2, 1e-6);  // item 0 is node 4 when there are 4 users
}

TEST(Graph, OneLayerMeanStepMatchesHandComputation) {
  const SpMat a = NormalizedBipartite(ThreeByThree());
  // Nodes u0 u1 u2 i0 i1 i2 carry x = 1..6 (column 0) and 10 - x (column 1).
  std::vector<float> xv;
  for (int n = 0; n < 6; ++n) {
    xv.push_back(static_cast<float>(n + 1));
    xv.push_back(static_cast<float>(10 - (n + 1)));
  }
  const torch::Tensor x = torch::from_blob(xv.data(), {6, 2}, torch::kFloat).clone();
  const double s2 = std::sqrt(2.0), s3 = std::sqrt(3.0), s6 = std::sqrt(6.0);
  const auto ax = [&](const std::vector<double>& v) {  // A x by hand, v = node values
    return std::vector<double>{v[3] / s2 + v[4] / s6, v[4] / s3,           v[4] / s6 + v[5] / s2,
                               v[0] / s2,             v[0] / s6 + v[1] / s3 + v[2] / s6, v[2] / s2};
  };
  for (const torch::Tensor& adj : {ToTorchSparse(a), ToTorchCoo(a)}) {
    const torch::Tensor y = LayerMean(adj, x, 1);
    const torch::Tensor p = Propagate(adj, x, 1);
    for (int c = 0; c < 2; ++c) {
      std::vector<double> v;
      for (int n = 0; n < 6; ++n) v.push_back(xv[static_cast<size_t>(2 * n + c)]);
      const auto want = ax(v);
      for (int n = 0; n < 6; ++n) {
        EXPECT_NEAR(p[n][c].item<float>(), want[static_cast<size_t>(n)], 1e-5) << n << "," << c;
        EXPECT_NEAR(y[n][c].item<float>(), (v[static_cast<size_t>(n)] + want[static_cast<size_t>(n)]) / 2, 1e-5)
            << n << "," << c;
      }
    }
  }
  EXPECT_TRUE(torch::equal(LayerMean(ToTorchSparse(a), x, 0), x));
  EXPECT_THROW(LayerMean(ToTorchSparse(a), torch::zeros({5, 2}), 1), framework::Error);
}

// d/dx0 of sum(w * LayerMean(A, x0, 3)) by autograd against central differences, for the
// symmetric LightGCN adjacency and for a non-symmetric normalised kNN graph (whose backward
// needs A^T, not A).
TEST(Graph, LayerMeanGradientMatchesFiniteDifferences) {
  torch::manual_seed(0);
  RowMatrixXf feats(7, 3);
  feats << 1, 0, 0, 0.9f, 0.2f, 0, 0, 1, 0, 0.1f, 0.9f, 0.3f, 0, 0, 1, 0.5f, 0.5f, 0.5f, 0.2f, 0, 0.8f;
  const SpMat knn = SymNormalize(KnnGraph(feats, 2));
  ASSERT_FALSE(knn.isApprox(SpMat(knn.transpose()))) << "the test needs a non-symmetric graph";
  for (const SpMat& g : {NormalizedBipartite(ThreeByThree()), knn})
    for (const torch::Tensor& adj : {ToTorchSparse(g), ToTorchCoo(g)}) {
      const int64_t n = g.rows();
      const torch::Tensor w = torch::randn({n, 4});
      const torch::Tensor x0 = torch::randn({n, 4}).requires_grad_(true);
      const torch::Tensor loss = (LayerMean(adj, x0, 3) * w).sum();
      loss.backward();
      const torch::Tensor grad = x0.grad();
      torch::NoGradGuard ng;
      const double eps = 1e-2;
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < 4; ++j) {
          torch::Tensor xp = x0.detach().clone(), xm = x0.detach().clone();
          xp[i][j] += eps;
          xm[i][j] -= eps;
          const double fd =
              ((LayerMean(adj, xp, 3) * w).sum().item<double>() - (LayerMean(adj, xm, 3) * w).sum().item<double>()) /
              (2 * eps);
          EXPECT_NEAR(grad[i][j].item<double>(), fd, 2e-3) << i << "," << j;
        }
    }
}

TEST(Graph, KnnGraphOnAHandMadeMatrix) {
  // Rows: 0 (1,0); 1 (0.9,0.1); 2 (0,1); 3 (1,0) = row 0; 4 (1,0) but absent.
  RowMatrixXf x(5, 2);
  x << 1, 0, 0.9f, 0.1f, 0, 1, 1, 0, 1, 0;
  const std::vector<uint8_t> present = {1, 1, 1, 1, 0};
  const double c01 = 0.9 / std::sqrt(0.82), c12 = 0.1 / std::sqrt(0.82);
  for (int threads : {1, 2}) {
    const auto k1 = Entries(KnnGraph(x, 1, &present, /*weighted=*/true, threads));
    // 0 -> 3 (cosine 1, row 4 is absent); 3 -> 0; 1 -> 0 (tie with 3, lower index);
    // 2 -> 1 (0.11 beats 0 and 3 at 0); 4 -> nothing.
    const std::map<std::pair<int64_t, int64_t>, double> want1 = {{{0, 3}, 1.0}, {{1, 0}, c01}, {{2, 1}, c12}, {{3, 0}, 1.0}};
    ASSERT_EQ(k1.size(), want1.size()) << "threads " << threads;
    for (const auto& [ij, v] : want1) {
      ASSERT_TRUE(k1.count(ij)) << ij.first << "->" << ij.second;
      EXPECT_NEAR(k1.at(ij), v, 1e-6);
    }
    const auto k2 = Entries(KnnGraph(x, 2, &present, /*weighted=*/false, threads));
    // 2's second neighbour: 0 and 3 tie at cosine 0, the lower index wins.
    for (const auto& ij : std::vector<std::pair<int64_t, int64_t>>{{0, 3}, {0, 1}, {1, 0}, {1, 3}, {2, 1}, {2, 0}, {3, 0}, {3, 1}}) {
      ASSERT_TRUE(k2.count(ij)) << ij.first << "->" << ij.second;
      EXPECT_EQ(k2.at(ij), 1.0f);
    }
    EXPECT_EQ(k2.size(), 8u);
  }
  // k above the number of other present rows: everyone else. No mask: row 4 takes part.
  const SpMat all = KnnGraph(x, 10, &present);
  for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(all.row(i).nonZeros(), 3);
  EXPECT_EQ(all.row(4).nonZeros(), 0);
  const auto open = Entries(KnnGraph(x, 1, nullptr, true));
  EXPECT_TRUE(open.count({0, 3}));  // 3 and 4 tie with 0 at cosine 1: lower index
  EXPECT_TRUE(open.count({4, 0}));
  // Separate masks: every row asks, only rows 0-2 ("warm") may answer.
  const std::vector<uint8_t> rows_all = {1, 1, 1, 1, 1}, warm = {1, 1, 1, 0, 0};
  const auto cold = Entries(KnnGraph(x, 1, rows_all, warm, true));
  const std::map<std::pair<int64_t, int64_t>, double> want_cold = {
      {{0, 1}, c01}, {{1, 0}, c01}, {{2, 1}, c12}, {{3, 0}, 1.0}, {{4, 0}, 1.0}};
  ASSERT_EQ(cold.size(), want_cold.size());
  for (const auto& [ij, v] : want_cold) {
    ASSERT_TRUE(cold.count(ij)) << ij.first << "->" << ij.second;
    EXPECT_NEAR(cold.at(ij), v, 1e-6);
  }
  EXPECT_THROW(KnnGraph(x, 0), framework::Error);
  const std::vector<uint8_t> short_mask = {1, 1};
  EXPECT_THROW(KnnGraph(x, 1, &short_mask), framework::Error);
}

TEST(Graph, NormalisationsAndSymmetrize) {
  const SpMat a = Make(4, 4, {{0, 1, 1}, {0, 2, 3}, {1, 0, 2}, {2, 2, 4}});  // row 3 empty
  const SpMat r = RowNormalize(a);
  EXPECT_NEAR(r.row(0).sum(), 1.0, 1e-6);
  EXPECT_NEAR(Entries(r).at({0, 2}), 0.75, 1e-6);
  EXPECT_NEAR(r.row(1).sum(), 1.0, 1e-6);
  EXPECT_EQ(r.row(3).sum(), 0.0f);
  // Row sums 4, 2, 4, 0: A_ij / sqrt(d_i d_j).
  const auto s = Entries(SymNormalize(a));
  EXPECT_NEAR(s.at({0, 1}), 1 / std::sqrt(8.0), 1e-6);
  EXPECT_NEAR(s.at({0, 2}), 3 / 4.0, 1e-6);
  EXPECT_NEAR(s.at({1, 0}), 2 / std::sqrt(8.0), 1e-6);
  EXPECT_NEAR(s.at({2, 2}), 1.0, 1e-6);
  // A symmetric graph normalised symmetrically has rows summing to <= 1 and equal to the
  // hand values; an edge into an empty row gets 0.
  const SpMat b = Make(3, 3, {{0, 2, 1}});
  EXPECT_EQ(Entries(SymNormalize(b)).at({0, 2}), 0.0f);
  const auto m = Entries(Symmetrize(a));
  EXPECT_EQ(m.at({0, 1}), 2.0f);  // max(1, 2)
  EXPECT_EQ(m.at({1, 0}), 2.0f);
  EXPECT_EQ(m.at({0, 2}), 3.0f);
  EXPECT_EQ(m.at({2, 0}), 3.0f);
  EXPECT_EQ(m.at({2, 2}), 4.0f);
  EXPECT_EQ(m.size(), 5u);
  EXPECT_THROW(SymNormalize(Make(2, 3, {})), framework::Error);
}

// Star: user 0 has every item (degree 20), users 1..20 one item each: the hub's edges have
// weight 1/sqrt(20 * 2), the others 1/sqrt(1 * 2)... all items have degree 2, so an
// edge of a leaf user is sqrt(20) times likelier to be kept than one of the hub.
TEST(Graph, DegreeSensitivePruneKeepsLowDegreeEdges) {
  std::vector<Triplet> t;
  for (int i = 0; i < 20; ++i) {
    t.emplace_back(0, i, 1);
    t.emplace_back(1 + i, i, 1);
  }
  const SpMat r = Make(21, 20, t);
  framework::Rng rng(3);
  int hub = 0, leaf = 0;
  for (int rep = 0; rep < 200; ++rep) {
    const SpMat p = DegreeSensitivePrune(r, 0.5, rng);
    ASSERT_EQ(p.nonZeros(), 20);  // int(40 * 0.5)
    for (int64_t u = 0; u < p.outerSize(); ++u)
      for (SpMat::InnerIterator it(p, u); it; ++it) {
        ASSERT_EQ(r.coeff(u, it.col()), 1.0f) << "kept an edge that is not in r";
        (u == 0 ? hub : leaf) += 1;
      }
  }
  EXPECT_GT(leaf, 2 * hub) << "leaf edges kept " << leaf << ", hub edges " << hub;
  framework::Rng a(5), b(5);
  EXPECT_TRUE(DegreeSensitivePrune(r, 0.3, a).isApprox(DegreeSensitivePrune(r, 0.3, b)));
  EXPECT_EQ(DegreeSensitivePrune(r, 0.0, a).nonZeros(), 40);
  EXPECT_THROW(DegreeSensitivePrune(r, 1.0, a), framework::Error);
  const auto warm = ColumnPresent(Make(2, 3, {{0, 0, 1}, {1, 2, 1}}));
  EXPECT_EQ(warm, (std::vector<uint8_t>{1, 0, 1}));
}

}  // namespace
}  // namespace recfuse::models::graph
