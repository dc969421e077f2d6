// The cold-start check shared by the MMRec-family tests (LATTICE, BM3, MGCN, LGMRec): each
// gives cold items (no training interaction) vectors through their content neighbours, so
// those vectors must differ across cold items and change when the text modality is switched
// off (it changes the neighbourhoods). A predictor bias alone would make them all alike.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/neural/neural_test_util.h"

namespace recfuse::testing_neural {

struct ColdVectorCheck {
  std::unique_ptr<Fitted> both;   // trained with every modality
  std::vector<datasets::Index> cold;
};

// `with_all` and `without_text` are the same configuration but for use_text=false.
inline ColdVectorCheck ExpectColdItemVectorsDependOnContent(const std::string& model, const framework::Config& with_all,
                                                            const framework::Config& without_text) {
  const std::string split = "cold-item:0.2";
  ColdVectorCheck out;
  out.both = FitOn(model, with_all, split);
  const auto image = FitOn(model, without_text, split);
  const auto& a = *out.both->model->GetFactors().item;
  const auto& b = *image->model->GetFactors().item;
  std::vector<bool> warm(static_cast<size_t>(a.rows()), false);
  for (int64_t k = 0; k < out.both->td.matrix.nonZeros(); ++k)
    warm[static_cast<size_t>(out.both->td.matrix.innerIndexPtr()[k])] = true;
  for (datasets::Index i = 0; i < a.rows(); ++i)
    if (!warm[static_cast<size_t>(i)]) out.cold.push_back(i);
  EXPECT_GT(out.cold.size(), 10u) << model;
  if (out.cold.empty()) return out;
  double spread = 0, change = 0;
  for (datasets::Index i : out.cold) {
    spread += (a.row(i) - a.row(out.cold[0])).norm();
    change += (a.row(i) - b.row(i)).norm();
  }
  EXPECT_GT(spread / static_cast<double>(out.cold.size()), 1e-2) << model << ": cold items all alike";
  EXPECT_GT(change / static_cast<double>(out.cold.size()), 1e-2) << model << ": cold vectors do not depend on the text";
  return out;
}

}  // namespace recfuse::testing_neural
