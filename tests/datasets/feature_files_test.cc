// The .npy / CSV / atomic feature parsers (datasets/feature_files.h): what they accept, and
// the message each malformed input gets. The .npy bytes are built here by hand, exactly as
// numpy's format 1.0/2.0 lays them out, so each test controls every header byte.
#include "datasets/feature_files.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

#include "framework/error.h"
#include "tests/test_util.h"

namespace recfuse::datasets {
namespace {

std::string Message(const std::function<void()>& f) {
  try {
    f();
  } catch (const framework::Error& e) {
    return e.what();
  }
  return "(no error)";
}

// A .npy file: `dict` is the header dictionary text, padded as numpy pads it (to a multiple
// of 64 bytes with spaces and a final newline, unless pad = false).
std::string Npy(const std::string& dict, const std::string& data, int major = 1, size_t extra_pad = 0) {
  const size_t len_bytes = major == 1 ? 2 : 4;
  std::string header = dict;
  const size_t pre = 8 + len_bytes;
  header += std::string((64 - (pre + header.size() + 1) % 64) % 64 + extra_pad, ' ') + "\n";
  std::string out = "\x93NUMPY";
  out.push_back(static_cast<char>(major));
  out.push_back(0);
  for (size_t k = 0; k < len_bytes; ++k) out.push_back(static_cast<char>((header.size() >> (8 * k)) & 0xff));
  return out + header + data;
}

template <typename T>
std::string Bytes(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

std::string Dict(const std::string& descr, const std::string& shape, bool fortran = false) {
  return "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': " + shape +
         ", }";
}

TEST(ParseNpy, Float32AndFloat64InCAndFortranOrder) {
  const std::vector<float> c = {0, 1, 2, 10, 11, 12};
  const NpyArray a = ParseNpy(Npy(Dict("<f4", "(2, 3)"), Bytes(c)), "a.npy");
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a.dtype, "<f4");
  EXPECT_EQ(a.values, c);

  // The same matrix stored column by column, as float64.
  const std::vector<double> f = {0, 10, 1, 11, 2, 12};
  const NpyArray b = ParseNpy(Npy(Dict("<f8", "(2, 3)", true), Bytes(f)), "b.npy");
  EXPECT_TRUE(b.fortran_order);
  EXPECT_EQ(b.values, c);

  // Format 2.0 (4-byte header length) and a 1-D vector.
  const NpyArray v = ParseNpy(Npy(Dict("<f4", "(3,)"), Bytes(std::vector<float>{1, 2, 3}), 2), "v.npy");
  EXPECT_EQ(v.shape, (std::vector<int64_t>{3}));
  // A header longer than 127 bytes: xtensor's own reader sign-extends such length bytes.
  const NpyArray w = ParseNpy(Npy(Dict("<f4", "(1, 2)"), Bytes(std::vector<float>{5, 6}), 1, 128), "w.npy");
  EXPECT_EQ(w.values, (std::vector<float>{5, 6}));
}

TEST(ParseNpy, MalformedFilesNameTheProblem) {
  const std::string ok = Bytes(std::vector<float>{1, 2, 3, 4});
  EXPECT_EQ(Message([&] { ParseNpy("PK\x03\x04 zip", "x.npy"); }),
            "x.npy: not a .npy file (it does not start with the \\x93NUMPY magic)");
  EXPECT_EQ(Message([&] { ParseNpy(Npy(Dict("<i8", "(2, 2)"), ok + ok), "i.npy"); }),
            "i.npy: unsupported dtype '<i8': expected float32 ('<f4') or float64 ('<f8')");
  EXPECT_EQ(Message([&] { ParseNpy(Npy(Dict(">f4", "(2, 2)"), ok), "be.npy"); }),
            "be.npy: unsupported dtype '>f4': big-endian data is not supported; save it with arr.astype('<f4')");
  EXPECT_EQ(Message([&] { ParseNpy(Npy(Dict("<f4", "(2, 3)"), ok), "t.npy"); }),
            "t.npy: truncated .npy data: shape (2, 3) of <f4 needs 24 bytes, the file has 16");
  EXPECT_EQ(Message([&] { ParseNpy(Npy(Dict("<f4", "(1, 2)"), ok), "l.npy"); }),
            "l.npy: trailing bytes after the .npy data: shape (1, 2) of <f4 needs 8 bytes, the file has 16");
  EXPECT_NE(Message([&] { ParseNpy(Npy(Dict("<f4", "(a, 2)"), ok), "s.npy"); }).find("s.npy: malformed .npy header"),
            std::string::npos);
  EXPECT_NE(Message([&] { ParseNpy(Npy("{'descr': '<f4', 'shape': (2, 2), }", ok), "k.npy"); })
                .find("k.npy: malformed .npy header"),
            std::string::npos);
  std::string cut = Npy(Dict("<f4", "(2, 2)"), ok).substr(0, 30);
  EXPECT_EQ(Message([&] { ParseNpy(cut, "h.npy"); }), "h.npy: truncated .npy file: its header is 118 bytes but only 20 follow");
  EXPECT_EQ(Message([&] { ParseNpy(Npy(Dict("<f4", "(4294967296, 4294967296, 4294967296)"), ""), "big.npy"); }),
            "big.npy: implausible .npy shape (more than 2^40 values)");
}

TEST(ParseNpy, NonFiniteValuesNameRowAndColumn) {
  std::vector<float> v = {1, 2, 3, 4, 5, 6};
  v[4] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(Message([&] { ParseNpy(Npy(Dict("<f4", "(3, 2)"), Bytes(v)), "n.npy"); }),
            "n.npy: row 2 (0-based), column 0 is NaN");
  std::vector<double> d = {1, 1e300};
  EXPECT_EQ(Message([&] { ParseNpy(Npy(Dict("<f8", "(1, 2)"), Bytes(d)), "o.npy"); }),
            "o.npy: row 0 (0-based), column 1 is infinite (after conversion to float32)");
}

TEST(ParseFeatureTables, CsvTsvAndAtomicReadTheSameRows) {
  const FeatureTable c = ParseFeatureCsv("item_id,f1,f2\na,1,2\nb,3,4.5\n", "f.csv");
  EXPECT_EQ(c.tokens, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(c.dim, 2);
  EXPECT_EQ(c.values, (std::vector<float>{1, 2, 3, 4.5f}));
  EXPECT_EQ(c.lines, (std::vector<int64_t>{2, 3}));
  const FeatureTable t = ParseFeatureCsv("a\t1\t2\nb\t3\t4.5\n", "f.tsv");  // no header
  EXPECT_EQ(t.tokens, c.tokens);
  EXPECT_EQ(t.values, c.values);
  const FeatureTable a =
      ParseFeatureAtomic("iid:token\titem_emb:float_seq\na\t1 2\nb\t3 4.5\n", "x.itememb");
  EXPECT_EQ(a.tokens, c.tokens);
  EXPECT_EQ(a.values, c.values);
  EXPECT_EQ(a.id_field, "iid");
  EXPECT_EQ(a.value_field, "item_emb");
}

TEST(ParseFeatureTables, BadRowsNameFileAndLine) {
  EXPECT_EQ(Message([] { ParseFeatureCsv("id,f1,f2\na,1,2\nb,3\n", "r.csv"); }),
            "r.csv:3: expected 3 fields (item id + 2 values, as on line 2), got 2");
  EXPECT_EQ(Message([] { ParseFeatureCsv("a,1\nb,nan\n", "n.csv"); }), "n.csv:2: value 1 'nan' is NaN");
  EXPECT_EQ(Message([] { ParseFeatureCsv("a,1\nb,1e39\n", "o.csv"); }),
            "o.csv:2: value 1 '1e39' is infinite (or overflows float32)");
  EXPECT_EQ(Message([] { ParseFeatureCsv("a,1\nb,x\n", "x.csv"); }), "x.csv:2: value 1 'x' is not a number");
  EXPECT_EQ(Message([] { ParseFeatureCsv("a,1\na,2\n", "d.csv"); }), "d.csv:2: duplicate item id 'a' (first on line 1)");
  EXPECT_EQ(Message([] { ParseFeatureCsv("id,f1\n", "h.csv"); }),
            "h.csv: no feature rows (the file is empty or has a header only)");
  EXPECT_EQ(Message([] { ParseFeatureAtomic("item_id:token\tv:float_seq\na\t1 2\nb\t1\n", "r.atomic"); }),
            "r.atomic:3: v has 1 values but line 2 has 2");
  EXPECT_EQ(Message([] { ParseFeatureAtomic("item_id:token\tv:float_seq\tw:float_seq\na\t1\t2\n", "s.atomic"); }),
            "s.atomic:1: several float_seq fields (v, w); name one in the spec (PATH#FIELD)");
  EXPECT_EQ(ParseFeatureAtomic("item_id:token\tv:float_seq\tw:float_seq\na\t1\t2\n", "s.atomic", "w").values,
            (std::vector<float>{2}));
  EXPECT_EQ(Message([] { ParseFeatureAtomic("item_id:token\tv:float\na\t1\n", "f.atomic"); }),
            "f.atomic:1: header has no ':float_seq' field holding the vectors");
}

TEST(ParseIdMapping, EveryRowNamedOnce) {
  EXPECT_EQ(ParseIdMapping("asin\titemID\nB1\t1\nB0\t0\n", "m.csv", 2), (std::vector<std::string>{"B0", "B1"}));
  EXPECT_EQ(Message([] { ParseIdMapping("asin\titemID\nB0\t0\n", "m.csv", 2); }),
            "m.csv: no line maps itemID 1 (every feature row needs an item)");
  EXPECT_EQ(Message([] { ParseIdMapping("asin\titemID\nB0\t0\nB1\t5\n", "m.csv", 2); }),
            "m.csv:3: itemID 5 has no row: the feature file has 2 rows");
  EXPECT_EQ(Message([] { ParseIdMapping("asin\titemID\nB0\t0\nB0\t1\n", "m.csv", 2); }),
            "m.csv:3: item 'B0' appears twice (first on line 2)");
}

TEST(Sha256File, MatchesTheKnownDigest) {
  const std::string dir = testing::TempDir("sha");
  testing::WriteText(dir + "/abc", "abc");
  EXPECT_EQ(Sha256File(dir + "/abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace recfuse::datasets
