// The seeded synthetic multimodal world: recfuse's embedded default dataset, whose ground
// truth is known, so that a study can check a method against the right answer (which
// modality carries the most signal, whether a model recovers the latent clusters, how close
// a ranking comes to the oracle).
//
// Generative model (all draws through framework::Rng; every consumer has its own
// DeriveSeed stream, so e.g. changing signal_image changes the images only, never the
// interactions or the texts):
//
//   Latent space. K = clusters centres mu_k in R^d (d = factor_dim), random directions of
//   norm cluster_separation. Item i: cluster c_i ~ Uniform(K), factor
//   v_i = mu_{c_i} + item_noise * z / sqrt(d), z ~ N(0, I). User u: primary cluster
//   c_u ~ Uniform(K), secondary cluster c'_u uniform among the others (c_u if K = 1),
//   factor u_u = user_focus * mu_{c_u} + (1 - user_focus) * mu_{c'_u} + user_noise * z / sqrt(d).
//   Factors are rounded to float before any use, so the truth files reproduce them exactly.
//
//   Preference (the oracle, see OracleScore): s(u, i) = <u_u, v_i> + b_i, with a long-tail
//   popularity bias b_i = -popularity_skew * ln(rank_i), rank_i a random permutation of
//   1..items (Zipf-like: exp(b_i) = rank_i^-popularity_skew).
//
//   Exposure. A share round(cold_item_fraction * items) of items, chosen at random, is cold:
//   full content, but its sampling weight is multiplied by cold_item_popularity. Exposure is
//   not preference: the oracle does not include it.
//
//   Interactions. Each user receives n_u interactions: min(5, interactions / users) each,
//   the rest shared in proportion to a log-normal activity exp(activity_skew * N(0, 1)),
//   capped at half the warm items (largest-remainder rounding, so the total is exact).
//   A user's history is a sequence of sessions of length 1 + Geometric(mean
//   session_length - 1). Items are drawn without replacement with weights
//   w_i = exp((s(u, i) - max_j s(u, j)) / temperature) * exposure_i. The first item of a
//   session is drawn from w; each later one, with probability markov_strength, from the
//   cluster c' ~ T[c_prev, .] (then within c' by w), otherwise from w. T is fixed per seed:
//   T[c, sigma(c)] = 0.7 + 0.2/K, T[c, c] = 0.1 + 0.2/K, 0.2/K elsewhere, sigma a random
//   cyclic permutation of the clusters (the "successor" cluster).
//   Timestamps (integer seconds) start at 2001-01-01 + Uniform(2 years) per user and
//   strictly increase: sessions are ~4 days apart, items within a session ~3 minutes.
//   Ratings: r = clamp(round(3 + 0.85 z + rating_noise * N(0, 1)), 1, 5), with z the
//   standardised <u_u, v_i> over all items for that user.
//
//   Modalities. Each one is a function of the item's latent cluster/factor with strength
//   signal_<m> in [0, 1], and noise otherwise; distinct defaults (image 0.9 > text 0.6 >
//   kg 0.3) give a modality ablation a known answer.
//   - image (image_size^2 PNG): background hue, foreground hue, shape, stripe angle, stripe
//     period, shape scale and rotation. Each attribute independently follows the latent
//     value with probability signal_image (hues and stripe angle from the cluster, jittered
//     by the item's own deviation from its centre; scale, period, rotation from that
//     deviation), else is uniformly random; plus N(0, image_noise^2) pixel noise.
//   - text: K topic vocabularies of 40 made-up words, 2 "facet" words per factor dimension
//     (low/high), common English function words and 5 levels of sentiment words. A
//     description has 20-60 words; each is a function word with probability 0.3, else a
//     content word: with probability signal_text from the item's topic (a quarter of those
//     a facet word saying on which side of its centre v_i lies along a random dimension),
//     else from a uniformly random topic. A review (for a share review_fraction of
//     interactions) has 8-30 words: 0.3 function, 0.3 sentiment words of the rating's
//     level, 0.4 content words drawn as in descriptions.
//   - kg / attributes: each item has one brand, category and creator (4 brands, 2
//     categories, 6 creators per cluster) and a similar_to link to another item. With
//     probability signal_kg each is drawn from its cluster's set (resp. an item of the
//     same cluster), else uniformly from all. The same facts fill synthetic.item (category,
//     brand, and a price whose level follows the cluster with probability signal_kg), so a
//     KG ablation should drop those attribute fields too.
//   - users: segment = primary cluster and age_group = the cluster's preferred age group,
//     each with probability signal_user, else uniform.
//
// Files written in out_dir (tab-separated RecBole atomic files, dataset name "synthetic"):
//   synthetic.inter  user_id:token item_id:token rating:float timestamp:float
//   synthetic.item   item_id:token category:token brand:token price:float
//   synthetic.user   user_id:token age_group:token segment:token
//   synthetic.text   item_id:token description:text
//   synthetic.review user_id:token item_id:token timestamp:float review:text
//   synthetic.kg     head_id:token relation_id:token tail_id:token
//   synthetic.link   item_id:token entity_id:token
//   images/<item_token>.png  (unless images=false)
//   truth_items.tsv     item_token cluster is_cold bias f0..f{d-1}
//   truth_users.tsv     user_token cluster secondary_cluster f0..f{d-1}
//   truth_entities.tsv  entity_token kind cluster
//   truth_meta.json     every generation parameter, the formulas, T, the cluster centres
//                       and the vocabularies
// Tokens: users "u<n>", items "i<n>" (n = truth row), entities "e_i<n>", "e_brand_<n>",
// "e_cat_<n>", "e_creator_<n>"; relations has_brand, in_category, made_by, similar_to.
// Each file is written atomically; synthetic.inter last, so a dataset folder that has it
// is complete. Same options (whatever `threads`) give byte-identical files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "framework/config.h"

namespace recfuse::datasets {

struct SyntheticOptions {
  uint64_t seed = 0;
  int users = 2000;
  int items = 1500;
  int64_t interactions = 100000;
  int clusters = 8;
  int factor_dim = 16;
  int image_size = 64;
  double cold_item_fraction = 0.1;
  double cold_item_popularity = 0.02;
  double signal_image = 0.9;
  double signal_text = 0.6;
  double signal_kg = 0.3;
  double signal_user = 0.5;
  double markov_strength = 0.5;
  double review_fraction = 0.3;
  double popularity_skew = 0.8;
  double temperature = 1.0;
  double cluster_separation = 2.0;
  double item_noise = 0.5;
  double user_noise = 0.5;
  double user_focus = 0.7;
  double session_length = 8.0;
  double activity_skew = 1.0;
  double rating_noise = 0.75;
  double image_noise = 6.0;
  bool images = true;  // false: no images/ folder (no image modality; other files unchanged)
  int threads = 0;     // 0 = all cores; never changes the output
};

// Name, type, default, range and description of every option above: the one place for
// defaults, validation and `recfuse data generate --help`.
const std::vector<framework::ParamSpec>& SyntheticParamSpecs();

// Validates `config` against SyntheticParamSpecs() (unknown key or out-of-range value ->
// ConfigError), then checks the options' mutual consistency (CheckSyntheticOptions).
SyntheticOptions SyntheticOptionsFromConfig(const framework::Config& config);

// The options as config values (exact round-trip through SyntheticOptionsFromConfig).
framework::Config SyntheticOptionsToConfig(const SyntheticOptions& options);

// Throws ConfigError when a value is out of its spec's range or the options contradict
// each other (interactions < users, more interactions than users x items/2 can hold...).
void CheckSyntheticOptions(const SyntheticOptions& options);

struct SyntheticSummary {
  int64_t users = 0, items = 0, interactions = 0, reviews = 0, kg_triples = 0, images = 0;
  double seconds = 0;
};

// Writes the whole world into out_dir (created if needed; existing files of the same names
// are replaced). Throws ConfigError for invalid options, IoError if out_dir is unwritable.
// Uses options.threads threads for sampling and image rendering.
SyntheticSummary GenerateSynthetic(const std::string& out_dir, const SyntheticOptions& options);

// Ground truth read back from a generated folder. Rows are truth rows: item row n is token
// "i<n>", user row n is "u<n>" (the loader's dense ids may differ: map through tokens).
struct SyntheticTruth {
  SyntheticOptions options;  // from truth_meta.json
  int clusters = 0;
  int factor_dim = 0;
  std::vector<std::string> item_tokens, user_tokens;
  std::vector<int> item_cluster, user_cluster, user_secondary_cluster;
  std::vector<uint8_t> item_cold;
  std::vector<float> item_bias;                         // b_i
  std::vector<std::vector<float>> item_factor;          // items x factor_dim
  std::vector<std::vector<float>> user_factor;          // users x factor_dim
  std::vector<std::vector<double>> transition;          // K x K, rows sum to 1
  std::vector<int> successor;                           // sigma(c)
  std::vector<std::vector<std::string>> topic_words;    // K topic vocabularies
  std::vector<std::string> entity_tokens, entity_kind;  // kind: item|brand|category|creator
  std::vector<int> entity_cluster;                      // the cluster an entity belongs to
};

// Reads truth_items.tsv, truth_users.tsv, truth_entities.tsv and truth_meta.json from dir.
// Malformed content -> DataError(file, line, reason); missing file -> IoError.
SyntheticTruth ReadSyntheticTruth(const std::string& dir);

// The noiseless preference s(u, i) = <u_u, v_i> + b_i, computed in double from the float
// factors, exactly as the generator does. Rows out of range -> UnknownIdError. Thread-safe.
double OracleScore(const SyntheticTruth& truth, size_t user_row, size_t item_row);

// An 8-bit BGR image decoded from a PNG/JPEG file (row-major, height x width x 3), for
// inspecting the generated images without an OpenCV dependency. Unreadable -> IoError.
struct ImageBgr {
  int width = 0, height = 0;
  std::vector<uint8_t> pixels;
};
ImageBgr ReadImageBgr(const std::string& path);

}  // namespace recfuse::datasets
