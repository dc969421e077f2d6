// Bring-your-own features (encoders/feature_import.h): the same matrix written as an MMRec
// .npy (+ i_id_mapping.csv), a Ducho tree, a RecBole atomic file and a CSV loads to the same
// features; bad files are errors naming file and line/row; provenance survives the HDF5
// cache. The .npy files are written by xtensor's dump_npy, not by the reader under test.
#include "encoders/feature_import.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <xtensor/xarray.hpp>
#include <xtensor/xnpy.hpp>
#include <xtensor/xview.hpp>

#include "datasets/load.h"
#include "encoders/features.h"
#include "framework/config.h"
#include "framework/error.h"
#include "tests/test_util.h"

namespace recfuse::encoders {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::TestData;
using testing::WriteText;

std::string Message(const std::function<void()>& f) {
  try {
    f();
  } catch (const framework::Error& e) {
    return e.what();
  }
  return "(no error)";
}

std::map<std::string, std::string> Prov(const ItemFeatures& f) {
  return {f.provenance.begin(), f.provenance.end()};
}

// Items p, q, r, s; features for p, q, r (s has none: absent, not an error).
datasets::Dataset FourItems() {
  datasets::Dataset d;
  d.name = "four";
  for (const char* t : {"p", "q", "r", "s"}) d.items.GetOrAdd(t);
  d.users.GetOrAdd("u");
  d.interactions.Add(0, 0);
  d.Finalize();
  return d;
}

const std::vector<std::string> kTokens = {"p", "q", "r"};
float Value(size_t row, size_t col) { return static_cast<float>(row) * 1.5f - static_cast<float>(col) * 0.25f + 0.125f; }
constexpr size_t kDim = 3;

std::string CsvText(char sep, bool header) {
  std::string out = header ? std::string("item_id") + sep + "f1" + sep + "f2" + sep + "f3\n" : "";
  for (size_t r = 0; r < kTokens.size(); ++r) {
    out += kTokens[r];
    for (size_t c = 0; c < kDim; ++c) out += sep + std::to_string(Value(r, c));
    out += "\n";
  }
  return out;
}

TEST(FeatureImport, NpyDuchoAtomicAndCsvLoadTheSameMatrix) {
  const auto data = FourItems();
  const std::string dir = TempDir("import_roundtrip");

  // MMRec: rows in itemID order; i_id_mapping.csv names each row's item (rows shuffled
  // against the dataset's order on purpose: r, p, q).
  const std::vector<size_t> order = {2, 0, 1};
  xt::xarray<float> m = xt::zeros<float>({order.size(), kDim});
  std::string mapping = "asin\titemID\n";
  for (size_t row = 0; row < order.size(); ++row) {
    for (size_t c = 0; c < kDim; ++c) m(row, c) = Value(order[row], c);
    mapping += kTokens[order[row]] + "\t" + std::to_string(row) + "\n";
  }
  fs::create_directories(dir + "/mmrec");
  xt::dump_npy(dir + "/mmrec/image_feat.npy", m);
  WriteText(dir + "/mmrec/i_id_mapping.csv", mapping);

  // Ducho: one (1, d) float64 file per item, plus an unrelated file that is ignored.
  fs::create_directories(dir + "/ducho");
  for (size_t r = 0; r < kTokens.size(); ++r) {
    xt::xarray<double> v = xt::zeros<double>({size_t{1}, kDim});
    for (size_t c = 0; c < kDim; ++c) v(0, c) = Value(r, c);
    xt::dump_npy(dir + "/ducho/" + kTokens[r] + ".npy", v);
  }
  WriteText(dir + "/ducho/log.txt", "extraction log\n");

  std::string atomic = "item_id:token\titem_emb:float_seq\n";
  for (size_t r = 0; r < kTokens.size(); ++r) {
    atomic += kTokens[r] + "\t";
    for (size_t c = 0; c < kDim; ++c) atomic += (c ? " " : "") + std::to_string(Value(r, c));
    atomic += "\n";
  }
  WriteText(dir + "/four.itememb", atomic);
  WriteText(dir + "/f.csv", CsvText(',', true));
  WriteText(dir + "/f.tsv", CsvText('\t', false));

  const std::vector<std::string> specs = {"features:npy:" + dir + "/mmrec/image_feat.npy",
                                          "features:ducho:" + dir + "/ducho",
                                          "features:atomic:" + dir + "/four.itememb",
                                          "features:csv:" + dir + "/f.csv", "features:csv:" + dir + "/f.tsv"};
  for (const auto& spec : specs) {
    SCOPED_TRACE(spec);
    const ItemFeatures f = ComputeFrozenFeatures(data, spec, {});
    EXPECT_EQ(f.spec, spec);
    ASSERT_EQ(f.values.rows(), 4);
    ASSERT_EQ(f.values.cols(), static_cast<Eigen::Index>(kDim));
    for (size_t r = 0; r < kTokens.size(); ++r)
      for (size_t c = 0; c < kDim; ++c) EXPECT_FLOAT_EQ(f.values(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(c)), Value(r, c));
    EXPECT_EQ(f.present, (std::vector<uint8_t>{1, 1, 1, 0}));
    EXPECT_EQ(f.values.row(3).squaredNorm(), 0.0f);
    EXPECT_EQ(f.fallbacks, 1);
    auto p = Prov(f);
    EXPECT_EQ(p["extractor"], "imported");
    EXPECT_EQ(p["items_matched"], "3");
    EXPECT_EQ(p["items_absent"], "1");
    EXPECT_EQ(p["dim"], "3");
    EXPECT_EQ(p["rows"], "3");
    if (spec.find("ducho") == std::string::npos) EXPECT_EQ(p["sha256"].size(), 64u);
  }
  const auto npy = Prov(ComputeFrozenFeatures(data, specs[0], {}));
  EXPECT_EQ(npy.at("format"), "npy");
  EXPECT_EQ(npy.at("dtype"), "float32");
  EXPECT_EQ(npy.at("row_order"), "i_id_mapping.csv (original token)");
  EXPECT_EQ(Prov(ComputeFrozenFeatures(data, specs[1], {})).at("dtype"), "float64");
  EXPECT_EQ(Prov(ComputeFrozenFeatures(data, specs[1], {})).at("ignored_files"), "1");
}

TEST(FeatureImport, MmrecFixtureFeaturesResolveAgainstTheDatasetFolder) {
  const auto data = datasets::LoadDataset(TestData("mmrec/toy"));
  // A relative path not found from the working directory is looked up beside the dataset;
  // the toy's i_id_mapping.csv maps rows by itemID there, since the .inter uses itemIDs.
  const ItemFeatures img = ComputeFrozenFeatures(data, "features:npy:image_feat.npy", {});
  ASSERT_EQ(img.values.rows(), 5);
  for (Eigen::Index r = 0; r < 5; ++r)
    for (Eigen::Index c = 0; c < 3; ++c) EXPECT_EQ(img.values(r, c), static_cast<float>(10 * r + c));
  EXPECT_EQ(img.fallbacks, 0);
  EXPECT_EQ(Prov(img).at("row_order"), "i_id_mapping.csv (itemID)");
  EXPECT_EQ(Prov(img).at("path"), fs::absolute(TestData("mmrec/toy/image_feat.npy")).lexically_normal().string());
  const ItemFeatures txt = ComputeFrozenFeatures(data, "features:npy:text_feat.npy", {});
  EXPECT_EQ(Prov(txt).at("dtype"), "float64");
  EXPECT_FLOAT_EQ(txt.values(3, 1), 3.5f);
  EXPECT_NE(Message([&] { ComputeFrozenFeatures(data, "features:npy:nope.npy", {}); }).find("looked for"),
            std::string::npos);
}

TEST(FeatureImport, BadFilesAreErrorsNamingFileAndRow) {
  const auto data = FourItems();
  const std::string dir = TempDir("import_bad");

  xt::xarray<float> three = xt::ones<float>({size_t{3}, size_t{2}});
  xt::dump_npy(dir + "/rows.npy", three);  // no mapping: must have one row per item
  EXPECT_EQ(Message([&] { ImportFeatures(data, "features:npy:" + dir + "/rows.npy"); }),
            dir + "/rows.npy: has 3 rows but dataset 'four' has 4 items (row r is item r; put MMRec's "
                  "i_id_mapping.csv beside the file to map rows by item id)");

  xt::xarray<int64_t> ints = xt::ones<int64_t>({size_t{4}, size_t{2}});
  xt::dump_npy(dir + "/ints.npy", ints);
  EXPECT_EQ(Message([&] { ImportFeatures(data, "features:npy:" + dir + "/ints.npy"); }),
            dir + "/ints.npy: unsupported dtype '<i8': expected float32 ('<f4') or float64 ('<f8')");

  xt::xarray<float> flat = xt::ones<float>({size_t{4}});
  xt::dump_npy(dir + "/flat.npy", flat);
  EXPECT_EQ(Message([&] { ImportFeatures(data, "features:npy:" + dir + "/flat.npy"); }),
            dir + "/flat.npy: expected a 2-D array (items x dim) with dim >= 1, got 1-D shape (4)");

  xt::xarray<float> nan = xt::ones<float>({size_t{4}, size_t{2}});
  nan(2, 1) = std::nanf("");
  xt::dump_npy(dir + "/nan.npy", nan);
  EXPECT_EQ(Message([&] { ImportFeatures(data, "features:npy:" + dir + "/nan.npy"); }),
            dir + "/nan.npy: row 2 (0-based), column 1 is NaN");

  WriteText(dir + "/unknown.csv", "p,1,2\nzz,3,4\n");
  EXPECT_EQ(Message([&] { ImportFeatures(data, "features:csv:" + dir + "/unknown.csv"); }),
            dir + "/unknown.csv:2: unknown item 'zz' (not in dataset 'four', 4 items)");
  WriteText(dir + "/ragged.csv", "p,1,2\nq,3\n");
  EXPECT_EQ(Message([&] { ImportFeatures(data, "features:csv:" + dir + "/ragged.csv"); }),
            dir + "/ragged.csv:2: expected 3 fields (item id + 2 values, as on line 1), got 2");

  fs::create_directories(dir + "/ducho");
  xt::dump_npy(dir + "/ducho/p.npy", xt::xarray<float>(xt::ones<float>({size_t{3}})));
  xt::dump_npy(dir + "/ducho/q.npy", xt::xarray<float>(xt::ones<float>({size_t{2}})));
  EXPECT_EQ(Message([&] { ImportFeatures(data, "features:ducho:" + dir + "/ducho"); }),
            dir + "/ducho/q.npy: has 2 values but p.npy has 3");

  fs::create_directories(dir + "/mm");
  xt::dump_npy(dir + "/mm/x.npy", three);
  WriteText(dir + "/mm/i_id_mapping.csv", "asin\titemID\np\t0\nq\t1\nnot_here\t2\n");
  EXPECT_EQ(Message([&] { ImportFeatures(data, "features:npy:" + dir + "/mm/x.npy"); }),
            dir + "/mm/x.npy: row 2 (0-based) is item 'not_here' per " + dir +
                "/mm/i_id_mapping.csv, which dataset 'four' does not have (2 of 3 rows match its items by "
                "original token)");

  EXPECT_NE(Message([&] { ImportFeatures(data, "features:parquet:" + dir + "/x"); }).find("known: features:npy:PATH"),
            std::string::npos);
}

TEST(FeatureImport, ProvenanceSurvivesTheHdf5File) {
  const auto data = FourItems();
  const std::string dir = TempDir("import_h5");
  WriteText(dir + "/f.csv", CsvText(',', true));
  const ItemFeatures f = ImportFeatures(data, "features:csv:" + dir + "/f.csv");
  WriteFeaturesH5(dir + "/f.h5", data, f);
  const ItemFeatures g = ReadFeaturesH5(dir + "/f.h5", data);
  EXPECT_EQ(g.provenance, f.provenance);
  EXPECT_EQ(g.fallbacks, f.fallbacks);
  EXPECT_EQ(g.values, f.values);
  ASSERT_FALSE(g.provenance.empty());

  // The same file as an import spec: values as written, its provenance kept as source_*.
  const ItemFeatures h = ComputeFrozenFeatures(data, "features:h5:" + dir + "/f.h5", {});
  EXPECT_EQ(h.values, f.values);
  EXPECT_EQ(h.present, f.present);
  auto p = Prov(h);
  EXPECT_EQ(p["format"], "h5");
  EXPECT_EQ(p["source_spec"], f.spec);
  EXPECT_EQ(p["source_format"], "csv");
  EXPECT_EQ(p["items_absent"], "1");
}

}  // namespace
}  // namespace recfuse::encoders

namespace recfuse::encoders {
namespace {

TEST(FeatureProvenance, EncodersRecordItAndTheCacheKeepsIt) {
  const auto data = datasets::LoadDataset(testing::TestData("atomic/tiny"));
  EncodeContext ctx;
  ctx.cache_dir = testing::TempDir("prov_cache");
  const ItemFeatures f = ComputeFrozenFeatures(data, "text:tfidf-svd:2:description", ctx);
  auto p = Prov(f);
  EXPECT_EQ(p["extractor"], "tfidf-svd");
  EXPECT_EQ(p["dim"], "2");
  EXPECT_NE(p["text_fields"].find("plot"), std::string::npos) << p["text_fields"];
  EXPECT_EQ(p["training_rows"], "all");
  int64_t vocab = 0;
  ASSERT_TRUE(framework::ParseInt64(p["vocabulary_size"], &vocab));
  EXPECT_GT(vocab, 1);
  const ItemFeatures cached = ComputeFrozenFeatures(data, "text:tfidf-svd:2:description", ctx);
  EXPECT_EQ(cached.provenance, f.provenance);
  EXPECT_EQ(cached.fallbacks, f.fallbacks);

  const ItemFeatures img = ComputeFrozenFeatures(data, "image:handcrafted", {});
  auto q = Prov(img);
  EXPECT_EQ(q["input_size"].rfind("64x64", 0), 0u);
  EXPECT_EQ(q["hsv_bins"].rfind("8x4x4", 0), 0u);
  EXPECT_EQ(q["items_with_content"], std::to_string(std::count(img.present.begin(), img.present.end(), 1)));
}

}  // namespace
}  // namespace recfuse::encoders

namespace recfuse::encoders {
namespace {

// Real data: ml-100k's TF-IDF features written as an MMRec .npy in reversed item order with
// an i_id_mapping.csv naming each row's movie, read back through the mapping.
TEST(FeatureImport, Ml100kFeaturesRoundTripThroughAnMmrecMapping) {
  const std::string path = testing::SharedData("ml-100k");
  if (path.empty()) GTEST_SKIP() << "../shared/datasets/ml-100k is absent";
  const auto data = datasets::LoadDataset(path);
  const ItemFeatures f = ComputeFrozenFeatures(data, "text:tfidf-svd:16:description", {});
  const auto n = static_cast<size_t>(data.num_items());
  xt::xarray<float> m = xt::zeros<float>({n, size_t{16}});
  std::string mapping = "asin\titemID\n";
  size_t row = 0;
  for (size_t i = n; i-- > 0;) {
    if (!f.present[i]) continue;  // items without a plot get no row: absent after import
    for (size_t c = 0; c < 16; ++c) m(row, c) = f.values(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(c));
    mapping += data.items.Token(static_cast<datasets::Index>(i)) + "\t" + std::to_string(row) + "\n";
    ++row;
  }
  const xt::xarray<float> written = xt::view(m, xt::range(0, row), xt::all());
  const std::string dir = testing::TempDir("ml100k_npy");
  xt::dump_npy(dir + "/text_feat.npy", written);
  testing::WriteText(dir + "/i_id_mapping.csv", mapping);
  const ItemFeatures g = ImportFeatures(data, "features:npy:" + dir + "/text_feat.npy");
  EXPECT_EQ(g.present, f.present);
  EXPECT_EQ(g.values, f.values);
  EXPECT_EQ(Prov(g).at("items_absent"), std::to_string(n - row));
  EXPECT_GT(row, 1600u);
}

}  // namespace
}  // namespace recfuse::encoders
