// The bad-input table (docs/bad_inputs.md), case by case: the recfuse binary is run on each
// fixture under tests/data/bad/ (or a tiny file written here), and the exit status and the
// exact message it prints, file:line included, are asserted. Inputs that are accepted by
// policy (duplicates, unknown KG relations, non-UTF-8 text, a 1 MB review, K larger than
// the catalogue) are asserted to load and to report what they did.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/test_util.h"

namespace recfuse {
namespace {

namespace fs = std::filesystem;
using testing::RecfuseBinary;
using testing::RunCommand;
using testing::TempDir;
using testing::TestData;
using testing::WriteText;

std::string Cli(const std::string& args, int* status) {
  std::string out;
  *status = RunCommand(RecfuseBinary() + " " + args, &out);
  return out;
}

// The line recfuse prints for an error: "recfuse: error: <message>".
std::string ErrorLine(const std::string& output) {
  const size_t at = output.find("recfuse: error: ");
  if (at == std::string::npos) return "";
  const size_t end = output.find('\n', at);
  return output.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

// Runs `data inspect` on `path` and expects exit status 2 with exactly `message`.
void ExpectInspectError(const std::string& path, const std::string& message,
                        const std::string& extra = "") {
  int st = 0;
  const std::string out = Cli("data inspect " + path + " " + extra, &st);
  EXPECT_EQ(st, 2) << out;
  EXPECT_EQ(ErrorLine(out), "recfuse: error: " + message) << out;
}

std::string Inter(const std::string& rel) { return TestData("bad/" + rel); }

TEST(BadInput, EmptyFile) {
  ExpectInspectError(Inter("empty"),
                     Inter("empty") + "/empty.inter:1: empty file: expected a header of "
                                      "tab-separated name:type fields (types token, token_seq, "
                                      "float, float_seq or text)");
}

TEST(BadInput, HeaderOnly) {
  ExpectInspectError(Inter("header_only"), Inter("header_only") +
                                               "/header_only.inter:2: no interactions (the file "
                                               "has a header only)");
}

TEST(BadInput, WrongColumnCount) {
  ExpectInspectError(Inter("columns"),
                     Inter("columns") + "/columns.inter:3: expected 4 tab-separated fields (per "
                                        "the header), got 3");
}

TEST(BadInput, NonNumericRating) {
  ExpectInspectError(Inter("rating_text"),
                     Inter("rating_text") + "/rating_text.inter:2: rating 'five' is not a number");
  ExpectInspectError(Inter("ml_rating"),
                     Inter("ml_rating") + "/u.data:2: rating 'x' is not a number");
}

TEST(BadInput, NanAndInfRating) {
  ExpectInspectError(Inter("rating_nan"),
                     Inter("rating_nan") + "/rating_nan.inter:4: rating 'nan' is not finite");
  ExpectInspectError(Inter("rating_inf"),
                     Inter("rating_inf") + "/rating_inf.inter:3: rating 'inf' is not finite");
}

TEST(BadInput, NegativeTimestamp) {
  ExpectInspectError(Inter("negative_ts"),
                     Inter("negative_ts") + "/negative_ts.inter:3: timestamp '-5' is negative");
}

TEST(BadInput, CsvAndJsonLines) {
  ExpectInspectError(Inter("csv_line.csv"), Inter("csv_line.csv") + ":6: rating 'bad' is not a number",
                     "--set data.csv.user=user --set data.csv.item=item --set data.csv.rating=rating");
}

// Policy: duplicates are kept (RecBole does the same) and counted by `data inspect`;
// data.dedup=first|last keeps one per (user, item) and says how many it removed.
TEST(BadInput, DuplicateInteractionsKeptAndCounted) {
  int st = 0;
  std::string out = Cli("data inspect " + Inter("duplicates"), &st);
  ASSERT_EQ(st, 0) << out;
  EXPECT_NE(out.find("1 repeated (user, item) pairs, 1 "), std::string::npos) << out;
  out = Cli("data inspect " + Inter("duplicates") + " --set data.dedup=last", &st);
  ASSERT_EQ(st, 0) << out;
  EXPECT_NE(out.find("0 repeated (user, item) pairs"), std::string::npos) << out;
  EXPECT_NE(out.find("dedup=last"), std::string::npos) << out;
  EXPECT_NE(out.find("removed 1"), std::string::npos) << out;
}

TEST(BadInput, LinkToUnknownItem) {
  ExpectInspectError(Inter("unknown_link"),
                     Inter("unknown_link") + "/unknown_link.link:3: unknown item 'i99' (in "
                                             "neither the .inter nor the .item file)");
}

// Policy: relations are an open vocabulary (RecBole has no declared relation list), so a
// relation seen once is a relation; `data inspect` shows how many there are.
TEST(BadInput, KgRelationsAreOpenVocabulary) {
  int st = 0;
  const std::string out = Cli("data inspect " + Inter("kg_relation") + " --json", &st);
  ASSERT_EQ(st, 0) << out;
  EXPECT_NE(out.find("\"kg_triples\": 2"), std::string::npos) << out;
  EXPECT_NE(out.find("\"kg_relations\": 2"), std::string::npos) << out;
}

// Policy: text is read as UTF-8; bytes that are not valid UTF-8 are decoded as Latin-1
// (old exports) and the load report says how many values that touched.
TEST(BadInput, NonUtf8TextRepairedAndReported) {
  int st = 0;
  const std::string out = Cli("data inspect " + Inter("non_utf8"), &st);
  ASSERT_EQ(st, 0) << out;
  EXPECT_NE(out.find("2 text value(s) were not valid UTF-8; their invalid bytes were read as "
                     "Latin-1 (first: item i1 field 'plot')"),
            std::string::npos)
      << out;
}

TEST(BadInput, OneMegabyteReviewLoads) {
  const std::string dir = TempDir("bad_review") + "/big";
  WriteText(dir + "/big.inter",
            "user_id:token\titem_id:token\trating:float\nu1\ti1\t5\nu2\ti1\t3\nu2\ti2\t4\n");
  std::string review(1 << 20, 'a');
  for (size_t k = 7; k < review.size(); k += 8) review[k] = ' ';
  WriteText(dir + "/big.review", "user_id:token\titem_id:token\treview:text\nu1\ti1\t" + review + "\n");
  int st = 0;
  const std::string out = Cli("data inspect " + dir + " --json", &st);
  ASSERT_EQ(st, 0) << out;
  EXPECT_NE(out.find("\"reviews\": 1"), std::string::npos) << out;
}

TEST(BadInput, ExperimentUnknownKey) {
  const std::string exp = TestData("bad/exp/unknown_key.conf");
  int st = 0;
  const std::string out = Cli("run " + exp + " --out " + TempDir("bad_exp") + "/out", &st);
  EXPECT_EQ(st, 2) << out;
  EXPECT_EQ(ErrorLine(out).rfind("recfuse: error: config: unknown key 'modles' for experiment " +
                                     exp + " (from " + exp + ":7); known keys: ",
                                 0),
            0u)
      << out;
}

TEST(BadInput, ExperimentKeyGivenTwice) {
  const std::string exp = TestData("bad/exp/duplicate_key.conf");
  int st = 0;
  const std::string out = Cli("run " + exp + " --out " + TempDir("bad_exp") + "/out", &st);
  EXPECT_EQ(st, 2) << out;
  EXPECT_EQ(ErrorLine(out), "recfuse: error: " + exp + ":6: key 'seeds' is already set on line 4")
      << out;
}

// Found by experiment_fuzz: a Latin-1 byte in a value reached run.json's JSON writer, which
// threw nlohmann's type_error instead of a recfuse error naming the line.
TEST(BadInput, ExperimentNotUtf8) {
  const std::string exp = TestData("fuzz_regressions/experiment/non_utf8_value.conf");
  int st = 0;
  const std::string out = Cli("run " + exp + " --out " + TempDir("bad_exp") + "/out", &st);
  EXPECT_EQ(st, 2) << out;
  EXPECT_EQ(ErrorLine(out), "recfuse: error: " + exp + ":4: not valid UTF-8 (save the file as UTF-8)")
      << out;
}

TEST(BadInput, ExperimentUnknownModel) {
  const std::string exp = TestData("bad/exp/unknown_model.conf");
  int st = 0;
  const std::string out = Cli("run " + exp + " --out " + TempDir("bad_exp") + "/out", &st);
  EXPECT_EQ(st, 2) << out;
  EXPECT_EQ(ErrorLine(out).rfind("recfuse: error: unknown model 'no_such_model'", 0), 0u) << out;
  EXPECT_NE(ErrorLine(out).find("(from " + exp + ":3)"), std::string::npos) << out;
}

std::string EvaluateArgs(const std::string& data, const std::string& out) {
  return "evaluate --data " + data + " --model pop --seed 0 --out " + out +
         " --log-level warn --set cache_dir=none";
}

// Four items; a global temporal split (train = times 1-4, valid 5-6, test 7-8) leaves u2
// and u3 with no training rows: u1 has every training row and no test item.
std::string TemporalWorld() {
  const std::string dir = TempDir("bad_split") + "/late";
  WriteText(dir + "/late.inter",
            "user_id:token\titem_id:token\ttimestamp:float\nu1\ti1\t1\nu1\ti2\t2\nu1\ti3\t3\n"
            "u1\ti4\t4\nu3\ti1\t5\nu3\ti3\t6\nu2\ti2\t7\nu3\ti4\t8\n");
  return dir;
}
const char kTemporal[] = " --split temporal:0.5,0.25,0.25";

// Policy: users without training rows are evaluated like cold users (the model scores an
// empty history); the run does not stop.
TEST(BadInput, SplitLeavesUsersWithoutTrainingData) {
  int st = 0;
  const std::string out =
      Cli(EvaluateArgs(TemporalWorld(), TempDir("bad_split") + "/out") + kTemporal + " --set ks=2", &st);
  ASSERT_EQ(st, 0) << out;
  EXPECT_NE(out.find("2 users evaluated (1 without test items)"), std::string::npos) << out;
  // The realised split is printed (times 1-4 / 5-6 / 7-8 of the 8 rows).
  EXPECT_NE(out.find("split train 4 (50.0%) / valid 2 (25.0%) / test 2 (25.0%) rows"), std::string::npos) << out;
}

// Policy: K may exceed the catalogue; a top-K list then holds every unmasked item (fewer
// than K), and Precision@K still divides by K (RecBole's definition): each test user has one
// test item and pop ranks it within the 4 items, so precision@1000 = 1/1000.
TEST(BadInput, KLargerThanCatalogue) {
  const std::string out_dir = TempDir("bad_k") + "/out";
  int st = 0;
  const std::string out =
      Cli(EvaluateArgs(TemporalWorld(), out_dir) + kTemporal + " --set ks=1000", &st);
  ASSERT_EQ(st, 0) << out;
  EXPECT_NE(out.find("recall          @1000 1.000000"), std::string::npos) << out;
  EXPECT_NE(out.find("precision       @1000 0.001000"), std::string::npos) << out;
  std::ifstream topk(out_dir + "/topk.tsv");
  ASSERT_TRUE(topk) << out_dir;
  std::string line, u2;
  while (std::getline(topk, line))
    if (line.rfind("u2\t", 0) == 0) u2 = line;
  // u2 has nothing to mask: its list is the whole catalogue, in pop's order (ties by id).
  EXPECT_EQ(u2, "u2\ti1 i2 i3 i4");
}

// Leave-one-out keeps a user's only interaction in training, so on a tiny dataset nothing
// is left to test: an error rather than metrics over zero users.
TEST(BadInput, SplitWithEmptyTestSet) {
  int st = 0;
  const std::string out =
      Cli(EvaluateArgs(TestData("atomic/tiny"), TempDir("bad_split") + "/out") + " --split loo", &st);
  EXPECT_EQ(st, 2) << out;
  EXPECT_EQ(ErrorLine(out),
            "recfuse: error: split 'loo' leaves an empty test set (dataset 'tiny', 5 interactions)")
      << out;
}

// Stands in for a full disk too: both fail the first write with an IoError naming the path.
TEST(BadInput, UnwritableOutputDirectory) {
  // Root ignores permissions: run the binary as nobody instead (setpriv, util-linux).
  std::string prefix;
  if (::geteuid() == 0) {
    std::string probe;
    if (RunCommand("setpriv --reuid 65534 --regid 65534 --clear-groups true", &probe) != 0)
      GTEST_SKIP() << "running as root without setpriv: permissions are not enforced";
    prefix = "setpriv --reuid 65534 --regid 65534 --clear-groups ";
  }
  const std::string data = TemporalWorld();
  const std::string parent = TempDir("bad_out");
  fs::permissions(parent, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                              fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec);
  std::string out;
  const int st =
      RunCommand(prefix + RecfuseBinary() + " " + EvaluateArgs(data, parent + "/out") + kTemporal, &out);
  fs::permissions(parent, fs::perms::owner_all);
  EXPECT_EQ(st, 2) << out;
  EXPECT_EQ(ErrorLine(out),
            "recfuse: error: " + parent + "/out: cannot create directory: Permission denied")
      << out;
  EXPECT_FALSE(fs::exists(parent + "/out"));
}

// Images are not fatal: the encoder counts unusable files as fallbacks. Needs a build with
// the encoders (torch); skipped otherwise.
TEST(BadInput, BrokenImagesAreCountedFallbacks) {
  int st = 0;
  Cli("encode --help", &st);
  if (st != 0) GTEST_SKIP() << "this recfuse has no 'encode' command (built without torch)";
  const std::string dir = TempDir("bad_images") + "/img";
  WriteText(dir + "/img.inter",
            "user_id:token\titem_id:token\nu1\ti1\nu1\ti2\nu2\ti3\nu2\ti4\nu3\ti5\nu3\ti1\n");
  fs::create_directories(dir + "/images");
  const std::pair<const char*, const char*> images[] = {{"corrupt.jpg", "i1.jpg"},
                                                        {"truncated.png", "i2.png"},
                                                        {"zero_bytes.png", "i3.png"},
                                                        {"huge_dims.png", "i4.png"},
                                                        {"wide_4x2.png", "i5.png"}};
  for (const auto& [from, to] : images)
    fs::copy_file(TestData(std::string("images/") + from), dir + "/images/" + to);
  const std::string out = Cli("encode --data " + dir + " --encoder image:handcrafted --out " + dir +
                                  "/f.h5 --log-level warn",
                              &st);
  ASSERT_EQ(st, 0) << out;
  EXPECT_NE(out.find("(1 with content, 4 fallbacks)"), std::string::npos) << out;
}

TEST(BadInput, CorruptAndTruncatedGzip) {
  ExpectInspectError(Inter("gz_corrupt"),
                     Inter("gz_corrupt") + "/reviews.json.gz: corrupt gzip data (zlib: incorrect data check)");
  ExpectInspectError(Inter("gz_truncated"),
                     Inter("gz_truncated") + "/reviews.json.gz: truncated gzip data (the file ends inside the "
                                             "compressed stream; was the download interrupted?)");
}

TEST(BadInput, MmrecSplitLabel) {
  ExpectInspectError(Inter("mmrec_label"), Inter("mmrec_label") + "/mmrec_label.inter:3: x_label 'test' must be "
                                                                  "0 (train), 1 (valid) or 2 (test)");
}

// Imported features (`features:FORMAT:PATH`) go through the encoders: torch build only.
TEST(BadInput, ImportedFeatures) {
  int st = 0;
  Cli("encode --help", &st);
  if (st != 0) GTEST_SKIP() << "this recfuse has no 'encode' command (built without torch)";
  const std::string out_dir = TempDir("bad_features");
  auto expect = [&](const std::string& spec, const std::string& message) {
    const std::string out = Cli("encode --data " + TestData("mmrec/toy") + " --encoder " + spec + " --out " +
                                    out_dir + "/f.h5",
                                &st);
    EXPECT_EQ(st, 2) << out;
    EXPECT_EQ(ErrorLine(out), "recfuse: error: " + message) << out;
  };
  const std::string f = fs::absolute(Inter("features")).lexically_normal().string();
  expect("features:npy:" + f + "/nan.npy", f + "/nan.npy: row 3 (0-based), column 1 is NaN");
  expect("features:npy:" + f + "/rows.npy",
         f + "/rows.npy: has 3 rows but dataset 'toy' has 5 items (row r is item r; put MMRec's i_id_mapping.csv "
             "beside the file to map rows by item id)");
  expect("features:csv:" + f + "/unknown.csv", f + "/unknown.csv:4: unknown item '9' (not in dataset 'toy', 5 items)");
  expect("features:csv:" + f + "/ragged.csv",
         f + "/ragged.csv:3: expected 3 fields (item id + 2 values, as on line 2), got 2");
}

}  // namespace
}  // namespace recfuse
