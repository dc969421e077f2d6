#include <algorithm>

#include "framework/error.h"
#include "models/recommender.h"

namespace recfuse::models {

// Built-ins, registered in one explicit list (name, family, description, params, factory).
// Adding a model = its file + one entry here + its contract-test entry.
const std::vector<ModelEntry>& ModelRegistry() {
  static const std::vector<ModelEntry> kModels = [] {
    std::vector<ModelEntry> v;
    return v;
  }();
  return kModels;
}

const ModelEntry& FindModel(const std::string& name) {
  for (const auto& m : ModelRegistry())
    if (m.name == name) return m;
  std::string known;
  for (const auto& m : ModelRegistry()) known += (known.empty() ? "" : ", ") + m.name;
  throw framework::UnknownIdError("unknown model '" + name + "'; known models: " + known);
}

std::unique_ptr<Recommender> CreateModel(const std::string& name, const framework::Config& config) {
  const ModelEntry& entry = FindModel(name);
  config.Validate(entry.params, "model " + name);
  return entry.create(config);
}

}  // namespace recfuse::models
