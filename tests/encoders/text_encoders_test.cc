// Trainable text encoders: shapes, masking, gradients, determinism, and learning the
// synthetic world's latent cluster from item descriptions.
#include "encoders/text_encoders.h"

#include <gtest/gtest.h>

#include <iostream>

#include "datasets/load.h"
#include "datasets/synthetic.h"
#include "encoders/item_text.h"
#include "encoders/threads.h"
#include "framework/error.h"
#include "framework/rng.h"
#include "tests/encoders/torch_test_util.h"
#include "tests/test_util.h"

namespace recfuse::encoders {
namespace {

constexpr int64_t kVocab = 30;

// Rows: 3 tokens, 1 token, empty, 5 tokens, with a pad between tokens in the last one.
torch::Tensor Ids() {
  return torch::tensor({4, 7, 9, 0, 0, 0,  //
                        12, 0, 0, 0, 0, 0,  //
                        0, 0, 0, 0, 0, 0,   //
                        1, 2, 0, 3, 29, 5},
                       torch::kInt64)
      .view({4, 6});
}

template <typename Encoder>
void ExpectMaskingContract(Encoder enc, int64_t dim) {
  enc->eval();
  const auto ids = Ids();
  const TextEncoding out = enc->forward(ids);
  ASSERT_EQ(out.embedding.sizes(), (std::vector<int64_t>{4, dim}));
  ASSERT_EQ(out.mask.sizes(), (std::vector<int64_t>{4}));
  EXPECT_TRUE(torch::isfinite(out.embedding).all().item<bool>());
  EXPECT_EQ(out.mask[0].item<float>(), 1.0f);
  EXPECT_EQ(out.mask[2].item<float>(), 0.0f);
  EXPECT_EQ(out.embedding[2].abs().sum().item<float>(), 0.0f) << "an empty row encodes to zeros";
  EXPECT_GT(out.embedding[0].abs().sum().item<float>(), 0.0f);
  // Extra padding columns change nothing.
  const auto padded = torch::cat({ids, torch::zeros({4, 5}, torch::kInt64)}, 1);
  EXPECT_TRUE(torch::allclose(enc->forward(padded).embedding, out.embedding, 1e-5, 1e-6));
  // A row's output does not depend on the other rows of the batch.
  EXPECT_TRUE(torch::allclose(enc->forward(ids.slice(0, 1, 2)).embedding, out.embedding.slice(0, 1, 2), 1e-5, 1e-6));
  // An all-empty batch and a zero-length batch are fine too.
  const TextEncoding empty = enc->forward(torch::zeros({2, 3}, torch::kInt64));
  EXPECT_EQ(empty.embedding.abs().sum().item<float>(), 0.0f);
  const TextEncoding zero_len = enc->forward(torch::zeros({2, 0}, torch::kInt64));
  EXPECT_EQ(zero_len.mask.sum().item<float>(), 0.0f);
  EXPECT_THROW(enc->forward(torch::full({1, 2}, kVocab, torch::kInt64)), framework::UnknownIdError);
  // Gradients reach every parameter, and an empty row contributes none (no NaN).
  enc->train();
  testing::ExpectGradientsReachEveryParameter(*enc, [&] { return enc->forward(ids).embedding.pow(2).sum(); });
}

TEST(TextEncoders, MeanEmbeddingMaskingAndValues) {
  torch::manual_seed(1);
  MeanEmbeddingTextEncoder enc(MeanEmbeddingTextEncoderOptions(kVocab, 8));
  ExpectMaskingContract(enc, 8);
  // Masked mean by hand.
  torch::NoGradGuard ng;
  const auto w = enc->embedding->weight;
  const auto out = enc->forward(Ids()).embedding;
  EXPECT_TRUE(torch::allclose(out[0], (w[4] + w[7] + w[9]) / 3));
  EXPECT_TRUE(torch::allclose(out[3], (w[1] + w[2] + w[3] + w[29] + w[5]) / 5));
}

TEST(TextEncoders, TextCnnMaskingAndShortTexts) {
  torch::manual_seed(2);
  TextCnnEncoder enc(TextCnnEncoderOptions(kVocab, 6).embedding_dim(5).filters(4));
  ExpectMaskingContract(enc, 6);
  EXPECT_THROW(TextCnnEncoder(TextCnnEncoderOptions(kVocab, 6).widths({})), framework::ConfigError);
}

TEST(TextEncoders, AttentionPoolingMaskingAndWeights) {
  torch::manual_seed(3);
  AttentionPoolingTextEncoder enc(AttentionPoolingTextEncoderOptions(kVocab, 7).embedding_dim(6).attention_dim(5));
  ExpectMaskingContract(enc, 7);
  torch::NoGradGuard ng;
  const auto out = enc->forward(Ids());
  ASSERT_EQ(out.attention.sizes(), (std::vector<int64_t>{4, 6}));
  const auto sums = out.attention.sum(1);
  EXPECT_NEAR(sums[0].item<float>(), 1.0f, 1e-5);
  EXPECT_NEAR(sums[3].item<float>(), 1.0f, 1e-5);
  EXPECT_EQ(sums[2].item<float>(), 0.0f);
  EXPECT_EQ(out.attention[1][0].item<float>(), 1.0f);  // a single token takes all weight
  EXPECT_EQ(out.attention[0].slice(0, 3).abs().sum().item<float>(), 0.0f);  // pads get none
  EXPECT_EQ(out.attention[3][2].item<float>(), 0.0f);
}

TEST(TextEncoders, AttentionPoolingGradientMatchesFiniteDifferences) {
  torch::manual_seed(4);
  AttentionPoolingTextEncoder enc(AttentionPoolingTextEncoderOptions(kVocab, 3).embedding_dim(4).attention_dim(3));
  enc->to(torch::kFloat64);
  const auto ids = Ids();
  const auto target = torch::randn({4, 3}, torch::kFloat64);
  auto loss = [&] { return (enc->forward(ids).embedding - target).pow(2).sum(); };
  for (auto& p : enc->named_parameters()) {
    SCOPED_TRACE(p.key());
    testing::ExpectGradientMatchesFiniteDifferences(p.value(), loss);
  }
}

TEST(TextEncoders, SameSeedSameOutput) {
  auto run = [](uint64_t seed) {
    torch::manual_seed(seed);
    encoders::SetTorchThreads(1);
    TextCnnEncoder enc(TextCnnEncoderOptions(kVocab, 5).embedding_dim(4).filters(3));
    return enc->forward(Ids()).embedding.detach();
  };
  const auto a = run(7), b = run(7), c = run(8);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, c));
}

// Synthetic world with fully informative descriptions: a mean-embedding encoder plus a
// linear classifier, trained on 70% of the items, predicts the held-out items' latent
// cluster far above chance.
TEST(TextEncoders, MeanEmbeddingLearnsTheLatentClusterFromDescriptions) {
  datasets::SyntheticOptions o;
  o.seed = 21;
  o.users = 150;
  o.items = 240;
  o.interactions = 5000;
  o.image_size = 32;
  o.images = false;
  o.signal_text = 1.0;
  o.threads = 1;
  const std::string dir = testing::TempDir("textenc");
  datasets::GenerateSynthetic(dir, o);
  const auto data = datasets::LoadDataset(dir);
  const auto truth = datasets::ReadSyntheticTruth(dir);
  std::vector<int64_t> labels(static_cast<size_t>(data.num_items()), -1);
  for (size_t r = 0; r < truth.item_tokens.size(); ++r) {
    const auto id = data.items.Find(truth.item_tokens[r]);
    if (id != datasets::kNoId) labels[static_cast<size_t>(id)] = truth.item_cluster[r];
  }
  TextSourceOptions desc{TextSource::kDescription};
  const auto texts = ItemTexts(data, desc, nullptr);
  std::vector<int64_t> items;
  for (size_t i = 0; i < texts.size(); ++i)
    if (labels[i] >= 0 && !texts[i].empty()) items.push_back(static_cast<int64_t>(i));
  framework::Rng rng(3);
  rng.Shuffle(items);
  const size_t n_train = items.size() * 7 / 10;
  std::vector<std::string> train_texts;
  for (size_t k = 0; k < n_train; ++k) train_texts.push_back(texts[static_cast<size_t>(items[k])]);
  const Tokenizer tok = Tokenizer::Train(train_texts, 400, "unigram", 1, dir + "/spm");
  const auto batch = TokenBatchToTensor(tok.EncodeBatch(texts, 64));
  const auto y = torch::tensor(labels, torch::kInt64);
  const auto idx = torch::tensor(items, torch::kInt64);
  const auto train_idx = idx.slice(0, 0, static_cast<int64_t>(n_train));
  const auto test_idx = idx.slice(0, static_cast<int64_t>(n_train));

  torch::manual_seed(5);
  encoders::SetTorchThreads(1);
  MeanEmbeddingTextEncoder enc(MeanEmbeddingTextEncoderOptions(tok.vocab_size(), 16));
  torch::nn::Linear head(16, truth.clusters);
  std::vector<torch::Tensor> params = enc->parameters();
  for (auto& p : head->parameters()) params.push_back(p);
  torch::optim::Adam opt(params, torch::optim::AdamOptions(0.05));
  for (int epoch = 0; epoch < 60; ++epoch) {
    opt.zero_grad();
    const auto logits = head(enc->forward(batch.index_select(0, train_idx)).embedding);
    const auto loss = torch::nn::functional::cross_entropy(logits, y.index_select(0, train_idx));
    loss.backward();
    opt.step();
  }
  torch::NoGradGuard ng;
  const auto pred = head(enc->forward(batch.index_select(0, test_idx)).embedding).argmax(1);
  const double acc = pred.eq(y.index_select(0, test_idx)).to(torch::kFloat64).mean().item<double>();
  const double chance = 1.0 / truth.clusters;
  std::cout << "held-out cluster accuracy " << acc << " (chance " << chance << ")\n";
  EXPECT_GE(acc, 0.7);
}

}  // namespace
}  // namespace recfuse::encoders
