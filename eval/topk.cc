#include "eval/topk.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <memory>
#include <string>

#include "eval/metrics.h"
#include "framework/error.h"
#include "framework/parallel.h"
#include "framework/rng.h"

namespace recfuse::eval {

UserItems GroupRowsByUser(const datasets::Interactions& inter, std::span<const int64_t> rows,
                          Index num_users, Index num_items, int64_t* duplicates) {
  UserItems out;
  out.indptr.assign(static_cast<size_t>(num_users) + 1, 0);
  const int64_t n_rows = static_cast<int64_t>(inter.size());
  for (int64_t r : rows) {
    if (r < 0 || r >= n_rows)
      throw framework::Error("interaction row " + std::to_string(r) + " is out of range (" +
                             std::to_string(n_rows) + " rows)");
    const Index u = inter.user[r], i = inter.item[r];
    if (u < 0 || u >= num_users || i < 0 || i >= num_items)
      throw framework::Error("interaction row " + std::to_string(r) + " has user " +
                             std::to_string(u) + " / item " + std::to_string(i) +
                             " outside the id space (" + std::to_string(num_users) + " users, " +
                             std::to_string(num_items) + " items)");
    ++out.indptr[u + 1];
  }
  for (Index u = 0; u < num_users; ++u) out.indptr[u + 1] += out.indptr[u];
  out.items.resize(rows.size());
  std::vector<int64_t> fill(out.indptr.begin(), out.indptr.end() - 1);
  for (int64_t r : rows) out.items[fill[inter.user[r]]++] = inter.item[r];
  // Sort and deduplicate each row, compacting in place.
  int64_t write = 0, removed = 0;
  for (Index u = 0; u < num_users; ++u) {
    const int64_t b = out.indptr[u], e = out.indptr[u + 1];
    std::sort(out.items.begin() + b, out.items.begin() + e);
    const int64_t row_start = write;
    for (int64_t p = b; p < e; ++p) {
      if (p > b && out.items[p] == out.items[p - 1]) {
        ++removed;
        continue;
      }
      out.items[write++] = out.items[p];
    }
    out.indptr[u] = row_start;
  }
  out.indptr[num_users] = write;
  out.items.resize(static_cast<size_t>(write));
  if (duplicates) *duplicates += removed;
  return out;
}

int64_t CountMaskedPairs(const UserItems& test, const UserItems& exclude,
                         const models::SpMat& train) {
  int64_t masked = 0;
  std::vector<Index> train_row;
  for (Index u = 0; u < test.num_users(); ++u) {
    const auto t = test.Row(u);
    if (t.empty()) continue;
    train_row.clear();
    for (models::SpMat::InnerIterator it(train, u); it; ++it)
      train_row.push_back(static_cast<Index>(it.col()));
    // Eigen keeps a compressed row sorted; sort only if someone built it otherwise.
    if (!std::is_sorted(train_row.begin(), train_row.end()))
      std::sort(train_row.begin(), train_row.end());
    const auto ex = exclude.Row(u);
    for (Index i : t)
      masked += std::binary_search(train_row.begin(), train_row.end(), i) ||
                std::binary_search(ex.begin(), ex.end(), i);
  }
  return masked;
}

namespace {

// Strict total order: higher score first, then lower item id. A function object (not a
// function pointer) so that the heap and sort algorithms inline it.
struct BetterFn {
  bool operator()(const ScoredItem& a, const ScoredItem& b) const {
    return a.score > b.score || (a.score == b.score && a.item < b.item);
  }
};
constexpr BetterFn Better{};

void Emit(std::vector<ScoredItem>& best, std::vector<Index>* out) {
  std::sort(best.begin(), best.end(), Better);
  out->resize(best.size());
  for (size_t r = 0; r < best.size(); ++r) (*out)[r] = best[r].item;
}

}  // namespace

namespace {

// Maximum of x[0..n) ignoring NaN (-inf if all are NaN); n is a multiple of 8. Eight lanes
// with a fixed inner trip count vectorise at -O2 (`a > b ? a : b` is exactly maxps).
float ChunkMax(const float* x, size_t n) {
  constexpr float kLow = -std::numeric_limits<float>::infinity();
  float m[8] = {kLow, kLow, kLow, kLow, kLow, kLow, kLow, kLow};
  for (size_t j = 0; j < n; j += 8)
    for (int l = 0; l < 8; ++l) m[l] = x[j + l] > m[l] ? x[j + l] : m[l];
  float r = kLow;
  for (int l = 0; l < 8; ++l) r = m[l] > r ? m[l] : r;
  return r;
}

}  // namespace

void SelectTopK(std::span<const float> scores, int k, std::vector<Index>* out,
                SelectScratch* scratch) {
  RF_CHECK(k > 0, "K must be > 0");
  const size_t n = scores.size();
  const size_t want = static_cast<size_t>(k);
  const float* x = scores.data();

  // 1. A lower bound on the K-th best score from chunk maxima: if K chunks each hold an
  // item scoring >= M, the K-th best overall scores >= M, so only items scoring >= M (and
  // only chunks whose maximum reaches M) need a look. With ~4K chunks, about 1.2 K items
  // survive on typical score rows instead of all n.
  const size_t chunk = (n / (4 * want)) & ~size_t{7};
  const size_t n_chunks = chunk >= 8 ? n / chunk : 0;
  auto& maxima = scratch->maxima;
  float threshold = -std::numeric_limits<float>::infinity();
  const bool use_chunks = n_chunks >= want;
  if (use_chunks) {
    maxima.resize(n_chunks);
    for (size_t c = 0; c < n_chunks; ++c) maxima[c] = ChunkMax(x + c * chunk, chunk);
    auto& kth = scratch->kth;
    kth.assign(maxima.begin(), maxima.end());
    std::nth_element(kth.begin(), kth.begin() + (k - 1), kth.end(), std::greater<float>());
    // -inf when fewer than K chunks hold a finite score: then every unmasked item is
    // considered, which is still exact.
    threshold = kth[want - 1];
  }

  // 2. Threshold buffer over the survivors, in ascending item id. Until the first cut the
  // test is `score >= M` (M is only a bound); after a cut the threshold is the K-th best
  // kept, and an equal score arriving later (higher id) loses the tie, so the test becomes
  // strict. NaN (masked) fails both tests. Cutting back to the K best when the buffer fills
  // keeps the work amortised O(1) per survivor.
  auto& buf = scratch->buffer;
  buf.clear();
  const size_t cap = 2 * want + 32;
  buf.reserve(cap);
  bool strict = false;
  auto scan = [&](size_t lo, size_t hi) {
    for (size_t i = lo; i < hi; ++i) {
      const float v = x[i];
      if (v > threshold || (!strict && v == threshold)) {
        buf.push_back({v, static_cast<Index>(i)});
        if (buf.size() == cap) {
          std::nth_element(buf.begin(), buf.begin() + (k - 1), buf.end(), Better);
          buf.resize(want);
          threshold = buf.back().score;
          strict = true;
        }
      }
    }
  };
  if (use_chunks) {
    for (size_t c = 0; c < n_chunks; ++c) {
      const float m = maxima[c];
      if (m > threshold || (!strict && m == threshold)) scan(c * chunk, (c + 1) * chunk);
    }
    scan(n_chunks * chunk, n);
  } else {
    scan(0, n);
  }
  if (buf.size() > want) {
    std::nth_element(buf.begin(), buf.begin() + (k - 1), buf.end(), Better);
    buf.resize(want);
  }
  Emit(buf, out);
}

void SelectTopKCandidates(std::span<const ScoredItem> candidates, int k, std::vector<Index>* out,
                          SelectScratch* scratch) {
  RF_CHECK(k > 0, "K must be > 0");
  auto& best = scratch->buffer;
  best.assign(candidates.begin(), candidates.end());
  if (best.size() > static_cast<size_t>(k)) {
    std::nth_element(best.begin(), best.begin() + (k - 1), best.end(), Better);
    best.resize(static_cast<size_t>(k));
  }
  Emit(best, out);
}

namespace {

constexpr float kMasked = std::numeric_limits<float>::quiet_NaN();

// Per-thread state, allocated once and reused for every block the thread handles.
struct Worker {
  models::RowMatrixXf scores;      // block_size x num_items
  models::RowMatrixXf user_block;  // block_size x d (GEMM path)
  SelectScratch select;
  std::vector<Index> list;
  std::vector<float> pos, neg, auc_sorted;
  std::vector<ScoredItem> candidates;
  std::vector<uint32_t> stamp;  // sampled protocol: stamp[i] == epoch <=> i unavailable
  uint32_t epoch = 0;
  std::vector<Index> pool;
};

// Eight independent lanes with a fixed inner trip count: a loop shape compilers vectorise
// at -O2 (Eigen's hasNaN() compiles to a scalar loop here).
bool HasNaN(const float* x, size_t n) {
  int32_t lanes[8] = {0};
  size_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int l = 0; l < 8; ++l) lanes[l] |= x[j + l] != x[j + l];
  int32_t any = 0;
  for (int l = 0; l < 8; ++l) any |= lanes[l];
  for (; j < n; ++j) any |= x[j] != x[j];
  return any != 0;
}

void MaskRow(float* row, Index u, const TopKInput& in) {
  if (in.train && u < in.train->outerSize())
    for (models::SpMat::InnerIterator it(*in.train, u); it; ++it) row[it.col()] = kMasked;
  if (in.exclude && u < in.exclude->num_users())
    for (Index i : in.exclude->Row(u)) row[i] = kMasked;
}

// Full ranking: top-K over the masked row, and AUC from the same row if asked.
void RankFull(const float* row, Index u, const TopKInput& in, const TopKOptions& opt, Worker& w,
              std::vector<Index>* list, double* auc) {
  const std::span<const float> scores(row, static_cast<size_t>(in.num_items));
  SelectTopK(scores, opt.k, list, &w.select);
  if (!opt.compute_auc) return;
  *auc = AucOfRow(scores, in.positives->Row(u), &w.auc_sorted);
}

// Sampled protocol: candidates = unmasked positives + sampled unmasked negatives.
void RankSampled(const float* row, Index u, const TopKInput& in, const TopKOptions& opt, Worker& w,
                 std::vector<Index>* list, double* auc, bool* short_of_negatives) {
  const Index n_items = in.num_items;
  if (w.stamp.size() != static_cast<size_t>(n_items)) w.stamp.assign(n_items, 0);
  if (++w.epoch == 0) {  // wrapped: old stamps could alias the new epoch
    std::fill(w.stamp.begin(), w.stamp.end(), 0);
    w.epoch = 1;
  }
  const uint32_t epoch = w.epoch;
  int64_t unavailable = 0;
  auto mark = [&](Index i) {
    unavailable += w.stamp[i] != epoch;
    w.stamp[i] = epoch;
  };
  w.candidates.clear();
  w.pos.clear();
  w.neg.clear();
  for (Index i : in.positives->Row(u)) {
    if (!std::isnan(row[i])) {
      w.candidates.push_back({row[i], i});
      w.pos.push_back(row[i]);
    }
    mark(i);
  }
  if (in.train && u < in.train->outerSize())
    for (models::SpMat::InnerIterator it(*in.train, u); it; ++it)
      mark(static_cast<Index>(it.col()));
  if (in.exclude && u < in.exclude->num_users())
    for (Index i : in.exclude->Row(u)) mark(i);

  const int64_t available = n_items - unavailable;
  const int64_t want = opt.sampled_negatives;
  auto take = [&](Index i) {
    w.candidates.push_back({row[i], i});
    w.neg.push_back(row[i]);
  };
  framework::Rng rng(framework::DeriveSeed(opt.seed, static_cast<uint64_t>(u)));
  if (want >= available) {
    *short_of_negatives = want > available;
    for (Index i = 0; i < n_items; ++i)
      if (w.stamp[i] != epoch) take(i);
  } else if (2 * want <= available) {
    // Rejection accepts with probability >= 1/2, so this loop is short.
    for (int64_t got = 0; got < want;) {
      const Index i = static_cast<Index>(rng.UniformInt(static_cast<uint64_t>(n_items)));
      if (w.stamp[i] == epoch) continue;
      w.stamp[i] = epoch;
      take(i);
      ++got;
    }
  } else {
    // Dense case: a partial Fisher-Yates shuffle of the available items.
    w.pool.clear();
    for (Index i = 0; i < n_items; ++i)
      if (w.stamp[i] != epoch) w.pool.push_back(i);
    for (int64_t j = 0; j < want; ++j) {
      const size_t r =
          static_cast<size_t>(j) + rng.UniformInt(w.pool.size() - static_cast<size_t>(j));
      std::swap(w.pool[static_cast<size_t>(j)], w.pool[r]);
      take(w.pool[static_cast<size_t>(j)]);
    }
  }
  SelectTopKCandidates(w.candidates, opt.k, list, &w.select);
  if (opt.compute_auc) *auc = Auc(w.pos, w.neg, &w.auc_sorted);
}

}  // namespace

TopKOutput RankUsers(const TopKInput& in, const TopKOptions& opt) {
  RF_CHECK(in.model != nullptr, "RankUsers needs a model");
  if (opt.k <= 0) throw framework::ConfigError("K must be > 0");
  if (opt.block_size <= 0) throw framework::ConfigError("block_size must be > 0");
  if (opt.sampled_negatives < 0) throw framework::ConfigError("sampled_negatives must be >= 0");
  if ((opt.compute_auc || opt.sampled_negatives > 0) && in.positives == nullptr)
    throw framework::Error("RankUsers: auc and the sampled protocol need the test positives");
  if (in.train && (in.train->rows() != in.num_users || in.train->cols() != in.num_items))
    throw framework::Error("train matrix is " + std::to_string(in.train->rows()) + " x " +
                           std::to_string(in.train->cols()) + ", expected users x items = " +
                           std::to_string(in.num_users) + " x " + std::to_string(in.num_items));
  for (Index u : in.users)
    if (u < 0 || u >= in.num_users)
      throw framework::Error("user id " + std::to_string(u) + " outside [0, " +
                             std::to_string(in.num_users) + ")");

  const models::Recommender::Factors f = in.model->GetFactors();
  const bool gemm = f.user != nullptr && f.item != nullptr;
  if (gemm) {
    if (f.user->rows() != in.num_users || f.item->rows() != in.num_items ||
        f.user->cols() != f.item->cols())
      throw framework::Error("model factors are " + std::to_string(f.user->rows()) + " x " +
                             std::to_string(f.user->cols()) + " (users) and " +
                             std::to_string(f.item->rows()) + " x " +
                             std::to_string(f.item->cols()) + " (items), expected " +
                             std::to_string(in.num_users) + " users and " +
                             std::to_string(in.num_items) + " items of one dimension");
    if (f.item_bias && f.item_bias->size() != in.num_items)
      throw framework::Error("model item bias has " + std::to_string(f.item_bias->size()) +
                             " entries, expected " + std::to_string(in.num_items));
  }

  const int64_t n_users = static_cast<int64_t>(in.users.size());
  TopKOutput out;
  out.lists.resize(static_cast<size_t>(n_users));
  if (opt.compute_auc)
    out.auc.assign(static_cast<size_t>(n_users), std::numeric_limits<double>::quiet_NaN());
  if (n_users == 0) return out;

  const int threads = framework::ResolveThreads(opt.threads);
  std::vector<std::unique_ptr<Worker>> workers(static_cast<size_t>(threads));
  std::atomic<int64_t> short_users{0};

  framework::ParallelChunks(
      0, n_users, opt.block_size, threads, [&](int64_t lo, int64_t hi, int t) {
        auto& slot = workers[static_cast<size_t>(t)];
        if (!slot) {
          slot = std::make_unique<Worker>();
          const int64_t rows = std::min<int64_t>(opt.block_size, n_users);
          slot->scores.resize(rows, in.num_items);
          if (gemm) slot->user_block.resize(rows, f.user->cols());
        }
        Worker& w = *slot;
        const int64_t n = hi - lo;
        const std::span<const Index> block_users =
            in.users.subspan(static_cast<size_t>(lo), static_cast<size_t>(n));
        auto block = w.scores.topRows(n);
        if (gemm) {
          auto ub = w.user_block.topRows(n);
          for (int64_t r = 0; r < n; ++r) ub.row(r) = f.user->row(block_users[r]);
          block.noalias() = ub * f.item->transpose();
          if (f.item_bias) {
            // Row by row over contiguous memory: Eigen's rowwise() broadcast on a block of a
            // row-major matrix stays scalar.
            for (int64_t r = 0; r < n; ++r)
              Eigen::Map<Eigen::VectorXf>(block.row(r).data(), in.num_items) += *f.item_bias;
          }
        } else {
          in.model->ScoreBlock(block_users, block);
        }
        for (int64_t r = 0; r < n; ++r) {
          const Index u = block_users[r];
          float* row = block.row(r).data();
          if (HasNaN(row, static_cast<size_t>(in.num_items)))
            throw framework::Error("model returned a NaN score for user " + std::to_string(u) +
                                   (in.user_tokens ? " ('" + in.user_tokens->Token(u) + "')" : ""));
          MaskRow(row, u, in);
          const size_t idx = static_cast<size_t>(lo + r);
          double* auc = opt.compute_auc ? &out.auc[idx] : nullptr;
          if (opt.sampled_negatives > 0) {
            bool is_short = false;
            RankSampled(row, u, in, opt, w, &w.list, auc, &is_short);
            if (is_short) short_users.fetch_add(1, std::memory_order_relaxed);
          } else {
            RankFull(row, u, in, opt, w, &w.list, auc);
          }
          out.lists[idx].assign(w.list.begin(), w.list.end());
        }
      });
  out.users_short_of_negatives = short_users.load();
  return out;
}

}  // namespace recfuse::eval
