// Text assembly (no review leakage) and the SentencePiece tokenizer.
#include <gtest/gtest.h>

#include <filesystem>

#include "encoders/item_text.h"
#include "encoders/tokenizer.h"
#include "framework/error.h"
#include "tests/test_util.h"

namespace recfuse::encoders {
namespace {

// u0 rated i0 (train) and i1 (test); u1 rated i1 (train). Reviews on all three pairs.
datasets::Dataset TinyReviewData(std::vector<int64_t>* train_rows) {
  datasets::Dataset d;
  d.name = "tiny";
  const auto u0 = d.users.GetOrAdd("u0"), u1 = d.users.GetOrAdd("u1");
  const auto i0 = d.items.GetOrAdd("i0"), i1 = d.items.GetOrAdd("i1"), i2 = d.items.GetOrAdd("i2");
  d.interactions.Add(u0, i0);
  d.interactions.Add(u0, i1);
  d.interactions.Add(u1, i1);
  d.item_text.push_back({"plot", {"a space opera", "", ""}});
  d.reviews.push_back({u0, i0, 0, "loved the ships"});
  d.reviews.push_back({u0, i1, 0, "testonlyword spoiler"});
  d.reviews.push_back({u1, i1, 0, "slow but fine"});
  d.reviews.push_back({datasets::kNoId, i2, 0, "anonymous praise"});
  d.Finalize();
  *train_rows = {0, 2};
  return d;
}

TEST(TextItemTexts, ReviewsComeFromTrainingPairsOnly) {
  std::vector<int64_t> train;
  const auto d = TinyReviewData(&train);
  TextSourceOptions both;
  const auto items = ItemTexts(d, both, &train);
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0], "a space opera\nloved the ships");
  EXPECT_EQ(items[1], "slow but fine");  // u0's review of i1 is a test pair
  EXPECT_EQ(items[2], "");               // author unknown: cannot be shown to be training
  TextSourceOptions desc{TextSource::kDescription};
  EXPECT_EQ(ItemTexts(d, desc, &train)[0], "a space opera");
  TextSourceOptions reviews{TextSource::kReviews};
  EXPECT_EQ(ItemTexts(d, reviews, &train)[0], "loved the ships");
  const auto users = UserTexts(d, reviews, &train);
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0], "loved the ships");
  EXPECT_EQ(users[1], "slow but fine");
  // No split: every review counts.
  EXPECT_EQ(ItemTexts(d, both, nullptr)[1], "testonlyword spoiler\nslow but fine");
  EXPECT_EQ(ItemTexts(d, both, nullptr)[2], "anonymous praise");
  EXPECT_THROW(UserTexts(d, desc, &train), framework::ConfigError);
  std::vector<int64_t> bad = {7};
  EXPECT_THROW(ItemTexts(d, both, &bad), framework::UnknownIdError);
}

TEST(TextItemTexts, CapsAndSourceNames) {
  TextSourceOptions o;
  o.max_tokens = 2;
  EXPECT_EQ(CapText("  one two   three four", o), "  one two");
  o.max_tokens = 0;
  o.max_chars = 4;
  EXPECT_EQ(CapText("caf\xc3\xa9!", o), "caf");  // never splits the 2-byte é
  o.max_chars = 5;
  EXPECT_EQ(CapText("caf\xc3\xa9!", o), "caf\xc3\xa9");
  o.max_chars = -1;
  EXPECT_THROW(CapText("x", o), framework::ConfigError);
  EXPECT_EQ(ParseTextSource("reviews"), TextSource::kReviews);
  EXPECT_THROW(ParseTextSource("abstract"), framework::ConfigError);
}

std::vector<std::string> Corpus() {
  const char* words[] = {"galaxy", "pirate", "romance", "detective", "murder", "comedy", "robot", "castle",
                         "dragon", "wizard", "ocean",  "journey", "family",    "secret", "war",    "love"};
  std::vector<std::string> texts;
  for (int i = 0; i < 300; ++i) {
    std::string t;
    for (int k = 0; k < 12; ++k) t += std::string(words[(i * 7 + k * 3 + k * k) % 16]) + " ";
    texts.push_back(t);
  }
  return texts;
}

TEST(TextTokenizer, TrainEncodeRoundTripDeterminismAndCache) {
  const std::string dir = testing::TempDir("tok");
  const auto texts = Corpus();
  for (const std::string type : {"unigram", "bpe"}) {
    Tokenizer tok = Tokenizer::Train(texts, 60, type, 1, dir + "/a");
    EXPECT_FALSE(tok.reused_cache());
    EXPECT_GT(tok.vocab_size(), 20);
    const auto ids = tok.Encode("the pirate loves a dragon");
    ASSERT_FALSE(ids.empty());
    std::string joined;
    for (int64_t id : ids) {
      EXPECT_GE(id, 1) << "0 is reserved for padding";
      EXPECT_LT(id, tok.vocab_size());
      joined += tok.IdToPiece(id);
    }
    EXPECT_NE(joined.find("pirate"), std::string::npos) << joined;  // pieces spell the text back
    EXPECT_EQ(tok.IdToPiece(0), "<pad>");
    EXPECT_EQ(tok.Encode("the pirate loves a dragon", 3).size(), 3u);

    // Same texts in another directory: an identical model, trained anew.
    Tokenizer again = Tokenizer::Train(texts, 60, type, 1, dir + "/b");
    EXPECT_FALSE(again.reused_cache());
    EXPECT_EQ(again.Encode("the pirate loves a dragon"), ids);
    // Same key, same directory: loaded from the cache.
    Tokenizer cached = Tokenizer::Train(texts, 60, type, 1, dir + "/a");
    EXPECT_TRUE(cached.reused_cache());
    EXPECT_EQ(cached.model_path(), tok.model_path());
    EXPECT_EQ(cached.Encode("the pirate loves a dragon"), ids);
    // Loading the file a user would pass gives the same ids.
    EXPECT_EQ(Tokenizer::Load(tok.model_path()).Encode("the pirate loves a dragon"), ids);
  }
  // A different vocabulary size is a different cache entry.
  Tokenizer other = Tokenizer::Train(texts, 50, "unigram", 1, dir + "/a");
  EXPECT_FALSE(other.reused_cache());
  size_t models = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/a")) models += e.path().extension() == ".model";
  EXPECT_EQ(models, 3u);
}

TEST(TextTokenizer, EncodeBatchPadsWithZeroAndIgnoresThreads) {
  const std::string dir = testing::TempDir("tokb");
  const auto texts = Corpus();
  Tokenizer tok = Tokenizer::Train(texts, 60, "unigram", 3, dir);
  std::vector<std::string> batch = {"pirate", "", texts[5], texts[9]};
  const TokenBatch b = tok.EncodeBatch(batch, 8, 1);
  ASSERT_EQ(b.rows, 4);
  ASSERT_EQ(b.max_len, 8);
  ASSERT_EQ(b.ids.size(), 32u);
  EXPECT_EQ(b.lengths[1], 0);
  for (int t = 0; t < 8; ++t) EXPECT_EQ(b.ids[8 + t], 0);
  const auto row0 = tok.Encode("pirate");
  ASSERT_EQ(b.lengths[0], static_cast<int64_t>(row0.size()));
  for (size_t t = 0; t < row0.size(); ++t) EXPECT_EQ(b.ids[t], row0[t]);
  for (size_t t = row0.size(); t < 8; ++t) EXPECT_EQ(b.ids[t], 0);
  EXPECT_EQ(b.lengths[2], 8);  // truncated
  const TokenBatch b2 = tok.EncodeBatch(batch, 8, 2);
  EXPECT_EQ(b2.ids, b.ids);
  EXPECT_EQ(b2.lengths, b.lengths);
  EXPECT_THROW(tok.EncodeBatch(batch, 0), framework::ConfigError);
}

TEST(TextTokenizer, ClearErrors) {
  const std::string dir = testing::TempDir("tokerr");
  const auto texts = Corpus();
  EXPECT_THROW(Tokenizer::Train(texts, 60, "wordpiece", 0, dir), framework::ConfigError);
  EXPECT_THROW(Tokenizer::Train({"", "  "}, 60, "unigram", 0, dir), framework::ConfigError);
  EXPECT_THROW(Tokenizer::Train(texts, 4, "unigram", 0, dir), framework::ConfigError);
  // BPE cannot build 50000 pieces out of 16 words: a ConfigError that says what to change.
  try {
    Tokenizer::Train(texts, 50000, "bpe", 0, dir);
    ADD_FAILURE() << "expected ConfigError";
  } catch (const framework::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("vocab_size"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Tokenizer::Load(dir + "/missing.model"), framework::IoError);
}

}  // namespace
}  // namespace recfuse::encoders
