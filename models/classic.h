// Classic (non-neural) baselines every paper must beat, all on Eigen, none on libtorch.
// Each model lives in its own file, cites its paper there, and is created through the
// registry (models/registry.cc) which validates the config against its ParamSpecs first.
//
// Common contract of every model declared here:
//  - Fit(data, ctx) reads data.matrix (binary users x items) and, where stated, data.train
//    (duplicates, ratings); all ids are the dataset's dense ids.
//  - ScoreBlock scores each user independently (row k of `out` depends only on users[k]), so
//    a batch gives bit-identical rows to scoring each user alone. It is const and
//    thread-safe. A user id outside [0, num_users) throws framework::UnknownIdError.
//  - Cold users (no training interaction) get a defined score: zero user factors for the
//    dot-product models (so they rank by item bias, a learned popularity, or all zeros when
//    the model has no bias), all zeros for the neighbourhood models and EASE, and the train
//    popularity for pop (which ignores the user anyway).
//  - Save/Load round-trips the fitted state exactly (hyperparameters that matter for scoring
//    are stored in the file, so a loaded model does not need its config).
//  - Same config + seed + ctx.threads gives bit-identical results, except bpr with
//    hogwild=true and threads > 1 (lock-free SGD; see BprParams()).
#pragma once

#include <algorithm>
#include <istream>
#include <memory>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "framework/config.h"
#include "framework/error.h"
#include "models/recommender.h"
#include "models/serialize.h"

namespace recfuse::models {

// pop: item popularity = number of training interactions (duplicates counted, as RecBole's
// Pop does). No hyperparameters. Same scores for every user.
std::unique_ptr<Recommender> MakePop(const framework::Config& config);
const std::vector<framework::ParamSpec>& PopParams();

// itemknn / userknn: shrunk cosine neighbourhoods over the binary train matrix, top-k per
// row (params k, shrink; RecBole's defaults k=100, shrink=0). itemknn: score(u, i) =
// Σ_{j∈I_u} sim(i, j) over i's kept neighbours; userknn: score(u, i) = Σ_{v∈topk(u)}
// sim(u, v)·X(v, i). Fit is parallel over rows (ctx.threads), memory O(rows·k + nnz).
std::unique_ptr<Recommender> MakeItemKnn(const framework::Config& config);
const std::vector<framework::ParamSpec>& ItemKnnParams();
std::unique_ptr<Recommender> MakeUserKnn(const framework::Config& config);
const std::vector<framework::ParamSpec>& UserKnnParams();

// ease: Steck (2019) closed-form item-item model (params reg_weight=250, max_items). Fit
// needs ~20 bytes per items² (two double and one float items x items matrices) and throws
// ConfigError when num_items > max_items; Cholesky and inverse use ctx.threads.
std::unique_ptr<Recommender> MakeEase(const framework::Config& config);
const std::vector<framework::ParamSpec>& EaseParams();

// ials: Hu, Koren & Volinsky (2008) implicit ALS with a conjugate-gradient solver; the
// confidence counts duplicate training interactions. Exposes GetFactors (no bias). Each
// EpochRecord (one per iteration) carries the weighted objective per cell; computing it
// costs one extra pass, done only when ctx.on_epoch is set.
std::unique_ptr<Recommender> MakeIals(const framework::Config& config);
const std::vector<framework::ParamSpec>& IalsParams();

// bpr: BPR-MF (Rendle et al. 2009) by lock-free (Hogwild) SGD on ctx.threads threads; an
// epoch samples as many triples as there are distinct training pairs. Bit-reproducible only
// with one thread or hogwild=false. Exposes GetFactors with item bias. EpochRecord.loss is
// the mean -log σ(x_uij) of the epoch's triples (before each step). Throws Error if no user
// has a negative item.
std::unique_ptr<Recommender> MakeBpr(const framework::Config& config);
const std::vector<framework::ParamSpec>& BprParams();

// biasedmf: Koren (2009) biased matrix factorisation for rating prediction; Fit throws
// MissingModalityError without a rating column. PredictsRatings() is true (predictions
// clipped to the training rating range); ranking via GetFactors is p_u·q_i + b_i.
// EpochRecord.loss is the train RMSE after the epoch. Sequential SGD (ctx.threads unused).
std::unique_ptr<Recommender> MakeBiasedMf(const framework::Config& config);
const std::vector<framework::ParamSpec>& BiasedMfParams();

// random: uniform scores in [0, 1) from a hash of (FitContext::seed, user, item); the same
// seed gives the same ranking. No hyperparameters, nothing learnt: the floor of a study
// (on cold items the honest reference of every content model).
std::unique_ptr<Recommender> MakeRandom(const framework::Config& config);
const std::vector<framework::ParamSpec>& RandomParams();

// oracle: the synthetic world's noiseless preference s(u, i) = <u_u, v_i> + b_i
// (datasets::OracleScore), read from truth_users.tsv / truth_items.tsv in `truth_dir`
// (default: the dataset's own folder, TrainData::dataset->source) and mapped from raw tokens
// to the dataset's dense ids; the ceiling of a synthetic study. Fit throws
// MissingModalityError naming the missing truth file on other data, DataError when a
// dataset's user or item is not in the truth.
std::unique_ptr<Recommender> MakeOracle(const framework::Config& config);
const std::vector<framework::ParamSpec>& OracleParams();

// rp3beta: Paudel et al. (2017) random-walk item-item similarity with popularity penalty
// (models/rp3beta.cc). slim: Ning & Karypis (2011) ElasticNet item-item weights by
// coordinate descent (models/slim.cc). admmslim: Steck et al. (2020) ADMM-SLIM
// (models/admm_slim.cc). Each file says its equations, memory and deviations.
std::unique_ptr<Recommender> MakeRp3Beta(const framework::Config& config);
const std::vector<framework::ParamSpec>& Rp3BetaParams();
std::unique_ptr<Recommender> MakeSlim(const framework::Config& config);
const std::vector<framework::ParamSpec>& SlimParams();
std::unique_ptr<Recommender> MakeAdmmSlim(const framework::Config& config);
const std::vector<framework::ParamSpec>& AdmmSlimParams();

namespace classic_internal {

// Sparse matrices in model files: shape, then the compressed arrays. Read validates the
// structure (monotone outer index, inner indices in range) so a corrupt file fails on load
// rather than reading out of bounds while scoring.
inline void WriteSparse(std::ostream& out, const SpMat& m) {
  RF_CHECK(m.isCompressed(), "sparse matrix must be compressed before saving");
  WritePod<int64_t>(out, m.rows());
  WritePod<int64_t>(out, m.cols());
  WritePod<int64_t>(out, m.nonZeros());
  out.write(reinterpret_cast<const char*>(m.outerIndexPtr()),
            static_cast<std::streamsize>(sizeof(int64_t) * (m.outerSize() + 1)));
  out.write(reinterpret_cast<const char*>(m.innerIndexPtr()),
            static_cast<std::streamsize>(sizeof(int64_t) * m.nonZeros()));
  out.write(reinterpret_cast<const char*>(m.valuePtr()),
            static_cast<std::streamsize>(sizeof(float) * m.nonZeros()));
}

inline void ReadSparse(std::istream& in, SpMat& m) {
  const auto rows = ReadPod<int64_t>(in), cols = ReadPod<int64_t>(in), nnz = ReadPod<int64_t>(in);
  if (rows < 0 || cols < 0 || rows > (int64_t{1} << 31) || cols > (int64_t{1} << 31) || nnz < 0 ||
      nnz > (int64_t{1} << 34))
    throw framework::Error("model file corrupt: bad sparse matrix shape");
  std::vector<int64_t> outer(static_cast<size_t>(rows) + 1), inner(static_cast<size_t>(nnz));
  std::vector<float> val(static_cast<size_t>(nnz));
  in.read(reinterpret_cast<char*>(outer.data()),
          static_cast<std::streamsize>(sizeof(int64_t) * outer.size()));
  in.read(reinterpret_cast<char*>(inner.data()),
          static_cast<std::streamsize>(sizeof(int64_t) * inner.size()));
  in.read(reinterpret_cast<char*>(val.data()),
          static_cast<std::streamsize>(sizeof(float) * val.size()));
  if (!in) throw framework::Error("model file truncated");
  if (outer.front() != 0 || outer.back() != nnz)
    throw framework::Error("model file corrupt: sparse outer index does not cover the entries");
  for (int64_t r = 0; r < rows; ++r)
    if (outer[r] > outer[r + 1])
      throw framework::Error("model file corrupt: sparse outer index decreases");
  for (int64_t c : inner)
    if (c < 0 || c >= cols)
      throw framework::Error("model file corrupt: sparse column out of range");
  m = SpMat(rows, cols);
  m.resizeNonZeros(nnz);
  std::copy(outer.begin(), outer.end(), m.outerIndexPtr());
  std::copy(inner.begin(), inner.end(), m.innerIndexPtr());
  std::copy(val.begin(), val.end(), m.valuePtr());
}

inline void CheckScoreArgs(const char* model, std::span<const Index> users, Index num_users,
                           Index num_items, const Eigen::Ref<RowMatrixXf>& out) {
  if (num_items <= 0) throw framework::Error(std::string(model) + ": ScoreBlock before Fit/Load");
  if (out.rows() != static_cast<Eigen::Index>(users.size()) || out.cols() != num_items)
    throw framework::Error(std::string(model) + ": ScoreBlock output is " +
                           std::to_string(out.rows()) + "x" + std::to_string(out.cols()) +
                           ", expected " + std::to_string(users.size()) + "x" +
                           std::to_string(num_items));
  for (Index u : users)
    if (u < 0 || u >= num_users)
      throw framework::UnknownIdError(std::string(model) + ": user id " + std::to_string(u) +
                                      " outside [0, " + std::to_string(num_users) + ")");
}

// Adds row `row` of `m` (scaled by `weight`) into `dst` (length m.cols()).
inline void AddSparseRow(const SpMat& m, Index row, float weight, float* dst) {
  const int64_t* outer = m.outerIndexPtr();
  const int64_t* inner = m.innerIndexPtr();
  const float* val = m.valuePtr();
  for (int64_t p = outer[row]; p < outer[row + 1]; ++p) dst[inner[p]] += weight * val[p];
}

// Dot-product scoring shared by the factor models: row k = item * user[users[k]] (+ bias),
// one GEMV per user so that a row never depends on the rest of the batch.
inline void ScoreDot(std::span<const Index> users, const RowMatrixXf& user, const RowMatrixXf& item,
                     const Eigen::VectorXf* item_bias, Eigen::Ref<RowMatrixXf> out) {
  for (size_t k = 0; k < users.size(); ++k) {
    out.row(static_cast<Eigen::Index>(k)).transpose().noalias() =
        item * user.row(users[k]).transpose();
    if (item_bias) out.row(static_cast<Eigen::Index>(k)) += item_bias->transpose();
  }
}

// The fitted state of the sparse item-item models (rp3beta, slim, admmslim): score(u, ·) =
// X_u W with X the binary train matrix and W a sparse items x items matrix, stored as header,
// shapes, X and W. A model derives from this and fills num_users_, num_items_, matrix_ and
// weights_ in Fit; `name` is its registry name (file header and error messages).
class SparseItemItemModel : public Recommender {
 public:
  explicit SparseItemItemModel(const char* name) : name_(name) {}

  void ScoreBlock(std::span<const Index> users, Eigen::Ref<RowMatrixXf> out) const override {
    CheckScoreArgs(name_, users, num_users_, num_items_, out);
    for (size_t k = 0; k < users.size(); ++k) {
      auto row = out.row(static_cast<Eigen::Index>(k));
      row.setZero();
      const Index u = users[k];
      for (int64_t p = matrix_.outerIndexPtr()[u]; p < matrix_.outerIndexPtr()[u + 1]; ++p)
        AddSparseRow(weights_, static_cast<Index>(matrix_.innerIndexPtr()[p]), 1.0f, row.data());
    }
  }

  void Save(std::ostream& out) const override {
    WriteHeader(out, name_);
    WritePod<int64_t>(out, num_users_);
    WritePod<int64_t>(out, num_items_);
    WriteSparse(out, matrix_);
    WriteSparse(out, weights_);
  }

  void Load(std::istream& in) override {
    ReadHeader(in, name_);
    num_users_ = static_cast<Index>(ReadPod<int64_t>(in));
    num_items_ = static_cast<Index>(ReadPod<int64_t>(in));
    ReadSparse(in, matrix_);
    ReadSparse(in, weights_);
    if (matrix_.rows() != num_users_ || matrix_.cols() != num_items_ ||
        weights_.rows() != num_items_ || weights_.cols() != num_items_)
      throw framework::Error(std::string(name_) + ": model file corrupt: matrix shapes disagree");
  }

 protected:
  const char* name_;
  Index num_users_ = 0, num_items_ = 0;
  SpMat matrix_;   // users x items, binary train matrix
  SpMat weights_;  // W, items x items, sparse
};

}  // namespace classic_internal
}  // namespace recfuse::models
