// Amazon JSON lines (2014 and 2018 layouts): reviews.json and meta.json in one folder,
// plus loader options (filters).
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace recfuse::fuzz;
  auto files = UnpackFiles(data, size, "reviews.json", [](const std::string& n) {
    return n == "options" || n == "reviews.json" || n == "meta.json";
  });
  std::vector<std::string> options;
  files = TakeLoaderOptions(std::move(files), &options);
  const std::string dir = FreshScratchDir();
  WriteFiles(dir, files);
  ExpectOnlyRecfuseErrors([&] { LoadAndInspect(dir, options, "amazon"); });
  return 0;
}
