// BPR-MF: Rendle, Freudenthaler, Gantner & Schmidt-Thieme, "BPR: Bayesian Personalized
// Ranking from Implicit Feedback", UAI 2009. score(u, i) = p_u·q_i + b_i, trained by SGD on
// -log σ(x_ui - x_uj) over triples (u, i ∈ I_u, j ∉ I_u), with L2 weight `reg`.
//
// Training is lock-free (Hogwild: Recht, Ré, Wright & Niu, NIPS 2011): every thread samples
// and updates the shared factors without locks, as fastText and `implicit` do. Consequence:
// with threads > 1 the interleaving of updates is timing-dependent and results are NOT
// bit-reproducible between runs (they are statistically equivalent). With one thread (or
// hogwild=false, which forces one thread whatever ctx.threads says) a seed gives the same
// factors bit for bit. Defaults follow `implicit`'s BPR (lr 0.01, reg 0.01, 100 epochs).
#include <algorithm>
#include <cmath>

#include "framework/parallel.h"
#include "framework/rng.h"
#include "framework/sysinfo.h"
#include "models/classic.h"

namespace recfuse::models {
namespace {

constexpr char kName[] = "bpr";

// Everything a sampling thread reads; the factor arrays are written concurrently.
struct Shared {
  float* user;
  float* item;
  float* bias;
  int64_t dim;
  const int64_t* indptr;  // per user, into cols (distinct items, ascending)
  const Index* cols;
  const Index* pos_user;  // sampling pool of positive pairs (users with a negative)
  const Index* pos_item;
  int64_t num_pos;
  Index num_items;
  float lr, reg;
};

// One SGD step on the triple (u, i, j). Returns -log σ(x_uij) before the step.
// Chunks of 8 with separate accumulators fix the summation order in the source, so the
// compiler may vectorise (SSE2 by default, AVX2 in the clone below) without changing a bit
// of the result; no FMA is enabled, hence no contraction differences between the clones.
inline float Step(const Shared& s, Index u, Index i, Index j) {
  float* __restrict pu = s.user + static_cast<int64_t>(u) * s.dim;
  float* __restrict qi = s.item + static_cast<int64_t>(i) * s.dim;
  float* __restrict qj = s.item + static_cast<int64_t>(j) * s.dim;
  const int64_t d = s.dim, d8 = d - d % 8;
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int64_t f = 0; f < d8; f += 8)
    for (int l = 0; l < 8; ++l) acc[l] += pu[f + l] * (qi[f + l] - qj[f + l]);
  float x = s.bias[i] - s.bias[j];
  for (int64_t f = d8; f < d; ++f) x += pu[f] * (qi[f] - qj[f]);
  x += ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  // z = σ(-x) is the gradient scale of -log σ(x) = log(1 + e^x) - x, so one exp serves both.
  const float e = std::exp(x);
  const float z = 1.0f / (1.0f + e);
  const float lr = s.lr, reg = s.reg, lz = lr * z, keep = 1.0f - lr * reg;
  for (int64_t f = 0; f < d8; f += 8)
    for (int l = 0; l < 8; ++l) {
      const float p = pu[f + l], a = qi[f + l], b = qj[f + l];
      pu[f + l] = keep * p + lz * (a - b);
      qi[f + l] = keep * a + lz * p;
      qj[f + l] = keep * b - lz * p;
    }
  for (int64_t f = d8; f < d; ++f) {
    const float p = pu[f], a = qi[f], b = qj[f];
    pu[f] = keep * p + lz * (a - b);
    qi[f] = keep * a + lz * p;
    qj[f] = keep * b - lz * p;
  }
  s.bias[i] = keep * s.bias[i] + lz;
  s.bias[j] = keep * s.bias[j] - lz;
  return x > 30.0f ? 0.0f : std::log1p(e) - x;  // above 30 the loss is below 1e-13
}

// Draws `n` triples with rng(seed) and applies their steps; returns the summed loss.
// Multiversioned so that CPUs with AVX2 get wider vectors; the dispatch happens once per
// call (per thread and epoch), never inside the loop.
__attribute__((target_clones("avx2", "default"))) double RunSamples(const Shared& s, uint64_t seed,
                                                                    int64_t n) {
  framework::Rng rng(seed);
  double loss = 0;
  for (int64_t t = 0; t < n; ++t) {
    const uint64_t k = rng.UniformInt(static_cast<uint64_t>(s.num_pos));
    const Index u = s.pos_user[k], i = s.pos_item[k];
    const Index* row = s.cols + s.indptr[u];
    const Index* row_end = s.cols + s.indptr[u + 1];
    Index j;
    do {  // rejection: the pool only holds users who have at least one negative
      j = static_cast<Index>(rng.UniformInt(static_cast<uint64_t>(s.num_items)));
    } while (std::binary_search(row, row_end, j));
    loss += Step(s, u, i, j);
  }
  return loss;
}

class Bpr : public Recommender {
 public:
  explicit Bpr(const framework::Config& c)
      : dim_(c.GetInt(BprParams(), "dim")),
        lr_(static_cast<float>(c.GetDouble(BprParams(), "lr"))),
        reg_(static_cast<float>(c.GetDouble(BprParams(), "reg"))),
        epochs_(static_cast<int>(c.GetInt(BprParams(), "epochs"))),
        init_std_(c.GetDouble(BprParams(), "init_std")),
        hogwild_(c.GetBool(BprParams(), "hogwild")) {}

  void Fit(const TrainData& data, const FitContext& ctx) override {
    const SpMat& m = data.matrix;
    const Index nu = data.num_users, ni = data.num_items;
    std::vector<int64_t> indptr(m.outerIndexPtr(), m.outerIndexPtr() + nu + 1);
    std::vector<Index> cols(static_cast<size_t>(m.nonZeros()));
    for (int64_t p = 0; p < m.nonZeros(); ++p) cols[p] = static_cast<Index>(m.innerIndexPtr()[p]);
    std::vector<Index> pos_user, pos_item;
    pos_user.reserve(cols.size());
    pos_item.reserve(cols.size());
    for (Index u = 0; u < nu; ++u) {
      if (indptr[u + 1] - indptr[u] >= ni) continue;  // no negative exists for this user
      for (int64_t p = indptr[u]; p < indptr[u + 1]; ++p) {
        pos_user.push_back(u);
        pos_item.push_back(cols[p]);
      }
    }
    if (pos_user.empty())
      throw framework::Error("bpr: no training pair has a negative item to contrast with");

    user_ = RowMatrixXf::Zero(nu, dim_);
    item_ = RowMatrixXf::Zero(ni, dim_);
    bias_ = Eigen::VectorXf::Zero(ni);
    {
      framework::Rng rng(framework::DeriveSeed(ctx.seed, 1));
      // Users without positives are never sampled: they keep zero factors (score = bias).
      for (Index u = 0; u < nu; ++u)
        if (indptr[u + 1] > indptr[u])
          for (int64_t f = 0; f < dim_; ++f)
            user_(u, f) = static_cast<float>(rng.Normal() * init_std_);
      for (Index i = 0; i < ni; ++i)
        for (int64_t f = 0; f < dim_; ++f)
          item_(i, f) = static_cast<float>(rng.Normal() * init_std_);
    }

    Shared s{user_.data(),
             item_.data(),
             bias_.data(),
             dim_,
             indptr.data(),
             cols.data(),
             pos_user.data(),
             pos_item.data(),
             static_cast<int64_t>(pos_user.size()),
             ni,
             lr_,
             reg_};
    const int threads = hogwild_ ? framework::ResolveThreads(ctx.threads) : 1;
    const int64_t per_epoch = s.num_pos;
    std::vector<double> loss(static_cast<size_t>(threads));
    for (int epoch = 1; epoch <= epochs_; ++epoch) {
      framework::Stopwatch watch;
      framework::ParallelRanges(0, threads, threads, [&](int64_t, int64_t, int t) {
        const int64_t n = per_epoch * (t + 1) / threads - per_epoch * t / threads;
        loss[t] = RunSamples(
            s, framework::DeriveSeed(ctx.seed, static_cast<uint64_t>(epoch) * 1000 + t), n);
      });
      EpochRecord rec;
      rec.epoch = epoch;
      rec.seconds = watch.Seconds();
      for (double l : loss) rec.loss += l;
      rec.loss /= static_cast<double>(per_epoch);
      if (ctx.on_epoch) ctx.on_epoch(rec);
    }
  }

  void ScoreBlock(std::span<const Index> users, Eigen::Ref<RowMatrixXf> out) const override {
    classic_internal::CheckScoreArgs(kName, users, static_cast<Index>(user_.rows()),
                                     static_cast<Index>(item_.rows()), out);
    classic_internal::ScoreDot(users, user_, item_, &bias_, out);
  }

  Factors GetFactors() const override { return {&user_, &item_, &bias_}; }

  void Save(std::ostream& out) const override {
    WriteHeader(out, kName);
    WriteMatrix(out, user_);
    WriteMatrix(out, item_);
    WriteMatrix(out, bias_);
  }

  void Load(std::istream& in) override {
    ReadHeader(in, kName);
    ReadMatrix(in, user_);
    ReadMatrix(in, item_);
    ReadMatrix(in, bias_);
    if (user_.cols() != item_.cols() || bias_.size() != item_.rows())
      throw framework::Error("bpr: model file corrupt: factor shapes disagree");
  }

 private:
  int64_t dim_;
  float lr_, reg_;
  int epochs_;
  double init_std_;
  bool hogwild_;
  RowMatrixXf user_, item_;
  Eigen::VectorXf bias_;
};

}  // namespace

const std::vector<framework::ParamSpec>& BprParams() {
  using framework::ParamType;
  static const std::vector<framework::ParamSpec> kParams = {
      {"dim", ParamType::kInt, "64", "latent factors per user and item", 1, 4096, {}},
      {"lr", ParamType::kFloat, "0.01", "SGD learning rate", 0, 100, {}},
      {"reg",
       ParamType::kFloat,
       "0.01",
       "L2 weight on the factors and item bias touched by a step",
       0,
       100,
       {}},
      {"epochs",
       ParamType::kInt,
       "100",
       "passes; one pass samples as many triples as training pairs",
       1,
       1000000,
       {}},
      {"init_std", ParamType::kFloat, "0.1", "std of the normal initial factors", 0, 10, {}},
      {"hogwild",
       ParamType::kBool,
       "true",
       "lock-free SGD on ctx.threads threads (fast, not bit-reproducible when threads > 1); false "
       "= "
       "one thread, bit-reproducible",
       0,
       1,
       {}},
  };
  return kParams;
}

std::unique_ptr<Recommender> MakeBpr(const framework::Config& config) {
  return std::make_unique<Bpr>(config);
}

}  // namespace recfuse::models
