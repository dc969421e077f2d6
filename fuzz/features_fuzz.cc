// Imported item features (datasets/feature_files.h): every input goes through each parser,
// the .npy reader (binary framing + xtensor's header parser), the CSV/TSV and RecBole
// float_seq tables, MMRec's i_id_mapping.csv, and gunzip, whose output is read as a .npy
// again (features are often shipped as .npy.gz).
#include <string>
#include <string_view>

#include "datasets/feature_files.h"
#include "datasets/parse_util.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace recfuse;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  fuzz::ExpectOnlyRecfuseErrors([&] {
    const auto a = datasets::ParseNpy(bytes, "x.npy");
    // A reader that accepted the file must have produced exactly shape-many values.
    size_t n = 1;
    for (int64_t d : a.shape) n *= static_cast<size_t>(d);
    if (n != a.values.size()) __builtin_trap();
  });
  fuzz::ExpectOnlyRecfuseErrors([&] { datasets::ParseFeatureCsv(bytes, "x.csv"); });
  fuzz::ExpectOnlyRecfuseErrors([&] { datasets::ParseFeatureAtomic(bytes, "x.itememb"); });
  fuzz::ExpectOnlyRecfuseErrors([&] { datasets::ParseIdMapping(bytes, "i_id_mapping.csv", 3); });
  fuzz::ExpectOnlyRecfuseErrors([&] {
    if (size < 2 || data[0] != 0x1f || data[1] != 0x8b) return;
    const std::string inner = datasets::internal::Gunzip(bytes, "x.npy.gz");
    datasets::ParseNpy(inner, "x.npy.gz");
  });
  return 0;
}
