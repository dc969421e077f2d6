#include <algorithm>

#include "framework/error.h"
#include "models/classic.h"
#include "models/recommender.h"
#ifdef RECFUSE_WITH_TORCH
#include "models/neural/neural_models.h"
#endif

namespace recfuse::models {

// Built-ins, registered in one explicit list (name, family, description, params, factory).
// Adding a model = its file + one entry here + its contract-test entry.
const std::vector<ModelEntry>& ModelRegistry() {
  static const std::vector<ModelEntry> kModels = [] {
    std::vector<ModelEntry> v;
    v.push_back(
        {"pop", "classic", "item popularity (training interaction count)", PopParams(), MakePop});
    v.push_back({"itemknn", "classic",
                 "item-item cosine neighbourhood with shrinkage (Sarwar et al. 2001)",
                 ItemKnnParams(), MakeItemKnn});
    v.push_back({"userknn", "classic", "user-user cosine neighbourhood with shrinkage",
                 UserKnnParams(), MakeUserKnn});
    v.push_back({"ease", "classic", "closed-form shallow autoencoder (Steck 2019)", EaseParams(),
                 MakeEase});
    v.push_back({"ials", "classic", "implicit ALS with conjugate gradient (Hu et al. 2008)",
                 IalsParams(), MakeIals});
    v.push_back(
        {"bpr", "classic", "BPR-MF by lock-free SGD (Rendle et al. 2009)", BprParams(), MakeBpr});
    v.push_back({"biasedmf", "classic", "biased matrix factorisation for ratings (Koren 2009)",
                 BiasedMfParams(), MakeBiasedMf});
    v.push_back({"rp3beta", "classic",
                 "random-walk item-item similarity with popularity penalty (Paudel et al. 2017)",
                 Rp3BetaParams(), MakeRp3Beta});
    v.push_back({"slim", "classic", "ElasticNet item-item weights by coordinate descent (Ning & Karypis 2011)",
                 SlimParams(), MakeSlim});
    v.push_back({"admmslim", "classic", "SLIM solved by ADMM (Steck et al. 2020)", AdmmSlimParams(),
                 MakeAdmmSlim});
    v.push_back({"random", "reference", "uniformly random scores seeded by the run seed (the floor)",
                 RandomParams(), MakeRandom});
    v.push_back({"oracle", "reference",
                 "the synthetic world's ground-truth score <u_u, v_i> + b_i from its truth files (the ceiling)",
                 OracleParams(), MakeOracle});
#ifdef RECFUSE_WITH_TORCH
    for (auto entry : {neural::NeuMfEntry, neural::VbprEntry, neural::DeepConnEntry, neural::CkeEntry,
                       neural::DknEntry, neural::Gru4RecEntry, neural::SasRecEntry, neural::MmFusionEntry})
      v.push_back(entry());
    v.push_back(neural::LightGcnEntry());  // the ID graph baseline (general/)
    v.push_back(neural::ItemKnnCbfEntry());  // the content-only cold-start baseline (multimodal/)
    v.push_back(neural::FreedomEntry());     // Zhou & Shen, MM 2023 (multimodal/)
    for (auto entry : {neural::LatticeEntry, neural::Bm3Entry, neural::MgcnEntry,
                        neural::LgmRecEntry}) v.push_back(entry());  // the MMRec family (multimodal/)
    for (auto entry : {neural::MultiVaeEntry, neural::MultiDaeEntry})  // Liang et al. 2018 (general/)
      v.push_back(entry());
    v.push_back(neural::Bert4RecEntry());  // Sun et al. 2019 (sequential/)
    v.push_back(neural::KgatEntry());      // Wang et al. 2019 (knowledge/)
#endif
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
