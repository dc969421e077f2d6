#include "encoders/image_onnx.h"

#include <algorithm>
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include "encoders/feature_import.h"
#include "framework/error.h"
#include "framework/io.h"
#include "framework/parallel.h"

namespace recfuse::encoders {
namespace {

// cv::setNumThreads is process-wide: put the previous value back however we leave.
class CvThreadsGuard {
 public:
  explicit CvThreadsGuard(int threads) : previous_(cv::getNumThreads()) {
    cv::setNumThreads(threads);
  }
  ~CvThreadsGuard() { cv::setNumThreads(previous_); }

 private:
  int previous_;
};

}  // namespace

ItemFeatures OnnxImageFeatures(const datasets::Dataset& data, const std::string& onnx_path,
                               const EncodeContext& ctx, const OnnxOptions& options) {
  RF_CHECK(options.batch_size > 0, "onnx batch_size must be positive");
  const int64_t n = data.num_items();
  if (std::none_of(data.item_image.begin(), data.item_image.end(),
                   [](const auto& p) { return !p.empty(); }))
    throw framework::MissingModalityError("image:onnx: dataset '" + data.name +
                                          "' has no item images");
  if (!framework::FileExists(onnx_path))
    throw framework::IoError(onnx_path + ": ONNX model not found");
  cv::dnn::Net net;
  try {
    net = cv::dnn::readNetFromONNX(onnx_path);
  } catch (const cv::Exception& e) {
    throw framework::DataError(onnx_path, 0, std::string("cannot load ONNX model: ") + e.what());
  }
  if (net.empty())
    throw framework::DataError(onnx_path, 0, "cannot load ONNX model (empty network)");
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  // OpenCV names an imported layer "onnx_node!<node name>"; accept the plain ONNX node name.
  std::string output_layer = options.output_layer;
  if (!output_layer.empty() && net.getLayerId(output_layer) < 0) {
    if (net.getLayerId("onnx_node!" + output_layer) >= 0) {
      output_layer = "onnx_node!" + output_layer;
    } else {
      std::string layers;
      for (const auto& name : net.getLayerNames()) layers += (layers.empty() ? "" : ", ") + name;
      throw framework::ConfigError("image:onnx: no layer '" + options.output_layer + "' in " +
                                   onnx_path + " (layers: " + layers + ")");
    }
  }
  const int threads = framework::ResolveThreads(ctx.threads);
  CvThreadsGuard guard(threads);

  std::vector<std::string> paths(static_cast<size_t>(n));
  for (int64_t i = 0; i < n && i < static_cast<int64_t>(data.item_image.size()); ++i)
    paths[i] = data.item_image[i];

  ItemFeatures f;
  f.spec = "image:onnx:" + onnx_path;
  f.present.assign(static_cast<size_t>(n), 0);
  const int s = options.preprocess.size;
  const size_t per = 3 * static_cast<size_t>(s) * s;
  ImageBatch summary;
  Eigen::Index dim = -1;
  for (int64_t lo = 0; lo < n; lo += options.batch_size) {
    const int64_t hi = std::min<int64_t>(n, lo + options.batch_size);
    const std::vector<std::string> part(paths.begin() + lo, paths.begin() + hi);
    ImageBatch batch = LoadImages(part, options.preprocess, threads);
    summary.absent += batch.absent;
    summary.fallbacks += batch.fallbacks;
    for (auto& failure : batch.failures)
      if (summary.failures.size() < 5) summary.failures.push_back(std::move(failure));
    // Only usable images go through the network: a zero image is not "no image".
    std::vector<int64_t> rows;
    for (int64_t k = 0; k < hi - lo; ++k)
      if (batch.present[k]) rows.push_back(k);
    if (rows.empty()) continue;
    const int b = static_cast<int>(rows.size());
    const int shape[4] = {b, 3, s, s};
    cv::Mat blob(4, shape, CV_32F);
    for (int r = 0; r < b; ++r)
      std::copy_n(batch.chw.data() + rows[r] * per, per,
                  blob.ptr<float>() + static_cast<size_t>(r) * per);
    cv::Mat out;
    try {
      net.setInput(blob);
      out = output_layer.empty() ? net.forward() : net.forward(output_layer);
    } catch (const cv::Exception& e) {
      throw framework::DataError(onnx_path, 0, std::string("forward pass failed: ") + e.what());
    }
    if (out.dims < 1 || out.size[0] != b || out.type() != CV_32F)
      throw framework::DataError(onnx_path, 0,
                                 "network output's first dimension is not the batch (" +
                                     std::to_string(out.dims > 0 ? out.size[0] : 0) + " vs " +
                                     std::to_string(b) + " images); is its batch size fixed?");
    const Eigen::Index row_dim = static_cast<Eigen::Index>(out.total() / static_cast<size_t>(b));
    if (dim < 0) {
      dim = row_dim;
      f.values = FeatureMatrix::Zero(n, dim);
    }
    RF_CHECK(row_dim == dim, "network output size changed between batches");
    const cv::Mat flat = out.isContinuous() ? out : out.clone();
    for (int r = 0; r < b; ++r)
      std::copy_n(flat.ptr<float>() + static_cast<size_t>(r) * dim, dim,
                  f.values.row(lo + rows[r]).data());
    for (int64_t k : rows) f.present[lo + k] = 1;
  }
  if (dim < 0) f.values = FeatureMatrix::Zero(n, 0);  // no usable image at all
  f.fallbacks = summary.absent + summary.fallbacks;
  {
    const auto& p = options.preprocess;
    auto triple = [](const std::array<float, 3>& v) {
      return std::to_string(v[0]) + "," + std::to_string(v[1]) + "," + std::to_string(v[2]);
    };
    const int64_t with = std::count(f.present.begin(), f.present.end(), uint8_t{1});
    f.provenance = {{"extractor", "onnx (OpenCV DNN " CV_VERSION ")"},
                    {"model_file", onnx_path},
                    {"model_sha256", FileSha256(onnx_path)},
                    {"output_layer", options.output_layer.empty() ? "final output" : options.output_layer},
                    {"input_size", std::to_string(s) + "x" + std::to_string(s) + " RGB, shorter side resized to " +
                                       std::to_string(p.resize_shorter > 0 ? p.resize_shorter : s) + ", centre crop"},
                    {"normalisation", "[0,1] then (x - mean) / std, mean " + triple(p.mean) + ", std " + triple(p.std)},
                    {"dim", std::to_string(std::max<Eigen::Index>(dim, 0))},
                    {"items_with_content", std::to_string(with)},
                    {"items_without_image", std::to_string(summary.absent)},
                    {"unusable_images", std::to_string(summary.fallbacks)}};
  }
  if (const std::string note = DescribeImageFailures(summary); !note.empty())
    f.notes.push_back(note);
  return f;
}

}  // namespace recfuse::encoders
