// Parsing helpers shared by the dataset loaders (atomic, MovieLens, Amazon, CSV).
//
// Loaders read whole files into memory and parse them through string_views, so these helpers
// take views and never allocate per field. Every failure is reported as
// framework::DataError(file, line, reason); callers pass the file name and 1-based line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "datasets/dataset.h"
#include "framework/config.h"

namespace recfuse::datasets::internal {

// Drops a UTF-8 byte-order mark: spreadsheet exports often start with one, and it would
// otherwise become part of the first header name.
std::string_view StripBom(std::string_view text);

// The content of an input file, gunzipped when it starts with the gzip magic bytes (the
// name does not matter: Amazon's downloads are `.json.gz`, and a renamed file must still be
// read correctly). Concatenated gzip members are read as one stream, as gzip -d does.
// Throws IoError when the file cannot be read, DataError(path, 0, ...) for corrupt or
// truncated gzip data.
std::string ReadInputFile(const std::string& path);
// Gunzips `bytes` (one or more gzip members); `path` only names the input in errors.
std::string Gunzip(std::string_view bytes, const std::string& path);
// True when `name` ends in ".gz".
bool IsGzName(std::string_view name);
// `name` without a trailing ".gz" (downloads keep their inner extension before it).
std::string StripGz(const std::string& name);
// The first line of a file, plain or gzipped, without reading the rest (format detection
// and header checks on files that may be gigabytes): at most 64 KiB, "\r\n" and a UTF-8 BOM
// stripped. Throws IoError if the file cannot be opened.
std::string ReadFirstLine(const std::string& path);
// `path` if it is a regular file, else `path` + ".gz" if that is one, else "".
std::string FindPlainOrGz(const std::string& path);

// True when `path` is an MMRec .inter file (tab-separated header naming userID, itemID and
// x_label, without RecBole's name:type fields).
bool IsMmrecInterFile(const std::string& path);

// Number of lines in `text` (a last line without terminator counts), used to reserve columns.
size_t CountLines(std::string_view text);

// The file name of `path` for use in names and messages ("ml-100k" for "/a/ml-100k/").
std::string BaseName(const std::string& path);
// Absolute, lexically normalised form of `path`.
std::string AbsolutePath(const std::string& path);
bool IsDirectory(const std::string& path);
bool IsRegularFile(const std::string& path);
// Regular files directly inside `dir` (names only, sorted so detection is deterministic).
std::vector<std::string> ListFiles(const std::string& dir);

// Rating parsing: must be a finite number. Throws DataError(file, line, ...) naming `what`.
float ParseRating(std::string_view s, const std::string& file, int64_t line);
// Timestamp parsing: must be a finite, non-negative number.
double ParseTimestamp(std::string_view s, const std::string& file, int64_t line);
// A float side-information value: empty means missing (NaN); anything else must parse.
float ParseOptionalFloat(std::string_view s, const std::string& file, int64_t line,
                         std::string_view field);
// Throws DataError when a user/item/entity token is empty (an empty token would silently
// merge unrelated records into one id).
void RequireToken(std::string_view token, const std::string& file, int64_t line,
                  std::string_view field);

// Splits `s` on spaces into non-empty tokens and adds each to `map`, appending ids to `out`
// (RecBole's token_seq encoding). Duplicate values within one row are kept once.
void AddTokenSeq(std::string_view s, char sep, IdMap& map, std::vector<Index>& out);

// Throws ConfigError for a key of `options` that starts with `prefix` but is not in
// `known`: a misspelt column mapping must not silently fall back to a default.
void CheckFormatKeys(const framework::Config& options, const std::string& prefix,
                     const std::vector<std::string>& known);

// True when `s` is well-formed UTF-8 (no overlong forms, surrogates or code points above
// U+10FFFF).
bool IsValidUtf8(std::string_view s);
// `s` with every byte that is not part of a well-formed UTF-8 sequence read as Latin-1 (so
// 0xE9 becomes U+00E9 'é'): old MovieLens/CSV exports are Latin-1, and decoding their bytes
// that way keeps the text readable where replacing or dropping them would not.
std::string RepairUtf8AsLatin1(std::string_view s);
// Applies RepairUtf8AsLatin1 to every item text value and review of `data` that is not valid
// UTF-8 (tokenizers and JSON output need UTF-8) and, if any was repaired, appends a note to
// data.report naming how many and the first one. Returns the number of repaired values.
int64_t RepairTextEncoding(Dataset& data);

// Image files of a folder indexed by stem, so that looking up thousands of items costs one
// directory scan instead of several stat() calls each. Only .jpg/.jpeg/.png/.webp files
// (any case) count; when one stem has several, the first in that order wins.
class ImageDirIndex {
 public:
  explicit ImageDirIndex(const std::string& dir);
  // Absolute path of the image named `stem`, or "" if none.
  std::string Find(std::string_view stem) const;
  size_t size() const { return by_stem_.size(); }

 private:
  std::string dir_;
  std::unordered_map<std::string, std::string> by_stem_;  // stem -> file name
};

// Fills data.item_image from `images_dir` for every current item and counts the items
// without an image in report.missing_images. Requires Finalize()d per-item vectors.
void AttachImageFolder(Dataset& data, const std::string& images_dir);

}  // namespace recfuse::datasets::internal
