// Hyperparameter search: space parsing and expansion, the halving schedule and survivors on
// hand-made score tables, the train+validation view (a perturbed test set changes nothing a
// trial sees), and tuned sweeps end to end (selection, inheritance, results, merge).
#include "experiments/tuning.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "datasets/load.h"
#include "datasets/split.h"
#include "datasets/synthetic.h"
#include "experiments/cell.h"
#include "experiments/experiment.h"
#include "framework/error.h"
#include "framework/io.h"
#include "reports/report.h"
#include "tests/test_util.h"

namespace recfuse::experiments {
namespace {

namespace fs = std::filesystem;
using framework::ConfigError;
using framework::ParamSpec;
using framework::ParamType;

const ParamSpec kDim{"dim", ParamType::kInt, "64", "dimension", 1, 4096, {}};
const ParamSpec kLr{"lr", ParamType::kFloat, "0.01", "learning rate", 1e-6, 1, {}};
const ParamSpec kLoss{"loss", ParamType::kString, "bpr", "loss", 0, 0, {"bpr", "bce"}};
const ParamSpec kLayers{"layers", ParamType::kIntList, "64,32", "MLP", 1, 4096, {}};

TEST(SearchSpace, ParsesListsAndRangesAndRejectsWhatTheModelWouldReject) {
  const auto d = ParseSearchDim("dim", "32, 64,128", kDim, "t:1");
  EXPECT_EQ(d.kind, SearchDim::Kind::kList);
  EXPECT_EQ(d.values, (std::vector<std::string>{"32", "64", "128"}));
  EXPECT_EQ(d.ToString(), "32, 64, 128");
  const auto lr = ParseSearchDim("lr", "loguniform(1e-4, 1e-2)", kLr, "t:2");
  EXPECT_EQ(lr.kind, SearchDim::Kind::kLogUniform);
  EXPECT_DOUBLE_EQ(lr.lo, 1e-4);
  EXPECT_DOUBLE_EQ(lr.hi, 1e-2);
  EXPECT_EQ(lr.ToString(), "loguniform(0.0001, 0.01)");
  EXPECT_EQ(ParseSearchDim("dim", "int(8, 64)", kDim, "t").kind, SearchDim::Kind::kInt);
  EXPECT_EQ(ParseSearchDim("loss", "bpr, bce", kLoss, "t").values.size(), 2u);
  // List-valued parameters separate their candidates with ';'.
  EXPECT_EQ(ParseSearchDim("layers", "64,32; 128,64", kLayers, "t").values,
            (std::vector<std::string>{"64,32", "128,64"}));

  EXPECT_THROW(ParseSearchDim("dim", "32, 0", kDim, "t"), ConfigError);          // below min
  EXPECT_THROW(ParseSearchDim("dim", "32, 32", kDim, "t"), ConfigError);         // repeated
  EXPECT_THROW(ParseSearchDim("dim", "32, x", kDim, "t"), ConfigError);          // not an int
  EXPECT_THROW(ParseSearchDim("dim", "uniform(1, 8)", kDim, "t"), ConfigError);  // float range on int
  EXPECT_THROW(ParseSearchDim("lr", "int(1, 8)", kLr, "t"), ConfigError);        // int range on float
  EXPECT_THROW(ParseSearchDim("lr", "loguniform(0, 0.1)", kLr, "t"), ConfigError);
  EXPECT_THROW(ParseSearchDim("lr", "uniform(0.1, 0.01)", kLr, "t"), ConfigError);
  EXPECT_THROW(ParseSearchDim("lr", "uniform(0.1, 5)", kLr, "t"), ConfigError);  // above max
  EXPECT_THROW(ParseSearchDim("lr", "normal(0, 1)", kLr, "t"), ConfigError);
  EXPECT_THROW(ParseSearchDim("loss", "bpr, hinge", kLoss, "t"), ConfigError);
  try {
    ParseSearchDim("dim", "32, 0", kDim, "exp.conf:7");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("exp.conf:7"), std::string::npos) << e.what();
  }
}

TEST(SearchSpace, StrategiesParse) {
  EXPECT_EQ(TuneStrategy::Parse("grid").kind, TuneStrategy::Kind::kGrid);
  EXPECT_EQ(TuneStrategy::Parse("random:20").samples, 20);
  EXPECT_EQ(TuneStrategy::Parse("halving").samples, 0);
  EXPECT_EQ(TuneStrategy::Parse("halving:27").ToString(), "halving:27");
  for (const char* bad : {"random", "grid:3", "random:0", "random:x", "bayes", "halving:-1"})
    EXPECT_THROW(TuneStrategy::Parse(bad), ConfigError) << bad;
}

TEST(SearchSpace, GridIsRowMajorInTheWrittenOrder) {
  const std::vector<SearchDim> dims = {ParseSearchDim("dim", "8, 16", kDim, "t"),
                                       ParseSearchDim("lr", "0.1, 0.01, 0.001", kLr, "t")};
  const auto grid = ExpandSearchSpace(dims, TuneStrategy::Parse("grid"), 0);
  ASSERT_EQ(grid.size(), 6u);
  std::vector<std::string> got;
  for (const auto& c : grid) got.push_back(c.GetString("dim", "") + "/" + c.GetString("lr", ""));
  EXPECT_EQ(got, (std::vector<std::string>{"8/0.1", "8/0.01", "8/0.001", "16/0.1", "16/0.01", "16/0.001"}));
  // halving without a count starts from the grid; a range needs draws.
  EXPECT_EQ(ExpandSearchSpace(dims, TuneStrategy::Parse("halving"), 0).size(), 6u);
  const std::vector<SearchDim> ranged = {ParseSearchDim("lr", "uniform(0.001, 0.1)", kLr, "t")};
  EXPECT_THROW(ExpandSearchSpace(ranged, TuneStrategy::Parse("grid"), 0), ConfigError);
  EXPECT_THROW(ExpandSearchSpace(ranged, TuneStrategy::Parse("halving"), 0), ConfigError);
}

TEST(SearchSpace, RandomDrawsAreSeededDistinctAndInRange) {
  const std::vector<SearchDim> dims = {ParseSearchDim("lr", "loguniform(1e-4, 1e-1)", kLr, "t"),
                                       ParseSearchDim("dim", "int(4, 9)", kDim, "t"),
                                       ParseSearchDim("loss", "bpr, bce", kLoss, "t")};
  const auto a = ExpandSearchSpace(dims, TuneStrategy::Parse("random:200"), 3);
  const auto b = ExpandSearchSpace(dims, TuneStrategy::Parse("random:200"), 3);
  const auto c = ExpandSearchSpace(dims, TuneStrategy::Parse("random:200"), 4);
  ASSERT_EQ(a.size(), 200u);
  std::set<std::string> seen, dims_seen;
  int below_1e3 = 0, bce = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].Canonical(), b[i].Canonical());
    EXPECT_TRUE(seen.insert(a[i].Canonical()).second) << "repeated draw " << a[i].Canonical();
    const double lr = a[i].GetDouble("lr", 0);
    const int64_t dim = a[i].GetInt("dim", 0);
    EXPECT_GE(lr, 1e-4 * (1 - 1e-5));
    EXPECT_LE(lr, 1e-1 * (1 + 1e-5));
    EXPECT_GE(dim, 4);
    EXPECT_LE(dim, 9);
    dims_seen.insert(std::to_string(dim));
    below_1e3 += lr < 1e-3;
    bce += a[i].GetString("loss", "") == "bce";
  }
  EXPECT_EQ(dims_seen.size(), 6u) << "int(4, 9) includes both ends";
  // Log-uniform: a third of the draws fall in the lowest decade of three (binomial, 200 draws).
  EXPECT_GT(below_1e3, 40);
  EXPECT_LT(below_1e3, 95);
  EXPECT_GT(bce, 70);
  EXPECT_LT(bce, 130);
  int same = 0;
  for (size_t i = 0; i < a.size(); ++i) same += a[i].Canonical() == c[i].Canonical();
  EXPECT_LT(same, 5) << "another sampling seed draws another sequence";
  // A finite space no larger than the draw count is the grid itself.
  const std::vector<SearchDim> small = {ParseSearchDim("dim", "8, 16", kDim, "t")};
  EXPECT_EQ(ExpandSearchSpace(small, TuneStrategy::Parse("random:5"), 0).size(), 2u);
}

TEST(Halving, ScheduleFollowsSuccessiveHalving) {
  auto rounds = [](int n, int64_t budget, int eta) {
    std::vector<std::pair<int, int64_t>> out;
    for (const auto& r : HalvingSchedule(n, budget, eta)) out.emplace_back(r.configs, r.budget);
    return out;
  };
  using V = std::vector<std::pair<int, int64_t>>;
  EXPECT_EQ(rounds(27, 27, 3), (V{{27, 1}, {9, 3}, {3, 9}, {1, 27}}));
  EXPECT_EQ(rounds(9, 50, 3), (V{{9, 6}, {3, 17}, {1, 50}}));
  EXPECT_EQ(rounds(8, 40, 2), (V{{8, 5}, {4, 10}, {2, 20}, {1, 40}}));
  // The budget bounds the rounds: 2 epochs allow one halving step only.
  EXPECT_EQ(rounds(27, 2, 2), (V{{27, 1}, {13, 2}}));
  EXPECT_EQ(rounds(1, 10, 3), (V{{1, 10}}));
  EXPECT_EQ(rounds(2, 10, 3), (V{{2, 10}}));
  EXPECT_THROW(HalvingSchedule(0, 10, 3), ConfigError);
  EXPECT_THROW(HalvingSchedule(4, 10, 1), ConfigError);
}

TEST(Halving, KeepsTheRightSurvivorsOnAHandMadeTable) {
  // Scores of 9 candidates at each round's budget (a later round re-scores the survivors).
  // Candidate 7 starts poorly but would be best at full budget; halving drops it in round 0:
  // that is the method, and this table pins it down.
  const std::vector<std::vector<double>> table = {
      {0.10, 0.30, 0.25, std::nan(""), 0.30, 0.05, 0.20, 0.01, 0.28},  // round 0, budget 1
      {0.11, 0.31, 0.35, 0.99, 0.33, 0.06, 0.21, 0.02, 0.27},          // round 1, budget 3
      {0.12, 0.32, 0.36, 0.99, 0.40, 0.07, 0.22, 0.03, 0.26},          // round 2, budget 9
  };
  const auto schedule = HalvingSchedule(9, 9, 3);
  ASSERT_EQ(schedule.size(), 3u);
  std::vector<size_t> alive = {0, 1, 2, 3, 4, 5, 6, 7, 8};
  // Round 0 keeps 3: 0.30 (1) and 0.30 (4) tie, the lower index first; then 0.28 (8). NaN
  // (a diverged candidate) ranks last even though its later scores would be high.
  alive = HalvingSurvivors(table[0], alive, schedule[1].configs);
  EXPECT_EQ(alive, (std::vector<size_t>{1, 4, 8}));
  // Round 1 keeps 1 among {1, 4, 8}: 4 (0.33); candidate 2's 0.35 does not count, it is out.
  alive = HalvingSurvivors(table[1], alive, schedule[2].configs);
  EXPECT_EQ(alive, (std::vector<size_t>{4}));
  EXPECT_EQ(RankScores({0.2, std::nan(""), 0.5, 0.5}, 4), (std::vector<size_t>{2, 3, 0, 1}));
}

// A small world on disk, loaded.
datasets::Dataset World(const std::string& dir) {
  datasets::SyntheticOptions o;
  o.users = 120;
  o.items = 90;
  o.interactions = 3000;
  o.images = false;
  o.seed = 21;
  datasets::GenerateSynthetic(dir, o);
  return datasets::LoadDataset(dir);
}

TEST(TrainValidView, PerturbingTheTestSetChangesNothingATrialSees) {
  const std::string dir = testing::TempDir("tune_view");
  const auto data = World(dir + "/world");
  const auto spec = datasets::SplitSpec::Parse("ratio:0.8,0.1,0.1");
  const auto split = datasets::MakeSplit(data, spec, 0);
  ASSERT_FALSE(split.test.empty());
  // The perturbed world: every test row points at another item and has another rating, and
  // every review of a test pair says something else.
  datasets::Dataset perturbed = data;
  // A review belongs to the interaction of its (user, item) pair, so it moves with it.
  std::set<std::pair<datasets::Index, datasets::Index>> test_pairs;
  std::map<std::pair<datasets::Index, datasets::Index>, datasets::Index> moved;
  // Test rows move to items their user never touched (nor was moved to), so that no moved
  // pair coincides with a training or validation pair.
  std::set<std::pair<datasets::Index, datasets::Index>> touched;
  for (size_t r = 0; r < data.interactions.size(); ++r) touched.emplace(data.interactions.user[r], data.interactions.item[r]);
  for (int64_t r : split.test) {
    const datasets::Index u = data.interactions.user[r];
    test_pairs.emplace(u, data.interactions.item[r]);
    datasets::Index to = (data.interactions.item[r] + 17) % data.num_items();
    while (touched.count({u, to})) to = (to + 1) % data.num_items();
    touched.emplace(u, to);
    moved[{data.interactions.user[r], data.interactions.item[r]}] = to;
    perturbed.interactions.item[r] = to;
    if (perturbed.interactions.has_rating) perturbed.interactions.rating[r] = 6 - data.interactions.rating[r];
  }
  int reviews_changed = 0;
  for (auto& rev : perturbed.reviews)
    if (auto it = moved.find({rev.user, rev.item}); it != moved.end()) {
      rev.item = it->second;
      rev.text = "perturbed";
      ++reviews_changed;
    }
  EXPECT_GT(reviews_changed, 0) << "the world has reviews of test pairs";
  ASSERT_NE(perturbed.ContentHash(), data.ContentHash());

  for (double frac : {1.0, 0.5}) {
    const auto a = MakeTrainValidView(data, split, frac, 0);
    const auto b = MakeTrainValidView(perturbed, split, frac, 0);
    EXPECT_EQ(a.data.ContentHash(), b.data.ContentHash()) << "fraction " << frac;
    EXPECT_EQ(a.data.interactions.size(), a.train.size() + a.valid.size());
    EXPECT_EQ(a.valid.size(), split.valid.size());
    for (const auto& rev : a.data.reviews) EXPECT_FALSE(test_pairs.count({rev.user, rev.item}));
  }
  // The same trial on both: bit-identical validation scores; the test cell itself differs.
  CellSpec cs;
  cs.dataset_name = "w";
  cs.model = "bpr";
  cs.model_params.Set("epochs", "3");
  cs.model_params.Set("dim", "8");
  cs.eval.ks = {10};
  cs.eval.metrics = {"ndcg", "recall"};
  const auto ta = RunTrial(MakeTrainValidView(data, split, 1.0, 0), cs);
  const auto tb = RunTrial(MakeTrainValidView(perturbed, split, 1.0, 0), cs);
  EXPECT_EQ(ta.score, tb.score);
  EXPECT_TRUE(std::isfinite(ta.score));
  EXPECT_GT(ta.score, 0);
  ASSERT_EQ(ta.cell.eval.metrics.size(), tb.cell.eval.metrics.size());
  for (size_t i = 0; i < ta.cell.eval.metrics.size(); ++i)
    EXPECT_EQ(ta.cell.eval.metrics[i].value, tb.cell.eval.metrics[i].value);
  const auto ca = RunCell(data, cs), cb = RunCell(perturbed, cs);
  bool test_differs = false;
  for (size_t i = 0; i < ca.eval.metrics.size(); ++i) test_differs |= ca.eval.metrics[i].value != cb.eval.metrics[i].value;
  EXPECT_TRUE(test_differs) << "the perturbation must reach the test metrics, or the check above proves nothing";
}

// A tuned sweep on a generated world: bpr searched by halving, ials by grid, pop untuned.
std::string TunedConf(const std::string& dir, const std::string& extra = "tune = halving") {
  const std::string path = dir + "/tuned.conf";
  testing::WriteText(path,
                     "name = tuned\n"
                     "datasets = syn\n"
                     "models = pop, bpr, ials\n"
                     "seeds = 0, 1\n"
                     "train_fractions = 1.0, 0.5\n"
                     "ks = 10\n"
                     "metrics = recall, ndcg\n"
                     "threads = 1\n" +
                         extra +
                         "\n[dataset.syn]\ngenerate = true\ngen.users = 150\ngen.items = 100\n"
                         "gen.interactions = 4000\ngen.images = false\ngen.seed = 5\n"
                         "[model.bpr]\nepochs = 9\nsearch.dim = 4, 16\nsearch.lr = 0.005, 0.05, 0.2\n"
                         "[model.ials]\nsearch.reg = 0.01, 1\nsearch.alpha = 1, 20\n");
  return path;
}

nlohmann::json Json(const std::string& path) { return nlohmann::json::parse(framework::ReadFile(path)); }

TEST(TunedSweep, TestsOnlyTheConfigurationChosenOnValidation) {
  const std::string dir = testing::TempDir("tune_sweep");
  const auto exp = LoadExperiment(TunedConf(dir));
  RunOptions opt;
  opt.out_dir = dir + "/out";
  opt.cache_dir = "";
  RunStats stats;
  RunExperiment(exp, opt, &stats);
  // bpr: 6 candidates, eta 3, 9 epochs -> rounds (6 x 3 epochs, 2 x 9): 8 trials. ials:
  // 4 candidates, 15 iterations -> (4 x 5, 1 x 15): 5 trials. One tuning seed (the first).
  EXPECT_EQ(stats.trials_ran, 13);
  EXPECT_EQ(stats.ran, 12);
  const auto tuning = Json(opt.out_dir + "/tuning.json");
  ASSERT_EQ(tuning["groups"].size(), 2u);
  std::map<std::string, nlohmann::json> chosen;
  for (const auto& g : tuning["groups"]) {
    // The chosen candidate is the last round's best trial.
    const int last = g["rounds"].get<int>() - 1;
    double best = -1;
    nlohmann::json best_params;
    int n_last = 0;
    for (const auto& t : g["trials"]) {
      EXPECT_EQ(t["seed"], 0);
      if (t["round"] != last) continue;
      ++n_last;
      if (t["score"].get<double>() > best) {
        best = t["score"].get<double>();
        best_params = t["params"];
      }
    }
    EXPECT_EQ(n_last, 1 + (g["model"] == "bpr" ? 1 : 0));
    for (const auto& [k, v] : g["chosen"].items()) EXPECT_EQ(best_params[k], v) << g["model"] << " " << k;
    EXPECT_DOUBLE_EQ(g["chosen_score"].get<double>(), best);
    chosen[g["model"].get<std::string>()] = g["chosen"];
  }
  EXPECT_EQ(tuning["groups"][0]["trials"].size() + tuning["groups"][1]["trials"].size(), 13u);
  // Every test cell of a tuned model, both fractions (inherit), runs the chosen values.
  int tuned_cells = 0;
  const auto manifest = Json(opt.out_dir + "/experiment.json");
  for (const auto& c : manifest["cells"]) {
    const auto run = Json(opt.out_dir + "/" + c.get<std::string>() + "/run.json");
    const std::string label = run["label"];
    EXPECT_EQ(run["role"], "test");
    if (label == "pop") {
      EXPECT_FALSE(run.contains("tuned"));
      continue;
    }
    ++tuned_cells;
    for (const auto& [k, v] : chosen[label].items())
      EXPECT_EQ(run["config"]["model_params"][k], v) << label << " " << k;
    EXPECT_EQ(run["tuned"]["inherited"], run["config"]["train_fraction"] != 1.0);
    if (label == "bpr") EXPECT_EQ(run["config"]["model_params"]["epochs"], "9") << "the final cell runs the full budget";
  }
  EXPECT_EQ(tuned_cells, 8);
  // results.csv: trials first, marked, with their params; the report ignores them.
  const auto rows = reports::ReadResultsCsv(opt.out_dir + "/results.csv");
  size_t trial_rows = 0;
  for (const auto& r : rows) {
    if (r.role == "trial") {
      ++trial_rows;
      // A trial names its candidate and its round's budget.
      EXPECT_NE(r.params.find(r.model == "bpr" ? "epochs=" : "iterations="), std::string::npos) << r.params;
    }
  }
  EXPECT_EQ(trial_rows, 13u * 2);  // recall@10, ndcg@10
  EXPECT_EQ(rows.front().role, "trial");
  EXPECT_EQ(rows.back().role, "test");
  reports::BuildReport(opt.out_dir);
  const std::string html = framework::ReadFile(opt.out_dir + "/report/index.html");
  EXPECT_NE(html.find("Hyperparameter search"), std::string::npos);
  EXPECT_NE(html.find("chart-tune-1"), std::string::npos);
  const std::string tex = framework::ReadFile(opt.out_dir + "/report/tuning.tex");
  EXPECT_NE(tex.find("bpr & syn & lr & 0.005, 0.05, 0.2 & " + chosen["bpr"]["lr"].get<std::string>()), std::string::npos)
      << tex;

  // Rerun: nothing runs again, results are byte-identical.
  const std::string before = framework::ReadFile(opt.out_dir + "/results.csv");
  RunStats again;
  RunExperiment(exp, opt, &again);
  EXPECT_EQ(again.trials_ran, 0);
  EXPECT_EQ(again.trials_skipped, 13);
  EXPECT_EQ(again.ran, 0);
  EXPECT_EQ(framework::ReadFile(opt.out_dir + "/results.csv"), before);

  // Sharded runs (separate processes sharing the folder, and mpirun) are in tests/cli.
}

TEST(TunedSweep, VariantsTunedThemselvesWhenAsked) {
  const std::string dir = testing::TempDir("tune_variants");
  const auto exp = LoadExperiment(TunedConf(dir, "tune_variants = tune\ntune = grid"));
  RunOptions opt;
  opt.out_dir = dir + "/out";
  opt.cache_dir = "";
  RunStats stats;
  RunExperiment(exp, opt, &stats);
  // Grid: bpr 6 + ials 4 candidates, at each of the two fractions.
  EXPECT_EQ(stats.trials_ran, 20);
  const auto tuning = Json(opt.out_dir + "/tuning.json");
  EXPECT_EQ(tuning["groups"].size(), 4u);
  const auto manifest = Json(opt.out_dir + "/experiment.json");
  for (const auto& c : manifest["cells"]) {
    const auto run = Json(opt.out_dir + "/" + c.get<std::string>() + "/run.json");
    if (run.contains("tuned")) EXPECT_FALSE(run["tuned"]["inherited"].get<bool>());
  }
}

// A model section's own `tune` overrides the experiment's: ials (which overfits with more
// iterations) searched by grid at its full budget inside a halving study.
TEST(TunedSweep, AModelsOwnStrategyOverridesTheExperiments) {
  const std::string dir = testing::TempDir("tune_own");
  const std::string path = TunedConf(dir);
  testing::WriteText(path, framework::ReadFile(path) + "tune = grid\n");  // lands in [model.ials]
  const auto exp = LoadExperiment(path);
  RunOptions opt;
  opt.out_dir = dir + "/out";
  opt.cache_dir = "";
  RunStats stats;
  RunExperiment(exp, opt, &stats);
  EXPECT_EQ(stats.trials_ran, 8 + 4);  // bpr halving as above; ials 4 candidates, one round
  const auto tuning = Json(opt.out_dir + "/tuning.json");
  ASSERT_EQ(tuning["groups"].size(), 2u);
  for (const auto& g : tuning["groups"]) {
    if (g["model"] != "ials") {
      EXPECT_EQ(g["strategy"], "halving");
      continue;
    }
    EXPECT_EQ(g["strategy"], "grid");
    EXPECT_EQ(g["trials"].size(), 4u);
    for (const auto& t : g["trials"]) EXPECT_EQ(t["round"], 0);
  }
}

TEST(TunedSweep, BadSearchSpacesFailAtLoad) {
  const std::string dir = testing::TempDir("tune_bad");
  auto load = [&](const std::string& top, const std::string& bpr) {
    testing::WriteText(dir + "/bad.conf", "name = bad\ndatasets = syn\nmodels = bpr\n" + top +
                                              "\n[dataset.syn]\ngenerate = true\n[model.bpr]\n" + bpr + "\n");
    return LoadExperiment(dir + "/bad.conf");
  };
  EXPECT_NO_THROW(load("tune = grid", "search.dim = 8, 16"));
  EXPECT_THROW(load("", "search.dim = 8, 16"), ConfigError);                           // tune = none
  EXPECT_THROW(load("tune = grid", "search.width = 8, 16"), ConfigError);              // unknown parameter
  EXPECT_THROW(load("tune = grid", "dim = 8\nsearch.dim = 8, 16"), ConfigError);       // set and searched
  EXPECT_THROW(load("tune = grid", "search.lr = loguniform(1e-4, 1e-2)"), ConfigError);  // range under grid
  EXPECT_THROW(load("tune = halving", "search.epochs = 5, 10"), ConfigError);         // the budget itself
  EXPECT_THROW(load("tune = bayes", "search.dim = 8, 16"), ConfigError);
  EXPECT_NO_THROW(load("tune = random:4", "search.lr = loguniform(1e-4, 1e-2)"));
  // A model's own strategy.
  EXPECT_NO_THROW(load("", "tune = grid\nsearch.dim = 8, 16"));                         // top level none
  EXPECT_THROW(load("tune = grid", "tune = none\nsearch.dim = 8, 16"), ConfigError);   // searched, not tuned
  EXPECT_THROW(load("tune = grid", "tune = bayes\nsearch.dim = 8, 16"), ConfigError);
  EXPECT_THROW(load("tune = grid", "tune = grid\ndim = 8"), ConfigError);              // nothing to search
  EXPECT_THROW(load("", "tune = grid\nsearch.lr = loguniform(1e-4, 1e-2)"), ConfigError);  // range under grid
}

}  // namespace
}  // namespace recfuse::experiments
