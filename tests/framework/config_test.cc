#include "framework/config.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "framework/error.h"
#include "framework/hash.h"
#include "framework/io.h"
#include "framework/parallel.h"
#include "framework/rng.h"
#include "tests/test_util.h"

namespace recfuse::framework {
namespace {

std::vector<ParamSpec> Specs() {
  return {{"dim", ParamType::kInt, "64", "embedding size", 1, 4096},
          {"lr", ParamType::kFloat, "0.01", "learning rate", 0, 10},
          {"loss", ParamType::kString, "bpr", "loss", -1, 1, {"bpr", "bce"}}};
}

TEST(Config, LaterLayersWinAndOriginIsKept) {
  Config c;
  c.Set("dim", "32", "model file");
  c.SetFromAssignment("dim=128", "--set");
  EXPECT_EQ(c.GetInt(Specs(), "dim"), 128);
  EXPECT_EQ(c.Origin("dim"), "--set");
  EXPECT_DOUBLE_EQ(c.GetDouble(Specs(), "lr"), 0.01);  // default from the spec
}

TEST(Config, UnknownKeyIsAnErrorNamingKnownKeys) {
  Config c;
  c.Set("dimm", "3", "--set");
  try {
    c.Validate(Specs(), "model bpr");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown key 'dimm'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("dim, lr, loss"), std::string::npos) << e.what();
  }
}

TEST(Config, RangeTypeAndChoiceChecks) {
  Config c;
  c.Set("dim", "0");
  EXPECT_THROW(c.Validate(Specs(), "m"), ConfigError);
  c.Set("dim", "abc");
  EXPECT_THROW(c.Validate(Specs(), "m"), ConfigError);
  c.Set("dim", "8");
  c.Set("loss", "hinge");
  EXPECT_THROW(c.Validate(Specs(), "m"), ConfigError);
  c.Set("loss", "bce");
  EXPECT_NO_THROW(c.Validate(Specs(), "m"));
  c.Set("lr", "nan");
  EXPECT_THROW(c.Validate(Specs(), "m"), ConfigError);
}

TEST(Config, LoadFileWithSectionsAndMalformedLine) {
  const std::string dir = testing::TempDir("cfg");
  testing::WriteText(dir + "/a.conf", "# comment\nseed = 3\n[model]\ndim = 16  # inline\n");
  Config c;
  c.LoadFile(dir + "/a.conf");
  EXPECT_EQ(c.GetInt("seed", 0), 3);
  EXPECT_EQ(c.GetInt("model.dim", 0), 16);
  EXPECT_EQ(c.Subset("model.").GetInt("dim", 0), 16);
  testing::WriteText(dir + "/b.conf", "seed = 3\nno equals sign\n");
  try {
    c.LoadFile(dir + "/b.conf");
    FAIL();
  } catch (const DataError& e) {
    EXPECT_EQ(e.line(), 2);
    EXPECT_NE(std::string(e.what()).find("b.conf:2:"), std::string::npos);
  }
}

TEST(Config, Lists) {
  Config c;
  c.Set("ks", "10, 20,50");
  EXPECT_EQ(c.GetIntList("ks", {}), (std::vector<int64_t>{10, 20, 50}));
  c.Set("ks", "10,x");
  EXPECT_THROW(c.GetIntList("ks", {}), ConfigError);
}

TEST(Rng, SameSeedSameStreamAndUniformIntInRange) {
  Rng a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = a.Next();
    EXPECT_EQ(x, b.Next());
    differs |= x != c.Next();
  }
  EXPECT_TRUE(differs);
  std::vector<int> counts(7, 0);
  for (int i = 0; i < 70000; ++i) ++counts[a.UniformInt(7)];
  for (int n : counts) EXPECT_NEAR(n, 10000, 500);
  double sum = 0, sq = 0;
  for (int i = 0; i < 100000; ++i) {
    const double z = a.Normal();
    sum += z;
    sq += z * z;
  }
  EXPECT_NEAR(sum / 1e5, 0.0, 0.02);
  EXPECT_NEAR(sq / 1e5, 1.0, 0.02);
}

TEST(Parallel, RangesCoverEverythingOnceAndPropagateErrors) {
  std::vector<int> hits(1000, 0);
  ParallelRanges(0, 1000, 3, [&](int64_t lo, int64_t hi, int) {
    for (int64_t i = lo; i < hi; ++i) ++hits[i];
  });
  for (int h : hits) EXPECT_EQ(h, 1);
  std::vector<int> hits2(1003, 0);
  ParallelChunks(0, 1003, 10, 2, [&](int64_t lo, int64_t hi, int) {
    for (int64_t i = lo; i < hi; ++i) ++hits2[i];
  });
  for (int h : hits2) EXPECT_EQ(h, 1);
  EXPECT_THROW(ParallelRanges(0, 10, 2, [](int64_t lo, int64_t, int) {
                 if (lo > 0) throw Error("boom");
               }),
               Error);
}

TEST(Io, AtomicWriteReplacesWholeAndLeavesNoTemp) {
  const std::string dir = testing::TempDir("io");
  WriteFileAtomic(dir + "/x.txt", "hello");
  EXPECT_EQ(ReadFile(dir + "/x.txt"), "hello");
  {
    AtomicFile f(dir + "/x.txt");
    f << "never committed";
  }
  EXPECT_EQ(ReadFile(dir + "/x.txt"), "hello");
  EXPECT_THROW(ReadFile(dir + "/missing.txt"), IoError);
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir)) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1);
}

TEST(Io, LineCursorHandlesCrlfAndMissingFinalNewline) {
  LineCursor c("a\r\nb\n\nc");
  std::string_view l;
  std::vector<std::string> lines;
  while (c.Next(&l)) lines.emplace_back(l);
  EXPECT_EQ(lines, (std::vector<std::string>{"a", "b", "", "c"}));
  EXPECT_EQ(c.line_number(), 4);
  std::string_view f[4];
  EXPECT_EQ(SplitFields("x\ty\t\tz", '\t', f, 4), 4u);
  EXPECT_EQ(f[2], "");
  EXPECT_EQ(SplitFields("x\ty\tz", '\t', f, 2), 2u);
  EXPECT_EQ(f[1], "y\tz");
}

TEST(Hash, StableAndSensitive) {
  Hasher a, b, c;
  a.Add("abc").AddPod(1);
  b.Add("abc").AddPod(1);
  c.Add("abd").AddPod(1);
  EXPECT_EQ(a.Digest(), b.Digest());
  EXPECT_NE(a.Digest(), c.Digest());
  EXPECT_EQ(a.HexDigest().size(), 16u);
}

}  // namespace
}  // namespace recfuse::framework

namespace recfuse::framework {
namespace {

// RFC 3629 well-formedness, case by case (Unicode 15, table 3-7).
TEST(Utf8, AcceptsWellFormedAndRejectsEachIllFormedClass) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("caf\xC3\xA9"));                  // U+00E9
  EXPECT_TRUE(IsValidUtf8("\xE2\x82\xAC"));                 // U+20AC
  EXPECT_TRUE(IsValidUtf8("\xF0\x9F\x98\x80"));             // U+1F600
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));             // U+10FFFF, the last code point
  EXPECT_FALSE(IsValidUtf8("caf\xE9"));                     // Latin-1 byte
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));                    // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));                // overlong, 3 bytes
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));                // surrogate U+D800
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));            // U+110000
  EXPECT_FALSE(IsValidUtf8("\xE2\x82"));                    // truncated at the end
  EXPECT_FALSE(IsValidUtf8("\xE2\x28\xA1"));                // bad continuation byte
  EXPECT_EQ(Utf8SequenceLength("a\xF0\x9F\x98\x80", 1), 4u);
  EXPECT_EQ(Utf8SequenceLength("\xE9x", 0), 0u);
}

}  // namespace
}  // namespace recfuse::framework
