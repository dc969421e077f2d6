#include "datasets/split.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <utility>

#include "framework/config.h"
#include "framework/error.h"
#include "framework/log.h"
#include "framework/rng.h"

namespace recfuse::datasets {

namespace {

// Stream ids for DeriveSeed: each random decision draws from its own stream so that adding
// one never shifts the numbers another sees.
constexpr uint64_t kColdItemStream = 0x434f4c444954454dULL;   // "COLDITEM"
constexpr uint64_t kColdUserStream = 0x434f4c4455534552ULL;   // "COLDUSER"
constexpr uint64_t kSubsampleStream = 0x53554253414d504cULL;  // "SUBSAMPL"

std::string FormatDouble(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

[[noreturn]] void BadSpec(const std::string& text, const std::string& reason) {
  throw framework::ConfigError("split '" + text + "': " + reason);
}

double ParseNumber(const std::string& text, const std::string& part, const char* what) {
  double v = 0;
  if (!framework::ParseDouble(part, &v) || !std::isfinite(v))
    BadSpec(text, std::string(what) + " '" + part + "' is not a finite number");
  return v;
}

// RecBole's Dataset._calcu_split_ids: every part but the first is rounded down, the first
// takes the remainder; then, while train keeps more than one row, a part whose share is
// below one row (but above zero) gets one row taken from train, test first. Reproducing it
// exactly is what makes our per-user counts equal RecBole's (checked on its ml-100k split).
std::array<int64_t, 3> RatioCounts(int64_t n, const SplitSpec& spec) {
  // Same float operations in the same order as RecBole: normalise by the left-to-right sum.
  const double total = spec.train + spec.valid + spec.test;
  const std::array<double, 3> ratio = {spec.train / total, spec.valid / total, spec.test / total};
  std::array<int64_t, 3> cnt;
  for (int k = 0; k < 3; ++k) cnt[k] = static_cast<int64_t>(ratio[k] * static_cast<double>(n));
  cnt[0] = n - cnt[1] - cnt[2];
  for (int k = 2; k >= 1; --k) {
    if (cnt[0] <= 1) break;
    const double share = ratio[k] * static_cast<double>(n);
    if (share > 0 && share < 1) {
      ++cnt[k];
      --cnt[0];
    }
  }
  return cnt;
}

// Each user's rows in source-row order (counting sort), independent of timestamps.
struct UserRows {
  std::vector<int64_t> indptr;
  std::vector<int64_t> rows;
};

UserRows GroupByUser(const Dataset& data) {
  const auto& user = data.interactions.user;
  const Index nu = data.num_users();
  UserRows g;
  g.indptr.assign(static_cast<size_t>(nu) + 1, 0);
  for (size_t r = 0; r < user.size(); ++r) {
    RF_CHECK(user[r] >= 0 && user[r] < nu, "interaction user id out of range");
    ++g.indptr[user[r] + 1];
  }
  for (Index u = 0; u < nu; ++u) g.indptr[u + 1] += g.indptr[u];
  g.rows.resize(user.size());
  std::vector<int64_t> fill(g.indptr.begin(), g.indptr.end() - 1);
  for (size_t r = 0; r < user.size(); ++r) g.rows[fill[user[r]]++] = static_cast<int64_t>(r);
  return g;
}

// Each split kind fills one part code per row; rows are collected per part at the end in
// one ascending pass, which is cheaper than sorting three index lists.
enum Part : uint8_t { kTrain = 0, kValid = 1, kTest = 2, kUnassigned = 255 };
using Parts = std::vector<uint8_t>;

// Assigns rows[0, c0) to train, [c0, c0+c1) to valid, the rest to test.
void Assign(std::span<const int64_t> rows, const std::array<int64_t, 3>& cnt, Parts* part) {
  const size_t a = static_cast<size_t>(cnt[0]), b = a + static_cast<size_t>(cnt[1]);
  for (size_t k = 0; k < rows.size(); ++k)
    (*part)[rows[k]] = k < a ? kTrain : k < b ? kValid : kTest;
}

void RequireTimestamps(const Dataset& data, const SplitSpec& spec) {
  if (!data.interactions.has_timestamp)
    BadSpec(spec.ToString(), "needs timestamps, and dataset '" + data.name + "' has none");
}

void SplitRatio(const Dataset& data, const SplitSpec& spec, uint64_t seed, Parts* part) {
  UserRows g = GroupByUser(data);
  std::vector<int64_t> rows;
  for (Index u = 0; u < data.num_users(); ++u) {
    rows.assign(g.rows.begin() + g.indptr[u], g.rows.begin() + g.indptr[u + 1]);
    if (rows.empty()) continue;
    framework::Rng rng(framework::DeriveSeed(seed, static_cast<uint64_t>(u)));
    rng.Shuffle(rows);
    Assign(rows, RatioCounts(static_cast<int64_t>(rows.size()), spec), part);
  }
}

void SplitTemporal(const Dataset& data, const SplitSpec& spec, Parts* part) {
  RequireTimestamps(data, spec);
  const auto& ts = data.interactions.timestamp;
  const int64_t n = static_cast<int64_t>(ts.size());
  // (time, row) pairs sort contiguously and break ties by row order.
  std::vector<std::pair<double, int64_t>> order(static_cast<size_t>(n));
  for (int64_t r = 0; r < n; ++r) order[r] = {ts[r], r};
  std::sort(order.begin(), order.end());
  const auto cnt = RatioCounts(n, spec);
  // A cut never separates equal timestamps: ties join the earlier side, so every train
  // time is strictly before every valid/test time.
  auto advance_past_ties = [&](int64_t cut) {
    while (cut > 0 && cut < n && order[cut].first == order[cut - 1].first) ++cut;
    return cut;
  };
  const int64_t train_end = advance_past_ties(cnt[0]);
  const int64_t valid_end = advance_past_ties(std::max(train_end, cnt[0] + cnt[1]));
  for (int64_t k = 0; k < n; ++k)
    (*part)[order[k].second] = k < train_end ? kTrain : k < valid_end ? kValid : kTest;
}

void SplitUserTemporal(const Dataset& data, const SplitSpec& spec, Parts* part) {
  RequireTimestamps(data, spec);
  const Csr csr = BuildUserCsr(data.interactions, data.num_users());
  for (Index u = 0; u < csr.rows(); ++u) {
    const auto rows = csr.RowRefs(u);
    if (!rows.empty()) Assign(rows, RatioCounts(static_cast<int64_t>(rows.size()), spec), part);
  }
}

void SplitLeaveOneOut(const Dataset& data, Parts* part) {
  if (!data.interactions.has_timestamp) {
    RF_LOG(Warn) << "split 'loo': dataset '" << data.name
                 << "' has no timestamps; 'last' means last in file order";
  }
  const Csr csr = BuildUserCsr(data.interactions, data.num_users());
  int64_t short_users = 0;
  for (Index u = 0; u < csr.rows(); ++u) {
    const auto rows = csr.RowRefs(u);
    if (rows.empty()) continue;
    for (int64_t r : rows) (*part)[r] = kTrain;
    if (rows.size() < 3) {
      ++short_users;
      continue;
    }
    (*part)[rows[rows.size() - 2]] = kValid;
    (*part)[rows.back()] = kTest;
  }
  if (short_users > 0) {
    RF_LOG(Info) << "split 'loo': " << short_users
                 << " users with fewer than 3 interactions keep them all in train";
  }
}

// Draws round(fraction * m) of the m ids with interactions (at least 1, at most m - 1 so
// that training keeps data), shuffled by `stream`; the first half (rounded down) becomes
// valid-cold, the rest test-cold. Returns per-id 0 = warm, 1 = valid-cold, 2 = test-cold.
std::vector<uint8_t> DrawCold(const std::vector<int64_t>& degree, double fraction,
                              uint64_t stream_seed, const SplitSpec& spec, const char* what) {
  std::vector<int64_t> active;
  for (size_t id = 0; id < degree.size(); ++id)
    if (degree[id] > 0) active.push_back(static_cast<int64_t>(id));
  const int64_t m = static_cast<int64_t>(active.size());
  if (m < 2)
    BadSpec(spec.ToString(), std::string("needs at least 2 ") + what +
                                 " with interactions, the dataset has " + std::to_string(m));
  const int64_t k = std::clamp<int64_t>(std::llround(fraction * static_cast<double>(m)), 1, m - 1);
  framework::Rng rng(stream_seed);
  rng.Shuffle(active);
  std::vector<uint8_t> role(degree.size(), kTrain);
  for (int64_t j = 0; j < k; ++j) role[active[j]] = j < k / 2 ? kValid : kTest;
  return role;
}

void SplitColdItem(const Dataset& data, const SplitSpec& spec, uint64_t seed, Parts* part,
                   Split* out) {
  const auto& item = data.interactions.item;
  std::vector<int64_t> degree(static_cast<size_t>(data.num_items()), 0);
  for (Index i : item) {
    RF_CHECK(i >= 0 && i < data.num_items(), "interaction item id out of range");
    ++degree[i];
  }
  const auto role = DrawCold(degree, spec.cold_fraction,
                             framework::DeriveSeed(seed, kColdItemStream), spec, "items");
  out->cold_items.resize(role.size());
  for (size_t i = 0; i < role.size(); ++i) out->cold_items[i] = role[i] != 0;
  for (size_t r = 0; r < item.size(); ++r) (*part)[r] = role[item[r]];
}

void SplitColdUser(const Dataset& data, const SplitSpec& spec, uint64_t seed, Parts* part,
                   Split* out) {
  const auto& user = data.interactions.user;
  std::vector<int64_t> degree(static_cast<size_t>(data.num_users()), 0);
  for (Index u : user) {
    RF_CHECK(u >= 0 && u < data.num_users(), "interaction user id out of range");
    ++degree[u];
  }
  const auto role = DrawCold(degree, spec.cold_fraction,
                             framework::DeriveSeed(seed, kColdUserStream), spec, "users");
  out->cold_users.resize(role.size());
  for (size_t u = 0; u < role.size(); ++u) out->cold_users[u] = role[u] != 0;
  for (size_t r = 0; r < user.size(); ++r) (*part)[r] = role[user[r]];
}

void SplitFixed(const Dataset& data, Parts* part) {
  const auto& fixed = data.fixed_split;
  const std::string where = data.source.empty() ? data.name : data.source;
  if (fixed.empty())
    throw framework::Error("split 'fixed': dataset '" + data.name +
                           "' has no split of its own (e.g. <name>.train/.valid/.test.inter)");
  if (fixed.size() != data.interactions.size())
    throw framework::Error("split 'fixed': dataset '" + data.name + "' marks " +
                           std::to_string(fixed.size()) + " rows but has " +
                           std::to_string(data.interactions.size()) + " interactions");
  for (size_t r = 0; r < fixed.size(); ++r) {
    if (fixed[r] > kTest)
      throw framework::Error("split 'fixed': dataset '" + where + "' row " + std::to_string(r) +
                             " has split code " + std::to_string(fixed[r]) +
                             " (expected 0 train, 1 valid, 2 test)");
    (*part)[r] = fixed[r];
  }
}

}  // namespace

SplitSpec SplitSpec::Parse(const std::string& raw) {
  const std::string text = framework::Trim(raw);
  const size_t colon = text.find(':');
  const std::string kind = framework::Trim(text.substr(0, colon));
  const bool has_args = colon != std::string::npos;
  const std::string args = has_args ? text.substr(colon + 1) : "";
  SplitSpec spec;
  if (kind == "ratio" || kind == "temporal" || kind == "user-temporal") {
    spec.kind = kind == "ratio"      ? Kind::kRatio
                : kind == "temporal" ? Kind::kTemporal
                                     : Kind::kUserTemporal;
    if (!has_args)
      BadSpec(text, "expected " + kind + ":TRAIN,VALID,TEST, e.g. " + kind + ":0.8,0.1,0.1");
    const auto parts = framework::Split(args, ',');
    if (parts.size() != 3)
      BadSpec(text, "expected 3 ratios (train, valid, test), got " + std::to_string(parts.size()));
    spec.train = ParseNumber(text, parts[0], "train ratio");
    spec.valid = ParseNumber(text, parts[1], "valid ratio");
    spec.test = ParseNumber(text, parts[2], "test ratio");
    if (spec.train <= 0) BadSpec(text, "train ratio must be > 0");
    if (spec.valid < 0) BadSpec(text, "valid ratio must be >= 0 (0 = no validation set)");
    if (spec.test <= 0) BadSpec(text, "test ratio must be > 0");
    const double sum = spec.train + spec.valid + spec.test;
    if (std::abs(sum - 1.0) > 1e-6)
      BadSpec(text, "ratios must sum to 1, they sum to " + FormatDouble(sum));
    return spec;
  }
  if (kind == "cold-item" || kind == "cold-user") {
    spec.kind = kind == "cold-item" ? Kind::kColdItem : Kind::kColdUser;
    if (!has_args) BadSpec(text, "expected " + kind + ":FRACTION, e.g. " + kind + ":0.1");
    spec.cold_fraction = ParseNumber(text, framework::Trim(args), "cold fraction");
    if (!(spec.cold_fraction > 0 && spec.cold_fraction < 1))
      BadSpec(text, "cold fraction must be in (0, 1)");
    return spec;
  }
  if (kind == "loo" || kind == "fixed") {
    if (has_args) BadSpec(text, "'" + kind + "' takes no arguments");
    spec.kind = kind == "loo" ? Kind::kLeaveOneOut : Kind::kFixed;
    return spec;
  }
  BadSpec(text, "unknown kind '" + kind +
                    "' (expected ratio:, temporal:, user-temporal:, loo, cold-item:, cold-user:, "
                    "fixed)");
}

std::string SplitSpec::ToString() const {
  auto ratios = [&](const char* name) {
    return std::string(name) + ":" + FormatDouble(train) + "," + FormatDouble(valid) + "," +
           FormatDouble(test);
  };
  switch (kind) {
    case Kind::kRatio:
      return ratios("ratio");
    case Kind::kTemporal:
      return ratios("temporal");
    case Kind::kUserTemporal:
      return ratios("user-temporal");
    case Kind::kLeaveOneOut:
      return "loo";
    case Kind::kColdItem:
      return "cold-item:" + FormatDouble(cold_fraction);
    case Kind::kColdUser:
      return "cold-user:" + FormatDouble(cold_fraction);
    case Kind::kFixed:
      return "fixed";
  }
  return "?";
}

Split MakeSplit(const Dataset& data, const SplitSpec& spec, uint64_t seed) {
  RF_CHECK(data.interactions.item.size() == data.interactions.user.size(),
           "interaction columns differ in length");
  Split out;
  Parts part(data.interactions.size(), kUnassigned);
  switch (spec.kind) {
    case SplitSpec::Kind::kRatio:
      SplitRatio(data, spec, seed, &part);
      break;
    case SplitSpec::Kind::kTemporal:
      SplitTemporal(data, spec, &part);
      break;
    case SplitSpec::Kind::kUserTemporal:
      SplitUserTemporal(data, spec, &part);
      break;
    case SplitSpec::Kind::kLeaveOneOut:
      SplitLeaveOneOut(data, &part);
      break;
    case SplitSpec::Kind::kColdItem:
      SplitColdItem(data, spec, seed, &part, &out);
      break;
    case SplitSpec::Kind::kColdUser:
      SplitColdUser(data, spec, seed, &part, &out);
      break;
    case SplitSpec::Kind::kFixed:
      SplitFixed(data, &part);
      break;
  }
  // Canonical order (source rows ascending) so that equal splits compare and hash equal
  // however they were produced.
  std::array<int64_t, 3> sizes{0, 0, 0};
  for (uint8_t p : part) {
    RF_CHECK(p <= kTest, "split left a row unassigned");
    ++sizes[p];
  }
  out.train.reserve(static_cast<size_t>(sizes[kTrain]));
  out.valid.reserve(static_cast<size_t>(sizes[kValid]));
  out.test.reserve(static_cast<size_t>(sizes[kTest]));
  std::vector<int64_t>* dest[3] = {&out.train, &out.valid, &out.test};
  for (size_t r = 0; r < part.size(); ++r) dest[part[r]]->push_back(static_cast<int64_t>(r));
  if (out.test.empty())
    throw framework::Error("split '" + spec.ToString() + "' leaves an empty test set (dataset '" +
                           data.name + "', " + std::to_string(data.interactions.size()) +
                           " interactions)");
  return out;
}

std::vector<int64_t> SubsampleTrain(const Dataset& data, const std::vector<int64_t>& train,
                                    double fraction, uint64_t seed) {
  if (!(fraction > 0 && fraction <= 1))
    throw framework::ConfigError("subsample fraction " + FormatDouble(fraction) +
                                 " must be in (0, 1]");
  const size_t n = train.size();
  if (fraction == 1.0 || n == 0) return train;
  const auto& user = data.interactions.user;
  // A row's key depends only on (seed, row), not on `fraction` or on the order of `train`:
  // the rows kept at any fraction are those with the smallest keys, hence nested.
  const uint64_t base = framework::DeriveSeed(seed, kSubsampleStream);
  std::vector<std::pair<uint64_t, size_t>> keyed(n);  // (key, position in train)
  for (size_t p = 0; p < n; ++p) {
    const int64_t r = train[p];
    RF_CHECK(r >= 0 && static_cast<size_t>(r) < user.size(), "training row out of range");
    keyed[p] = {framework::DeriveSeed(base, static_cast<uint64_t>(r)), p};
  }
  auto less = [&](const std::pair<uint64_t, size_t>& a, const std::pair<uint64_t, size_t>& b) {
    return a.first != b.first ? a.first < b.first : train[a.second] < train[b.second];
  };
  // Each user keeps their smallest-key row whatever the fraction, so no user with training
  // data is left without any; this set does not depend on the fraction either.
  std::vector<int64_t> best(static_cast<size_t>(data.num_users()), -1);
  for (size_t p = 0; p < n; ++p) {
    int64_t& b = best[user[train[p]]];
    if (b < 0 || less(keyed[p], keyed[static_cast<size_t>(b)])) b = static_cast<int64_t>(p);
  }
  std::vector<uint8_t> keep(n, 0);
  size_t guaranteed = 0;
  for (int64_t b : best)
    if (b >= 0) {
      keep[static_cast<size_t>(b)] = 1;
      ++guaranteed;
    }
  const size_t target = static_cast<size_t>(std::llround(fraction * static_cast<double>(n)));
  if (target > guaranteed) {
    // The not-yet-kept rows, then the (target - guaranteed) smallest keys among them.
    const auto rest = std::partition(keyed.begin(), keyed.end(),
                                     [&](const auto& kp) { return keep[kp.second] != 0; });
    const auto extra =
        std::min<ptrdiff_t>(static_cast<ptrdiff_t>(target - guaranteed), keyed.end() - rest);
    std::nth_element(rest, rest + extra, keyed.end(), less);
    for (auto it = rest; it != rest + extra; ++it) keep[it->second] = 1;
  }
  std::vector<int64_t> out;
  out.reserve(std::max(target, guaranteed));
  for (size_t p = 0; p < n; ++p)
    if (keep[p]) out.push_back(train[p]);
  return out;
}

}  // namespace recfuse::datasets
