#include "models/graph/graph.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include "framework/error.h"
#include "framework/parallel.h"

namespace recfuse::models::graph {
namespace {

using Triplet = Eigen::Triplet<float, int64_t>;

SpMat FromTriplets(int64_t rows, int64_t cols, const std::vector<Triplet>& t) {
  SpMat m(rows, cols);
  m.setFromTriplets(t.begin(), t.end());
  m.makeCompressed();
  return m;
}

Eigen::VectorXd RowSums(const SpMat& a) {
  Eigen::VectorXd d = Eigen::VectorXd::Zero(a.rows());
  for (int64_t i = 0; i < a.outerSize(); ++i)
    for (SpMat::InnerIterator it(a, i); it; ++it) d(i) += it.value();
  return d;
}

// 1/sqrt(d), 0 where d <= 0 (isolated nodes stay isolated instead of becoming inf/NaN).
Eigen::VectorXd InvSqrt(const Eigen::VectorXd& d) {
  return d.unaryExpr([](double x) { return x > 0 ? 1.0 / std::sqrt(x) : 0.0; });
}

}  // namespace

SpMat NormalizedBipartite(const SpMat& r) {
  const int64_t nu = r.rows(), ni = r.cols();
  Eigen::VectorXd du = Eigen::VectorXd::Zero(nu), di = Eigen::VectorXd::Zero(ni);
  for (int64_t u = 0; u < r.outerSize(); ++u)
    for (SpMat::InnerIterator it(r, u); it; ++it) {
      RF_CHECK(it.value() >= 0, "NormalizedBipartite: negative interaction weight");
      du(u) += it.value();
      di(it.col()) += it.value();
    }
  const Eigen::VectorXd su = InvSqrt(du), si = InvSqrt(di);
  std::vector<Triplet> t;
  t.reserve(static_cast<size_t>(2 * r.nonZeros()));
  for (int64_t u = 0; u < r.outerSize(); ++u)
    for (SpMat::InnerIterator it(r, u); it; ++it) {
      if (it.value() == 0) continue;
      const float v = static_cast<float>(it.value() * su(u) * si(it.col()));
      t.emplace_back(u, nu + it.col(), v);
      t.emplace_back(nu + it.col(), u, v);
    }
  return FromTriplets(nu + ni, nu + ni, t);
}

SpMat KnnGraph(const RowMatrixXf& x, int k, const std::vector<uint8_t>* present, bool weighted, int threads) {
  RF_CHECK(present == nullptr || static_cast<int64_t>(present->size()) == x.rows(),
           "KnnGraph: present has " + std::to_string(present ? present->size() : 0) + " entries for " +
               std::to_string(x.rows()) + " rows");
  const std::vector<uint8_t> all(static_cast<size_t>(x.rows()), 1);
  const std::vector<uint8_t>& mask = present ? *present : all;
  return KnnGraph(x, k, mask, mask, weighted, threads);
}

SpMat KnnGraph(const RowMatrixXf& x, int k, const std::vector<uint8_t>& rows_mask,
               const std::vector<uint8_t>& candidates, bool weighted, int threads) {
  const int64_t n = x.rows();
  RF_CHECK(k >= 1, "KnnGraph: k must be >= 1");
  RF_CHECK(static_cast<int64_t>(rows_mask.size()) == n && static_cast<int64_t>(candidates.size()) == n,
           "KnnGraph: masks have " + std::to_string(rows_mask.size()) + " and " + std::to_string(candidates.size()) +
               " entries for " + std::to_string(n) + " rows");
  std::vector<int64_t> rows, cands;  // ascending: position order = index order (ties)
  for (int64_t i = 0; i < n; ++i) {
    if (rows_mask[static_cast<size_t>(i)]) rows.push_back(i);
    if (candidates[static_cast<size_t>(i)]) cands.push_back(i);
  }
  const int64_t nr = static_cast<int64_t>(rows.size()), nc = static_cast<int64_t>(cands.size());
  const auto unit = [&](const std::vector<int64_t>& ids) {
    RowMatrixXf m(static_cast<int64_t>(ids.size()), x.cols());
    for (size_t p = 0; p < ids.size(); ++p) {
      const float norm = x.row(ids[p]).norm();
      if (norm > 0)
        m.row(static_cast<int64_t>(p)) = x.row(ids[p]) / norm;
      else
        m.row(static_cast<int64_t>(p)).setZero();
    }
    return m;
  };
  const RowMatrixXf xr = unit(rows), xc = unit(cands);
  std::vector<std::vector<std::pair<int64_t, float>>> nbrs(static_cast<size_t>(nr));
  // Fixed blocks of 256 rows: the similarities (one GEMM per block) and hence the result do
  // not depend on the thread count; 256 x 20k floats is 20 MB per thread.
  constexpr int64_t kBlock = 256;
  framework::ParallelChunks(0, nr, kBlock, threads, [&](int64_t lo, int64_t hi, int) {
    const RowMatrixXf s = xr.middleRows(lo, hi - lo) * xc.transpose();
    std::vector<int64_t> cand;
    cand.reserve(static_cast<size_t>(nc));
    for (int64_t p = lo; p < hi; ++p) {
      const float* row = s.row(p - lo).data();
      cand.clear();
      for (int64_t q = 0; q < nc; ++q)
        if (cands[static_cast<size_t>(q)] != rows[static_cast<size_t>(p)]) cand.push_back(q);
      const int64_t kk = std::min<int64_t>(k, static_cast<int64_t>(cand.size()));
      if (kk == 0) continue;
      const auto better = [row](int64_t a, int64_t b) { return row[a] > row[b] || (row[a] == row[b] && a < b); };
      std::nth_element(cand.begin(), cand.begin() + (kk - 1), cand.end(), better);
      auto& mine = nbrs[static_cast<size_t>(p)];
      mine.reserve(static_cast<size_t>(kk));
      for (int64_t j = 0; j < kk; ++j) {
        const int64_t q = cand[static_cast<size_t>(j)];
        mine.emplace_back(cands[static_cast<size_t>(q)], weighted ? row[q] : 1.0f);
      }
      std::sort(mine.begin(), mine.end());
    }
  });
  std::vector<Triplet> t;
  for (int64_t p = 0; p < nr; ++p)
    for (const auto& [j, v] : nbrs[static_cast<size_t>(p)]) t.emplace_back(rows[static_cast<size_t>(p)], j, v);
  return FromTriplets(n, n, t);
}

SpMat SymNormalize(const SpMat& a) {
  RF_CHECK(a.rows() == a.cols(), "SymNormalize: matrix must be square");
  const Eigen::VectorXd s = InvSqrt(RowSums(a));
  SpMat out = a;
  out.makeCompressed();
  for (int64_t i = 0; i < out.outerSize(); ++i)
    for (SpMat::InnerIterator it(out, i); it; ++it)
      it.valueRef() = static_cast<float>(it.value() * s(i) * s(it.col()));
  return out;
}

SpMat RowNormalize(const SpMat& a) {
  const Eigen::VectorXd d = RowSums(a);
  SpMat out = a;
  out.makeCompressed();
  for (int64_t i = 0; i < out.outerSize(); ++i)
    for (SpMat::InnerIterator it(out, i); it; ++it)
      it.valueRef() = d(i) != 0 ? static_cast<float>(it.value() / d(i)) : 0.0f;
  return out;
}

SpMat Symmetrize(const SpMat& a) {
  RF_CHECK(a.rows() == a.cols(), "Symmetrize: matrix must be square");
  SpMat at = a.transpose();  // row-major copy of A^T
  at.makeCompressed();
  SpMat ac = a;
  ac.makeCompressed();
  std::vector<Triplet> t;
  t.reserve(static_cast<size_t>(2 * a.nonZeros()));
  for (int64_t i = 0; i < a.rows(); ++i) {
    SpMat::InnerIterator x(ac, i), y(at, i);
    while (x || y) {
      if (x && (!y || x.col() < y.col())) {
        t.emplace_back(i, x.col(), std::max(x.value(), 0.0f));
        ++x;
      } else if (y && (!x || y.col() < x.col())) {
        t.emplace_back(i, y.col(), std::max(y.value(), 0.0f));
        ++y;
      } else {
        t.emplace_back(i, x.col(), std::max(x.value(), y.value()));
        ++x;
        ++y;
      }
    }
  }
  return FromTriplets(a.rows(), a.cols(), t);
}

SpMat DegreeSensitivePrune(const SpMat& r, double dropout, framework::Rng& rng) {
  RF_CHECK(dropout >= 0 && dropout < 1, "DegreeSensitivePrune: dropout must be in [0, 1)");
  const int64_t nu = r.rows(), ni = r.cols();
  std::vector<double> du(static_cast<size_t>(nu), 0), di(static_cast<size_t>(ni), 0);
  struct Edge {
    int64_t u, i;
    float v;
  };
  std::vector<Edge> edges;
  edges.reserve(static_cast<size_t>(r.nonZeros()));
  for (int64_t u = 0; u < r.outerSize(); ++u)
    for (SpMat::InnerIterator it(r, u); it; ++it) {
      if (it.value() == 0) continue;
      edges.push_back({u, it.col(), it.value()});
      // The reference counts edges (binary adjacency) for the sampling weights.
      du[static_cast<size_t>(u)] += 1;
      di[static_cast<size_t>(it.col())] += 1;
    }
  const int64_t m = static_cast<int64_t>(static_cast<double>(edges.size()) * (1.0 - dropout));  // int() as the reference
  // Efraimidis-Spirakis: the m largest keys log(U) / w are a weighted sample without
  // replacement, as torch.multinomial(weights, m) in the reference.
  std::vector<std::pair<double, int64_t>> keys(edges.size());
  for (size_t e = 0; e < edges.size(); ++e) {
    const double w = 1.0 / std::sqrt(du[static_cast<size_t>(edges[e].u)] * di[static_cast<size_t>(edges[e].i)]);
    double uni = rng.Uniform();
    while (uni <= 0) uni = rng.Uniform();
    keys[e] = {std::log(uni) / w, static_cast<int64_t>(e)};
  }
  if (m < static_cast<int64_t>(keys.size()))
    std::nth_element(keys.begin(), keys.begin() + m, keys.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
  std::vector<Triplet> t;
  t.reserve(static_cast<size_t>(m));
  for (int64_t j = 0; j < m; ++j) {
    const Edge& e = edges[static_cast<size_t>(keys[static_cast<size_t>(j)].second)];
    t.emplace_back(e.u, e.i, e.v);
  }
  return FromTriplets(nu, ni, t);
}

std::vector<uint8_t> ColumnPresent(const SpMat& r) {
  std::vector<uint8_t> p(static_cast<size_t>(r.cols()), 0);
  for (int64_t k = 0; k < r.outerSize(); ++k)
    for (SpMat::InnerIterator it(r, k); it; ++it)
      if (it.value() != 0) p[static_cast<size_t>(it.col())] = 1;
  return p;
}

}  // namespace recfuse::models::graph
