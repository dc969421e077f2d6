#include "encoders/image_cnn.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "datasets/load.h"
#include "datasets/synthetic.h"
#include "encoders/threads.h"
#include "framework/rng.h"
#include "tests/encoders/torch_test_util.h"
#include "tests/test_util.h"

namespace recfuse::encoders {
namespace {

SmallCnnImageEncoder MakeEncoder(int64_t dim, uint64_t seed) {
  torch::manual_seed(seed);
  return SmallCnnImageEncoder(SmallCnnImageEncoderOptions(dim).base_channels(4).blocks(3));
}

TEST(ImageCnn, OutputShapeAndZeroRowsForAbsentImages) {
  encoders::SetTorchThreads(1);
  auto enc = MakeEncoder(6, 1);
  torch::manual_seed(2);
  const auto images = torch::randn({4, 3, 16, 20});
  const auto present = torch::tensor({1, 0, 1, 1}, torch::kUInt8).to(torch::kBool);
  const auto out = enc->forward(images, present);
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{4, 6}));
  EXPECT_EQ(out[1].abs().sum().item<float>(), 0.0f);
  EXPECT_GT(out[0].abs().sum().item<float>(), 0.0f);
  EXPECT_THROW(enc->forward(torch::randn({2, 1, 16, 16}), torch::ones({2})),
               c10::Error);  // wrong channels
  EXPECT_THROW(enc->forward(torch::randn({2, 3, 4, 4}), torch::ones({2})),
               c10::Error);  // too small
}

TEST(ImageCnn, GradientsReachEveryParameter) {
  encoders::SetTorchThreads(1);
  auto enc = MakeEncoder(5, 3);
  torch::manual_seed(4);
  const auto images = torch::randn({6, 3, 16, 16});
  const auto present = torch::ones({6});
  const auto target = torch::randn({6, 5});
  testing::ExpectGradientsReachEveryParameter(
      *enc, [&] { return (enc->forward(images, present) - target).pow(2).sum(); });
}

TEST(ImageCnn, SameSeedSameOutputAndEvalModeIgnoresBatchComposition) {
  encoders::SetTorchThreads(2);
  torch::manual_seed(9);
  const auto images = torch::randn({5, 3, 16, 16});
  const auto present = torch::ones({5});
  auto a = MakeEncoder(4, 11);
  auto b = MakeEncoder(4, 11);
  EXPECT_TRUE(torch::equal(a->forward(images, present), b->forward(images, present)));
  // Training-mode passes move BatchNorm's running statistics; eval mode then uses them only,
  // so an image's output neither varies between calls nor with its batch companions.
  a->forward(images * 2 + 1, present);
  a->eval();
  const auto full = a->forward(images, present);
  EXPECT_TRUE(torch::equal(full, a->forward(images, present)));
  const auto alone = a->forward(images.slice(0, 2, 3), present.slice(0, 2, 3));
  EXPECT_TRUE(torch::allclose(alone[0], full[2], 1e-5, 1e-6));
}

TEST(ImageCnn, LearnsTheLatentClusterFromSyntheticImages) {
  datasets::SyntheticOptions o;
  o.users = 150;
  o.items = 240;
  o.interactions = 5000;
  o.image_size = 32;
  o.signal_image = 1.0;
  o.threads = 2;
  const std::string dir = testing::TempDir("cnn_world");
  datasets::GenerateSynthetic(dir, o);
  const auto data = datasets::LoadDataset(dir);
  const auto truth = datasets::ReadSyntheticTruth(dir);
  std::vector<int64_t> label(static_cast<size_t>(data.num_items()), -1);
  for (size_t r = 0; r < truth.item_tokens.size(); ++r)
    if (auto id = data.items.Find(truth.item_tokens[r]); id != datasets::kNoId)
      label[id] = truth.item_cluster[r];

  ImagePreprocessOptions pre;
  pre.size = 32;
  const auto batch = LoadImages(data.item_image, pre, 2);
  ASSERT_EQ(batch.fallbacks + batch.absent, 0);
  auto [images, present] = ImageBatchToTensors(batch);
  const auto labels = torch::tensor(label, torch::kInt64);

  std::vector<int64_t> order(static_cast<size_t>(data.num_items()));
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  framework::Rng rng(5);
  rng.Shuffle(order);
  const int64_t n_train = static_cast<int64_t>(order.size()) * 2 / 3;
  const auto all = torch::tensor(order, torch::kInt64);
  const auto train = all.slice(0, 0, n_train), test = all.slice(0, n_train);

  encoders::SetTorchThreads(2);
  torch::manual_seed(1);
  SmallCnnImageEncoder enc(SmallCnnImageEncoderOptions(truth.clusters).base_channels(8).blocks(3));
  torch::optim::Adam opt(enc->parameters(), torch::optim::AdamOptions(1e-2));
  for (int epoch = 0; epoch < 15; ++epoch) {
    enc->train();
    const auto perm = train.index_select(0, torch::randperm(n_train));
    for (int64_t lo = 0; lo < n_train; lo += 32) {
      const auto idx = perm.slice(0, lo, std::min(n_train, lo + 32));
      opt.zero_grad();
      const auto logits = enc->forward(images.index_select(0, idx), present.index_select(0, idx));
      torch::nn::functional::cross_entropy(logits, labels.index_select(0, idx)).backward();
      opt.step();
    }
  }
  enc->eval();
  torch::NoGradGuard no_grad;
  const auto pred =
      enc->forward(images.index_select(0, test), present.index_select(0, test)).argmax(1);
  const double acc =
      pred.eq(labels.index_select(0, test)).to(torch::kFloat64).mean().item<double>();
  EXPECT_GE(acc, 0.6) << "chance " << 1.0 / truth.clusters;
  std::printf("small CNN held-out cluster accuracy: %.3f, chance %.3f\n", acc,
              1.0 / truth.clusters);
}

}  // namespace
}  // namespace recfuse::encoders
