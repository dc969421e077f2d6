// Small fake recommenders and data builders for the eval tests.
#pragma once

#include <atomic>
#include <cmath>
#include <string>
#include <vector>

#include "datasets/dataset.h"
#include "framework/rng.h"
#include "models/recommender.h"

namespace recfuse::eval::testing {

using datasets::Index;
using models::RowMatrixXf;

// Scores come from a fixed users x items matrix.
class MatrixModel : public models::Recommender {
 public:
  explicit MatrixModel(RowMatrixXf scores) : scores_(std::move(scores)) {}
  void Fit(const models::TrainData&, const models::FitContext&) override {}
  void ScoreBlock(std::span<const Index> users, Eigen::Ref<RowMatrixXf> out) const override {
    for (size_t r = 0; r < users.size(); ++r)
      out.row(static_cast<int64_t>(r)) = scores_.row(users[r]);
  }
  void Save(std::ostream&) const override {}
  void Load(std::istream&) override {}
  // Rating predictions for RMSE/MAE tests: a constant when set.
  bool PredictsRatings() const override { return rating_ >= 0; }
  float PredictRating(Index, Index) const override { return rating_; }
  void set_rating(float r) { rating_ = r; }

 private:
  RowMatrixXf scores_;
  float rating_ = -1;
};

// score(u, i) = <user_u, item_i> + bias_i. With expose_factors the evaluator may use its
// GEMM path; otherwise only ScoreBlock (computed one dot product at a time) is available.
class FactorModel : public models::Recommender {
 public:
  FactorModel(RowMatrixXf user, RowMatrixXf item, Eigen::VectorXf bias, bool expose_factors)
      : user_(std::move(user)),
        item_(std::move(item)),
        bias_(std::move(bias)),
        expose_(expose_factors) {}
  void Fit(const models::TrainData&, const models::FitContext&) override {}
  void ScoreBlock(std::span<const Index> users, Eigen::Ref<RowMatrixXf> out) const override {
    score_block_calls_.fetch_add(1);
    for (size_t r = 0; r < users.size(); ++r)
      for (int64_t i = 0; i < item_.rows(); ++i)
        out(static_cast<int64_t>(r), i) = user_.row(users[r]).dot(item_.row(i)) + bias_(i);
  }
  Factors GetFactors() const override {
    if (!expose_) return {};
    return {&user_, &item_, &bias_};
  }
  void Save(std::ostream&) const override {}
  void Load(std::istream&) override {}
  int score_block_calls() const { return score_block_calls_.load(); }

 private:
  RowMatrixXf user_, item_;
  Eigen::VectorXf bias_;
  bool expose_;
  mutable std::atomic<int> score_block_calls_{0};
};

// A dataset whose users are "u0".."u<n-1>" and items "i0".."i<m-1>", with interactions
// added by the caller through Add(). Ratings present.
inline datasets::Dataset MakeDataset(Index n_users, Index n_items) {
  datasets::Dataset d;
  d.name = "tiny";
  for (Index u = 0; u < n_users; ++u) d.users.GetOrAdd("u" + std::to_string(u));
  for (Index i = 0; i < n_items; ++i) d.items.GetOrAdd("i" + std::to_string(i));
  d.interactions.has_rating = true;
  d.Finalize();
  return d;
}

// Train matrix (users x items, 1 per distinct pair) from rows of the dataset.
inline models::SpMat TrainMatrix(const datasets::Dataset& d, const std::vector<int64_t>& rows) {
  std::vector<Eigen::Triplet<float, int64_t>> t;
  for (int64_t r : rows) t.emplace_back(d.interactions.user[r], d.interactions.item[r], 1.0f);
  models::SpMat m(d.num_users(), d.num_items());
  m.setFromTriplets(t.begin(), t.end(), [](float a, float) { return a; });
  m.makeCompressed();
  return m;
}

// Random dataset: each user gets `train_per_user` distinct train items and `test_per_user`
// distinct test items (disjoint), except every 7th user who gets no test item.
struct RandomSetup {
  datasets::Dataset data;
  std::vector<int64_t> train_rows, test_rows, valid_rows;
  models::SpMat train;
};
inline RandomSetup MakeRandomSetup(Index n_users, Index n_items, int train_per_user,
                                   int test_per_user, uint64_t seed) {
  RandomSetup s;
  s.data = MakeDataset(n_users, n_items);
  framework::Rng rng(seed);
  std::vector<Index> perm(static_cast<size_t>(n_items));
  for (Index u = 0; u < n_users; ++u) {
    for (Index i = 0; i < n_items; ++i) perm[i] = i;
    rng.Shuffle(perm);
    int p = 0;
    for (int j = 0; j < train_per_user; ++j, ++p) {
      s.train_rows.push_back(static_cast<int64_t>(s.data.interactions.size()));
      s.data.interactions.Add(u, perm[p], 4.0f);
    }
    // One validation item per user, masked when testing.
    s.valid_rows.push_back(static_cast<int64_t>(s.data.interactions.size()));
    s.data.interactions.Add(u, perm[p++], 3.0f);
    if (u % 7 == 3) continue;
    for (int j = 0; j < test_per_user; ++j, ++p) {
      s.test_rows.push_back(static_cast<int64_t>(s.data.interactions.size()));
      s.data.interactions.Add(u, perm[p], 5.0f);
    }
  }
  s.train = TrainMatrix(s.data, s.train_rows);
  return s;
}

// Integer-valued scores in [0, levels): many exact ties.
inline RowMatrixXf TiedScores(Index n_users, Index n_items, int levels, uint64_t seed) {
  framework::Rng rng(seed);
  RowMatrixXf m(n_users, n_items);
  for (Index u = 0; u < n_users; ++u)
    for (Index i = 0; i < n_items; ++i) m(u, i) = static_cast<float>(rng.UniformInt(levels));
  return m;
}

// Integer-valued factors: every dot product is exact in float, so any summation order
// gives the same score.
inline RowMatrixXf IntMatrix(int64_t rows, int64_t cols, int lo, int hi, uint64_t seed) {
  framework::Rng rng(seed);
  RowMatrixXf m(rows, cols);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      m(r, c) = static_cast<float>(lo + static_cast<int>(rng.UniformInt(hi - lo + 1)));
  return m;
}

}  // namespace recfuse::eval::testing
