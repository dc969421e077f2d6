// Bring-your-own item features: the spec "features:FORMAT:PATH", usable wherever an encoder
// spec is (image_features, text_features, kg_features, `recfuse encode --encoder`).
//
//   features:npy:PATH      a 2-D .npy (items x dim, float32/float64). Row r is item r of the
//                          dataset's item order, or, when MMRec's i_id_mapping.csv sits beside
//                          the file, the item that mapping names for itemID r (matched on the
//                          original token or on the itemID, whichever the dataset uses).
//   features:ducho:DIR     one <item_id>.npy per item (shape (d,) or (1, d)), as Ducho writes.
//   features:atomic:PATH[#FIELD]   RecBole pretrained-embedding atomic file: an item_id:token
//                          field and a float_seq field (FIELD picks one of several).
//   features:csv:PATH      CSV or TSV `item_id, f1, ..., fd`, optional header.
//   features:h5:PATH       recfuse's own HDF5 layout (`recfuse encode --out`, WriteFeaturesH5),
//                          rows by item token; the file's provenance is kept as source_*.
//
// Any of the files may be gzipped. A relative PATH that does not exist from the working
// directory is looked up in the dataset's folder, so `features:npy:image_feat.npy` names an
// MMRec dataset's own features in an experiment covering several datasets.
// Items without a row are absent (mask 0, counted in provenance and `fallbacks`), never an
// error; a row naming an item the dataset does not have, a row count that does not match,
// ragged rows, NaN/inf values or an unsupported dtype/shape are DataErrors naming the file
// and line or row. Imported features are read on every use, not cached (reading them is as
// cheap as reading the cache; their sha256 is recorded instead).
#pragma once

#include <string>

#include "encoders/features.h"

namespace recfuse::encoders {

// True when `spec` starts with "features:".
bool IsImportSpec(const std::string& spec);

// Reads the features named by `spec` and maps them onto `data`'s item ids. Throws
// ConfigError for a malformed spec, IoError for a missing file, DataError for bad content.
ItemFeatures ImportFeatures(const datasets::Dataset& data, const std::string& spec);

// SHA-256 (hex) of a file, memoised per (path, size, modification time) so a sweep that reads
// the same 100 MB feature file in every cell hashes it once.
std::string FileSha256(const std::string& path);

}  // namespace recfuse::encoders
