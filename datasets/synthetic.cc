#include "datasets/synthetic.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>
#include <string_view>

#include "framework/error.h"
#include "framework/io.h"
#include "framework/parallel.h"
#include "framework/rng.h"
#include "framework/sysinfo.h"

namespace recfuse::datasets {

namespace {

using framework::ConfigError;
using framework::DataError;
using framework::DeriveSeed;
using framework::ParamSpec;
using framework::ParamType;
using framework::Rng;

// Bumped whenever the same options would produce different files.
constexpr int kGeneratorVersion = 1;

// Independent random streams (DeriveSeed(seed, stream)): one per consumer, so that a
// parameter of one modality never shifts the numbers another one sees.
enum Stream : uint64_t {
  kStreamItemWorld = 1,
  kStreamUserWorld = 2,
  kStreamVocabulary = 3,
  kStreamSampling = 4,
  kStreamReviewPick = 5,
  kStreamReviewText = 6,
  kStreamDescription = 7,
  kStreamKg = 8,
  kStreamImage = 9,
  kStreamUserAttributes = 10,
};

constexpr int kTopicWords = 40;
constexpr int kBrandsPerCluster = 4;
constexpr int kCategoriesPerCluster = 2;
constexpr int kCreatorsPerCluster = 6;
constexpr int kShapes = 8;
constexpr int kMaxInitialPerUser = 5;
constexpr double kSuccessorMass = 0.7;
constexpr double kSelfMass = 0.1;
constexpr double kUniformMass = 0.2;
constexpr int64_t kEpochStart = 978307200;  // 2001-01-01T00:00:00Z
constexpr int64_t kStartSpread = 2 * 365 * 86400;
constexpr int64_t kSessionGapMin = 3600;
constexpr double kSessionGapMean = 4 * 86400;
constexpr int64_t kItemGapMin = 20;
constexpr double kItemGapMean = 180;
constexpr double kFunctionWordShare = 0.3;
constexpr double kFacetShare = 0.25;
constexpr double kReviewSentimentShare = 0.3;
// With these, the default world's rating histogram resembles MovieLens (mean ~3.5, mode 4).
constexpr double kRatingCentre = 3.0;
constexpr double kRatingSlope = 0.85;

const char* const kShapeNames[kShapes] = {"circle",  "square",  "triangle", "star",
                                          "diamond", "hexagon", "cross",    "ring"};
const char* const kAgeGroups[] = {"18-24", "25-34", "35-44", "45-54", "55-64", "65+"};
constexpr int kNumAgeGroups = 6;

const std::vector<std::string>& FunctionWords() {
  static const std::vector<std::string> k = {
      "the",  "a",   "an",  "and",  "with",  "of",     "for",  "in",    "on",    "this",
      "that", "its", "is",  "very", "quite", "really", "more", "most",  "some",  "from",
      "by",   "to",  "as",  "it",   "has",   "was",    "be",   "so",    "also",  "just",
      "well", "all", "one", "our",  "new",   "what",   "when", "where", "which", "there"};
  return k;
}

const std::vector<std::vector<std::string>>& SentimentWords() {
  static const std::vector<std::vector<std::string>> k = {
      {"terrible", "awful", "useless", "broken", "hate", "worst", "waste", "horrible"},
      {"disappointing", "poor", "weak", "mediocre", "flawed", "bland", "dull", "lacking"},
      {"okay", "average", "decent", "fine", "mixed", "acceptable", "ordinary", "fair"},
      {"good", "nice", "solid", "enjoyable", "pleasant", "recommended", "handy", "likeable"},
      {"excellent", "amazing", "perfect", "love", "wonderful", "brilliant", "outstanding",
       "superb"}};
  return k;
}

// ---------------------------------------------------------------------------------------
// Options

std::string FormatDouble(double v) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}

void AppendFloat(std::string& out, float v) {
  char buf[48];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, res.ptr);
}

void AppendInt(std::string& out, int64_t v) {
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, res.ptr);
}

std::vector<ParamSpec> BuildSpecs() {
  const SyntheticOptions d;
  auto i = [](const char* name, int64_t def, double lo, double hi, const char* desc) {
    return ParamSpec{name, ParamType::kInt, std::to_string(def), desc, lo, hi, {}};
  };
  auto f = [](const char* name, double def, double lo, double hi, const char* desc) {
    return ParamSpec{name, ParamType::kFloat, FormatDouble(def), desc, lo, hi, {}};
  };
  return {
      i("seed", static_cast<int64_t>(d.seed), 0, 9.2e18, "random seed of the whole world"),
      i("users", d.users, 1, 1e8, "number of users"),
      i("items", d.items, 2, 1e8, "number of items (cold ones included)"),
      i("interactions", d.interactions, 1, 1e10,
        "exact number of (distinct) user-item interactions"),
      i("clusters", d.clusters, 1, 10000, "number of latent clusters K"),
      i("factor_dim", d.factor_dim, 1, 4096, "dimension d of the latent factors"),
      i("image_size", d.image_size, 8, 2048, "side of the square item images, in pixels"),
      f("cold_item_fraction", d.cold_item_fraction, 0, 0.9,
        "share of items that are cold (content but little exposure)"),
      f("cold_item_popularity", d.cold_item_popularity, 0, 1,
        "sampling-weight multiplier of cold items"),
      f("signal_image", d.signal_image, 0, 1,
        "probability that an image attribute follows the item's latent values"),
      f("signal_text", d.signal_text, 0, 1,
        "probability that a content word comes from the item's cluster topic"),
      f("signal_kg", d.signal_kg, 0, 1,
        "probability that a brand/category/creator/similar_to/price follows the cluster"),
      f("signal_user", d.signal_user, 0, 1,
        "probability that a user attribute follows the user's cluster"),
      f("markov_strength", d.markov_strength, 0, 1,
        "probability that a next item in a session comes from the transition cluster"),
      f("review_fraction", d.review_fraction, 0, 1, "share of interactions with a review"),
      f("popularity_skew", d.popularity_skew, 0, 5,
        "Zipf exponent of the item popularity bias b_i = -skew * ln(rank_i)"),
      f("temperature", d.temperature, 0.01, 100, "softmax temperature of item sampling"),
      f("cluster_separation", d.cluster_separation, 0, 100, "norm of the cluster centres"),
      f("item_noise", d.item_noise, 0, 100, "expected norm of an item's offset from its centre"),
      f("user_noise", d.user_noise, 0, 100, "expected norm of a user's factor noise"),
      f("user_focus", d.user_focus, 0, 1,
        "weight of the user's primary cluster (the rest on a secondary one)"),
      f("session_length", d.session_length, 1, 10000, "mean number of items per session"),
      f("activity_skew", d.activity_skew, 0, 5,
        "log-normal sigma of user activity (0 = equal activity)"),
      f("rating_noise", d.rating_noise, 0, 10, "stddev of the rating noise, in rating points"),
      f("image_noise", d.image_noise, 0, 128, "stddev of the per-pixel image noise (0-255 scale)"),
      ParamSpec{"images",
                ParamType::kBool,
                d.images ? "true" : "false",
                "render item images (false: no image modality, much faster)",
                0,
                1,
                {}},
      i("threads", d.threads, 0, 1024, "worker threads (0 = all cores); never changes output"),
  };
}

int64_t NumColdItems(const SyntheticOptions& o) {
  return std::llround(o.cold_item_fraction * static_cast<double>(o.items));
}

int64_t MaxPerUser(const SyntheticOptions& o) {
  return std::max<int64_t>(1, (o.items - NumColdItems(o)) / 2);
}

// ---------------------------------------------------------------------------------------
// The latent world

struct ClusterLook {
  double bg_hue = 0, fg_hue = 0, stripe_angle = 0;
  int shape = 0;
};

struct World {
  int K = 0, d = 0;
  std::vector<std::vector<float>> centres;      // K x d
  std::vector<int> successor;                   // K
  std::vector<std::vector<double>> transition;  // K x K
  std::vector<ClusterLook> look;                // K
  std::vector<double> log_price;                // K
  std::vector<int> item_cluster;
  std::vector<std::vector<float>> item_factor;
  std::vector<float> item_bias;
  std::vector<uint8_t> item_cold;
  std::vector<std::vector<int>> cluster_items;  // item rows per cluster, ascending
  std::vector<int> user_cluster, user_secondary;
  std::vector<std::vector<float>> user_factor;
  std::vector<int64_t> user_count;  // interactions per user
  // Vocabularies.
  std::vector<std::vector<std::string>> topic;    // K x kTopicWords
  std::vector<std::array<std::string, 2>> facet;  // d x (low, high)
};

std::vector<float> RandomDirection(Rng& rng, int d, double norm) {
  std::vector<double> g(d);
  double n2 = 0;
  do {
    n2 = 0;
    for (auto& x : g) {
      x = rng.Normal();
      n2 += x * x;
    }
  } while (n2 == 0);
  const double scale = norm / std::sqrt(n2);
  std::vector<float> out(d);
  for (int j = 0; j < d; ++j) out[j] = static_cast<float>(g[j] * scale);
  return out;
}

std::vector<int> Permutation(Rng& rng, int n) {
  std::vector<int> p(n);
  std::iota(p.begin(), p.end(), 0);
  rng.Shuffle(p);
  return p;
}

void BuildItemWorld(const SyntheticOptions& o, World& w) {
  Rng rng(DeriveSeed(o.seed, kStreamItemWorld));
  const int K = w.K, d = w.d;
  w.centres.resize(K);
  for (int k = 0; k < K; ++k) w.centres[k] = RandomDirection(rng, d, o.cluster_separation);

  // A single cycle through all clusters, so sigma(c) != c whenever K > 1.
  const std::vector<int> cycle = Permutation(rng, K);
  w.successor.assign(K, 0);
  for (int j = 0; j < K; ++j) w.successor[cycle[j]] = cycle[(j + 1) % K];
  w.transition.assign(K, std::vector<double>(K, kUniformMass / K));
  for (int k = 0; k < K; ++k) {
    w.transition[k][w.successor[k]] += kSuccessorMass;
    w.transition[k][k] += kSelfMass;
  }

  const double hue_offset = rng.Uniform(0, 360);
  const double angle_offset = rng.Uniform(0, 180);
  const std::vector<int> shape_perm = Permutation(rng, kShapes);
  w.look.resize(K);
  for (int k = 0; k < K; ++k) {
    auto& l = w.look[k];
    l.bg_hue = std::fmod(hue_offset + 360.0 * k / K, 360.0);
    // Opposite-ish hue, shifted by half a step so no cluster's shape colour equals
    // another cluster's background.
    l.fg_hue = std::fmod(l.bg_hue + 180.0 + 180.0 / K, 360.0);
    l.stripe_angle = std::fmod(angle_offset + 180.0 * k / K, 180.0);
    l.shape = shape_perm[k % kShapes];
  }
  const std::vector<int> price_perm = Permutation(rng, K);
  w.log_price.resize(K);
  for (int k = 0; k < K; ++k) {
    const double t = K > 1 ? static_cast<double>(price_perm[k]) / (K - 1) : 0.5;
    w.log_price[k] = std::log(5.0) + t * (std::log(200.0) - std::log(5.0));
  }

  const int n = o.items;
  w.item_cluster.resize(n);
  for (int i = 0; i < n; ++i) w.item_cluster[i] = static_cast<int>(rng.UniformInt(K));
  const double noise = o.item_noise / std::sqrt(static_cast<double>(d));
  w.item_factor.assign(n, std::vector<float>(d));
  for (int i = 0; i < n; ++i) {
    const auto& mu = w.centres[w.item_cluster[i]];
    for (int j = 0; j < d; ++j)
      w.item_factor[i][j] = static_cast<float>(mu[j] + noise * rng.Normal());
  }
  const std::vector<int> rank = Permutation(rng, n);
  w.item_bias.resize(n);
  for (int i = 0; i < n; ++i)
    w.item_bias[i] = static_cast<float>(-o.popularity_skew * std::log(rank[i] + 1.0));
  const std::vector<int> cold_order = Permutation(rng, n);
  w.item_cold.assign(n, 0);
  const int64_t n_cold = NumColdItems(o);
  for (int64_t j = 0; j < n_cold; ++j) w.item_cold[cold_order[j]] = 1;

  w.cluster_items.assign(K, {});
  for (int i = 0; i < n; ++i) w.cluster_items[w.item_cluster[i]].push_back(i);
}

// Shares `interactions` among users: a floor each, the rest by log-normal activity,
// water-filled under the per-user cap, rounded by largest remainder (exact total).
std::vector<int64_t> AllocateCounts(const SyntheticOptions& o, const std::vector<double>& act) {
  const int64_t U = o.users;
  const int64_t cap = MaxPerUser(o);
  const int64_t m0 = std::min<int64_t>({kMaxInitialPerUser, o.interactions / U, cap});
  std::vector<int64_t> count(U, m0);
  const int64_t R = o.interactions - U * m0;
  const int64_t room = cap - m0;
  std::vector<uint8_t> capped(U, 0);
  std::vector<double> share(U, 0);
  int64_t capped_total = 0;
  for (;;) {
    double A = 0;
    for (int64_t u = 0; u < U; ++u)
      if (!capped[u]) A += act[u];
    const double rem = static_cast<double>(R - capped_total);
    bool changed = false;
    for (int64_t u = 0; u < U; ++u) {
      if (capped[u]) continue;
      share[u] = A > 0 ? rem * act[u] / A : 0;
      if (share[u] > static_cast<double>(room)) {
        capped[u] = 1;
        capped_total += room;
        changed = true;
      }
    }
    if (!changed) break;
  }
  int64_t assigned = 0;
  std::vector<std::pair<double, int64_t>> frac;
  for (int64_t u = 0; u < U; ++u) {
    const int64_t extra = capped[u] ? room : static_cast<int64_t>(std::floor(share[u]));
    count[u] += extra;
    assigned += extra;
    if (!capped[u]) frac.push_back({share[u] - std::floor(share[u]), u});
  }
  std::sort(frac.begin(), frac.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  int64_t left = R - assigned;
  // Round-robin guards against floating-point sums leaving more than one pass of remainder.
  while (left > 0) {
    bool progressed = false;
    for (const auto& [f, u] : frac) {
      if (left == 0) break;
      if (count[u] < cap) {
        ++count[u];
        --left;
        progressed = true;
      }
    }
    if (!progressed) {
      for (int64_t u = 0; u < U && left > 0; ++u) {
        const int64_t add = std::min(left, cap - count[u]);
        count[u] += add;
        left -= add;
      }
      RF_CHECK(left == 0, "interaction allocation exceeded the per-user cap");
    }
  }
  return count;
}

void BuildUserWorld(const SyntheticOptions& o, World& w) {
  Rng rng(DeriveSeed(o.seed, kStreamUserWorld));
  const int K = w.K, d = w.d, U = o.users;
  w.user_cluster.resize(U);
  w.user_secondary.resize(U);
  w.user_factor.assign(U, std::vector<float>(d));
  const double noise = o.user_noise / std::sqrt(static_cast<double>(d));
  for (int u = 0; u < U; ++u) {
    const int c = static_cast<int>(rng.UniformInt(K));
    int c2 = c;
    if (K > 1) {
      c2 = static_cast<int>(rng.UniformInt(K - 1));
      if (c2 >= c) ++c2;
    }
    w.user_cluster[u] = c;
    w.user_secondary[u] = c2;
    for (int j = 0; j < d; ++j)
      w.user_factor[u][j] =
          static_cast<float>(o.user_focus * w.centres[c][j] +
                             (1 - o.user_focus) * w.centres[c2][j] + noise * rng.Normal());
  }
  std::vector<double> act(U);
  for (int u = 0; u < U; ++u) act[u] = std::exp(o.activity_skew * rng.Normal());
  w.user_count = AllocateCounts(o, act);
}

// Made-up pronounceable words from syllables; unique across all vocabularies and distinct
// from the English function/sentiment words.
void BuildVocabulary(const SyntheticOptions& o, World& w) {
  static const char* const kOnsets[] = {"b",  "d",  "f",  "g",  "k",  "l", "m",  "n",
                                        "p",  "r",  "s",  "t",  "v",  "z", "br", "dr",
                                        "gr", "kl", "st", "tr", "sh", "ch"};
  static const char* const kVowels[] = {"a", "e", "i", "o", "u", "ai", "ea", "ou"};
  static const char* const kCodas[] = {"", "", "", "n", "r", "l", "s", "m"};
  Rng rng(DeriveSeed(o.seed, kStreamVocabulary));
  std::set<std::string> used(FunctionWords().begin(), FunctionWords().end());
  for (const auto& level : SentimentWords()) used.insert(level.begin(), level.end());
  const int64_t needed = static_cast<int64_t>(w.K) * kTopicWords + 2LL * w.d;
  int64_t attempts = 0;
  auto make_word = [&]() {
    for (;;) {
      RF_CHECK(++attempts < 1000 * needed + 100000, "vocabulary space exhausted");
      std::string s;
      const int syllables = 2 + static_cast<int>(rng.UniformInt(2));
      for (int k = 0; k < syllables; ++k) {
        s += kOnsets[rng.UniformInt(std::size(kOnsets))];
        s += kVowels[rng.UniformInt(std::size(kVowels))];
        if (k + 1 == syllables || rng.Uniform() < 0.3)
          s += kCodas[rng.UniformInt(std::size(kCodas))];
      }
      if (s.size() >= 4 && used.insert(s).second) return s;
    }
  };
  w.topic.assign(w.K, {});
  for (int k = 0; k < w.K; ++k)
    for (int j = 0; j < kTopicWords; ++j) w.topic[k].push_back(make_word());
  w.facet.resize(w.d);
  for (int j = 0; j < w.d; ++j) {
    w.facet[j][0] = make_word();
    w.facet[j][1] = make_word();
  }
}

double Dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t j = 0; j < a.size(); ++j) s += static_cast<double>(a[j]) * static_cast<double>(b[j]);
  return s;
}

// The item's offset from its cluster centre along dimension j, in units of its expected
// spread (~N(0,1)); 0 when items sit exactly on their centres.
double Deviation(const World& w, const SyntheticOptions& o, int item, int j) {
  j %= w.d;
  if (o.item_noise <= 0) return 0;
  const double spread = o.item_noise / std::sqrt(static_cast<double>(w.d));
  return (w.item_factor[item][j] - w.centres[w.item_cluster[item]][j]) / spread;
}

// ---------------------------------------------------------------------------------------
// Text

std::string ContentWord(const World& w, const SyntheticOptions& o, int item, Rng& rng) {
  const int c = w.item_cluster[item];
  if (rng.Uniform() < o.signal_text) {
    if (rng.Uniform() < kFacetShare) {
      const int j = static_cast<int>(rng.UniformInt(w.d));
      const bool high = w.item_factor[item][j] > w.centres[c][j];
      return w.facet[j][high ? 1 : 0];
    }
    return w.topic[c][rng.UniformInt(kTopicWords)];
  }
  return w.topic[rng.UniformInt(w.K)][rng.UniformInt(kTopicWords)];
}

// Joins words into sentences of 6-12 words: capitalised, full stop at the end.
std::string Sentences(const std::vector<std::string>& words, Rng& rng) {
  std::string out;
  size_t until = 0;
  for (size_t k = 0; k < words.size(); ++k) {
    const bool first = k == until;
    if (first) until = k + 6 + rng.UniformInt(7);
    if (!out.empty()) out += ' ';
    std::string word = words[k];
    if (first) word[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(word[0])));
    out += word;
    if (k + 1 == until || k + 1 == words.size()) out += '.';
  }
  return out;
}

std::string Description(const World& w, const SyntheticOptions& o, int item) {
  Rng rng(DeriveSeed(DeriveSeed(o.seed, kStreamDescription), item));
  const int n = 20 + static_cast<int>(rng.UniformInt(41));
  std::vector<std::string> words;
  words.reserve(n);
  for (int k = 0; k < n; ++k) {
    if (rng.Uniform() < kFunctionWordShare)
      words.push_back(FunctionWords()[rng.UniformInt(FunctionWords().size())]);
    else
      words.push_back(ContentWord(w, o, item, rng));
  }
  return Sentences(words, rng);
}

std::string ReviewText(const World& w, const SyntheticOptions& o, int item, int rating,
                       uint64_t seed) {
  Rng rng(seed);
  const int n = 8 + static_cast<int>(rng.UniformInt(23));
  const auto& sentiment = SentimentWords()[rating - 1];
  std::vector<std::string> words;
  words.reserve(n);
  for (int k = 0; k < n; ++k) {
    const double r = rng.Uniform();
    if (r < kFunctionWordShare)
      words.push_back(FunctionWords()[rng.UniformInt(FunctionWords().size())]);
    else if (r < kFunctionWordShare + kReviewSentimentShare)
      words.push_back(sentiment[rng.UniformInt(sentiment.size())]);
    else
      words.push_back(ContentWord(w, o, item, rng));
  }
  return Sentences(words, rng);
}

// ---------------------------------------------------------------------------------------
// Interactions

struct UserHistory {
  std::vector<int> item;
  std::vector<int> rating;
  std::vector<int64_t> timestamp;
  std::vector<int> review_pos;  // positions in the history that carry a review
  std::vector<std::string> review_text;
};

// Index drawn with probability proportional to weights[idx[k]] (weights[k] if idx null);
// `u` in [0, 1). Never returns a zero-weight entry when the total is positive.
size_t DrawIndex(const double* weights, const int* idx, size_t n, double total, double u) {
  double r = u * total;
  size_t last_positive = n;
  for (size_t k = 0; k < n; ++k) {
    const double wk = weights[idx ? idx[k] : k];
    if (wk <= 0) continue;
    last_positive = k;
    r -= wk;
    if (r < 0) return k;
  }
  return last_positive;
}

int64_t ExpSeconds(Rng& rng, double mean) {
  return static_cast<int64_t>(std::floor(-mean * std::log(1.0 - rng.Uniform())));
}

void SampleUser(const World& w, const SyntheticOptions& o, int u, std::vector<double>& weight,
                std::vector<double>& dots, UserHistory* out) {
  Rng rng(DeriveSeed(DeriveSeed(o.seed, kStreamSampling), u));
  const int n = o.items, K = w.K;
  const auto& uf = w.user_factor[u];
  double max_s = -std::numeric_limits<double>::infinity();
  double mean = 0;
  for (int i = 0; i < n; ++i) {
    dots[i] = Dot(uf, w.item_factor[i]);
    mean += dots[i];
    max_s = std::max(max_s, dots[i] + w.item_bias[i]);
  }
  mean /= n;
  double var = 0;
  for (int i = 0; i < n; ++i) var += (dots[i] - mean) * (dots[i] - mean);
  const double sd = std::sqrt(var / n);
  for (int i = 0; i < n; ++i) {
    weight[i] = std::exp((dots[i] + w.item_bias[i] - max_s) / o.temperature) *
                (w.item_cold[i] ? o.cold_item_popularity : 1.0);
  }
  std::vector<double> cluster_total(K, 0);
  auto refresh = [&](int k) {
    double s = 0;
    for (int i : w.cluster_items[k]) s += weight[i];
    cluster_total[k] = s;
  };
  for (int k = 0; k < K; ++k) refresh(k);
  std::vector<uint8_t> taken(n, 0);

  const int64_t total = w.user_count[u];
  out->item.reserve(total);
  out->rating.reserve(total);
  out->timestamp.reserve(total);
  int64_t t = kEpochStart + static_cast<int64_t>(rng.UniformInt(kStartSpread));
  const double p_end = 1.0 / o.session_length;
  int64_t done = 0;
  while (done < total) {
    int64_t len = 1;
    if (p_end < 1) {
      len +=
          static_cast<int64_t>(std::floor(std::log(1.0 - rng.Uniform()) / std::log(1.0 - p_end)));
    }
    len = std::min(len, total - done);
    if (done > 0) t += kSessionGapMin + ExpSeconds(rng, kSessionGapMean);
    int prev_cluster = -1;
    for (int64_t step = 0; step < len; ++step) {
      if (step > 0) t += kItemGapMin + ExpSeconds(rng, kItemGapMean);
      const double u_markov = rng.Uniform(), u_cluster = rng.Uniform(), u_item = rng.Uniform();
      double sum_all = 0;
      for (int k = 0; k < K; ++k) sum_all += cluster_total[k];
      int item = -1;
      if (sum_all > 0) {
        int k = -1;
        if (prev_cluster >= 0 && u_markov < o.markov_strength) {
          const auto& row = w.transition[prev_cluster];
          k = static_cast<int>(DrawIndex(row.data(), nullptr, K, 1.0, u_cluster));
          if (k >= K || cluster_total[k] <= 0) k = -1;
        }
        if (k < 0)
          k = static_cast<int>(DrawIndex(cluster_total.data(), nullptr, K, sum_all, u_cluster));
        const auto& members = w.cluster_items[k];
        const size_t pos =
            DrawIndex(weight.data(), members.data(), members.size(), cluster_total[k], u_item);
        item = members[std::min(pos, members.size() - 1)];
      }
      if (item < 0 || taken[item]) {
        // Every remaining weight underflowed (extreme temperature): uniform over unseen items.
        int64_t free = 0;
        for (int i = 0; i < n; ++i) free += !taken[i];
        int64_t pick = static_cast<int64_t>(u_item * static_cast<double>(free));
        for (int i = 0; i < n; ++i) {
          if (taken[i]) continue;
          if (pick-- == 0) {
            item = i;
            break;
          }
        }
      }
      RF_CHECK(item >= 0 && !taken[item], "no item left to sample");
      taken[item] = 1;
      weight[item] = 0;
      refresh(w.item_cluster[item]);
      const double z = sd > 1e-12 ? (dots[item] - mean) / sd : 0.0;
      const double r =
          std::floor(kRatingCentre + kRatingSlope * z + o.rating_noise * rng.Normal() + 0.5);
      out->item.push_back(item);
      out->rating.push_back(static_cast<int>(std::clamp(r, 1.0, 5.0)));
      out->timestamp.push_back(t);
      prev_cluster = w.item_cluster[item];
    }
    done += len;
  }

  Rng pick(DeriveSeed(DeriveSeed(o.seed, kStreamReviewPick), u));
  const uint64_t text_seed = DeriveSeed(DeriveSeed(o.seed, kStreamReviewText), u);
  for (int64_t j = 0; j < total; ++j) {
    if (pick.Uniform() < o.review_fraction) {
      out->review_pos.push_back(static_cast<int>(j));
      out->review_text.push_back(
          ReviewText(w, o, out->item[j], out->rating[j], DeriveSeed(text_seed, j)));
    }
  }
}

// ---------------------------------------------------------------------------------------
// Item facts (KG + attributes)

struct ItemFacts {
  int brand = 0, category = 0, creator = 0, similar = 0;
  double price = 0;
};

ItemFacts MakeFacts(const World& w, const SyntheticOptions& o, int item) {
  Rng rng(DeriveSeed(DeriveSeed(o.seed, kStreamKg), item));
  const int c = w.item_cluster[item], K = w.K, n = o.items;
  auto pick = [&](int per_cluster) {
    const bool follow = rng.Uniform() < o.signal_kg;
    const int own = c * per_cluster + static_cast<int>(rng.UniformInt(per_cluster));
    const int any = static_cast<int>(rng.UniformInt(static_cast<uint64_t>(K) * per_cluster));
    return follow ? own : any;
  };
  ItemFacts f;
  f.brand = pick(kBrandsPerCluster);
  f.category = pick(kCategoriesPerCluster);
  f.creator = pick(kCreatorsPerCluster);
  const bool follow = rng.Uniform() < o.signal_kg;
  const auto& mates = w.cluster_items[c];
  int own = -1;
  if (mates.size() > 1) {
    // A uniform mate other than the item itself (mates is ascending).
    const size_t self =
        static_cast<size_t>(std::lower_bound(mates.begin(), mates.end(), item) - mates.begin());
    size_t k = rng.UniformInt(mates.size() - 1);
    if (k >= self) ++k;
    own = mates[k];
  }
  int any = static_cast<int>(rng.UniformInt(n - 1));
  if (any >= item) ++any;
  f.similar = follow && own >= 0 ? own : any;
  const bool price_follow = rng.Uniform() < o.signal_kg;
  const int other = static_cast<int>(rng.UniformInt(K));
  const double level = w.log_price[price_follow ? c : other];
  f.price = std::exp(level + 0.2 * rng.Normal());
  return f;
}

// ---------------------------------------------------------------------------------------
// Images

cv::Scalar HsvToBgr(double hue, double sat, double val) {
  hue = std::fmod(std::fmod(hue, 360.0) + 360.0, 360.0);
  const double c = val * sat;
  const double hp = hue / 60.0;
  const double x = c * (1 - std::fabs(std::fmod(hp, 2.0) - 1));
  double r = 0, g = 0, b = 0;
  switch (static_cast<int>(hp)) {
    case 0:
      r = c, g = x;
      break;
    case 1:
      r = x, g = c;
      break;
    case 2:
      g = c, b = x;
      break;
    case 3:
      g = x, b = c;
      break;
    case 4:
      r = x, b = c;
      break;
    default:
      r = c, b = x;
      break;
  }
  const double m = val - c;
  return cv::Scalar(std::round(255 * (b + m)), std::round(255 * (g + m)),
                    std::round(255 * (r + m)));
}

constexpr int kShift = 4;  // sub-pixel bits for OpenCV drawing
constexpr double kSub = 1 << kShift;

cv::Point SubPixel(double x, double y) {
  return cv::Point(static_cast<int>(std::lround(x * kSub)),
                   static_cast<int>(std::lround(y * kSub)));
}

std::vector<cv::Point> Polygon(double cx, double cy, const std::vector<double>& radii,
                               double rotation_deg, double start_deg) {
  std::vector<cv::Point> pts;
  const size_t n = radii.size();
  for (size_t k = 0; k < n; ++k) {
    const double a = (start_deg + rotation_deg + 360.0 * k / n) * M_PI / 180.0;
    pts.push_back(SubPixel(cx + radii[k] * std::cos(a), cy + radii[k] * std::sin(a)));
  }
  return pts;
}

std::string RenderImagePng(const World& w, const SyntheticOptions& o, int item) {
  Rng rng(DeriveSeed(DeriveSeed(o.seed, kStreamImage), item));
  const ClusterLook& look = w.look[w.item_cluster[item]];
  const double s = o.signal_image;
  // Each attribute: its latent value with probability s, else uniform; both are always
  // drawn so one attribute's coin never shifts another's numbers.
  auto attr = [&](double latent, double lo, double hi) {
    const bool follow = rng.Uniform() < s;
    const double random = rng.Uniform(lo, hi);
    return follow ? latent : random;
  };
  const double bg_hue = attr(look.bg_hue + 12 * std::tanh(Deviation(w, o, item, 0)), 0, 360);
  const double fg_hue = attr(look.fg_hue + 12 * std::tanh(Deviation(w, o, item, 1)), 0, 360);
  const bool shape_follow = rng.Uniform() < s;
  const int shape_random = static_cast<int>(rng.UniformInt(kShapes));
  const int shape = shape_follow ? look.shape : shape_random;
  const double angle = attr(look.stripe_angle + 10 * std::tanh(Deviation(w, o, item, 2)), 0, 180);
  const double period = attr(0.12 + 0.05 * std::tanh(Deviation(w, o, item, 3)), 0.07, 0.17);
  const double scale = attr(0.30 + 0.08 * std::tanh(Deviation(w, o, item, 4)), 0.22, 0.38);
  const double rotation = attr(30 * std::tanh(Deviation(w, o, item, 5)), -30, 30);

  const int N = o.image_size;
  cv::Mat img(N, N, CV_8UC3, HsvToBgr(bg_hue, 0.35, 0.95));
  const cv::Scalar stripe = HsvToBgr(bg_hue, 0.35, 0.80);
  const cv::Scalar fg = HsvToBgr(fg_hue, 0.85, 0.60);
  const double cx = N / 2.0, cy = N / 2.0;
  const double th = angle * M_PI / 180.0;
  const double nx = std::cos(th), ny = std::sin(th);  // stripe normal
  const double step = std::max(2.0, period * N);
  const int thick = std::max(1, static_cast<int>(std::lround(step / 3)));
  for (double off = -N; off <= N; off += step) {
    const double px = cx + nx * off, py = cy + ny * off;
    cv::line(img, SubPixel(px - ny * 2 * N, py + nx * 2 * N),
             SubPixel(px + ny * 2 * N, py - nx * 2 * N), stripe, thick, cv::LINE_8, kShift);
  }
  const double R = scale * N;
  std::vector<double> radii;
  switch (shape) {
    case 0:
      cv::circle(img, SubPixel(cx, cy), static_cast<int>(std::lround(R * kSub)), fg, cv::FILLED,
                 cv::LINE_AA, kShift);
      break;
    case 1:
      radii.assign(4, R);
      break;
    case 2:
      radii.assign(3, R);
      break;
    case 3:
      for (int k = 0; k < 10; ++k) radii.push_back(k % 2 ? 0.45 * R : R);
      break;
    case 4:
      for (int k = 0; k < 4; ++k) radii.push_back(k % 2 ? 0.55 * R : R);
      break;
    case 5:
      radii.assign(6, R);
      break;
    case 6:
      break;
    case 7:
      cv::circle(img, SubPixel(cx, cy), static_cast<int>(std::lround(0.8 * R * kSub)), fg,
                 std::max(1, static_cast<int>(std::lround(0.35 * R))), cv::LINE_AA, kShift);
      break;
  }
  if (!radii.empty()) {
    const double start = shape == 2 ? -90 : (shape == 1 ? 45 : 0);
    std::vector<std::vector<cv::Point>> polys = {Polygon(cx, cy, radii, rotation, start)};
    cv::fillPoly(img, polys, fg, cv::LINE_AA, kShift);
  }
  if (shape == 6) {
    // A plus sign: two bars rotated together.
    const double a = rotation * M_PI / 180.0, hw = 0.35 * R;
    for (int bar = 0; bar < 2; ++bar) {
      const double b = a + bar * M_PI / 2;
      const double ux = std::cos(b), uy = std::sin(b), vx = -uy, vy = ux;
      std::vector<std::vector<cv::Point>> poly = {
          {SubPixel(cx + ux * R + vx * hw, cy + uy * R + vy * hw),
           SubPixel(cx + ux * R - vx * hw, cy + uy * R - vy * hw),
           SubPixel(cx - ux * R - vx * hw, cy - uy * R - vy * hw),
           SubPixel(cx - ux * R + vx * hw, cy - uy * R + vy * hw)}};
      cv::fillPoly(img, poly, fg, cv::LINE_AA, kShift);
    }
  }
  if (o.image_noise > 0) {
    for (int y = 0; y < N; ++y) {
      uint8_t* row = img.ptr<uint8_t>(y);
      for (int x = 0; x < 3 * N; ++x) {
        const double v = row[x] + o.image_noise * rng.Normal();
        row[x] = static_cast<uint8_t>(std::clamp(std::floor(v + 0.5), 0.0, 255.0));
      }
    }
  }
  std::vector<uchar> buf;
  if (!cv::imencode(".png", img, buf, {cv::IMWRITE_PNG_COMPRESSION, 3}))
    throw framework::Error("PNG encoding failed for item " + std::to_string(item));
  return std::string(buf.begin(), buf.end());
}

// ---------------------------------------------------------------------------------------
// Truth metadata

nlohmann::json MetaJson(const SyntheticOptions& o, const World& w, const SyntheticSummary& s) {
  nlohmann::json j;
  j["generator"] = "recfuse synthetic";
  j["generator_version"] = kGeneratorVersion;
  nlohmann::json params = nlohmann::json::object();
  const framework::Config config = SyntheticOptionsToConfig(o);
  for (const auto& [k, v] : config.values())
    if (k != "threads") params[k] = v;
  j["params"] = params;
  j["formulas"] = {
      {"oracle",
       "s(u,i) = <u_u, v_i> + b_i  (factors f0.. of truth_users.tsv / truth_items.tsv, "
       "b_i = bias of truth_items.tsv, sum in double over float factors)"},
      {"bias", "b_i = -popularity_skew * ln(rank_i), rank_i a random permutation of 1..items"},
      {"item_factor", "v_i = mu_{c_i} + item_noise * N(0, I) / sqrt(factor_dim)"},
      {"user_factor",
       "u_u = user_focus * mu_{c_u} + (1 - user_focus) * mu_{c'_u} + "
       "user_noise * N(0, I) / sqrt(factor_dim)"},
      {"sampling",
       "w_i = exp((s(u,i) - max_j s(u,j)) / temperature) * (cold_i ? "
       "cold_item_popularity : 1), without replacement; within a session, next "
       "item from cluster c' ~ transition[c_prev] with probability "
       "markov_strength, else from w"},
      {"rating",
       "clamp(round(3 + 0.85 z + rating_noise * N(0,1)), 1, 5), z = <u_u,v_i> "
       "standardised over all items for user u"},
      {"transition", "T[c, successor(c)] = 0.7 + 0.2/K, T[c, c] = 0.1 + 0.2/K, 0.2/K elsewhere"},
      {"cold", "round(cold_item_fraction * items) random items; is_cold in truth_items.tsv"}};
  j["transition"] = w.transition;
  j["successor"] = w.successor;
  j["cluster_centers"] = w.centres;
  j["cluster_log_price"] = w.log_price;
  nlohmann::json looks = nlohmann::json::array();
  for (const auto& l : w.look)
    looks.push_back({{"bg_hue", l.bg_hue},
                     {"fg_hue", l.fg_hue},
                     {"stripe_angle", l.stripe_angle},
                     {"shape", kShapeNames[l.shape]}});
  j["cluster_image_look"] = looks;
  j["topic_words"] = w.topic;
  nlohmann::json facets = nlohmann::json::array();
  for (const auto& f : w.facet) facets.push_back({f[0], f[1]});
  j["facet_words_low_high"] = facets;
  j["function_words"] = FunctionWords();
  j["sentiment_words_by_rating"] = SentimentWords();
  j["counts"] = {{"users", s.users},
                 {"items", s.items},
                 {"interactions", s.interactions},
                 {"reviews", s.reviews},
                 {"kg_triples", s.kg_triples},
                 {"images", s.images},
                 {"cold_items", NumColdItems(o)}};
  return j;
}

// ---------------------------------------------------------------------------------------
// Truth reading

std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    const size_t tab = line.find('\t', start);
    out.push_back(line.substr(start, tab == std::string_view::npos ? line.npos : tab - start));
    if (tab == std::string_view::npos) break;
    start = tab + 1;
  }
  return out;
}

int ParseIntField(std::string_view s, const std::string& file, int64_t line, const char* what) {
  int64_t v;
  if (!framework::ParseInt64(s, &v) || v < std::numeric_limits<int>::min() ||
      v > std::numeric_limits<int>::max())
    throw DataError(file, line, std::string(what) + " '" + std::string(s) + "' is not an integer");
  return static_cast<int>(v);
}

float ParseFloatField(std::string_view s, const std::string& file, int64_t line, const char* what) {
  float v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v))
    throw DataError(file, line,
                    std::string(what) + " '" + std::string(s) + "' is not a finite number");
  return v;
}

// Reads a truth table: checks the header's leading columns, then calls row(fields, line).
template <typename Fn>
void ReadTable(const std::string& path, const std::vector<std::string>& leading, int factor_cols,
               Fn&& row) {
  const std::string text = framework::ReadFile(path);
  framework::LineCursor cursor(text);
  std::string_view line;
  if (!cursor.Next(&line)) throw DataError(path, 1, "empty file (expected a header)");
  const auto header = Fields(line);
  const size_t cols = leading.size() + static_cast<size_t>(factor_cols);
  if (header.size() != cols)
    throw DataError(path, 1,
                    "header has " + std::to_string(header.size()) + " columns, expected " +
                        std::to_string(cols));
  for (size_t c = 0; c < cols; ++c) {
    const std::string want =
        c < leading.size() ? leading[c] : "f" + std::to_string(c - leading.size());
    if (header[c] != want)
      throw DataError(path, 1,
                      "column " + std::to_string(c + 1) + " is '" + std::string(header[c]) +
                          "', expected '" + want + "'");
  }
  while (cursor.Next(&line)) {
    if (line.empty()) continue;
    const auto f = Fields(line);
    if (f.size() != cols)
      throw DataError(
          path, cursor.line_number(),
          "has " + std::to_string(f.size()) + " fields, expected " + std::to_string(cols));
    row(f, cursor.line_number());
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Public API

const std::vector<ParamSpec>& SyntheticParamSpecs() {
  static const std::vector<ParamSpec> kSpecs = BuildSpecs();
  return kSpecs;
}

framework::Config SyntheticOptionsToConfig(const SyntheticOptions& o) {
  framework::Config c;
  c.Set("seed", std::to_string(o.seed));
  c.Set("users", std::to_string(o.users));
  c.Set("items", std::to_string(o.items));
  c.Set("interactions", std::to_string(o.interactions));
  c.Set("clusters", std::to_string(o.clusters));
  c.Set("factor_dim", std::to_string(o.factor_dim));
  c.Set("image_size", std::to_string(o.image_size));
  c.Set("cold_item_fraction", FormatDouble(o.cold_item_fraction));
  c.Set("cold_item_popularity", FormatDouble(o.cold_item_popularity));
  c.Set("signal_image", FormatDouble(o.signal_image));
  c.Set("signal_text", FormatDouble(o.signal_text));
  c.Set("signal_kg", FormatDouble(o.signal_kg));
  c.Set("signal_user", FormatDouble(o.signal_user));
  c.Set("markov_strength", FormatDouble(o.markov_strength));
  c.Set("review_fraction", FormatDouble(o.review_fraction));
  c.Set("popularity_skew", FormatDouble(o.popularity_skew));
  c.Set("temperature", FormatDouble(o.temperature));
  c.Set("cluster_separation", FormatDouble(o.cluster_separation));
  c.Set("item_noise", FormatDouble(o.item_noise));
  c.Set("user_noise", FormatDouble(o.user_noise));
  c.Set("user_focus", FormatDouble(o.user_focus));
  c.Set("session_length", FormatDouble(o.session_length));
  c.Set("activity_skew", FormatDouble(o.activity_skew));
  c.Set("rating_noise", FormatDouble(o.rating_noise));
  c.Set("image_noise", FormatDouble(o.image_noise));
  c.Set("images", o.images ? "true" : "false");
  c.Set("threads", std::to_string(o.threads));
  return c;
}

void CheckSyntheticOptions(const SyntheticOptions& o) {
  if (o.seed > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    throw ConfigError("seed=" + std::to_string(o.seed) + " must be below 2^63 for data generate");
  SyntheticOptionsToConfig(o).Validate(SyntheticParamSpecs(), "data generate");
  const int64_t warm = o.items - NumColdItems(o);
  if (warm < 2)
    throw ConfigError("cold_item_fraction=" + FormatDouble(o.cold_item_fraction) +
                      " with items=" + std::to_string(o.items) + " leaves " + std::to_string(warm) +
                      " warm items; data generate needs at least 2");
  if (o.interactions < o.users)
    throw ConfigError("interactions=" + std::to_string(o.interactions) + " is below users=" +
                      std::to_string(o.users) + ": every user needs at least one interaction");
  const int64_t cap = MaxPerUser(o);
  if (o.interactions > static_cast<int64_t>(o.users) * cap)
    throw ConfigError("interactions=" + std::to_string(o.interactions) + " exceeds users x " +
                      std::to_string(cap) + " (each user interacts with at most half of the " +
                      std::to_string(warm) + " warm items); raise users or items");
}

SyntheticOptions SyntheticOptionsFromConfig(const framework::Config& c) {
  const auto& specs = SyntheticParamSpecs();
  c.Validate(specs, "data generate");
  SyntheticOptions o;
  o.seed = static_cast<uint64_t>(c.GetInt(specs, "seed"));
  o.users = static_cast<int>(c.GetInt(specs, "users"));
  o.items = static_cast<int>(c.GetInt(specs, "items"));
  o.interactions = c.GetInt(specs, "interactions");
  o.clusters = static_cast<int>(c.GetInt(specs, "clusters"));
  o.factor_dim = static_cast<int>(c.GetInt(specs, "factor_dim"));
  o.image_size = static_cast<int>(c.GetInt(specs, "image_size"));
  o.cold_item_fraction = c.GetDouble(specs, "cold_item_fraction");
  o.cold_item_popularity = c.GetDouble(specs, "cold_item_popularity");
  o.signal_image = c.GetDouble(specs, "signal_image");
  o.signal_text = c.GetDouble(specs, "signal_text");
  o.signal_kg = c.GetDouble(specs, "signal_kg");
  o.signal_user = c.GetDouble(specs, "signal_user");
  o.markov_strength = c.GetDouble(specs, "markov_strength");
  o.review_fraction = c.GetDouble(specs, "review_fraction");
  o.popularity_skew = c.GetDouble(specs, "popularity_skew");
  o.temperature = c.GetDouble(specs, "temperature");
  o.cluster_separation = c.GetDouble(specs, "cluster_separation");
  o.item_noise = c.GetDouble(specs, "item_noise");
  o.user_noise = c.GetDouble(specs, "user_noise");
  o.user_focus = c.GetDouble(specs, "user_focus");
  o.session_length = c.GetDouble(specs, "session_length");
  o.activity_skew = c.GetDouble(specs, "activity_skew");
  o.rating_noise = c.GetDouble(specs, "rating_noise");
  o.image_noise = c.GetDouble(specs, "image_noise");
  o.images = c.GetBool(specs, "images");
  o.threads = static_cast<int>(c.GetInt(specs, "threads"));
  CheckSyntheticOptions(o);
  return o;
}

SyntheticSummary GenerateSynthetic(const std::string& out_dir, const SyntheticOptions& o) {
  CheckSyntheticOptions(o);
  framework::Stopwatch clock;
  const int threads = framework::ResolveThreads(o.threads);
  World w;
  w.K = o.clusters;
  w.d = o.factor_dim;
  BuildItemWorld(o, w);
  BuildUserWorld(o, w);
  BuildVocabulary(o, w);

  framework::MakeDirs(out_dir);
  if (o.images) framework::MakeDirs(out_dir + "/images");
  const std::string base = out_dir + "/synthetic";
  const int n = o.items, U = o.users, K = w.K, d = w.d;
  auto item_token = [](int i) { return "i" + std::to_string(i); };
  auto user_token = [](int u) { return "u" + std::to_string(u); };

  // Images first (the slow part), each from its own stream: thread-count independent.
  framework::ParallelRanges(0, o.images ? n : 0, threads, [&](int64_t lo, int64_t hi, int) {
    for (int64_t i = lo; i < hi; ++i) {
      const std::string png = RenderImagePng(w, o, static_cast<int>(i));
      framework::WriteFileAtomic(out_dir + "/images/" + item_token(static_cast<int>(i)) + ".png",
                                 png);
    }
  });

  std::vector<UserHistory> hist(U);
  framework::ParallelRanges(0, U, threads, [&](int64_t lo, int64_t hi, int) {
    std::vector<double> weight(n), dots(n);
    for (int64_t u = lo; u < hi; ++u) SampleUser(w, o, static_cast<int>(u), weight, dots, &hist[u]);
  });

  std::vector<std::string> descriptions(n);
  std::vector<ItemFacts> facts(n);
  framework::ParallelRanges(0, n, threads, [&](int64_t lo, int64_t hi, int) {
    for (int64_t i = lo; i < hi; ++i) {
      descriptions[i] = Description(w, o, static_cast<int>(i));
      facts[i] = MakeFacts(w, o, static_cast<int>(i));
    }
  });

  SyntheticSummary summary;
  summary.users = U;
  summary.items = n;
  summary.images = o.images ? n : 0;

  {  // synthetic.item
    std::string s = "item_id:token\tcategory:token\tbrand:token\tprice:float\n";
    char price[64];
    for (int i = 0; i < n; ++i) {
      std::snprintf(price, sizeof price, "%.2f", facts[i].price);
      s += item_token(i) + "\tcat_" + std::to_string(facts[i].category) + "\tbrand_" +
           std::to_string(facts[i].brand) + "\t" + price + "\n";
    }
    framework::WriteFileAtomic(base + ".item", s);
  }
  {  // synthetic.user
    std::string s = "user_id:token\tage_group:token\tsegment:token\n";
    for (int u = 0; u < U; ++u) {
      Rng rng(DeriveSeed(DeriveSeed(o.seed, kStreamUserAttributes), u));
      const int c = w.user_cluster[u];
      const bool age_follow = rng.Uniform() < o.signal_user;
      const int age_any = static_cast<int>(rng.UniformInt(kNumAgeGroups));
      const bool seg_follow = rng.Uniform() < o.signal_user;
      const int seg_any = static_cast<int>(rng.UniformInt(K));
      const int age = age_follow ? (c * 5 + 1) % kNumAgeGroups : age_any;
      s += user_token(u) + "\t" + kAgeGroups[age] + "\tseg_" +
           std::to_string(seg_follow ? c : seg_any) + "\n";
    }
    framework::WriteFileAtomic(base + ".user", s);
  }
  {  // synthetic.text
    std::string s = "item_id:token\tdescription:text\n";
    for (int i = 0; i < n; ++i) s += item_token(i) + "\t" + descriptions[i] + "\n";
    framework::WriteFileAtomic(base + ".text", s);
  }
  {  // synthetic.review
    std::string s = "user_id:token\titem_id:token\ttimestamp:float\treview:text\n";
    for (int u = 0; u < U; ++u) {
      const auto& h = hist[u];
      for (size_t r = 0; r < h.review_pos.size(); ++r) {
        const int j = h.review_pos[r];
        s += user_token(u) + "\t" + item_token(h.item[j]) + "\t";
        AppendInt(s, h.timestamp[j]);
        s += "\t" + h.review_text[r] + "\n";
        ++summary.reviews;
      }
    }
    framework::WriteFileAtomic(base + ".review", s);
  }
  {  // synthetic.kg + synthetic.link
    std::string kg = "head_id:token\trelation_id:token\ttail_id:token\n";
    std::string link = "item_id:token\tentity_id:token\n";
    for (int i = 0; i < n; ++i) {
      const std::string e = "e_" + item_token(i);
      const auto& f = facts[i];
      kg += e + "\thas_brand\te_brand_" + std::to_string(f.brand) + "\n";
      kg += e + "\tin_category\te_cat_" + std::to_string(f.category) + "\n";
      kg += e + "\tmade_by\te_creator_" + std::to_string(f.creator) + "\n";
      kg += e + "\tsimilar_to\te_" + item_token(f.similar) + "\n";
      summary.kg_triples += 4;
      link += item_token(i) + "\t" + e + "\n";
    }
    framework::WriteFileAtomic(base + ".kg", kg);
    framework::WriteFileAtomic(base + ".link", link);
  }
  {  // truth tables
    std::string items = "item_token\tcluster\tis_cold\tbias";
    std::string users = "user_token\tcluster\tsecondary_cluster";
    for (int j = 0; j < d; ++j) {
      items += "\tf" + std::to_string(j);
      users += "\tf" + std::to_string(j);
    }
    items += "\n";
    users += "\n";
    for (int i = 0; i < n; ++i) {
      items += item_token(i) + "\t" + std::to_string(w.item_cluster[i]) + "\t" +
               (w.item_cold[i] ? "1" : "0") + "\t";
      AppendFloat(items, w.item_bias[i]);
      for (int j = 0; j < d; ++j) {
        items += '\t';
        AppendFloat(items, w.item_factor[i][j]);
      }
      items += '\n';
    }
    for (int u = 0; u < U; ++u) {
      users += user_token(u) + "\t" + std::to_string(w.user_cluster[u]) + "\t" +
               std::to_string(w.user_secondary[u]);
      for (int j = 0; j < d; ++j) {
        users += '\t';
        AppendFloat(users, w.user_factor[u][j]);
      }
      users += '\n';
    }
    std::string ent = "entity_token\tkind\tcluster\n";
    for (int i = 0; i < n; ++i)
      ent += "e_" + item_token(i) + "\titem\t" + std::to_string(w.item_cluster[i]) + "\n";
    for (int b = 0; b < K * kBrandsPerCluster; ++b)
      ent += "e_brand_" + std::to_string(b) + "\tbrand\t" + std::to_string(b / kBrandsPerCluster) +
             "\n";
    for (int c = 0; c < K * kCategoriesPerCluster; ++c)
      ent += "e_cat_" + std::to_string(c) + "\tcategory\t" +
             std::to_string(c / kCategoriesPerCluster) + "\n";
    for (int c = 0; c < K * kCreatorsPerCluster; ++c)
      ent += "e_creator_" + std::to_string(c) + "\tcreator\t" +
             std::to_string(c / kCreatorsPerCluster) + "\n";
    framework::WriteFileAtomic(out_dir + "/truth_items.tsv", items);
    framework::WriteFileAtomic(out_dir + "/truth_users.tsv", users);
    framework::WriteFileAtomic(out_dir + "/truth_entities.tsv", ent);
  }

  // synthetic.inter last: a folder that has it holds a complete world.
  std::string inter = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n";
  inter.reserve(static_cast<size_t>(o.interactions) * 28 + 64);
  for (int u = 0; u < U; ++u) {
    const auto& h = hist[u];
    const std::string ut = user_token(u);
    for (size_t j = 0; j < h.item.size(); ++j) {
      inter += ut;
      inter += "\ti";
      AppendInt(inter, h.item[j]);
      inter += '\t';
      AppendInt(inter, h.rating[j]);
      inter += '\t';
      AppendInt(inter, h.timestamp[j]);
      inter += '\n';
      ++summary.interactions;
    }
  }
  RF_CHECK(summary.interactions == o.interactions, "interaction count mismatch");
  framework::WriteFileAtomic(out_dir + "/truth_meta.json", MetaJson(o, w, summary).dump(1) + "\n");
  framework::WriteFileAtomic(base + ".inter", inter);
  summary.seconds = clock.Seconds();
  return summary;
}

SyntheticTruth ReadSyntheticTruth(const std::string& dir) {
  SyntheticTruth t;
  const std::string meta_path = dir + "/truth_meta.json";
  nlohmann::json meta;
  try {
    meta = nlohmann::json::parse(framework::ReadFile(meta_path));
  } catch (const nlohmann::json::exception& e) {
    throw DataError(meta_path, 0, std::string("invalid JSON: ") + e.what());
  }
  try {
    framework::Config c;
    for (const auto& [k, v] : meta.at("params").items()) c.Set(k, v.get<std::string>(), meta_path);
    t.options = SyntheticOptionsFromConfig(c);
    t.transition = meta.at("transition").get<std::vector<std::vector<double>>>();
    t.successor = meta.at("successor").get<std::vector<int>>();
    t.topic_words = meta.at("topic_words").get<std::vector<std::vector<std::string>>>();
  } catch (const nlohmann::json::exception& e) {
    throw DataError(meta_path, 0, std::string("missing or mistyped field: ") + e.what());
  }
  t.clusters = t.options.clusters;
  t.factor_dim = t.options.factor_dim;
  const int K = t.clusters, d = t.factor_dim;
  if (static_cast<int>(t.transition.size()) != K || static_cast<int>(t.successor.size()) != K ||
      static_cast<int>(t.topic_words.size()) != K)
    throw DataError(
        meta_path, 0,
        "transition/successor/topic_words do not have clusters=" + std::to_string(K) + " entries");
  for (const auto& row : t.transition)
    if (static_cast<int>(row.size()) != K)
      throw DataError(meta_path, 0,
                      "transition is not " + std::to_string(K) + "x" + std::to_string(K));

  auto cluster_of = [K](int c, const std::string& file, int64_t line) {
    if (c < 0 || c >= K)
      throw DataError(file, line,
                      "cluster " + std::to_string(c) + " outside [0, " + std::to_string(K) + ")");
    return c;
  };
  const std::string items_path = dir + "/truth_items.tsv";
  ReadTable(items_path, {"item_token", "cluster", "is_cold", "bias"}, d,
            [&](const std::vector<std::string_view>& f, int64_t line) {
              t.item_tokens.emplace_back(f[0]);
              t.item_cluster.push_back(
                  cluster_of(ParseIntField(f[1], items_path, line, "cluster"), items_path, line));
              const int cold = ParseIntField(f[2], items_path, line, "is_cold");
              if (cold != 0 && cold != 1)
                throw DataError(items_path, line, "is_cold must be 0 or 1");
              t.item_cold.push_back(static_cast<uint8_t>(cold));
              t.item_bias.push_back(ParseFloatField(f[3], items_path, line, "bias"));
              std::vector<float> v(d);
              for (int j = 0; j < d; ++j)
                v[j] = ParseFloatField(f[4 + j], items_path, line, "factor");
              t.item_factor.push_back(std::move(v));
            });
  const std::string users_path = dir + "/truth_users.tsv";
  ReadTable(users_path, {"user_token", "cluster", "secondary_cluster"}, d,
            [&](const std::vector<std::string_view>& f, int64_t line) {
              t.user_tokens.emplace_back(f[0]);
              t.user_cluster.push_back(
                  cluster_of(ParseIntField(f[1], users_path, line, "cluster"), users_path, line));
              t.user_secondary_cluster.push_back(cluster_of(
                  ParseIntField(f[2], users_path, line, "secondary_cluster"), users_path, line));
              std::vector<float> v(d);
              for (int j = 0; j < d; ++j)
                v[j] = ParseFloatField(f[3 + j], users_path, line, "factor");
              t.user_factor.push_back(std::move(v));
            });
  const std::string ent_path = dir + "/truth_entities.tsv";
  ReadTable(ent_path, {"entity_token", "kind", "cluster"}, 0,
            [&](const std::vector<std::string_view>& f, int64_t line) {
              t.entity_tokens.emplace_back(f[0]);
              t.entity_kind.emplace_back(f[1]);
              t.entity_cluster.push_back(
                  cluster_of(ParseIntField(f[2], ent_path, line, "cluster"), ent_path, line));
            });
  if (static_cast<int64_t>(t.item_tokens.size()) != t.options.items)
    throw DataError(items_path, 0,
                    "has " + std::to_string(t.item_tokens.size()) +
                        " items, truth_meta.json says " + std::to_string(t.options.items));
  if (static_cast<int64_t>(t.user_tokens.size()) != t.options.users)
    throw DataError(users_path, 0,
                    "has " + std::to_string(t.user_tokens.size()) +
                        " users, truth_meta.json says " + std::to_string(t.options.users));
  return t;
}

double OracleScore(const SyntheticTruth& t, size_t user_row, size_t item_row) {
  if (user_row >= t.user_factor.size())
    throw framework::UnknownIdError("OracleScore: user row " + std::to_string(user_row) +
                                    " outside [0, " + std::to_string(t.user_factor.size()) + ")");
  if (item_row >= t.item_factor.size())
    throw framework::UnknownIdError("OracleScore: item row " + std::to_string(item_row) +
                                    " outside [0, " + std::to_string(t.item_factor.size()) + ")");
  return Dot(t.user_factor[user_row], t.item_factor[item_row]) + t.item_bias[item_row];
}

ImageBgr ReadImageBgr(const std::string& path) {
  const cv::Mat m = cv::imread(path, cv::IMREAD_COLOR);
  if (m.empty()) throw framework::IoError(path + ": cannot read image");
  ImageBgr out;
  out.width = m.cols;
  out.height = m.rows;
  out.pixels.resize(static_cast<size_t>(m.rows) * m.cols * 3);
  for (int y = 0; y < m.rows; ++y)
    std::memcpy(out.pixels.data() + static_cast<size_t>(y) * m.cols * 3, m.ptr<uint8_t>(y),
                static_cast<size_t>(m.cols) * 3);
  return out;
}

}  // namespace recfuse::datasets
