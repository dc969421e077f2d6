// Experiment files: the INI syntax of framework::Config::LoadFile, then the validation of
// experiments::LoadExperiment and the grid expansion. Nothing is run or loaded: dataset
// paths are only resolved.
#include "experiments/experiment.h"
#include "framework/config.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace recfuse;
  const std::string dir = fuzz::FreshScratchDir();
  fuzz::WriteFiles(dir, {{"exp.conf", std::string(reinterpret_cast<const char*>(data), size)}});
  const std::string path = dir + "/exp.conf";
  fuzz::ExpectOnlyRecfuseErrors([&] {
    framework::Config raw;
    raw.LoadFile(path);
    (void)raw.Canonical();
    (void)raw.ToJson().dump();
  });
  fuzz::ExpectOnlyRecfuseErrors([&] {
    const experiments::Experiment exp = experiments::LoadExperiment(path);
    (void)experiments::ExpandGrid(exp);
  });
  return 0;
}
