// `recfuse data generate`: writes the seeded synthetic multimodal world (datasets/synthetic.h).
#include <boost/program_options.hpp>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "datasets/synthetic.h"
#include "framework/config.h"
#include "framework/error.h"

namespace recfuse::apps {

namespace {

std::string FormatBound(double v) {
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  std::ostringstream os;
  os << v;
  return os.str();
}

// The parameter table of --help, generated from the spec list so it cannot drift.
std::string ParameterHelp() {
  std::string out = "synthetic parameters (--set key=value):\n";
  for (const auto& spec : datasets::SyntheticParamSpecs()) {
    out += "  " + spec.name + " (" + framework::ParamTypeName(spec.type) + ", default " +
           spec.default_value;
    if (spec.type == framework::ParamType::kInt || spec.type == framework::ParamType::kFloat)
      out += ", in [" + FormatBound(spec.min) + ", " + FormatBound(spec.max) + "]";
    out += ")\n      " + spec.description + "\n";
  }
  return out;
}

}  // namespace

int CmdDataGenerate(const std::vector<std::string>& args) {
  namespace po = boost::program_options;
  std::string out;
  int64_t seed = 0;
  std::vector<std::string> sets;
  po::options_description desc("options");
  desc.add_options()("help,h", "print this help and every synthetic parameter")(
      "out", po::value<std::string>(&out),
      "output folder (created; same-named files are replaced)")(
      "seed", po::value<int64_t>(&seed),
      "random seed, default 0 (same seed and parameters give byte-identical files)")(
      "set", po::value<std::vector<std::string>>(&sets)->composing(),
      "key=value: one synthetic parameter (repeatable)");
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).run(), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::ostringstream os;
    os << "usage: recfuse data generate --out DIR [--seed N] [--set key=value ...]\n\n"
       << "Writes the seeded synthetic multimodal world (RecBole atomic files, images, truth).\n\n"
       << desc << "\n"
       << ParameterHelp();
    std::fputs(os.str().c_str(), stdout);
    return 0;
  }
  if (out.empty()) throw framework::ConfigError("data generate: --out DIR is required");

  framework::Config config;
  for (const auto& s : sets) config.SetFromAssignment(s, "--set");
  if (vm.count("seed")) {
    if (config.Has("seed"))
      throw framework::ConfigError("data generate: seed given both as --seed and --set seed=...");
    config.Set("seed", std::to_string(seed), "--seed");
  }
  const datasets::SyntheticOptions options = datasets::SyntheticOptionsFromConfig(config);
  const datasets::SyntheticSummary s = datasets::GenerateSynthetic(out, options);
  std::printf(
      "wrote %s: %lld users, %lld items, %lld interactions, %lld reviews, %lld kg triples, "
      "%lld images in %.2f s\n",
      out.c_str(), static_cast<long long>(s.users), static_cast<long long>(s.items),
      static_cast<long long>(s.interactions), static_cast<long long>(s.reviews),
      static_cast<long long>(s.kg_triples), static_cast<long long>(s.images), s.seconds);
  return 0;
}

}  // namespace recfuse::apps
