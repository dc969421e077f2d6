// Padded user-history batches for sequence encoders, built from a time-ordered CSR by user
// (models::TrainData::by_user or datasets::BuildUserCsr over the training rows). Torch-free:
// the batches are plain int64 buffers that sequence_encoders.h wraps as tensors without copying
// semantics mattering to callers.
//
// Layout (both builders): row-major [rows, max_len], entries are dataset item id + 1, 0 is
// padding. Rows are RIGHT-aligned: the most recent item sits at column max_len - 1, older
// items to its left, padding on the left. Right alignment makes "the user's state now" the
// last column for every row, whatever the history length.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "datasets/dataset.h"

namespace recfuse::encoders {

struct HistoryBatch {
  int64_t rows = 0;
  int64_t max_len = 0;
  std::vector<int64_t> items;    // rows x max_len, item id + 1, 0 = padding, right-aligned
  std::vector<int64_t> lengths;  // per row: number of non-padding entries (<= max_len)

  int64_t At(int64_t row, int64_t col) const { return items[static_cast<size_t>(row * max_len + col)]; }
};

// One row per entry of `users` (duplicates allowed, order kept): the user's last max_len
// items of `by_user`, right-aligned. A user with no history gives an all-padding row.
// Throws framework::Error if max_len < 1 or a user id is outside [0, by_user.rows()).
HistoryBatch BuildHistoryBatch(const datasets::Csr& by_user, std::span<const datasets::Index> users,
                               int64_t max_len);

// Next-item training examples, SASRec style (Kang & McAuley 2018): for a user whose history
// is s_1..s_n (n >= 2), keep its last max_len + 1 items s_{n-m}..s_n (m = min(n-1, max_len));
// inputs  row = s_{n-m} .. s_{n-1}   (right-aligned, + 1, 0 = padding)
// targets row = s_{n-m+1} .. s_n     (same alignment: targets[p] is the item that followed
//                                     inputs[p]; 0 where inputs[p] is padding)
// so a causal encoder's output at column p is trained to predict targets[p]. Users with
// fewer than 2 items give no example (they have no target); `users` in the result lists
// whose row is which.
struct NextItemExamples {
  int64_t rows = 0;
  int64_t max_len = 0;
  std::vector<int64_t> inputs;   // rows x max_len
  std::vector<int64_t> targets;  // rows x max_len
  std::vector<datasets::Index> users;
};
NextItemExamples BuildNextItemExamples(const datasets::Csr& by_user,
                                       std::span<const datasets::Index> users, int64_t max_len);

}  // namespace recfuse::encoders
