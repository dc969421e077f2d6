#include "encoders/image_io.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "framework/error.h"
#include "framework/io.h"
#include "framework/parallel.h"
#include "framework/rng.h"

namespace recfuse::encoders {
namespace {

constexpr size_t kMaxFailureNotes = 5;

uint32_t Be16(std::string_view b, size_t i) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(b[i])) << 8) | static_cast<uint8_t>(b[i + 1]);
}
uint32_t Be32(std::string_view b, size_t i) { return (Be16(b, i) << 16) | Be16(b, i + 2); }
uint32_t Le16(std::string_view b, size_t i) {
  return static_cast<uint8_t>(b[i]) | (static_cast<uint32_t>(static_cast<uint8_t>(b[i + 1])) << 8);
}
uint32_t Le24(std::string_view b, size_t i) {
  return Le16(b, i) | (static_cast<uint32_t>(static_cast<uint8_t>(b[i + 2])) << 16);
}

bool IsJpeg(std::string_view b) {
  return b.size() >= 3 && static_cast<uint8_t>(b[0]) == 0xFF &&
         static_cast<uint8_t>(b[1]) == 0xD8 && static_cast<uint8_t>(b[2]) == 0xFF;
}

// libjpeg decodes a cut-off JPEG with only a warning and fills the rest with grey, so a
// truncated file must be recognised by its missing end-of-image marker. Some writers append
// trailing bytes after it, hence the search over a tail rather than the last two bytes.
bool JpegHasEndMarker(std::string_view b) {
  const size_t from = b.size() > 4096 ? b.size() - 4096 : 2;
  for (size_t i = b.size() - 1; i > from; --i)
    if (static_cast<uint8_t>(b[i - 1]) == 0xFF && static_cast<uint8_t>(b[i]) == 0xD9) return true;
  return false;
}

}  // namespace

bool PeekImageSize(std::string_view b, int64_t* width, int64_t* height) {
  static constexpr unsigned char kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (b.size() >= 24 && std::memcmp(b.data(), kPng, 8) == 0 && b.substr(12, 4) == "IHDR") {
    *width = Be32(b, 16);
    *height = Be32(b, 20);
    return true;
  }
  if (IsJpeg(b)) {
    size_t i = 2;
    while (i + 4 <= b.size()) {
      if (static_cast<uint8_t>(b[i]) != 0xFF) return false;
      const uint8_t marker = static_cast<uint8_t>(b[i + 1]);
      if (marker == 0xFF) {  // fill byte
        ++i;
        continue;
      }
      if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {
        i += 2;
        continue;
      }
      const uint32_t len = Be16(b, i + 2);
      // SOF0..SOF15 except DHT (C4), JPG (C8), DAC (CC) carry the frame size.
      if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
        if (i + 9 > b.size()) return false;
        *height = Be16(b, i + 5);
        *width = Be16(b, i + 7);
        return true;
      }
      i += 2 + len;
    }
    return false;
  }
  if (b.size() >= 30 && b.substr(0, 4) == "RIFF" && b.substr(8, 4) == "WEBP") {
    const std::string_view chunk = b.substr(12, 4);
    if (chunk == "VP8X") {
      *width = int64_t{Le24(b, 24)} + 1;
      *height = int64_t{Le24(b, 27)} + 1;
      return true;
    }
    if (chunk == "VP8L") {
      const uint32_t bits = Le16(b, 21) | (Le16(b, 23) << 16);
      *width = int64_t{bits & 0x3FFF} + 1;
      *height = int64_t{(bits >> 14) & 0x3FFF} + 1;
      return true;
    }
    if (chunk == "VP8 ") {
      *width = Le16(b, 26) & 0x3FFF;
      *height = Le16(b, 28) & 0x3FFF;
      return true;
    }
  }
  return false;
}

bool DecodeImageRgb(const std::string& path, int64_t max_pixels, RgbImage* out,
                    std::string* error) {
  *out = RgbImage{};
  std::string bytes;
  try {
    bytes = framework::ReadFile(path);
  } catch (const framework::Error&) {
    *error = std::filesystem::exists(path) ? "unreadable file" : "missing file";
    return false;
  }
  if (bytes.empty()) {
    *error = "zero-byte file";
    return false;
  }
  int64_t w = 0, h = 0;
  if (PeekImageSize(bytes, &w, &h)) {
    if (w <= 0 || h <= 0 || w * h > max_pixels) {
      *error = "header declares " + std::to_string(w) + "x" + std::to_string(h) + " pixels";
      return false;
    }
  }
  if (IsJpeg(bytes) && !JpegHasEndMarker(bytes)) {
    *error = "truncated JPEG (no end-of-image marker)";
    return false;
  }
  cv::Mat bgr;
  try {
    const cv::Mat raw(1, static_cast<int>(bytes.size()), CV_8UC1, bytes.data());
    bgr = cv::imdecode(raw, cv::IMREAD_COLOR);
  } catch (const cv::Exception& e) {
    *error = std::string("corrupt image (") + e.what() + ")";
    return false;
  }
  if (bgr.empty() || bgr.type() != CV_8UC3) {
    *error = "corrupt or truncated image (decoder failed)";
    return false;
  }
  if (static_cast<int64_t>(bgr.cols) * bgr.rows > max_pixels) {  // formats PeekImageSize misses
    *error = "image has " + std::to_string(bgr.cols) + "x" + std::to_string(bgr.rows) + " pixels";
    return false;
  }
  out->width = bgr.cols;
  out->height = bgr.rows;
  out->pixels.resize(static_cast<size_t>(bgr.cols) * bgr.rows * 3);
  cv::Mat rgb(bgr.rows, bgr.cols, CV_8UC3, out->pixels.data());
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return true;
}

void WriteImage(const std::string& path, const RgbImage& image, int quality) {
  RF_CHECK(image.pixels.size() == static_cast<size_t>(image.width) * image.height * 3,
           "WriteImage: pixels must hold height x width x 3 bytes");
  const cv::Mat rgb(image.height, image.width, CV_8UC3, const_cast<uint8_t*>(image.pixels.data()));
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  const std::string ext = std::filesystem::path(path).extension().string();
  std::vector<uint8_t> bytes;
  bool ok = false;
  try {
    ok = cv::imencode(ext, bgr, bytes,
                      {cv::IMWRITE_JPEG_QUALITY, quality, cv::IMWRITE_WEBP_QUALITY, quality});
  } catch (const cv::Exception& e) {
    throw framework::IoError(path + ": cannot encode image as '" + ext + "': " + e.what());
  }
  if (!ok) throw framework::IoError(path + ": cannot encode image as '" + ext + "'");
  framework::WriteFileAtomic(
      path, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

bool PreprocessImage(const std::string& path, const ImagePreprocessOptions& options,
                     const ImageAugmentation& augmentation, uint64_t key, float* out,
                     std::string* error) {
  const int size = options.size;
  RF_CHECK(size > 0, "image size must be positive");
  const size_t plane = static_cast<size_t>(size) * size;
  std::fill(out, out + 3 * plane, 0.0f);
  RgbImage image;
  if (!DecodeImageRgb(path, options.max_pixels, &image, error)) return false;

  // Resize the shorter side, keeping the aspect ratio, then crop size x size from the centre.
  const int shorter = std::max(options.resize_shorter > 0 ? options.resize_shorter : size, size);
  const double scale = static_cast<double>(shorter) / std::min(image.width, image.height);
  const int rw = std::max(size, static_cast<int>(std::lround(image.width * scale)));
  const int rh = std::max(size, static_cast<int>(std::lround(image.height * scale)));
  const cv::Mat src(image.height, image.width, CV_8UC3, image.pixels.data());
  cv::Mat resized;
  // INTER_AREA averages when shrinking (no aliasing); bilinear when enlarging.
  cv::resize(src, resized, cv::Size(rw, rh), 0, 0, scale < 1.0 ? cv::INTER_AREA : cv::INTER_LINEAR);
  int x0 = (rw - size) / 2, y0 = (rh - size) / 2;
  bool flip = false;
  if (augmentation.enabled) {
    framework::Rng rng(framework::DeriveSeed(framework::DeriveSeed(augmentation.seed, key),
                                             static_cast<uint64_t>(augmentation.epoch)));
    const int shift = static_cast<int>(std::floor(augmentation.max_shift * size));
    if (shift > 0) {
      cv::Mat padded;
      cv::copyMakeBorder(resized, padded, shift, shift, shift, shift, cv::BORDER_REFLECT_101);
      resized = padded;
      x0 += static_cast<int>(rng.UniformInt(2 * static_cast<uint64_t>(shift) + 1));
      y0 += static_cast<int>(rng.UniformInt(2 * static_cast<uint64_t>(shift) + 1));
    }
    flip = augmentation.horizontal_flip && rng.UniformInt(2) == 1;
  }
  const cv::Mat crop = resized(cv::Rect(x0, y0, size, size));
  for (int y = 0; y < size; ++y) {
    const uint8_t* row = crop.ptr<uint8_t>(y);
    for (int x = 0; x < size; ++x) {
      const int sx = flip ? size - 1 - x : x;
      for (int c = 0; c < 3; ++c)
        out[c * plane + static_cast<size_t>(y) * size + x] =
            (row[3 * sx + c] / 255.0f - options.mean[c]) / options.std[c];
    }
  }
  return true;
}

ImageBatch LoadImages(const std::vector<std::string>& paths, const ImagePreprocessOptions& options,
                      int threads, const ImageAugmentation& augmentation,
                      const std::vector<uint64_t>* keys) {
  RF_CHECK(keys == nullptr || keys->size() == paths.size(), "LoadImages: one key per path");
  ImageBatch batch;
  batch.size = options.size;
  const size_t n = paths.size();
  const size_t per = 3 * static_cast<size_t>(options.size) * options.size;
  batch.chw.assign(n * per, 0.0f);
  batch.present.assign(n, 0);
  std::vector<std::string> errors(n);
  framework::ParallelRanges(0, static_cast<int64_t>(n), threads, [&](int64_t lo, int64_t hi, int) {
    for (int64_t i = lo; i < hi; ++i) {
      if (paths[i].empty()) continue;
      const uint64_t key = keys ? (*keys)[i] : static_cast<uint64_t>(i);
      std::string error;
      batch.present[i] =
          PreprocessImage(paths[i], options, augmentation, key, batch.chw.data() + i * per, &error)
              ? 1
              : 0;
      if (!batch.present[i]) errors[i] = std::move(error);
    }
  });
  for (size_t i = 0; i < n; ++i) {
    if (paths[i].empty()) {
      ++batch.absent;
    } else if (!batch.present[i]) {
      ++batch.fallbacks;
      if (batch.failures.size() < kMaxFailureNotes)
        batch.failures.push_back(paths[i] + ": " + errors[i]);
    }
  }
  return batch;
}

std::string DescribeImageFailures(const ImageBatch& batch) {
  if (batch.absent == 0 && batch.fallbacks == 0) return "";
  std::string s = std::to_string(batch.absent) + " items without an image, " +
                  std::to_string(batch.fallbacks) + " unusable images (zero features, present=0)";
  for (size_t i = 0; i < batch.failures.size(); ++i)
    s += (i == 0 ? ": " : "; ") + batch.failures[i];
  if (batch.fallbacks > static_cast<int64_t>(batch.failures.size())) s += "; ...";
  return s;
}

}  // namespace recfuse::encoders
