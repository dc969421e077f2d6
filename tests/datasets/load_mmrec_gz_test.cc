// The MMRec layout (tests/data/mmrec/toy) read as a fixed split, and gzipped inputs
// (.json.gz, .inter.gz, .csv.gz) loading to the same dataset as their plain versions.
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>

#include "datasets/load.h"
#include "datasets/parse_util.h"
#include "datasets/split.h"
#include "framework/error.h"
#include "framework/io.h"
#include "tests/test_util.h"

namespace recfuse::datasets {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::TestData;
using testing::WriteText;

// The gzip file format as zlib's gzwrite produces it (the same as the gzip tool).
void WriteGz(const std::string& path, const std::string& content) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  ASSERT_EQ(gzwrite(f, content.data(), static_cast<unsigned>(content.size())), static_cast<int>(content.size()));
  ASSERT_EQ(gzclose(f), Z_OK);
}

std::string Message(const std::function<void()>& f) {
  try {
    f();
  } catch (const framework::Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(LoadMmrec, ToyFixtureIsAFixedSplitWithDenseItemIds) {
  const Dataset d = LoadDataset(TestData("mmrec/toy"));
  EXPECT_EQ(d.name, "toy");
  EXPECT_EQ(d.num_users(), 4);
  // Items 0..4 in id order, item 3 included although nobody interacted with it: index ==
  // itemID == row of image_feat.npy.
  ASSERT_EQ(d.num_items(), 5);
  for (Index i = 0; i < 5; ++i) EXPECT_EQ(d.items.Token(i), std::to_string(i));
  ASSERT_EQ(d.interactions.size(), 11u);
  EXPECT_TRUE(d.interactions.has_rating);
  EXPECT_TRUE(d.interactions.has_timestamp);
  EXPECT_EQ(d.interactions.rating[3], 5.0f);
  EXPECT_EQ(d.interactions.timestamp[3], 103.0);
  EXPECT_EQ(d.items.Token(d.interactions.item[3]), "4");

  const Split s = MakeSplit(d, SplitSpec::Parse("fixed"), 0);
  EXPECT_EQ(s.train.size(), 6u);
  EXPECT_EQ(s.valid.size(), 2u);
  EXPECT_EQ(s.test.size(), 3u);
  EXPECT_EQ(s.valid, (std::vector<int64_t>{2, 9}));
  EXPECT_EQ(s.test, (std::vector<int64_t>{3, 6, 10}));

  auto has_note = [&](const std::string& part) {
    for (const auto& n : d.report.notes)
      if (n.find(part) != std::string::npos) return true;
    return false;
  };
  EXPECT_TRUE(has_note("6 / 2 / 3 interactions"));
  EXPECT_TRUE(has_note("1 valid/test interactions are by users with no training interaction"));
  EXPECT_TRUE(has_note("features:npy:image_feat.npy"));

  // The .inter file itself loads the same way.
  const Dataset e = LoadDataset(TestData("mmrec/toy/toy.inter"));
  EXPECT_EQ(e.ContentHash(), d.ContentHash());
}

TEST(LoadMmrec, BadRowsNameFileAndLine) {
  const std::string dir = TempDir("mmrec_bad");
  const std::string header = "userID\titemID\trating\ttimestamp\tx_label\n";
  WriteText(dir + "/a/a.inter", header + "0\t0\t5\t1\t0\n1\t2\t5\t1\t3\n");
  EXPECT_EQ(Message([&] { LoadDataset(dir + "/a"); }),
            dir + "/a/a.inter:3: x_label '3' must be 0 (train), 1 (valid) or 2 (test)");
  WriteText(dir + "/b/b.inter", header + "0\tB00X\t5\t1\t0\n");
  EXPECT_EQ(Message([&] { LoadDataset(dir + "/b"); }),
            dir + "/b/b.inter:2: itemID 'B00X' is not a non-negative integer (MMRec's .inter holds dense integer ids)");
  WriteText(dir + "/c/c.inter", header + "0\t1\t5\t1\n");
  EXPECT_EQ(Message([&] { LoadDataset(dir + "/c"); }),
            dir + "/c/c.inter:2: expected 5 tab-separated fields (per the header), got 4");
  // Without x_label it is not MMRec's layout: the atomic loader explains the header.
  WriteText(dir + "/d/d.inter", "userID\titemID\n0\t1\n");
  EXPECT_NE(Message([&] { LoadDataset(dir + "/d"); }).find("has no type"), std::string::npos);
}

TEST(LoadGz, AmazonJsonGzEqualsPlainAndIsDetected) {
  const std::string src = TestData("amazon/beauty");
  const std::string dir = TempDir("amazon_gz") + "/beauty";
  fs::create_directories(dir);
  fs::copy(src + "/images", dir + "/images");
  WriteGz(dir + "/reviews.jsonl.gz", framework::ReadFile(src + "/reviews.jsonl"));
  WriteGz(dir + "/meta_beauty.jsonl.gz", framework::ReadFile(src + "/meta_beauty.jsonl"));
  const Dataset plain = LoadDataset(src);
  const Dataset gz = LoadDataset(dir);
  EXPECT_GT(plain.interactions.size(), 0u);
  EXPECT_EQ(gz.interactions.size(), plain.interactions.size());
  EXPECT_EQ(gz.item_text[0].values, plain.item_text[0].values);
  EXPECT_EQ(gz.reviews.size(), plain.reviews.size());
  EXPECT_EQ(gz.ContentHash(), plain.ContentHash());

  // The file people download, alone in a folder: `data inspect` must find it.
  const std::string gift = TempDir("gift");
  WriteGz(gift + "/Gift_Cards_5.json.gz", framework::ReadFile(src + "/reviews.jsonl"));
  const Dataset g = LoadDataset(gift);
  EXPECT_EQ(g.interactions.size(), plain.interactions.size());
  const Dataset file = LoadDataset(gift + "/Gift_Cards_5.json.gz");
  EXPECT_EQ(file.name, "Gift_Cards_5");
}

TEST(LoadGz, AtomicAndCsvGzEqualPlain) {
  const std::string src = TestData("atomic/tiny");
  const std::string dir = TempDir("atomic_gz") + "/tiny";
  fs::create_directories(dir);
  for (const auto& e : fs::directory_iterator(src)) {
    if (e.is_directory()) {
      fs::copy(e.path(), dir + "/" + e.path().filename().string(), fs::copy_options::recursive);
      continue;
    }
    WriteGz(dir + "/" + e.path().filename().string() + ".gz", framework::ReadFile(e.path().string()));
  }
  const Dataset plain = LoadDataset(src);
  const Dataset gz = LoadDataset(dir);
  EXPECT_EQ(gz.interactions.size(), plain.interactions.size());
  EXPECT_EQ(gz.kg.size(), plain.kg.size());
  EXPECT_EQ(gz.item_text.size(), plain.item_text.size());
  EXPECT_EQ(gz.reviews.size(), plain.reviews.size());
  EXPECT_EQ(gz.ContentHash(), plain.ContentHash());

  const std::string csv = TempDir("csv_gz") + "/ratings.csv.gz";
  WriteGz(csv, framework::ReadFile(TestData("csv/ratings.csv")));
  LoadOptions o;
  o.format_options.Set("csv.user", "userId", "test");
  o.format_options.Set("csv.item", "movieId", "test");
  o.format_options.Set("csv.rating", "rating", "test");
  const Dataset c_plain = LoadDataset(TestData("csv/ratings.csv"), o);
  const Dataset c_gz = LoadDataset(csv, o);
  EXPECT_EQ(c_gz.name, "ratings");
  EXPECT_EQ(c_gz.ContentHash(), c_plain.ContentHash());
}

TEST(LoadGz, CorruptAndTruncatedGzipAreClearErrors) {
  const std::string dir = TempDir("gz_bad");
  std::string text;
  for (int k = 0; k < 200; ++k) text += "{\"reviewerID\": \"u" + std::to_string(k % 7) + "\", \"asin\": \"a\"}\n";
  WriteGz(dir + "/x.json.gz", text);
  std::string bytes = framework::ReadFile(dir + "/x.json.gz");
  ASSERT_GT(bytes.size(), 40u);

  std::string corrupt = bytes;
  for (size_t k = 12; k < 24; ++k) corrupt[k] = static_cast<char>(corrupt[k] ^ 0x5a);
  WriteText(dir + "/c/corrupt.json.gz", corrupt);
  EXPECT_EQ(Message([&] { LoadDataset(dir + "/c/corrupt.json.gz"); }).rfind(dir + "/c/corrupt.json.gz: corrupt gzip data (zlib: ", 0), 0u)
      << Message([&] { LoadDataset(dir + "/c/corrupt.json.gz"); });

  WriteText(dir + "/t/cut.json.gz", bytes.substr(0, bytes.size() / 2));
  EXPECT_EQ(Message([&] { LoadDataset(dir + "/t/cut.json.gz"); }),
            dir + "/t/cut.json.gz: truncated gzip data (the file ends inside the compressed stream; was the "
                  "download interrupted?)");

  WriteText(dir + "/n/plain.json.gz", "{\"reviewerID\": \"u\", \"asin\": \"a\"}\n");
  EXPECT_EQ(Message([&] { LoadDataset(dir + "/n/plain.json.gz"); }),
            dir + "/n/plain.json.gz: named .gz but is not gzip data (no gzip magic bytes)");

  // Header sniffing (format detection, atomic extras) reads only the first line, and still
  // reports damage it meets there.
  EXPECT_EQ(internal::ReadFirstLine(dir + "/x.json.gz"), "{\"reviewerID\": \"u0\", \"asin\": \"a\"}");
  EXPECT_EQ(internal::ReadFirstLine(dir + "/n/plain.json.gz"), "{\"reviewerID\": \"u\", \"asin\": \"a\"}");
  EXPECT_EQ(Message([&] { internal::ReadFirstLine(dir + "/c/corrupt.json.gz"); }).rfind(dir + "/c/corrupt.json.gz: corrupt gzip data", 0), 0u)
      << Message([&] { internal::ReadFirstLine(dir + "/c/corrupt.json.gz"); });

  // Two members back to back (cat a.gz b.gz) read as one stream, as gzip -d does.
  WriteGz(dir + "/m1.gz", "first\n");
  WriteGz(dir + "/m2.gz", "second\n");
  WriteText(dir + "/both.gz", framework::ReadFile(dir + "/m1.gz") + framework::ReadFile(dir + "/m2.gz"));
  EXPECT_EQ(internal::ReadInputFile(dir + "/both.gz"), "first\nsecond\n");
}

}  // namespace
}  // namespace recfuse::datasets
