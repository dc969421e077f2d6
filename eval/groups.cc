#include "eval/groups.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "eval/metrics.h"
#include "eval/topk.h"
#include "framework/error.h"

namespace recfuse::eval {

std::vector<int64_t> UserTrainCounts(const models::SpMat& train) {
  std::vector<int64_t> c(static_cast<size_t>(train.rows()), 0);
  for (int64_t u = 0; u < train.outerSize(); ++u)
    for (models::SpMat::InnerIterator it(train, u); it; ++it) ++c[static_cast<size_t>(u)];
  return c;
}

std::vector<int64_t> ItemTrainCounts(const models::SpMat& train) {
  std::vector<int64_t> c(static_cast<size_t>(train.cols()), 0);
  for (int64_t u = 0; u < train.outerSize(); ++u)
    for (models::SpMat::InnerIterator it(train, u); it; ++it) ++c[static_cast<size_t>(it.col())];
  return c;
}

std::vector<GroupRow> SummarizeUserGroups(const EvalResult& result, const std::string& kind,
                                          const std::vector<int>& group_of,
                                          const std::vector<std::string>& names) {
  RF_CHECK(group_of.size() == result.users.size(), "one group per evaluated user is needed");
  std::vector<GroupRow> rows;
  for (const auto& m : result.metrics) {
    const auto it = result.per_user.find(MetricKey(m.metric, m.k));
    if (it == result.per_user.end()) continue;  // a global metric: no per-user values
    const std::vector<double>& v = it->second;
    std::vector<double> sum(names.size(), 0.0);
    std::vector<int64_t> n(names.size(), 0);
    for (size_t x = 0; x < v.size(); ++x) {
      const int g = group_of[x];
      RF_CHECK(g >= 0 && static_cast<size_t>(g) < names.size(), "group index out of range");
      if (std::isnan(v[x])) continue;
      sum[g] += v[x];
      ++n[g];
    }
    for (size_t g = 0; g < names.size(); ++g)
      rows.push_back(
          {kind, names[g], m.metric, m.k,
           n[g] > 0 ? sum[g] / static_cast<double>(n[g]) : std::numeric_limits<double>::quiet_NaN(),
           n[g]});
  }
  return rows;
}

std::vector<GroupRow> GroupByUserActivity(const EvalResult& result, const models::SpMat& train,
                                          int buckets) {
  if (buckets < 1) throw framework::ConfigError("activity buckets must be >= 1");
  const std::vector<int64_t> all = UserTrainCounts(train);
  const size_t n = result.users.size();
  std::vector<int64_t> count(n);
  for (size_t x = 0; x < n; ++x) count[x] = all[static_cast<size_t>(result.users[x])];
  std::vector<int64_t> sorted(count);
  std::sort(sorted.begin(), sorted.end());
  // Upper edges of the non-empty buckets.
  std::vector<int64_t> edges;
  for (int b = 1; b <= buckets && n > 0; ++b) {
    const size_t pos = (static_cast<size_t>(b) * n + static_cast<size_t>(buckets) - 1) /
                           static_cast<size_t>(buckets) -
                       1;
    if (edges.empty() || sorted[pos] > edges.back()) edges.push_back(sorted[pos]);
  }
  std::vector<int> group_of(n);
  std::vector<int64_t> lo(edges.size(), std::numeric_limits<int64_t>::max());
  for (size_t x = 0; x < n; ++x) {
    const int g =
        static_cast<int>(std::lower_bound(edges.begin(), edges.end(), count[x]) - edges.begin());
    group_of[x] = g;
    lo[g] = std::min(lo[g], count[x]);
  }
  std::vector<std::string> names;
  for (size_t g = 0; g < edges.size(); ++g)
    names.push_back("q" + std::to_string(g + 1) + ":[" + std::to_string(lo[g]) + "," +
                    std::to_string(edges[g]) + "]");
  return SummarizeUserGroups(result, "user_activity", group_of, names);
}

std::vector<GroupRow> GroupByUserColdness(const EvalResult& result, const models::SpMat& train,
                                          int64_t cold_max) {
  const std::vector<int64_t> all = UserTrainCounts(train);
  std::vector<int> group_of(result.users.size());
  for (size_t x = 0; x < result.users.size(); ++x)
    group_of[x] = all[static_cast<size_t>(result.users[x])] <= cold_max ? 0 : 1;
  return SummarizeUserGroups(result, "user_coldness", group_of, {"cold", "warm"});
}

std::vector<uint8_t> ItemPopularityGroups(const models::SpMat& train, double head_share,
                                          double tail_share) {
  if (!(head_share >= 0 && tail_share >= 0 && head_share + tail_share <= 1))
    throw framework::ConfigError("head_share and tail_share must be >= 0 with a sum <= 1");
  const std::vector<int64_t> pop = ItemTrainCounts(train);
  const size_t n = pop.size();
  std::vector<Index> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](Index a, Index b) { return pop[a] != pop[b] ? pop[a] > pop[b] : a < b; });
  const size_t head = static_cast<size_t>(std::ceil(head_share * static_cast<double>(n)));
  const size_t tail = static_cast<size_t>(std::floor(tail_share * static_cast<double>(n)));
  std::vector<uint8_t> group(n, 1);
  for (size_t r = 0; r < n; ++r) {
    if (r < head)
      group[order[r]] = 0;
    else if (r >= n - tail)
      group[order[r]] = 2;
  }
  return group;
}

namespace {

std::vector<int64_t> RowsInSet(const EvalTarget& target, const std::vector<uint8_t>& item_mask) {
  RF_CHECK(target.data != nullptr, "evaluation target has no dataset");
  if (item_mask.size() != static_cast<size_t>(target.data->num_items()))
    throw framework::Error("item mask has " + std::to_string(item_mask.size()) +
                           " entries, expected one per item (" +
                           std::to_string(target.data->num_items()) + ")");
  std::vector<int64_t> rows;
  const auto& items = target.data->interactions.item;
  for (int64_t r : target.test_rows) {
    if (r < 0 || r >= static_cast<int64_t>(items.size()))
      throw framework::Error("test row " + std::to_string(r) + " is out of range");
    if (item_mask[static_cast<size_t>(items[r])]) rows.push_back(r);
  }
  return rows;
}

}  // namespace

EvalResult GroupByItemSet(const models::Recommender& model, const EvalTarget& target,
                          const EvalOptions& opt, const std::vector<uint8_t>& item_mask) {
  EvalTarget sub = target;
  sub.test_rows = RowsInSet(target, item_mask);
  return Evaluate(model, sub, opt);
}

EvalResult RestrictToItemSet(const EvalTarget& target, const EvalResult& full,
                             const EvalOptions& opt, const std::vector<uint8_t>& item_mask) {
  if (opt.sampled_negatives > 0)
    throw framework::Error(
        "sampled candidate lists depend on the test items; use GroupByItemSet to restrict them");
  const std::vector<int64_t> rows = RowsInSet(target, item_mask);
  if (rows.empty()) throw framework::Error("empty test set");
  const datasets::Dataset& data = *target.data;
  EvalResult res;
  res.ks = full.ks;
  const UserItems test = GroupRowsByUser(data.interactions, rows, data.num_users(),
                                         data.num_items(), &res.duplicate_test_pairs);
  res.num_test_pairs = static_cast<int64_t>(test.items.size());
  if (target.train != nullptr)
    res.masked_test_pairs = CountMaskedPairs(
        test,
        GroupRowsByUser(data.interactions, target.exclude_rows, data.num_users(), data.num_items()),
        *target.train);
  std::vector<size_t> source;  // index into full.users
  for (size_t x = 0; x < full.users.size(); ++x) {
    if (test.Row(full.users[x]).empty()) continue;
    res.users.push_back(full.users[x]);
    res.topk.push_back(full.topk[x]);
    source.push_back(x);
  }
  int64_t with_test = 0;
  for (Index u = 0; u < data.num_users(); ++u) with_test += !test.Row(u).empty();
  if (with_test != static_cast<int64_t>(res.users.size()))
    throw framework::Error(
        "RestrictToItemSet: the full result lacks users of the target's test "
        "set; was it computed on this target?");
  res.users_without_test = data.num_users() - static_cast<int64_t>(res.users.size());

  std::vector<std::string> names;
  for (const auto& name : opt.metrics) {
    const MetricDef& def = FindMetric(name);
    if (def.scope != MetricScope::kUserAtK) continue;
    if (std::find(names.begin(), names.end(), def.name) == names.end()) names.push_back(def.name);
  }
  std::vector<uint8_t> hits;
  for (const auto& name : names) {
    for (int k : res.ks) {
      std::vector<double> v(res.users.size());
      double sum = 0;
      for (size_t x = 0; x < res.users.size(); ++x) {
        const auto t = test.Row(res.users[x]);
        const auto& list = res.topk[x];
        hits.resize(list.size());
        for (size_t r = 0; r < list.size(); ++r)
          hits[r] = std::binary_search(t.begin(), t.end(), list[r]) ? 1 : 0;
        v[x] = UserMetricAt(name, hits, k, static_cast<int64_t>(t.size()));
        sum += v[x];
      }
      res.metrics.push_back({name, k, sum / static_cast<double>(res.users.size())});
      res.per_user[MetricKey(name, k)] = std::move(v);
    }
  }
  res.notes.push_back(
      "restricted to an item set from stored top-K lists; only ranking metrics at "
      "K are recomputed");
  return res;
}

namespace {

std::vector<GroupRow> ItemGroupRows(const models::Recommender& model, const EvalTarget& target,
                                    const EvalOptions& opt, const EvalResult& full,
                                    const std::string& kind, const std::vector<uint8_t>& group,
                                    const std::vector<std::string>& names) {
  std::vector<GroupRow> rows;
  for (size_t g = 0; g < names.size(); ++g) {
    std::vector<uint8_t> mask(group.size());
    for (size_t i = 0; i < group.size(); ++i) mask[i] = group[i] == g;
    if (RowsInSet(target, mask).empty()) {
      // No test pair in this group: say so with NaN rows rather than dropping the group.
      for (const auto& name : opt.metrics) {
        const MetricDef& def = FindMetric(name);
        if (def.scope != MetricScope::kUserAtK) continue;
        for (int k : full.ks)
          rows.push_back(
              {kind, names[g], def.name, k, std::numeric_limits<double>::quiet_NaN(), 0});
      }
      continue;
    }
    const EvalResult sub = opt.sampled_negatives > 0 ? GroupByItemSet(model, target, opt, mask)
                                                     : RestrictToItemSet(target, full, opt, mask);
    std::vector<int> all_in_one(sub.users.size(), 0);
    for (auto& row : SummarizeUserGroups(sub, kind, all_in_one, {names[g]})) {
      // Item groups report only the ranking metrics (the others do not depend on T).
      if (FindMetric(row.metric).scope == MetricScope::kUserAtK) rows.push_back(std::move(row));
    }
  }
  return rows;
}

}  // namespace

std::vector<GroupRow> GroupByItemPopularity(const models::Recommender& model,
                                            const EvalTarget& target, const EvalOptions& opt,
                                            const EvalResult& full, double head_share,
                                            double tail_share) {
  RF_CHECK(target.train != nullptr, "evaluation target has no train matrix");
  return ItemGroupRows(model, target, opt, full, "item_popularity",
                       ItemPopularityGroups(*target.train, head_share, tail_share),
                       {"head", "mid", "tail"});
}

std::vector<GroupRow> GroupByItemColdness(const models::Recommender& model,
                                          const EvalTarget& target, const EvalOptions& opt,
                                          const EvalResult& full, int64_t cold_max) {
  RF_CHECK(target.train != nullptr, "evaluation target has no train matrix");
  const std::vector<int64_t> pop = ItemTrainCounts(*target.train);
  std::vector<uint8_t> group(pop.size());
  for (size_t i = 0; i < pop.size(); ++i) group[i] = pop[i] <= cold_max ? 0 : 1;
  return ItemGroupRows(model, target, opt, full, "item_coldness", group, {"cold", "warm"});
}

std::vector<GroupRow> AnalyzeGroups(const models::Recommender& model, const EvalTarget& target,
                                    const EvalOptions& opt, const EvalResult& full,
                                    const GroupOptions& group_opt) {
  RF_CHECK(target.train != nullptr, "evaluation target has no train matrix");
  std::vector<GroupRow> rows = GroupByUserActivity(full, *target.train, group_opt.activity_buckets);
  auto append = [&](std::vector<GroupRow> more) {
    rows.insert(rows.end(), std::make_move_iterator(more.begin()),
                std::make_move_iterator(more.end()));
  };
  append(GroupByUserColdness(full, *target.train, group_opt.cold_user_max_train));
  append(
      GroupByItemPopularity(model, target, opt, full, group_opt.head_share, group_opt.tail_share));
  append(GroupByItemColdness(model, target, opt, full, group_opt.cold_item_max_train));
  return rows;
}

}  // namespace recfuse::eval
