// Frozen handcrafted image features (spec "image:handcrafted"): the no-network baseline a
// pretrained or trained image encoder has to beat.
#pragma once

#include "datasets/dataset.h"
#include "encoders/features.h"
#include "encoders/image_io.h"

namespace recfuse::encoders {

// Layout of the feature vector: an HSV colour histogram (kHueBins x kSatBins x kValBins,
// L1-normalised) followed by HOG on a 64x64 grey resize (16x16 cells, 32x32 blocks with
// stride 16, 9 orientation bins: 3 x 3 blocks x 4 cells x 9 = 324 values).
inline constexpr int kHueBins = 8, kSatBins = 4, kValBins = 4;
inline constexpr int kHandcraftedColorDim = kHueBins * kSatBins * kValBins;
inline constexpr int kHandcraftedHogDim = 324;
inline constexpr int kHandcraftedDim = kHandcraftedColorDim + kHandcraftedHogDim;

// Features of one decoded RGB image into out[kHandcraftedDim]. Thread-safe.
void HandcraftedFeaturesOf(const RgbImage& image, float* out);

// values: num_items x kHandcraftedDim in dataset item ids. Items without an image path or
// whose image is unusable get a zero row and present 0; fallbacks counts them all, notes
// name the first few unusable files. Parallel over ctx.threads; the output does not depend
// on the thread count. Throws MissingModalityError if no item has an image path.
ItemFeatures HandcraftedImageFeatures(const datasets::Dataset& data, const EncodeContext& ctx);

}  // namespace recfuse::encoders
