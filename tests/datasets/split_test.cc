#include "datasets/split.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "datasets/split_cache.h"
#include "framework/config.h"
#include "framework/error.h"
#include "framework/io.h"
#include "framework/rng.h"
#include "tests/test_util.h"

namespace recfuse::datasets {
namespace {

// Users with the given interaction counts over `num_items` items. Rows are written in an
// order unrelated to time (timestamps are a seeded permutation of distinct values), so that
// any split that should order by time cannot get it right by accident of row order.
Dataset MakeData(const std::vector<int>& counts, int num_items, bool timestamps = true) {
  Dataset d;
  d.name = "tiny";
  d.interactions.has_rating = true;
  d.interactions.has_timestamp = timestamps;
  for (int i = 0; i < num_items; ++i) d.items.GetOrAdd("i" + std::to_string(i));
  std::vector<std::pair<Index, Index>> rows;
  for (size_t u = 0; u < counts.size(); ++u) {
    d.users.GetOrAdd("u" + std::to_string(u));
    for (int k = 0; k < counts[u]; ++k)
      rows.emplace_back(static_cast<Index>(u), static_cast<Index>((u * 7 + k * 3) % num_items));
  }
  std::vector<double> times(rows.size());
  for (size_t r = 0; r < times.size(); ++r) times[r] = 1000.0 + 10.0 * static_cast<double>(r);
  framework::Rng rng(99);
  rng.Shuffle(times);
  for (size_t r = 0; r < rows.size(); ++r)
    d.interactions.Add(rows[r].first, rows[r].second, 1.0f + static_cast<float>(r % 5), times[r]);
  d.Finalize();
  return d;
}

std::array<int64_t, 3> CountsOfUser(const Dataset& d, const Split& s, Index u) {
  std::array<int64_t, 3> c{0, 0, 0};
  const std::vector<int64_t>* parts[3] = {&s.train, &s.valid, &s.test};
  for (int p = 0; p < 3; ++p)
    for (int64_t r : *parts[p]) c[p] += d.interactions.user[r] == u;
  return c;
}

// Every row in exactly one part, each part ascending.
void ExpectPartition(const Dataset& d, const Split& s) {
  std::vector<int> seen(d.interactions.size(), 0);
  for (const auto* part : {&s.train, &s.valid, &s.test}) {
    EXPECT_TRUE(std::is_sorted(part->begin(), part->end()));
    for (int64_t r : *part) {
      ASSERT_GE(r, 0);
      ASSERT_LT(static_cast<size_t>(r), seen.size());
      ++seen[r];
    }
  }
  for (size_t r = 0; r < seen.size(); ++r) EXPECT_EQ(seen[r], 1) << "row " << r;
}

bool SameSplit(const Split& a, const Split& b) {
  return a.train == b.train && a.valid == b.valid && a.test == b.test &&
         a.cold_items == b.cold_items && a.cold_users == b.cold_users;
}

TEST(SplitSpec, ParsesEveryKindAndRoundTrips) {
  for (const std::string text :
       {"ratio:0.8,0.1,0.1", "temporal:0.7,0.1,0.2", "user-temporal:0.6,0.2,0.2", "loo",
        "cold-item:0.1", "cold-user:0.25", "fixed", "ratio:0.8,0,0.2"}) {
    const SplitSpec spec = SplitSpec::Parse(text);
    EXPECT_EQ(spec.ToString(), text);
    EXPECT_EQ(SplitSpec::Parse(spec.ToString()).ToString(), text);
  }
  const SplitSpec s = SplitSpec::Parse(" temporal: 0.7 , 0.1 , 0.2 ");
  EXPECT_EQ(s.kind, SplitSpec::Kind::kTemporal);
  EXPECT_DOUBLE_EQ(s.train, 0.7);
  EXPECT_DOUBLE_EQ(s.valid, 0.1);
  EXPECT_DOUBLE_EQ(s.test, 0.2);
  EXPECT_EQ(s.ToString(), "temporal:0.7,0.1,0.2");
  EXPECT_EQ(SplitSpec::Parse("cold-user:0.25").kind, SplitSpec::Kind::kColdUser);
  EXPECT_DOUBLE_EQ(SplitSpec::Parse("cold-user:0.25").cold_fraction, 0.25);
  // Within the 1e-6 tolerance.
  EXPECT_NO_THROW(SplitSpec::Parse("ratio:0.8,0.1,0.1000005"));
}

TEST(SplitSpec, MalformedSpecsAreConfigErrorsNamingTheSpec) {
  for (const std::string bad : {"",
                                "ratio",
                                "ratio:",
                                "ratio:0.8,0.1",
                                "ratio:0.8,0.1,0.1,0",
                                "ratio:0.8,0.1,0.2",
                                "ratio:0,0.5,0.5",
                                "ratio:0.9,-0.1,0.2",
                                "ratio:a,b,c",
                                "ratio:0.9,0.1,0",
                                "ratio:nan,0,1",
                                "temporal:0.8,0.1",
                                "cold-item",
                                "cold-item:0",
                                "cold-item:1",
                                "cold-item:x",
                                "cold-user:-0.1",
                                "loo:3",
                                "fixed:1",
                                "random:0.8,0.1,0.1"}) {
    try {
      SplitSpec::Parse(bad);
      ADD_FAILURE() << "'" << bad << "' parsed";
    } catch (const framework::ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("split '" + bad + "'"), std::string::npos) << e.what();
    }
  }
}

TEST(MakeSplit, RatioCountsFollowRecBolePerUser) {
  // Hand-computed with RecBole's rule: cnt = int(r * n) for valid/test, train the rest, then
  // a part with 0 < r*n < 1 takes one row from train while train keeps > 1 (test first).
  const Dataset d = MakeData({10, 1, 2, 3, 7, 25}, 30);
  const Split s = MakeSplit(d, SplitSpec::Parse("ratio:0.8,0.1,0.1"), 1);
  ExpectPartition(d, s);
  const std::vector<std::array<int64_t, 3>> expected = {{8, 1, 1}, {1, 0, 0}, {1, 0, 1},
                                                        {1, 1, 1}, {5, 1, 1}, {21, 2, 2}};
  for (Index u = 0; u < d.num_users(); ++u) EXPECT_EQ(CountsOfUser(d, s, u), expected[u]) << u;
  EXPECT_TRUE(s.cold_items.empty());
  EXPECT_TRUE(s.cold_users.empty());
}

TEST(MakeSplit, ZeroValidRatioMeansNoValidationSet) {
  const Dataset d = MakeData({10, 10, 5}, 20);
  const Split s = MakeSplit(d, SplitSpec::Parse("ratio:0.8,0,0.2"), 3);
  ExpectPartition(d, s);
  EXPECT_TRUE(s.valid.empty());
  EXPECT_EQ(CountsOfUser(d, s, 0), (std::array<int64_t, 3>{8, 0, 2}));
  EXPECT_EQ(CountsOfUser(d, s, 2), (std::array<int64_t, 3>{4, 0, 1}));
}

TEST(MakeSplit, EveryKindPartitionsTheRows) {
  Dataset d = MakeData({12, 9, 4, 15, 6, 8, 2, 11}, 40);
  d.fixed_split.resize(d.interactions.size());
  for (size_t r = 0; r < d.fixed_split.size(); ++r)
    d.fixed_split[r] = r % 10 == 3 ? 1 : r % 10 == 7 ? 2 : 0;
  for (const char* text : {"ratio:0.8,0.1,0.1", "temporal:0.8,0.1,0.1", "user-temporal:0.7,0.1,0.2",
                           "loo", "cold-item:0.2", "cold-user:0.3", "fixed"}) {
    SCOPED_TRACE(text);
    const Split s = MakeSplit(d, SplitSpec::Parse(text), 5);
    ExpectPartition(d, s);
    EXPECT_FALSE(s.train.empty());
    EXPECT_FALSE(s.test.empty());
  }
}

TEST(MakeSplit, SameSeedSameSplitOtherSeedDiffers) {
  const Dataset d = MakeData({20, 20, 20, 20, 20, 20, 20, 20, 20, 20}, 60);
  for (const char* text : {"ratio:0.8,0.1,0.1", "cold-item:0.2", "cold-user:0.2"}) {
    SCOPED_TRACE(text);
    const SplitSpec spec = SplitSpec::Parse(text);
    EXPECT_TRUE(SameSplit(MakeSplit(d, spec, 42), MakeSplit(d, spec, 42)));
    EXPECT_FALSE(SameSplit(MakeSplit(d, spec, 42), MakeSplit(d, spec, 43)));
  }
}

TEST(MakeSplit, TemporalCutsGlobalTimeAtTheQuantiles) {
  const Dataset d = MakeData({5, 7, 8}, 10);  // 20 rows, distinct times
  const Split s = MakeSplit(d, SplitSpec::Parse("temporal:0.8,0.1,0.1"), 0);
  ExpectPartition(d, s);
  EXPECT_EQ(s.train.size(), 16u);
  EXPECT_EQ(s.valid.size(), 2u);
  EXPECT_EQ(s.test.size(), 2u);
  const auto& ts = d.interactions.timestamp;
  auto max_of = [&](const std::vector<int64_t>& v) {
    double m = -1e300;
    for (int64_t r : v) m = std::max(m, ts[r]);
    return m;
  };
  auto min_of = [&](const std::vector<int64_t>& v) {
    double m = 1e300;
    for (int64_t r : v) m = std::min(m, ts[r]);
    return m;
  };
  EXPECT_LE(max_of(s.train), min_of(s.valid));
  EXPECT_LE(max_of(s.valid), min_of(s.test));
  EXPECT_LE(max_of(s.train), min_of(s.test));
  // The 16 earliest of times 1000, 1010, ... 1190 are train.
  EXPECT_DOUBLE_EQ(max_of(s.train), 1150.0);
}

TEST(MakeSplit, TemporalKeepsTiedTimestampsOnOneSide) {
  Dataset d = MakeData({10}, 10);
  // Times 0..9, but rows with time 7 and 8 (at the train/valid cut of 8) share time 7.
  for (size_t r = 0; r < 10; ++r) d.interactions.timestamp[r] = static_cast<double>(r);
  d.interactions.timestamp[8] = 7;
  const Split s = MakeSplit(d, SplitSpec::Parse("temporal:0.8,0.1,0.1"), 0);
  ExpectPartition(d, s);
  EXPECT_EQ(s.train, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_TRUE(s.valid.empty());
  EXPECT_EQ(s.test, (std::vector<int64_t>{9}));
}

TEST(MakeSplit, TimeBasedSplitsNeedTimestamps) {
  const Dataset d = MakeData({10, 10}, 10, /*timestamps=*/false);
  EXPECT_THROW(MakeSplit(d, SplitSpec::Parse("temporal:0.8,0.1,0.1"), 0), framework::ConfigError);
  EXPECT_THROW(MakeSplit(d, SplitSpec::Parse("user-temporal:0.8,0.1,0.1"), 0),
               framework::ConfigError);
}

TEST(MakeSplit, UserTemporalOrdersEachUserByTime) {
  const Dataset d = MakeData({10, 7, 3, 25}, 30);
  const Split s = MakeSplit(d, SplitSpec::Parse("user-temporal:0.8,0.1,0.1"), 0);
  ExpectPartition(d, s);
  const auto& ts = d.interactions.timestamp;
  for (Index u = 0; u < d.num_users(); ++u) {
    double train_max = -1e300, valid_min = 1e300, valid_max = -1e300, test_min = 1e300;
    for (int64_t r : s.train)
      if (d.interactions.user[r] == u) train_max = std::max(train_max, ts[r]);
    for (int64_t r : s.valid)
      if (d.interactions.user[r] == u) {
        valid_min = std::min(valid_min, ts[r]);
        valid_max = std::max(valid_max, ts[r]);
      }
    for (int64_t r : s.test)
      if (d.interactions.user[r] == u) test_min = std::min(test_min, ts[r]);
    EXPECT_LT(train_max, std::min(valid_min, test_min)) << u;
    if (valid_max > -1e300) EXPECT_LT(valid_max, test_min) << u;
  }
  EXPECT_EQ(CountsOfUser(d, s, 0), (std::array<int64_t, 3>{8, 1, 1}));
  EXPECT_EQ(CountsOfUser(d, s, 1), (std::array<int64_t, 3>{5, 1, 1}));
  EXPECT_EQ(CountsOfUser(d, s, 3), (std::array<int64_t, 3>{21, 2, 2}));
}

TEST(MakeSplit, LeaveOneOutHoldsOutTheLatestTwo) {
  const Dataset d = MakeData({6, 2, 3, 1, 9}, 12);
  const Split s = MakeSplit(d, SplitSpec::Parse("loo"), 0);
  ExpectPartition(d, s);
  const auto& ts = d.interactions.timestamp;
  for (Index u = 0; u < d.num_users(); ++u) {
    std::vector<int64_t> rows;
    for (size_t r = 0; r < d.interactions.size(); ++r)
      if (d.interactions.user[r] == u) rows.push_back(static_cast<int64_t>(r));
    std::sort(rows.begin(), rows.end(), [&](int64_t a, int64_t b) { return ts[a] < ts[b]; });
    const auto c = CountsOfUser(d, s, u);
    if (rows.size() < 3) {
      EXPECT_EQ(c, (std::array<int64_t, 3>{static_cast<int64_t>(rows.size()), 0, 0})) << u;
      continue;
    }
    EXPECT_EQ(c, (std::array<int64_t, 3>{static_cast<int64_t>(rows.size()) - 2, 1, 1})) << u;
    EXPECT_TRUE(std::binary_search(s.test.begin(), s.test.end(), rows.back())) << u;
    EXPECT_TRUE(std::binary_search(s.valid.begin(), s.valid.end(), rows[rows.size() - 2])) << u;
  }
}

TEST(MakeSplit, ColdItemsNeverReachTraining) {
  const Dataset d = MakeData({20, 20, 20, 20, 20, 20}, 40);
  // Items with interactions: (7u + 3k) mod 40 hits all 40 here.
  const Split s = MakeSplit(d, SplitSpec::Parse("cold-item:0.2"), 11);
  ExpectPartition(d, s);
  ASSERT_EQ(s.cold_items.size(), 40u);
  EXPECT_TRUE(s.cold_users.empty());
  EXPECT_EQ(std::count(s.cold_items.begin(), s.cold_items.end(), 1), 8);  // round(0.2 * 40)
  std::set<Index> train_items, valid_items, test_items;
  for (int64_t r : s.train) train_items.insert(d.interactions.item[r]);
  for (int64_t r : s.valid) valid_items.insert(d.interactions.item[r]);
  for (int64_t r : s.test) test_items.insert(d.interactions.item[r]);
  for (Index i : test_items) {
    EXPECT_EQ(train_items.count(i), 0u) << i;
    EXPECT_EQ(valid_items.count(i), 0u) << i;
    EXPECT_EQ(s.cold_items[i], 1);
  }
  for (Index i : valid_items) {
    EXPECT_EQ(train_items.count(i), 0u) << i;
    EXPECT_EQ(s.cold_items[i], 1);
  }
  for (Index i : train_items) EXPECT_EQ(s.cold_items[i], 0);
  // Cold items split 50/50 into valid-cold and test-cold sets.
  EXPECT_EQ(valid_items.size(), 4u);
  EXPECT_EQ(test_items.size(), 4u);
}

TEST(MakeSplit, ColdItemFractionIsOfItemsWithInteractions) {
  Dataset d = MakeData({10, 10}, 10);
  for (int i = 0; i < 30; ++i) d.items.GetOrAdd("never" + std::to_string(i));  // no interactions
  d.Finalize();
  const Split s = MakeSplit(d, SplitSpec::Parse("cold-item:0.3"), 2);
  ASSERT_EQ(s.cold_items.size(), 40u);
  int cold = 0;
  for (Index i = 0; i < 40; ++i) {
    cold += s.cold_items[i];
    if (i >= 10) EXPECT_EQ(s.cold_items[i], 0) << "item without interactions drawn cold";
  }
  EXPECT_EQ(cold, 3);
}

TEST(MakeSplit, ColdUsersAreHeldOutWhole) {
  const Dataset d = MakeData({5, 6, 7, 8, 9, 10, 11, 12, 13, 14}, 30);
  const Split s = MakeSplit(d, SplitSpec::Parse("cold-user:0.4"), 8);
  ExpectPartition(d, s);
  ASSERT_EQ(s.cold_users.size(), 10u);
  EXPECT_TRUE(s.cold_items.empty());
  EXPECT_EQ(std::count(s.cold_users.begin(), s.cold_users.end(), 1), 4);
  int valid_users = 0, test_users = 0;
  for (Index u = 0; u < 10; ++u) {
    const auto c = CountsOfUser(d, s, u);
    const int64_t n = 5 + u;
    if (s.cold_users[u]) {
      EXPECT_EQ(c[0], 0) << u;
      EXPECT_TRUE(c[1] == n || c[2] == n) << u;  // a cold user's rows stay together
      valid_users += c[1] == n;
      test_users += c[2] == n;
    } else {
      EXPECT_EQ(c, (std::array<int64_t, 3>{n, 0, 0})) << u;
    }
  }
  EXPECT_EQ(valid_users, 2);
  EXPECT_EQ(test_users, 2);
}

TEST(MakeSplit, FixedUsesTheSourceSplit) {
  Dataset d = MakeData({4, 4}, 8);
  EXPECT_THROW(MakeSplit(d, SplitSpec::Parse("fixed"), 0), framework::Error);
  d.fixed_split = {0, 0, 1, 2, 0, 2, 0, 0};
  const Split s = MakeSplit(d, SplitSpec::Parse("fixed"), 0);
  EXPECT_EQ(s.train, (std::vector<int64_t>{0, 1, 4, 6, 7}));
  EXPECT_EQ(s.valid, (std::vector<int64_t>{2}));
  EXPECT_EQ(s.test, (std::vector<int64_t>{3, 5}));
  d.fixed_split[6] = 3;
  EXPECT_THROW(MakeSplit(d, SplitSpec::Parse("fixed"), 0), framework::Error);
  d.fixed_split.pop_back();
  EXPECT_THROW(MakeSplit(d, SplitSpec::Parse("fixed"), 0), framework::Error);
}

TEST(MakeSplit, EmptyTestSetIsAnError) {
  const Dataset d = MakeData({1, 1, 1}, 5);  // every user keeps their one row in train
  try {
    MakeSplit(d, SplitSpec::Parse("ratio:0.8,0.1,0.1"), 0);
    FAIL() << "expected an error";
  } catch (const framework::Error& e) {
    EXPECT_NE(std::string(e.what()).find("split 'ratio:0.8,0.1,0.1' leaves an empty test set"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(MakeSplit(d, SplitSpec::Parse("loo"), 0), framework::Error);
}

TEST(SubsampleTrain, NestedAcrossFractionsAndKeepsEveryUser) {
  const Dataset d = MakeData({40, 30, 3, 25, 1, 50, 12}, 60);
  const Split s = MakeSplit(d, SplitSpec::Parse("ratio:0.8,0.1,0.1"), 4);
  std::set<Index> train_users;
  for (int64_t r : s.train) train_users.insert(d.interactions.user[r]);
  std::vector<int64_t> prev;
  for (double f : {0.05, 0.3, 0.6, 0.9, 1.0}) {
    SCOPED_TRACE(f);
    const auto kept = SubsampleTrain(d, s.train, f, 7);
    // Size: round(f * n), but never below one row per training user.
    const size_t expected =
        std::max<size_t>(static_cast<size_t>(std::llround(f * static_cast<double>(s.train.size()))),
                         train_users.size());
    EXPECT_EQ(kept.size(), expected);
    EXPECT_TRUE(std::is_sorted(kept.begin(), kept.end()));  // train's order preserved
    EXPECT_TRUE(std::includes(s.train.begin(), s.train.end(), kept.begin(), kept.end()));
    EXPECT_TRUE(std::includes(kept.begin(), kept.end(), prev.begin(), prev.end()));
    std::set<Index> users;
    for (int64_t r : kept) users.insert(d.interactions.user[r]);
    EXPECT_EQ(users, train_users);
    prev = kept;
  }
  EXPECT_EQ(SubsampleTrain(d, s.train, 1.0, 7), s.train);
  EXPECT_EQ(SubsampleTrain(d, s.train, 0.3, 7), SubsampleTrain(d, s.train, 0.3, 7));
  EXPECT_NE(SubsampleTrain(d, s.train, 0.3, 7), SubsampleTrain(d, s.train, 0.3, 8));
}

TEST(SubsampleTrain, RejectsFractionsOutsideZeroOne) {
  const Dataset d = MakeData({10}, 10);
  const std::vector<int64_t> train = {0, 1, 2};
  for (double f : {0.0, -0.5, 1.5, std::nan("")})
    EXPECT_THROW(SubsampleTrain(d, train, f, 0), framework::ConfigError) << f;
}

class SplitCacheTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = recfuse::testing::TempDir("split_cache"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(SplitCacheTest, RoundTripReadsTheSameSplitBack) {
  const Dataset d = MakeData({10, 12, 3, 7, 9}, 20);
  for (const char* text : {"ratio:0.8,0.1,0.1", "cold-item:0.3", "cold-user:0.4", "loo"}) {
    SCOPED_TRACE(text);
    const SplitSpec spec = SplitSpec::Parse(text);
    SplitCacheStatus st;
    const Split made = LoadOrMakeSplit(d, spec, 9, dir_, &st);
    EXPECT_EQ(st, SplitCacheStatus::kMiss);
    const std::string path = SplitCachePath(d, spec, 9, dir_);
    ASSERT_TRUE(framework::FileExists(path)) << path;
    const Split loaded = LoadOrMakeSplit(d, spec, 9, dir_, &st);
    EXPECT_EQ(st, SplitCacheStatus::kHit);
    EXPECT_TRUE(SameSplit(made, loaded));
    EXPECT_TRUE(SameSplit(loaded, MakeSplit(d, spec, 9)));
  }
  // No temp files left behind.
  for (const auto& e : std::filesystem::directory_iterator(dir_))
    EXPECT_EQ(e.path().extension(), ".h5") << e.path();
}

TEST_F(SplitCacheTest, KeyDependsOnDataSpecAndSeed) {
  const Dataset d = MakeData({10, 12}, 20);
  const Dataset other = MakeData({10, 13}, 20);
  const SplitSpec spec = SplitSpec::Parse("ratio:0.8,0.1,0.1");
  const std::string p = SplitCachePath(d, spec, 1, dir_);
  EXPECT_NE(p, SplitCachePath(d, spec, 2, dir_));
  EXPECT_NE(p, SplitCachePath(other, spec, 1, dir_));
  EXPECT_NE(p, SplitCachePath(d, SplitSpec::Parse("ratio:0.7,0.1,0.2"), 1, dir_));
  EXPECT_EQ(p, SplitCachePath(d, SplitSpec::Parse("ratio: 0.8, 0.1, 0.1"), 1, dir_));
}

TEST_F(SplitCacheTest, CorruptOrForeignFilesAreRebuilt) {
  const Dataset d = MakeData({10, 12, 3, 7, 9}, 20);
  const SplitSpec spec = SplitSpec::Parse("ratio:0.8,0.1,0.1");
  const Split expected = MakeSplit(d, spec, 5);
  const std::string path = SplitCachePath(d, spec, 5, dir_);
  SplitCacheStatus st;

  recfuse::testing::WriteText(path, "this is not an HDF5 file");
  EXPECT_TRUE(SameSplit(LoadOrMakeSplit(d, spec, 5, dir_, &st), expected));
  EXPECT_EQ(st, SplitCacheStatus::kRebuilt);
  LoadOrMakeSplit(d, spec, 5, dir_, &st);
  EXPECT_EQ(st, SplitCacheStatus::kHit);

  // Truncated: a valid file cut in half.
  const std::string full = framework::ReadFile(path);
  recfuse::testing::WriteText(path, full.substr(0, full.size() / 2));
  EXPECT_TRUE(SameSplit(LoadOrMakeSplit(d, spec, 5, dir_, &st), expected));
  EXPECT_EQ(st, SplitCacheStatus::kRebuilt);

  // A well-formed file made for another seed, copied under this key's name.
  LoadOrMakeSplit(d, spec, 6, dir_, &st);
  std::filesystem::copy_file(SplitCachePath(d, spec, 6, dir_), path,
                             std::filesystem::copy_options::overwrite_existing);
  EXPECT_TRUE(SameSplit(LoadOrMakeSplit(d, spec, 5, dir_, &st), expected));
  EXPECT_EQ(st, SplitCacheStatus::kRebuilt);
  LoadOrMakeSplit(d, spec, 5, dir_, &st);
  EXPECT_EQ(st, SplitCacheStatus::kHit);
}

TEST_F(SplitCacheTest, EmptyDirDisablesCaching) {
  const Dataset d = MakeData({10, 12}, 20);
  SplitCacheStatus st;
  const Split s = LoadOrMakeSplit(d, SplitSpec::Parse("loo"), 0, "", &st);
  EXPECT_EQ(st, SplitCacheStatus::kDisabled);
  EXPECT_TRUE(SameSplit(s, MakeSplit(d, SplitSpec::Parse("loo"), 0)));
}

TEST_F(SplitCacheTest, MissingDirectoryIsCreated) {
  const Dataset d = MakeData({10, 12}, 20);
  const std::string nested = dir_ + "/a/b";
  SplitCacheStatus st;
  LoadOrMakeSplit(d, SplitSpec::Parse("loo"), 0, nested, &st);
  EXPECT_EQ(st, SplitCacheStatus::kMiss);
  EXPECT_TRUE(framework::FileExists(SplitCachePath(d, SplitSpec::Parse("loo"), 0, nested)));
}

// RecBole 1.2.1's own 8:1:1 random split of ml-100k: our per-user part sizes must be
// exactly RecBole's (the rows differ only because the shuffles use different generators).
TEST(MakeSplit, RatioSizesMatchRecBoleOnMl100k) {
  const std::string dir = recfuse::testing::SharedData("ml-100k-recbole-split");
  if (dir.empty()) GTEST_SKIP() << "needs ../shared/datasets/ml-100k-recbole-split";
  Dataset d;
  d.name = "ml-100k";
  std::map<std::string, std::array<int64_t, 3>> recbole;
  const char* parts[3] = {"train", "valid", "test"};
  for (int p = 0; p < 3; ++p) {
    const std::string text = framework::ReadFile(dir + "/ml-100k." + parts[p] + ".inter");
    framework::LineCursor lines(text);
    std::string_view line;
    lines.Next(&line);  // header
    while (lines.Next(&line)) {
      std::string_view f[4];
      ASSERT_EQ(framework::SplitFields(line, '\t', f, 4), 4u)
          << parts[p] << ":" << lines.line_number();
      d.interactions.Add(d.users.GetOrAdd(f[0]), d.items.GetOrAdd(f[1]));
      ++recbole[std::string(f[0])][p];
    }
  }
  ASSERT_EQ(d.interactions.size(), 100000u);
  const Split s = MakeSplit(d, SplitSpec::Parse("ratio:0.8,0.1,0.1"), 2020);
  ExpectPartition(d, s);
  EXPECT_EQ(s.train.size(), 80808u);
  EXPECT_EQ(s.valid.size(), 9596u);
  EXPECT_EQ(s.test.size(), 9596u);
  std::vector<std::array<int64_t, 3>> ours(static_cast<size_t>(d.num_users()), {0, 0, 0});
  const std::vector<int64_t>* mine[3] = {&s.train, &s.valid, &s.test};
  for (int p = 0; p < 3; ++p)
    for (int64_t r : *mine[p]) ++ours[d.interactions.user[r]][p];
  int mismatches = 0;
  for (const auto& [token, counts] : recbole) mismatches += ours[d.users.Find(token)] != counts;
  EXPECT_EQ(mismatches, 0);
}

}  // namespace
}  // namespace recfuse::datasets
