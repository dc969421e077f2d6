// Real pretrained image extractors, offline: specs "image:mobilenet_v2[:LAYER]" and
// "image:inception_v3[:LAYER]". The networks are the Keras MobileNetV2 (alpha 1.0, 224 px)
// and InceptionV3 (299 px) shipped inside the npm package nsfwjs@4.4.0, converted once to
// ONNX by `scripts/setup.sh --pretrained` (scripts/fetch_pretrained.sh) and run here through
// OpenCV DNN. Their lower layers are ImageNet weights the package froze while fine-tuning the
// upper ones on a 5-class task; layers.tsv beside each model says which layer is which.
//
// LAYER names any Keras layer of the model (e.g. block_10_project_BN, out_relu, mixed5); a
// spatial map is global-average-pooled to one value per channel. Nothing is downloaded at
// run time: without the converted files the spec fails naming the setup command.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "datasets/dataset.h"
#include "encoders/features.h"

namespace recfuse::encoders {

// $RECFUSE_CACHE/pretrained, else $XDG_CACHE_HOME/recfuse/pretrained, else
// $HOME/.cache/recfuse/pretrained: the folder fetch_pretrained.sh fills (the same cache root
// as the split cache, so one variable moves both).
std::string PretrainedDir();

// The command that fills PretrainedDir(), for error messages and test skips.
inline constexpr const char* kPretrainedSetupCommand = "scripts/setup.sh --pretrained";

// key -> value lines of a converted model's manifest.tsv (package, version, tarball_sha256,
// ...). Throws ConfigError naming kPretrainedSetupCommand if the folder is incomplete.
std::vector<std::pair<std::string, std::string>> ReadPretrainedManifest(const std::string& dir,
                                                                        const std::string& what);

struct PretrainedLayer {
  std::string name;   // Keras layer name = ONNX node name
  std::string kind;   // Keras class
  std::string shape;  // output for one image, "HxWxC" or "D"
  bool imagenet = false;      // frozen in the package: pure ImageNet weights up to here
  bool tapable = false;       // an ONNX node of its own (Dropout/Input are aliases)
  bool needs_unfused = false; // OpenCV fuses its consumer into it: tap with fusion off
};

struct PretrainedImageModel {
  std::string name;       // "mobilenet_v2" | "inception_v3"
  std::string dir;        // converted folder (model.onnx, layers.tsv, manifest.tsv, reference/)
  int input_size = 0;     // 224 | 299
  std::string default_layer;
  std::vector<PretrainedLayer> layers;
  std::vector<std::pair<std::string, std::string>> manifest;
};

// The model's converted files; ConfigError for an unknown name, ConfigError naming
// kPretrainedSetupCommand when they are absent.
PretrainedImageModel LoadPretrainedImageModel(const std::string& name);
// True when `name`'s converted files are present (tests skip otherwise).
bool PretrainedImageModelAvailable(const std::string& name);

// The default tap of each model (how chosen: see the definition).
std::string DefaultPretrainedLayer(const std::string& model);

// Features of every item's image at `layer` ("" = the model's default): values num_items x C
// (C = channels of the tap, global-average-pooled over H x W; a flat layer as is), zero rows
// and present 0 for items without a usable image (counted in fallbacks). Preprocessing: RGB,
// shorter side resized to the input size, centre crop, values / 255 in [0, 1], as nsfwjs
// feeds these networks. Unknown layer -> ConfigError listing the tapable layers. Uses
// ctx.threads for decoding and OpenCV's pool. Provenance: extractor, package@version,
// tarball and ONNX sha256, layer (and whether its weights are ImageNet's), input size,
// normalisation, pooling, dim.
ItemFeatures PretrainedImageFeatures(const datasets::Dataset& data, const std::string& model,
                                     const std::string& layer, const EncodeContext& ctx);

// Runs the converted network on raw NCHW input (n x 3 x S x S floats in [0, 1]) and returns
// the tap's output, flattened per image (n x everything). For the reference test and bench.
FeatureMatrix RunPretrainedNetwork(const PretrainedImageModel& model, const std::string& layer,
                                   const std::vector<float>& nchw, int n, int threads);

// Parses "image:mobilenet_v2[:LAYER]" / "image:inception_v3[:LAYER]"; false if `spec` is
// not one of these models (ConfigError if it is, but malformed).
bool ParsePretrainedImageSpec(const std::string& spec, std::string* model, std::string* layer);

// A string that changes whenever the files behind `spec` do (the converted ONNX's or GloVe
// tarball's sha256), for the frozen-feature cache key; "" for other specs.
std::string PretrainedCacheKey(const std::string& spec);

}  // namespace recfuse::encoders
