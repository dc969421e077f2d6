#include "eval/evaluator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <string>

#include "eval/topk.h"
#include "framework/error.h"
#include "framework/io.h"
#include "framework/sysinfo.h"

namespace recfuse::eval {

std::string MetricKey(const std::string& metric, int k) {
  return k > 0 ? metric + "@" + std::to_string(k) : metric;
}

namespace {

std::vector<int> CheckedKs(const std::vector<int>& ks) {
  if (ks.empty()) throw framework::ConfigError("at least one K is needed");
  for (int k : ks)
    if (k <= 0) throw framework::ConfigError("K must be > 0 (got " + std::to_string(k) + ")");
  std::vector<int> out(ks);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<const MetricDef*> CheckedMetrics(const std::vector<std::string>& names) {
  if (names.empty()) throw framework::ConfigError("no metric requested");
  std::vector<const MetricDef*> out;
  for (const auto& name : names) {
    const MetricDef* def = &FindMetric(name);
    if (std::find(out.begin(), out.end(), def) == out.end()) out.push_back(def);
  }
  return out;
}

bool Requested(const std::vector<const MetricDef*>& defs, const std::string& name) {
  for (const auto* d : defs)
    if (d->name == name) return true;
  return false;
}

// Mean over the defined (non-NaN) values; *undefined counts the others.
double MeanDefined(const std::vector<double>& v, int64_t* undefined) {
  double sum = 0;
  int64_t n = 0;
  for (double x : v) {
    if (std::isnan(x)) continue;
    sum += x;
    ++n;
  }
  *undefined = static_cast<int64_t>(v.size()) - n;
  return n > 0 ? sum / static_cast<double>(n) : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace

EvalResult Evaluate(const models::Recommender& model, const EvalTarget& target,
                    const EvalOptions& opt) {
  const framework::Stopwatch watch;
  EvalResult res;
  res.ks = CheckedKs(opt.ks);
  const std::vector<const MetricDef*> defs = CheckedMetrics(opt.metrics);
  if (opt.block_size <= 0) throw framework::ConfigError("block_size must be > 0");
  if (opt.sampled_negatives < 0) throw framework::ConfigError("sampled_negatives must be >= 0");
  if (target.data == nullptr) throw framework::Error("evaluation target has no dataset");
  if (target.train == nullptr) throw framework::Error("evaluation target has no train matrix");
  if (target.test_rows.empty()) throw framework::Error("empty test set");
  const datasets::Dataset& data = *target.data;
  const Index n_users = data.num_users(), n_items = data.num_items();
  if (target.train->rows() != n_users || target.train->cols() != n_items)
    throw framework::Error("train matrix is " + std::to_string(target.train->rows()) + " x " +
                           std::to_string(target.train->cols()) + ", expected users x items = " +
                           std::to_string(n_users) + " x " + std::to_string(n_items));
  const bool want_rating = Requested(defs, "rmse") || Requested(defs, "mae");
  if (want_rating && !data.interactions.has_rating)
    throw framework::ConfigError("rmse/mae need ratings, and dataset '" + data.name +
                                 "' has no rating column");

  const UserItems test = GroupRowsByUser(data.interactions, target.test_rows, n_users, n_items,
                                         &res.duplicate_test_pairs);
  const UserItems exclude =
      GroupRowsByUser(data.interactions, target.exclude_rows, n_users, n_items);
  for (Index u = 0; u < n_users; ++u)
    if (!test.Row(u).empty()) res.users.push_back(u);
  res.users_without_test = n_users - static_cast<int64_t>(res.users.size());
  res.num_test_pairs = static_cast<int64_t>(test.items.size());
  res.masked_test_pairs = CountMaskedPairs(test, exclude, *target.train);
  if (res.duplicate_test_pairs > 0)
    res.notes.push_back(std::to_string(res.duplicate_test_pairs) +
                        " repeated (user, item) test rows were counted once");
  if (res.masked_test_pairs > 0)
    res.notes.push_back(std::to_string(res.masked_test_pairs) +
                        " test pairs are also train/excluded items: masked, they count in |T| "
                        "but can never be hit");

  TopKInput in;
  in.model = &model;
  in.num_users = n_users;
  in.num_items = n_items;
  in.users = res.users;
  in.train = target.train;
  in.exclude = &exclude;
  in.positives = &test;
  in.user_tokens = &data.users;
  TopKOptions topt;
  topt.k = res.ks.back();
  topt.threads = opt.threads;
  topt.block_size = opt.block_size;
  topt.sampled_negatives = opt.sampled_negatives;
  topt.seed = opt.seed;
  topt.compute_auc = Requested(defs, "auc");
  TopKOutput ranked = RankUsers(in, topt);
  res.topk = std::move(ranked.lists);
  if (ranked.users_short_of_negatives > 0)
    res.notes.push_back(std::to_string(ranked.users_short_of_negatives) + " users had fewer than " +
                        std::to_string(opt.sampled_negatives) +
                        " unmasked negatives; all of theirs were used");

  // Hit patterns against the full-length lists; metrics at smaller K read a prefix.
  const size_t n_eval = res.users.size();
  std::vector<std::vector<uint8_t>> hits(n_eval);
  for (size_t x = 0; x < n_eval; ++x) {
    const auto t = test.Row(res.users[x]);
    hits[x].resize(res.topk[x].size());
    for (size_t r = 0; r < res.topk[x].size(); ++r)
      hits[x][r] = std::binary_search(t.begin(), t.end(), res.topk[x][r]) ? 1 : 0;
  }

  ItemStats stats;
  if (Requested(defs, "tailpercentage") || Requested(defs, "novelty"))
    stats = ComputeItemStats(*target.train);

  auto add_mean = [&](const std::string& name, int k, std::vector<double> values) {
    int64_t undefined = 0;
    const double mean = MeanDefined(values, &undefined);
    const std::string key = MetricKey(name, k);
    if (undefined > 0)
      res.notes.push_back(key + ": " + std::to_string(undefined) +
                          " users with an undefined value left out of the mean");
    res.metrics.push_back({name, k, mean});
    res.per_user[key] = std::move(values);
  };

  for (const MetricDef* def : defs) {
    switch (def->scope) {
      case MetricScope::kUserAtK:
        for (int k : res.ks) {
          std::vector<double> v(n_eval);
          for (size_t x = 0; x < n_eval; ++x)
            v[x] = UserMetricAt(def->name, hits[x], k,
                                static_cast<int64_t>(test.Row(res.users[x]).size()));
          add_mean(def->name, k, std::move(v));
        }
        break;
      case MetricScope::kUserListAtK:
        for (int k : res.ks) {
          std::vector<double> v(n_eval);
          for (size_t x = 0; x < n_eval; ++x)
            v[x] = def->name == "novelty" ? NoveltyAt(res.topk[x], k, stats)
                                          : TailShareAt(res.topk[x], k, stats);
          add_mean(def->name, k, std::move(v));
        }
        break;
      case MetricScope::kGlobalAtK:
        for (int k : res.ks) {
          const double v = def->name == "gini" ? GiniAt(res.topk, k, n_items)
                                               : ItemCoverageAt(res.topk, k, n_items);
          res.metrics.push_back({def->name, k, v});
        }
        break;
      case MetricScope::kUserFullRow:
        add_mean(def->name, 0, ranked.auc);
        break;
      case MetricScope::kRating:
        break;  // below, once for both
    }
  }

  if (want_rating) {
    if (!model.PredictsRatings()) {
      res.notes.push_back("rmse/mae skipped: the model does not predict ratings");
    } else {
      // PredictRating is not promised thread-safe; 10^5 calls are cheap serially, and a
      // fixed summation order keeps the result exact across runs.
      double sq = 0, abs_sum = 0;
      for (int64_t r : target.test_rows) {
        const double pred =
            model.PredictRating(data.interactions.user[r], data.interactions.item[r]);
        if (std::isnan(pred))
          throw framework::Error("model predicted a NaN rating for user " +
                                 std::to_string(data.interactions.user[r]) + ", item " +
                                 std::to_string(data.interactions.item[r]));
        const double err = pred - static_cast<double>(data.interactions.rating[r]);
        sq += err * err;
        abs_sum += std::abs(err);
      }
      const double n = static_cast<double>(target.test_rows.size());
      for (const MetricDef* def : defs) {
        if (def->name == "rmse") res.metrics.push_back({"rmse", 0, std::sqrt(sq / n)});
        if (def->name == "mae") res.metrics.push_back({"mae", 0, abs_sum / n});
      }
    }
  }
  res.seconds = watch.Seconds();
  return res;
}

namespace {

void CheckToken(const std::string& token, const char* kind) {
  if (token.empty() || token.find_first_of(" \t\r\n") != std::string::npos)
    throw framework::Error(std::string(kind) + " token '" + token +
                           "' is empty or contains whitespace; it cannot be written to the "
                           "evidence files unambiguously");
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

void WriteEvidence(const std::string& dir, const std::string& model_name, const EvalTarget& target,
                   const EvalResult& result) {
  RF_CHECK(target.data != nullptr, "evaluation target has no dataset");
  RF_CHECK(result.topk.size() == result.users.size(), "result lists do not match its users");
  const datasets::Dataset& data = *target.data;
  const UserItems test =
      GroupRowsByUser(data.interactions, target.test_rows, data.num_users(), data.num_items());
  framework::MakeDirs(dir);

  std::string test_tsv, topk_tsv;
  for (size_t x = 0; x < result.users.size(); ++x) {
    const Index u = result.users[x];
    const std::string& ut = data.users.Token(u);
    CheckToken(ut, "user");
    for (Index i : test.Row(u)) {
      CheckToken(data.items.Token(i), "item");
      test_tsv += ut + "\t" + data.items.Token(i) + "\n";
    }
    topk_tsv += ut + "\t";
    for (size_t r = 0; r < result.topk[x].size(); ++r) {
      const std::string& it = data.items.Token(result.topk[x][r]);
      CheckToken(it, "item");
      if (r > 0) topk_tsv += ' ';
      topk_tsv += it;
    }
    topk_tsv += "\n";
  }
  std::string csv = "model,metric,k,value\n";
  const std::string model_field = CsvField(model_name);
  char buf[64];
  for (const auto& m : result.metrics) {
    std::snprintf(buf, sizeof buf, "%.17g", m.value);
    csv += model_field + "," + m.metric + "," + std::to_string(m.k) + "," + buf + "\n";
  }
  framework::WriteFileAtomic(dir + "/test.tsv", test_tsv);
  framework::WriteFileAtomic(dir + "/topk.tsv", topk_tsv);
  framework::WriteFileAtomic(dir + "/metrics.csv", csv);
}

}  // namespace recfuse::eval
