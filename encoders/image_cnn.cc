#include "encoders/image_cnn.h"

#include "framework/error.h"

namespace recfuse::encoders {

SmallCnnImageEncoderImpl::SmallCnnImageEncoderImpl(const SmallCnnImageEncoderOptions& options_)
    : options(options_) {
  RF_CHECK(options.dim() > 0 && options.blocks() > 0 && options.base_channels() > 0 &&
               options.in_channels() > 0,
           "SmallCnnImageEncoder: dim, blocks, base_channels and in_channels must be positive");
  features = torch::nn::Sequential();
  int64_t in = options.in_channels();
  for (int64_t b = 0; b < options.blocks(); ++b) {
    const int64_t out = options.base_channels() << b;
    // No conv bias: BatchNorm's shift replaces it (a bias there would get no gradient).
    features->push_back(
        torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1).bias(false)));
    features->push_back(torch::nn::BatchNorm2d(out));
    features->push_back(torch::nn::ReLU());
    features->push_back(torch::nn::MaxPool2d(2));
    in = out;
  }
  register_module("features", features);
  head = register_module("head", torch::nn::Linear(in, options.dim()));
}

torch::Tensor SmallCnnImageEncoderImpl::forward(const torch::Tensor& images,
                                                const torch::Tensor& present) {
  TORCH_CHECK(images.dim() == 4 && images.size(1) == options.in_channels(),
              "SmallCnnImageEncoder: images must be [B, ", options.in_channels(), ", H, W], got ",
              images.sizes());
  TORCH_CHECK(present.dim() == 1 && present.size(0) == images.size(0),
              "SmallCnnImageEncoder: present must be [B] with B = ", images.size(0));
  const int64_t min_side = int64_t{1} << options.blocks();
  TORCH_CHECK(images.size(2) >= min_side && images.size(3) >= min_side,
              "SmallCnnImageEncoder: images smaller than ", min_side, "px vanish after ",
              options.blocks(), " poolings");
  const torch::Tensor pooled = features->forward(images).mean({2, 3});
  const torch::Tensor mask = present.to(images.scalar_type()).unsqueeze(1);
  return head->forward(pooled) * mask;
}

std::pair<torch::Tensor, torch::Tensor> ImageBatchToTensors(const ImageBatch& batch) {
  const int64_t n = static_cast<int64_t>(batch.present.size());
  torch::Tensor images = torch::from_blob(const_cast<float*>(batch.chw.data()),
                                          {n, 3, batch.size, batch.size}, torch::kFloat32)
                             .clone();
  torch::Tensor present =
      torch::from_blob(const_cast<uint8_t*>(batch.present.data()), {n}, torch::kUInt8)
          .to(torch::kBool);
  return {images, present};
}

}  // namespace recfuse::encoders
