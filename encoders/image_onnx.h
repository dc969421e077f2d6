// Frozen features from a pretrained network in ONNX format, run through OpenCV DNN (spec
// "image:onnx:PATH"), so that e.g. a ResNet's pooled features need no Python at run time.
#pragma once

#include <string>

#include "datasets/dataset.h"
#include "encoders/features.h"
#include "encoders/image_io.h"

namespace recfuse::encoders {

struct OnnxOptions {
  // Must match what the network was trained with (ImageNet 224 by default).
  ImagePreprocessOptions preprocess;
  std::string output_layer;  // ONNX node name (or OpenCV layer name); "" = the final output
  int batch_size = 32;       // images per forward pass; the graph's batch dim must be free
};

// Runs every item's image (preprocessed exactly as LoadImages does: RGB, NCHW, normalised)
// through the network and flattens each output to one row; values: num_items x dim in
// dataset item ids, zero rows and present 0 for items without a usable image (counted in
// fallbacks, first few named in notes). Throws IoError for a missing model file, DataError
// for an unparsable one, ConfigError for an unknown output_layer (listing the layers),
// MissingModalityError if no item has an image path. Uses
// ctx.threads for decoding and for OpenCV's own thread pool (restored afterwards).
ItemFeatures OnnxImageFeatures(const datasets::Dataset& data, const std::string& onnx_path,
                               const EncodeContext& ctx, const OnnxOptions& options = {});

}  // namespace recfuse::encoders
