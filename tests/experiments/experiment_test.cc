// Experiment runner: ablation grid, MPI environment, per-user HDF5, memory records, shard
// merge. Tiny synthetic worlds; the CLI-level kill/resume tests live in tests/cli.
#include "experiments/experiment.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "experiments/cell.h"
#include "framework/error.h"
#include "framework/io.h"
#include "tests/test_util.h"

namespace recfuse::experiments {
namespace {

namespace fs = std::filesystem;
using framework::ParamSpec;
using framework::ParamType;

// A tiny experiment on a generated world; `extra` lines are appended to the top section.
std::string WriteExperiment(const std::string& dir, const std::string& extra) {
  const std::string path = dir + "/tiny.conf";
  testing::WriteText(path,
                     "name = tiny\n"
                     "datasets = syn\n"
                     "models = pop, bpr\n"
                     "splits = ratio:0.8,0.1,0.1\n"
                     "seeds = 0, 1\n"
                     "ks = 5, 10\n"
                     "metrics = recall, ndcg\n"
                     "threads = 1\n" +
                         extra +
                         "\n[dataset.syn]\ngenerate = true\ngen.users = 100\ngen.items = 80\n"
                         "gen.interactions = 2000\ngen.images = false\ngen.seed = 5\n"
                         "[model.bpr]\nepochs = 3\ndim = 8\n");
  return path;
}

TEST(Ablation, AppliesOnlyToModelsDeclaringUseX) {
  const std::vector<ParamSpec> multimodal = {{"dim", ParamType::kInt, "8", "d"},
                                             {"use_image", ParamType::kBool, "true", "image branch"},
                                             {"use_text", ParamType::kBool, "true", "text branch"}};
  const std::vector<ParamSpec> classic = {{"dim", ParamType::kInt, "8", "d"}};
  framework::Config none;
  EXPECT_TRUE(AblationApplies(multimodal, none, "none"));
  EXPECT_TRUE(AblationApplies(multimodal, none, "-image"));
  EXPECT_TRUE(AblationApplies(multimodal, none, "-text"));
  EXPECT_FALSE(AblationApplies(multimodal, none, "-kg"));
  EXPECT_TRUE(AblationApplies(classic, none, "none"));
  EXPECT_FALSE(AblationApplies(classic, none, "-image"));
  // Already configured without images: the ablated cell would repeat the full one.
  framework::Config no_image;
  no_image.Set("use_image", "false");
  EXPECT_FALSE(AblationApplies(multimodal, no_image, "-image"));
  EXPECT_TRUE(AblationApplies(multimodal, no_image, "-text"));
  // Off by default (mmfusion's use_history): nothing to remove unless the file switches it on.
  std::vector<ParamSpec> off = multimodal;
  off.push_back({"use_history", ParamType::kBool, "false", "history profile"});
  EXPECT_FALSE(AblationApplies(off, none, "-history"));
  framework::Config with_history;
  with_history.Set("use_history", "true");
  EXPECT_TRUE(AblationApplies(off, with_history, "-history"));
}

TEST(Ablation, ClassicModelsGetNoAblatedCellsAndTyposAreErrors) {
  const std::string dir = testing::TempDir("exp_ablation");
  const auto plain = ExpandGrid(LoadExperiment(WriteExperiment(dir, "")));
  const auto exp = LoadExperiment(WriteExperiment(dir, "ablations = none, -image, -text"));
  ASSERT_EQ(exp.ablations, (std::vector<std::string>{"none", "-image", "-text"}));
  const auto grid = ExpandGrid(exp);
  // pop and bpr declare no use_image/use_text: the grid is the un-ablated one.
  ASSERT_EQ(grid.size(), plain.size());
  EXPECT_EQ(grid.size(), 4u);  // 2 seeds x 2 models
  for (const auto& c : grid) EXPECT_EQ(c.ablation, "none");
  try {
    LoadExperiment(WriteExperiment(dir, "ablations = none, -imgae"));
    FAIL() << "typo accepted";
  } catch (const framework::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("-imgae"), std::string::npos) << e.what();
  }
  EXPECT_THROW(LoadExperiment(WriteExperiment(dir, "ablations = -text, -text")), framework::ConfigError);
}

// A tiny experiment with a content model, for the feature axes.
std::string WriteFeatureExperiment(const std::string& dir, const std::string& extra) {
  const std::string path = dir + "/features.conf";
  testing::WriteText(path,
                     "name = feat\n"
                     "datasets = syn\n"
                     "models = pop, itemknn-cbf, cbf-own\n"
                     "splits = cold-item:0.2\n"
                     "seeds = 0\n"
                     "ks = 10\n"
                     "metrics = recall\n"
                     "threads = 1\n" +
                         extra +
                         "\n[dataset.syn]\ngenerate = true\ngen.users = 100\ngen.items = 80\n"
                         "gen.interactions = 2000\ngen.images = false\ngen.seed = 5\n"
                         "[model.cbf-own]\ntype = itemknn-cbf\ntext_features = text:tfidf-svd:4:description\n");
  return path;
}

TEST(FeatureAxis, OneVariantPerSpecForModelsThatReadThem) {
#ifndef RECFUSE_WITH_TORCH
  GTEST_SKIP() << "itemknn-cbf lives in the torch-built model library; this build has RECFUSE_WITH_TORCH=OFF";
#endif
  const std::string dir = testing::TempDir("exp_feature_axis");
  const auto exp = LoadExperiment(
      WriteFeatureExperiment(dir, "text_features = text:tfidf-svd:16:description; text:tfidf-svd:8:description\n"
                                  "image_features = image:handcrafted\n"));
  std::vector<std::string> labels;
  for (const auto& m : exp.models) labels.push_back(m.label);
  // pop reads no features; cbf-own sets text_features itself, so it is not swept; the
  // one-value image axis sets image_features everywhere without changing labels.
  ASSERT_EQ(labels, (std::vector<std::string>{"pop", "itemknn-cbf@tfidf-svd-16-description",
                                              "itemknn-cbf@tfidf-svd-8-description", "cbf-own"}));
  EXPECT_EQ(exp.models[1].params.GetString("text_features", ""), "text:tfidf-svd:16:description");
  EXPECT_EQ(exp.models[2].params.GetString("text_features", ""), "text:tfidf-svd:8:description");
  EXPECT_EQ(exp.models[3].params.GetString("text_features", ""), "text:tfidf-svd:4:description");
  for (size_t i = 1; i < 4; ++i) EXPECT_EQ(exp.models[i].params.GetString("image_features", ""), "image:handcrafted");
  EXPECT_FALSE(exp.models[0].params.Has("image_features"));
  EXPECT_EQ(ExpandGrid(exp).size(), 4u);
  // Two axes with several values: the cross product, tags joined by '+'.
  const auto both = LoadExperiment(
      WriteFeatureExperiment(dir, "text_features = text:tfidf-svd:16:description; text:tfidf-svd:8:description\n"
                                  "image_features = image:handcrafted; features:npy:/x/image_feat.npy\n"));
  labels.clear();
  for (const auto& m : both.models) labels.push_back(m.label);
  EXPECT_EQ(labels, (std::vector<std::string>{"pop", "itemknn-cbf@handcrafted+tfidf-svd-16-description",
                                              "itemknn-cbf@handcrafted+tfidf-svd-8-description",
                                              "itemknn-cbf@npy-image_feat+tfidf-svd-16-description",
                                              "itemknn-cbf@npy-image_feat+tfidf-svd-8-description", "cbf-own@handcrafted",
                                              "cbf-own@npy-image_feat"}));
  // The baseline may name a variant; a swept label no longer exists.
  EXPECT_NO_THROW(LoadExperiment(WriteFeatureExperiment(
      dir, "text_features = text:tfidf-svd:16:description; text:tfidf-svd:8:description\n"
           "baseline = itemknn-cbf@tfidf-svd-8-description\n")));
  try {
    LoadExperiment(WriteFeatureExperiment(
        dir, "text_features = text:tfidf-svd:16:description; text:tfidf-svd:8:description\nbaseline = itemknn-cbf\n"));
    FAIL() << "baseline of a swept label accepted";
  } catch (const framework::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("itemknn-cbf@tfidf-svd-8-description"), std::string::npos) << e.what();
  }
  EXPECT_THROW(LoadExperiment(WriteFeatureExperiment(dir, "text_features = text:glove:100; text:glove:100\n")),
               framework::ConfigError);
  EXPECT_THROW(LoadExperiment(WriteFeatureExperiment(dir, "text_features = ;\n")), framework::ConfigError);
  // Two specs with the same short name would share a label (and a cell folder).
  EXPECT_THROW(LoadExperiment(WriteFeatureExperiment(
                   dir, "image_features = features:npy:/a/f.npy; features:npy:/b/f.npy\n")),
               framework::ConfigError);
}

TEST(FeatureAxis, ResultsRecordWhatEachCellRead) {
#ifndef RECFUSE_WITH_TORCH
  GTEST_SKIP() << "itemknn-cbf lives in the torch-built model library; this build has RECFUSE_WITH_TORCH=OFF";
#endif
  const std::string dir = testing::TempDir("exp_feature_run");
  const auto exp = LoadExperiment(
      WriteFeatureExperiment(dir, "text_features = text:tfidf-svd:16:description; text:tfidf-svd:8:description\n"));
  RunOptions opt;
  opt.out_dir = dir + "/out";
  opt.cache_dir = dir + "/cache";
  ASSERT_EQ(RunExperiment(exp, opt), 4);
  const std::string csv = framework::ReadFile(dir + "/out/results.csv");
  // The column is what the model read: the swept text spec, and the image modality masked
  // because this world has no images.
  EXPECT_NE(csv.find(",itemknn-cbf@tfidf-svd-8-description,none,recall,10,"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",\"image=absent;text=text:tfidf-svd:8:description\",test,\"\"\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",\"image=absent;text=text:tfidf-svd:16:description\",test,\"\"\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",\"image=absent;text=text:tfidf-svd:4:description\",test,\"\"\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",pop,none,recall,10,"), std::string::npos) << csv;
  // pop reads nothing: empty field.
  const size_t pop = csv.find(",pop,none,recall,10,");
  EXPECT_EQ(csv.substr(csv.find('\n', pop) - 3, 3), ",\"\"") << csv;
}

TEST(Shard, RankAndSizeFromLauncherEnvironment) {
  static std::map<std::string, std::string> env;
  auto fake = [](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  int i = -1, n = -1;
  env = {};
  EXPECT_FALSE(ShardFromEnvironment(&i, &n, fake));
  env = {{"OMPI_COMM_WORLD_RANK", "2"}, {"OMPI_COMM_WORLD_SIZE", "4"}};
  ASSERT_TRUE(ShardFromEnvironment(&i, &n, fake));
  EXPECT_EQ(i, 2);
  EXPECT_EQ(n, 4);
  env = {{"PMI_RANK", "1"}, {"PMI_SIZE", "3"}};
  ASSERT_TRUE(ShardFromEnvironment(&i, &n, fake));
  EXPECT_EQ(i, 1);
  EXPECT_EQ(n, 3);
  env = {{"PMIX_RANK", "0"}, {"PMI_SIZE", "2"}};
  ASSERT_TRUE(ShardFromEnvironment(&i, &n, fake));
  EXPECT_EQ(i, 0);
  EXPECT_EQ(n, 2);
  env = {{"PMIX_RANK", "0"}};  // rank without size
  EXPECT_THROW(ShardFromEnvironment(&i, &n, fake), framework::ConfigError);
  env = {{"OMPI_COMM_WORLD_RANK", "4"}, {"OMPI_COMM_WORLD_SIZE", "4"}};
  EXPECT_THROW(ShardFromEnvironment(&i, &n, fake), framework::ConfigError);
  env = {{"PMI_RANK", "x"}, {"PMI_SIZE", "4"}};
  EXPECT_THROW(ShardFromEnvironment(&i, &n, fake), framework::ConfigError);
}

// Parses per_user.tsv into column -> values (row order) and the user tokens.
std::map<std::string, std::vector<double>> ReadTsv(const std::string& path, std::vector<std::string>* users) {
  const std::string text = framework::ReadFile(path);
  framework::LineCursor cursor(text);
  std::string_view line;
  EXPECT_TRUE(cursor.Next(&line));
  const auto header = framework::Split(line, '\t');
  std::map<std::string, std::vector<double>> out;
  while (cursor.Next(&line)) {
    if (line.empty()) continue;
    const auto f = framework::Split(line, '\t');
    EXPECT_EQ(f.size(), header.size());
    users->push_back(f[0]);
    for (size_t c = 1; c < f.size(); ++c) out[header[c]].push_back(std::strtod(f[c].c_str(), nullptr));
  }
  return out;
}

// One run shared by the tests below (generating + training takes a second or two).
struct TinyRun {
  std::string dir, conf;
  RunStats stats;
};
const TinyRun& Unsharded() {
  static const TinyRun run = [] {
    TinyRun r;
    r.dir = testing::TempDir("exp_run");
    r.conf = WriteExperiment(r.dir, "train_fractions = 1.0, 0.5");
    RunOptions opt;
    opt.out_dir = r.dir + "/out";
    RunExperiment(LoadExperiment(r.conf), opt, &r.stats);
    return r;
  }();
  return run;
}

std::vector<std::string> CellDirs(const std::string& out) {
  const auto manifest = nlohmann::json::parse(framework::ReadFile(out + "/experiment.json"));
  std::vector<std::string> dirs;
  for (const auto& c : manifest["cells"]) dirs.push_back(out + "/" + c.get<std::string>());
  return dirs;
}

TEST(Runner, PerUserHdf5MatchesTsvExactly) {
  const auto& run = Unsharded();
  const auto dirs = CellDirs(run.dir + "/out");
  ASSERT_EQ(dirs.size(), 8u);  // 2 fractions x 2 seeds x 2 models
  for (const auto& d : dirs) {
    std::vector<std::string> tsv_users;
    const auto tsv = ReadTsv(d + "/per_user.tsv", &tsv_users);
    const PerUserTable h5 = ReadPerUserH5(d + "/per_user.h5");
    EXPECT_EQ(h5.users, tsv_users) << d;
    ASSERT_EQ(h5.columns.size(), tsv.size()) << d;
    ASSERT_GE(h5.columns.size(), 4u);  // recall/ndcg at 5 and 10
    for (size_t c = 0; c < h5.columns.size(); ++c) {
      auto it = tsv.find(h5.columns[c]);
      ASSERT_NE(it, tsv.end()) << h5.columns[c];
      ASSERT_EQ(it->second.size(), h5.values[c].size());
      for (size_t r = 0; r < h5.values[c].size(); ++r) {
        if (std::isnan(it->second[r])) {
          EXPECT_TRUE(std::isnan(h5.values[c][r]));
        } else {
          EXPECT_EQ(h5.values[c][r], it->second[r]) << d << " " << h5.columns[c] << " row " << r;
        }
      }
    }
    // No temporary left behind by the atomic writers.
    for (const auto& e : fs::directory_iterator(d))
      EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
  }
  EXPECT_THROW(ReadPerUserH5(run.dir + "/nope.h5"), framework::IoError);
  testing::WriteText(run.dir + "/bad.h5", "not hdf5");
  EXPECT_THROW(ReadPerUserH5(run.dir + "/bad.h5"), framework::IoError);
}

TEST(Runner, RecordsMemoryPerCellAndForTheSweep) {
  const auto& run = Unsharded();
  EXPECT_EQ(run.stats.ran, 8);
  EXPECT_EQ(run.stats.skipped, 0);
  EXPECT_GT(run.stats.peak_rss_bytes, 1 << 20);
  const auto manifest = nlohmann::json::parse(framework::ReadFile(run.dir + "/out/experiment.json"));
  EXPECT_EQ(manifest["peak_rss_bytes"].get<int64_t>(), run.stats.peak_rss_bytes);
  for (const auto& d : CellDirs(run.dir + "/out")) {
    const auto j = nlohmann::json::parse(framework::ReadFile(d + "/run.json"));
    const int64_t peak = j["peak_rss_bytes"].get<int64_t>();
    EXPECT_GT(j["rss_before_bytes"].get<int64_t>(), 0);
    EXPECT_GT(j["rss_after_bytes"].get<int64_t>(), 0);
    // The cell's own watermark can only exceed what it started and ended with, and never the sweep's.
    if (j["peak_rss_scope"] == "cell") {
      EXPECT_GE(peak, j["rss_after_bytes"].get<int64_t>());
      EXPECT_GE(peak, j["rss_before_bytes"].get<int64_t>());
    }
    EXPECT_LE(peak, run.stats.peak_rss_bytes);
    EXPECT_EQ(j["ablation"], "none");
  }
  // Resuming runs nothing and keeps the results.
  const std::string before = framework::ReadFile(run.dir + "/out/results.csv");
  RunStats again;
  RunOptions opt;
  opt.out_dir = run.dir + "/out";
  EXPECT_EQ(RunExperiment(LoadExperiment(run.conf), opt, &again), 0);
  EXPECT_EQ(again.skipped, 8);
  EXPECT_EQ(framework::ReadFile(run.dir + "/out/results.csv"), before);
}

// A model section may restrict itself to some of the experiment's splits and fractions.
std::string WriteRestricted(const std::string& dir, const std::string& pop_section, const std::string& extra = "") {
  const std::string path = dir + "/restricted.conf";
  testing::WriteText(path,
                     "name = restricted\n"
                     "datasets = syn\n"
                     "models = pop, bpr\n"
                     "splits = ratio:0.8,0.1,0.1; loo; cold-item:0.2\n"
                     "train_fractions = 0.25, 0.5, 1.0\n"
                     "seeds = 0, 1\n"
                     "ks = 10, 20\n"
                     "threads = 1\n" +
                         extra +
                         "\n[dataset.syn]\ngenerate = true\ngen.users = 100\ngen.items = 80\n"
                         "gen.interactions = 2000\ngen.images = false\ngen.seed = 5\n"
                         "[model.pop]\n" +
                         pop_section + "\n[model.bpr]\nepochs = 3\ndim = 8\n");
  return path;
}

TEST(Restriction, ModelSectionSplitsAndFractionsSelectItsCells) {
  const std::string dir = testing::TempDir("exp_restrict");
  // Unrestricted: 3 splits x 3 fractions x 2 seeds x 2 models.
  EXPECT_EQ(ExpandGrid(LoadExperiment(WriteRestricted(dir, ""))).size(), 36u);
  const auto exp = LoadExperiment(WriteRestricted(dir, "splits = loo, ratio:0.8,0.1,0.1\ntrain_fractions = 1.0"));
  const auto grid = ExpandGrid(exp);
  // bpr: 18 cells; pop: 2 splits x 1 fraction x 2 seeds.
  ASSERT_EQ(grid.size(), 22u);
  std::map<std::string, int> pop_cells;
  for (const auto& c : grid) {
    if (c.model_label != "pop") continue;
    EXPECT_EQ(c.spec.train_fraction, 1.0);
    EXPECT_NE(c.spec.split, "cold-item:0.2");
    ++pop_cells[c.spec.split];
    // Not hyperparameters: the model never sees them.
    EXPECT_FALSE(c.spec.model_params.Has("splits"));
    EXPECT_FALSE(c.spec.model_params.Has("train_fractions"));
  }
  EXPECT_EQ(pop_cells["loo"], 2);
  EXPECT_EQ(pop_cells["ratio:0.8,0.1,0.1"], 2);  // as the experiment spells it
  // Grid order is kept: the first cell is pop's on the first split, fraction 0.25 has no pop.
  EXPECT_EQ(grid[0].model_label, "bpr");
  EXPECT_EQ(grid[0].spec.train_fraction, 0.25);
}

TEST(Restriction, ValuesOutsideTheExperimentsListsAreErrorsNamingTheLine) {
  const std::string dir = testing::TempDir("exp_restrict_bad");
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"splits = temporal:0.8,0.1,0.1", "temporal:0.8,0.1,0.1"},
      {"splits = loo, loo", "listed twice"},
      {"splits = nonsense:1", "nonsense"},
      {"train_fractions = 0.3", "0.3"},
      {"train_fractions = 1.0, 1", "listed twice"}};
  for (const auto& [line, needle] : bad) {
    SCOPED_TRACE(line);
    try {
      LoadExperiment(WriteRestricted(dir, line));
      FAIL() << "accepted";
    } catch (const framework::ConfigError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(needle), std::string::npos) << what;
      // [model.pop] starts on line 17 of the file; its one key is on line 18.
      EXPECT_NE(what.find("restricted.conf:18"), std::string::npos) << what;
    }
  }
}

TEST(Restriction, ModelSectionAblationsSelectItsAblatedCells) {
#ifndef RECFUSE_WITH_TORCH
  GTEST_SKIP() << "itemknn-cbf lives in the torch-built model library; this build has RECFUSE_WITH_TORCH=OFF";
#endif
  const std::string dir = testing::TempDir("exp_restrict_abl");
  auto write = [&](const std::string& section) {
    const std::string path = dir + "/abl.conf";
    testing::WriteText(path,
                       "name = abl\ndatasets = syn\nmodels = itemknn-cbf, cbf2\nsplits = cold-item:0.2\n"
                       "seeds = 0, 1\nks = 10\nmetrics = recall\nablations = none, -image, -text\n"
                       "[dataset.syn]\ngenerate = true\n[model.cbf2]\ntype = itemknn-cbf\n" +
                           section + "\n");
    return path;
  };
  // cbf2: the full model and -text only; itemknn-cbf: all three. Per seed 3 + 2 cells.
  const auto grid = ExpandGrid(LoadExperiment(write("ablations = -text")));
  ASSERT_EQ(grid.size(), 10u);
  for (const auto& c : grid)
    if (c.model_label == "cbf2") EXPECT_NE(c.ablation, "-image");
  EXPECT_EQ(ExpandGrid(LoadExperiment(write("ablations = none"))).size(), 8u);
  try {
    LoadExperiment(write("ablations = -kg"));
    FAIL() << "accepted";
  } catch (const framework::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'-kg' is not one of the experiment's ablations"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("abl.conf:13"), std::string::npos) << e.what();
  }
}

TEST(Restriction, AblationSplitsAndFractionsLimitTheAblatedVariants) {
#ifndef RECFUSE_WITH_TORCH
  GTEST_SKIP() << "itemknn-cbf lives in the torch-built model library; this build has RECFUSE_WITH_TORCH=OFF";
#endif
  const std::string dir = testing::TempDir("exp_abl_where");
  auto write = [&](const std::string& extra) {
    const std::string path = dir + "/abl.conf";
    testing::WriteText(path,
                       "name = abl\ndatasets = syn\nmodels = itemknn-cbf\nsplits = ratio:0.8,0.1,0.1; cold-item:0.2\n"
                       "train_fractions = 0.5, 1.0\nseeds = 0\nks = 10\nmetrics = recall\n"
                       "ablations = none, -image, -text\n" +
                           extra + "\n[dataset.syn]\ngenerate = true\n");
    return path;
  };
  // Everywhere: 2 splits x 2 fractions x 3 variants.
  EXPECT_EQ(ExpandGrid(LoadExperiment(write(""))).size(), 12u);
  // Ablated variants on the cold split at the full training set only; full models everywhere.
  const auto grid = ExpandGrid(LoadExperiment(write("ablation_splits = cold-item:0.2\nablation_fractions = 1")));
  ASSERT_EQ(grid.size(), 6u);
  int ablated = 0;
  for (const auto& c : grid) {
    if (c.ablation == "none") continue;
    ++ablated;
    EXPECT_EQ(c.spec.split, "cold-item:0.2");
    EXPECT_EQ(c.spec.train_fraction, 1.0);
  }
  EXPECT_EQ(ablated, 2);
  for (const auto& [line, needle] : std::vector<std::pair<std::string, std::string>>{
           {"ablation_splits = loo", "'loo' is not one of the experiment's splits"},
           {"ablation_fractions = 0.25", "0.25 is not one of the experiment's train_fractions"}}) {
    try {
      LoadExperiment(write(line));
      ADD_FAILURE() << line << " accepted";
    } catch (const framework::ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("abl.conf:10"), std::string::npos) << e.what();
    }
  }
}

TEST(Headline, DefaultsAndValidation) {
  const std::string dir = testing::TempDir("exp_headline");
  EXPECT_EQ(LoadExperiment(WriteRestricted(dir, "")).headline, (std::vector<std::string>{"recall@20", "ndcg@20"}));
  // Without K=20: NDCG at the first K (WriteExperiment has ks = 5, 10).
  EXPECT_EQ(LoadExperiment(WriteExperiment(dir, "")).headline, (std::vector<std::string>{"ndcg@5"}));
  EXPECT_EQ(LoadExperiment(WriteRestricted(dir, "", "headline = NDCG@10, hit@20")).headline,
            (std::vector<std::string>{"ndcg@10", "hit@20"}));
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"headline = ndcg@50", "K=50"},            // not in ks
      {"headline = recal@20", "recal"},          // no such metric
      {"headline = ndcg", "<metric>@<K>"},       // no K
      {"headline = ndcg@20, ndcg@20", "twice"},
      {"headline = auc@20", "auc"}};             // a metric without K
  for (const auto& [line, needle] : bad) {
    SCOPED_TRACE(line);
    try {
      LoadExperiment(WriteRestricted(dir, "", line));
      FAIL() << "accepted";
    } catch (const framework::ConfigError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(needle), std::string::npos) << what;
      EXPECT_NE(what.find("restricted.conf:9"), std::string::npos) << what;
    }
  }
  // A metric the experiment does not compute cannot head its report.
  EXPECT_THROW(LoadExperiment(WriteExperiment(dir, "headline = hit@10")), framework::ConfigError);
}

TEST(Runner, ManifestListsTheHeadline) {
  const auto& run = Unsharded();
  const auto manifest = nlohmann::json::parse(framework::ReadFile(run.dir + "/out/experiment.json"));
  ASSERT_TRUE(manifest.contains("headline"));
  EXPECT_EQ(manifest["headline"], nlohmann::json::array({"ndcg@5"}));
}

TEST(Runner, ResultsHaveAblationColumnInGridOrder) {
  const auto& run = Unsharded();
  const std::string csv = framework::ReadFile(run.dir + "/out/results.csv");
  ASSERT_EQ(csv.rfind("experiment,dataset,split,train_fraction,seed,model,ablation,metric,k,value,features,role,params\n", 0), 0u);
  // Grid order: fraction 1 before 0.5, seed 0 before 1, pop before bpr.
  const size_t a = csv.find("tiny,syn,\"ratio:0.8,0.1,0.1\",1,0,pop,none,recall,5,");
  const size_t b = csv.find("tiny,syn,\"ratio:0.8,0.1,0.1\",1,0,bpr,none,recall,5,");
  const size_t c = csv.find("tiny,syn,\"ratio:0.8,0.1,0.1\",0.5,1,bpr,none,ndcg,10,");
  ASSERT_NE(a, std::string::npos) << csv;
  ASSERT_NE(b, std::string::npos) << csv;
  ASSERT_NE(c, std::string::npos) << csv;
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  // 8 cells x 2 metrics x 2 Ks + header.
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 8 * 4);
}

TEST(Merge, TwoShardsInSeparateFoldersEqualTheUnshardedRun) {
  const auto& run = Unsharded();
  const auto exp = LoadExperiment(run.conf);
  std::vector<std::string> shard_dirs;
  for (int s = 0; s < 2; ++s) {
    RunOptions opt;
    opt.out_dir = run.dir + "/shard" + std::to_string(s);
    opt.shard_index = s;
    opt.shard_count = 2;
    EXPECT_EQ(RunExperiment(exp, opt), 4);
    EXPECT_TRUE(framework::FileExists(opt.out_dir + "/experiment.shard" + std::to_string(s) + ".json"));
    shard_dirs.push_back(opt.out_dir);
  }
  const std::string merged = run.dir + "/merged";
  // One shard alone is incomplete: a clear error, not a partial results.csv.
  try {
    MergeShards(merged, {shard_dirs[0]});
    FAIL() << "merged an incomplete set of shards";
  } catch (const framework::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("shard(s) 1 of 2"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(merged)) << "a refused merge must not leave a partial folder";
  EXPECT_EQ(MergeShards(merged, shard_dirs), 8);
  EXPECT_EQ(framework::ReadFile(merged + "/results.csv"), framework::ReadFile(run.dir + "/out/results.csv"));
  const auto m = nlohmann::json::parse(framework::ReadFile(merged + "/experiment.json"));
  const auto u = nlohmann::json::parse(framework::ReadFile(run.dir + "/out/experiment.json"));
  EXPECT_EQ(m["cells"], u["cells"]);
  // A shard of a different configuration is refused.
  const std::string other = run.dir + "/other";
  RunOptions opt;
  opt.out_dir = other;
  opt.shard_index = 0;
  opt.shard_count = 2;
  RunExperiment(LoadExperiment(run.conf, {"seeds=0"}), opt);
  EXPECT_THROW(MergeShards(run.dir + "/merged2", {shard_dirs[1], other}), framework::ConfigError);
}

}  // namespace
}  // namespace recfuse::experiments

namespace recfuse::experiments {
namespace {

// The shipped studies parse, validate (models, hyperparameters, splits) and expand to the
// grids their comments describe. Data is not loaded, so this runs without ../shared.
TEST(Shipped, ExperimentFilesLoadAndExpand) {
  const std::string dir = std::string(RECFUSE_TEST_DATA) + "/../../experiments/";
  const std::vector<std::pair<std::string, size_t>> expected = {
      {"ml100k_classic.conf", 18},         // 6 models x 3 seeds
      {"ml100k_recbole_split.conf", 6},    // 6 models, fixed split
      {"ml100k_coldstart.conf", 30},       // 2 splits x 3 seeds x 5 models
      {"ml100k_sparsity.conf", 72},        // 4 fractions x 3 seeds x 6 models
      {"tune_classic.conf", 4},            // pop, ials x 2 seeds (plus 72 selection trials)
      {"tune_linear.conf", 3}};            // rp3beta, slim, admmslim x 1 seed (plus 221 trials)
  for (const auto& [file, cells] : expected) {
    SCOPED_TRACE(file);
    const auto exp = LoadExperiment(dir + file);
    EXPECT_EQ(ExpandGrid(exp).size(), cells);
  }
#ifdef RECFUSE_WITH_TORCH
  // Studies of the neural models (registered only in torch builds).
  const std::vector<std::pair<std::string, size_t>> neural = {
      // Per seed: warm 25 (random, oracle, itemknn, ials, lightgcn, vbpr, lattice, bm3, mgcn,
      // freedom at fraction 1; pop, ease, bpr, itemknn-cbf, mmfusion at 3 fractions), cold 25 +
      // 5 ablated (mmfusion -image/-text/-kg, freedom -image/-text, at fraction 1), loo 12
      // (random, gru4rec, sasrec; pop, ease, bpr at 3 fractions): 67, x 2 seeds.
      {"default.conf", 134},
      {"ml100k_neural.conf", 10},       // 10 models x 1 seed
      {"ml100k_sequential.conf", 6},    // 6 models, leave-one-out
      {"ml100k_baselines.conf", 27},    // 9 models x 3 seeds
      {"ml100k_baselines_recbole_split.conf", 9},  // 9 models, fixed split
      {"ml100k_knowledge.conf", 12},    // pop, bpr, cke, kgat x 3 seeds
      {"ml100k_flagship.conf", 9},      // ease, bpr, mmfusion x 3 seeds
      {"ml100k_ablation.conf", 10},     // mmfusion x (full + 4 ablations) x 2 splits
      // (pop, bpr, 4 itemknn-cbf + 2 vbpr + 4 mmfusion + 4 freedom feature variants) x 2 splits
      // x 3 seeds
      {"ml100k_features.conf", 96},
      {"tune_neural.conf", 4},            // bpr, neumf x 2 seeds
      {"tune_content.conf", 22},          // 11 models x 2 seeds, cold-item split
      {"tune_content_ml100k.conf", 4},    // 4 content models x 1 seed
      {"tune_mmfusion_world7.conf", 1},   // mmfusion x 1 seed
      {"ml100k_tuned.conf", 21}};         // 7 models x 3 seeds (plus the trials)
  for (const auto& [file, cells] : neural) {
    SCOPED_TRACE(file);
    EXPECT_EQ(ExpandGrid(LoadExperiment(dir + file)).size(), cells);
  }
#endif
  const auto cold = LoadExperiment(dir + "ml100k_coldstart.conf");
  ASSERT_EQ(cold.splits.size(), 2u);
  EXPECT_EQ(cold.splits[1], "cold-item:0.2");
  const auto sparse = LoadExperiment(dir + "ml100k_sparsity.conf");
  EXPECT_EQ(sparse.train_fractions, (std::vector<double>{0.1, 0.25, 0.5, 1.0}));
}

}  // namespace
}  // namespace recfuse::experiments

// The resume key must see the code's defaults, not only the explicit params: otherwise a
// binary whose default changed would skip the cell and serve a result of the old default.
TEST(CellSpecJson, RecordsEveryHyperparameterWithItsEffectiveValue) {
  recfuse::experiments::CellSpec spec;
  spec.model = "bpr";
  spec.model_params.Set("dim", "17");
  const nlohmann::json j = spec.ToJson();
  const auto& entry = recfuse::models::FindModel("bpr");
  ASSERT_TRUE(j.contains("effective_params"));
  ASSERT_EQ(j["effective_params"].size(), entry.params.size());
  for (const auto& p : entry.params) {
    ASSERT_TRUE(j["effective_params"].contains(p.name)) << p.name;
    EXPECT_EQ(j["effective_params"][p.name], p.name == "dim" ? "17" : p.default_value) << p.name;
  }
  // Spelling a default out explicitly describes the same run, so it keeps the effective view.
  recfuse::experiments::CellSpec implicit = spec, explicit_default = spec;
  const std::string lr_default = recfuse::framework::Config().GetString(entry.params, "lr");
  ASSERT_FALSE(lr_default.empty());
  explicit_default.model_params.Set("lr", lr_default);
  EXPECT_EQ(implicit.ToJson()["effective_params"], explicit_default.ToJson()["effective_params"]);
  explicit_default.model_params.Set("lr", "0.123");
  EXPECT_NE(implicit.ToJson()["effective_params"], explicit_default.ToJson()["effective_params"]);
}
