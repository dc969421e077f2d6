#include "reports/report.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "framework/error.h"
#include "framework/io.h"
#include "reports/assets.h"
#include "tests/test_util.h"

namespace recfuse::reports {
namespace {

const char* kCsv =
    "experiment,dataset,split,train_fraction,seed,model,metric,k,value\n"
    "e,syn,\"ratio:0.8,0.1,0.1\",1,0,bpr,ndcg,10,0.30\n"
    "e,syn,\"ratio:0.8,0.1,0.1\",1,1,bpr,ndcg,10,0.34\n"
    "e,syn,\"ratio:0.8,0.1,0.1\",1,0,pop,ndcg,10,0.10\n"
    "e,syn,\"ratio:0.8,0.1,0.1\",1,1,pop,ndcg,10,0.12\n"
    "e,syn,\"ratio:0.8,0.1,0.1\",0.5,0,bpr,ndcg,10,0.20\n";

TEST(Report, ReadsQuotedSplitsAndAggregatesOverSeeds) {
  const std::string dir = testing::TempDir("report");
  testing::WriteText(dir + "/results.csv", kCsv);
  const auto rows = ReadResultsCsv(dir + "/results.csv");
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[0].split, "ratio:0.8,0.1,0.1");
  const auto aggs = AggregateRows(rows);
  ASSERT_EQ(aggs.size(), 3u);
  EXPECT_EQ(aggs[0].model, "bpr");
  EXPECT_NEAR(aggs[0].mean, 0.32, 1e-12);
  // Sample std of {0.30, 0.34}: sqrt(((-0.02)^2 + 0.02^2) / 1) = 0.028284...
  EXPECT_NEAR(aggs[0].std, 0.0282842712474619, 1e-12);
  EXPECT_EQ(aggs[2].n, 1);
  EXPECT_EQ(aggs[2].std, 0.0);
}

TEST(Report, MalformedRowNamesFileAndLine) {
  const std::string dir = testing::TempDir("report_bad");
  testing::WriteText(dir + "/results.csv",
                     "experiment,dataset,split,train_fraction,seed,model,metric,k,value\n"
                     "e,syn,loo,1,0,bpr,ndcg,10,0.3\n"
                     "e,syn,loo,1,0,bpr,ndcg,ten,0.3\n");
  try {
    ReadResultsCsv(dir + "/results.csv");
    FAIL();
  } catch (const framework::DataError& e) {
    EXPECT_EQ(e.line(), 3);
    EXPECT_NE(std::string(e.what()).find("results.csv:3"), std::string::npos);
  }
}

TEST(Report, BuildsSelfContainedHtmlLatexAndWideCsv) {
  const std::string dir = testing::TempDir("report_html");
  testing::WriteText(dir + "/results.csv", kCsv);
  BuildReport(dir);
  const std::string html = framework::ReadFile(dir + "/report/index.html");
  // The charting libraries are inlined, so the page needs no network and no sibling files.
  EXPECT_GT(VegaJs().size(), 100000u);
  EXPECT_NE(html.find(std::string(VegaLiteJs().substr(0, 200))), std::string::npos);
  EXPECT_EQ(html.find("<script src="), std::string::npos);
  // Best mean in bold: bpr 0.3200 beats pop 0.1100.
  EXPECT_NE(html.find("<td class=best>0.3200 &plusmn; 0.0283</td>"), std::string::npos);
  EXPECT_NE(html.find("chart-sparsity"), std::string::npos);  // two fractions -> sparsity chart
  const std::string tex = framework::ReadFile(dir + "/report/summary.tex");
  EXPECT_NE(tex.find("\\textbf{0.3200 $\\pm$ 0.0283}"), std::string::npos);
  const std::string wide = framework::ReadFile(dir + "/results_wide.csv");
  EXPECT_NE(wide.find("ndcg@10_mean,ndcg@10_std"), std::string::npos);
}

TEST(Report, MissingResultsIsAClearError) {
  EXPECT_THROW(BuildReport(testing::TempDir("report_empty")), framework::IoError);
}

}  // namespace
}  // namespace recfuse::reports

namespace recfuse::reports {
namespace {

// Two cells whose per-user values differ consistently: the non-baseline model gets a dagger;
// with identical values it does not.
void WriteCell(const std::string& dir, const std::string& label, const std::vector<double>& ndcg) {
  nlohmann::json run = {{"label", label},
                        {"config", {{"dataset", "syn"}, {"split", "loo"}, {"train_fraction", 1.0}, {"seed", 0}}}};
  testing::WriteText(dir + "/run.json", run.dump());
  std::string tsv = "user\tndcg@10\n";
  for (size_t u = 0; u < ndcg.size(); ++u) tsv += "u" + std::to_string(u) + "\t" + std::to_string(ndcg[u]) + "\n";
  testing::WriteText(dir + "/per_user.tsv", tsv);
}

TEST(Report, SignificanceMarkersVersusBaseline) {
  for (bool differ : {true, false}) {
    const std::string dir = testing::TempDir("report_sig");
    std::vector<double> base, other;
    for (int u = 0; u < 40; ++u) {
      base.push_back(0.2 + 0.01 * (u % 7));
      other.push_back(base.back() + (differ ? 0.1 + 0.001 * (u % 3) : 0.0));
    }
    WriteCell(dir + "/cells/a", "bpr", base);
    WriteCell(dir + "/cells/b", "ease", other);
    testing::WriteText(dir + "/experiment.json",
                       R"({"experiment":"e","baseline":"bpr","cells":["cells/a","cells/b"]})");
    testing::WriteText(dir + "/results.csv",
                       "experiment,dataset,split,train_fraction,seed,model,metric,k,value\n"
                       "e,syn,loo,1,0,bpr,ndcg,10,0.23\ne,syn,loo,1,0,ease,ndcg,10,0.33\n");
    BuildReport(dir);
    const std::string html = framework::ReadFile(dir + "/report/index.html");
    EXPECT_EQ(html.find("<sup>&dagger;</sup>") != std::string::npos, differ) << differ;
  }
}

}  // namespace
}  // namespace recfuse::reports
