// Post-load interaction filters and the id re-densification that follows them.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

#include "datasets/load.h"
#include "framework/error.h"

namespace recfuse::datasets {

namespace {

std::string Num(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

// Interactions, users and items still present (a user or item is present while it has at
// least one kept interaction), so each filter can say what it removed.
struct Counts {
  int64_t interactions = 0, users = 0, items = 0;
};

Counts Count(const Dataset& d, const std::vector<uint8_t>& keep) {
  std::vector<uint8_t> u(static_cast<size_t>(d.num_users()), 0),
      i(static_cast<size_t>(d.num_items()), 0);
  Counts c;
  for (size_t r = 0; r < keep.size(); ++r)
    if (keep[r]) {
      ++c.interactions;
      u[d.interactions.user[r]] = 1;
      i[d.interactions.item[r]] = 1;
    }
  c.users = std::count(u.begin(), u.end(), uint8_t{1});
  c.items = std::count(i.begin(), i.end(), uint8_t{1});
  return c;
}

std::string Removed(const Counts& before, const Counts& after) {
  return "removed " + std::to_string(before.interactions - after.interactions) + " of " +
         std::to_string(before.interactions) + " interactions, " +
         std::to_string(before.users - after.users) + " users, " +
         std::to_string(before.items - after.items) + " items";
}

// Keeps, for each (user, item) pair, its first or last interaction by timestamp, then by
// file order.
void Dedup(const Interactions& inter, bool keep_last, std::vector<uint8_t>& keep) {
  std::vector<int64_t> rows;
  rows.reserve(inter.size());
  for (size_t r = 0; r < inter.size(); ++r)
    if (keep[r]) rows.push_back(static_cast<int64_t>(r));
  const bool ts = inter.has_timestamp;
  std::sort(rows.begin(), rows.end(), [&](int64_t a, int64_t b) {
    if (inter.user[a] != inter.user[b]) return inter.user[a] < inter.user[b];
    if (inter.item[a] != inter.item[b]) return inter.item[a] < inter.item[b];
    if (ts && inter.timestamp[a] != inter.timestamp[b])
      return inter.timestamp[a] < inter.timestamp[b];
    return a < b;
  });
  for (size_t b = 0; b < rows.size();) {
    size_t e = b + 1;
    while (e < rows.size() && inter.user[rows[e]] == inter.user[rows[b]] &&
           inter.item[rows[e]] == inter.item[rows[b]])
      ++e;
    const size_t winner = keep_last ? e - 1 : b;
    for (size_t k = b; k < e; ++k)
      if (k != winner) keep[rows[k]] = 0;
    b = e;
  }
}

// Iterates until every kept user has >= min_user and every kept item >= min_item
// interactions. Returns the number of rounds that removed something.
int KCore(const Dataset& d, int min_user, int min_item, std::vector<uint8_t>& keep) {
  const auto& inter = d.interactions;
  std::vector<int64_t> per_user(static_cast<size_t>(d.num_users()));
  std::vector<int64_t> per_item(static_cast<size_t>(d.num_items()));
  int rounds = 0;
  for (;;) {
    std::fill(per_user.begin(), per_user.end(), 0);
    std::fill(per_item.begin(), per_item.end(), 0);
    for (size_t r = 0; r < inter.size(); ++r)
      if (keep[r]) {
        ++per_user[inter.user[r]];
        ++per_item[inter.item[r]];
      }
    bool changed = false;
    for (size_t r = 0; r < inter.size(); ++r)
      if (keep[r] && (per_user[inter.user[r]] < min_user || per_item[inter.item[r]] < min_item)) {
        keep[r] = 0;
        changed = true;
      }
    if (!changed) return rounds;
    ++rounds;
  }
}

template <typename T>
void Compact(std::vector<T>& v, const std::vector<Index>& new_id, Index n_new) {
  if (v.empty()) return;
  std::vector<T> out(static_cast<size_t>(n_new));
  for (size_t old = 0; old < new_id.size() && old < v.size(); ++old)
    if (new_id[old] != kNoId) out[new_id[old]] = std::move(v[old]);
  v = std::move(out);
}

// Dense new ids for the `used` ids of `map`, in their old order; kNoId for dropped ones.
std::vector<Index> Redensify(IdMap& map, const std::vector<uint8_t>& used) {
  std::vector<Index> new_id(used.size(), kNoId);
  IdMap out;
  for (size_t old = 0; old < used.size(); ++old)
    if (used[old]) new_id[old] = out.GetOrAdd(map.Token(static_cast<Index>(old)));
  map = std::move(out);
  return new_id;
}

// Drops the rows not kept, then the users and items left without interactions, and remaps
// every id-indexed vector so that all of them stay aligned with the new ids.
void RemoveRows(Dataset& d, const std::vector<uint8_t>& keep) {
  d.Finalize();
  std::vector<int64_t> rows;
  rows.reserve(d.interactions.size());
  for (size_t r = 0; r < keep.size(); ++r)
    if (keep[r]) rows.push_back(static_cast<int64_t>(r));
  d.interactions = d.interactions.Select(rows);
  if (!d.fixed_split.empty()) {
    std::vector<uint8_t> split(rows.size());
    for (size_t k = 0; k < rows.size(); ++k) split[k] = d.fixed_split[rows[k]];
    d.fixed_split = std::move(split);
  }

  std::vector<uint8_t> user_used(static_cast<size_t>(d.num_users()), 0);
  std::vector<uint8_t> item_used(static_cast<size_t>(d.num_items()), 0);
  for (size_t r = 0; r < d.interactions.size(); ++r) {
    user_used[d.interactions.user[r]] = 1;
    item_used[d.interactions.item[r]] = 1;
  }
  const Index users_before = d.num_users(), items_before = d.num_items();
  const std::vector<Index> user_id = Redensify(d.users, user_used);
  const std::vector<Index> item_id = Redensify(d.items, item_used);
  for (auto& u : d.interactions.user) u = user_id[u];
  for (auto& i : d.interactions.item) i = item_id[i];

  const Index nu = d.num_users(), ni = d.num_items();
  for (auto& f : d.item_text) Compact(f.values, item_id, ni);
  Compact(d.item_image, item_id, ni);
  for (auto& f : d.item_categorical) Compact(f.per_row, item_id, ni);
  for (auto& f : d.item_numeric) Compact(f.per_row, item_id, ni);
  for (auto& f : d.user_categorical) Compact(f.per_row, user_id, nu);
  for (auto& f : d.user_numeric) Compact(f.per_row, user_id, nu);
  Compact(d.item_entity, item_id, ni);

  // A review stays item content while its item stays, even if its author was filtered out.
  int64_t reviews_dropped = 0, authors_dropped = 0;
  std::vector<Review> reviews;
  reviews.reserve(d.reviews.size());
  for (auto& r : d.reviews) {
    if (r.item == kNoId || item_id[r.item] == kNoId) {
      ++reviews_dropped;
      continue;
    }
    r.item = item_id[r.item];
    if (r.user != kNoId) {
      r.user = user_id[r.user];
      if (r.user == kNoId) ++authors_dropped;
    }
    reviews.push_back(std::move(r));
  }
  d.reviews = std::move(reviews);

  d.report.notes.push_back("after filtering: removed " + std::to_string(users_before - nu) +
                           " users and " + std::to_string(items_before - ni) +
                           " items left without interactions; ids re-densified (" +
                           std::to_string(nu) + " users, " + std::to_string(ni) + " items)");
  if (reviews_dropped || authors_dropped)
    d.report.notes.push_back("after filtering: removed " + std::to_string(reviews_dropped) +
                             " reviews of removed items; " + std::to_string(authors_dropped) +
                             " reviews kept without their (removed) author");
  d.Finalize();
}

}  // namespace

void ApplyFilters(Dataset& d, const FilterOptions& filters) {
  if (filters.dedup != "keep" && filters.dedup != "first" && filters.dedup != "last")
    throw framework::ConfigError("dedup='" + filters.dedup + "' must be keep, first or last");
  if (filters.min_user_interactions < 0 || filters.min_item_interactions < 0)
    throw framework::ConfigError("min_user_interactions and min_item_interactions must be >= 0");
  auto& inter = d.interactions;
  const int64_t n = static_cast<int64_t>(inter.size());
  std::vector<uint8_t> keep(inter.size(), 1);

  const Counts initial = Count(d, keep);
  Counts now = initial;
  auto note = [&](const std::string& what) {
    const Counts after = Count(d, keep);
    d.report.notes.push_back(what + ": " + Removed(now, after));
    now = after;
  };

  if (!std::isnan(filters.rating_threshold)) {
    const double t = filters.rating_threshold;
    if (!inter.has_rating)
      throw framework::ConfigError("rating_threshold=" + Num(t) + " needs ratings, but dataset '" +
                                   d.name + "' has none");
    for (size_t r = 0; r < inter.size(); ++r)
      if (!(inter.rating[r] >= t)) keep[r] = 0;
    note("rating_threshold=" + Num(t) + " (keep rating >= " + Num(t) + ")");
  }

  if (filters.dedup != "keep") {
    Dedup(inter, filters.dedup == "last", keep);
    note("dedup=" + filters.dedup + " (one interaction per user and item, the " + filters.dedup +
         (inter.has_timestamp ? " by timestamp)" : " in file order)"));
  }

  if (filters.min_user_interactions > 0 || filters.min_item_interactions > 0) {
    const int rounds = KCore(d, filters.min_user_interactions, filters.min_item_interactions, keep);
    note("k-core (users >= " + std::to_string(filters.min_user_interactions) +
         ", items >= " + std::to_string(filters.min_item_interactions) + ", " +
         std::to_string(rounds) + " rounds)");
  }

  if (n > 0 && now.interactions == 0)
    throw framework::ConfigError("the filters removed all " + std::to_string(n) +
                                 " interactions of dataset '" + d.name + "'");
  if (now.interactions != n) RemoveRows(d, keep);
}

}  // namespace recfuse::datasets
