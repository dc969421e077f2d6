// CSV with a column mapping: ratings.csv (RFC 4180 quoting) and the csv.* mapping, separator
// and header flag as loader options (`@@ options` lines such as csv.user=userId).
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace recfuse::fuzz;
  auto files = UnpackFiles(data, size, "ratings.csv", [](const std::string& n) {
    return n == "options" || n == "ratings.csv";
  });
  std::vector<std::string> options;
  files = TakeLoaderOptions(std::move(files), &options);
  const std::string dir = FreshScratchDir();
  WriteFiles(dir, files);
  ExpectOnlyRecfuseErrors([&] { LoadAndInspect(dir + "/ratings.csv", options, "csv"); });
  return 0;
}
