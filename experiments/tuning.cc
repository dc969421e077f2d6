#include "experiments/tuning.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <set>

#include "framework/error.h"
#include "framework/rng.h"

namespace recfuse::experiments {

using framework::ConfigError;
using framework::ParamType;

namespace {

std::string FormatValue(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// Validates one value of param against its spec, as the model would when built.
void CheckValue(const framework::ParamSpec& spec, const std::string& value, const std::string& where) {
  framework::Config c;
  c.Set(spec.name, value, where);
  c.Validate({spec}, "search space");
}

}  // namespace

std::string SearchDim::ToString() const {
  switch (kind) {
    case Kind::kList: {
      std::string s;
      const bool semi = std::any_of(values.begin(), values.end(),
                                    [](const std::string& v) { return v.find(',') != std::string::npos; });
      for (const auto& v : values) s += (s.empty() ? "" : semi ? "; " : ", ") + v;
      return s;
    }
    case Kind::kUniform: return "uniform(" + FormatValue(lo) + ", " + FormatValue(hi) + ")";
    case Kind::kLogUniform: return "loguniform(" + FormatValue(lo) + ", " + FormatValue(hi) + ")";
    case Kind::kInt: return "int(" + FormatValue(lo) + ", " + FormatValue(hi) + ")";
  }
  return "";
}

SearchDim ParseSearchDim(const std::string& param, const std::string& text, const framework::ParamSpec& spec,
                         const std::string& where) {
  SearchDim d;
  d.param = param;
  const std::string t = framework::Trim(text);
  const std::string ctx = "search." + param + " = " + t + " (from " + where + ")";
  const size_t open = t.find('(');
  const std::string fn = open == std::string::npos ? "" : framework::Trim(t.substr(0, open));
  if (fn == "uniform" || fn == "loguniform" || fn == "int") {
    if (t.back() != ')') throw ConfigError(ctx + ": expected " + fn + "(low, high)");
    const auto args = framework::Split(t.substr(open + 1, t.size() - open - 2), ',');
    if (args.size() != 2 || !framework::ParseDouble(framework::Trim(args[0]), &d.lo) ||
        !framework::ParseDouble(framework::Trim(args[1]), &d.hi) || !std::isfinite(d.lo) || !std::isfinite(d.hi))
      throw ConfigError(ctx + ": expected " + fn + "(low, high) with two finite numbers");
    if (!(d.lo < d.hi)) throw ConfigError(ctx + ": low must be below high");
    d.kind = fn == "uniform" ? SearchDim::Kind::kUniform
             : fn == "loguniform" ? SearchDim::Kind::kLogUniform
                                  : SearchDim::Kind::kInt;
    if (d.kind == SearchDim::Kind::kLogUniform && d.lo <= 0)
      throw ConfigError(ctx + ": loguniform needs low > 0");
    if (d.kind == SearchDim::Kind::kInt) {
      if (spec.type != ParamType::kInt) throw ConfigError(ctx + ": int() needs an integer parameter, " + param + " is " + framework::ParamTypeName(spec.type));
      if (d.lo != std::floor(d.lo) || d.hi != std::floor(d.hi)) throw ConfigError(ctx + ": int() bounds must be integers");
    } else if (spec.type != ParamType::kFloat) {
      throw ConfigError(ctx + ": " + fn + "() needs a float parameter, " + param + " is " +
                        framework::ParamTypeName(spec.type) + " (use a list, or int(low, high))");
    }
    CheckValue(spec, FormatValue(d.lo), where);
    CheckValue(spec, FormatValue(d.hi), where);
    return d;
  }
  if (!fn.empty()) throw ConfigError(ctx + ": unknown range '" + fn + "' (uniform, loguniform, int, or a list)");
  // List-typed parameters hold commas themselves; their candidates are separated by ';'.
  const bool semi = t.find(';') != std::string::npos || spec.type == ParamType::kIntList ||
                    spec.type == ParamType::kFloatList;
  for (const auto& v : framework::Split(t, semi ? ';' : ',')) {
    const std::string value = framework::Trim(v);
    if (value.empty()) throw ConfigError(ctx + ": empty value in the list");
    if (std::find(d.values.begin(), d.values.end(), value) != d.values.end())
      throw ConfigError(ctx + ": '" + value + "' listed twice");
    CheckValue(spec, value, where);
    d.values.push_back(value);
  }
  if (d.values.empty()) throw ConfigError(ctx + ": no values");
  return d;
}

TuneStrategy TuneStrategy::Parse(const std::string& text) {
  TuneStrategy s;
  const std::string t = framework::Trim(text);
  const size_t colon = t.find(':');
  const std::string kind = t.substr(0, colon);
  int64_t n = 0;
  if (colon != std::string::npos &&
      (!framework::ParseInt64(t.substr(colon + 1), &n) || n < 1 || n > 1000000))
    throw ConfigError("tune = " + t + ": the count after ':' must be a positive integer");
  if (kind == "none" && colon == std::string::npos) s.kind = Kind::kNone;
  else if (kind == "grid" && colon == std::string::npos) s.kind = Kind::kGrid;
  else if (kind == "random" && colon != std::string::npos) s.kind = Kind::kRandom;
  else if (kind == "halving") s.kind = Kind::kHalving;
  else
    throw ConfigError("tune = " + t + ": expected none, grid, random:N, halving or halving:N");
  s.samples = static_cast<int>(n);
  return s;
}

std::string TuneStrategy::ToString() const {
  switch (kind) {
    case Kind::kNone: return "none";
    case Kind::kGrid: return "grid";
    case Kind::kRandom: return "random:" + std::to_string(samples);
    case Kind::kHalving: return samples > 0 ? "halving:" + std::to_string(samples) : "halving";
  }
  return "";
}

std::vector<framework::Config> ExpandSearchSpace(const std::vector<SearchDim>& dims, const TuneStrategy& strategy,
                                                 uint64_t seed) {
  const bool finite = std::all_of(dims.begin(), dims.end(), [](const SearchDim& d) { return d.kind == SearchDim::Kind::kList; });
  double grid_size = 1;
  for (const auto& d : dims) grid_size *= finite ? static_cast<double>(d.values.size()) : 1;
  auto grid = [&] {
    if (!finite) {
      for (const auto& d : dims)
        if (d.kind != SearchDim::Kind::kList)
          throw ConfigError("search." + d.param + " = " + d.ToString() + " is a range; tune = " + strategy.ToString() +
                            " needs lists (use random:N or halving:N to sample ranges)");
    }
    if (grid_size > 1e6) throw ConfigError("search space has " + FormatValue(grid_size) + " grid points (limit 1e6)");
    std::vector<framework::Config> out;
    std::vector<size_t> at(dims.size(), 0);
    for (size_t n = 0; n < static_cast<size_t>(grid_size); ++n) {
      framework::Config c;
      for (size_t i = 0; i < dims.size(); ++i) c.Set(dims[i].param, dims[i].values[at[i]], "search");
      out.push_back(std::move(c));
      for (size_t i = dims.size(); i-- > 0;) {  // last dim fastest
        if (++at[i] < dims[i].values.size()) break;
        at[i] = 0;
      }
    }
    return out;
  };
  const bool sample = strategy.kind == TuneStrategy::Kind::kRandom ||
                      (strategy.kind == TuneStrategy::Kind::kHalving && strategy.samples > 0);
  if (!sample || (finite && grid_size <= strategy.samples)) return grid();

  framework::Rng rng(framework::DeriveSeed(seed, 0x5ea6c4));
  std::vector<framework::Config> out;
  std::set<std::string> seen;
  for (int n = 0; n < strategy.samples; ++n) {
    framework::Config c;
    for (int attempt = 0; attempt < 100; ++attempt) {
      c = framework::Config();
      for (const auto& d : dims) {
        std::string v;
        switch (d.kind) {
          case SearchDim::Kind::kList: v = d.values[rng.UniformInt(d.values.size())]; break;
          case SearchDim::Kind::kUniform: v = FormatValue(rng.Uniform(d.lo, d.hi)); break;
          case SearchDim::Kind::kLogUniform:
            v = FormatValue(std::exp(rng.Uniform(std::log(d.lo), std::log(d.hi))));
            break;
          case SearchDim::Kind::kInt:
            v = std::to_string(static_cast<int64_t>(d.lo) +
                               static_cast<int64_t>(rng.UniformInt(static_cast<uint64_t>(d.hi - d.lo) + 1)));
            break;
        }
        c.Set(d.param, v, "search");
      }
      if (!seen.count(c.Canonical())) break;
    }
    if (!seen.insert(c.Canonical()).second) break;  // the space is exhausted
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<HalvingRound> HalvingSchedule(int n, int64_t max_budget, int eta) {
  if (n < 1 || max_budget < 1 || eta < 2) throw ConfigError("halving needs >= 1 configuration, budget >= 1, eta >= 2");
  int rounds = 1;
  double p = eta;
  while (p <= n && p <= static_cast<double>(max_budget)) {
    ++rounds;
    p *= eta;
  }
  std::vector<HalvingRound> out;
  for (int r = 0; r < rounds; ++r) {
    HalvingRound h;
    h.configs = std::max(1, static_cast<int>(std::floor(n / std::pow(eta, r))));
    h.budget = std::max<int64_t>(
        1, static_cast<int64_t>(std::llround(static_cast<double>(max_budget) / std::pow(eta, rounds - 1 - r))));
    out.push_back(h);
  }
  out.back().budget = max_budget;
  return out;
}

std::vector<size_t> RankScores(const std::vector<double>& scores, size_t keep) {
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const bool na = std::isnan(scores[a]), nb = std::isnan(scores[b]);
    if (na != nb) return nb;
    if (na) return false;
    return scores[a] > scores[b];
  });
  order.resize(std::min(keep, order.size()));
  return order;
}

std::vector<size_t> HalvingSurvivors(const std::vector<double>& scores, const std::vector<size_t>& alive, size_t keep) {
  std::vector<double> sub;
  for (size_t c : alive) sub.push_back(scores.at(c));
  std::vector<size_t> out;
  for (size_t i : RankScores(sub, keep)) out.push_back(alive[i]);
  std::sort(out.begin(), out.end());
  return out;
}

TrainValidView MakeTrainValidView(const datasets::Dataset& data, const datasets::Split& split, double train_fraction,
                                  uint64_t seed) {
  std::vector<int64_t> train = split.train;
  if (train_fraction < 1.0) train = datasets::SubsampleTrain(data, split.train, train_fraction, seed);
  TrainValidView v;
  // Everything but the interactions and the reviews is item/user side information, copied
  // whole; the interactions are rebuilt from the allowed rows only.
  v.data.name = data.name;
  v.data.source = data.source;
  v.data.users = data.users;
  v.data.items = data.items;
  v.data.item_text = data.item_text;
  v.data.item_image = data.item_image;
  v.data.item_categorical = data.item_categorical;
  v.data.item_numeric = data.item_numeric;
  v.data.user_categorical = data.user_categorical;
  v.data.user_numeric = data.user_numeric;
  v.data.entities = data.entities;
  v.data.relations = data.relations;
  v.data.kg = data.kg;
  v.data.item_entity = data.item_entity;
  std::vector<int64_t> rows = train;
  rows.insert(rows.end(), split.valid.begin(), split.valid.end());
  v.data.interactions = data.interactions.Select(rows);
  v.data.fixed_split.assign(rows.size(), 0);
  for (size_t i = train.size(); i < rows.size(); ++i) v.data.fixed_split[i] = 1;
  v.train.resize(train.size());
  std::iota(v.train.begin(), v.train.end(), int64_t{0});
  v.valid.resize(split.valid.size());
  std::iota(v.valid.begin(), v.valid.end(), static_cast<int64_t>(train.size()));
  std::set<std::pair<datasets::Index, datasets::Index>> test_pairs;
  for (int64_t r : split.test) test_pairs.emplace(data.interactions.user[r], data.interactions.item[r]);
  for (const auto& rev : data.reviews)
    if (!test_pairs.count({rev.user, rev.item})) v.data.reviews.push_back(rev);
  v.data.report = data.report;
  return v;
}

}  // namespace recfuse::experiments
