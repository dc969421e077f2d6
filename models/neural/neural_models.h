// Registry entries of the neural models (torch builds only). Torch-free on purpose: the
// registry includes this header, and nothing outside the torch model folders needs torch to
// list, validate or create a neural model.
//
// Family folders, as RecBole's: models/general/ (ID-only neural and graph CF),
// models/multimodal/ (content models over frozen features), models/knowledge/ (KG-aware),
// models/sequential/ (next-item models); models/graph/ holds the graph utilities they share
// and models/neural/ the training loop. The classic Eigen-only models stay in models/.
#pragma once

#include "models/recommender.h"

namespace recfuse::models::neural {

ModelEntry NeuMfEntry();      // general/neumf.cc
ModelEntry VbprEntry();       // multimodal/vbpr.cc
ModelEntry DeepConnEntry();   // multimodal/deepconn.cc
ModelEntry CkeEntry();        // knowledge/cke.cc
ModelEntry DknEntry();        // knowledge/dkn.cc
ModelEntry Gru4RecEntry();    // sequential/sequential.cc
ModelEntry SasRecEntry();     // sequential/sequential.cc
ModelEntry MmFusionEntry();   // multimodal/mmfusion.cc
ModelEntry LightGcnEntry();   // general/lightgcn.cc
ModelEntry ItemKnnCbfEntry(); // multimodal/itemknn_cbf.cc
ModelEntry FreedomEntry();    // multimodal/freedom.cc
ModelEntry LatticeEntry();    // multimodal/lattice.cc
ModelEntry Bm3Entry();        // multimodal/bm3.cc
ModelEntry MgcnEntry();       // multimodal/mgcn.cc
ModelEntry LgmRecEntry();     // multimodal/lgmrec.cc
ModelEntry MultiVaeEntry();   // general/multivae.cc
ModelEntry MultiDaeEntry();   // general/multivae.cc
ModelEntry Bert4RecEntry();   // sequential/bert4rec.cc
ModelEntry KgatEntry();       // knowledge/kgat.cc

}  // namespace recfuse::models::neural
