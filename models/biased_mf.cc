// Biased matrix factorisation for rating prediction: Koren, Bell & Volinsky, "Matrix
// Factorization Techniques for Recommender Systems", IEEE Computer 2009 (Funk's SGD):
// r̂_ui = μ + b_u + b_i + p_u·q_i, minimising Σ (r_ui - r̂_ui)² + reg (b_u² + b_i² + |p_u|² +
// |q_i|²) by SGD over the shuffled training ratings. Defaults follow Surprise's SVD (100
// factors, 20 epochs, lr 0.005, reg 0.02, init std 0.1).
//
// Ranking uses p_u·q_i + b_i (GetFactors), which orders items exactly as r̂_ui does before
// clipping (μ + b_u is constant per user). PredictRating clips r̂ to the training rating range.
// SGD is sequential (one thread): a seed gives the same model bit for bit.
#include <algorithm>
#include <cmath>

#include "framework/rng.h"
#include "framework/sysinfo.h"
#include "models/classic.h"

namespace recfuse::models {
namespace {

constexpr char kName[] = "biasedmf";

class BiasedMf : public Recommender {
 public:
  explicit BiasedMf(const framework::Config& c)
      : dim_(c.GetInt(BiasedMfParams(), "dim")),
        lr_(static_cast<float>(c.GetDouble(BiasedMfParams(), "lr"))),
        reg_(static_cast<float>(c.GetDouble(BiasedMfParams(), "reg"))),
        epochs_(static_cast<int>(c.GetInt(BiasedMfParams(), "epochs"))),
        init_std_(c.GetDouble(BiasedMfParams(), "init_std")) {}

  void Fit(const TrainData& data, const FitContext& ctx) override {
    const auto& train = data.train;
    if (!train.has_rating)
      throw framework::MissingModalityError(
          "biasedmf predicts ratings but the training interactions have no rating column; use a "
          "ranking model (e.g. bpr, ials) for implicit feedback");
    if (train.empty()) throw framework::Error("biasedmf: no training interactions");
    const Index nu = data.num_users, ni = data.num_items;
    double sum = 0;
    min_rating_ = max_rating_ = train.rating[0];
    for (float r : train.rating) {
      if (!std::isfinite(r)) throw framework::Error("biasedmf: a training rating is not finite");
      sum += r;
      min_rating_ = std::min(min_rating_, r);
      max_rating_ = std::max(max_rating_, r);
    }
    mu_ = static_cast<float>(sum / static_cast<double>(train.size()));

    user_ = RowMatrixXf::Zero(nu, dim_);
    item_ = RowMatrixXf::Zero(ni, dim_);
    user_bias_ = Eigen::VectorXf::Zero(nu);
    item_bias_ = Eigen::VectorXf::Zero(ni);
    {
      // Only rows with training ratings get random factors: cold users/items keep zero
      // vectors, so their predictions are the defined bias-only fallback.
      std::vector<uint8_t> user_seen(static_cast<size_t>(nu), 0),
          item_seen(static_cast<size_t>(ni), 0);
      for (size_t r = 0; r < train.size(); ++r) {
        user_seen[train.user[r]] = 1;
        item_seen[train.item[r]] = 1;
      }
      framework::Rng rng(framework::DeriveSeed(ctx.seed, 1));
      for (Index u = 0; u < nu; ++u)
        if (user_seen[u])
          for (int64_t f = 0; f < dim_; ++f)
            user_(u, f) = static_cast<float>(rng.Normal() * init_std_);
      for (Index i = 0; i < ni; ++i)
        if (item_seen[i])
          for (int64_t f = 0; f < dim_; ++f)
            item_(i, f) = static_cast<float>(rng.Normal() * init_std_);
    }

    std::vector<int64_t> order(train.size());
    for (size_t r = 0; r < order.size(); ++r) order[r] = static_cast<int64_t>(r);
    for (int epoch = 1; epoch <= epochs_; ++epoch) {
      framework::Stopwatch watch;
      framework::Rng rng(framework::DeriveSeed(ctx.seed, 1000 + static_cast<uint64_t>(epoch)));
      rng.Shuffle(order);
      for (int64_t r : order) {
        const Index u = train.user[r], i = train.item[r];
        float* pu = user_.row(u).data();
        float* qi = item_.row(i).data();
        float dot = 0;
        for (int64_t f = 0; f < dim_; ++f) dot += pu[f] * qi[f];
        const float err = train.rating[r] - (mu_ + user_bias_[u] + item_bias_[i] + dot);
        user_bias_[u] += lr_ * (err - reg_ * user_bias_[u]);
        item_bias_[i] += lr_ * (err - reg_ * item_bias_[i]);
        for (int64_t f = 0; f < dim_; ++f) {
          const float p = pu[f], q = qi[f];
          pu[f] += lr_ * (err * q - reg_ * p);
          qi[f] += lr_ * (err * p - reg_ * q);
        }
      }
      EpochRecord rec;
      rec.epoch = epoch;
      rec.seconds = watch.Seconds();
      if (ctx.on_epoch) {
        double se = 0;
        for (size_t r = 0; r < train.size(); ++r) {
          const double e = train.rating[r] - PredictRating(train.user[r], train.item[r]);
          se += e * e;
        }
        rec.loss = std::sqrt(se / static_cast<double>(train.size()));  // train RMSE
        ctx.on_epoch(rec);
      }
    }
  }

  void ScoreBlock(std::span<const Index> users, Eigen::Ref<RowMatrixXf> out) const override {
    classic_internal::CheckScoreArgs(kName, users, static_cast<Index>(user_.rows()),
                                     static_cast<Index>(item_.rows()), out);
    classic_internal::ScoreDot(users, user_, item_, &item_bias_, out);
  }

  Factors GetFactors() const override { return {&user_, &item_, &item_bias_}; }

  bool PredictsRatings() const override { return true; }

  float PredictRating(Index user, Index item) const override {
    if (user < 0 || user >= user_.rows())
      throw framework::UnknownIdError("biasedmf: user id " + std::to_string(user) +
                                      " outside [0, " + std::to_string(user_.rows()) + ")");
    if (item < 0 || item >= item_.rows())
      throw framework::UnknownIdError("biasedmf: item id " + std::to_string(item) +
                                      " outside [0, " + std::to_string(item_.rows()) + ")");
    const float r =
        mu_ + user_bias_[user] + item_bias_[item] + user_.row(user).dot(item_.row(item));
    return std::clamp(r, min_rating_, max_rating_);
  }

  void Save(std::ostream& out) const override {
    WriteHeader(out, kName);
    WritePod(out, mu_);
    WritePod(out, min_rating_);
    WritePod(out, max_rating_);
    WriteMatrix(out, user_);
    WriteMatrix(out, item_);
    WriteMatrix(out, user_bias_);
    WriteMatrix(out, item_bias_);
  }

  void Load(std::istream& in) override {
    ReadHeader(in, kName);
    mu_ = ReadPod<float>(in);
    min_rating_ = ReadPod<float>(in);
    max_rating_ = ReadPod<float>(in);
    ReadMatrix(in, user_);
    ReadMatrix(in, item_);
    ReadMatrix(in, user_bias_);
    ReadMatrix(in, item_bias_);
    if (user_.cols() != item_.cols() || user_bias_.size() != user_.rows() ||
        item_bias_.size() != item_.rows() || !(min_rating_ <= max_rating_))
      throw framework::Error("biasedmf: model file corrupt: shapes or rating range disagree");
  }

 private:
  int64_t dim_;
  float lr_, reg_;
  int epochs_;
  double init_std_;
  float mu_ = 0, min_rating_ = 0, max_rating_ = 0;
  RowMatrixXf user_, item_;
  Eigen::VectorXf user_bias_, item_bias_;
};

}  // namespace

const std::vector<framework::ParamSpec>& BiasedMfParams() {
  using framework::ParamType;
  static const std::vector<framework::ParamSpec> kParams = {
      {"dim", ParamType::kInt, "100", "latent factors per user and item", 1, 4096, {}},
      {"lr", ParamType::kFloat, "0.005", "SGD learning rate", 0, 100, {}},
      {"reg", ParamType::kFloat, "0.02", "L2 weight on biases and factors", 0, 100, {}},
      {"epochs",
       ParamType::kInt,
       "20",
       "passes over the shuffled training ratings",
       1,
       1000000,
       {}},
      {"init_std", ParamType::kFloat, "0.1", "std of the normal initial factors", 0, 10, {}},
  };
  return kParams;
}

std::unique_ptr<Recommender> MakeBiasedMf(const framework::Config& config) {
  return std::make_unique<BiasedMf>(config);
}

}  // namespace recfuse::models
