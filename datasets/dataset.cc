#include "datasets/dataset.h"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <numeric>

#include "framework/error.h"
#include "framework/hash.h"

namespace recfuse::datasets {

Index IdMap::GetOrAdd(std::string_view token) {
  auto it = index_.find(token);
  if (it != index_.end()) return it->second;
  const Index id = static_cast<Index>(tokens_.size());
  tokens_.emplace_back(token);
  index_.emplace(tokens_.back(), id);
  return id;
}

Index IdMap::Find(std::string_view token) const {
  auto it = index_.find(token);
  return it == index_.end() ? kNoId : it->second;
}

void Interactions::Reserve(size_t n) {
  user.reserve(n);
  item.reserve(n);
  if (has_rating) rating.reserve(n);
  if (has_timestamp) timestamp.reserve(n);
}

void Interactions::Add(Index u, Index i, float r, double t) {
  user.push_back(u);
  item.push_back(i);
  if (has_rating) rating.push_back(r);
  if (has_timestamp) timestamp.push_back(t);
}

Interactions Interactions::Select(std::span<const int64_t> rows) const {
  Interactions out;
  out.has_rating = has_rating;
  out.has_timestamp = has_timestamp;
  out.Reserve(rows.size());
  for (int64_t r : rows) {
    out.user.push_back(user[r]);
    out.item.push_back(item[r]);
    if (has_rating) out.rating.push_back(rating[r]);
    if (has_timestamp) out.timestamp.push_back(timestamp[r]);
  }
  return out;
}

void Interactions::Append(const Interactions& other) {
  RF_CHECK(empty() || (has_rating == other.has_rating && has_timestamp == other.has_timestamp),
           "appending interactions with different columns");
  if (empty()) {
    has_rating = other.has_rating;
    has_timestamp = other.has_timestamp;
  }
  user.insert(user.end(), other.user.begin(), other.user.end());
  item.insert(item.end(), other.item.begin(), other.item.end());
  rating.insert(rating.end(), other.rating.begin(), other.rating.end());
  timestamp.insert(timestamp.end(), other.timestamp.begin(), other.timestamp.end());
}

namespace {
Csr BuildCsr(const Interactions& inter, const std::vector<Index>& row_of,
             const std::vector<Index>& col_of, Index num_rows) {
  Csr csr;
  csr.indptr.assign(static_cast<size_t>(num_rows) + 1, 0);
  for (Index r : row_of) {
    RF_CHECK(r >= 0 && r < num_rows, "row id out of range building CSR");
    ++csr.indptr[r + 1];
  }
  for (Index r = 0; r < num_rows; ++r) csr.indptr[r + 1] += csr.indptr[r];
  const size_t n = row_of.size();
  csr.cols.resize(n);
  csr.ref.resize(n);
  std::vector<int64_t> fill(csr.indptr.begin(), csr.indptr.end() - 1);
  // Counting sort keeps source order within a row; a stable sort by time follows.
  for (size_t k = 0; k < n; ++k) {
    const int64_t pos = fill[row_of[k]]++;
    csr.cols[pos] = col_of[k];
    csr.ref[pos] = static_cast<int64_t>(k);
  }
  if (inter.has_timestamp) {
    std::vector<std::pair<double, int64_t>> buf;
    for (Index r = 0; r < num_rows; ++r) {
      const int64_t b = csr.indptr[r], e = csr.indptr[r + 1];
      bool sorted = true;
      for (int64_t p = b + 1; p < e && sorted; ++p)
        sorted = inter.timestamp[csr.ref[p - 1]] <= inter.timestamp[csr.ref[p]];
      if (sorted) continue;
      buf.clear();
      for (int64_t p = b; p < e; ++p) buf.emplace_back(inter.timestamp[csr.ref[p]], csr.ref[p]);
      std::stable_sort(buf.begin(), buf.end(),
                       [](const auto& a, const auto& c) { return a.first < c.first; });
      for (int64_t p = b; p < e; ++p) {
        csr.ref[p] = buf[p - b].second;
        csr.cols[p] = col_of[buf[p - b].second];
      }
    }
  }
  return csr;
}
}  // namespace

Csr BuildUserCsr(const Interactions& inter, Index num_users) {
  return BuildCsr(inter, inter.user, inter.item, num_users);
}

Csr BuildItemCsr(const Interactions& inter, Index num_items) {
  return BuildCsr(inter, inter.item, inter.user, num_items);
}

void Dataset::Finalize() {
  const size_t ni = static_cast<size_t>(items.size());
  const size_t nu = static_cast<size_t>(users.size());
  for (auto& f : item_text) f.values.resize(ni);
  item_image.resize(ni);
  for (auto& f : item_categorical) f.per_row.resize(ni);
  for (auto& f : item_numeric) f.per_row.resize(ni, std::numeric_limits<float>::quiet_NaN());
  for (auto& f : user_categorical) f.per_row.resize(nu);
  for (auto& f : user_numeric) f.per_row.resize(nu, std::numeric_limits<float>::quiet_NaN());
  item_entity.resize(ni, kNoId);
}

std::vector<uint8_t> Dataset::ItemHasText() const {
  std::vector<uint8_t> has(static_cast<size_t>(num_items()), 0);
  for (const auto& f : item_text)
    for (size_t i = 0; i < f.values.size() && i < has.size(); ++i)
      if (!f.values[i].empty()) has[i] = 1;
  for (const auto& r : reviews)
    if (r.item >= 0 && r.item < num_items() && !r.text.empty()) has[r.item] = 1;
  return has;
}

std::string Dataset::ItemDescription(Index item) const {
  std::string out;
  for (const auto& f : item_text) {
    if (static_cast<size_t>(item) >= f.values.size() || f.values[item].empty()) continue;
    if (!out.empty()) out += '\n';
    out += f.values[item];
  }
  return out;
}

uint64_t Dataset::ContentHash() const {
  framework::Hasher h;
  for (const auto& t : users.tokens()) h.Add(t);
  for (const auto& t : items.tokens()) h.Add(t);
  h.AddVector(interactions.user).AddVector(interactions.item);
  h.AddVector(interactions.rating).AddVector(interactions.timestamp);
  for (const auto& f : item_text) {
    h.Add(f.name);
    for (const auto& v : f.values) h.Add(v);
  }
  for (const auto& r : reviews) h.AddPod(r.user).AddPod(r.item).AddPod(r.timestamp).Add(r.text);
  // File names only: the same data read from another folder must hash the same.
  for (const auto& p : item_image) h.Add(std::filesystem::path(p).filename().string());
  for (const auto& f : item_categorical) {
    h.Add(f.name);
    for (const auto& row : f.per_row) h.AddVector(row);
  }
  for (const auto& f : user_categorical) {
    h.Add(f.name);
    for (const auto& row : f.per_row) h.AddVector(row);
  }
  for (const auto& f : item_numeric) h.Add(f.name).AddVector(f.per_row);
  for (const auto& f : user_numeric) h.Add(f.name).AddVector(f.per_row);
  for (const auto& t : entities.tokens()) h.Add(t);
  for (const auto& t : relations.tokens()) h.Add(t);
  h.AddVector(kg).AddVector(item_entity).AddVector(fixed_split);
  return h.Digest();
}

}  // namespace recfuse::datasets
