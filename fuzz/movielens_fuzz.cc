// MovieLens raw folders: 100K (u.data, u.item, u.user, u.genre) and 1M (ratings.dat,
// movies.dat, users.dat), plus loader options (filters).
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace recfuse::fuzz;
  auto files = UnpackFiles(data, size, "u.data", [](const std::string& n) {
    return n == "options" || n == "u.data" || n == "u.item" || n == "u.user" ||
           n == "u.genre" || n == "ratings.dat" || n == "movies.dat" || n == "users.dat";
  });
  std::vector<std::string> options;
  files = TakeLoaderOptions(std::move(files), &options);
  const std::string dir = FreshScratchDir();
  WriteFiles(dir, files);
  ExpectOnlyRecfuseErrors([&] { LoadAndInspect(dir, options, "movielens"); });
  return 0;
}
