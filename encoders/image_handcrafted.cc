#include "encoders/image_handcrafted.h"

#include <algorithm>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include "framework/error.h"
#include "framework/parallel.h"

namespace recfuse::encoders {

void HandcraftedFeaturesOf(const RgbImage& image, float* out) {
  const cv::Mat rgb(image.height, image.width, CV_8UC3, const_cast<uint8_t*>(image.pixels.data()));
  // One fixed working size: histogram and HOG then describe the picture, not its resolution.
  cv::Mat small;
  cv::resize(rgb, small, cv::Size(64, 64), 0, 0,
             image.width > 64 || image.height > 64 ? cv::INTER_AREA : cv::INTER_LINEAR);

  cv::Mat hsv;
  cv::cvtColor(small, hsv, cv::COLOR_RGB2HSV);  // 8-bit: H in [0, 180), S, V in [0, 256)
  std::fill(out, out + kHandcraftedColorDim, 0.0f);
  for (int y = 0; y < hsv.rows; ++y) {
    const uint8_t* p = hsv.ptr<uint8_t>(y);
    for (int x = 0; x < hsv.cols; ++x) {
      const int h = std::min(kHueBins - 1, p[3 * x] * kHueBins / 180);
      const int s = p[3 * x + 1] * kSatBins / 256;
      const int v = p[3 * x + 2] * kValBins / 256;
      out[(h * kSatBins + s) * kValBins + v] += 1.0f;
    }
  }
  const float total = static_cast<float>(hsv.rows * hsv.cols);
  for (int k = 0; k < kHandcraftedColorDim; ++k) out[k] /= total;

  cv::Mat grey;
  cv::cvtColor(small, grey, cv::COLOR_RGB2GRAY);
  const cv::HOGDescriptor hog(cv::Size(64, 64), cv::Size(32, 32), cv::Size(16, 16),
                              cv::Size(16, 16), 9);
  std::vector<float> descriptor;
  hog.compute(grey, descriptor);
  RF_CHECK(descriptor.size() == static_cast<size_t>(kHandcraftedHogDim), "unexpected HOG length");
  std::copy(descriptor.begin(), descriptor.end(), out + kHandcraftedColorDim);
}

ItemFeatures HandcraftedImageFeatures(const datasets::Dataset& data, const EncodeContext& ctx) {
  const int64_t n = data.num_items();
  if (std::none_of(data.item_image.begin(), data.item_image.end(),
                   [](const auto& p) { return !p.empty(); }))
    throw framework::MissingModalityError("image:handcrafted: dataset '" + data.name +
                                          "' has no item images");
  ItemFeatures f;
  f.spec = "image:handcrafted";
  f.values = FeatureMatrix::Zero(n, kHandcraftedDim);
  f.present.assign(static_cast<size_t>(n), 0);
  std::vector<std::string> errors(static_cast<size_t>(n));
  framework::ParallelRanges(0, n, ctx.threads, [&](int64_t lo, int64_t hi, int) {
    RgbImage image;
    for (int64_t i = lo; i < hi; ++i) {
      const std::string& path =
          i < static_cast<int64_t>(data.item_image.size()) ? data.item_image[i] : "";
      if (path.empty()) continue;
      if (!DecodeImageRgb(path, ImagePreprocessOptions{}.max_pixels, &image, &errors[i])) continue;
      HandcraftedFeaturesOf(image, f.values.row(i).data());
      f.present[i] = 1;
    }
  });
  // Reuse the batch summary so every image encoder reports failures the same way.
  ImageBatch summary;
  for (int64_t i = 0; i < n; ++i) {
    if (f.present[i]) continue;
    if (errors[i].empty()) {
      ++summary.absent;
    } else {
      ++summary.fallbacks;
      if (summary.failures.size() < 5)
        summary.failures.push_back(data.item_image[i] + ": " + errors[i]);
    }
  }
  f.fallbacks = summary.absent + summary.fallbacks;
  if (const std::string note = DescribeImageFailures(summary); !note.empty())
    f.notes.push_back(note);
  const int64_t with = std::count(f.present.begin(), f.present.end(), uint8_t{1});
  f.provenance = {{"extractor", "handcrafted (OpenCV " CV_VERSION ")"},
                  {"input_size", "64x64 (INTER_AREA down, INTER_LINEAR up)"},
                  {"hsv_bins", std::to_string(kHueBins) + "x" + std::to_string(kSatBins) + "x" +
                                   std::to_string(kValBins) + " (H x S x V, L1-normalised)"},
                  {"hog", "grey 64x64, cell 16x16, block 32x32, stride 16, 9 bins (" +
                              std::to_string(kHandcraftedHogDim) + " values)"},
                  {"dim", std::to_string(kHandcraftedDim)},
                  {"items_with_content", std::to_string(with)},
                  {"items_without_image", std::to_string(summary.absent)},
                  {"unusable_images", std::to_string(summary.fallbacks)}};
  return f;
}

}  // namespace recfuse::encoders
