// The one in-memory representation every loader produces and every model consumes.
//
// Id spaces: users, items, entities and relations each have dense ids 0..n-1 assigned in
// first-seen order, with a token<->id map (IdMap). Interactions are stored as columns
// (structure of arrays): 10^7 interactions cost ~ 10^7 * (4+4+4+8) bytes = 200 MB at most,
// and the rating/timestamp columns are empty when the source has none.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace recfuse::datasets {

using Index = int32_t;
constexpr Index kNoId = -1;

class IdMap {
 public:
  // Returns the id of `token`, adding it if new.
  Index GetOrAdd(std::string_view token);
  // Returns the id of `token`, or kNoId if absent.
  Index Find(std::string_view token) const;
  const std::string& Token(Index id) const { return tokens_[static_cast<size_t>(id)]; }
  Index size() const { return static_cast<Index>(tokens_.size()); }
  const std::vector<std::string>& tokens() const { return tokens_; }
  void Reserve(size_t n) {
    tokens_.reserve(n);
    index_.reserve(n);
  }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::vector<std::string> tokens_;
  std::unordered_map<std::string, Index, Hash, std::equal_to<>> index_;
};

// Interactions as parallel columns; row r is (user[r], item[r], rating[r]?, timestamp[r]?).
struct Interactions {
  std::vector<Index> user;
  std::vector<Index> item;
  std::vector<float> rating;      // empty unless has_rating
  std::vector<double> timestamp;  // empty unless has_timestamp
  bool has_rating = false;
  bool has_timestamp = false;

  size_t size() const { return user.size(); }
  bool empty() const { return user.empty(); }
  void Reserve(size_t n);
  // rating/timestamp are ignored when the column is absent.
  void Add(Index u, Index i, float r = 1.0f, double t = 0.0);
  // Rows `rows` (indices into this), in the given order.
  Interactions Select(std::span<const int64_t> rows) const;
  // Appends other's rows; columns must agree.
  void Append(const Interactions& other);
};

// Compressed sparse rows over an Interactions table, e.g. by user or by item.
// Row r holds cols[indptr[r] .. indptr[r+1]) and the matching source rows in `ref`.
// Within a row, entries are ordered by timestamp (if any), ties and no-timestamp cases by
// source row order, so a user's row is their history in time order.
struct Csr {
  std::vector<int64_t> indptr;  // size rows+1
  std::vector<Index> cols;
  std::vector<int64_t> ref;

  Index rows() const { return indptr.empty() ? 0 : static_cast<Index>(indptr.size() - 1); }
  int64_t RowSize(Index r) const { return indptr[r + 1] - indptr[r]; }
  std::span<const Index> Row(Index r) const {
    return {cols.data() + indptr[r], static_cast<size_t>(indptr[r + 1] - indptr[r])};
  }
  std::span<const int64_t> RowRefs(Index r) const {
    return {ref.data() + indptr[r], static_cast<size_t>(indptr[r + 1] - indptr[r])};
  }
};
Csr BuildUserCsr(const Interactions& inter, Index num_users);
Csr BuildItemCsr(const Interactions& inter, Index num_items);

// A free-text field over items, e.g. a description or plot ("" = none for that item).
struct TextField {
  std::string name;
  std::vector<std::string> values;  // per item
};

// One review: text written by `user` (kNoId if unknown) about `item`.
struct Review {
  Index user = kNoId;
  Index item = kNoId;
  double timestamp = 0;  // 0 if unknown
  std::string text;
};

// A categorical attribute (token or token_seq): each row has zero or more values.
struct CategoricalField {
  std::string name;
  IdMap values;
  std::vector<std::vector<Index>> per_row;  // per item or per user
};

// A numeric attribute (float); NaN marks a missing value.
struct NumericField {
  std::string name;
  std::vector<float> per_row;
};

struct Triple {
  Index head, relation, tail;  // entity, relation, entity ids
};

// What a load did that a researcher should know: filters' removals, missing files.
struct LoadReport {
  std::vector<std::string> notes;  // human-readable, one line each
  int64_t missing_images = 0;      // image paths referenced (or expected) but absent
  // Where item images were looked for: the images folder or the <name>.image list; "" when
  // the dataset has neither, i.e. no images at all (which is not "0 missing").
  std::string image_source;
  bool image_list = false;  // image_source is a list file: the items it does not name have none
  // The items counted in missing_images, by token, so that `data inspect` counts only those
  // still present after filters have dropped items.
  std::vector<std::string> missing_image_items;
};

struct Dataset {
  std::string name;    // e.g. "ml-100k"
  std::string source;  // folder or file it was loaded from

  IdMap users;
  IdMap items;
  Interactions interactions;

  // Item side information; every per-item vector has items.size() entries after Finalize().
  std::vector<TextField> item_text;       // free-text fields (`text` type in atomic files)
  std::vector<Review> reviews;            // per-review texts with their authors
  std::vector<std::string> item_image;    // absolute image path, "" if none
  std::vector<CategoricalField> item_categorical;
  std::vector<NumericField> item_numeric;
  std::vector<CategoricalField> user_categorical;
  std::vector<NumericField> user_numeric;

  // Knowledge graph: triples over entities; items reach it through item_entity.
  IdMap entities;
  IdMap relations;
  std::vector<Triple> kg;
  std::vector<Index> item_entity;  // per item, kNoId if unlinked

  // A split fixed by the source (e.g. RecBole's .train/.valid/.test.inter): per interaction
  // 0 = train, 1 = valid, 2 = test. Empty when the source has no split.
  std::vector<uint8_t> fixed_split;

  LoadReport report;

  Index num_users() const { return users.size(); }
  Index num_items() const { return items.size(); }
  // Resizes every per-item / per-user vector to the current id-space sizes (new entries
  // empty / missing). Loaders call it last.
  void Finalize();
  // Whether item i has any text (a non-empty text field or at least one review).
  std::vector<uint8_t> ItemHasText() const;
  // All of item i's text fields joined by a newline (reviews not included).
  std::string ItemDescription(Index item) const;
  // Stable content hash of everything a result depends on (ids, interactions, side info).
  uint64_t ContentHash() const;
};

}  // namespace recfuse::datasets
