// Neighbourhood models with shrunk cosine similarity on the binary train matrix:
//  - itemknn: Sarwar, Karypis, Konstan & Riedl, "Item-based collaborative filtering
//    recommendation algorithms", WWW 2001; Deshpande & Karypis, "Item-based top-N
//    recommendation algorithms", TOIS 2004 (top-k neighbours per item). Defaults follow
//    RecBole's ItemKNN (k = 100, shrink = 0).
//  - userknn: the user-user counterpart (Herlocker, Konstan, Borchers & Riedl, SIGIR 1999).
//
// sim(a, b) = |N_a ∩ N_b| / (sqrt|N_a| sqrt|N_b| + shrink), self-similarity excluded; each
// row keeps its k largest similarities (ties broken by the smaller id, so the kept set is
// deterministic).
#include <algorithm>
#include <cmath>

#include "framework/parallel.h"
#include "models/classic.h"

namespace recfuse::models {
namespace {

// Row-row cosine over the binary rows of `a` (rows x cols), top-k per row, as a row-major
// rows x rows matrix with ascending column indices. This is the sparse product a·aᵀ done
// row by row (Gustavson's algorithm with a dense accumulator per thread), so memory stays
// O(rows · k) instead of materialising the full co-occurrence matrix, and rows are
// independent: the result does not depend on the thread count.
SpMat TopKCosine(const SpMat& a, int64_t k, double shrink, int threads) {
  const Index rows = static_cast<Index>(a.rows());
  const SpMat at = a.transpose();
  std::vector<double> norm(static_cast<size_t>(rows));
  for (Index r = 0; r < rows; ++r)
    norm[r] = std::sqrt(static_cast<double>(a.outerIndexPtr()[r + 1] - a.outerIndexPtr()[r]));

  std::vector<std::vector<std::pair<Index, float>>> kept(static_cast<size_t>(rows));
  threads = framework::ResolveThreads(threads);
  struct Scratch {
    std::vector<int32_t> count;
    std::vector<Index> touched;
    std::vector<std::pair<float, Index>> cand;
  };
  std::vector<Scratch> scratch(static_cast<size_t>(threads));
  for (auto& s : scratch) s.count.assign(static_cast<size_t>(rows), 0);

  framework::ParallelChunks(0, rows, 64, threads, [&](int64_t lo, int64_t hi, int t) {
    Scratch& s = scratch[static_cast<size_t>(t)];
    for (Index r = static_cast<Index>(lo); r < hi; ++r) {
      s.touched.clear();
      for (int64_t p = a.outerIndexPtr()[r]; p < a.outerIndexPtr()[r + 1]; ++p) {
        const int64_t c = a.innerIndexPtr()[p];
        for (int64_t q = at.outerIndexPtr()[c]; q < at.outerIndexPtr()[c + 1]; ++q) {
          const Index r2 = static_cast<Index>(at.innerIndexPtr()[q]);
          if (r2 != r && s.count[r2]++ == 0) s.touched.push_back(r2);
        }
      }
      s.cand.clear();
      for (Index r2 : s.touched) {
        const double sim = s.count[r2] / (norm[r] * norm[r2] + shrink);
        s.cand.emplace_back(static_cast<float>(sim), r2);
        s.count[r2] = 0;
      }
      auto better = [](const auto& x, const auto& y) {
        return x.first > y.first || (x.first == y.first && x.second < y.second);
      };
      if (static_cast<int64_t>(s.cand.size()) > k) {
        std::nth_element(s.cand.begin(), s.cand.begin() + k, s.cand.end(), better);
        s.cand.resize(static_cast<size_t>(k));
      }
      auto& out = kept[r];
      out.reserve(s.cand.size());
      for (const auto& [sim, r2] : s.cand) out.emplace_back(r2, sim);
      std::sort(out.begin(), out.end());
    }
  });

  SpMat sim(rows, rows);
  int64_t nnz = 0;
  for (const auto& row : kept) nnz += static_cast<int64_t>(row.size());
  sim.resizeNonZeros(nnz);
  int64_t pos = 0;
  for (Index r = 0; r < rows; ++r) {
    sim.outerIndexPtr()[r] = pos;
    for (const auto& [c, v] : kept[r]) {
      sim.innerIndexPtr()[pos] = c;
      sim.valuePtr()[pos] = v;
      ++pos;
    }
  }
  sim.outerIndexPtr()[rows] = pos;
  return sim;
}

std::vector<framework::ParamSpec> KnnSpecs(const char* what) {
  return {
      {"k",
       framework::ParamType::kInt,
       "100",
       std::string("neighbours kept per ") + what,
       1,
       1e9,
       {}},
      {"shrink",
       framework::ParamType::kFloat,
       "0.0",
       "added to the cosine denominator; damps similarities supported by few co-occurrences",
       0,
       1e9,
       {}},
  };
}

// kItem: score(u, i) = sum over j in I_u of sim(i, j), with sim(i, .) i's top-k neighbours.
// kUser: score(u, i) = sum over v in topk(u) of sim(u, v) * X(v, i).
enum class Kind { kItem, kUser };

class Knn : public Recommender {
 public:
  Knn(Kind kind, const framework::Config& config)
      : kind_(kind),
        name_(kind == Kind::kItem ? "itemknn" : "userknn"),
        k_(config.GetInt(kind == Kind::kItem ? ItemKnnParams() : UserKnnParams(), "k")),
        shrink_(
            config.GetDouble(kind == Kind::kItem ? ItemKnnParams() : UserKnnParams(), "shrink")) {}

  void Fit(const TrainData& data, const FitContext& ctx) override {
    num_users_ = data.num_users;
    num_items_ = data.num_items;
    matrix_ = data.matrix;
    matrix_.makeCompressed();
    if (kind_ == Kind::kItem) {
      const SpMat by_item = matrix_.transpose();
      // Stored transposed: row j lists the items that have j among their neighbours, so a
      // user's scores are a sum of whole sparse rows (one per item in their history).
      const SpMat sim = TopKCosine(by_item, k_, shrink_, ctx.threads);
      neighbours_ = sim.transpose();
    } else {
      neighbours_ = TopKCosine(matrix_, k_, shrink_, ctx.threads);
    }
    neighbours_.makeCompressed();
  }

  void ScoreBlock(std::span<const Index> users, Eigen::Ref<RowMatrixXf> out) const override {
    classic_internal::CheckScoreArgs(name_, users, num_users_, num_items_, out);
    const SpMat& outer = kind_ == Kind::kItem ? matrix_ : neighbours_;
    const SpMat& rows = kind_ == Kind::kItem ? neighbours_ : matrix_;
    for (size_t k = 0; k < users.size(); ++k) {
      auto row = out.row(static_cast<Eigen::Index>(k));
      row.setZero();
      const Index u = users[k];
      for (int64_t p = outer.outerIndexPtr()[u]; p < outer.outerIndexPtr()[u + 1]; ++p)
        classic_internal::AddSparseRow(rows, static_cast<Index>(outer.innerIndexPtr()[p]),
                                       outer.valuePtr()[p], row.data());
    }
  }

  void Save(std::ostream& out) const override {
    WriteHeader(out, name_);
    WritePod<int64_t>(out, num_users_);
    WritePod<int64_t>(out, num_items_);
    WritePod<int64_t>(out, k_);
    WritePod<double>(out, shrink_);
    classic_internal::WriteSparse(out, matrix_);
    classic_internal::WriteSparse(out, neighbours_);
  }

  void Load(std::istream& in) override {
    ReadHeader(in, name_);
    num_users_ = static_cast<Index>(ReadPod<int64_t>(in));
    num_items_ = static_cast<Index>(ReadPod<int64_t>(in));
    k_ = ReadPod<int64_t>(in);
    shrink_ = ReadPod<double>(in);
    classic_internal::ReadSparse(in, matrix_);
    classic_internal::ReadSparse(in, neighbours_);
    const Index n = kind_ == Kind::kItem ? num_items_ : num_users_;
    if (matrix_.rows() != num_users_ || matrix_.cols() != num_items_ || neighbours_.rows() != n ||
        neighbours_.cols() != n)
      throw framework::Error(std::string(name_) + ": model file corrupt: matrix shapes disagree");
  }

 private:
  Kind kind_;
  const char* name_;
  int64_t k_;
  double shrink_;
  Index num_users_ = 0, num_items_ = 0;
  SpMat matrix_;      // users x items, binary train matrix
  SpMat neighbours_;  // kItem: items x items, sim transposed; kUser: users x users, sim
};

}  // namespace

const std::vector<framework::ParamSpec>& ItemKnnParams() {
  static const std::vector<framework::ParamSpec> kParams = KnnSpecs("item");
  return kParams;
}

const std::vector<framework::ParamSpec>& UserKnnParams() {
  static const std::vector<framework::ParamSpec> kParams = KnnSpecs("user");
  return kParams;
}

std::unique_ptr<Recommender> MakeItemKnn(const framework::Config& config) {
  return std::make_unique<Knn>(Kind::kItem, config);
}

std::unique_ptr<Recommender> MakeUserKnn(const framework::Config& config) {
  return std::make_unique<Knn>(Kind::kUser, config);
}

}  // namespace recfuse::models
