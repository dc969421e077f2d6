// The findings generator on hand-made tables: the right best model, the right significance
// wording, the oracle and random yardsticks, and which modality matters most.
#include "reports/findings.h"

#include <gtest/gtest.h>

namespace recfuse::reports {
namespace {

FindingsBlock Table(double p_best_vs_second) {
  FindingsBlock b;
  b.title = "syn \u00b7 loo \u00b7 train fraction 1";
  b.metric = "recall@20";
  b.baseline = "pop";
  b.entries = {{"pop", 0.10, "c-pop"}, {"bpr", 0.30, "c-bpr"}, {"ease", 0.32, "c-ease"}, {"mm", 0.05, "c-mm"},
               {"oracle", 0.50, "c-oracle", true}, {"random", 0.02, "c-random", true}};
  b.p_vs_baseline = {{"bpr", 0.001}, {"ease", 0.0001}, {"mm", 0.2}};
  b.p_best_vs_second = p_best_vs_second;
  return b;
}

TEST(Findings, NamesTheBestModelAndWhetherItsLeadIsSignificant) {
  const auto f = GenerateFindings({Table(0.04)}, {});
  ASSERT_EQ(f.size(), 2u);
  // The oracle (0.50) is a reference, never the best model; ease (0.32) is.
  EXPECT_EQ(f[0].text,
            "On syn \u00b7 loo \u00b7 train fraction 1, ease has the best recall@20 (0.3200), ahead of bpr (0.3000); the "
            "difference is significant (paired t-test over users, Holm-adjusted p = 0.040). The oracle (the true "
            "preference) reaches 0.5000; the best model gets 64% of it. A random ranking gets 0.0200; every model beats it.");
  EXPECT_EQ(f[0].refs, (std::vector<std::string>{"c-ease", "c-bpr", "c-oracle", "c-random"}));
  EXPECT_EQ(f[1].text,
            "Against the baseline pop on syn \u00b7 loo \u00b7 train fraction 1 (recall@20, Holm-adjusted p < 0.05): "
            "significantly better: bpr and ease; no significant difference: mm.");

  const auto g = GenerateFindings({Table(0.3)}, {});
  EXPECT_NE(g[0].text.find("the difference is not significant (paired t-test over users, Holm-adjusted p = 0.300)"),
            std::string::npos)
      << g[0].text;
  const auto untested = GenerateFindings({Table(std::nan(""))}, {});
  EXPECT_NE(untested[0].text.find("was not tested"), std::string::npos);
}

TEST(Findings, ModelsBelowRandomAndSignificantlyWorseAreNamed) {
  FindingsBlock b = Table(0.0004);
  b.entries[3].mean = 0.01;  // mm below random's 0.02
  b.p_vs_baseline["mm"] = 0.01;
  const auto f = GenerateFindings({b}, {});
  EXPECT_NE(f[0].text.find("Holm-adjusted p < 0.001"), std::string::npos) << f[0].text;
  EXPECT_NE(f[0].text.find("A random ranking gets 0.0200; mm ranks below it."), std::string::npos) << f[0].text;
  EXPECT_NE(f[1].text.find("significantly better: bpr and ease; significantly worse: mm."), std::string::npos) << f[1].text;
}

TEST(Findings, LowerIsBetterMetricsPickTheLowest) {
  FindingsBlock b;
  b.title = "t";
  b.metric = "gini@10";
  b.higher_is_better = false;
  b.entries = {{"pop", 0.95, "a"}, {"bpr", 0.40, "b"}, {"ease", 0.60, "c"}};
  const auto f = GenerateFindings({b}, {});
  ASSERT_EQ(f.size(), 1u);  // no baseline: no baseline sentence
  EXPECT_EQ(f[0].text.substr(0, 47), "On t, bpr has the best gini@10 (0.4000), ahead ");
  EXPECT_NE(f[0].text.find("ahead of ease (0.6000)"), std::string::npos);
}

TEST(Findings, TheModalityWhoseRemovalCostsMostMattersMost) {
  FindingsAblation a;
  a.title = "syn \u00b7 cold-item:0.2 \u00b7 train fraction 1";
  a.metric = "recall@20";
  a.model = "mm";
  a.full = 0.30;
  a.full_cell_id = "c-mm";
  a.variants = {{"-text", 0.29, true, -0.03, 0.01, "a-text"}, {"-image", 0.20, true, -0.15, -0.05, "a-image"}};
  const auto f = GenerateFindings({}, {a});
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].text,
            "On syn \u00b7 cold-item:0.2 \u00b7 train fraction 1, image matters most to mm: without it recall@20 goes from "
            "0.3000 to 0.2000 (-33.3%, 95% CI of the change [-0.1500, -0.0500]); without text 0.2900 (-3.3%, 95% CI of "
            "the change [-0.0300, 0.0100], which includes 0).");
  EXPECT_EQ(f[0].refs, (std::vector<std::string>{"c-mm", "a-image", "a-text"}));

  // Nothing lowers the score: said so, not "matters most".
  a.variants = {{"-text", 0.31, false, 0, 0, "a-text"}, {"-image", 0.35, false, 0, 0, "a-image"}};
  const auto g = GenerateFindings({}, {a});
  EXPECT_NE(g[0].text.find("no removed modality lowers mm's recall@20 (0.3000); the smallest value is without text"),
            std::string::npos)
      << g[0].text;
}

TEST(Findings, PValuesAreFormattedForReading) {
  EXPECT_EQ(FormatP(0.0312), "p = 0.031");
  EXPECT_EQ(FormatP(0.0002), "p < 0.001");
  EXPECT_EQ(FormatP(std::nan("")), "p = n/a");
}

}  // namespace
}  // namespace recfuse::reports
