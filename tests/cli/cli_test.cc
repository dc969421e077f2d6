// End-to-end tests: drive the recfuse binary like a user would, on tiny data.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "framework/io.h"
#include "tests/test_util.h"

namespace recfuse {
namespace {

using testing::RecfuseBinary;
using testing::RunCommand;

std::string Cli(const std::string& args, int* status) {
  std::string out;
  *status = RunCommand(RecfuseBinary() + " " + args, &out);
  return out;
}

// A small synthetic world shared by the tests of this binary (generated once).
const std::string& World() {
  static const std::string dir = [] {
    const std::string d = testing::TempDir("cli_world");
    int st;
    const std::string out = Cli("data generate --out " + d +
                                    " --seed 3 --set users=120 --set items=90 --set interactions=4000"
                                    " --set image_size=16",
                                &st);
    EXPECT_EQ(st, 0) << out;
    return d;
  }();
  return dir;
}

TEST(Cli, HelpAndUnknownCommand) {
  int st;
  std::string out = Cli("--help", &st);
  EXPECT_EQ(st, 0);
  EXPECT_NE(out.find("evaluate"), std::string::npos);
  out = Cli("frobnicate", &st);
  EXPECT_NE(st, 0);
  EXPECT_NE(out.find("unknown command 'frobnicate'"), std::string::npos) << out;
  out = Cli("evaluate --no-such-flag", &st);
  EXPECT_NE(st, 0);
  EXPECT_NE(out.find("no-such-flag"), std::string::npos) << out;
}

TEST(Cli, ModelsListsClassicModels) {
  int st;
  const std::string out = Cli("models", &st);
  EXPECT_EQ(st, 0) << out;
  for (const char* m : {"pop", "itemknn", "userknn", "ease", "ials", "bpr", "biasedmf"})
    EXPECT_NE(out.find(m), std::string::npos) << m << "\n" << out;
}

TEST(Cli, InspectJsonHasRequiredKeys) {
  int st;
  const std::string out = Cli("data inspect " + World() + " --json --log-level quiet", &st);
  ASSERT_EQ(st, 0) << out;
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["users"].get<int>(), 120);
  EXPECT_EQ(j["items"].get<int>(), 90);
  for (const char* k : {"interactions", "items_with_text", "items_with_image", "kg_triples"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_EQ(j["items_with_image"].get<int>(), 90);
}

TEST(Cli, EvaluateUnknownModelAndBadSplitAreClearErrors) {
  int st;
  std::string out = Cli("evaluate --data " + World() + " --model nosuch --out /tmp/x --seed 0", &st);
  EXPECT_NE(st, 0);
  EXPECT_NE(out.find("unknown model 'nosuch'"), std::string::npos) << out;
  out = Cli("evaluate --data " + World() + " --model pop --split ratio:0.5,0.1 --out /tmp/x", &st);
  EXPECT_NE(st, 0);
  EXPECT_NE(out.find("split"), std::string::npos) << out;
  out = Cli("evaluate --data " + World() + " --model pop --out /tmp/x --set ks=0", &st);
  EXPECT_NE(st, 0);
  EXPECT_NE(out.find("ks"), std::string::npos) << out;
  out = Cli("evaluate --data " + World() + " --model bpr --out /tmp/x --set dimm=3", &st);
  EXPECT_NE(st, 0);
  EXPECT_NE(out.find("unknown key 'dimm'"), std::string::npos) << out;
}

// Recomputes Recall@K and NDCG@K from test.tsv and topk.tsv and checks metrics.csv.
TEST(Cli, EvaluateEvidenceReproducesMetrics) {
  const std::string out_dir = testing::TempDir("cli_eval");
  int st;
  const std::string out = Cli("evaluate --data " + World() + " --model itemknn --split ratio:0.8,0.1,0.1 --seed 1 --out " +
                                  out_dir + " --set ks=5,10 --set cache_dir=none --log-level warn",
                              &st);
  ASSERT_EQ(st, 0) << out;
  std::map<std::string, std::set<std::string>> test;
  {
    std::ifstream in(out_dir + "/test.tsv");
    std::string line;
    while (std::getline(in, line)) {
      const size_t tab = line.find('\t');
      test[line.substr(0, tab)].insert(line.substr(tab + 1));
    }
  }
  std::map<std::string, std::vector<std::string>> topk;
  {
    std::ifstream in(out_dir + "/topk.tsv");
    std::string line;
    while (std::getline(in, line)) {
      const size_t tab = line.find('\t');
      std::istringstream items(line.substr(tab + 1));
      std::string it;
      auto& list = topk[line.substr(0, tab)];
      while (items >> it) list.push_back(it);
    }
  }
  ASSERT_FALSE(test.empty());
  EXPECT_EQ(test.size(), topk.size());
  std::map<std::pair<std::string, int>, double> csv;
  {
    std::ifstream in(out_dir + "/metrics.csv");
    std::string line;
    std::getline(in, line);
    EXPECT_EQ(line, "model,metric,k,value");
    while (std::getline(in, line)) {
      std::vector<std::string> f;
      std::istringstream ss(line);
      std::string x;
      while (std::getline(ss, x, ',')) f.push_back(x);
      ASSERT_EQ(f.size(), 4u) << line;
      csv[{f[1], std::stoi(f[2])}] = std::stod(f[3]);
    }
  }
  for (int k : {5, 10}) {
    double recall = 0, ndcg = 0;
    for (const auto& [user, items] : test) {
      const auto& list = topk.at(user);
      double hits = 0, dcg = 0, idcg = 0;
      for (int r = 0; r < k && r < static_cast<int>(list.size()); ++r)
        if (items.count(list[r])) {
          hits += 1;
          dcg += 1.0 / std::log2(r + 2.0);
        }
      for (int r = 0; r < std::min<int>(k, items.size()); ++r) idcg += 1.0 / std::log2(r + 2.0);
      recall += hits / items.size();
      ndcg += dcg / idcg;
    }
    recall /= test.size();
    ndcg /= test.size();
    EXPECT_NEAR(csv.at({"recall", k}), recall, 1e-9) << k;
    EXPECT_NEAR(csv.at({"ndcg", k}), ndcg, 1e-9) << k;
  }
  const auto run = nlohmann::json::parse(framework::ReadFile(out_dir + "/run.json"));
  for (const char* key : {"config", "seed", "data_hash", "git_commit", "fit_seconds", "peak_rss_bytes"})
    EXPECT_TRUE(run.contains(key)) << key;
}

TEST(Cli, SameSeedSameMetrics) {
  const std::string a = testing::TempDir("cli_det_a"), b = testing::TempDir("cli_det_b");
  int st;
  for (const auto& d : {a, b}) {
    const std::string out = Cli("evaluate --data " + World() + " --model bpr --seed 5 --threads 1 --out " + d +
                                    " --set epochs=3 --set cache_dir=none --log-level warn",
                                &st);
    ASSERT_EQ(st, 0) << out;
  }
  EXPECT_EQ(framework::ReadFile(a + "/metrics.csv"), framework::ReadFile(b + "/metrics.csv"));
  EXPECT_EQ(framework::ReadFile(a + "/topk.tsv"), framework::ReadFile(b + "/topk.tsv"));
}

TEST(Cli, RunWritesResultsAndReportAndResumes) {
  const std::string dir = testing::TempDir("cli_run");
  testing::WriteText(dir + "/exp.conf",
                     "name = tiny\ndatasets = world\nmodels = pop, itemknn\nseeds = 0, 1\n"
                     "train_fractions = 0.5, 1.0\nks = 5\nthreads = 1\n"
                     "[dataset.world]\npath = " + World() + "\n");
  int st;
  std::string out = Cli("run " + dir + "/exp.conf --out " + dir + "/out --cache-dir none --log-level warn", &st);
  ASSERT_EQ(st, 0) << out;
  EXPECT_NE(out.find("ran 8 cell(s)"), std::string::npos) << out;
  const std::string results = framework::ReadFile(dir + "/out/results.csv");
  EXPECT_TRUE(framework::FileExists(dir + "/out/report/index.html"));
  out = Cli("run " + dir + "/exp.conf --out " + dir + "/out --cache-dir none --log-level warn", &st);
  ASSERT_EQ(st, 0) << out;
  EXPECT_NE(out.find("ran 0 cell(s)"), std::string::npos) << out;
  EXPECT_EQ(framework::ReadFile(dir + "/out/results.csv"), results);
  out = Cli("report " + dir + "/out", &st);
  EXPECT_EQ(st, 0) << out;
}

TEST(Cli, ExperimentWithUnknownKeyOrModelFails) {
  const std::string dir = testing::TempDir("cli_badexp");
  testing::WriteText(dir + "/a.conf", "datasets = w\nmodels = pop\nseedz = 1\n[dataset.w]\npath = /nonexistent\n");
  int st;
  std::string out = Cli("run " + dir + "/a.conf --out " + dir + "/o", &st);
  EXPECT_NE(st, 0);
  EXPECT_NE(out.find("unknown key 'seedz'"), std::string::npos) << out;
  testing::WriteText(dir + "/b.conf", "datasets = w\nmodels = nosuch\n[dataset.w]\npath = /nonexistent\n");
  out = Cli("run " + dir + "/b.conf --out " + dir + "/o", &st);
  EXPECT_NE(st, 0);
  EXPECT_NE(out.find("unknown model 'nosuch'"), std::string::npos) << out;
}

}  // namespace
}  // namespace recfuse

namespace recfuse {
namespace {

TEST(Cli, EncodeWritesFeaturesAndRejectsUnknownSpecs) {
  const std::string dir = testing::TempDir("cli_encode");
  int st;
  // Builds without libtorch (the sanitizer build) have no encoders and no `encode` command.
  if (Cli("encode --help", &st).find("--encoder") == std::string::npos)
    GTEST_SKIP() << "this recfuse binary was built without encoders (RECFUSE_WITH_TORCH=OFF)";
  for (const char* spec : {"image:handcrafted", "text:tfidf-svd:8"}) {
    const std::string out = Cli(std::string("encode --data ") + World() + " --encoder " + spec + " --out " + dir +
                                    "/f.h5 --log-level warn",
                                &st);
    ASSERT_EQ(st, 0) << out;
    EXPECT_NE(out.find("90 items"), std::string::npos) << out;
    EXPECT_TRUE(framework::FileExists(dir + "/f.h5"));
  }
  std::string out = Cli("encode --data " + World() + " --encoder image:nosuch --out " + dir + "/g.h5", &st);
  EXPECT_NE(st, 0);
  EXPECT_NE(out.find("unknown encoder 'image:nosuch'"), std::string::npos) << out;
  EXPECT_FALSE(framework::FileExists(dir + "/g.h5"));
  out = Cli("encode --data " + World() + " --encoder text:tfidf-svd:0 --out " + dir + "/g.h5", &st);
  EXPECT_NE(st, 0);
  EXPECT_NE(out.find("dimension"), std::string::npos) << out;
}

}  // namespace
}  // namespace recfuse
