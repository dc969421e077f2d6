// Pretrained item features as researchers download or extract them, parsed into plain
// arrays: NumPy .npy (MMRec's image_feat.npy / text_feat.npy, one Ducho <item>.npy per
// item), RecBole's pretrained-embedding atomic files (item id + a float_seq column) and CSV /
// TSV tables (item id, f1 .. fd). Torch-free on purpose, so the parsers are fuzzed and
// sanitizer-tested with the other loaders; encoders/feature_import.h maps them onto a dataset.
//
// Every parser stops at the first problem with DataError naming the file and the line
// (text formats) or row (npy, 0-based as numpy counts) and the cause: wrong magic, dtype or
// shape, truncated data, ragged rows, duplicate ids, NaN or infinite values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace recfuse::datasets {

struct NpyArray {
  std::vector<int64_t> shape;
  std::string dtype;          // numpy descr as in the file: "<f4" or "<f8"
  bool fortran_order = false;
  std::vector<float> values;  // C (row-major) order, whatever the file's order
};

// Parses the bytes of a .npy file (format versions 1.0, 2.0 and 3.0, little-endian float32
// or float64, C or Fortran order). Rejects any non-finite value. `path` names the input in
// errors only.
NpyArray ParseNpy(std::string_view bytes, const std::string& path);
// Reads and parses a .npy file (gunzipped first if it is gzip data).
NpyArray ReadNpy(const std::string& path);

// Rows of features named by item token, in file order.
struct FeatureTable {
  std::vector<std::string> tokens;  // per row
  std::vector<int64_t> lines;       // 1-based source line per row, for messages
  int64_t dim = 0;
  std::vector<float> values;        // tokens.size() x dim, row-major
  std::string id_field;             // the column the ids came from
  std::string value_field;          // atomic: the float_seq column; csv: "f1..fd"
};

// CSV or TSV `item_id, f1, ..., fd`: the separator is a tab if the first line has one, else
// a comma; the first line is a header when any of its value fields is not a number. Every
// row needs 1 + d fields (d from the first data row), a non-empty id seen once, finite
// numbers.
FeatureTable ParseFeatureCsv(std::string_view text, const std::string& path);
// A RecBole atomic file with a `:token` id field (item_id if there are several) and a
// `:float_seq` field (space-separated values; `field` picks one by name when the file has
// several). Same row rules as the CSV.
FeatureTable ParseFeatureAtomic(std::string_view text, const std::string& path,
                                const std::string& field = "");

// MMRec's i_id_mapping.csv (tab-separated, header `asin<TAB>itemID`: the original item token
// and the dense id that is its row in image_feat.npy / text_feat.npy). Returns the original
// token of each row 0..rows-1; every row must be named exactly once and no itemID may be
// >= rows.
std::vector<std::string> ParseIdMapping(std::string_view text, const std::string& path, int64_t rows);

// Lower-case hex SHA-256 of a file's bytes (as stored, compressed or not), for provenance.
std::string Sha256File(const std::string& path);

}  // namespace recfuse::datasets
