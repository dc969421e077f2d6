#include "encoders/pretrained_image.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include "encoders/image_io.h"
#include "framework/config.h"
#include "framework/error.h"
#include "framework/io.h"
#include "framework/parallel.h"

namespace recfuse::encoders {
namespace {

constexpr const char* kNsfwjs = "nsfwjs-4.4.0";

class CvThreadsGuard {  // cv::setNumThreads is process-wide: restore it however we leave
 public:
  explicit CvThreadsGuard(int threads) : previous_(cv::getNumThreads()) { cv::setNumThreads(threads); }
  ~CvThreadsGuard() { cv::setNumThreads(previous_); }

 private:
  int previous_;
};

std::vector<std::vector<std::string>> ReadTsv(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw framework::IoError(path + ": cannot open");
  std::vector<std::vector<std::string>> rows;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) rows.push_back(framework::Split(line, '\t'));
  return rows;
}

std::string MissingMessage(const std::string& what, const std::string& dir) {
  return what + ": pretrained files not found in " + dir + "; fetch and convert them once with `" +
         kPretrainedSetupCommand + "` (needs the npm registry; see docs/features.md)";
}

int InputSize(const std::string& model) { return model == "inception_v3" ? 299 : 224; }

std::string LayerList(const PretrainedImageModel& m) {
  std::string out;
  for (const auto& l : m.layers)
    if (l.tapable) out += (out.empty() ? "" : ", ") + l.name;
  return out;
}

const PretrainedLayer& FindLayer(const PretrainedImageModel& m, const std::string& layer) {
  for (const auto& l : m.layers)
    if (l.name == layer && l.tapable) return l;
  throw framework::ConfigError("image:" + m.name + ": no layer '" + layer + "' (layers: " + LayerList(m) + ")");
}

cv::dnn::Net OpenNet(const PretrainedImageModel& m, const PretrainedLayer& tap) {
  const std::string path = m.dir + "/model.onnx";
  cv::dnn::Net net;
  try {
    net = cv::dnn::readNetFromONNX(path);
  } catch (const cv::Exception& e) {
    throw framework::DataError(path, 0, std::string("cannot load ONNX model: ") + e.what());
  }
  if (net.empty()) throw framework::DataError(path, 0, "cannot load ONNX model (empty network)");
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  // OpenCV fuses a BN or activation into the layer before it, in place: a tap on that
  // layer would read the fused result (bn_Conv1 was off by 19 with fusion on, 2e-6 off).
  if (tap.needs_unfused) net.enableFusion(false);
  return net;
}

cv::Mat Forward(cv::dnn::Net& net, const PretrainedImageModel& m, const PretrainedLayer& tap, cv::Mat& blob) {
  try {
    net.setInput(blob);
    return net.forward("onnx_node!" + tap.name);
  } catch (const cv::Exception& e) {
    throw framework::DataError(m.dir + "/model.onnx", 0, std::string("forward pass failed: ") + e.what());
  }
}

// n x C (global average over H x W) from an NCHW output, or n x D from a flat one.
void PoolInto(const cv::Mat& out, int b, FeatureMatrix* dst, const std::vector<int64_t>& rows) {
  const cv::Mat flat = out.isContinuous() ? out : out.clone();
  const float* p = flat.ptr<float>();
  const int64_t c = out.dims >= 2 ? out.size[1] : 1;
  int64_t hw = 1;
  for (int d = 2; d < out.dims; ++d) hw *= out.size[d];
  for (int r = 0; r < b; ++r) {
    auto row = dst->row(rows[static_cast<size_t>(r)]);
    for (int64_t ch = 0; ch < c; ++ch) {
      const float* q = p + (static_cast<int64_t>(r) * c + ch) * hw;
      double s = 0;
      for (int64_t k = 0; k < hw; ++k) s += q[k];
      row(ch) = static_cast<float>(s / static_cast<double>(hw));
    }
  }
}

}  // namespace

std::string PretrainedDir() {
  if (const char* c = std::getenv("RECFUSE_CACHE"); c && *c) return std::string(c) + "/pretrained";
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/recfuse/pretrained";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/recfuse/pretrained";
  return ".cache/recfuse/pretrained";
}

std::vector<std::pair<std::string, std::string>> ReadPretrainedManifest(const std::string& dir,
                                                                        const std::string& what) {
  // The manifest is written last by fetch_pretrained.sh: its presence means the folder is whole.
  const std::string path = dir + "/manifest.tsv";
  if (!framework::FileExists(path)) throw framework::ConfigError(MissingMessage(what, dir));
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& row : ReadTsv(path)) {
    if (row.size() != 2) throw framework::DataError(path, 0, "expected 'key<TAB>value' lines");
    out.emplace_back(row[0], row[1]);
  }
  return out;
}

std::string DefaultPretrainedLayer(const std::string& model) {
  // MobileNetV2: block_10's depthwise ReLU (384-d), inside the last block the package kept at
  // ImageNet weights: the best kNN genre overlap on the ml-100k posters of the 10 layers
  // probed (0.231; block_10_project_BN 0.229, out_relu 0.200, random pairs 0.167), a choice on
  // side information, not on recommendation metrics (docs/features.md).
  // InceptionV3: mixed5, its last block output at ImageNet weights, also the best of the 4
  // layers probed (0.228; mixed7 0.226, the 2048-d pool 0.191).
  if (model == "mobilenet_v2") return "block_10_depthwise_relu";
  if (model == "inception_v3") return "mixed5";
  throw framework::ConfigError("unknown pretrained image model '" + model + "' (known: mobilenet_v2, inception_v3)");
}

bool PretrainedImageModelAvailable(const std::string& name) {
  const std::string dir = PretrainedDir() + "/" + kNsfwjs + "/" + name;
  return framework::FileExists(dir + "/manifest.tsv") && framework::FileExists(dir + "/model.onnx") &&
         framework::FileExists(dir + "/layers.tsv");
}

PretrainedImageModel LoadPretrainedImageModel(const std::string& name) {
  PretrainedImageModel m;
  m.name = name;
  m.default_layer = DefaultPretrainedLayer(name);  // validates the name
  m.input_size = InputSize(name);
  m.dir = PretrainedDir() + "/" + kNsfwjs + "/" + name;
  m.manifest = ReadPretrainedManifest(m.dir, "image:" + name);
  if (!framework::FileExists(m.dir + "/model.onnx") || !framework::FileExists(m.dir + "/layers.tsv"))
    throw framework::ConfigError(MissingMessage("image:" + name, m.dir));
  const auto rows = ReadTsv(m.dir + "/layers.tsv");
  for (size_t r = 1; r < rows.size(); ++r) {  // row 0 is the header
    if (rows[r].size() != 6) throw framework::DataError(m.dir + "/layers.tsv", static_cast<int64_t>(r + 1), "expected 6 columns");
    PretrainedLayer l;
    l.name = rows[r][0];
    l.kind = rows[r][1];
    l.shape = rows[r][2];
    l.imagenet = rows[r][3] == "0";
    l.tapable = rows[r][4] == "1";
    l.needs_unfused = rows[r][5] == "1";
    m.layers.push_back(std::move(l));
  }
  return m;
}

FeatureMatrix RunPretrainedNetwork(const PretrainedImageModel& model, const std::string& layer,
                                   const std::vector<float>& nchw, int n, int threads) {
  const PretrainedLayer& tap = FindLayer(model, layer.empty() ? model.default_layer : layer);
  const int s = model.input_size;
  RF_CHECK(n > 0 && nchw.size() == static_cast<size_t>(n) * 3 * s * s, "input is not n x 3 x S x S");
  CvThreadsGuard guard(framework::ResolveThreads(threads));
  cv::dnn::Net net = OpenNet(model, tap);
  const int shape[4] = {n, 3, s, s};
  cv::Mat blob(4, shape, CV_32F, const_cast<float*>(nchw.data()));
  const cv::Mat out = Forward(net, model, tap, blob);
  const cv::Mat flat = out.isContinuous() ? out : out.clone();
  const Eigen::Index per = static_cast<Eigen::Index>(out.total() / static_cast<size_t>(n));
  FeatureMatrix y(n, per);
  std::copy_n(flat.ptr<float>(), out.total(), y.data());
  return y;
}

bool ParsePretrainedImageSpec(const std::string& spec, std::string* model, std::string* layer) {
  const auto parts = framework::Split(spec, ':');
  if (parts.size() < 2 || parts[0] != "image" || (parts[1] != "mobilenet_v2" && parts[1] != "inception_v3"))
    return false;
  if (parts.size() > 3 || (parts.size() == 3 && parts[2].empty()))
    throw framework::ConfigError("encoder '" + spec + "': expected image:" + parts[1] + "[:LAYER]");
  *model = parts[1];
  *layer = parts.size() == 3 ? parts[2] : "";
  return true;
}

std::string PretrainedCacheKey(const std::string& spec) {
  std::string model, layer;
  std::string dir;
  if (ParsePretrainedImageSpec(spec, &model, &layer)) {
    dir = PretrainedDir() + "/" + kNsfwjs + "/" + model;
  } else if (spec.rfind("text:glove:", 0) == 0) {
    dir = PretrainedDir() + "/glove-6b-100d";
  } else {
    return "";
  }
  // A missing folder keys as "": the encoder itself then fails with the setup command.
  if (!framework::FileExists(dir + "/manifest.tsv")) return "";
  std::string key;
  for (const auto& [k, v] : ReadPretrainedManifest(dir, spec)) key += k + "=" + v + ";";
  return key;
}

ItemFeatures PretrainedImageFeatures(const datasets::Dataset& data, const std::string& model_name,
                                     const std::string& layer_name, const EncodeContext& ctx) {
  const std::string spec = "image:" + model_name + (layer_name.empty() ? "" : ":" + layer_name);
  const int64_t n = data.num_items();
  if (std::none_of(data.item_image.begin(), data.item_image.end(), [](const auto& p) { return !p.empty(); }))
    throw framework::MissingModalityError(spec + ": dataset '" + data.name + "' has no item images");
  const PretrainedImageModel m = LoadPretrainedImageModel(model_name);
  const std::string layer = layer_name.empty() ? m.default_layer : layer_name;
  const PretrainedLayer& tap = FindLayer(m, layer);
  const int threads = framework::ResolveThreads(ctx.threads);
  CvThreadsGuard guard(threads);
  cv::dnn::Net net = OpenNet(m, tap);

  ImagePreprocessOptions pre;
  pre.size = m.input_size;
  pre.mean = {0.f, 0.f, 0.f};  // nsfwjs feeds pixel / 255: [0, 1], no mean/std
  pre.std = {1.f, 1.f, 1.f};
  // 32 images per forward: larger batches gained nothing measurable on 2 threads and cost
  // memory (a 14x14x384 map is 300 KB per image).
  constexpr int kBatch = 32;
  std::vector<std::string> paths(static_cast<size_t>(n));
  for (int64_t i = 0; i < n && i < static_cast<int64_t>(data.item_image.size()); ++i) paths[i] = data.item_image[i];

  ItemFeatures f;
  f.spec = spec;
  f.present.assign(static_cast<size_t>(n), 0);
  ImageBatch summary;
  const int s = pre.size;
  const size_t per = 3 * static_cast<size_t>(s) * s;
  Eigen::Index dim = -1;
  for (int64_t lo = 0; lo < n; lo += kBatch) {
    const int64_t hi = std::min<int64_t>(n, lo + kBatch);
    const std::vector<std::string> part(paths.begin() + lo, paths.begin() + hi);
    ImageBatch batch = LoadImages(part, pre, threads);
    summary.absent += batch.absent;
    summary.fallbacks += batch.fallbacks;
    for (auto& failure : batch.failures)
      if (summary.failures.size() < 5) summary.failures.push_back(std::move(failure));
    std::vector<int64_t> rows;
    for (int64_t k = 0; k < hi - lo; ++k)
      if (batch.present[k]) rows.push_back(k);
    if (rows.empty()) continue;
    const int b = static_cast<int>(rows.size());
    const int shape[4] = {b, 3, s, s};
    cv::Mat blob(4, shape, CV_32F);
    for (int r = 0; r < b; ++r)
      std::copy_n(batch.chw.data() + rows[r] * per, per, blob.ptr<float>() + static_cast<size_t>(r) * per);
    const cv::Mat out = Forward(net, m, tap, blob);
    RF_CHECK(out.dims >= 2 && out.size[0] == b && out.type() == CV_32F, "network output is not batch-first float");
    if (dim < 0) {
      dim = out.size[1];
      f.values = FeatureMatrix::Zero(n, dim);
    }
    std::vector<int64_t> items;
    for (int64_t k : rows) items.push_back(lo + k);
    PoolInto(out, b, &f.values, items);
    for (int64_t i : items) f.present[static_cast<size_t>(i)] = 1;
  }
  if (dim < 0) f.values = FeatureMatrix::Zero(n, 0);
  f.fallbacks = summary.absent + summary.fallbacks;
  if (const std::string note = DescribeImageFailures(summary); !note.empty()) f.notes.push_back(note);

  auto get = [&](const std::string& key) {
    for (const auto& [k, v] : m.manifest)
      if (k == key) return v;
    return std::string("?");
  };
  f.provenance = {
      {"extractor", "image:" + model_name},
      {"package", get("package") + "@" + get("version")},
      {"tarball_sha256", get("tarball_sha256")},
      {"onnx_sha256", get("onnx_sha256")},
      {"source", get("source_path") + " (Keras " + model_name + ", converted by " + get("converter") + ")"},
      {"layer", layer + " (" + tap.kind + ", " + tap.shape + ")"},
      {"weights", tap.imagenet ? "ImageNet (frozen in the package)" : "fine-tuned by the package on a 5-class task"},
      {"input_size", std::to_string(s) + "x" + std::to_string(s)},
      {"normalisation", "RGB, shorter side resized to " + std::to_string(s) + ", centre crop, pixel/255 in [0,1]"},
      {"pooling", tap.shape.find('x') != std::string::npos ? "global average over HxW" : "none (flat layer)"},
      {"dim", std::to_string(dim < 0 ? 0 : dim)},
      {"items_with_image", std::to_string(n - f.fallbacks)},
      {"fallbacks", std::to_string(f.fallbacks)},
  };
  f.notes.push_back(spec + ": " + std::to_string(n - f.fallbacks) + " images through " + m.name + " at " + layer);
  return f;
}

}  // namespace recfuse::encoders
