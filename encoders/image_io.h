// Image decoding and preprocessing for the image encoders (OpenCV inside, torch- and
// OpenCV-free API so that frozen-feature code and tests need neither header).
//
// An unusable image (missing file, zero bytes, truncated, corrupt, or a header declaring
// more than max_pixels) is never fatal: its item gets a zero tensor, present = 0, and is
// counted, because one bad file in a 100k-image crawl must not stop an experiment.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace recfuse::encoders {

// 8-bit RGB, row-major height x width x 3.
struct RgbImage {
  int width = 0, height = 0;
  std::vector<uint8_t> pixels;
};

// Width and height as declared by a PNG, JPEG or WebP header, read without decoding, so an
// absurd size can be refused before any allocation. False if the format is not one of
// those or the header is cut short.
bool PeekImageSize(std::string_view bytes, int64_t* width, int64_t* height);

// Decodes an image file into RGB. Returns false and sets *error (a short cause, e.g.
// "zero-byte file", "truncated JPEG", "header declares 100000x100000 pixels") instead of
// throwing; thread-safe.
bool DecodeImageRgb(const std::string& path, int64_t max_pixels, RgbImage* out, std::string* error);

// Encodes `image` at `path` (atomically) in the format its extension names (.png, .jpg,
// .webp; JPEG/WebP at `quality`). For fixtures and tools; throws IoError.
void WriteImage(const std::string& path, const RgbImage& image, int quality = 95);

struct ImagePreprocessOptions {
  int size = 224;          // output is size x size
  int resize_shorter = 0;  // shorter side is resized to this before the centre crop; 0 = size
  std::array<float, 3> mean = {0.485f, 0.456f, 0.406f};  // RGB, on [0, 1] values (ImageNet)
  std::array<float, 3> std = {0.229f, 0.224f, 0.225f};
  int64_t max_pixels = int64_t{1} << 26;  // declared width * height above this = unusable
};

// Training-time augmentation, a pure function of (seed, key, epoch): the same item in the
// same epoch is augmented identically whatever the thread count or batch order.
struct ImageAugmentation {
  bool enabled = false;
  uint64_t seed = 0;
  int64_t epoch = 0;
  bool horizontal_flip = true;  // with probability 1/2
  double max_shift = 0.125;     // crop window shifted by up to max_shift * size pixels per axis
                                // (borders reflected where it leaves the image)
};

struct ImageBatch {
  int size = 0;
  std::vector<float> chw;             // paths.size() x 3 x size x size, zeros where absent
  std::vector<uint8_t> present;       // per path: 1 if decoded
  int64_t absent = 0;                 // empty paths (no image declared)
  int64_t fallbacks = 0;              // non-empty paths that could not be used
  std::vector<std::string> failures;  // "path: cause" for the first few fallbacks, in path order
};

// Preprocesses one image into out[3 * size * size] (CHW, RGB, normalised). `key` selects the
// augmentation stream (e.g. the item id). Returns false (out zeroed, *error set) if unusable.
bool PreprocessImage(const std::string& path, const ImagePreprocessOptions& options,
                     const ImageAugmentation& augmentation, uint64_t key, float* out,
                     std::string* error);

// Loads and preprocesses every path in parallel (static schedule over `threads`; output does
// not depend on the thread count). keys: augmentation key per path (default: the index).
ImageBatch LoadImages(const std::vector<std::string>& paths, const ImagePreprocessOptions& options,
                      int threads, const ImageAugmentation& augmentation = {},
                      const std::vector<uint64_t>* keys = nullptr);

// A one-line summary of what failed, for ItemFeatures::notes ("" when nothing did).
std::string DescribeImageFailures(const ImageBatch& batch);

}  // namespace recfuse::encoders
