// RecBole atomic files: <name>.inter (+ .item, .user, .kg, .link, .image, any text file).
// Format reference: https://recbole.io/docs/user_guide/data/atomic_files.html
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>

#include "datasets/load.h"
#include "datasets/parse_util.h"
#include "framework/error.h"
#include "framework/io.h"

namespace recfuse::datasets {

namespace fs = std::filesystem;
using framework::DataError;
using namespace internal;

namespace {

enum class FieldType { kToken, kTokenSeq, kFloat, kFloatSeq, kText };

struct Field {
  std::string name;
  FieldType type;
};

constexpr char kTypeList[] = "token, token_seq, float, float_seq or text";

std::optional<FieldType> ParseType(std::string_view t) {
  if (t == "token") return FieldType::kToken;
  if (t == "token_seq") return FieldType::kTokenSeq;
  if (t == "float") return FieldType::kFloat;
  if (t == "float_seq") return FieldType::kFloatSeq;
  if (t == "text") return FieldType::kText;
  return std::nullopt;
}

// Parses a `name:type<TAB>name:type...` header. On failure returns the reason in *why.
bool ParseHeader(std::string_view line, std::vector<Field>* out, std::string* why) {
  out->clear();
  size_t pos = 0;
  while (pos <= line.size()) {
    size_t end = line.find('\t', pos);
    if (end == std::string_view::npos) end = line.size();
    const std::string_view spec = line.substr(pos, end - pos);
    const size_t colon = spec.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
      *why = "header field '" + std::string(spec) + "' has no type; expected name:type with type " +
             kTypeList;
      return false;
    }
    const auto type = ParseType(spec.substr(colon + 1));
    if (!type) {
      *why = "header field '" + std::string(spec) + "' has unknown type '" +
             std::string(spec.substr(colon + 1)) + "'; expected " + kTypeList;
      return false;
    }
    const std::string name(spec.substr(0, colon));
    // Field names become feature names in stats, JSON and reports, which need UTF-8.
    if (!framework::IsValidUtf8(name)) {
      *why = "header field name is not valid UTF-8 (save the file as UTF-8)";
      return false;
    }
    for (const auto& f : *out)
      if (f.name == name) {
        *why = "header names field '" + name + "' twice";
        return false;
      }
    out->push_back({name, *type});
    pos = end + 1;
  }
  return true;
}

// One atomic file read whole: a typed header and tab-separated rows, one per line.
class Table {
 public:
  explicit Table(std::string path) : path_(std::move(path)), text_(ReadInputFile(path_)) {
    body_ = StripBom(text_);
    framework::LineCursor cursor(body_);
    std::string_view header;
    if (!cursor.Next(&header) || header.empty())
      throw DataError(path_, 1,
                      std::string("empty file: expected a header of tab-separated name:type "
                                  "fields (types ") +
                          kTypeList + ")");
    std::string why;
    if (!ParseHeader(header, &fields_, &why)) throw DataError(path_, 1, why);
  }

  const std::string& path() const { return path_; }
  const std::vector<Field>& fields() const { return fields_; }
  int Find(std::string_view name) const {
    for (size_t k = 0; k < fields_.size(); ++k)
      if (fields_[k].name == name) return static_cast<int>(k);
    return -1;
  }
  int Require(std::string_view name) const {
    const int k = Find(name);
    if (k < 0) throw DataError(path_, 1, "header has no '" + std::string(name) + "' field");
    return k;
  }
  size_t RowEstimate() const { return CountLines(body_); }

  // Calls f(fields, line) for every non-blank data line; every line must have exactly as
  // many fields as the header. Returns the number of rows.
  template <typename F>
  int64_t ForEachRow(F&& f) const {
    framework::LineCursor cursor(body_);
    std::string_view line;
    cursor.Next(&line);  // header
    const size_t n = fields_.size();
    std::vector<std::string_view> buf(n + 1);
    int64_t rows = 0;
    while (cursor.Next(&line)) {
      if (line.empty()) continue;
      const size_t got = framework::SplitFields(line, '\t', buf.data(), n + 1);
      if (got != n) {
        const size_t actual = static_cast<size_t>(std::count(line.begin(), line.end(), '\t')) + 1;
        throw DataError(path_, cursor.line_number(),
                        "expected " + std::to_string(n) +
                            " tab-separated fields (per the header), got " +
                            std::to_string(actual));
      }
      f(buf.data(), cursor.line_number());
      ++rows;
    }
    return rows;
  }

 private:
  std::string path_;
  std::string text_;
  std::string_view body_;
  std::vector<Field> fields_;
};

std::string Path(const std::string& dir, const std::string& file) {
  return (fs::path(dir) / file).string();
}

// dir/file or, failing that, dir/file.gz; "" if neither exists.
std::string Find(const std::string& dir, const std::string& file) {
  return FindPlainOrGz(Path(dir, file));
}

struct InterHeader {
  int user, item, rating, timestamp;
};

// Appends one .inter file's rows. `split` is the fixed-split code, or -1 for none.
void LoadInter(const Table& t, Dataset& d, int split, const InterHeader& h) {
  auto& inter = d.interactions;
  inter.Reserve(inter.size() + t.RowEstimate());
  const std::string& file = t.path();
  const int64_t rows = t.ForEachRow([&](const std::string_view* f, int64_t line) {
    RequireToken(f[h.user], file, line, "user_id");
    RequireToken(f[h.item], file, line, "item_id");
    const float r = h.rating >= 0 ? ParseRating(f[h.rating], file, line) : 1.0f;
    const double ts = h.timestamp >= 0 ? ParseTimestamp(f[h.timestamp], file, line) : 0.0;
    inter.Add(d.users.GetOrAdd(f[h.user]), d.items.GetOrAdd(f[h.item]), r, ts);
  });
  if (rows == 0 && split < 0)
    throw DataError(file, 2, "no interactions (the file has a header only)");
  if (split >= 0) d.fixed_split.resize(inter.size(), static_cast<uint8_t>(split));
}

InterHeader InterColumns(const Table& t) {
  InterHeader h{t.Require("user_id"), t.Require("item_id"), t.Find("rating"), t.Find("timestamp")};
  return h;
}

template <typename FieldVec>
auto* AddNamed(FieldVec& fields, const std::string& name, const std::string& file) {
  for (const auto& f : fields)
    if (f.name == name)
      throw DataError(file, 1, "field '" + name + "' was already loaded from another file");
  fields.emplace_back();
  fields.back().name = name;
  return &fields.back();
}

// Marks `id` as seen in `first_line`, throwing on a second row for the same id: a repeated
// id would otherwise let the later row silently overwrite the earlier one.
void CheckUnique(std::vector<int64_t>& first_line, Index id, const std::string& file, int64_t line,
                 std::string_view what, std::string_view token) {
  if (first_line.size() <= static_cast<size_t>(id))
    first_line.resize(static_cast<size_t>(id) + 1, 0);
  if (first_line[id] != 0)
    throw DataError(file, line,
                    "duplicate " + std::string(what) + " '" + std::string(token) +
                        "' (first on line " + std::to_string(first_line[id]) + ")");
  first_line[id] = line;
}

Index KnownItem(const Dataset& d, std::string_view tok, const std::string& file, int64_t line) {
  RequireToken(tok, file, line, "item_id");
  const Index i = d.items.Find(tok);
  if (i == kNoId)
    throw DataError(file, line,
                    "unknown item '" + std::string(tok) + "' (in neither the .inter nor the .item file)");
  return i;
}

// .item / .user: every field becomes a categorical, numeric or (items only) text field.
// Ids first seen here join the id space (cold items/users).
void LoadFeatures(const std::string& path, const char* id_field, bool is_item, Dataset& d) {
  const Table t(path);
  const int id_col = t.Require(id_field);
  IdMap& ids = is_item ? d.items : d.users;
  auto& cats = is_item ? d.item_categorical : d.user_categorical;
  auto& nums = is_item ? d.item_numeric : d.user_numeric;

  struct Slot {
    FieldType type;
    CategoricalField* cat = nullptr;
    NumericField* num = nullptr;
    TextField* text = nullptr;
  };
  // Pointers into the field vectors are taken after all emplace_backs, so they stay valid.
  std::vector<int> col_of;
  std::vector<FieldType> types;
  std::vector<size_t> index_of;
  for (size_t k = 0; k < t.fields().size(); ++k) {
    if (static_cast<int>(k) == id_col) continue;
    const Field& f = t.fields()[k];
    if (f.type == FieldType::kFloatSeq || (f.type == FieldType::kText && !is_item)) {
      d.report.notes.push_back(BaseName(path) + ": ignored field '" + f.name + "' (" +
                               (f.type == FieldType::kText ? "text" : "float_seq") +
                               " is not supported here)");
      continue;
    }
    col_of.push_back(static_cast<int>(k));
    types.push_back(f.type);
    switch (f.type) {
      case FieldType::kToken:
      case FieldType::kTokenSeq:
        AddNamed(cats, f.name, path);
        index_of.push_back(cats.size() - 1);
        break;
      case FieldType::kFloat:
        AddNamed(nums, f.name, path);
        index_of.push_back(nums.size() - 1);
        break;
      default:
        AddNamed(d.item_text, f.name, path);
        index_of.push_back(d.item_text.size() - 1);
    }
  }
  std::vector<Slot> slots;
  for (size_t s = 0; s < col_of.size(); ++s) {
    Slot slot{types[s]};
    if (types[s] == FieldType::kToken || types[s] == FieldType::kTokenSeq)
      slot.cat = &cats[index_of[s]];
    else if (types[s] == FieldType::kFloat)
      slot.num = &nums[index_of[s]];
    else
      slot.text = &d.item_text[index_of[s]];
    slots.push_back(slot);
  }

  std::vector<int64_t> first_line;
  const std::string what = is_item ? "item" : "user";
  t.ForEachRow([&](const std::string_view* f, int64_t line) {
    RequireToken(f[id_col], path, line, id_field);
    const Index id = ids.GetOrAdd(f[id_col]);
    CheckUnique(first_line, id, path, line, what, f[id_col]);
    const size_t need = static_cast<size_t>(id) + 1;
    for (size_t s = 0; s < slots.size(); ++s) {
      const std::string_view v = f[col_of[s]];
      Slot& slot = slots[s];
      if (slot.cat) {
        if (slot.cat->per_row.size() < need) slot.cat->per_row.resize(need);
        auto& row = slot.cat->per_row[id];
        if (slot.type == FieldType::kToken) {
          if (!v.empty()) row.push_back(slot.cat->values.GetOrAdd(v));
        } else {
          AddTokenSeq(v, ' ', slot.cat->values, row);
        }
      } else if (slot.num) {
        if (slot.num->per_row.size() < need)
          slot.num->per_row.resize(need, std::numeric_limits<float>::quiet_NaN());
        slot.num->per_row[id] = ParseOptionalFloat(v, path, line, t.fields()[col_of[s]].name);
      } else {
        if (slot.text->values.size() < need) slot.text->values.resize(need);
        slot.text->values[id].assign(v);
      }
    }
  });
}

void LoadKg(const std::string& path, Dataset& d) {
  const Table t(path);
  const int h = t.Require("head_id"), r = t.Require("relation_id"), tl = t.Require("tail_id");
  d.kg.reserve(d.kg.size() + t.RowEstimate());
  t.ForEachRow([&](const std::string_view* f, int64_t line) {
    RequireToken(f[h], path, line, "head_id");
    RequireToken(f[r], path, line, "relation_id");
    RequireToken(f[tl], path, line, "tail_id");
    const Index head = d.entities.GetOrAdd(f[h]);
    const Index rel = d.relations.GetOrAdd(f[r]);
    d.kg.push_back({head, rel, d.entities.GetOrAdd(f[tl])});
  });
}

void LoadLink(const std::string& path, Dataset& d) {
  const Table t(path);
  const int ic = t.Require("item_id"), ec = t.Require("entity_id");
  d.item_entity.resize(static_cast<size_t>(d.num_items()), kNoId);
  std::vector<int64_t> first_line;
  t.ForEachRow([&](const std::string_view* f, int64_t line) {
    const Index item = KnownItem(d, f[ic], path, line);
    CheckUnique(first_line, item, path, line, "item", f[ic]);
    RequireToken(f[ec], path, line, "entity_id");
    // Linked entities join the entity space even when no triple mentions them.
    d.item_entity[item] = d.entities.GetOrAdd(f[ec]);
  });
}

// <name>.image: item_id:token plus an image path column, relative to the file's folder.
void LoadImageList(const std::string& path, const std::string& dir, Dataset& d) {
  const Table t(path);
  const int ic = t.Require("item_id");
  int pc = t.Find("image");
  if (pc < 0)
    for (size_t k = 0; k < t.fields().size() && pc < 0; ++k)
      if (static_cast<int>(k) != ic) pc = static_cast<int>(k);
  if (pc < 0) throw DataError(path, 1, "header has no image path field");
  d.item_image.assign(static_cast<size_t>(d.num_items()), "");
  d.report.image_source = AbsolutePath(path);
  d.report.image_list = true;
  std::vector<int64_t> first_line;
  t.ForEachRow([&](const std::string_view* f, int64_t line) {
    const Index item = KnownItem(d, f[ic], path, line);
    CheckUnique(first_line, item, path, line, "item", f[ic]);
    if (f[pc].empty()) return;
    fs::path p{std::string(f[pc])};
    if (p.is_relative()) p = fs::path(dir) / p;
    const std::string abs = AbsolutePath(p.string());
    if (IsRegularFile(abs))
      d.item_image[item] = abs;
    else {
      ++d.report.missing_images;
      d.report.missing_image_items.emplace_back(f[ic]);
    }
  });
}

// Any other <name>.<ext>: item text (item_id + text fields) or reviews (user_id + item_id +
// text fields). Files of another shape are skipped with a note.
void LoadExtra(const std::string& path, Dataset& d) {
  const std::string file = BaseName(path);
  std::vector<Field> fields;
  std::string why;
  if (!ParseHeader(ReadFirstLine(path), &fields, &why)) {
    d.report.notes.push_back(file + ": skipped, not an atomic file (" + why + ")");
    return;
  }
  auto has = [&](const char* name) {
    return std::any_of(fields.begin(), fields.end(),
                       [&](const Field& f) { return f.name == name; });
  };
  const bool has_text = std::any_of(fields.begin(), fields.end(),
                                    [](const Field& f) { return f.type == FieldType::kText; });
  if (!has("item_id") || !has_text) {
    d.report.notes.push_back(file + ": skipped, it has no item_id and text fields");
    return;
  }
  const Table t(path);
  const int ic = t.Require("item_id");
  std::vector<int> text_cols;
  for (size_t k = 0; k < t.fields().size(); ++k)
    if (t.fields()[k].type == FieldType::kText) text_cols.push_back(static_cast<int>(k));

  if (!has("user_id")) {
    std::vector<TextField*> out;
    for (int c : text_cols) AddNamed(d.item_text, t.fields()[c].name, path);
    for (int c : text_cols)
      for (auto& tf : d.item_text)
        if (tf.name == t.fields()[c].name) out.push_back(&tf);
    std::vector<int64_t> first_line;
    t.ForEachRow([&](const std::string_view* f, int64_t line) {
      const Index item = KnownItem(d, f[ic], path, line);
      CheckUnique(first_line, item, path, line, "item", f[ic]);
      for (size_t s = 0; s < text_cols.size(); ++s) {
        if (out[s]->values.size() <= static_cast<size_t>(item))
          out[s]->values.resize(static_cast<size_t>(d.num_items()));
        out[s]->values[item].assign(f[text_cols[s]]);
      }
    });
    return;
  }

  const int uc = t.Require("user_id");
  const int tc = t.Find("timestamp");
  d.reviews.reserve(d.reviews.size() + t.RowEstimate());
  t.ForEachRow([&](const std::string_view* f, int64_t line) {
    RequireToken(f[uc], path, line, "user_id");
    const Index user = d.users.Find(f[uc]);
    if (user == kNoId) throw DataError(path, line, "unknown user '" + std::string(f[uc]) + "'");
    Review r;
    r.user = user;
    r.item = KnownItem(d, f[ic], path, line);
    r.timestamp = tc >= 0 ? ParseTimestamp(f[tc], path, line) : 0.0;
    for (int c : text_cols) {
      if (f[c].empty()) continue;
      if (!r.text.empty()) r.text += '\n';
      r.text.append(f[c]);
    }
    d.reviews.push_back(std::move(r));
  });
}

bool IsSplitFile(const std::string& f, std::string* stem) {
  for (const char* suffix : {".train.inter", ".valid.inter", ".test.inter"}) {
    const std::string s(suffix);
    if (f.size() > s.size() && f.compare(f.size() - s.size(), s.size(), s) == 0) {
      *stem = f.substr(0, f.size() - s.size());
      return true;
    }
  }
  return false;
}

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The <name> of <name>.inter: the option, else the folder name, else the only dataset in it.
std::string ResolveName(const std::string& dir, const LoadOptions& options) {
  if (!options.name.empty()) return options.name;
  const std::string folder = BaseName(dir);
  if (!Find(dir, folder + ".inter").empty() || !Find(dir, folder + ".train.inter").empty())
    return folder;
  std::vector<std::string> stems;
  for (const auto& listed : ListFiles(dir)) {
    const std::string f = StripGz(listed);
    std::string stem;
    if (!IsSplitFile(f, &stem)) {
      if (!EndsWith(f, ".inter")) continue;
      stem = f.substr(0, f.size() - 6);
    }
    if (std::find(stems.begin(), stems.end(), stem) == stems.end()) stems.push_back(stem);
  }
  if (stems.empty())
    throw DataError(dir, 0, "no atomic interaction file (<name>.inter or <name>.train.inter)");
  if (stems.size() > 1) {
    std::string list;
    for (const auto& s : stems) list += (list.empty() ? "" : ", ") + s;
    throw DataError(dir, 0, "several datasets in one folder (" + list + "); set data.name");
  }
  return stems[0];
}

bool HasSideInfo(const std::string& dir, const std::string& name) {
  for (const char* ext : {".item", ".user", ".kg", ".link"})
    if (!Find(dir, name + ext).empty()) return true;
  return false;
}

}  // namespace

Dataset LoadAtomic(const std::string& dir, const LoadOptions& options) {
  if (!IsDirectory(dir)) throw framework::IoError(dir + ": not a directory");
  const std::string name = ResolveName(dir, options);
  Dataset d;
  d.name = options.name.empty() ? BaseName(dir) : options.name;
  d.source = dir;

  const std::string inter = Find(dir, name + ".inter");
  bool split = false;
  if (!inter.empty()) {
    const Table t(inter);
    const InterHeader h = InterColumns(t);
    d.interactions.has_rating = h.rating >= 0;
    d.interactions.has_timestamp = h.timestamp >= 0;
    LoadInter(t, d, -1, h);
  } else {
    std::string parts[3];
    const char* kinds[3] = {".train.inter", ".valid.inter", ".test.inter"};
    for (int s = 0; s < 3; ++s) {
      parts[s] = Find(dir, name + kinds[s]);
      if (parts[s].empty())
        throw DataError(dir, 0,
                        "no " + name + ".inter, and split file " + name + kinds[s] + " is missing");
    }
    split = true;
    std::vector<Field> first_header;
    int64_t counts[3];
    for (int s = 0; s < 3; ++s) {
      const Table t(parts[s]);
      if (s == 0) {
        first_header = t.fields();
      } else {
        bool same = t.fields().size() == first_header.size();
        for (size_t k = 0; same && k < first_header.size(); ++k)
          same = t.fields()[k].name == first_header[k].name &&
                 t.fields()[k].type == first_header[k].type;
        if (!same) throw DataError(parts[s], 1, "header differs from " + BaseName(parts[0]));
      }
      const InterHeader h = InterColumns(t);
      d.interactions.has_rating = h.rating >= 0;
      d.interactions.has_timestamp = h.timestamp >= 0;
      const size_t before = d.interactions.size();
      LoadInter(t, d, s, h);
      counts[s] = static_cast<int64_t>(d.interactions.size() - before);
    }
    if (d.interactions.empty())
      throw DataError(parts[0], 2,
                      "no interactions (train, valid and test files have a header only)");
    d.report.notes.push_back(
        "fixed split from " + name + ".{train,valid,test}.inter: " + std::to_string(counts[0]) +
        " / " + std::to_string(counts[1]) + " / " + std::to_string(counts[2]) + " interactions");
  }

  std::string side = dir;
  if (!options.side_info_dir.empty()) {
    if (!IsDirectory(options.side_info_dir))
      throw framework::IoError(options.side_info_dir + ": side_info_dir is not a directory");
    side = options.side_info_dir;
  } else if (split && !HasSideInfo(dir, name)) {
    const std::string sibling = (fs::path(AbsolutePath(dir)).parent_path() / name).string();
    if (IsDirectory(sibling) && HasSideInfo(sibling, name)) side = sibling;
  }
  if (AbsolutePath(side) != AbsolutePath(dir))
    d.report.notes.push_back("side information from " + AbsolutePath(side));

  if (const auto f = Find(side, name + ".item"); !f.empty()) LoadFeatures(f, "item_id", true, d);
  if (const auto f = Find(side, name + ".user"); !f.empty()) LoadFeatures(f, "user_id", false, d);
  if (const auto f = Find(side, name + ".kg"); !f.empty()) LoadKg(f, d);
  if (const auto f = Find(side, name + ".link"); !f.empty()) LoadLink(f, d);
  const std::string prefix = name + ".";
  for (const auto& listed : ListFiles(side)) {
    const std::string f = StripGz(listed);
    if (f.rfind(prefix, 0) != 0 || EndsWith(f, ".inter")) continue;
    // Both x.plot and x.plot.gz: Find() picked the plain one for the known kinds; for
    // extras, read the plain one and skip its .gz twin rather than loading the field twice.
    if (listed != f && IsRegularFile(Path(side, f))) continue;
    const std::string ext = f.substr(prefix.size());
    if (ext == "item" || ext == "user" || ext == "kg" || ext == "link" || ext == "image") continue;
    LoadExtra(Path(side, listed), d);
  }
  d.Finalize();
  if (const auto f = Find(side, name + ".image"); !f.empty())
    LoadImageList(f, side, d);
  else if (IsDirectory(Path(side, "images")))
    AttachImageFolder(d, Path(side, "images"));
  d.Finalize();
  return d;
}

}  // namespace recfuse::datasets
