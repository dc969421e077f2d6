// ADMM SLIM: Steck, Dimakopoulou, Riabov & Jebara, "ADMM SLIM: Sparse Recommendations for
// Many Users", WSDM 2020, Algorithm 1. On the binary train matrix X (users x items), G = XᵀX,
// it solves min_B ||X - XB||² + λ1||B||_1 + λ2||B||², diag(B) = 0, B >= 0 (positive_only) by
//   P = (G + (λ2 + ρ)I)⁻¹,  B_aux = P G,  Γ = C = 0;  repeat k times:
//     B̃ = B_aux + P(ρC - Γ);  γ = diag(B̃) ⊘ diag(P);  B = B̃ - P dMat(γ);
//     C = (S_{λ1/ρ}(B + Γ/ρ))₊   (S = elementwise soft threshold; ₊ only with positive_only);
//     Γ = Γ + ρ(B - C).
// score(u, ·) = X_u C (C is the sparse iterate; it is stored sparse).
// Implementation notes: P is computed in double (Cholesky and triangular inverse, as EASE);
// the iterations run in float, like RecBole. B_aux is not stored: B_aux = P G = I - (λ2+ρ)P,
// so B̃ = I + P(ρC - Γ - (λ2+ρ)I), one items³ product per iteration done by fixed column
// blocks (each block by one thread, same shapes whatever the thread count: bit-identical
// results). diag(B) is set to exactly 0 after the γ step (it is 0 in exact arithmetic; float
// would leave rounding residue on C's diagonal when λ1 = 0). Memory: ~20 bytes per items²
// (two double items x items while inverting, then four float ones); Fit refuses above
// max_items with a ConfigError, as EASE does.
// Deviations from RecBole's ADMMSLIM: RecBole replaces λ2·I by λ2·diag(mean_j^alpha)
// (mean_j = item j's share of users) with alpha = 0.5 by default; the paper has a plain λ2·I.
// This file exposes the same `alpha` with default 0, which is the paper's (mean^0 = 1).
// RecBole adds 1e-7 to diag(P) in γ (not needed: P is positive definite) and adds random
// noise to the scores; neither is done here. RecBole's center_columns option (dense centred X)
// is not implemented.
#include <Eigen/Cholesky>
#include <Eigen/Dense>
#include <algorithm>
#include <chrono>
#include <cmath>

#include "framework/parallel.h"
#include "models/classic.h"

namespace recfuse::models {
namespace {

constexpr char kName[] = "admmslim";
constexpr int64_t kBlock = 128;

class AdmmSlim : public classic_internal::SparseItemItemModel {
 public:
  explicit AdmmSlim(const framework::Config& config)
      : SparseItemItemModel(kName),
        lambda1_(config.GetDouble(AdmmSlimParams(), "lambda1")),
        lambda2_(config.GetDouble(AdmmSlimParams(), "lambda2")),
        alpha_(config.GetDouble(AdmmSlimParams(), "alpha")),
        rho_(config.GetDouble(AdmmSlimParams(), "rho")),
        iterations_(config.GetInt(AdmmSlimParams(), "k")),
        positive_only_(config.GetBool(AdmmSlimParams(), "positive_only")),
        max_items_(config.GetInt(AdmmSlimParams(), "max_items")) {}

  void Fit(const TrainData& data, const FitContext& ctx) override {
    const Index n = data.num_items;
    if (n > max_items_)
      throw framework::ConfigError(
          "admmslim: " + std::to_string(n) + " items exceed max_items=" +
          std::to_string(max_items_) + "; ADMM-SLIM needs dense " + std::to_string(n) + "x" +
          std::to_string(n) + " matrices (~" +
          std::to_string(static_cast<int64_t>(20.0 * n * n / 1e9 + 0.5)) +
          " GB); raise max_items if the machine has the memory");
    num_users_ = data.num_users;
    num_items_ = n;
    matrix_ = data.matrix;
    matrix_.makeCompressed();
    const int threads = framework::ResolveThreads(ctx.threads);
    const int64_t blocks = (n + kBlock - 1) / kBlock;

    // d_j = λ2·mean_j^alpha + ρ: the diagonal added to G (alpha = 0 is the paper's λ2 + ρ).
    std::vector<double> d(static_cast<size_t>(n));
    {
      std::vector<int64_t> pop(static_cast<size_t>(n), 0);
      for (int64_t p = 0; p < matrix_.nonZeros(); ++p) ++pop[matrix_.innerIndexPtr()[p]];
      for (Index j = 0; j < n; ++j) {
        const double mean = num_users_ > 0 ? static_cast<double>(pop[j]) / num_users_ : 0.0;
        d[j] = lambda2_ * std::pow(mean, alpha_) + rho_;
      }
    }

    Eigen::MatrixXf p = Inverse(d, threads);  // P, symmetric

    // Dense iterates. M holds ρC - Γ - diag(d) before each product and C after it.
    Eigen::MatrixXf gamma_m = Eigen::MatrixXf::Zero(n, n), m(n, n), b(n, n);
    const float rho = static_cast<float>(rho_), thresh = static_cast<float>(lambda1_ / rho_);
    for (int64_t it = 0; it < iterations_; ++it) {
      const auto start = std::chrono::steady_clock::now();
      std::vector<double> residual(static_cast<size_t>(blocks), 0.0);
      framework::ParallelChunks(0, blocks, 1, threads, [&](int64_t lo, int64_t hi, int) {
        for (int64_t blk = lo; blk < hi; ++blk) {
          const int64_t c0 = blk * kBlock, w = std::min<int64_t>(kBlock, n - c0);
          auto mb = m.middleCols(c0, w);
          if (it == 0)
            mb.setZero();
          else
            mb = rho * mb - gamma_m.middleCols(c0, w);  // m holds C from the last iteration
          for (int64_t j = c0; j < c0 + w; ++j) mb(j, j - c0) -= static_cast<float>(d[j]);
        }
      });
      framework::ParallelChunks(0, blocks, 1, threads, [&](int64_t lo, int64_t hi, int) {
        for (int64_t blk = lo; blk < hi; ++blk) {
          const int64_t c0 = blk * kBlock, w = std::min<int64_t>(kBlock, n - c0);
          auto bb = b.middleCols(c0, w);
          bb.noalias() = p * m.middleCols(c0, w);
          for (int64_t j = c0; j < c0 + w; ++j) {
            auto col = bb.col(j - c0);
            col(j) += 1.0f;  // B̃ = I + P(...)
            const float g = col(j) / p(j, j);
            col -= g * p.col(j);
            col(j) = 0.0f;
          }
        }
      });
      framework::ParallelChunks(0, blocks, 1, threads, [&](int64_t lo, int64_t hi, int) {
        for (int64_t blk = lo; blk < hi; ++blk) {
          const int64_t c0 = blk * kBlock, w = std::min<int64_t>(kBlock, n - c0);
          double r2 = 0;
          for (int64_t j = c0; j < c0 + w; ++j)
            for (Index i = 0; i < n; ++i) {
              const float bij = b(i, j);
              float& g = gamma_m(i, j);
              const float v = bij + g / rho;
              float c = std::abs(v) > thresh ? std::copysign(std::abs(v) - thresh, v) : 0.0f;
              if (positive_only_ && c < 0) c = 0.0f;
              m(i, j) = c;
              g += rho * (bij - c);
              r2 += static_cast<double>(bij - c) * (bij - c);
            }
          residual[blk] = r2;
        }
      });
      if (ctx.on_epoch) {
        EpochRecord rec;
        rec.epoch = static_cast<int>(it + 1);
        double r2 = 0;
        for (double v : residual) r2 += v;
        rec.loss = std::sqrt(r2);  // primal residual ||B - C||_F
        rec.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        ctx.on_epoch(rec);
      }
    }
    if (iterations_ == 0) m.setZero();
    p.resize(0, 0);
    b.resize(0, 0);
    gamma_m.resize(0, 0);

    // C, stored by item row (row i = items that i's presence in a history contributes to).
    int64_t nnz = 0;
    for (Index j = 0; j < n; ++j)
      for (Index i = 0; i < n; ++i) nnz += m(i, j) != 0.0f;
    weights_ = SpMat(n, n);
    weights_.resizeNonZeros(nnz);
    int64_t pos = 0;
    for (Index i = 0; i < n; ++i) {
      weights_.outerIndexPtr()[i] = pos;
      for (Index j = 0; j < n; ++j)
        if (m(i, j) != 0.0f) {
          weights_.innerIndexPtr()[pos] = j;
          weights_.valuePtr()[pos] = m(i, j);
          ++pos;
        }
    }
    weights_.outerIndexPtr()[n] = pos;
  }

 private:
  // (XᵀX + diag(d))⁻¹ in double, returned as float. Same scheme as EASE: exact integer Gram
  // accumulation by item columns, in-place Cholesky, blockwise triangular inverse skipping
  // the known zeros, P = L⁻ᵀL⁻¹ (lower triangle, mirrored).
  Eigen::MatrixXf Inverse(const std::vector<double>& d, int threads) const {
    const Index n = num_items_;
    Eigen::MatrixXd g = Eigen::MatrixXd::Zero(n, n);
    {
      const SpMat by_item = matrix_.transpose();
      framework::ParallelChunks(0, n, 64, threads, [&](int64_t lo, int64_t hi, int) {
        for (int64_t i = lo; i < hi; ++i)
          for (int64_t p = by_item.outerIndexPtr()[i]; p < by_item.outerIndexPtr()[i + 1]; ++p) {
            const int64_t u = by_item.innerIndexPtr()[p];
            for (int64_t q = matrix_.outerIndexPtr()[u]; q < matrix_.outerIndexPtr()[u + 1]; ++q)
              g(matrix_.innerIndexPtr()[q], i) += 1.0;
          }
      });
    }
    for (Index j = 0; j < n; ++j) g(j, j) += d[j];
    Eigen::LLT<Eigen::Ref<Eigen::MatrixXd>> llt(g);
    if (llt.info() != Eigen::Success)
      throw framework::Error("admmslim: XᵀX + lambda2 + rho is not positive definite; use rho > 0");
    Eigen::MatrixXd inv = Eigen::MatrixXd::Zero(n, n);
    const int64_t blocks = (n + kBlock - 1) / kBlock;
    framework::ParallelChunks(0, blocks, 1, threads, [&](int64_t lo, int64_t hi, int) {
      for (int64_t b = lo; b < hi; ++b) {
        const int64_t c0 = b * kBlock, w = std::min<int64_t>(kBlock, n - c0), m = n - c0;
        auto blk = inv.block(c0, c0, m, w);
        blk.topRows(w).setIdentity();
        g.bottomRightCorner(m, m).triangularView<Eigen::Lower>().solveInPlace(blk);
      }
    });
    framework::ParallelChunks(0, blocks, 1, threads, [&](int64_t lo, int64_t hi, int) {
      for (int64_t b = lo; b < hi; ++b) {
        const int64_t c0 = b * kBlock, w = std::min<int64_t>(kBlock, n - c0), m = n - c0;
        g.block(c0, c0, m, w).noalias() =
            inv.bottomRightCorner(m, m).transpose() * inv.block(c0, c0, m, w);
      }
    });
    inv.resize(0, 0);
    Eigen::MatrixXf p(n, n);
    for (Index j = 0; j < n; ++j)
      for (Index i = 0; i < n; ++i) p(i, j) = static_cast<float>(g(std::max(i, j), std::min(i, j)));
    return p;
  }

  double lambda1_, lambda2_, alpha_, rho_;
  int64_t iterations_;
  bool positive_only_;
  int64_t max_items_;
};

}  // namespace

const std::vector<framework::ParamSpec>& AdmmSlimParams() {
  // lambda1, lambda2 chosen on ml-100k validation NDCG@10 (ratio:0.8,0.1,0.1, seed 0), grid
  // lambda1 ∈ {1,3,10} x lambda2 ∈ {100,200,500}: best lambda1=1, lambda2=200 (0.2686; RecBole's
  // 3/200: 0.2685). rho, k, positive_only: RecBole's ADMMSLIM defaults (rho = 4000, 100
  // iterations). alpha = 0: the paper's uniform λ2.
  static const std::vector<framework::ParamSpec> kParams = {
      {"lambda1", framework::ParamType::kFloat, "1.0", "L1 weight λ1 (sparsity of C)", 0, 1e12, {}},
      {"lambda2", framework::ParamType::kFloat, "200.0", "L2 weight λ2", 0, 1e12, {}},
      {"alpha",
       framework::ParamType::kFloat,
       "0.0",
       "RecBole's popularity weighting: item j's L2 weight is lambda2·(share of users)^alpha "
       "(0 = the paper's uniform lambda2)",
       0,
       10,
       {}},
      {"rho", framework::ParamType::kFloat, "4000.0", "ADMM penalty ρ", 1e-9, 1e12, {}},
      {"k", framework::ParamType::kInt, "100", "number of ADMM iterations", 0, 1e6, {}},
      {"positive_only",
       framework::ParamType::kBool,
       "true",
       "project C onto nonnegative weights",
       0,
       1,
       {}},
      {"max_items",
       framework::ParamType::kInt,
       "20000",
       "refuse to fit above this many items (~20 bytes per items² of dense memory)",
       1,
       1e9,
       {}},
  };
  return kParams;
}

std::unique_ptr<Recommender> MakeAdmmSlim(const framework::Config& config) {
  return std::make_unique<AdmmSlim>(config);
}

}  // namespace recfuse::models
