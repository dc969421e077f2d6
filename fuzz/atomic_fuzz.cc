// RecBole atomic files: x.inter (or x.train/.valid/.test.inter) with x.item, x.user, x.kg,
// x.link, x.image and any x.<ext> text/review file, plus loader options (filters).
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace recfuse::fuzz;
  auto files = UnpackFiles(data, size, "x.inter", [](const std::string& n) {
    return n == "options" || (n.rfind("x.", 0) == 0 && n.size() > 2);
  });
  std::vector<std::string> options;
  files = TakeLoaderOptions(std::move(files), &options);
  const std::string dir = FreshScratchDir();
  WriteFiles(dir, files);
  ExpectOnlyRecfuseErrors([&] { LoadAndInspect(dir, options, "atomic", "x"); });
  return 0;
}
