// Split specs ("ratio:0.8,0.1,0.1", "loo", "cold-item:0.1"...): the first line of the input
// is parsed by SplitSpec::Parse; a parsed spec must round-trip through its canonical form
// (the split cache keys on it) and is then applied to a small dataset read from the rest of
// the input as an atomic x.inter, with the seed taken from the input's length.
#include <cstdio>
#include <cstdlib>

#include "datasets/load.h"
#include "datasets/split.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace recfuse;
  const std::string text(reinterpret_cast<const char*>(data), size);
  const size_t nl = text.find('\n');
  const std::string spec_text = text.substr(0, nl);
  const std::string inter = nl == std::string::npos ? "" : text.substr(nl + 1);
  fuzz::ExpectOnlyRecfuseErrors([&] {
    const datasets::SplitSpec spec = datasets::SplitSpec::Parse(spec_text);
    const std::string canonical = spec.ToString();
    const std::string again = datasets::SplitSpec::Parse(canonical).ToString();
    if (again != canonical) {
      std::fprintf(stderr, "fuzz finding: split spec '%s' -> '%s' -> '%s'\n", spec_text.c_str(),
                   canonical.c_str(), again.c_str());
      std::abort();
    }
    if (inter.empty() || spec.kind == datasets::SplitSpec::Kind::kFixed) return;
    const std::string dir = fuzz::FreshScratchDir();
    fuzz::WriteFiles(dir, {{"x.inter", inter}});
    datasets::LoadOptions options;
    options.format = "atomic";
    options.name = "x";
    const datasets::Dataset d = datasets::LoadDataset(dir, options);
    const datasets::Split s = datasets::MakeSplit(d, spec, size);
    const size_t total = s.train.size() + s.valid.size() + s.test.size();
    if (total > d.interactions.size()) {
      std::fprintf(stderr, "fuzz finding: split has %zu rows for %zu interactions\n", total,
                   d.interactions.size());
      std::abort();
    }
    (void)datasets::SubsampleTrain(d, s.train, 0.5, size);
  });
  return 0;
}
