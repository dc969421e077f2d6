// MMRec's layout: x.inter (userID itemID rating timestamp x_label) with the features beside
// it, plus loader options (filters), loaded as LoadDataset(format mmrec) and inspected.
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace recfuse::fuzz;
  auto files = UnpackFiles(data, size, "x.inter", [](const std::string& n) {
    return n == "options" || n == "x.inter" || n == "image_feat.npy" || n == "text_feat.npy";
  });
  std::vector<std::string> options;
  files = TakeLoaderOptions(std::move(files), &options);
  const std::string dir = FreshScratchDir();
  WriteFiles(dir, files);
  ExpectOnlyRecfuseErrors([&] { LoadAndInspect(dir, options, "mmrec"); });
  return 0;
}
