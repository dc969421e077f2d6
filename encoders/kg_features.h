// Knowledge-graph frozen item features, torch-free (the training lives in kg_embedding.h).
#pragma once

#include <string>

#include "encoders/features.h"

namespace recfuse::encoders {

// Specs "kg:transe:DIM" / "kg:transr:DIM": trains TransE or TransR (method "transe" |
// "transr") of size `dim` on all of data.kg with ctx.seed and ctx.threads (the KG holds no
// interactions, so ctx.train_rows cannot leak anything and is not used), then gives item i
// the entity-space vector of data.item_entity[i]. Items with no linked entity, or linked to
// an entity that occurs in no triple (its vector would be its random initialisation), get a
// zero row with present 0; the latter are counted in `fallbacks`.
// Throws MissingModalityError if data.kg is empty or no item is linked, ConfigError for an
// unknown method or dim < 1. Same data, method, dim, seed and threads -> same values.
// Training: 100 epochs (transr: 50 of TransE first), Adam lr 0.01, L1, margin 1, one
// negative, batches of max(256, |kg| / 20) triples (the dense Adam step dominates cost).
ItemFeatures KgFeatures(const datasets::Dataset& data, const std::string& method, int dim,
                        const EncodeContext& ctx);

}  // namespace recfuse::encoders
