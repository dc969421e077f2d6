#include "encoders/history.h"

#include <algorithm>
#include <string>

#include "framework/error.h"

namespace recfuse::encoders {
namespace {

void CheckUser(const datasets::Csr& by_user, datasets::Index u) {
  RF_CHECK(u >= 0 && u < by_user.rows(),
           "user id " + std::to_string(u) + " outside the history CSR's " +
               std::to_string(by_user.rows()) + " rows");
}

}  // namespace

HistoryBatch BuildHistoryBatch(const datasets::Csr& by_user, std::span<const datasets::Index> users,
                               int64_t max_len) {
  RF_CHECK(max_len >= 1, "history max_len must be >= 1, got " + std::to_string(max_len));
  HistoryBatch b;
  b.rows = static_cast<int64_t>(users.size());
  b.max_len = max_len;
  b.items.assign(static_cast<size_t>(b.rows * max_len), 0);
  b.lengths.assign(users.size(), 0);
  for (size_t r = 0; r < users.size(); ++r) {
    CheckUser(by_user, users[r]);
    const auto row = by_user.Row(users[r]);
    const int64_t n = std::min<int64_t>(static_cast<int64_t>(row.size()), max_len);
    int64_t* out = b.items.data() + r * max_len + (max_len - n);
    const datasets::Index* src = row.data() + (row.size() - n);
    for (int64_t k = 0; k < n; ++k) out[k] = static_cast<int64_t>(src[k]) + 1;
    b.lengths[r] = n;
  }
  return b;
}

NextItemExamples BuildNextItemExamples(const datasets::Csr& by_user,
                                       std::span<const datasets::Index> users, int64_t max_len) {
  RF_CHECK(max_len >= 1, "history max_len must be >= 1, got " + std::to_string(max_len));
  NextItemExamples ex;
  ex.max_len = max_len;
  for (const datasets::Index u : users) {
    CheckUser(by_user, u);
    const auto row = by_user.Row(u);
    const int64_t n = static_cast<int64_t>(row.size());
    if (n < 2) continue;
    const int64_t m = std::min<int64_t>(n - 1, max_len);
    const size_t base = ex.inputs.size();
    ex.inputs.resize(base + max_len, 0);
    ex.targets.resize(base + max_len, 0);
    for (int64_t k = 0; k < m; ++k) {
      const size_t col = base + static_cast<size_t>(max_len - m + k);
      ex.inputs[col] = static_cast<int64_t>(row[n - 1 - m + k]) + 1;
      ex.targets[col] = static_cast<int64_t>(row[n - m + k]) + 1;
    }
    ex.users.push_back(u);
    ++ex.rows;
  }
  return ex;
}

}  // namespace recfuse::encoders
