// ComputeFrozenFeatures: parses an encoder spec, serves it from the HDF5 cache when the same
// (data, spec, training rows) was encoded before, otherwise runs the encoder and caches it.
#include <filesystem>

#include "encoders/feature_import.h"
#include "encoders/features.h"
#include "encoders/image_handcrafted.h"
#include "encoders/image_onnx.h"
#include "encoders/kg_features.h"
#include "encoders/pretrained_image.h"
#include "encoders/pretrained_text.h"
#include "encoders/text_tfidf.h"
#include "framework/config.h"
#include "framework/error.h"
#include "framework/hash.h"
#include "framework/io.h"
#include "framework/log.h"

namespace recfuse::encoders {

namespace {

int ParseDim(const std::string& spec, const std::string& text) {
  int64_t dim = 0;
  if (!framework::ParseInt64(text, &dim) || dim < 1 || dim > 4096)
    throw framework::ConfigError("encoder '" + spec + "': dimension must be an integer in [1, 4096], got '" + text + "'");
  return static_cast<int>(dim);
}

ItemFeatures Run(const datasets::Dataset& data, const std::string& spec, const EncodeContext& ctx) {
  const auto parts = framework::Split(spec, ':');
  const std::string kind = parts.empty() ? "" : parts[0];
  if (kind == "image" && parts.size() == 2 && parts[1] == "handcrafted") return HandcraftedImageFeatures(data, ctx);
  if (kind == "image" && parts.size() >= 3 && parts[1] == "onnx") {
    // The path may itself contain ':'; everything after "image:onnx:" is the path.
    return OnnxImageFeatures(data, spec.substr(std::string("image:onnx:").size()), ctx);
  }
  if (kind == "text" && (parts.size() == 3 || parts.size() == 4) && parts[1] == "tfidf-svd")
    return TfidfSvdFeatures(data, ParseDim(spec, parts[2]), ctx,
                            parts.size() == 4 ? ParseTextSource(parts[3]) : TextSource::kBoth);
  if (std::string model, layer; ParsePretrainedImageSpec(spec, &model, &layer))
    return PretrainedImageFeatures(data, model, layer, ctx);
  TextSource source = TextSource::kBoth;
  if (WordPooling pooling; ParseGloveSpec(spec, &source, &pooling)) return GloveFeatures(data, source, pooling, ctx);
  if (kind == "kg" && parts.size() == 3 && (parts[1] == "transe" || parts[1] == "transr"))
    return KgFeatures(data, parts[1], ParseDim(spec, parts[2]), ctx);
  throw framework::ConfigError("unknown encoder '" + spec +
                               "'; known: image:handcrafted, image:onnx:PATH, text:tfidf-svd:DIM[:description|reviews|both], "
                               "kg:transe:DIM, kg:transr:DIM, image:mobilenet_v2[:LAYER], image:inception_v3[:LAYER], "
                               "text:glove:100[:description|reviews|both][:mean|sif], features:npy:PATH, "
                               "features:ducho:DIR, features:atomic:PATH[#FIELD], features:csv:PATH, features:h5:PATH");
}

}  // namespace

ItemFeatures ComputeFrozenFeatures(const datasets::Dataset& data, const std::string& spec,
                                   const EncodeContext& ctx) {
  // Imported files are not cached: reading them costs what reading the cache would.
  if (IsImportSpec(spec)) return ImportFeatures(data, spec);
  std::string path;
  if (!ctx.cache_dir.empty()) {
    framework::Hasher h;
    // Format version 2: files carry provenance; version-1 files would be served without it.
    h.AddPod(data.ContentHash()).Add(spec).AddPod(ctx.seed).AddPod(uint32_t{2});
    if (ctx.train_rows) h.AddVector(*ctx.train_rows);
    // An ONNX model file's content is part of the key, not just its name.
    if (spec.rfind("image:onnx:", 0) == 0) h.Add(framework::ReadFile(spec.substr(11)));
    // Pretrained files too, through their manifests (re-converting changes the ONNX sha256).
    if (const std::string key = PretrainedCacheKey(spec); !key.empty()) h.Add(key);
    framework::MakeDirs(ctx.cache_dir);
    path = ctx.cache_dir + "/features_" + h.HexDigest() + ".h5";
    if (framework::FileExists(path)) {
      try {
        ItemFeatures f = ReadFeaturesH5(path, data);
        if (f.spec == spec) {
          RF_LOG(Debug) << "features " << spec << " from cache " << path;
          return f;
        }
      } catch (const framework::Error& e) {
        RF_LOG(Warn) << "ignoring unreadable feature cache " << path << ": " << e.what();
      }
    }
  }
  ItemFeatures f = Run(data, spec, ctx);
  f.spec = spec;
  if (!path.empty()) WriteFeaturesH5(path, data, f);
  return f;
}

}  // namespace recfuse::encoders
