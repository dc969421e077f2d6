// Regression: SentencePiece linked next to libtorch crashed before main (two protobufs).
// Through the privately loaded shim both work in one process.
#include "encoders/sentencepiece_api.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>

#include "framework/error.h"
#include "tests/test_util.h"

namespace recfuse::encoders {
namespace {

TEST(SentencePieceApi, TrainsAndEncodesInAProcessThatUsesTorch) {
  const auto t = torch::ones({2, 2});  // torch (and its protobuf) is live in this process
  EXPECT_EQ(t.sum().item<float>(), 4.0f);
  const std::string dir = testing::TempDir("spm");
  {
    std::ofstream out(dir + "/corpus.txt");
    for (int i = 0; i < 500; ++i) out << "the quick brown fox jumps over the lazy dog " << (i % 13) << "\n";
  }
  SentencePieceTrain("--input=" + dir + "/corpus.txt --model_prefix=" + dir +
                     "/m --vocab_size=48 --hard_vocab_limit=false --model_type=unigram --minloglevel=2 --num_threads=1");
  SentencePieceModel model(dir + "/m.model");
  EXPECT_GT(model.vocab_size(), 40);
  const auto ids = model.Encode("the lazy fox");
  ASSERT_FALSE(ids.empty());
  for (int32_t id : ids) {
    EXPECT_GE(id, 0);
    EXPECT_LT(id, model.vocab_size());
  }
  EXPECT_EQ(model.Encode("the lazy fox", 2).size(), 2u);
  EXPECT_EQ(model.Encode("the lazy fox"), ids);  // deterministic
}

TEST(SentencePieceApi, ErrorsAreClear) {
  EXPECT_THROW(SentencePieceModel("/nonexistent/m.model"), framework::IoError);
  EXPECT_THROW(SentencePieceTrain("--input=/nonexistent.txt --model_prefix=/tmp/x --vocab_size=10"), framework::Error);
}

}  // namespace
}  // namespace recfuse::encoders
