// A small trainable image CNN, learned end to end with a recommender (or a probe) when no
// pretrained network fits the images, e.g. the synthetic world's 32-64 px renders.
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "encoders/image_io.h"

namespace recfuse::encoders {

struct SmallCnnImageEncoderOptions {
  explicit SmallCnnImageEncoderOptions(int64_t dim) : dim_(dim) {}
  TORCH_ARG(int64_t, dim);                 // output vector size
  TORCH_ARG(int64_t, base_channels) = 16;  // block b has base_channels * 2^b channels
  TORCH_ARG(int64_t, blocks) = 3;          // each halves the resolution (input >= 2^blocks px)
  TORCH_ARG(int64_t, in_channels) = 3;
};

// blocks x (conv3x3 -> BatchNorm -> ReLU -> maxpool 2x2), global average pool, linear.
// Global pooling makes the output independent of the input resolution.
struct SmallCnnImageEncoderImpl : torch::nn::Module {
  explicit SmallCnnImageEncoderImpl(const SmallCnnImageEncoderOptions& options);
  // images: float [B, in_channels, H, W] (as from ImageBatchToTensor); present: [B] (bool or
  // 0/1 of any type). Returns [B, dim] with all-zero rows where present is 0, so a missing
  // image contributes nothing downstream. Absent rows still pass through BatchNorm in
  // training mode; callers with many absent images should drop them from the batch.
  torch::Tensor forward(const torch::Tensor& images, const torch::Tensor& present);

  SmallCnnImageEncoderOptions options;
  torch::nn::Sequential features{nullptr};
  torch::nn::Linear head{nullptr};
};
TORCH_MODULE(SmallCnnImageEncoder);

// Wraps a LoadImages result as tensors: images [N, 3, size, size] float (a copy), present
// [N] bool.
std::pair<torch::Tensor, torch::Tensor> ImageBatchToTensors(const ImageBatch& batch);

}  // namespace recfuse::encoders
