// Minimal data-parallel loop. Work is split into fixed contiguous chunks per thread
// (static schedule) so that per-thread state and reduction order, and hence results, depend
// only on the thread count, never on timing.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace recfuse::framework {

// Number of worker threads to use: `requested` if > 0, else the hardware concurrency.
inline int ResolveThreads(int requested) {
  if (requested > 0) return requested;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

// Calls fn(begin_i, end_i, thread_index) on `threads` contiguous, near-equal ranges of
// [begin, end). Exceptions thrown by any worker are rethrown in the caller (the first one).
template <typename Fn>
void ParallelRanges(int64_t begin, int64_t end, int threads, Fn&& fn) {
  const int64_t n = end - begin;
  if (n <= 0) return;
  threads = std::max(1, std::min<int>(ResolveThreads(threads), static_cast<int>(std::min<int64_t>(n, 1 << 20))));
  if (threads == 1) {
    fn(begin, end, 0);
    return;
  }
  std::exception_ptr error;
  std::mutex error_mutex;
  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (int t = 0; t < threads; ++t) {
    const int64_t lo = begin + n * t / threads;
    const int64_t hi = begin + n * (t + 1) / threads;
    pool.emplace_back([&, lo, hi, t] {
      try {
        fn(lo, hi, t);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
      }
    });
  }
  for (auto& th : pool) th.join();
  if (error) std::rethrow_exception(error);
}

// Dynamic schedule over fixed-size chunks, for uneven work (e.g. users with long
// histories). Results must not depend on which thread ran a chunk: fn writes only to the
// chunk's own output slots.
template <typename Fn>
void ParallelChunks(int64_t begin, int64_t end, int64_t chunk, int threads, Fn&& fn) {
  if (end <= begin) return;
  chunk = std::max<int64_t>(1, chunk);
  const int64_t n_chunks = (end - begin + chunk - 1) / chunk;
  threads = std::max(1, std::min<int>(ResolveThreads(threads), static_cast<int>(n_chunks)));
  std::atomic<int64_t> next{0};
  ParallelRanges(0, threads, threads, [&](int64_t, int64_t, int t) {
    for (;;) {
      const int64_t c = next.fetch_add(1);
      if (c >= n_chunks) break;
      const int64_t lo = begin + c * chunk;
      fn(lo, std::min(end, lo + chunk), t);
    }
  });
}

}  // namespace recfuse::framework
