#include "datasets/feature_files.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <regex>
#include <type_traits>
#include <unordered_map>
#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xnpy.hpp>

#include "datasets/parse_util.h"
#include "framework/config.h"
#include "framework/error.h"
#include "framework/io.h"

namespace recfuse::datasets {

using framework::DataError;

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
// Far above any real feature table (10^8 items x 10^4 dims is 4 TB), small enough that the
// byte count of a fuzzed shape cannot overflow size_t.
constexpr uint64_t kMaxElements = uint64_t{1} << 40;

std::string Quote(std::string_view s) {
  constexpr size_t kMax = 60;
  if (s.size() <= kMax) return "'" + std::string(s) + "'";
  return "'" + std::string(s.substr(0, kMax)) + "...'";
}

uint32_t LittleEndian(const unsigned char* p, int bytes) {
  uint32_t v = 0;
  for (int k = bytes - 1; k >= 0; --k) v = (v << 8) | p[k];
  return v;
}

std::string NonFiniteName(float v) { return std::isnan(v) ? "NaN" : "infinite"; }

// Why the framing and header checks below exist instead of a plain xt::load_npy(stream):
// xtensor 0.24's reader (a) decodes the header length through `char`, so a length byte
// >= 0x80 is sign-extended and misread; (b) never checks that its reads succeeded, so a
// truncated file yields uninitialised values instead of an error; (c) multiplies the shape
// without overflow checks before allocating; (d) calls back()/front() on empty strings for
// some malformed headers (undefined behaviour); (e) reads a non-numeric dimension as 0.
// So recfuse frames the file itself (magic, version, unsigned header length, exact data
// length) and validates the header's outline, then lets xtensor parse the header dictionary
// (descr, fortran_order, shape) and lay the values out in C order.
void CheckHeaderOutline(const std::string& header, const std::string& path) {
  std::string compact;
  for (char c : header)
    if (c != ' ' && c != '\n') compact.push_back(c);
  // xtensor takes everything after 'shape' as the shape, so it must come last (numpy writes
  // the keys in alphabetical order). Python 2 numpy wrote dimensions as longs ("3L").
  static const std::regex outline(R"(\{.*'shape':\((\d+L?,)*(\d+L?)?\),?\})");
  if (header.empty() || header.back() != '\n' || !std::regex_match(compact, outline))
    throw DataError(path, 0,
                    "malformed .npy header " + Quote(header) +
                        " (expected a dictionary with 'descr', 'fortran_order' and a 'shape' "
                        "tuple of non-negative integers, ending in a newline)");
}

template <typename T>
void ConvertFrom(const char* data, uint64_t n, const NpyArray& a, std::vector<float>* out) {
  // Copy first: a fuzzed or hand-made header length need not leave the data aligned for T.
  if constexpr (std::is_same_v<T, float>) {
    if (!a.fortran_order || a.shape.size() < 2) {  // the common case: one copy, no conversion
      out->resize(static_cast<size_t>(n));
      if (n > 0) std::memcpy(out->data(), data, static_cast<size_t>(n) * sizeof(float));
      return;
    }
  }
  std::vector<T> raw(static_cast<size_t>(n));
  if (n > 0) std::memcpy(raw.data(), data, static_cast<size_t>(n) * sizeof(T));
  out->resize(static_cast<size_t>(n));
  if (!a.fortran_order || a.shape.size() < 2) {
    std::transform(raw.begin(), raw.end(), out->begin(), [](T v) { return static_cast<float>(v); });
    return;
  }
  std::vector<size_t> shape(a.shape.begin(), a.shape.end());
  std::vector<size_t> strides(shape.size());
  xt::compute_strides(shape, xt::layout_type::column_major, strides);
  auto column_major = xt::adapt(raw.data(), static_cast<size_t>(n), xt::no_ownership(), shape, strides);
  xt::xarray<T, xt::layout_type::row_major> c_order = column_major;
  std::transform(c_order.begin(), c_order.end(), out->begin(),
                 [](T v) { return static_cast<float>(v); });
}

}  // namespace

NpyArray ParseNpy(std::string_view bytes, const std::string& path) {
  const auto* u = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < kMagicLen + 2 || std::memcmp(bytes.data(), kMagic, kMagicLen) != 0)
    throw DataError(path, 0, "not a .npy file (it does not start with the \\x93NUMPY magic)");
  const int major = u[kMagicLen];
  if (major < 1 || major > 3)
    throw DataError(path, 0,
                    "unsupported .npy format version " + std::to_string(major) + "." +
                        std::to_string(u[kMagicLen + 1]) + " (1.0, 2.0 and 3.0 are known)");
  const size_t len_bytes = major == 1 ? 2 : 4;
  const size_t preamble = kMagicLen + 2 + len_bytes;
  if (bytes.size() < preamble) throw DataError(path, 0, "truncated .npy file (ends inside its preamble)");
  const uint64_t header_len = LittleEndian(u + kMagicLen + 2, static_cast<int>(len_bytes));
  if (bytes.size() - preamble < header_len)
    throw DataError(path, 0,
                    "truncated .npy file: its header is " + std::to_string(header_len) +
                        " bytes but only " + std::to_string(bytes.size() - preamble) + " follow");
  const std::string header(bytes.substr(preamble, static_cast<size_t>(header_len)));
  CheckHeaderOutline(header, path);

  NpyArray a;
  std::vector<size_t> shape;
  try {
    xt::detail::parse_header(header, a.dtype, &a.fortran_order, shape);
  } catch (const std::exception& e) {
    throw DataError(path, 0, "malformed .npy header " + Quote(header) + ": " + e.what());
  }
  const bool f4 = a.dtype == "<f4", f8 = a.dtype == "<f8";
  if (!f4 && !f8) {
    std::string hint = "expected float32 ('<f4') or float64 ('<f8')";
    if (a.dtype == ">f4" || a.dtype == ">f8")
      hint = "big-endian data is not supported; save it with arr.astype('<f4')";
    throw DataError(path, 0, "unsupported dtype '" + a.dtype + "': " + hint);
  }
  uint64_t n = 1;
  for (size_t d : shape) {
    if (d > kMaxElements || (d > 0 && n > kMaxElements / d))
      throw DataError(path, 0, "implausible .npy shape (more than 2^40 values)");
    n *= d;
    a.shape.push_back(static_cast<int64_t>(d));
  }
  const uint64_t word = f4 ? 4 : 8;
  const uint64_t have = bytes.size() - preamble - header_len;
  if (have != n * word) {
    std::string shape_text;
    for (int64_t d : a.shape) shape_text += (shape_text.empty() ? "" : ", ") + std::to_string(d);
    throw DataError(path, 0,
                    std::string(have < n * word ? "truncated .npy data" : "trailing bytes after the .npy data") +
                        ": shape (" + shape_text + ") of " + a.dtype + " needs " +
                        std::to_string(n * word) + " bytes, the file has " + std::to_string(have));
  }
  const char* data = bytes.data() + preamble + header_len;
  if (f4)
    ConvertFrom<float>(data, n, a, &a.values);
  else
    ConvertFrom<double>(data, n, a, &a.values);
  for (size_t k = 0; k < a.values.size(); ++k) {
    if (std::isfinite(a.values[k])) continue;
    const int64_t cols = a.shape.size() >= 2 ? static_cast<int64_t>(a.values.size()) / std::max<int64_t>(1, a.shape[0]) : 0;
    const std::string where = a.shape.size() >= 2 && cols > 0
                                  ? "row " + std::to_string(static_cast<int64_t>(k) / cols) + " (0-based), column " +
                                        std::to_string(static_cast<int64_t>(k) % cols)
                                  : "element " + std::to_string(k);
    throw DataError(path, 0, where + " is " + NonFiniteName(a.values[k]) +
                                 (f8 ? " (after conversion to float32)" : ""));
  }
  return a;
}

NpyArray ReadNpy(const std::string& path) {
  if (!internal::IsRegularFile(path)) throw framework::IoError(path + ": no such .npy file");
  return ParseNpy(internal::ReadInputFile(path), path);
}

namespace {

std::vector<std::string_view> SplitOn(std::string_view line, char sep) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  for (;;) {
    const size_t end = line.find(sep, pos);
    out.push_back(line.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos));
    if (end == std::string_view::npos) return out;
    pos = end + 1;
  }
}

bool ParseFinite(std::string_view s, float* out) {
  double v;
  if (!framework::ParseDouble(framework::Trim(s), &v)) return false;
  *out = static_cast<float>(v);
  return true;
}

// Appends one row, rejecting a repeated id and non-finite values.
class TableBuilder {
 public:
  TableBuilder(FeatureTable* t, const std::string& path) : t_(t), path_(path) {}
  void AddId(std::string_view id, int64_t line) {
    if (id.empty()) throw DataError(path_, line, "empty item id");
    auto [it, fresh] = first_.emplace(std::string(id), line);
    if (!fresh)
      throw DataError(path_, line,
                      "duplicate item id " + Quote(id) + " (first on line " + std::to_string(it->second) + ")");
    t_->tokens.emplace_back(id);
    t_->lines.push_back(line);
  }
  void AddValue(std::string_view text, int64_t line, int64_t column) {
    float v;
    if (!ParseFinite(text, &v))
      throw DataError(path_, line, "value " + std::to_string(column) + " " + Quote(text) + " is not a number");
    if (!std::isfinite(v))
      throw DataError(path_, line, "value " + std::to_string(column) + " " + Quote(text) + " is " +
                                       NonFiniteName(v) + (std::isnan(v) ? "" : " (or overflows float32)"));
    t_->values.push_back(v);
  }

 private:
  FeatureTable* t_;
  const std::string& path_;
  std::unordered_map<std::string, int64_t> first_;
};

}  // namespace

FeatureTable ParseFeatureCsv(std::string_view text, const std::string& path) {
  FeatureTable t;
  TableBuilder b(&t, path);
  framework::LineCursor cursor(internal::StripBom(text));
  std::string_view line;
  char sep = 0;
  bool first = true;
  while (cursor.Next(&line)) {
    if (framework::Trim(line).empty()) continue;
    if (!sep) sep = line.find('\t') != std::string_view::npos ? '\t' : ',';
    const auto fields = SplitOn(line, sep);
    const int64_t ln = cursor.line_number();
    if (first) {
      first = false;
      if (fields.size() < 2)
        throw DataError(path, ln,
                        std::string("expected an item id and at least one value separated by ") +
                            (sep == '\t' ? "tabs" : "commas") + ", got one field");
      float v;
      bool header = false;
      for (size_t k = 1; k < fields.size(); ++k) header = header || !ParseFinite(fields[k], &v);
      t.id_field = header ? std::string(framework::Trim(fields[0])) : "column 1";
      t.value_field = "f1..f" + std::to_string(fields.size() - 1);
      if (header) continue;
    }
    if (t.dim == 0) t.dim = static_cast<int64_t>(fields.size()) - 1;
    if (static_cast<int64_t>(fields.size()) != t.dim + 1)
      throw DataError(path, ln,
                      "expected " + std::to_string(t.dim + 1) + " fields (item id + " + std::to_string(t.dim) +
                          " values, as on line " + std::to_string(t.lines.empty() ? ln : t.lines[0]) + "), got " +
                          std::to_string(fields.size()));
    b.AddId(framework::Trim(fields[0]), ln);
    for (size_t k = 1; k < fields.size(); ++k) b.AddValue(fields[k], ln, static_cast<int64_t>(k));
  }
  if (t.tokens.empty()) throw DataError(path, 0, "no feature rows (the file is empty or has a header only)");
  return t;
}

FeatureTable ParseFeatureAtomic(std::string_view text, const std::string& path, const std::string& field) {
  FeatureTable t;
  TableBuilder b(&t, path);
  framework::LineCursor cursor(internal::StripBom(text));
  std::string_view line;
  if (!cursor.Next(&line) || line.empty())
    throw DataError(path, 1, "empty file: expected a header such as item_id:token<TAB>item_emb:float_seq");
  const auto header = SplitOn(line, '\t');
  int id_col = -1, value_col = -1;
  std::vector<std::string> seqs;
  for (size_t k = 0; k < header.size(); ++k) {
    const std::string_view h = header[k];
    const size_t colon = h.rfind(':');
    if (colon == std::string_view::npos || colon == 0)
      throw DataError(path, 1, "header field " + Quote(h) + " has no type; expected name:type");
    const std::string name(h.substr(0, colon));
    const std::string_view type = h.substr(colon + 1);
    if (type == "token" && (id_col < 0 || name == "item_id")) id_col = static_cast<int>(k);
    if (type == "float_seq") {
      seqs.push_back(name);
      if (field.empty() || field == name) value_col = static_cast<int>(k);
    }
  }
  if (id_col < 0) throw DataError(path, 1, "header has no ':token' item id field (e.g. item_id:token)");
  if (!field.empty() && value_col < 0)
    throw DataError(path, 1, "header has no float_seq field '" + field + "'");
  if (seqs.empty()) throw DataError(path, 1, "header has no ':float_seq' field holding the vectors");
  if (field.empty() && seqs.size() > 1) {
    std::string list;
    for (const auto& s : seqs) list += (list.empty() ? "" : ", ") + s;
    throw DataError(path, 1, "several float_seq fields (" + list + "); name one in the spec (PATH#FIELD)");
  }
  t.id_field = std::string(header[id_col].substr(0, header[id_col].rfind(':')));
  t.value_field = std::string(header[value_col].substr(0, header[value_col].rfind(':')));
  while (cursor.Next(&line)) {
    if (line.empty()) continue;
    const int64_t ln = cursor.line_number();
    const auto fields = SplitOn(line, '\t');
    if (fields.size() != header.size())
      throw DataError(path, ln,
                      "expected " + std::to_string(header.size()) + " tab-separated fields (per the header), got " +
                          std::to_string(fields.size()));
    b.AddId(fields[id_col], ln);
    int64_t count = 0;
    for (std::string_view v : SplitOn(fields[value_col], ' ')) {
      if (v.empty()) continue;
      b.AddValue(v, ln, ++count);
    }
    if (t.dim == 0) t.dim = count;
    if (count == 0) throw DataError(path, ln, "empty " + t.value_field + " vector");
    if (count != t.dim)
      throw DataError(path, ln,
                      t.value_field + " has " + std::to_string(count) + " values but line " +
                          std::to_string(t.lines[0]) + " has " + std::to_string(t.dim));
  }
  if (t.tokens.empty()) throw DataError(path, 2, "no feature rows (the file has a header only)");
  return t;
}

std::vector<std::string> ParseIdMapping(std::string_view text, const std::string& path, int64_t rows) {
  framework::LineCursor cursor(internal::StripBom(text));
  std::string_view line;
  if (!cursor.Next(&line)) throw DataError(path, 1, "empty file: expected a header such as asin<TAB>itemID");
  const auto header = SplitOn(line, '\t');
  int id_col = -1;
  for (size_t k = 0; k < header.size(); ++k)
    if (framework::Trim(header[k]) == "itemID") id_col = static_cast<int>(k);
  if (id_col < 0 || header.size() != 2)
    throw DataError(path, 1, "expected a tab-separated header of two columns, the item token and 'itemID' (got " +
                                 Quote(line) + ")");
  const int token_col = 1 - id_col;
  std::vector<std::string> out(static_cast<size_t>(std::max<int64_t>(rows, 0)));
  std::vector<int64_t> first(out.size(), 0);
  std::unordered_map<std::string, int64_t> seen_token;
  while (cursor.Next(&line)) {
    if (line.empty()) continue;
    const int64_t ln = cursor.line_number();
    const auto f = SplitOn(line, '\t');
    if (f.size() != 2) throw DataError(path, ln, "expected 2 tab-separated fields, got " + std::to_string(f.size()));
    int64_t id;
    if (!framework::ParseInt64(framework::Trim(f[id_col]), &id) || id < 0)
      throw DataError(path, ln, "itemID " + Quote(f[id_col]) + " is not a non-negative integer");
    if (id >= rows)
      throw DataError(path, ln,
                      "itemID " + std::to_string(id) + " has no row: the feature file has " + std::to_string(rows) +
                          " rows");
    const std::string token = framework::Trim(f[token_col]);
    if (token.empty()) throw DataError(path, ln, "empty item token");
    if (first[id] != 0)
      throw DataError(path, ln, "itemID " + std::to_string(id) + " appears twice (first on line " +
                                    std::to_string(first[id]) + ")");
    auto [it, fresh] = seen_token.emplace(std::string(token), ln);
    if (!fresh)
      throw DataError(path, ln, "item " + Quote(token) + " appears twice (first on line " +
                                    std::to_string(it->second) + ")");
    first[id] = ln;
    out[id] = std::string(token);
  }
  for (size_t r = 0; r < out.size(); ++r)
    if (first[r] == 0)
      throw DataError(path, 0, "no line maps itemID " + std::to_string(r) + " (every feature row needs an item)");
  return out;
}

std::string Sha256File(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw framework::IoError(path + ": cannot open");
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
    throw framework::IoError(path + ": cannot initialise SHA-256");
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (in.gcount() > 0) EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) throw framework::IoError(path + ": read error");
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int k = 0; k < len; ++k) {
    out.push_back(hex[md[k] >> 4]);
    out.push_back(hex[md[k] & 15]);
  }
  return out;
}

}  // namespace recfuse::datasets
