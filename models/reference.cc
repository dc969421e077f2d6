// Reference points of a study, not recommenders to deploy: `random`, the floor every model
// must clear (a content model that does not beat it on cold items has learnt nothing from
// its content), and `oracle`, the ceiling of the synthetic world (datasets/synthetic.h): the
// generator's noiseless preference s(u, i) = <u_u, v_i> + b_i read back from the world's
// truth files. Neither trains; both are classic-contract models (row-independent, const,
// thread-safe scoring; Save/Load carries everything scoring needs).
#include <cmath>
#include <filesystem>
#include <string>
#include <unordered_map>

#include "datasets/synthetic.h"
#include "framework/rng.h"
#include "models/classic.h"

namespace recfuse::models {
namespace {

constexpr char kRandomName[] = "random";
constexpr char kOracleName[] = "oracle";

// A uniform score in [0, 1) that depends only on (seed, user, item): the same seed gives the
// same ranking, a user's row never depends on the batch, and no state has to be stored.
inline float RandomScore(uint64_t seed, Index user, Index item) {
  uint64_t s = seed ^ (static_cast<uint64_t>(user) * 0x9E3779B97F4A7C15ull);
  uint64_t t = framework::SplitMix64(s) ^ (static_cast<uint64_t>(item) * 0xD1B54A32D192ED03ull);
  const uint64_t h = framework::SplitMix64(t);
  return static_cast<float>(h >> 40) * (1.0f / 16777216.0f);  // 24 bits: exact in float
}

class Random : public Recommender {
 public:
  void Fit(const TrainData& data, const FitContext& ctx) override {
    num_users_ = data.num_users;
    num_items_ = data.num_items;
    seed_ = ctx.seed;
  }

  void ScoreBlock(std::span<const Index> users, Eigen::Ref<RowMatrixXf> out) const override {
    classic_internal::CheckScoreArgs(kRandomName, users, num_users_, num_items_, out);
    for (size_t k = 0; k < users.size(); ++k)
      for (Index i = 0; i < num_items_; ++i)
        out(static_cast<Eigen::Index>(k), i) = RandomScore(seed_, users[k], i);
  }

  void Save(std::ostream& out) const override {
    WriteHeader(out, kRandomName);
    WritePod<int64_t>(out, num_users_);
    WritePod<int64_t>(out, num_items_);
    WritePod<uint64_t>(out, seed_);
  }

  void Load(std::istream& in) override {
    ReadHeader(in, kRandomName);
    num_users_ = static_cast<Index>(ReadPod<int64_t>(in));
    num_items_ = static_cast<Index>(ReadPod<int64_t>(in));
    seed_ = ReadPod<uint64_t>(in);
    if (num_users_ < 0 || num_items_ < 0) throw framework::Error("model file corrupt: random: bad sizes");
  }

 private:
  Index num_users_ = 0, num_items_ = 0;
  uint64_t seed_ = 0;
};

class Oracle : public Recommender {
 public:
  explicit Oracle(const framework::Config& config) : truth_dir_(config.GetString(OracleParams(), "truth_dir")) {}

  void Fit(const TrainData& data, const FitContext&) override {
    RF_CHECK(data.dataset != nullptr, "oracle: TrainData has no dataset");
    const datasets::Dataset& d = *data.dataset;
    std::string dir = truth_dir_;
    if (dir.empty()) {
      dir = d.source;
      if (!dir.empty() && std::filesystem::is_regular_file(dir))
        dir = std::filesystem::path(dir).parent_path().string();
    }
    if (dir.empty())
      throw framework::MissingModalityError(
          "oracle: dataset '" + d.name + "' has no source folder to read truth_users.tsv / truth_items.tsv from; set truth_dir");
    for (const char* f : {"truth_meta.json", "truth_users.tsv", "truth_items.tsv", "truth_entities.tsv"})
      if (!std::filesystem::exists(dir + "/" + f))
        throw framework::MissingModalityError(
            "oracle: " + dir + "/" + f +
            " not found; the oracle scores with a synthetic world's ground truth (recfuse data generate writes it), "
            "set truth_dir to the folder that has it");
    const datasets::SyntheticTruth truth = datasets::ReadSyntheticTruth(dir);

    // Truth rows are keyed by raw tokens; the dataset's dense ids may differ (first-seen order).
    num_users_ = data.num_users;
    const Index dim = truth.factor_dim;
    user_ = RowMatrixXd::Zero(num_users_, dim);
    item_ = RowMatrixXd::Zero(data.num_items, dim);
    bias_ = Eigen::VectorXd::Zero(data.num_items);
    std::unordered_map<std::string, size_t> user_row, item_row;
    for (size_t r = 0; r < truth.user_tokens.size(); ++r) user_row.emplace(truth.user_tokens[r], r);
    for (size_t r = 0; r < truth.item_tokens.size(); ++r) item_row.emplace(truth.item_tokens[r], r);
    const std::string where = dir + "/truth_users.tsv";
    for (Index u = 0; u < num_users_; ++u) {
      const std::string& tok = d.users.tokens().at(static_cast<size_t>(u));
      const auto it = user_row.find(tok);
      if (it == user_row.end())
        throw framework::DataError(where, 0, "oracle: the dataset's user '" + tok + "' is not in the truth file");
      for (Index j = 0; j < dim; ++j) user_(u, j) = truth.user_factor[it->second][static_cast<size_t>(j)];
    }
    for (Index i = 0; i < data.num_items; ++i) {
      const std::string& tok = d.items.tokens().at(static_cast<size_t>(i));
      const auto it = item_row.find(tok);
      if (it == item_row.end())
        throw framework::DataError(dir + "/truth_items.tsv", 0,
                                   "oracle: the dataset's item '" + tok + "' is not in the truth file");
      for (Index j = 0; j < dim; ++j) item_(i, j) = truth.item_factor[it->second][static_cast<size_t>(j)];
      bias_[i] = truth.item_bias[it->second];
    }
  }

  void ScoreBlock(std::span<const Index> users, Eigen::Ref<RowMatrixXf> out) const override {
    classic_internal::CheckScoreArgs(kOracleName, users, num_users_, static_cast<Index>(item_.rows()), out);
    // In double, as the generator computes s(u, i), then rounded once.
    for (size_t k = 0; k < users.size(); ++k)
      out.row(static_cast<Eigen::Index>(k)) =
          ((item_ * user_.row(users[k]).transpose()) + bias_).transpose().cast<float>();
  }

  void Save(std::ostream& out) const override {
    WriteHeader(out, kOracleName);
    WritePod<int64_t>(out, num_users_);
    WriteMatrix(out, user_);
    WriteMatrix(out, item_);
    WriteMatrix(out, bias_);
  }

  void Load(std::istream& in) override {
    ReadHeader(in, kOracleName);
    num_users_ = static_cast<Index>(ReadPod<int64_t>(in));
    ReadMatrix(in, user_);
    ReadMatrix(in, item_);
    ReadMatrix(in, bias_);
    if (user_.rows() != num_users_ || user_.cols() != item_.cols() || bias_.size() != item_.rows())
      throw framework::Error("model file corrupt: oracle: inconsistent shapes");
  }

 private:
  using RowMatrixXd = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  std::string truth_dir_;
  Index num_users_ = 0;
  RowMatrixXd user_, item_;  // dense ids x factor_dim
  Eigen::VectorXd bias_;
};

}  // namespace

const std::vector<framework::ParamSpec>& RandomParams() {
  static const std::vector<framework::ParamSpec> kParams;
  return kParams;
}

std::unique_ptr<Recommender> MakeRandom(const framework::Config&) { return std::make_unique<Random>(); }

const std::vector<framework::ParamSpec>& OracleParams() {
  static const std::vector<framework::ParamSpec> kParams = {
      {"truth_dir", framework::ParamType::kString, "",
       "folder with the synthetic world's truth_*.tsv files (default: the dataset's own folder)"},
  };
  return kParams;
}

std::unique_ptr<Recommender> MakeOracle(const framework::Config& config) { return std::make_unique<Oracle>(config); }

}  // namespace recfuse::models
