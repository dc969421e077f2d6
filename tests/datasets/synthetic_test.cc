#include "datasets/synthetic.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <unordered_map>

#include "datasets/load.h"
#include "framework/config.h"
#include "framework/error.h"
#include "framework/hash.h"
#include "framework/io.h"
#include "framework/rng.h"
#include "tests/test_util.h"

namespace recfuse::datasets {
namespace {

using Table = std::vector<std::vector<std::string>>;  // header row first

SyntheticOptions Small() {
  SyntheticOptions o;
  o.users = 100;
  o.items = 80;
  o.interactions = 3000;
  o.clusters = 4;
  o.factor_dim = 8;
  o.image_size = 32;
  o.threads = 2;
  return o;
}

// For tests of other modalities: images cost two fsyncs each and are not looked at.
SyntheticOptions SmallNoImages() {
  SyntheticOptions o = Small();
  o.images = false;
  return o;
}

Table ReadTable(const std::string& path) {
  const std::string text = framework::ReadFile(path);
  framework::LineCursor cursor(text);
  std::string_view line;
  Table t;
  while (cursor.Next(&line)) t.push_back(framework::Split(line, '\t'));
  return t;
}

// A generated world in a fresh temporary folder, removed when the object goes away.
struct TempWorld {
  TempWorld(const SyntheticOptions& o, const std::string& tag)
      : dir(testing::TempDir("synth_" + tag)), summary(GenerateSynthetic(dir, o)) {}
  ~TempWorld() { std::filesystem::remove_all(dir); }
  TempWorld(const TempWorld&) = delete;
  TempWorld& operator=(const TempWorld&) = delete;
  std::string dir;
  SyntheticSummary summary;
};

int Row(const std::string& token) { return std::stoi(token.substr(1)); }  // "i12" -> 12

std::map<std::string, std::string> HashTree(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    framework::Hasher h;
    h.Add(framework::ReadFile(e.path().string()));
    out[std::filesystem::relative(e.path(), dir).string()] = h.HexDigest();
  }
  return out;
}

std::vector<std::string> Words(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& raw : framework::Split(text, ' ', true)) {
    std::string w;
    for (char c : raw)
      if (std::isalpha(static_cast<unsigned char>(c)))
        w += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!w.empty()) out.push_back(w);
  }
  return out;
}

TEST(Synthetic, WritesEveryFileWithItsHeaderAndCounts) {
  const TempWorld world(Small(), "files");
  const std::string& dir = world.dir;
  const SyntheticSummary& s = world.summary;
  EXPECT_EQ(s.users, 100);
  EXPECT_EQ(s.items, 80);
  EXPECT_EQ(s.interactions, 3000);
  EXPECT_EQ(s.images, 80);
  EXPECT_EQ(s.kg_triples, 4 * 80);

  const Table inter = ReadTable(dir + "/synthetic.inter");
  EXPECT_EQ(inter[0], (std::vector<std::string>{"user_id:token", "item_id:token", "rating:float",
                                                "timestamp:float"}));
  EXPECT_EQ(inter.size(), 3001u);
  const Table item = ReadTable(dir + "/synthetic.item");
  EXPECT_EQ(item[0], (std::vector<std::string>{"item_id:token", "category:token", "brand:token",
                                               "price:float"}));
  EXPECT_EQ(item.size(), 81u);
  const Table user = ReadTable(dir + "/synthetic.user");
  EXPECT_EQ(user[0],
            (std::vector<std::string>{"user_id:token", "age_group:token", "segment:token"}));
  EXPECT_EQ(user.size(), 101u);
  const Table text = ReadTable(dir + "/synthetic.text");
  EXPECT_EQ(text[0], (std::vector<std::string>{"item_id:token", "description:text"}));
  EXPECT_EQ(text.size(), 81u);
  for (size_t r = 1; r < text.size(); ++r) {
    const size_t n = Words(text[r][1]).size();
    EXPECT_GE(n, 20u);
    EXPECT_LE(n, 60u);
  }
  const Table review = ReadTable(dir + "/synthetic.review");
  EXPECT_EQ(review[0], (std::vector<std::string>{"user_id:token", "item_id:token",
                                                 "timestamp:float", "review:text"}));
  EXPECT_EQ(static_cast<int64_t>(review.size()) - 1, s.reviews);
  // review_fraction = 0.3 of 3000 interactions: binomial sd ~ 25.
  EXPECT_NEAR(static_cast<double>(s.reviews), 900.0, 120.0);
  const Table kg = ReadTable(dir + "/synthetic.kg");
  EXPECT_EQ(kg[0],
            (std::vector<std::string>{"head_id:token", "relation_id:token", "tail_id:token"}));
  EXPECT_EQ(kg.size(), 4u * 80 + 1);
  const Table link = ReadTable(dir + "/synthetic.link");
  EXPECT_EQ(link[0], (std::vector<std::string>{"item_id:token", "entity_id:token"}));
  EXPECT_EQ(link.size(), 81u);
  for (int i = 0; i < 80; ++i) {
    const std::string png = dir + "/images/i" + std::to_string(i) + ".png";
    ASSERT_TRUE(framework::FileExists(png)) << png;
    const ImageBgr img = ReadImageBgr(png);
    EXPECT_EQ(img.width, 32);
    EXPECT_EQ(img.height, 32);
  }
  const Table ti = ReadTable(dir + "/truth_items.tsv");
  EXPECT_EQ(ti[0].size(), 4u + 8u);
  EXPECT_EQ(ti[0][0], "item_token");
  EXPECT_EQ(ti[0][4], "f0");
  EXPECT_EQ(ti.size(), 81u);
  EXPECT_EQ(ReadTable(dir + "/truth_users.tsv").size(), 101u);
  EXPECT_TRUE(framework::FileExists(dir + "/truth_meta.json"));
  // Every review belongs to an interaction, at its time.
  std::set<std::string> keys;
  for (size_t r = 1; r < inter.size(); ++r)
    keys.insert(inter[r][0] + " " + inter[r][1] + " " + inter[r][3]);
  for (size_t r = 1; r < review.size(); ++r)
    EXPECT_TRUE(keys.count(review[r][0] + " " + review[r][1] + " " + review[r][2])) << r;
}

TEST(Synthetic, InteractionsAreDistinctTimeOrderedAndRated) {
  const TempWorld world(SmallNoImages(), "valid");
  const std::string& dir = world.dir;
  const Table inter = ReadTable(dir + "/synthetic.inter");
  std::set<std::pair<std::string, std::string>> pairs;
  std::map<std::string, int64_t> last_time;
  std::set<std::string> users;
  std::map<int, int> rating_hist;
  for (size_t r = 1; r < inter.size(); ++r) {
    EXPECT_TRUE(pairs.insert({inter[r][0], inter[r][1]}).second) << "duplicate pair at row " << r;
    const int rating = std::stoi(inter[r][2]);
    EXPECT_GE(rating, 1);
    EXPECT_LE(rating, 5);
    ++rating_hist[rating];
    const int64_t t = std::stoll(inter[r][3]);
    auto it = last_time.find(inter[r][0]);
    if (it != last_time.end()) EXPECT_GT(t, it->second) << "row " << r;
    last_time[inter[r][0]] = t;
    users.insert(inter[r][0]);
  }
  EXPECT_EQ(users.size(), 100u);  // every user has at least one interaction
  // Ratings are spread, not constant: at least three distinct levels in use.
  EXPECT_GE(rating_hist.size(), 3u);
}

TEST(Synthetic, SameSeedGivesIdenticalBytesWhateverTheThreadCount) {
  SyntheticOptions a = Small();
  a.threads = 1;
  SyntheticOptions b = Small();
  b.threads = 2;
  const auto ha = HashTree(TempWorld(a, "det_a").dir);
  const auto hb = HashTree(TempWorld(b, "det_b").dir);
  EXPECT_EQ(ha.size(), 80u + 7u + 4u);  // images + 7 atomic files + 4 truth files
  EXPECT_EQ(ha, hb);
  SyntheticOptions c = Small();
  c.seed = 1;
  const auto hc = HashTree(TempWorld(c, "det_c").dir);
  EXPECT_NE(ha.at("synthetic.inter"), hc.at("synthetic.inter"));
  EXPECT_NE(ha.at("images/i0.png"), hc.at("images/i0.png"));
}

TEST(Synthetic, ModalitySignalsDoNotChangeTheInteractions) {
  SyntheticOptions a = Small();
  SyntheticOptions b = Small();
  b.signal_image = 0;
  b.signal_text = 1;
  b.signal_kg = 1;
  b.review_fraction = 0.7;
  const auto ha = HashTree(TempWorld(a, "indep_a").dir);
  const auto hb = HashTree(TempWorld(b, "indep_b").dir);
  EXPECT_EQ(ha.at("synthetic.inter"), hb.at("synthetic.inter"));
  EXPECT_EQ(ha.at("truth_items.tsv"), hb.at("truth_items.tsv"));
  EXPECT_NE(ha.at("synthetic.text"), hb.at("synthetic.text"));
  EXPECT_NE(ha.at("synthetic.kg"), hb.at("synthetic.kg"));
  EXPECT_NE(ha.at("images/i3.png"), hb.at("images/i3.png"));
  // Skipping the images leaves every other data file as it was.
  SyntheticOptions c = Small();
  c.images = false;
  const TempWorld no_images(c, "indep_c");
  const auto hc = HashTree(no_images.dir);
  EXPECT_EQ(no_images.summary.images, 0);
  EXPECT_FALSE(std::filesystem::exists(no_images.dir + "/images"));
  for (const char* f : {"synthetic.inter", "synthetic.item", "synthetic.user", "synthetic.text",
                        "synthetic.review", "synthetic.kg", "synthetic.link", "truth_items.tsv",
                        "truth_users.tsv", "truth_entities.tsv"})
    EXPECT_EQ(ha.at(f), hc.at(f)) << f;
}

// Share of topic words in descriptions that come from the item's own cluster topic.
double TopicPurity(const std::string& dir) {
  const SyntheticTruth truth = ReadSyntheticTruth(dir);
  std::unordered_map<std::string, int> topic_of;
  for (int k = 0; k < truth.clusters; ++k)
    for (const auto& w : truth.topic_words[k]) topic_of[w] = k;
  const Table text = ReadTable(dir + "/synthetic.text");
  int64_t own = 0, all = 0;
  for (size_t r = 1; r < text.size(); ++r) {
    const int c = truth.item_cluster[Row(text[r][0])];
    for (const auto& w : Words(text[r][1])) {
      auto it = topic_of.find(w);
      if (it == topic_of.end()) continue;
      ++all;
      own += it->second == c;
    }
  }
  EXPECT_GT(all, 500);
  return static_cast<double>(own) / static_cast<double>(all);
}

TEST(Synthetic, TextFollowsTheClusterTopicWithStrengthSignalText) {
  SyntheticOptions o = SmallNoImages();
  o.signal_text = 1;
  EXPECT_GT(TopicPurity(TempWorld(o, "text1").dir), 0.99);
  o.signal_text = 0;
  // Expected 1/K = 0.25 when topics are drawn uniformly.
  EXPECT_LT(TopicPurity(TempWorld(o, "text0").dir), 0.35);
  o.signal_text = 0.6;
  // Expected 0.6 + 0.4 / 4 = 0.7.
  EXPECT_NEAR(TopicPurity(TempWorld(o, "text06").dir), 0.7, 0.07);
}

// Nearest-centroid accuracy of the true cluster from image colour features (mean BGR of
// the border and of the centre), centroids from even items, evaluated on odd items.
double ImageClusterAccuracy(const std::string& dir) {
  const SyntheticTruth truth = ReadSyntheticTruth(dir);
  const int K = truth.clusters, n = static_cast<int>(truth.item_tokens.size());
  std::vector<std::array<double, 6>> feat(n);
  for (int i = 0; i < n; ++i) {
    const ImageBgr img = ReadImageBgr(dir + "/images/" + truth.item_tokens[i] + ".png");
    std::array<double, 6> f{};
    int border = 0, centre = 0;
    const int W = img.width, H = img.height;
    for (int y = 0; y < H; ++y)
      for (int x = 0; x < W; ++x) {
        const uint8_t* p = &img.pixels[(static_cast<size_t>(y) * W + x) * 3];
        const bool is_border = x < 3 || y < 3 || x >= W - 3 || y >= H - 3;
        const bool is_centre = std::abs(2 * x - W) < W / 4 && std::abs(2 * y - H) < H / 4;
        for (int ch = 0; ch < 3; ++ch) {
          if (is_border) f[ch] += p[ch];
          if (is_centre) f[3 + ch] += p[ch];
        }
        border += is_border;
        centre += is_centre;
      }
    for (int ch = 0; ch < 3; ++ch) {
      f[ch] /= border;
      f[3 + ch] /= centre;
    }
    feat[i] = f;
  }
  std::vector<std::array<double, 6>> centroid(K, std::array<double, 6>{});
  std::vector<int> count(K, 0);
  for (int i = 0; i < n; i += 2) {
    const int c = truth.item_cluster[i];
    for (int j = 0; j < 6; ++j) centroid[c][j] += feat[i][j];
    ++count[c];
  }
  for (int c = 0; c < K; ++c)
    for (int j = 0; j < 6; ++j) centroid[c][j] /= std::max(1, count[c]);
  int correct = 0, total = 0;
  for (int i = 1; i < n; i += 2) {
    int best = 0;
    double best_d = 1e300;
    for (int c = 0; c < K; ++c) {
      if (count[c] == 0) continue;
      double d = 0;
      for (int j = 0; j < 6; ++j)
        d += (feat[i][j] - centroid[c][j]) * (feat[i][j] - centroid[c][j]);
      if (d < best_d) best_d = d, best = c;
    }
    correct += best == truth.item_cluster[i];
    ++total;
  }
  return static_cast<double>(correct) / total;
}

TEST(Synthetic, ImageColoursSeparateClustersOnlyWithSignal) {
  SyntheticOptions o = Small();
  o.users = 20;
  o.items = 160;
  o.interactions = 200;
  o.image_size = 24;
  o.signal_image = 1;
  EXPECT_GT(ImageClusterAccuracy(TempWorld(o, "img1").dir), 0.95);  // chance is 1/K = 0.25
  o.signal_image = 0;
  EXPECT_LT(ImageClusterAccuracy(TempWorld(o, "img0").dir), 0.45);
}

// Share of items whose has_brand entity belongs to the item's cluster.
double BrandInCluster(const std::string& dir) {
  const SyntheticTruth truth = ReadSyntheticTruth(dir);
  std::unordered_map<std::string, int> entity_cluster;
  for (size_t e = 0; e < truth.entity_tokens.size(); ++e)
    entity_cluster[truth.entity_tokens[e]] = truth.entity_cluster[e];
  const Table kg = ReadTable(dir + "/synthetic.kg");
  const Table item = ReadTable(dir + "/synthetic.item");
  std::map<std::string, std::string> brand_attr;
  for (size_t r = 1; r < item.size(); ++r) brand_attr[item[r][0]] = item[r][2];
  int in = 0, n = 0;
  for (size_t r = 1; r < kg.size(); ++r) {
    if (kg[r][1] != "has_brand") continue;
    const std::string item_token = kg[r][0].substr(2);  // "e_i12" -> "i12"
    EXPECT_EQ("e_" + brand_attr.at(item_token), kg[r][2]) << "item file and KG disagree";
    EXPECT_TRUE(entity_cluster.count(kg[r][2])) << kg[r][2];
    in += entity_cluster[kg[r][2]] == truth.item_cluster[Row(item_token)];
    ++n;
  }
  EXPECT_EQ(n, static_cast<int>(truth.item_tokens.size()));
  return static_cast<double>(in) / n;
}

TEST(Synthetic, KgBrandFollowsTheClusterWithStrengthSignalKg) {
  SyntheticOptions o = SmallNoImages();
  o.users = 20;
  o.items = 400;
  o.interactions = 200;
  o.signal_kg = 1;
  EXPECT_DOUBLE_EQ(BrandInCluster(TempWorld(o, "kg1").dir), 1.0);
  o.signal_kg = 0.3;
  // Own-cluster brand with probability s + (1 - s) / K = 0.3 + 0.7 / 4 = 0.475; sd ~ 0.025.
  EXPECT_NEAR(BrandInCluster(TempWorld(o, "kg03").dir), 0.475, 0.08);
  o.signal_kg = 0;
  EXPECT_NEAR(BrandInCluster(TempWorld(o, "kg0").dir), 0.25, 0.08);
}

TEST(Synthetic, InteractedPairsHaveHigherOracleScoresThanRandomPairs) {
  // A sparse world (5% density), so that draws without replacement do not exhaust the
  // preferred items.
  SyntheticOptions o = SmallNoImages();
  o.items = 400;
  o.interactions = 2000;
  const TempWorld world(o, "oracle");
  const std::string& dir = world.dir;
  const SyntheticTruth truth = ReadSyntheticTruth(dir);
  const Table inter = ReadTable(dir + "/synthetic.inter");
  framework::Rng rng(7);
  double pos = 0, neg = 0;
  int64_t wins = 0, n = 0;
  for (size_t r = 1; r < inter.size(); ++r) {
    const size_t u = Row(inter[r][0]);
    const double sp = OracleScore(truth, u, Row(inter[r][1]));
    const double sn = OracleScore(truth, u, rng.UniformInt(truth.item_tokens.size()));
    pos += sp;
    neg += sn;
    wins += sp > sn;
    ++n;
  }
  pos /= n;
  neg /= n;
  EXPECT_GT(pos, neg + 1.0) << "pos " << pos << " neg " << neg;
  // Measured 0.75 here (0.77 in the default world): softmax sampling at temperature 1 is
  // deliberately noisy, so the bar is "clearly better than the 0.5 of chance".
  EXPECT_GT(static_cast<double>(wins) / n, 0.7);
}

TEST(Synthetic, OracleIsTheDotProductPlusBiasOfTheTruthFiles) {
  const SyntheticOptions o = SmallNoImages();
  const TempWorld world(o, "truth");
  const std::string& dir = world.dir;
  const SyntheticTruth truth = ReadSyntheticTruth(dir);
  EXPECT_EQ(truth.options.users, o.users);
  EXPECT_EQ(truth.options.interactions, o.interactions);
  EXPECT_DOUBLE_EQ(truth.options.signal_text, o.signal_text);
  EXPECT_FALSE(truth.options.images);
  ASSERT_EQ(truth.item_tokens.size(), 80u);
  ASSERT_EQ(truth.user_tokens.size(), 100u);
  EXPECT_EQ(truth.item_tokens[5], "i5");
  EXPECT_EQ(truth.user_tokens[7], "u7");
  // By hand from the raw text of truth_users.tsv row u3 and truth_items.tsv row i11.
  const Table tu = ReadTable(dir + "/truth_users.tsv");
  const Table ti = ReadTable(dir + "/truth_items.tsv");
  double expect = std::stod(ti[12][3]);
  for (int j = 0; j < 8; ++j) expect += std::stod(tu[4][3 + j]) * std::stod(ti[12][4 + j]);
  EXPECT_NEAR(OracleScore(truth, 3, 11), expect, 1e-6);
  EXPECT_THROW(OracleScore(truth, 100, 0), framework::UnknownIdError);
  EXPECT_THROW(OracleScore(truth, 0, 80), framework::UnknownIdError);
  // The transition matrix is stochastic and peaks at the successor cluster.
  ASSERT_EQ(truth.transition.size(), 4u);
  for (int c = 0; c < 4; ++c) {
    double sum = 0;
    for (double p : truth.transition[c]) sum += p;
    EXPECT_NEAR(sum, 1.0, 1e-12);
    EXPECT_NE(truth.successor[c], c);
    EXPECT_NEAR(truth.transition[c][truth.successor[c]], 0.7 + 0.2 / 4, 1e-12);
  }
}

// Share of consecutive interactions (per user, by time) whose item lies in the successor
// cluster of the previous item's cluster.
double SuccessorShare(const std::string& dir) {
  const SyntheticTruth truth = ReadSyntheticTruth(dir);
  const Table inter = ReadTable(dir + "/synthetic.inter");
  std::map<std::string, std::vector<std::pair<int64_t, int>>> seq;
  for (size_t r = 1; r < inter.size(); ++r)
    seq[inter[r][0]].push_back({std::stoll(inter[r][3]), truth.item_cluster[Row(inter[r][1])]});
  int64_t hit = 0, n = 0;
  for (auto& [u, s] : seq) {
    std::sort(s.begin(), s.end());
    for (size_t k = 1; k < s.size(); ++k) {
      hit += s[k].second == truth.successor[s[k - 1].second];
      ++n;
    }
  }
  return static_cast<double>(hit) / n;
}

TEST(Synthetic, ConsecutiveItemsFollowTheTransitionMatrixUnderMarkovStrength) {
  SyntheticOptions o = SmallNoImages();
  o.markov_strength = 0;
  const double none = SuccessorShare(TempWorld(o, "markov0").dir);
  o.markov_strength = 0.9;
  const double strong = SuccessorShare(TempWorld(o, "markov9").dir);
  EXPECT_LT(none, 0.4);
  EXPECT_GT(strong, none + 0.25) << "none " << none << " strong " << strong;
}

TEST(Synthetic, ColdItemsAreFlaggedAndRarelyInteracted) {
  SyntheticOptions o = SmallNoImages();
  o.items = 200;
  o.cold_item_fraction = 0.1;
  const TempWorld world(o, "cold");
  const std::string& dir = world.dir;
  const SyntheticTruth truth = ReadSyntheticTruth(dir);
  int cold = 0;
  for (uint8_t c : truth.item_cold) cold += c;
  EXPECT_EQ(cold, 20);
  std::vector<int> degree(200, 0);
  const Table inter = ReadTable(dir + "/synthetic.inter");
  for (size_t r = 1; r < inter.size(); ++r) ++degree[Row(inter[r][1])];
  double cold_mean = 0, warm_mean = 0;
  for (int i = 0; i < 200; ++i) (truth.item_cold[i] ? cold_mean : warm_mean) += degree[i];
  cold_mean /= 20;
  warm_mean /= 180;
  EXPECT_LT(cold_mean, 0.2 * warm_mean) << "cold " << cold_mean << " warm " << warm_mean;
  // Cold items still carry their content: a description and KG facts.
  const Table text = ReadTable(dir + "/synthetic.text");
  EXPECT_EQ(text.size(), 201u);
  std::map<std::string, int> kg_facts;
  const Table kg = ReadTable(dir + "/synthetic.kg");
  for (size_t r = 1; r < kg.size(); ++r) ++kg_facts[kg[r][0]];
  for (int i = 0; i < 200; ++i)
    if (truth.item_cold[i]) EXPECT_EQ(kg_facts["e_i" + std::to_string(i)], 4) << i;
}

TEST(Synthetic, InvalidOptionsAreConfigErrors) {
  framework::Config c;
  c.Set("users", "0", "--set");
  EXPECT_THROW(SyntheticOptionsFromConfig(c), framework::ConfigError);
  framework::Config t;
  t.Set("signal_text", "1.5", "--set");
  try {
    SyntheticOptionsFromConfig(t);
    FAIL() << "expected ConfigError";
  } catch (const framework::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("signal_text"), std::string::npos) << e.what();
  }
  framework::Config u;
  u.Set("signal_txt", "0.5", "--set");
  try {
    SyntheticOptionsFromConfig(u);
    FAIL() << "expected ConfigError";
  } catch (const framework::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown key 'signal_txt'"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("signal_text"), std::string::npos) << e.what();
  }
  SyntheticOptions o = Small();
  o.interactions = 50;  // fewer than users
  const std::string bad_dir = testing::TempDir("synth_bad");
  EXPECT_THROW(GenerateSynthetic(bad_dir, o), framework::ConfigError);
  std::filesystem::remove_all(bad_dir);
  o = Small();
  o.interactions = 100 * 40;  // each user can take at most (80 - 8) / 2 = 36
  EXPECT_THROW(CheckSyntheticOptions(o), framework::ConfigError);
  o = Small();
  o.signal_kg = -0.1;
  EXPECT_THROW(CheckSyntheticOptions(o), framework::ConfigError);
}

TEST(Synthetic, OptionsRoundTripThroughConfig) {
  SyntheticOptions o = Small();
  o.seed = 12345;
  o.signal_text = 0.123456789;
  o.temperature = 0.7;
  const SyntheticOptions back = SyntheticOptionsFromConfig(SyntheticOptionsToConfig(o));
  EXPECT_EQ(back.seed, 12345u);
  EXPECT_EQ(back.signal_text, 0.123456789);
  EXPECT_EQ(back.temperature, 0.7);
  EXPECT_EQ(back.items, 80);
  // Defaults come from the spec table.
  const SyntheticOptions def = SyntheticOptionsFromConfig(framework::Config());
  EXPECT_EQ(def.users, 2000);
  EXPECT_EQ(def.items, 1500);
  EXPECT_EQ(def.interactions, 100000);
  EXPECT_EQ(def.signal_image, 0.9);
  EXPECT_EQ(def.signal_text, 0.6);
  EXPECT_EQ(def.signal_kg, 0.3);
}

TEST(Synthetic, MalformedTruthIsADataErrorNamingFileAndLine) {
  const TempWorld world(SmallNoImages(), "badtruth");
  const std::string& dir = world.dir;
  std::string items = framework::ReadFile(dir + "/truth_items.tsv");
  // Corrupt the cluster of the second data row (line 3).
  size_t line3 = items.find('\n', items.find('\n') + 1) + 1;
  size_t tab = items.find('\t', line3);
  items.replace(tab + 1, 1, "x");
  framework::WriteFileAtomic(dir + "/truth_items.tsv", items);
  try {
    ReadSyntheticTruth(dir);
    FAIL() << "expected DataError";
  } catch (const framework::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("truth_items.tsv:3:"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ReadSyntheticTruth(dir + "/nonexistent"), framework::IoError);
}

// The format contract with the atomic loader: every modality arrives in the Dataset.
TEST(Synthetic, LoadsThroughTheAtomicLoaderWithEveryModality) {
  const TempWorld world(Small(), "load");
  const Dataset data = LoadDataset(world.dir);
  EXPECT_EQ(data.num_users(), 100);
  EXPECT_EQ(data.num_items(), 80);
  EXPECT_EQ(static_cast<int64_t>(data.interactions.size()), 3000);
  EXPECT_TRUE(data.interactions.has_rating);
  EXPECT_TRUE(data.interactions.has_timestamp);
  ASSERT_EQ(data.item_text.size(), 1u);
  EXPECT_EQ(data.item_text[0].name, "description");
  for (const auto& t : data.item_text[0].values) EXPECT_FALSE(t.empty());
  EXPECT_EQ(static_cast<int64_t>(data.reviews.size()), world.summary.reviews);
  for (const auto& r : data.reviews) EXPECT_NE(r.user, kNoId);
  EXPECT_EQ(data.report.missing_images, 0);
  for (Index i = 0; i < data.num_items(); ++i) {
    EXPECT_FALSE(data.item_image[i].empty()) << data.items.Token(i);
    EXPECT_NE(data.item_entity[i], kNoId) << data.items.Token(i);
  }
  EXPECT_EQ(static_cast<int64_t>(data.kg.size()), world.summary.kg_triples);
  EXPECT_EQ(data.relations.size(), 4);
  std::set<std::string> item_fields, user_fields;
  for (const auto& f : data.item_categorical) item_fields.insert(f.name);
  for (const auto& f : data.item_numeric) item_fields.insert(f.name);
  for (const auto& f : data.user_categorical) user_fields.insert(f.name);
  EXPECT_EQ(item_fields, (std::set<std::string>{"brand", "category", "price"}));
  EXPECT_EQ(user_fields, (std::set<std::string>{"age_group", "segment"}));
}

// Not a unit test: measures the full default world once. Run with
//   synthetic... --gtest_also_run_disabled_tests --gtest_filter=*DefaultWorld*
TEST(Synthetic, DISABLED_DefaultWorldGenerationTime) {
  const std::string dir = testing::TempDir("synth_default");
  const SyntheticSummary s = GenerateSynthetic(dir, SyntheticOptions());
  std::printf(
      "default world: %lld users, %lld items, %lld interactions, %lld reviews, "
      "%lld kg triples, %lld images in %.2f s\n",
      static_cast<long long>(s.users), static_cast<long long>(s.items),
      static_cast<long long>(s.interactions), static_cast<long long>(s.reviews),
      static_cast<long long>(s.kg_triples), static_cast<long long>(s.images), s.seconds);
  EXPECT_EQ(s.interactions, 100000);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace recfuse::datasets
