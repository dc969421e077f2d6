// Tiny synthetic data sets shared by the classic-model tests.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "datasets/dataset.h"
#include "framework/rng.h"
#include "models/recommender.h"

namespace recfuse::models::testdata {

// A dataset from explicit (user, item, rating) rows; ids are the numbers themselves
// (tokens "u<k>" / "i<k>" are added in id order so that id k is token k).
inline datasets::Dataset FromRows(int num_users, int num_items,
                                  const std::vector<std::tuple<int, int, float>>& rows,
                                  bool with_rating = true) {
  datasets::Dataset d;
  d.name = "tiny";
  for (int u = 0; u < num_users; ++u) d.users.GetOrAdd("u" + std::to_string(u));
  for (int i = 0; i < num_items; ++i) d.items.GetOrAdd("i" + std::to_string(i));
  d.interactions.has_rating = with_rating;
  for (const auto& [u, i, r] : rows) d.interactions.Add(u, i, r);
  d.Finalize();
  return d;
}

inline std::vector<int64_t> AllRows(const datasets::Dataset& d) {
  std::vector<int64_t> rows(d.interactions.size());
  for (size_t r = 0; r < rows.size(); ++r) rows[r] = static_cast<int64_t>(r);
  return rows;
}

// Four taste clusters: user u (u < 60) belongs to cluster u % 4, item i to cluster i / 10.
// A user interacts with an in-cluster item with probability 0.7 (rating 4 or 5) and an
// out-of-cluster item with probability 0.05 (rating 1 or 2): ~550 rows. A model that has
// learnt the clusters ranks a held-out in-cluster item above the ~30 out-of-cluster
// candidates (AUC around 0.9); one that has not gets about 0.5.
// One in-cluster interaction per user is held out for the ranking check. User 60 has no
// interaction at all (a cold user in the id space).
struct Clusters {
  datasets::Dataset data;
  std::vector<int64_t> train_rows;
  std::vector<std::pair<Index, Index>> held_out;  // (user, item)
  static constexpr int kUsers = 61, kItems = 40;
  static constexpr Index kColdUser = 60;
};

inline Clusters MakeClusters(uint64_t seed = 7) {
  framework::Rng rng(seed);
  std::vector<std::tuple<int, int, float>> rows;
  std::vector<int> held_row;
  for (int u = 0; u < 60; ++u) {
    std::vector<int> in_cluster_rows;
    for (int i = 0; i < Clusters::kItems; ++i) {
      const bool same = i / 10 == u % 4;
      if (rng.Uniform() < (same ? 0.7 : 0.05)) {
        if (same) in_cluster_rows.push_back(static_cast<int>(rows.size()));
        const float rating = same ? 4.0f + static_cast<float>(rng.UniformInt(2))
                                  : 1.0f + static_cast<float>(rng.UniformInt(2));
        rows.emplace_back(u, i, rating);
      }
    }
    if (in_cluster_rows.size() >= 2)
      held_row.push_back(in_cluster_rows[rng.UniformInt(in_cluster_rows.size())]);
  }
  Clusters c;
  c.data = FromRows(Clusters::kUsers, Clusters::kItems, rows);
  for (int r = 0; r < static_cast<int>(rows.size()); ++r) {
    if (std::find(held_row.begin(), held_row.end(), r) != held_row.end())
      c.held_out.emplace_back(std::get<0>(rows[r]), std::get<1>(rows[r]));
    else
      c.train_rows.push_back(r);
  }
  return c;
}

// Mean over held-out pairs of the fraction of the user's candidate items (not in train,
// not the held-out item) scored below the held-out item, ties counting one half.
inline double HeldOutAuc(const Clusters& c, const TrainData& train, const RowMatrixXf& scores) {
  double sum = 0;
  for (const auto& [u, h] : c.held_out) {
    double below = 0;
    int candidates = 0;
    for (Index i = 0; i < train.num_items; ++i) {
      if (i == h || train.matrix.coeff(u, i) != 0) continue;
      ++candidates;
      if (scores(u, i) < scores(u, h))
        below += 1;
      else if (scores(u, i) == scores(u, h))
        below += 0.5;
    }
    sum += below / candidates;
  }
  return sum / static_cast<double>(c.held_out.size());
}

}  // namespace recfuse::models::testdata
