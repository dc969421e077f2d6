#include "encoders/pretrained_probe.h"

#include <Eigen/Dense>
#include <algorithm>
#include <numeric>

#include "framework/error.h"

namespace recfuse::encoders {
namespace {

double Jaccard(std::vector<datasets::Index> a, std::vector<datasets::Index> b) {
  std::sort(a.begin(), a.end());
  a.erase(std::unique(a.begin(), a.end()), a.end());
  std::sort(b.begin(), b.end());
  b.erase(std::unique(b.begin(), b.end()), b.end());
  std::vector<datasets::Index> both;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(both));
  const size_t uni = a.size() + b.size() - both.size();
  return uni == 0 ? 0.0 : static_cast<double>(both.size()) / static_cast<double>(uni);
}

}  // namespace

LabelOverlap KnnLabelOverlap(const FeatureMatrix& x, const std::vector<uint8_t>& present,
                             const std::vector<std::vector<datasets::Index>>& labels, int k) {
  RF_CHECK(present.size() == static_cast<size_t>(x.rows()) && labels.size() == present.size(),
           "KnnLabelOverlap: features, mask and labels disagree in item count");
  std::vector<int64_t> use;
  for (int64_t i = 0; i < x.rows(); ++i)
    if (present[static_cast<size_t>(i)] && !labels[static_cast<size_t>(i)].empty()) use.push_back(i);
  const int64_t n = static_cast<int64_t>(use.size());
  if (k < 1 || k >= n)
    throw framework::ConfigError("kNN label overlap: k = " + std::to_string(k) + " needs 1 <= k < " +
                                 std::to_string(n) + " usable items");
  Eigen::MatrixXd z(n, x.cols());
  for (int64_t r = 0; r < n; ++r) z.row(r) = x.row(use[static_cast<size_t>(r)]).cast<double>();
  z.rowwise() -= z.colwise().mean();
  for (int64_t r = 0; r < n; ++r) {
    const double norm = z.row(r).norm();
    if (norm > 0) z.row(r) /= norm;
  }
  const Eigen::MatrixXd sim = z * z.transpose();
  LabelOverlap out;
  out.items = n;
  std::vector<int64_t> order(static_cast<size_t>(n));
  double knn = 0, all = 0;
  for (int64_t r = 0; r < n; ++r) {
    order.resize(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    order.erase(order.begin() + r);
    std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int64_t a, int64_t b) {
      return sim(r, a) != sim(r, b) ? sim(r, a) > sim(r, b) : a < b;
    });
    const auto& mine = labels[static_cast<size_t>(use[static_cast<size_t>(r)])];
    double s = 0;
    for (int j = 0; j < k; ++j) s += Jaccard(mine, labels[static_cast<size_t>(use[static_cast<size_t>(order[j])])]);
    knn += s / k;
    for (int64_t c = r + 1; c < n; ++c) all += Jaccard(mine, labels[static_cast<size_t>(use[static_cast<size_t>(c)])]);
  }
  out.knn = knn / static_cast<double>(n);
  out.random = all / (static_cast<double>(n) * static_cast<double>(n - 1) / 2.0);
  return out;
}

}  // namespace recfuse::encoders
