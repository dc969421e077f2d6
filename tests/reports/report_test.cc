#include "reports/report.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

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

// The summary cell of (table, model, metric label) in report.json, or null.
nlohmann::json SummaryCell(const nlohmann::json& data, size_t block, const std::string& model, const std::string& label) {
  for (const auto& r : data["summary"][block]["rows"])
    if (r["model"] == model && r["cells"].contains(label)) return r["cells"][label];
  return nullptr;
}

nlohmann::json Chart(const nlohmann::json& data, const std::string& id) {
  for (const auto& c : data["charts"])
    if (c["id"] == id) return c;
  return nullptr;
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
  // The page is the template with the data inlined: the same JSON as report.json.
  const auto data = nlohmann::json::parse(framework::ReadFile(dir + "/report/report.json"));
  EXPECT_NE(html.find("const RECFUSE = {"), std::string::npos);
  EXPECT_EQ(html.find("/*RECFUSE:DATA*/"), std::string::npos);
  EXPECT_NE(html.find(std::string(ReportTemplate().substr(ReportTemplate().find("function el(tag"), 200))), std::string::npos);
  // Without 20 in ks the headline falls back to recall and ndcg at the first cutoff present.
  EXPECT_EQ(data["headline"], nlohmann::json::array({"ndcg@10"}));
  // Best mean in bold: bpr 0.3200 beats pop 0.1100.
  const auto bpr = SummaryCell(data, 0, "bpr", "ndcg@10");
  EXPECT_EQ(bpr["text"], "0.3200 \u00b1 0.0283");
  EXPECT_TRUE(bpr.value("best", false));
  EXPECT_FALSE(SummaryCell(data, 0, "pop", "ndcg@10").value("best", false));
  ASSERT_FALSE(Chart(data, "chart-sparsity").is_null());  // two fractions -> sparsity chart
  // Every summary layer carries the axis title, so Vega-Lite does not merge the field names
  // into "ndcg@10, lo".
  const auto summary = Chart(data, "chart-summary");
  for (const auto& layer : summary["spec"]["spec"]["layer"])
    EXPECT_EQ(layer["encoding"]["x"]["title"], "ndcg@10 (mean \u00b1 std over seeds)");
  const std::string tex = framework::ReadFile(dir + "/report/summary.tex");
  EXPECT_NE(tex.find("\\textbf{0.3200 $\\pm$ 0.0283}"), std::string::npos);
  const std::string wide = framework::ReadFile(dir + "/results_wide.csv");
  EXPECT_NE(wide.find("ndcg@10_mean,ndcg@10_std"), std::string::npos);
}

// Gini: 0 = every item recommended equally often, so the LOWEST gini is the best one; ndcg
// keeps highest-is-best in the same table (both directions read from eval::MetricRegistry).
TEST(Report, BestInBoldFollowsEachMetricsDirection) {
  const std::string dir = testing::TempDir("report_direction");
  testing::WriteText(dir + "/results.csv",
                     "experiment,dataset,split,train_fraction,seed,model,metric,k,value\n"
                     "e,syn,loo,1,0,pop,ndcg,10,0.10\ne,syn,loo,1,0,pop,gini,10,0.95\n"
                     "e,syn,loo,1,0,bpr,ndcg,10,0.30\ne,syn,loo,1,0,bpr,gini,10,0.40\n"
                     "e,syn,loo,1,0,ease,ndcg,10,0.20\ne,syn,loo,1,0,ease,gini,10,0.60\n");
  BuildReport(dir);
  const auto data = BuildReportData(dir);
  EXPECT_TRUE(SummaryCell(data, 0, "bpr", "gini@10").value("best", false));  // 0.40
  EXPECT_FALSE(SummaryCell(data, 0, "pop", "gini@10").value("best", false));  // 0.95, the least diverse
  EXPECT_TRUE(SummaryCell(data, 0, "bpr", "ndcg@10").value("best", false));
  const std::string tex = framework::ReadFile(dir + "/report/summary.tex");
  EXPECT_NE(tex.find("\\textbf{0.4000}"), std::string::npos);
  EXPECT_EQ(tex.find("\\textbf{0.9500}"), std::string::npos);
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
    const auto data = BuildReportData(dir);
    EXPECT_EQ(SummaryCell(data, 0, "ease", "ndcg@10").value("sig", false), differ) << differ;
    EXPECT_FALSE(SummaryCell(data, 0, "bpr", "ndcg@10").value("sig", false));
  }
}

}  // namespace
}  // namespace recfuse::reports

namespace recfuse::reports {
namespace {

// A results folder with two full models and ablated variants of one of them.
std::string AblationResults() {
  const std::string dir = testing::TempDir("report_ablation");
  testing::WriteText(dir + "/results.csv",
                     "experiment,dataset,split,train_fraction,seed,model,ablation,metric,k,value\n"
                     "e,syn,loo,1,0,mm,none,ndcg,10,0.40\n"
                     "e,syn,loo,1,1,mm,none,ndcg,10,0.30\n"
                     "e,syn,loo,1,0,mm,-image,ndcg,10,0.28\n"
                     "e,syn,loo,1,1,mm,-image,ndcg,10,0.22\n"
                     "e,syn,loo,1,0,mm,-text,ndcg,10,0.40\n"
                     "e,syn,loo,1,1,mm,-text,ndcg,10,0.30\n"
                     "e,syn,loo,1,0,pop,none,ndcg,10,0.10\n"
                     "e,syn,loo,1,1,pop,none,ndcg,10,0.10\n");
  return dir;
}

TEST(Report, ReadsAblationColumnAndAggregatesPerVariant) {
  const auto rows = ReadResultsCsv(AblationResults() + "/results.csv");
  ASSERT_EQ(rows.size(), 8u);
  EXPECT_EQ(rows[2].ablation, "-image");
  EXPECT_EQ(rows[2].metric, "ndcg");
  const auto aggs = AggregateRows(rows);
  ASSERT_EQ(aggs.size(), 4u);  // mm, mm-image, mm-text, pop
  EXPECT_EQ(aggs[1].ablation, "-image");
  EXPECT_NEAR(aggs[1].mean, 0.25, 1e-12);
  // The 9-column layout (before ablations) reads as full models.
  const std::string legacy = testing::TempDir("report_legacy");
  testing::WriteText(legacy + "/results.csv", kCsv);
  for (const auto& r : ReadResultsCsv(legacy + "/results.csv")) EXPECT_EQ(r.ablation, "none");
}

TEST(Report, FeaturesColumnIsReadAndCarriedIntoTheWideTable) {
  const std::string dir = testing::TempDir("report_features");
  testing::WriteText(dir + "/results.csv",
                     "experiment,dataset,split,train_fraction,seed,model,ablation,metric,k,value,features\n"
                     "e,syn,loo,1,0,vbpr@handcrafted,none,ndcg,10,0.20,\"image=image:handcrafted\"\n"
                     "e,syn,loo,1,0,vbpr@mobilenet_v2,none,ndcg,10,0.30,\"image=image:mobilenet_v2\"\n"
                     "e,syn,loo,1,0,pop,none,ndcg,10,0.10,\"\"\n");
  const auto rows = ReadResultsCsv(dir + "/results.csv");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1].features, "image=image:mobilenet_v2");
  EXPECT_EQ(rows[1].model, "vbpr@mobilenet_v2");
  EXPECT_NEAR(rows[1].value, 0.30, 1e-12);
  EXPECT_EQ(rows[2].features, "");
  BuildReport(dir);
  const std::string wide = framework::ReadFile(dir + "/results_wide.csv");
  EXPECT_NE(wide.find("syn,\"loo\",1,vbpr@mobilenet_v2,0.29999999999999999,0,none,\"image=image:mobilenet_v2\"\n"),
            std::string::npos)
      << wide;
  EXPECT_NE(wide.find("syn,\"loo\",1,pop,0.10000000000000001,0,none,\"\"\n"), std::string::npos) << wide;
  // A row with the features column missing is an error naming the line.
  testing::WriteText(dir + "/bad.csv",
                     "experiment,dataset,split,train_fraction,seed,model,ablation,metric,k,value,features\n"
                     "e,syn,loo,1,0,pop,none,ndcg,10,0.10\n");
  try {
    ReadResultsCsv(dir + "/bad.csv");
    FAIL() << "short row accepted";
  } catch (const framework::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.csv"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("expected 11 fields, got 10"), std::string::npos) << e.what();
  }
}

TEST(Report, AblationTableShowsDeltasAndSummaryKeepsFullModels) {
  const std::string dir = AblationResults();
  BuildReport(dir);
  const auto data = nlohmann::json::parse(framework::ReadFile(dir + "/report/report.json"));
  ASSERT_EQ(data["ablations"].size(), 1u);
  // mm full = 0.35; -image = 0.25: delta -0.1, -28.6%; -text = the same seeds' values: 0.
  // pop has no ablated variant: not in the ablation table.
  const auto& rows = data["ablations"][0]["rows"];
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["model"], "mm");
  EXPECT_NEAR(rows[0]["full"].get<double>(), 0.35, 1e-12);
  EXPECT_NEAR(rows[0]["cells"]["-image"]["delta"].get<double>(), -0.10, 1e-12);
  EXPECT_NEAR(rows[0]["cells"]["-image"]["relative"].get<double>(), -0.10 / 0.35, 1e-12);
  EXPECT_NEAR(rows[0]["cells"]["-text"]["delta"].get<double>(), 0.0, 1e-12);
  // The findings name the modality whose removal costs most.
  bool named = false;
  for (const auto& f : data["findings"])
    named |= f["text"].get<std::string>().find("image matters most to mm") != std::string::npos;
  EXPECT_TRUE(named) << data["findings"].dump(1);
  // The summary's best cell is the full mm (0.35 beats pop 0.10), not an ablated variant.
  const auto mm = SummaryCell(data, 0, "mm", "ndcg@10");
  EXPECT_EQ(mm["text"], "0.3500 \u00b1 0.0707");
  EXPECT_TRUE(mm.value("best", false));
  // results_wide.csv: full models say "none" in the last (ablation) column, and each ablated
  // variant has its own row with its own means (mm -image = 0.25 over seeds).
  const std::string wide = framework::ReadFile(dir + "/results_wide.csv");
  EXPECT_EQ(wide.substr(0, wide.find('\n')), "dataset,split,train_fraction,model,ndcg@10_mean,ndcg@10_std,ablation,features");
  EXPECT_NE(wide.find("syn,\"loo\",1,mm,0.34999999999999998,0.070710678118654766,none,\"\"\n"), std::string::npos) << wide;
  EXPECT_NE(wide.find("syn,\"loo\",1,mm,0.25,"), std::string::npos) << wide;
  EXPECT_NE(wide.find(",-image,\"\"\n"), std::string::npos) << wide;
  EXPECT_NE(wide.find(",-text,\"\"\n"), std::string::npos) << wide;
  // No ablation rows -> no ablation section.
  const std::string plain = testing::TempDir("report_noablation");
  testing::WriteText(plain + "/results.csv", kCsv);
  EXPECT_TRUE(BuildReportData(plain)["ablations"].empty());
}

// Each ablated variant's training curve is its own series (own colour), not the full model's.
TEST(Report, AblatedVariantsTrainingCurvesAreSeparateSeries) {
  const std::string dir = AblationResults();
  for (const std::string ablation : {"none", "-image"}) {
    nlohmann::json run = {{"label", "mm"},
                          {"ablation", ablation},
                          {"config", {{"dataset", "syn"}, {"split", "loo"}, {"train_fraction", 1.0}, {"seed", 0}}},
                          {"curve", {{{"epoch", 1}, {"loss", 0.9}}, {{"epoch", 2}, {"loss", 0.5}}}}};
    testing::WriteText(dir + "/cells/" + (ablation == "none" ? "full" : "noimage") + "/run.json", run.dump());
  }
  const auto curves = Chart(BuildReportData(dir), "chart-curves");
  ASSERT_FALSE(curves.is_null());
  std::set<std::string> series;
  for (const auto& p : curves["spec"]["data"]["values"]) series.insert(p["model"].get<std::string>());
  EXPECT_EQ(series, (std::set<std::string>{"mm", "mm -image"}));
}

// The Runs table shows each cell's realised split from run.json (69 / 15.5 / 15.5 %, as a
// per-user 8:1:1 came out on a 5-core dataset).
TEST(Report, RunsTableShowsTheRealisedSplit) {
  const std::string dir = AblationResults();
  nlohmann::json run = {{"label", "mm"},
                        {"config", {{"dataset", "syn"}, {"split", "loo"}, {"train_fraction", 1.0}, {"seed", 0}}},
                        {"train_interactions", 690},
                        {"valid_interactions", 155},
                        {"test_interactions", 155}};
  testing::WriteText(dir + "/cells/full/run.json", run.dump());
  const auto data = BuildReportData(dir);
  bool found = false;
  for (const auto& r : data["runs"])
    found |= r["realised_split"] == "train 690 (69.0%) / valid 155 (15.5%) / test 155 (15.5%) rows";
  EXPECT_TRUE(found) << data["runs"].dump(1);
  EXPECT_NE(std::string(ReportTemplate()).find("'realised split'"), std::string::npos);
}

// Cells with groups.csv and (optionally) modality weights.
void WriteGroupCell(const std::string& dir, const std::string& label, uint64_t seed, double head, double cold,
                    const nlohmann::json& weights) {
  nlohmann::json run = {{"label", label},
                        {"config", {{"dataset", "syn"}, {"split", "loo"}, {"train_fraction", 1.0}, {"seed", seed}}}};
  if (!weights.is_null()) run["modality_weights"] = weights;
  testing::WriteText(dir + "/run.json", run.dump());
  testing::WriteText(dir + "/groups.csv",
                     "group_kind,group,metric,k,value,n_users\n"
                     "item_popularity,\"head\",ndcg,10," + std::to_string(head) + ",30\n"
                     "item_popularity,\"tail\",ndcg,10,nan,0\n"
                     "item_coldness,\"cold\",ndcg,10," + std::to_string(cold) + ",4\n"
                     "user_activity,\"q1:[1,5]\",ndcg,10,0.9,10\n");
}

TEST(Report, ColdStartAndModalityWeightChartsFromCellFiles) {
  for (bool with_weights : {false, true}) {
    const std::string dir = testing::TempDir("report_cold");
    // Binary fractions, so the means print exactly.
    const nlohmann::json w = with_weights ? nlohmann::json{{"image", 0.75}, {"text", 0.25}} : nlohmann::json();
    WriteGroupCell(dir + "/cells/a", "mm", 0, 0.5, 0.125, w);
    WriteGroupCell(dir + "/cells/b", "mm", 1, 0.25, 0.25,
                   with_weights ? nlohmann::json{{"image", 0.25}, {"text", 0.5}} : w);
    testing::WriteText(dir + "/experiment.json", R"({"experiment":"e","cells":["cells/a","cells/b"]})");
    testing::WriteText(dir + "/results.csv",
                       "experiment,dataset,split,train_fraction,seed,model,ablation,metric,k,value\n"
                       "e,syn,loo,1,0,mm,none,ndcg,10,0.4\ne,syn,loo,1,1,mm,none,ndcg,10,0.3\n");
    BuildReport(dir);
    const std::string html = framework::ReadFile(dir + "/report/index.html");
    const auto data = nlohmann::json::parse(framework::ReadFile(dir + "/report/report.json"));
    // Seed means: head (0.5+0.25)/2 = 0.375, cold (0.125+0.25)/2 = 0.1875;
    // the empty tail group (NaN) and user groups are not in the chart.
    const auto cold = Chart(data, "chart-coldstart");
    ASSERT_FALSE(cold.is_null());
    std::map<std::string, double> mean_of;
    for (const auto& row : cold["spec"]["data"]["values"]) mean_of[row["panel"].get<std::string>()] = row["mean"].get<double>();
    EXPECT_EQ(mean_of, (std::map<std::string, double>{{"loo \u00b7 popularity: head", 0.375}, {"loo \u00b7 items: cold", 0.1875}}));
    EXPECT_EQ(!Chart(data, "chart-weights").is_null(), with_weights);
    if (with_weights) {
      // image (0.75+0.25)/2 = 0.5, text (0.25+0.5)/2 = 0.375.
      std::map<std::string, double> w_of;
      const auto weights = Chart(data, "chart-weights");
      for (const auto& row : weights["spec"]["data"]["values"])
        w_of[row["modality"].get<std::string>()] = row["weight"].get<double>();
      EXPECT_EQ(w_of, (std::map<std::string, double>{{"image", 0.5}, {"text", 0.375}}));
    }
    // Errors are recorded for the browser test before any library script runs.
    EXPECT_LT(html.find("window.addEventListener('error'"), html.find(std::string(VegaJs().substr(0, 100))));
  }
}

// Known answers of a synthetic world, computed from the run's own numbers: content beats the
// best ID-only model and the random ranking on cold items; the oracle is a ceiling on cold
// items only (on warm items the generator's exposure and sessions give ID models evidence
// the preference score lacks, so there it is a reference, neither holding nor failing).
TEST(Report, KnownAnswersAreComputedFromTheRun) {
  for (bool content_wins : {true, false}) {
    const std::string dir = testing::TempDir("report_known");
    const std::string world = dir + "/data/syn";
    testing::WriteText(world + "/truth_meta.json",
                       R"({"params":{"signal_image":"0.9","signal_text":"0.6","signal_kg":"0.3"}})");
    nlohmann::json cells = nlohmann::json::array();
    for (const auto& [label, type] : std::vector<std::pair<std::string, std::string>>{
             {"mm", "mmfusion"}, {"bpr", "bpr"}, {"rnd", "random"}, {"orc", "oracle"}}) {
      nlohmann::json run = {{"label", label},
                            {"data_source", world},
                            {"config", {{"dataset", "syn"}, {"model", type}, {"split", "cold-item:0.2"},
                                        {"train_fraction", 1.0}, {"seed", 0}}}};
      if (label == "mm") run["modalities"] = nlohmann::json::array({{{"name", "image"}, {"available", true}}});
      testing::WriteText(dir + "/cells/" + label + "/run.json", run.dump());
      cells.push_back("cells/" + label);
    }
    testing::WriteText(dir + "/experiment.json", nlohmann::json{{"experiment", "e"}, {"cells", cells}}.dump());
    const std::string mm = content_wins ? "0.25" : "0.01";
    testing::WriteText(dir + "/results.csv",
                       "experiment,dataset,split,train_fraction,seed,model,ablation,metric,k,value\n"
                       "e,syn,cold-item:0.2,1,0,mm,none,ndcg,10," + mm + "\n"
                       "e,syn,cold-item:0.2,1,0,bpr,none,ndcg,10,0\n"
                       "e,syn,cold-item:0.2,1,0,rnd,none,ndcg,10,0.02\n"
                       "e,syn,cold-item:0.2,1,0,orc,none,ndcg,10,0.5\n"
                       "e,syn,loo,1,0,bpr,none,ndcg,10,0.4\n"
                       "e,syn,loo,1,0,orc,none,ndcg,10,0.3\n");
    BuildReport(dir);
    const auto data = nlohmann::json::parse(framework::ReadFile(dir + "/report/report.json"));
    std::map<std::string, nlohmann::json> by_claim;
    for (const auto& k : data["known_answers"]) by_claim[k["claim"].get<std::string>() + " | " + k["where"].get<std::string>()] = k;
    ASSERT_EQ(by_claim.size(), 3u) << data["known_answers"].dump(1);
    const nlohmann::json* wins = nullptr;
    const nlohmann::json* ceiling = nullptr;
    const nlohmann::json* reference = nullptr;
    for (const auto& [key, k] : by_claim) {
      if (key.find("Content wins on cold items") == 0) wins = &k;
      if (key.find("On cold items no model passes the oracle") == 0) ceiling = &k;
      if (key.find("a reference, not a ceiling") != std::string::npos) reference = &k;
    }
    ASSERT_TRUE(wins && ceiling && reference) << data["known_answers"].dump(1);
    EXPECT_EQ((*wins)["pass"], content_wins) << (*wins)["detail"];
    if (content_wins) {
      EXPECT_NE((*wins)["detail"].get<std::string>().find("best content model mm 0.25"), std::string::npos)
          << (*wins)["detail"];
      EXPECT_NE((*wins)["detail"].get<std::string>().find("12.5\u00d7 random"), std::string::npos) << (*wins)["detail"];
    }
    EXPECT_EQ((*ceiling)["pass"], true);
    // bpr (0.4) above the oracle (0.3) on the warm split is not a failure.
    EXPECT_TRUE((*reference)["pass"].is_null());
    EXPECT_NE((*reference)["detail"].get<std::string>().find("best model bpr 0.4"), std::string::npos)
        << (*reference)["detail"];
  }
}

}  // namespace
}  // namespace recfuse::reports
