// EASE: Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019.
// Closed form: G = XᵀX + λI, P = G⁻¹, B = I - P·diag(1/diag(P)) (i.e. B_ij = -P_ij / P_jj,
// B_jj = 0); score(u, ·) = X_u B. λ defaults to RecBole's reg_weight = 250.
#include <Eigen/Cholesky>
#include <Eigen/Dense>
#include <algorithm>

#include "framework/log.h"
#include "framework/parallel.h"
#include "models/classic.h"

namespace recfuse::models {
namespace {

constexpr char kName[] = "ease";

class Ease : public Recommender {
 public:
  explicit Ease(const framework::Config& config)
      : reg_(config.GetDouble(EaseParams(), "reg_weight")),
        max_items_(config.GetInt(EaseParams(), "max_items")) {}

  void Fit(const TrainData& data, const FitContext& ctx) override {
    const Index n = data.num_items;
    if (n > max_items_)
      throw framework::ConfigError(
          "ease: " + std::to_string(n) + " items exceed max_items=" + std::to_string(max_items_) +
          "; EASE needs dense " + std::to_string(n) + "x" + std::to_string(n) + " matrices (~" +
          std::to_string(static_cast<int64_t>(20.0 * n * n / 1e9 + 0.5)) +
          " GB); raise max_items if the machine has the memory");
    num_users_ = data.num_users;
    num_items_ = n;
    matrix_ = data.matrix;
    matrix_.makeCompressed();
    const int threads = framework::ResolveThreads(ctx.threads);

    // Gram matrix XᵀX by item rows: co-occurrence counts are integers, so the row-parallel
    // accumulation is exact and independent of the thread count.
    Eigen::MatrixXd g = Eigen::MatrixXd::Zero(n, n);
    {
      const SpMat by_item = matrix_.transpose();
      framework::ParallelChunks(0, n, 64, threads, [&](int64_t lo, int64_t hi, int) {
        for (int64_t i = lo; i < hi; ++i)
          for (int64_t p = by_item.outerIndexPtr()[i]; p < by_item.outerIndexPtr()[i + 1]; ++p) {
            const int64_t u = by_item.innerIndexPtr()[p];
            for (int64_t q = matrix_.outerIndexPtr()[u]; q < matrix_.outerIndexPtr()[u + 1]; ++q)
              g(matrix_.innerIndexPtr()[q], i) += 1.0;  // column i: this thread's alone
          }
      });
    }
    g.diagonal().array() += reg_;

    // P = G⁻¹ = L⁻ᵀL⁻¹ from the Cholesky factor, by column blocks that skip the known zeros
    // of the triangular inverse (~n³ flops instead of the 2n³ of solving against I). The
    // factorisation is in place and the two dense buffers swap roles (G -> L, L⁻¹, P) so
    // the peak is two n x n doubles plus B in float.
    Eigen::LLT<Eigen::Ref<Eigen::MatrixXd>> llt(g);
    if (llt.info() != Eigen::Success)
      throw framework::Error("ease: XᵀX + reg_weight·I is not positive definite (reg_weight=" +
                             std::to_string(reg_) + "); use reg_weight > 0");
    Eigen::MatrixXd inv = Eigen::MatrixXd::Zero(n, n);  // L⁻¹
    constexpr int64_t kBlock = 128;
    const int64_t blocks = (n + kBlock - 1) / kBlock;
    framework::ParallelChunks(0, blocks, 1, threads, [&](int64_t lo, int64_t hi, int) {
      for (int64_t b = lo; b < hi; ++b) {
        const int64_t c0 = b * kBlock, w = std::min<int64_t>(kBlock, n - c0), m = n - c0;
        auto blk = inv.block(c0, c0, m, w);
        blk.topRows(w).setIdentity();
        g.bottomRightCorner(m, m).triangularView<Eigen::Lower>().solveInPlace(blk);
      }
    });
    Eigen::MatrixXd& p = g;  // L is no longer needed
    framework::ParallelChunks(0, blocks, 1, threads, [&](int64_t lo, int64_t hi, int) {
      for (int64_t b = lo; b < hi; ++b) {
        const int64_t c0 = b * kBlock, w = std::min<int64_t>(kBlock, n - c0), m = n - c0;
        p.block(c0, c0, m, w).noalias() =
            inv.bottomRightCorner(m, m).transpose() * inv.block(c0, c0, m, w);
      }
    });
    // Only the lower triangle of P was computed; P is symmetric.
    weights_.resize(n, n);
    for (Index i = 0; i < n; ++i)
      for (Index j = 0; j < n; ++j)
        weights_(i, j) =
            i == j ? 0.0f : static_cast<float>(-p(std::max(i, j), std::min(i, j)) / p(j, j));
  }

  void ScoreBlock(std::span<const Index> users, Eigen::Ref<RowMatrixXf> out) const override {
    classic_internal::CheckScoreArgs(kName, users, num_users_, num_items_, out);
    for (size_t k = 0; k < users.size(); ++k) {
      auto row = out.row(static_cast<Eigen::Index>(k));
      row.setZero();
      const Index u = users[k];
      for (int64_t q = matrix_.outerIndexPtr()[u]; q < matrix_.outerIndexPtr()[u + 1]; ++q)
        row += weights_.row(matrix_.innerIndexPtr()[q]);
    }
  }

  void Save(std::ostream& out) const override {
    WriteHeader(out, kName);
    WritePod<int64_t>(out, num_users_);
    WritePod<int64_t>(out, num_items_);
    WritePod<double>(out, reg_);
    classic_internal::WriteSparse(out, matrix_);
    WriteMatrix(out, weights_);
  }

  void Load(std::istream& in) override {
    ReadHeader(in, kName);
    num_users_ = static_cast<Index>(ReadPod<int64_t>(in));
    num_items_ = static_cast<Index>(ReadPod<int64_t>(in));
    reg_ = ReadPod<double>(in);
    classic_internal::ReadSparse(in, matrix_);
    ReadMatrix(in, weights_);
    if (matrix_.rows() != num_users_ || matrix_.cols() != num_items_ ||
        weights_.rows() != num_items_ || weights_.cols() != num_items_)
      throw framework::Error("ease: model file corrupt: matrix shapes disagree");
  }

 private:
  double reg_;
  int64_t max_items_;
  Index num_users_ = 0, num_items_ = 0;
  SpMat matrix_;         // users x items, binary train matrix
  RowMatrixXf weights_;  // B, items x items
};

}  // namespace

const std::vector<framework::ParamSpec>& EaseParams() {
  static const std::vector<framework::ParamSpec> kParams = {
      {"reg_weight",
       framework::ParamType::kFloat,
       "250.0",
       "L2 weight λ added to the diagonal of XᵀX",
       0,
       1e12,
       {}},
      {"max_items",
       framework::ParamType::kInt,
       "20000",
       "refuse to fit above this many items (dense items x items memory)",
       1,
       1e9,
       {}},
  };
  return kParams;
}

std::unique_ptr<Recommender> MakeEase(const framework::Config& config) {
  return std::make_unique<Ease>(config);
}

}  // namespace recfuse::models
