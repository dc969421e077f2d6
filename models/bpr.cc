// BPR-MF: Rendle, Freudenthaler, Gantner & Schmidt-Thieme, "BPR: Bayesian Personalized
// Ranking from Implicit Feedback", UAI 2009. score(u, i) = p_u·q_i + b_i, trained by SGD on
// -log σ(x_ui - x_uj) over triples (u, i ∈ I_u, j ∉ I_u), with L2 weight `reg`.
//
// Training is lock-free (Hogwild: Recht, Ré, Wright & Niu, NIPS 2011): every thread samples
// and updates the shared factors without locks, as fastText and `implicit` do. Consequence:
// with threads > 1 the interleaving of updates is timing-dependent and results are NOT
// bit-reproducible between runs (they are statistically equivalent). With one thread (or
// hogwild=false, which forces one thread whatever ctx.threads says) a seed gives the same
// factors bit for bit; hogwild is therefore off by default. Defaults follow `implicit`'s BPR (lr 0.01, reg 0.01, 100 epochs).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "framework/parallel.h"
#include "framework/rng.h"
#include "framework/sysinfo.h"
#include "models/classic.h"

namespace recfuse::models {
namespace {

constexpr char kName[] = "bpr";

// The set of training pairs (key u * num_items + i), for the negative check. A lookup
// touches one prefetchable cache line, where a binary search in the user's row is a chain
// of dependent cache misses: on ml-1m-sized data that chain, not the arithmetic, bounded
// the sampling rate. Dense enough data (>= 1 pair per 128 cells, e.g. MovieLens) gets a
// bitmap, which is smaller and friendlier to caches and TLB than the open-addressing hash
// table (16 bytes per pair at load factor 1/2) used for sparser data.
class PairSet {
 public:
  PairSet(const std::vector<int64_t>& indptr, const std::vector<Index>& cols, Index num_items)
      : num_items_(static_cast<uint64_t>(num_items)) {
    const uint64_t cells = static_cast<uint64_t>(indptr.size() - 1) * num_items_;
    bitmap_ = cells <= 128 * static_cast<uint64_t>(cols.size());
    if (bitmap_) {
      table_.assign((cells + 63) / 64, 0);
    } else {
      size_t size = 16;
      int bits = 4;
      while (size < 2 * cols.size()) {  // load factor <= 1/2: short probe sequences
        size *= 2;
        ++bits;
      }
      shift_ = 64 - bits;
      mask_ = size - 1;
      table_.assign(size, kEmpty);
    }
    for (size_t u = 0; u + 1 < indptr.size(); ++u)
      for (int64_t p = indptr[u]; p < indptr[u + 1]; ++p) {
        const uint64_t key = Key(static_cast<Index>(u), cols[p]);
        if (bitmap_) {
          table_[key >> 6] |= uint64_t{1} << (key & 63);
          continue;
        }
        size_t slot = Slot(key);
        while (table_[slot] != kEmpty) slot = (slot + 1) & mask_;
        table_[slot] = key;
      }
  }
  uint64_t Key(Index u, Index i) const {
    return static_cast<uint64_t>(u) * num_items_ + static_cast<uint64_t>(i);
  }
  void Prefetch(uint64_t key) const {
    __builtin_prefetch(&table_[bitmap_ ? key >> 6 : Slot(key)], 0, 3);
  }
  bool Contains(uint64_t key) const {
    if (bitmap_) return (table_[key >> 6] >> (key & 63)) & 1;
    for (size_t slot = Slot(key);; slot = (slot + 1) & mask_) {
      const uint64_t v = table_[slot];
      if (v == key) return true;
      if (v == kEmpty) return false;
    }
  }

 private:
  size_t Slot(uint64_t key) const {
    return static_cast<size_t>((key * 0x9e3779b97f4a7c15ULL) >> shift_);
  }
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  uint64_t num_items_;
  bool bitmap_ = false;
  int shift_ = 60;
  size_t mask_ = 15;
  std::vector<uint64_t> table_;  // bitmap words, or hash slots
};

struct Pair {
  Index user, item;
};

// Everything a sampling thread reads; the factor arrays are written concurrently.
struct Shared {
  float* user;
  float* item;
  float* bias;
  int64_t dim;
  const PairSet* train;  // membership test for negatives
  const Pair* pos;       // sampling pool of positive pairs (users with a negative)
  int64_t num_pos;
  Index num_items;
  float lr, reg;
};

// Eight floats as one GCC vector value: element-wise arithmetic with a fixed summation order,
// lowered to two SSE registers by default and to one AVX register in the AVX2 clone, with
// bit-identical results (no FMA is enabled, so nothing is contracted differently).
// The helpers below are always inlined, so no V8 ever crosses a call boundary and the ABI
// note GCC emits for 32-byte vector arguments without AVX does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float V8 __attribute__((vector_size(32)));

__attribute__((always_inline)) inline V8 Load8(const float* p) {
  V8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
__attribute__((always_inline)) inline void Store8(float* p, V8 v) { std::memcpy(p, &v, sizeof v); }

// One SGD step on the triple (u, i, j). Returns -log σ(x_uij) before the step.
__attribute__((always_inline)) inline float Step(const Shared& s, Index u, Index i, Index j) {
  float* pu = s.user + static_cast<int64_t>(u) * s.dim;
  float* qi = s.item + static_cast<int64_t>(i) * s.dim;
  float* qj = s.item + static_cast<int64_t>(j) * s.dim;
  const int64_t d = s.dim, d8 = d - d % 8;
  V8 acc = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int64_t f = 0; f < d8; f += 8) acc += Load8(pu + f) * (Load8(qi + f) - Load8(qj + f));
  float x = s.bias[i] - s.bias[j];
  for (int64_t f = d8; f < d; ++f) x += pu[f] * (qi[f] - qj[f]);
  x += ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  // z = σ(-x) is the gradient scale of -log σ(x) = log(1 + e^x) - x, so one exp serves both.
  const float e = std::exp(x);
  const float z = 1.0f / (1.0f + e);
  const float lr = s.lr, reg = s.reg, lz = lr * z, keep = 1.0f - lr * reg;
  for (int64_t f = 0; f < d8; f += 8) {
    const V8 p = Load8(pu + f), a = Load8(qi + f), b = Load8(qj + f);
    Store8(pu + f, keep * p + lz * (a - b));
    Store8(qi + f, keep * a + lz * p);
    Store8(qj + f, keep * b - lz * p);
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

inline void PrefetchRow(const float* row, int64_t dim) {
  for (int64_t f = 0; f < dim; f += 16) __builtin_prefetch(row + f, 1, 3);
}

// Draws `n` triples with rng(seed) and applies their steps; returns the summed loss.
// Software-pipelined so that memory latency overlaps with useful work: the positive of
// sample t+2D is drawn and its pair prefetched, the negative of sample t+D is drawn and its
// factor rows and hash slot prefetched, and sample t is checked and applied. The draws
// still happen in one fixed order, so a seed fixes the triples.
// Multiversioned so that CPUs with AVX2 get wider vectors; the dispatch happens once per
// call (per thread and epoch), never inside the loop.
__attribute__((target_clones("avx2", "default"))) double RunSamples(const Shared& s, uint64_t seed,
                                                                    int64_t n) {
  constexpr int64_t kAhead = 8, kRing = 32;  // kRing > 2 * kAhead + 1 live samples
  struct Pending {
    uint64_t k;
    Index u, i, j;
    uint64_t key;
  };
  Pending ring[kRing];
  framework::Rng rng(seed);
  const auto num_pos = static_cast<uint64_t>(s.num_pos);
  const auto num_items = static_cast<uint64_t>(s.num_items);
  auto draw_positive = [&](int64_t t) {
    Pending& p = ring[t & (kRing - 1)];
    p.k = rng.UniformInt(num_pos);
    __builtin_prefetch(&s.pos[p.k], 0, 3);
  };
  auto draw_negative = [&](int64_t t) {
    Pending& p = ring[t & (kRing - 1)];
    const Pair pair = s.pos[p.k];
    p.u = pair.user;
    p.i = pair.item;
    p.j = static_cast<Index>(rng.UniformInt(num_items));
    p.key = s.train->Key(p.u, p.j);
    s.train->Prefetch(p.key);
    PrefetchRow(s.user + static_cast<int64_t>(p.u) * s.dim, s.dim);
    PrefetchRow(s.item + static_cast<int64_t>(p.i) * s.dim, s.dim);
    PrefetchRow(s.item + static_cast<int64_t>(p.j) * s.dim, s.dim);
  };
  for (int64_t t = 0; t < std::min(n, 2 * kAhead); ++t) draw_positive(t);
  for (int64_t t = 0; t < std::min(n, kAhead); ++t) draw_negative(t);
  double loss = 0;
  for (int64_t t = 0; t < n; ++t) {
    Pending& p = ring[t & (kRing - 1)];
    // Rejection: the pool only holds users who have at least one negative.
    while (s.train->Contains(p.key)) {
      p.j = static_cast<Index>(rng.UniformInt(num_items));
      p.key = s.train->Key(p.u, p.j);
    }
    loss += Step(s, p.u, p.i, p.j);
    if (t + kAhead < n) draw_negative(t + kAhead);
    if (t + 2 * kAhead < n) draw_positive(t + 2 * kAhead);
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
    std::vector<Pair> pos;
    pos.reserve(cols.size());
    for (Index u = 0; u < nu; ++u) {
      if (indptr[u + 1] - indptr[u] >= ni) continue;  // no negative exists for this user
      for (int64_t p = indptr[u]; p < indptr[u + 1]; ++p) pos.push_back({u, cols[p]});
    }
    if (pos.empty())
      throw framework::Error("bpr: no training pair has a negative item to contrast with");
    const PairSet train_set(indptr, cols, ni);

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
             &train_set,
             pos.data(),
             static_cast<int64_t>(pos.size()),
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
      // Off by default: recfuse's promise is "same seed and thread count, same numbers".
      {"hogwild",
       ParamType::kBool,
       "false",
       "true = lock-free SGD on all threads (faster, not bit-reproducible when threads > 1); "
       "false = one thread, bit-reproducible",
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
