// Registry entries of the neural models (torch builds only). Torch-free on purpose: the
// registry includes this header, and nothing outside models/neural/ needs torch to list,
// validate or create a neural model.
#pragma once

#include "models/recommender.h"

namespace recfuse::models::neural {

ModelEntry NeuMfEntry();      // neumf.cc
ModelEntry VbprEntry();       // vbpr.cc
ModelEntry DeepConnEntry();   // deepconn.cc
ModelEntry CkeEntry();        // cke.cc
ModelEntry DknEntry();        // dkn.cc
ModelEntry Gru4RecEntry();    // sequential.cc
ModelEntry SasRecEntry();     // sequential.cc
ModelEntry MmFusionEntry();   // mmfusion.cc

}  // namespace recfuse::models::neural
