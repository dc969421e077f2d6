#include "datasets/parse_util.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

#include <zlib.h>

#include "framework/config.h"
#include "framework/error.h"
#include "framework/io.h"

namespace recfuse::datasets::internal {

namespace fs = std::filesystem;
using framework::DataError;

namespace {
// Values are quoted in messages; a runaway field (e.g. a whole misparsed line) is cut short.
std::string Quote(std::string_view s) {
  constexpr size_t kMax = 60;
  if (s.size() <= kMax) return "'" + std::string(s) + "'";
  return "'" + std::string(s.substr(0, kMax)) + "...'";
}
}  // namespace

bool IsValidUtf8(std::string_view s) { return framework::IsValidUtf8(s); }

std::string RepairUtf8AsLatin1(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (size_t i = 0; i < s.size();) {
    const size_t n = framework::Utf8SequenceLength(s, i);
    if (n > 0) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      const auto c = static_cast<unsigned char>(s[i++]);
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

int64_t RepairTextEncoding(Dataset& data) {
  int64_t repaired = 0;
  std::string first;
  for (auto& f : data.item_text)
    for (size_t i = 0; i < f.values.size(); ++i) {
      if (IsValidUtf8(f.values[i])) continue;
      f.values[i] = RepairUtf8AsLatin1(f.values[i]);
      if (repaired++ == 0)
        first = "item " + RepairUtf8AsLatin1(i < static_cast<size_t>(data.items.size())
                                                 ? data.items.Token(static_cast<Index>(i))
                                                 : std::to_string(i)) +
                " field '" + f.name + "'";
    }
  for (auto& r : data.reviews) {
    if (IsValidUtf8(r.text)) continue;
    r.text = RepairUtf8AsLatin1(r.text);
    if (repaired++ == 0) {
      first = "a review of item ";
      first += r.item >= 0 && r.item < data.items.size() ? RepairUtf8AsLatin1(data.items.Token(r.item))
                                                         : std::string("?");
    }
  }
  if (repaired > 0)
    data.report.notes.push_back(std::to_string(repaired) +
                                " text value(s) were not valid UTF-8; their invalid bytes were "
                                "read as Latin-1 (first: " + first + ")");
  return repaired;
}

bool IsGzName(std::string_view name) {
  return name.size() > 3 && name.substr(name.size() - 3) == ".gz";
}

std::string StripGz(const std::string& name) {
  return IsGzName(name) ? name.substr(0, name.size() - 3) : name;
}

std::string FindPlainOrGz(const std::string& path) {
  if (IsRegularFile(path)) return path;
  if (IsRegularFile(path + ".gz")) return path + ".gz";
  return "";
}

std::string Gunzip(std::string_view bytes, const std::string& path) {
  std::string out;
  z_stream zs{};
  // 16 + MAX_WBITS: gzip wrapper only (a zlib or raw deflate stream is not a .gz file).
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
    throw framework::IoError(path + ": cannot initialise zlib");
  struct Guard {
    z_stream* z;
    ~Guard() { inflateEnd(z); }
  } guard{&zs};
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  // zlib counts in uInt: feed inputs above 4 GiB in pieces.
  size_t fed = 0;
  auto feed = [&] {
    const size_t n = std::min<size_t>(bytes.size() - fed, 1u << 30);
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data() + fed));
    zs.avail_in = static_cast<uInt>(n);
    fed += n;
  };
  feed();
  out.resize(std::max<size_t>(bytes.size() * 4, 1 << 16));
  size_t produced = 0;
  for (;;) {
    if (produced == out.size()) out.resize(out.size() * 2);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs.avail_out = static_cast<uInt>(std::min<size_t>(out.size() - produced, 1u << 30));
    const uInt before = zs.avail_out;
    const int rc = inflate(&zs, Z_NO_FLUSH);
    produced += before - zs.avail_out;
    if (zs.avail_in == 0 && fed < bytes.size()) feed();
    if (rc == Z_STREAM_END) {
      const bool more = zs.avail_in > 0 || fed < bytes.size();
      if (!more) break;
      // Another gzip member follows (as `cat a.gz b.gz` or bgzip write): continue with it.
      if (inflateReset(&zs) != Z_OK) throw framework::IoError(path + ": cannot reset zlib");
      continue;
    }
    if (rc == Z_BUF_ERROR && zs.avail_in == 0 && fed >= bytes.size())
      throw framework::DataError(path, 0,
                                 "truncated gzip data (the file ends inside the compressed "
                                 "stream; was the download interrupted?)");
    if (rc != Z_OK && rc != Z_BUF_ERROR)
      throw framework::DataError(path, 0,
                                 std::string("corrupt gzip data (zlib: ") +
                                     (zs.msg ? zs.msg : "error " + std::to_string(rc)) + ")");
  }
  out.resize(produced);
  return out;
}

std::string ReadFirstLine(const std::string& path) {
  // zlib's gz* reader passes non-gzip files through unchanged, so one code path serves both.
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw framework::IoError(path + ": cannot open");
  std::string line;
  char buf[4096];
  constexpr size_t kMax = 1 << 16;
  while (line.size() < kMax && gzgets(f, buf, sizeof buf)) {
    line += buf;
    if (!line.empty() && line.back() == '\n') break;
  }
  int err = Z_OK;
  const char* msg = gzerror(f, &err);
  const std::string reason = msg ? msg : "";
  gzclose(f);
  // Same messages as ReadInputFile: a damaged download must not pass for an odd header.
  if (err == Z_BUF_ERROR)
    throw framework::DataError(path, 0,
                               "truncated gzip data (the file ends inside the compressed stream; was the "
                               "download interrupted?)");
  if (err != Z_OK) throw framework::DataError(path, 0, "corrupt gzip data (zlib: " + reason + ")");
  if (!line.empty() && line.back() == '\n') line.pop_back();
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return std::string(StripBom(line));
}

std::string ReadInputFile(const std::string& path) {
  std::string bytes = framework::ReadFile(path);
  if (bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
      static_cast<unsigned char>(bytes[1]) == 0x8b)
    return Gunzip(bytes, path);
  if (IsGzName(path))
    throw framework::DataError(path, 0, "named .gz but is not gzip data (no gzip magic bytes)");
  return bytes;
}

std::string_view StripBom(std::string_view text) {
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  return text;
}

size_t CountLines(std::string_view text) {
  size_t n = 0;
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    const void* nl = std::memchr(p, '\n', static_cast<size_t>(end - p));
    if (!nl) {
      ++n;
      break;
    }
    ++n;
    p = static_cast<const char*>(nl) + 1;
  }
  return n;
}

std::string BaseName(const std::string& path) {
  fs::path p = fs::path(path).lexically_normal();
  std::string name = p.filename().string();
  if (name.empty()) name = p.parent_path().filename().string();  // trailing slash
  if (name.empty() || name == ".") name = fs::absolute(p).lexically_normal().filename().string();
  return name;
}

std::string AbsolutePath(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::absolute(path, ec);
  if (ec) return path;
  return p.lexically_normal().string();
}

bool IsDirectory(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec);
}

bool IsRegularFile(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

std::vector<std::string> ListFiles(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code ec2;
    if (it->is_regular_file(ec2)) out.push_back(it->path().filename().string());
  }
  if (ec) throw framework::IoError(dir + ": cannot list directory: " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

float ParseRating(std::string_view s, const std::string& file, int64_t line) {
  double v;
  if (!framework::ParseDouble(s, &v))
    throw DataError(file, line, "rating " + Quote(s) + " is not a number");
  if (!std::isfinite(v)) throw DataError(file, line, "rating " + Quote(s) + " is not finite");
  if (std::abs(v) > std::numeric_limits<float>::max())
    throw DataError(file, line, "rating " + Quote(s) + " is out of range");
  return static_cast<float>(v);
}

double ParseTimestamp(std::string_view s, const std::string& file, int64_t line) {
  double v;
  if (!framework::ParseDouble(s, &v))
    throw DataError(file, line, "timestamp " + Quote(s) + " is not a number");
  if (!std::isfinite(v)) throw DataError(file, line, "timestamp " + Quote(s) + " is not finite");
  if (v < 0) throw DataError(file, line, "timestamp " + Quote(s) + " is negative");
  return v;
}

float ParseOptionalFloat(std::string_view s, const std::string& file, int64_t line,
                         std::string_view field) {
  if (s.empty()) return std::numeric_limits<float>::quiet_NaN();
  double v;
  if (!framework::ParseDouble(s, &v))
    throw DataError(file, line,
                    "field '" + std::string(field) + "': " + Quote(s) + " is not a number");
  // "nan" reads as missing, like an empty value; an infinite (or float-overflowing) value
  // has no meaning as a feature and would poison every model that normalises it.
  if (std::isinf(v) || std::abs(v) > std::numeric_limits<float>::max())
    throw DataError(file, line,
                    "field '" + std::string(field) + "': " + Quote(s) + " is not finite");
  return static_cast<float>(v);
}

void RequireToken(std::string_view token, const std::string& file, int64_t line,
                  std::string_view field) {
  if (token.empty()) throw DataError(file, line, "empty " + std::string(field));
}

void AddTokenSeq(std::string_view s, char sep, IdMap& map, std::vector<Index>& out) {
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t end = s.find(sep, pos);
    if (end == std::string_view::npos) end = s.size();
    std::string_view tok = s.substr(pos, end - pos);
    if (!tok.empty()) {
      const Index id = map.GetOrAdd(tok);
      if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
    }
    pos = end + 1;
  }
}

void CheckFormatKeys(const framework::Config& options, const std::string& prefix,
                     const std::vector<std::string>& known) {
  for (const auto& [key, value] : options.values()) {
    if (key.rfind(prefix, 0) != 0) continue;
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string list;
    for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
    throw framework::ConfigError("unknown key '" + key + "' (from " + options.Origin(key) +
                                 "); known " + prefix + "* keys: " + list);
  }
}

namespace {
constexpr std::array<std::string_view, 4> kImageExts = {".jpg", ".jpeg", ".png", ".webp"};

int ImageExtRank(std::string ext) {
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (size_t k = 0; k < kImageExts.size(); ++k)
    if (ext == kImageExts[k]) return static_cast<int>(k);
  return -1;
}
}  // namespace

ImageDirIndex::ImageDirIndex(const std::string& dir) : dir_(AbsolutePath(dir)) {
  std::unordered_map<std::string, int> rank;
  for (const auto& name : ListFiles(dir)) {
    const fs::path p(name);
    const int r = ImageExtRank(p.extension().string());
    if (r < 0) continue;
    const std::string stem = p.stem().string();
    auto it = rank.find(stem);
    if (it != rank.end() && it->second <= r) continue;
    rank[stem] = r;
    by_stem_[stem] = name;
  }
}

std::string ImageDirIndex::Find(std::string_view stem) const {
  auto it = by_stem_.find(std::string(stem));
  if (it == by_stem_.end()) return "";
  return (fs::path(dir_) / it->second).string();
}

void AttachImageFolder(Dataset& data, const std::string& images_dir) {
  const ImageDirIndex index(images_dir);
  data.item_image.resize(static_cast<size_t>(data.num_items()));
  data.report.image_source = AbsolutePath(images_dir);
  for (Index i = 0; i < data.num_items(); ++i) {
    data.item_image[i] = index.Find(data.items.Token(i));
    if (data.item_image[i].empty()) {
      ++data.report.missing_images;
      data.report.missing_image_items.push_back(data.items.Token(i));
    }
  }
}

}  // namespace recfuse::datasets::internal
