// The HTML report of a tiny sweep, opened in headless Chromium: every chart renders (an <svg>
// in each chart container), the page reports chartsReady, and no script error or unhandled
// rejection was recorded. Skipped, with the reason printed, when `chromium` is not on PATH.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>

#include "framework/io.h"
#include "tests/test_util.h"

namespace recfuse {
namespace {

namespace fs = std::filesystem;
using testing::RecfuseBinary;
using testing::RunCommand;

bool HaveChromium() {
  std::string out;
  return RunCommand("command -v chromium", &out) == 0 && !out.empty();
}

// The DOM after scripts ran (stdout of --dump-dom; Chromium's own stderr chatter kept apart).
std::string DumpDom(const std::string& html_path, const std::string& profile) {
  std::string out;
  const int st = RunCommand("(timeout 120 chromium --headless=new --no-sandbox --disable-gpu --no-first-run "
                            "--user-data-dir=" + profile + " --window-size=1280,1000 --virtual-time-budget=15000 --dump-dom file://" +
                                html_path + " 2>" + profile + ".stderr)",
                            &out);
  EXPECT_EQ(st, 0) << out;
  return out;
}

// Chart container ids in the DOM, each with whether an <svg> or <canvas> follows before the next one.
std::vector<std::pair<std::string, bool>> Charts(const std::string& dom) {
  std::vector<std::pair<std::string, bool>> out;
  const std::regex id_re("id=\"(chart-[a-z]+)\"");
  std::vector<std::pair<std::string, size_t>> at;
  for (auto it = std::sregex_iterator(dom.begin(), dom.end(), id_re); it != std::sregex_iterator(); ++it)
    at.emplace_back((*it)[1].str(), static_cast<size_t>(it->position()));
  for (size_t i = 0; i < at.size(); ++i) {
    const size_t end = i + 1 < at.size() ? at[i + 1].second : dom.size();
    const std::string part = dom.substr(at[i].second, end - at[i].second);
    // Marks, not just an SVG: Vega draws each mark set as a "role-mark" group, empty when
    // the chart's data matched nothing.
    static const std::regex mark_re("role-mark[^>]*>\\s*<(path|line|rect|text|g|circle)");
    out.emplace_back(at[i].first, std::regex_search(part, mark_re));
  }
  return out;
}

TEST(ReportBrowser, EveryChartRendersWithoutScriptErrors) {
  if (!HaveChromium()) GTEST_SKIP() << "chromium is not on PATH (scripts/setup.sh installs it)";
  const std::string dir = testing::TempDir("report_browser");
  testing::WriteText(dir + "/exp.conf",
                     "name = browser\ndatasets = syn\nmodels = pop, bpr\nseeds = 0, 1\n"
                     "train_fractions = 1.0, 0.5\nks = 5, 10\nthreads = 1\nbaseline = pop\n"
                     "[dataset.syn]\ngenerate = true\ngen.users = 150\ngen.items = 100\n"
                     "gen.interactions = 5000\ngen.images = false\n"
                     "[model.bpr]\nepochs = 5\ndim = 8\n");
  const std::string out = dir + "/out";
  std::string log;
  ASSERT_EQ(RunCommand(RecfuseBinary() + " run " + dir + "/exp.conf --out " + out + " --cache-dir none", &log), 0)
      << log;
  // No registered model learns modality weights yet; give two runs the field an attention
  // model's run.json carries, and rebuild the report from the stored results.
  const auto manifest = nlohmann::json::parse(framework::ReadFile(out + "/experiment.json"));
  int patched = 0;
  for (const auto& c : manifest["cells"]) {
    const std::string run_path = out + "/" + c.get<std::string>() + "/run.json";
    auto run = nlohmann::json::parse(framework::ReadFile(run_path));
    if (run["label"] != "bpr" || run["config"]["train_fraction"].get<double>() != 1.0) continue;
    run["modality_weights"] = {{"id", 0.2 + 0.1 * patched}, {"text", 0.3}, {"image", 0.5 - 0.1 * patched}};
    framework::WriteFileAtomic(run_path, run.dump(2));
    ++patched;
  }
  ASSERT_EQ(patched, 2);
  ASSERT_EQ(RunCommand(RecfuseBinary() + " report " + out, &log), 0) << log;

  const std::string page = out + "/report/index.html";
  const std::string dom = DumpDom(page, dir + "/profile");
  EXPECT_NE(dom.find("data-charts-ready=\"1\""), std::string::npos) << dom.substr(0, 2000);
  EXPECT_EQ(dom.find("data-script-errors"), std::string::npos) << dom.substr(dom.find("data-script-errors"), 500);
  EXPECT_EQ(dom.find("data-charts-error"), std::string::npos);
  const auto charts = Charts(dom);
  std::set<std::string> ids;
  for (const auto& [id, rendered] : charts) {
    ids.insert(id);
    EXPECT_TRUE(rendered) << id << " has no marks";
  }
  for (const char* want : {"chart-summary", "chart-sparsity", "chart-coldstart", "chart-weights", "chart-curves"})
    EXPECT_TRUE(ids.count(want)) << want << " missing from the page";
  // The page's own layout check, run after the charts rendered at 1280 px: nothing visible is
  // wider than the viewport or scrolls sideways, and no chart is an empty SVG.
  EXPECT_NE(dom.find("data-overflow=\"none\""), std::string::npos)
      << dom.substr(dom.find("data-overflow"), 600);
  EXPECT_NE(dom.find("data-empty-charts=\"none\""), std::string::npos)
      << dom.substr(dom.find("data-empty-charts"), 300);
  // The tables are rendered from the data: the summary has its headline cells.
  EXPECT_NE(dom.find("<h2>Summary</h2>"), std::string::npos);
  EXPECT_NE(dom.find("<h2>Findings</h2>"), std::string::npos);

  // The error recorder itself works: a page with a throwing script reports it.
  std::string broken = framework::ReadFile(page);
  // The page's own body tag (the inlined libraries contain the string "<body>" too).
  const size_t body = broken.find("<body>\n<div id=\"report\">");
  ASSERT_NE(body, std::string::npos);
  // ... and so does the layout check: a 2000 px block makes the page scroll sideways.
  broken.insert(body + 6, "<script>null.boom();</script><div style=\"width:2000px;height:4px\"></div>");
  testing::WriteText(dir + "/broken.html", broken);
  const std::string bad_dom = DumpDom(dir + "/broken.html", dir + "/profile2");
  EXPECT_NE(bad_dom.find("data-script-errors=\""), std::string::npos);
  EXPECT_NE(bad_dom.find("boom"), std::string::npos);
  EXPECT_NE(bad_dom.find("data-overflow=\"page "), std::string::npos) << bad_dom.substr(bad_dom.find("data-overflow"), 300);
}

}  // namespace
}  // namespace recfuse
