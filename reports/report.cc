#include "reports/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <numeric>
#include <optional>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <tuple>
#include <unordered_map>

#include "framework/config.h"
#include "framework/error.h"
#include "framework/io.h"
#include "framework/log.h"
#include "eval/metrics.h"
#include "eval/significance.h"
#include "reports/assets.h"
#include "reports/findings.h"

namespace recfuse::reports {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// RFC 4180 fields: results.csv quotes the split spec (it contains commas).
std::vector<std::string> ParseCsvLine(std::string_view line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cur += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cur += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

// A metric's direction comes from its definition (eval::MetricRegistry), never from a list
// here: gini, rmse and mae are lower-is-better. A name the registry does not know (e.g. a
// results.csv from a newer build) has no known direction: nullopt, and no "best" is marked
// rather than guessing one.
std::optional<bool> HigherIsBetter(const std::string& metric) {
  for (const auto& def : eval::MetricRegistry())
    if (def.name == metric) return def.higher_is_better;
  return std::nullopt;
}

std::string Latex(std::string_view s) {
  std::string o;
  for (char c : s) {
    if (c == '_' || c == '%' || c == '&' || c == '#' || c == '$') o += '\\';
    o += c;
  }
  return o;
}

// JSON inside <script>: "</" would end the script element.
std::string ScriptJson(const json& j) {
  std::string s = j.dump();
  std::string o;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '<' && i + 1 < s.size() && s[i + 1] == '/') {
      o += "<\\/";
      ++i;
    } else {
      o += s[i];
    }
  }
  return o;
}

std::string Fmt(double v, int digits = 4) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string MetricLabel(const std::string& metric, int k) {
  return k > 0 ? metric + "@" + std::to_string(k) : metric;
}

}  // namespace

std::vector<ResultRow> ReadResultsCsv(const std::string& path) {
  const std::string text = framework::ReadFile(path);
  framework::LineCursor cursor(text);
  std::string_view line;
  std::vector<ResultRow> rows;
  const std::vector<std::string> tuned = {"experiment", "dataset", "split", "train_fraction", "seed", "model",
                                          "ablation", "metric", "k", "value", "features", "role", "params"};
  // Older layouts: without `role,params` (11 columns), without `features` (10), and before
  // ablations (9).
  std::vector<std::string> current(tuned.begin(), tuned.end() - 2);
  std::vector<std::string> no_features = current;
  no_features.pop_back();
  std::vector<std::string> legacy = no_features;
  legacy.erase(legacy.begin() + 6);
  std::vector<std::string> header;
  if (cursor.Next(&line)) header = ParseCsvLine(line);
  if (header != tuned && header != current && header != no_features && header != legacy)
    throw framework::DataError(path, 1,
                               "header must be experiment,dataset,split,train_fraction,seed,model,ablation,metric,k,"
                               "value,features,role,params");
  // The 9-column layout predates ablations: every row is a full model.
  const size_t shift = header == legacy ? 0 : 1;
  const bool has_features = header == current || header == tuned;
  const bool has_role = header == tuned;
  while (cursor.Next(&line)) {
    if (line.empty()) continue;
    const auto f = ParseCsvLine(line);
    if (f.size() != header.size())
      throw framework::DataError(path, cursor.line_number(),
                                 "expected " + std::to_string(header.size()) + " fields, got " + std::to_string(f.size()));
    ResultRow r;
    r.experiment = f[0];
    r.dataset = f[1];
    r.split = f[2];
    int64_t seed = 0, k = 0;
    if (!framework::ParseDouble(f[3], &r.train_fraction) || !framework::ParseInt64(f[4], &seed) ||
        !framework::ParseInt64(f[7 + shift], &k) || !framework::ParseDouble(f[8 + shift], &r.value))
      throw framework::DataError(path, cursor.line_number(), "unparsable number");
    r.seed = static_cast<uint64_t>(seed);
    r.k = static_cast<int>(k);
    r.model = f[5];
    if (shift) r.ablation = f[6];
    if (r.ablation.empty()) throw framework::DataError(path, cursor.line_number(), "empty ablation field");
    r.metric = f[6 + shift];
    if (has_features) r.features = f[10];
    if (has_role) {
      r.role = f[11];
      r.params = f[12];
      if (r.role != "trial" && r.role != "test")
        throw framework::DataError(path, cursor.line_number(), "role must be trial or test, got '" + r.role + "'");
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

std::vector<Aggregate> AggregateRows(const std::vector<ResultRow>& rows) {
  using Key = std::tuple<std::string, std::string, double, std::string, std::string, int, std::string>;
  std::map<Key, std::vector<std::pair<uint64_t, double>>> groups;
  std::vector<Key> order;
  for (const auto& r : rows) {
    Key key{r.dataset, r.split, r.train_fraction, r.model, r.metric, r.k, r.ablation};
    if (!groups.count(key)) order.push_back(key);
    groups[key].emplace_back(r.seed, r.value);
  }
  std::vector<Aggregate> out;
  for (const auto& key : order) {
    auto vals = groups[key];
    std::sort(vals.begin(), vals.end());
    Aggregate a;
    std::tie(a.dataset, a.split, a.train_fraction, a.model, a.metric, a.k, a.ablation) = key;
    a.n = static_cast<int>(vals.size());
    double sum = 0;
    for (const auto& [s, v] : vals) {
      a.seeds.push_back(s);
      a.values.push_back(v);
      sum += v;
    }
    a.mean = sum / a.n;
    double ss = 0;
    for (double v : a.values) ss += (v - a.mean) * (v - a.mean);
    a.std = a.n > 1 ? std::sqrt(ss / (a.n - 1)) : 0.0;
    out.push_back(std::move(a));
  }
  return out;
}

namespace {

using BlockKey = std::tuple<std::string, std::string, double>;  // dataset, split, train fraction
using CellKey = std::tuple<std::string, std::string, double, std::string, std::string>;  // + label, ablation

std::string FormatFraction(double f) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", f);
  return buf;
}

std::string BlockTitle(const BlockKey& b) {
  return std::get<0>(b) + " \u00b7 " + std::get<1>(b) + " \u00b7 train fraction " + FormatFraction(std::get<2>(b));
}

// Seed-averaged per-user values of every cell, for the paired tests. Users are indexed once
// across cells, so a (cell, column) is two dense vectors rather than a map per user: a study
// of a few hundred cells over thousands of users stays in tens of MB.
class PerUserTable {
 public:
  void Add(const CellKey& key, const std::string& path) {
    if (!framework::FileExists(path)) return;
    const std::string text = framework::ReadFile(path);
    framework::LineCursor cursor(text);
    std::string_view line;
    if (!cursor.Next(&line)) return;
    const auto header = framework::Split(line, '\t');
    auto& cell = cells_[key];
    std::vector<Values*> cols(header.size(), nullptr);
    for (size_t c = 1; c < header.size(); ++c) cols[c] = &cell[header[c]];
    while (cursor.Next(&line)) {
      if (line.empty()) continue;
      const auto f = framework::Split(line, '\t');
      if (f.size() != header.size()) throw framework::DataError(path, cursor.line_number(), "wrong column count");
      const auto [it, inserted] = users_.emplace(f[0], static_cast<int>(users_.size()));
      const size_t u = static_cast<size_t>(it->second);
      for (size_t c = 1; c < f.size(); ++c) {
        double v;
        if (!framework::ParseDouble(f[c], &v) || !std::isfinite(v)) continue;
        Values& vals = *cols[c];
        if (vals.sum.size() <= u) {
          vals.sum.resize(u + 1, 0.0);
          vals.n.resize(u + 1, 0);
        }
        vals.sum[u] += v;
        vals.n[u] += 1;
      }
    }
  }
  // The seed means of the users both cells have a value for: a[i] of x, b[i] of y.
  bool Paired(const CellKey& x, const CellKey& y, const std::string& col, std::vector<double>* a,
              std::vector<double>* b) const {
    a->clear();
    b->clear();
    const Values* vx = Find(x, col);
    const Values* vy = Find(y, col);
    if (!vx || !vy) return false;
    const size_t n = std::min(vx->sum.size(), vy->sum.size());
    for (size_t u = 0; u < n; ++u)
      if (vx->n[u] > 0 && vy->n[u] > 0) {
        a->push_back(vx->sum[u] / vx->n[u]);
        b->push_back(vy->sum[u] / vy->n[u]);
      }
    return a->size() >= 2;
  }
  std::vector<std::string> Columns(const CellKey& key) const {
    std::vector<std::string> out;
    auto it = cells_.find(key);
    if (it != cells_.end())
      for (const auto& [col, v] : it->second) out.push_back(col);
    return out;
  }

 private:
  struct Values {
    std::vector<double> sum;
    std::vector<int> n;
  };
  const Values* Find(const CellKey& key, const std::string& col) const {
    auto it = cells_.find(key);
    if (it == cells_.end()) return nullptr;
    auto c = it->second.find(col);
    return c == it->second.end() ? nullptr : &c->second;
  }
  std::unordered_map<std::string, int> users_;
  std::map<CellKey, std::map<std::string, Values>> cells_;
};

// Holm-adjusted p of each (block, model, column) against the baseline; Holm runs over one
// table's comparisons (its models x columns), as the table's markers are read together.
std::map<std::tuple<BlockKey, std::string, std::string>, double> PValuesVsBaseline(
    const PerUserTable& pu, const std::vector<CellKey>& cells, const std::string& baseline) {
  std::map<std::tuple<BlockKey, std::string, std::string>, double> out;
  if (baseline.empty()) return out;
  std::map<BlockKey, std::vector<std::pair<std::tuple<BlockKey, std::string, std::string>, double>>> tests;
  std::vector<double> a, b;
  for (const auto& key : cells) {
    const auto& [ds, split, frac, model, ablation] = key;
    if (ablation != "none" || model == baseline) continue;
    const BlockKey block{ds, split, frac};
    const CellKey base{ds, split, frac, baseline, "none"};
    for (const auto& col : pu.Columns(key)) {
      if (!pu.Paired(key, base, col, &a, &b)) continue;
      tests[block].emplace_back(std::make_tuple(block, model, col), eval::PairedTTest(a, b).p_value);
    }
  }
  for (const auto& [block, list] : tests) {
    std::vector<double> p;
    for (const auto& [k, v] : list) p.push_back(v);
    const auto adjusted = eval::HolmBonferroni(p);
    for (size_t i = 0; i < list.size(); ++i) out[list[i].first] = adjusted[i];
  }
  return out;
}

// How much of the spread of round-0 scores a parameter explains: the correlation ratio eta^2
// (between-value sum of squares over total), numeric parameters with more than 6 distinct
// values binned into 4 equal-count bins first. NaN when the scores do not vary.
double CorrelationRatio(const std::vector<std::string>& values, const std::vector<double>& scores) {
  std::vector<std::string> keys = values;
  std::set<std::string> distinct(values.begin(), values.end());
  std::vector<double> num(values.size());
  bool numeric = true;
  for (size_t i = 0; i < values.size(); ++i) numeric &= framework::ParseDouble(values[i], &num[i]);
  if (numeric && distinct.size() > 6) {
    std::vector<size_t> order(values.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return num[a] < num[b]; });
    for (size_t r = 0; r < order.size(); ++r) keys[order[r]] = std::to_string(r * 4 / order.size());
  }
  double mean = 0;
  for (double v : scores) mean += v;
  mean /= static_cast<double>(scores.size());
  std::map<std::string, std::pair<double, int>> by;
  double total = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    by[keys[i]].first += scores[i];
    by[keys[i]].second += 1;
    total += (scores[i] - mean) * (scores[i] - mean);
  }
  if (!(total > 0)) return std::nan("");
  double between = 0;
  for (const auto& [k, sn] : by) {
    const double m = sn.first / sn.second;
    between += sn.second * (m - mean) * (m - mean);
  }
  return between / total;
}


// The hyperparameter search, from tuning.json: per group its space, chosen values, cost and a
// two-panel chart, and the LaTeX appendix rows.
struct TuningSection {
  json groups = json::array();
  std::vector<std::pair<std::string, json>> charts;  // chart id, Vega-Lite spec
  std::string tex;
};

TuningSection BuildTuningSection(const std::string& results_dir) {
  TuningSection out;
  const std::string path = results_dir + "/tuning.json";
  if (!framework::FileExists(path)) return out;
  json tuning;
  try {
    tuning = json::parse(framework::ReadFile(path));
  } catch (const json::exception& e) {
    throw framework::DataError(path, 1, std::string("not valid JSON: ") + e.what());
  }
  std::ostringstream tex;
  tex << "% Hyperparameter search (recfuse): search spaces and the values chosen on validation.\n"
         "\\begin{tabular}{lllll}\n\\hline\nModel & Dataset & Parameter & Search space & Chosen \\\\\n\\hline\n";
  int n = 0;
  for (const auto& g : tuning.value("groups", json::array())) {
    const std::string model = g.value("model", "?");
    const std::string ablation = g.value("ablation", "none");
    const std::string metric = g.value("valid_metric", "score");
    const json chosen = g.value("chosen", json::object());
    const json space = g.value("space", json::object());
    json group;
    group["title"] = model + (ablation == "none" ? "" : " " + ablation) + " \u00b7 " + g.value("dataset", "") +
                     " \u00b7 " + g.value("split", "") + " \u00b7 train fraction " +
                     FormatFraction(g.value("train_fraction", 1.0));
    const std::string budget = g.value("budget_param", std::string());
    group["summary"] = g.value("strategy", "") + ", " + std::to_string(g.value("candidates", 0)) + " candidate(s), " +
                       std::to_string(g.value("rounds", 1)) + " round(s)" +
                       (budget.empty() ? "" : " over budget " + budget) + ", " +
                       std::to_string(g.value("n_trials", 0)) + " trial(s), " +
                       framework::FormatDuration(g.value("seconds", 0.0)) + " of training and validation; chosen " +
                       metric + " = " +
                       (g.contains("chosen_score") && g["chosen_score"].is_number() ? Fmt(g["chosen_score"].get<double>())
                                                                                    : std::string("\u2013")) +
                       ".";
    json rows = json::array();
    for (const auto& [param, text] : space.items()) {
      const std::string c = chosen.contains(param) ? chosen[param].get<std::string>() : "";
      rows.push_back(json::array({param, text.get<std::string>(), c}));
      tex << Latex(model) << " & " << Latex(g.value("dataset", "")) << " & " << Latex(param) << " & "
          << Latex(text.get<std::string>()) << " & " << Latex(c) << " \\\\\n";
    }
    group["space"] = rows;
    // Trials in run order; the most important parameter by eta^2 on round 0 (every candidate).
    json data = json::array();
    std::map<std::string, std::vector<std::string>> values;
    std::vector<double> scores0;
    int t = 0;
    for (const auto& tr : g.value("trials", json::array())) {
      ++t;
      if (!tr["score"].is_number()) continue;
      const double score = tr["score"].get<double>();
      std::string label;
      for (const auto& [k, v] : tr["params"].items()) label += (label.empty() ? "" : " ") + k + "=" + v.get<std::string>();
      json row = {{"trial", t}, {"score", score}, {"round", "round " + std::to_string(tr.value("round", 0))},
                  {"params", label}};
      for (const auto& [param, text] : space.items()) {
        const std::string v = tr["params"].contains(param) ? tr["params"][param].get<std::string>() : "";
        double num = 0;
        row["p_" + param] = framework::ParseDouble(v, &num) ? json(num) : json(v);
        if (tr.value("round", 0) == 0) values[param].push_back(v);
      }
      if (tr.value("round", 0) == 0) scores0.push_back(score);
      data.push_back(row);
    }
    std::string important;
    double best_eta = -1;
    for (const auto& [param, vals] : values) {
      const double e = CorrelationRatio(vals, scores0);
      if (std::isfinite(e) && e > best_eta) {
        best_eta = e;
        important = param;
      }
    }
    if (important.empty() && !space.empty()) important = space.begin().key();
    if (!data.empty() && !important.empty()) {
      char eta_buf[96] = "";
      if (best_eta >= 0) std::snprintf(eta_buf, sizeof eta_buf, " (\u03b7\u00b2 = %.2f of the round-0 score variance)", best_eta);
      group["important"] = "Most important parameter: " + important + eta_buf + ".";
      const std::string id = "chart-tune-" + std::to_string(n++);
      group["chart"] = id;
      const std::string space_text = space.contains(important) ? space[important].get<std::string>() : "";
      bool numeric_param = true;
      for (const auto& row : data) numeric_param &= row["p_" + important].is_number();
      json x_param = {{"field", "p_" + important}, {"type", numeric_param ? "quantitative" : "nominal"},
                      {"title", important}};
      // Log axis for loguniform ranges and for positive lists spanning two decades or more.
      double lo = INFINITY, hi = 0;
      if (numeric_param)
        for (const auto& row : data) {
          lo = std::min(lo, row["p_" + important].get<double>());
          hi = std::max(hi, row["p_" + important].get<double>());
        }
      if (numeric_param && (space_text.rfind("loguniform", 0) == 0 || (lo > 0 && hi / lo >= 100)))
        x_param["scale"] = {{"type", "log"}};
      const json color = {{"field", "round"}, {"type", "nominal"}, {"title", "halving round"}};
      const json y = {{"field", "score"}, {"type", "quantitative"}, {"title", "validation " + metric},
                      {"scale", {{"zero", false}}}};
      const json tooltip = json::array({{{"field", "params"}}, {{"field", "score"}, {"format", ".4f"}}});
      json spec = {{"$schema", "https://vega.github.io/schema/vega-lite/v5.json"},
                   {"data", {{"values", data}}},
                   {"hconcat",
                    json::array({{{"width", 400},
                                  {"height", 220},
                                  {"title", "score by trial"},
                                  {"mark", {{"type", "point"}, {"filled", true}, {"size", 60}}},
                                  {"encoding",
                                   {{"x", {{"field", "trial"}, {"type", "quantitative"}, {"title", "trial (run order)"}}},
                                    {"y", y},
                                    {"color", color},
                                    {"tooltip", tooltip}}}},
                                 {{"width", 400},
                                  {"height", 220},
                                  {"title", "score by " + important},
                                  {"mark", {{"type", "point"}, {"filled", true}, {"size", 60}}},
                                  {"encoding", {{"x", x_param}, {"y", y}, {"color", color}, {"tooltip", tooltip}}}}})}};
      out.charts.emplace_back(id, spec);
    }
    out.groups.push_back(group);
  }
  tex << "\\hline\n\\end{tabular}\n";
  out.tex = tex.str();
  return out;
}

// Headline columns of the compact summary: the experiment's `headline` list where its labels
// exist, else recall@20 and ndcg@20 (the issue's and MMRec's convention), else recall and ndcg
// at the first cutoff present, else the first column.
std::vector<std::string> HeadlineColumns(const json& experiment, const std::vector<std::string>& labels) {
  std::vector<std::string> wanted;
  if (experiment.contains("headline") && experiment["headline"].is_array()) {
    for (const auto& h : experiment["headline"]) wanted.push_back(h.get<std::string>());
  } else if (experiment.contains("config") && experiment["config"].contains("headline")) {
    for (const auto& h : framework::Split(experiment["config"]["headline"].get<std::string>(), ','))
      wanted.push_back(std::string(framework::Trim(h)));
  }
  const auto has = [&](const std::string& l) { return std::find(labels.begin(), labels.end(), l) != labels.end(); };
  std::vector<std::string> out;
  for (const auto& w : wanted)
    if (has(w) && std::find(out.begin(), out.end(), w) == out.end()) out.push_back(w);
  if (!out.empty()) return out;
  for (const char* m : {"recall", "ndcg"}) {
    if (has(std::string(m) + "@20")) {
      out.push_back(std::string(m) + "@20");
      continue;
    }
    for (const auto& l : labels)
      if (l.rfind(std::string(m) + "@", 0) == 0) {
        out.push_back(l);
        break;
      }
  }
  if (out.empty() && !labels.empty()) out.push_back(labels.front());
  return out;
}

// The synthetic world's generator parameters (truth_meta.json beside its files), or null for
// data without ground truth.
json TruthParams(const std::string& results_dir, const std::string& dataset, const std::vector<json>& runs) {
  std::vector<std::string> candidates;
  for (const auto& r : runs)
    if (r["config"].value("dataset", "") == dataset && r.contains("data_source"))
      candidates.push_back(r["data_source"].get<std::string>() + "/truth_meta.json");
  candidates.push_back(results_dir + "/data/" + dataset + "/truth_meta.json");
  for (const auto& c : candidates)
    if (framework::FileExists(c)) {
      try {
        return json::parse(framework::ReadFile(c)).value("params", json::object());
      } catch (const json::exception& e) {
        throw framework::DataError(c, 1, std::string("not valid JSON: ") + e.what());
      }
    }
  return nullptr;
}

json Spec(json body) {
  body["$schema"] = "https://vega.github.io/schema/vega-lite/v5.json";
  // Narrow facets put tick labels such as 0.00 and 0.02 edge to edge ("0.000.02"): keep a
  // gap between labels and drop the ones that would break it.
  body["config"]["axis"]["labelOverlap"] = "greedy";
  body["config"]["axis"]["labelSeparation"] = 6;
  return body;
}

}  // namespace

json BuildReportData(const std::string& results_dir, std::string* latex, std::string* tuning_tex, std::string* wide_csv) {
  const std::string csv_path = results_dir + "/results.csv";
  if (!framework::FileExists(csv_path))
    throw framework::IoError(csv_path + ": not found (is this a 'recfuse run' output folder?)");
  // Selection trials carry validation metrics; every table and chart below is about test
  // metrics, so they are set apart (the search section reads tuning.json).
  std::vector<ResultRow> rows;
  for (auto& r : ReadResultsCsv(csv_path))
    if (r.role != "trial") rows.push_back(std::move(r));
  // Summary tables, charts and the LaTeX table show full models; ablated variants get their
  // own table.
  std::vector<Aggregate> aggs, ablated;
  for (auto& a : AggregateRows(rows)) (a.ablation == "none" ? aggs : ablated).push_back(std::move(a));

  json experiment = json::object();
  if (framework::FileExists(results_dir + "/experiment.json"))
    experiment = json::parse(framework::ReadFile(results_dir + "/experiment.json"));

  // Per-cell metadata and training curves, from the cells results.csv came from.
  std::vector<json> runs;
  std::vector<std::string> run_dirs;
  if (experiment.contains("cells")) {
    for (const auto& c : experiment["cells"]) {
      const std::string d = results_dir + "/" + c.get<std::string>();
      if (framework::FileExists(d + "/run.json")) {
        runs.push_back(json::parse(framework::ReadFile(d + "/run.json")));
        run_dirs.push_back(d);
      }
    }
  } else if (fs::exists(results_dir + "/cells")) {
    for (const auto& e : fs::directory_iterator(results_dir + "/cells"))
      if (fs::exists(e.path() / "run.json")) run_dirs.push_back(e.path().string());
    std::sort(run_dirs.begin(), run_dirs.end());
    for (const auto& d : run_dirs) runs.push_back(json::parse(framework::ReadFile(d + "/run.json")));
  }
  const std::string baseline = experiment.value("baseline", "");

  // What each label is: its registry type (random and oracle are yardsticks) and whether it
  // read any content (a modality that was available).
  std::map<std::string, std::string> type_of;
  std::set<std::string> content_models;
  for (const auto& r : runs) {
    const std::string label = r.value("label", r["config"].value("model", ""));
    type_of.emplace(label, r["config"].value("model", label));
    if (r.contains("modalities"))
      for (const auto& u : r["modalities"])
        if (u.value("available", true)) content_models.insert(label);
  }
  const auto is_reference = [&](const std::string& label) {
    auto it = type_of.find(label);
    const std::string t = it == type_of.end() ? label : it->second;
    return t == "random" || t == "oracle";
  };

  PerUserTable per_user;
  std::vector<CellKey> cell_keys;
  for (size_t r = 0; r < runs.size(); ++r) {
    const auto& cfg = runs[r]["config"];
    const CellKey key{cfg.value("dataset", ""), cfg.value("split", ""), cfg.value("train_fraction", 1.0),
                      runs[r].value("label", cfg.value("model", "")), runs[r].value("ablation", std::string("none"))};
    if (std::find(cell_keys.begin(), cell_keys.end(), key) == cell_keys.end()) cell_keys.push_back(key);
    per_user.Add(key, run_dirs[r] + "/per_user.tsv");
  }
  const auto p_baseline = PValuesVsBaseline(per_user, cell_keys, baseline);

  // Table blocks: one per (dataset, split, fraction); columns: metric@k in first-seen order.
  std::vector<BlockKey> blocks;
  std::vector<std::pair<std::string, int>> columns;
  std::vector<std::string> labels, models;
  for (const auto& a : aggs) {
    BlockKey b{a.dataset, a.split, a.train_fraction};
    if (std::find(blocks.begin(), blocks.end(), b) == blocks.end()) blocks.push_back(b);
    std::pair<std::string, int> col{a.metric, a.k};
    if (std::find(columns.begin(), columns.end(), col) == columns.end()) {
      columns.push_back(col);
      labels.push_back(MetricLabel(a.metric, a.k));
    }
    if (std::find(models.begin(), models.end(), a.model) == models.end()) models.push_back(a.model);
  }
  // Rows follow the experiment's `models` list (results.csv is in grid order, where the first
  // fraction may hold only some models); feature-axis variants LABEL@tag sit with LABEL.
  if (experiment.contains("config") && experiment["config"].contains("models") &&
      experiment["config"]["models"].is_string()) {
    std::vector<std::string> order;
    for (const auto& m : framework::Split(experiment["config"]["models"].get<std::string>(), ',', true))
      order.push_back(framework::Trim(m));
    const auto rank = [&](const std::string& model) {
      const auto it = std::find(order.begin(), order.end(), model.substr(0, model.find('@')));
      return static_cast<size_t>(it - order.begin());
    };
    std::stable_sort(models.begin(), models.end(),
                     [&](const std::string& x, const std::string& y) { return rank(x) < rank(y); });
  }
  const std::vector<std::string> headline = HeadlineColumns(experiment, labels);
  const std::string primary = headline.empty() ? std::string() : headline.front();
  const auto direction = [&](const std::string& label) {
    return HigherIsBetter(label.substr(0, label.find('@')));
  };
  const bool primary_higher = direction(primary).value_or(true);
  std::map<std::tuple<BlockKey, std::string, std::string>, const Aggregate*> cell;  // (block, model, label)
  for (const auto& a : aggs) cell[{BlockKey{a.dataset, a.split, a.train_fraction}, a.model, MetricLabel(a.metric, a.k)}] = &a;
  const auto block_index = [&](const BlockKey& b) {
    return static_cast<size_t>(std::find(blocks.begin(), blocks.end(), b) - blocks.begin());
  };
  const auto model_index = [&](const std::string& m) {
    return static_cast<size_t>(std::find(models.begin(), models.end(), m) - models.begin());
  };
  const auto cell_id = [&](const BlockKey& b, const std::string& model, const std::string& label) {
    return "c-" + std::to_string(block_index(b)) + "-" + std::to_string(model_index(model)) + "-" +
           std::to_string(std::find(labels.begin(), labels.end(), label) - labels.begin());
  };
  std::set<double> fractions;
  for (const auto& a : aggs) fractions.insert(a.train_fraction);
  const double max_fraction = fractions.empty() ? 1.0 : *fractions.rbegin();

  std::ostringstream tex, wide;
  // The ablation column is appended last so the earlier columns keep their positions; full
  // models read "none", ablated variants "-X" (rows after the full models).
  wide << "dataset,split,train_fraction,model";
  for (const auto& l : labels) wide << "," << l << "_mean," << l << "_std";
  wide << ",ablation,features\n";
  // What each (block, model, ablation) read, from the long rows; seeds share it.
  std::map<std::tuple<std::string, std::string, double, std::string, std::string>, std::string> features_of;
  for (const auto& r : rows) features_of.emplace(std::make_tuple(r.dataset, r.split, r.train_fraction, r.model, r.ablation), r.features);
  const auto features_field = [&](const std::string& ds, const std::string& split, double frac, const std::string& model,
                                  const std::string& ablation) {
    auto it = features_of.find({ds, split, frac, model, ablation});
    std::string q = "\"";
    if (it != features_of.end())
      for (char c : it->second) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  };

  json summary_blocks = json::array();
  std::vector<FindingsBlock> findings_blocks;
  std::vector<std::pair<size_t, double>> best_vs_second_p;  // (findings block, raw p)
  std::vector<double> pa, pb;
  for (const auto& b : blocks) {
    const auto& [ds, split, frac] = b;
    std::map<std::string, double> best;
    for (const auto& label : labels) {
      const std::optional<bool> higher = direction(label);
      if (!higher) continue;
      bool any = false;
      double bv = 0;
      for (const auto& model : models) {
        auto it = cell.find({b, model, label});
        if (it == cell.end() || is_reference(model)) continue;  // the oracle is a ceiling, not a winner
        const double v = it->second->mean;
        if (!any || (*higher ? v > bv : v < bv)) bv = v;
        any = true;
      }
      if (any) best[label] = bv;
    }
    tex << "% " << ds << ", " << split << ", train fraction " << frac << " (needs \\usepackage{booktabs})\n";
    tex << "\\begin{tabular}{l" << std::string(columns.size(), 'r') << "}\n\\toprule\nModel";
    for (const auto& l : labels) tex << " & " << Latex(l);
    tex << " \\\\\n\\midrule\n";
    json jrows = json::array();
    FindingsBlock fb;
    fb.title = BlockTitle(b);
    fb.metric = primary;
    fb.higher_is_better = primary_higher;
    fb.baseline = cell.count({b, baseline, primary}) ? baseline : "";
    for (const auto& model : models) {
      bool has = false;
      for (const auto& l : labels) has |= cell.count({b, model, l}) > 0;
      if (!has) continue;
      tex << Latex(model);
      wide << ds << ",\"" << split << "\"," << frac << "," << model;
      json jcells = json::object();
      for (const auto& label : labels) {
        auto it = cell.find({b, model, label});
        if (it == cell.end()) {
          tex << " & ";
          wide << ",,";
          continue;
        }
        const Aggregate& a = *it->second;
        const bool is_best = best.count(label) && a.mean == best[label] && !is_reference(model);
        auto pit = p_baseline.find({b, model, label});
        const bool sig = pit != p_baseline.end() && pit->second < 0.05;
        const std::string txt = Fmt(a.mean) + (a.n > 1 ? " \u00b1 " + Fmt(a.std) : "");
        json jc = {{"text", txt}, {"mean", a.mean}, {"std", a.std}, {"n", a.n}, {"id", cell_id(b, model, label)}};
        if (is_best) jc["best"] = true;
        if (sig) jc["sig"] = true;
        if (pit != p_baseline.end()) jc["p_vs_baseline"] = pit->second;
        jcells[label] = jc;
        std::string ttxt = Fmt(a.mean) + (a.n > 1 ? " $\\pm$ " + Fmt(a.std) : "") + (sig ? "$^\\dagger$" : "");
        tex << " & " << (is_best ? "\\textbf{" + ttxt + "}" : ttxt);
        char buf[96];
        std::snprintf(buf, sizeof buf, ",%.17g,%.17g", a.mean, a.std);
        wide << buf;
        if (label == primary) {
          fb.entries.push_back({model, a.mean, cell_id(b, model, label), is_reference(model)});
          if (pit != p_baseline.end()) fb.p_vs_baseline[model] = pit->second;
        }
      }
      std::string kind = is_reference(model) ? "reference" : content_models.count(model) ? "content" : "id";
      jrows.push_back({{"model", model}, {"kind", kind}, {"cells", jcells}});
      tex << " \\\\\n";
      wide << ",none," << features_field(ds, split, frac, model, "none") << "\n";
    }
    tex << "\\bottomrule\n\\end{tabular}\n\n";
    summary_blocks.push_back({{"id", "b" + std::to_string(block_index(b))}, {"title", BlockTitle(b)}, {"dataset", ds},
                              {"split", split}, {"fraction", frac}, {"rows", jrows}});
    // The findings speak of the full training data; the sparsity chart covers the rest.
    if (frac != max_fraction) continue;
    // Best vs runner-up at the primary metric, on the users both were evaluated for.
    std::vector<const FindingsBlock::Entry*> ranked;
    for (const auto& e : fb.entries)
      if (!e.reference) ranked.push_back(&e);
    std::stable_sort(ranked.begin(), ranked.end(), [&](const auto* x, const auto* y) {
      return primary_higher ? x->mean > y->mean : x->mean < y->mean;
    });
    if (ranked.size() >= 2 &&
        per_user.Paired({ds, split, frac, ranked[0]->model, "none"}, {ds, split, frac, ranked[1]->model, "none"}, primary,
                        &pa, &pb))
      best_vs_second_p.emplace_back(findings_blocks.size(), eval::PairedTTest(pa, pb).p_value);
    findings_blocks.push_back(std::move(fb));
  }
  {
    std::vector<double> p;
    for (const auto& [i, v] : best_vs_second_p) p.push_back(v);
    const auto adjusted = eval::HolmBonferroni(p);
    for (size_t j = 0; j < best_vs_second_p.size(); ++j) findings_blocks[best_vs_second_p[j].first].p_best_vs_second = adjusted[j];
  }

  // Ablated variants: the wide CSV's rows after the full models, and the ablation table at the
  // primary metric with a paired bootstrap CI (over users, seed-averaged) of each change.
  std::vector<std::string> ablation_names;
  for (const auto& a : ablated)
    if (std::find(ablation_names.begin(), ablation_names.end(), a.ablation) == ablation_names.end())
      ablation_names.push_back(a.ablation);
  {
    using VariantKey = std::tuple<BlockKey, std::string, std::string>;
    std::vector<VariantKey> variants;
    std::map<std::tuple<VariantKey, std::string, int>, const Aggregate*> vcell;
    for (const auto& a : ablated) {
      const VariantKey v{BlockKey{a.dataset, a.split, a.train_fraction}, a.model, a.ablation};
      if (std::find(variants.begin(), variants.end(), v) == variants.end()) variants.push_back(v);
      vcell[{v, a.metric, a.k}] = &a;
    }
    for (const auto& v : variants) {
      const auto& [b, model, ablation] = v;
      const auto& [ds, split, frac] = b;
      wide << ds << ",\"" << split << "\"," << frac << "," << model;
      for (const auto& col : columns) {
        auto it = vcell.find({v, col.first, col.second});
        if (it == vcell.end()) {
          wide << ",,";
          continue;
        }
        char buf[96];
        std::snprintf(buf, sizeof buf, ",%.17g,%.17g", it->second->mean, it->second->std);
        wide << buf;
      }
      wide << "," << ablation << "," << features_field(ds, split, frac, model, ablation) << "\n";
    }
  }
  json ablation_blocks = json::array();
  json ablation_chart = json::array();
  std::vector<FindingsAblation> findings_ablations;
  {
    std::map<std::tuple<BlockKey, std::string, std::string>, const Aggregate*> by;  // (block, model, ablation)
    for (const auto& a : ablated)
      if (MetricLabel(a.metric, a.k) == primary) by[{BlockKey{a.dataset, a.split, a.train_fraction}, a.model, a.ablation}] = &a;
    std::vector<BlockKey> ablation_blocks_order;
    std::vector<std::string> ablation_models;
    for (const auto& a : ablated) {
      BlockKey b{a.dataset, a.split, a.train_fraction};
      if (std::find(ablation_blocks_order.begin(), ablation_blocks_order.end(), b) == ablation_blocks_order.end())
        ablation_blocks_order.push_back(b);
      if (std::find(ablation_models.begin(), ablation_models.end(), a.model) == ablation_models.end())
        ablation_models.push_back(a.model);
    }
    for (const auto& b : ablation_blocks_order) {
      const auto& [ds, split, frac] = b;
      json jrows = json::array();
      for (const auto& model : ablation_models) {
        auto full = cell.find({b, model, primary});
        bool any = false;
        for (const auto& n : ablation_names) any |= by.count({b, model, n}) > 0;
        if (!any) continue;
        FindingsAblation fa;
        fa.title = BlockTitle(b);
        fa.metric = primary;
        fa.higher_is_better = primary_higher;
        fa.model = model;
        fa.full = full != cell.end() ? full->second->mean : NAN;
        fa.full_cell_id = full != cell.end() ? cell_id(b, model, primary) : "";
        json jcells = json::object();
        for (size_t ni = 0; ni < ablation_names.size(); ++ni) {
          const std::string& n = ablation_names[ni];
          auto it = by.find({b, model, n});
          if (it == by.end()) continue;
          const double v = it->second->mean;
          const std::string id = "a-" + std::to_string(block_index(b)) + "-" + std::to_string(model_index(model)) + "-" +
                                 std::to_string(ni);
          json jc = {{"mean", v}, {"text", Fmt(v)}, {"id", id}};
          FindingsAblation::Variant fv{n, v, false, 0, 0, id};
          if (full != cell.end()) {
            const double base = full->second->mean;
            jc["delta"] = v - base;
            if (base != 0) jc["relative"] = (v - base) / base;
            if (per_user.Paired({ds, split, frac, model, n}, {ds, split, frac, model, "none"}, primary, &pa, &pb)) {
              const auto ci = eval::PairedBootstrap(pa, pb, 2000, 0.95, 0);
              jc["ci"] = json::array({ci.lower, ci.upper});
              fv.has_ci = true;
              fv.ci_lo = ci.lower;
              fv.ci_hi = ci.upper;
              ablation_chart.push_back({{"block", BlockTitle(b)}, {"variant", model + " " + n}, {"delta", v - base},
                                        {"lo", ci.lower}, {"hi", ci.upper}});
            } else {
              ablation_chart.push_back({{"block", BlockTitle(b)}, {"variant", model + " " + n}, {"delta", v - base}});
            }
          }
          jcells[n] = jc;
          fa.variants.push_back(fv);
        }
        jrows.push_back({{"model", model},
                         {"full", full != cell.end() ? json(full->second->mean) : json(nullptr)},
                         {"full_text", full != cell.end() ? Fmt(full->second->mean) : std::string("\u2013")},
                         {"cells", jcells}});
        if (frac == max_fraction) findings_ablations.push_back(std::move(fa));
      }
      ablation_blocks.push_back({{"title", BlockTitle(b)}, {"rows", jrows}});
    }
  }

  // Chart data, tidy: per (block, model) the primary metric's mean and spread, and each seed.
  json summary_data = json::array(), agg_primary = json::array();
  for (const auto& a : aggs) {
    if (MetricLabel(a.metric, a.k) != primary) continue;
    const BlockKey b{a.dataset, a.split, a.train_fraction};
    agg_primary.push_back({{"dataset", a.dataset}, {"split", a.split}, {"fraction", a.train_fraction},
                           {"series", a.dataset + " \u00b7 " + a.split}, {"model", a.model}, {"mean", a.mean},
                           {"lo", a.mean - a.std}, {"hi", a.mean + a.std}, {"n", a.n}});
    if (a.train_fraction != max_fraction) continue;
    summary_data.push_back({{"kind", "agg"}, {"block", BlockTitle(b)}, {"model", a.model}, {"mean", a.mean},
                            {"lo", a.mean - a.std}, {"hi", a.mean + a.std}});
    for (size_t i = 0; i < a.values.size(); ++i)
      summary_data.push_back({{"kind", "seed"}, {"block", BlockTitle(b)}, {"model", a.model}, {"value", a.values[i]},
                              {"seed", a.seeds[i]}});
  }
  std::vector<std::string> block_titles;
  for (const auto& b : blocks)
    if (std::get<2>(b) == max_fraction) block_titles.push_back(BlockTitle(b));

  json curve_data = json::array();
  for (const auto& r : runs) {
    const auto& cfg = r["config"];
    const std::string label = r.value("label", cfg.value("model", ""));
    // An ablated variant shares the model's label; its own series name ("mm -image") gives
    // it its own panel and colour instead of drawing it in the full model's.
    const std::string ablation = r.value("ablation", std::string("none"));
    const std::string series = ablation == "none" ? label : label + " " + ablation;
    // One epoch (a closed-form fit such as itemknn-cbf's) is a point, not a curve.
    if (r.contains("curve") && r["curve"].size() > 1)
      for (const auto& p : r["curve"])
        curve_data.push_back({{"model", series}, {"seed", cfg.value("seed", 0)}, {"dataset", cfg.value("dataset", "")},
                              {"split", cfg.value("split", "")}, {"fraction", cfg.value("train_fraction", 1.0)},
                              {"run", cfg.value("split", "") + " " + FormatFraction(cfg.value("train_fraction", 1.0)) +
                                          " seed " + std::to_string(cfg.value("seed", 0))},
                              {"epoch", p.value("epoch", 0)}, {"loss", p.value("loss", 0.0)}});
  }

  // Cold-start data: each full-model cell's groups.csv (item popularity buckets, cold vs warm
  // items) at the primary metric, averaged over seeds; one panel per (split, group).
  json cold_data = json::array();
  std::vector<std::string> cold_panels;
  {
    using ColdKey = std::tuple<std::string, std::string, double, std::string, std::string, std::string>;
    std::map<ColdKey, std::pair<double, int>> acc;
    std::vector<ColdKey> order;
    for (size_t r = 0; r < runs.size(); ++r) {
      if (runs[r].value("ablation", std::string("none")) != "none") continue;
      const std::string path = run_dirs[r] + "/groups.csv";
      if (!framework::FileExists(path)) continue;
      const auto& cfg = runs[r]["config"];
      const std::string text = framework::ReadFile(path);
      framework::LineCursor cursor(text);
      std::string_view line;
      if (!cursor.Next(&line)) continue;
      while (cursor.Next(&line)) {
        if (line.empty()) continue;
        const auto f = ParseCsvLine(line);
        if (f.size() != 6) throw framework::DataError(path, cursor.line_number(), "expected 6 fields");
        if (f[0] != "item_popularity" && f[0] != "item_coldness") continue;
        int64_t k = 0;
        double v = 0;
        if (!framework::ParseInt64(f[3], &k) || !framework::ParseDouble(f[4], &v))
          throw framework::DataError(path, cursor.line_number(), "unparsable number");
        if (MetricLabel(f[2], static_cast<int>(k)) != primary || !std::isfinite(v)) continue;
        ColdKey key{cfg.value("dataset", ""), cfg.value("split", ""), cfg.value("train_fraction", 1.0),
                    runs[r].value("label", cfg.value("model", "")), f[0], f[1]};
        if (!acc.count(key)) order.push_back(key);
        acc[key].first += v;
        acc[key].second += 1;
      }
    }
    std::set<std::string> datasets;
    for (const auto& key : order) datasets.insert(std::get<0>(key));
    for (const auto& key : order) {
      const auto& [ds, split, frac, model, kind, group] = key;
      if (frac != max_fraction) continue;
      const std::string kind_label = kind == "item_popularity" ? "item popularity" : "cold vs warm items";
      const std::string panel = (datasets.size() > 1 ? ds + " \u00b7 " : std::string()) + split + " \u00b7 " +
                                (kind == "item_popularity" ? "popularity: " : "items: ") + group;
      if (std::find(cold_panels.begin(), cold_panels.end(), panel) == cold_panels.end()) cold_panels.push_back(panel);
      cold_data.push_back({{"dataset", ds}, {"split", split}, {"model", model}, {"kind", kind_label},
                           {"group", group}, {"panel", panel}, {"mean", acc[key].first / acc[key].second},
                           {"n", acc[key].second}});
    }
  }

  // Modality weights of attention models, mean over seeds per (dataset, split, model, modality).
  json weight_data = json::array();
  {
    using WKey = std::tuple<std::string, std::string, std::string, std::string>;
    std::map<WKey, std::pair<double, int>> acc;
    std::vector<WKey> order;
    for (const auto& r : runs) {
      if (r.value("ablation", std::string("none")) != "none" || !r.contains("modality_weights")) continue;
      const auto& cfg = r["config"];
      if (cfg.value("train_fraction", 1.0) != max_fraction) continue;
      for (const auto& [mod, w] : r["modality_weights"].items()) {
        if (!w.is_number()) continue;
        WKey key{cfg.value("dataset", ""), cfg.value("split", ""), r.value("label", cfg.value("model", "")), mod};
        if (!acc.count(key)) order.push_back(key);
        acc[key].first += w.get<double>();
        acc[key].second += 1;
      }
    }
    for (const auto& key : order)
      weight_data.push_back({{"dataset", std::get<0>(key)}, {"split", std::get<1>(key)},
                             {"series", std::get<0>(key) + " \u00b7 " + std::get<1>(key)}, {"model", std::get<2>(key)},
                             {"modality", std::get<3>(key)}, {"weight", acc[key].first / acc[key].second},
                             {"n", acc[key].second}});
  }

  // Known answers of the synthetic world, checked on this run's numbers: content must win on
  // cold items, the modality the generator made most informative must be the one whose
  // removal hurts most, and no model may pass the oracle's ceiling.
  json known = json::array();
  json known_chart = json::array();
  {
    std::set<std::string> datasets;
    for (const auto& b : blocks) datasets.insert(std::get<0>(b));
    for (const auto& ds : datasets) {
      const json truth = TruthParams(results_dir, ds, runs);
      if (truth.is_null()) continue;
      const auto param = [&](const char* k) {
        double v = NAN;
        if (truth.contains(k)) framework::ParseDouble(truth[k].get<std::string>(), &v);
        return v;
      };
      std::vector<std::pair<std::string, double>> signals = {{"text", param("signal_text")}, {"kg", param("signal_kg")}};
      if (!truth.contains("images") || truth["images"] != "false") signals.insert(signals.begin(), {"image", param("signal_image")});
      std::string strongest;
      double strongest_signal = -1;
      for (const auto& [m, s] : signals)
        if (std::isfinite(s) && s > strongest_signal) {
          strongest_signal = s;
          strongest = m;
        }
      for (const auto& b : blocks) {
        const auto& [bds, split, frac] = b;
        if (bds != ds || frac != max_fraction) continue;
        // Best of each kind at the primary metric in this table.
        const Aggregate *best_content = nullptr, *best_id = nullptr, *random = nullptr, *oracle = nullptr, *best_any = nullptr;
        const auto better = [&](const Aggregate* x, const Aggregate* y) {
          return !y || (primary_higher ? x->mean > y->mean : x->mean < y->mean);
        };
        for (const auto& model : models) {
          auto it = cell.find({b, model, primary});
          if (it == cell.end()) continue;
          const Aggregate* a = it->second;
          const std::string t = type_of.count(model) ? type_of[model] : model;
          if (t == "random") random = a;
          else if (t == "oracle") oracle = a;
          else {
            if (better(a, best_any)) best_any = a;
            if (content_models.count(model) ? better(a, best_content) : better(a, best_id))
              (content_models.count(model) ? best_content : best_id) = a;
          }
          if (split.rfind("cold-item", 0) == 0 && t != "oracle")
            known_chart.push_back({{"block", BlockTitle(b)}, {"model", model}, {"mean", a->mean},
                                   {"kind", t == "random" ? "random ranking" : content_models.count(model) ? "content" : "ID only"}});
        }
        const std::string where = BlockTitle(b);
        if (split.rfind("cold-item", 0) == 0 && best_content && (best_id || random)) {
          const bool pass = (!best_id || better(best_content, best_id)) && (!random || better(best_content, random));
          std::string detail = "best content model " + best_content->model + " " + Fmt(best_content->mean);
          json refs = json::array({cell_id(b, best_content->model, primary)});
          if (best_id) {
            detail += " vs best ID-only " + best_id->model + " " + Fmt(best_id->mean);
            refs.push_back(cell_id(b, best_id->model, primary));
          }
          if (random) {
            detail += (best_id ? " and" : " vs") + std::string(" random ") + Fmt(random->mean);
            if (random->mean > 0) {
              char buf[32];
              std::snprintf(buf, sizeof buf, " (%.1f\u00d7 random)", best_content->mean / random->mean);
              detail += buf;
            }
            refs.push_back(cell_id(b, random->model, primary));
          }
          known.push_back({{"dataset", ds}, {"where", where}, {"claim", "Content wins on cold items"},
                           {"detail", detail + " (" + primary + ")"}, {"pass", pass}, {"refs", refs}});
        }
        if (oracle && best_any) {
          // The oracle ranks by the generator's preference s(u, i) only: interactions were also
          // drawn with an exposure weight and within sessions (datasets/synthetic.h), which a
          // model can learn from co-occurrence on warm items. So it is a ceiling only where no
          // such evidence exists, on cold items; elsewhere it is a reference level.
          const bool cold = split.rfind("cold-item", 0) == 0;
          char buf[64] = "";
          if (oracle->mean != 0) std::snprintf(buf, sizeof buf, "; the best model gets %.0f%% of it", 100.0 * best_any->mean / oracle->mean);
          json row = {{"dataset", ds},
                      {"where", where},
                      {"claim", cold ? "On cold items no model passes the oracle (the true preference)"
                                     : "The oracle (true preference, without exposure and sessions): a reference, "
                                       "not a ceiling, on warm items"},
                      {"detail", "oracle " + Fmt(oracle->mean) + ", best model " + best_any->model + " " +
                                     Fmt(best_any->mean) + buf + " (" + primary + ")"},
                      {"refs", json::array({cell_id(b, oracle->model, primary), cell_id(b, best_any->model, primary)})}};
          row["pass"] = cold ? json(!better(best_any, oracle)) : json(nullptr);
          known.push_back(row);
        }
      }
      for (const auto& fa : findings_ablations) {
        if (strongest.empty() || fa.variants.empty() || !std::isfinite(fa.full)) continue;
        bool in_ds = false;
        for (const auto& b : blocks)
          if (std::get<0>(b) == ds && BlockTitle(b) == fa.title) in_ds = true;
        if (!in_ds) continue;
        const FindingsAblation::Variant* worst = nullptr;
        for (const auto& v : fa.variants)
          if (!worst || (primary_higher ? v.mean < worst->mean : v.mean > worst->mean)) worst = &v;
        bool removed_strongest = false;
        for (const auto& v : fa.variants) removed_strongest |= v.ablation == "-" + strongest;
        if (!removed_strongest) continue;
        std::string detail;
        for (const auto& v : fa.variants)
          detail += (detail.empty() ? "" : ", ") + v.ablation + " " + Fmt(v.mean - fa.full);
        char sig[48];
        std::snprintf(sig, sizeof sig, "%.2g", strongest_signal);
        known.push_back({{"dataset", ds}, {"where", fa.title},
                         {"claim", "Removing the strongest modality (" + strongest + ", signal " + sig + ") hurts " +
                                       fa.model + " most"},
                         {"detail", "change of " + primary + " from " + Fmt(fa.full) + ": " + detail},
                         {"pass", worst->ablation == "-" + strongest},
                         {"refs", json::array({fa.full_cell_id, worst->cell_id})}});
      }
    }
  }

  // Runs: provenance and cost of every cell.
  json run_rows = json::array();
  for (const auto& r : runs) {
    const auto& cfg = r["config"];
    // What a content model really used, e.g. "image ✓ 1424/1682, text ✓, kg ✗ absent": an
    // absent modality is masked out, not an error, and must be visible beside the numbers.
    std::string mods;
    json provenance = json::array();
    if (r.contains("modalities"))
      for (const auto& u : r["modalities"]) {
        if (!mods.empty()) mods += ", ";
        mods += u.value("modality", "?");
        if (!u.value("available", true)) {
          mods += " \u2717 absent";
          continue;
        }
        mods += " \u2713";
        const int64_t present = u.value("items_present", int64_t{0}), items = r.value("num_items", int64_t{0});
        if (items > 0 && present < items) mods += " " + std::to_string(present) + "/" + std::to_string(items);
        if (!u.contains("provenance") || u["provenance"].empty()) continue;
        json lines = json::array();
        for (const auto& [k, v] : u["provenance"].items())
          lines.push_back(k + ": " + (v.is_string() ? v.get<std::string>() : v.dump()));
        provenance.push_back({{"summary", u.value("modality", "?") + ": " + u.value("spec", "")}, {"lines", lines}});
      }
    // Rows per part as the splitter realised them (per-user rounding moves 8:1:1 on short
    // histories); cells from before valid_interactions was recorded show nothing.
    const std::string split_sizes =
        r.contains("valid_interactions")
            ? framework::FormatSplitSizes(r.value("train_interactions", int64_t{0}), r.value("valid_interactions", int64_t{0}),
                                          r.value("test_interactions", int64_t{0}))
            : std::string();
    run_rows.push_back({{"model", r.value("label", cfg.value("model", ""))},
                        {"dataset", cfg.value("dataset", "")},
                        {"split", cfg.value("split", "")},
                        {"fraction", cfg.value("train_fraction", 1.0)},
                        {"seed", cfg.value("seed", 0)},
                        {"ablation", r.value("ablation", std::string("none"))},
                        {"fit_s", Fmt(r.value("fit_seconds", 0.0), 2)},
                        {"eval_s", Fmt(r.value("eval_seconds", 0.0), 2)},
                        {"rss_mb", Fmt(r.value("peak_rss_bytes", 0.0) / 1048576.0, 0)},
                        {"users", r.value("evaluated_users", 0)},
                        {"realised_split", split_sizes},
                        {"modalities", mods},
                        {"provenance", provenance},
                        {"data_hash", r.value("data_hash", "")},
                        {"commit", r.value("git_commit", "").substr(0, 12)}});
  }

  // Chart specs. Facets wrap at two columns of about 400 px, so a page at 1280 px never
  // scrolls sideways however many splits or models a study has.
  json charts = json::array();
  const auto add_chart = [&](const std::string& id, const std::string& section, const std::string& title,
                             const std::string& caption, json spec) {
    charts.push_back({{"id", id}, {"section", section}, {"title", title}, {"caption", caption}, {"spec", Spec(std::move(spec))}});
  };
  const std::string axis = primary + " (mean \u00b1 std over seeds)";
  if (!summary_data.empty()) {
    const json y = {{"field", "model"}, {"type", "nominal"}, {"title", nullptr},
                    {"sort", {{"field", "mean"}, {"op", "max"}, {"order", "descending"}}}};
    add_chart("chart-summary", "main", primary + " per model",
              "Bars: mean over seeds; whiskers: \u00b1 one sample standard deviation; ticks: the single seeds. Train fraction " +
                  FormatFraction(max_fraction) + ".",
              {{"data", {{"values", summary_data}}},
               {"facet", {{"field", "block"}, {"type", "nominal"}, {"title", nullptr}, {"sort", block_titles}}},
               {"columns", 2},
               {"spec",
                {{"width", 380},
                 {"layer",
                  json::array({{{"transform", json::array({{{"filter", "datum.kind == 'agg'"}}})},
                                {"mark", "bar"},
                                {"encoding",
                                 {{"y", y},
                                  {"x", {{"field", "mean"}, {"type", "quantitative"}, {"title", axis}}},
                                  {"color", {{"field", "model"}, {"legend", nullptr}}},
                                  {"tooltip", json::array({{{"field", "model"}}, {{"field", "mean"}, {"format", ".4f"}}})}}}},
                               {{"transform", json::array({{{"filter", "datum.kind == 'agg'"}}})},
                                {"mark", "errorbar"},
                                {"encoding",
                                 {{"y", y},
                                  {"x", {{"field", "lo"}, {"type", "quantitative"}, {"title", axis}}},
                                  {"x2", {{"field", "hi"}}}}}},
                               {{"transform", json::array({{{"filter", "datum.kind == 'seed'"}}})},
                                {"mark", {{"type", "tick"}, {"color", "#222"}, {"thickness", 1.5}}},
                                {"encoding",
                                 {{"y", y},
                                  {"x", {{"field", "value"}, {"type", "quantitative"}, {"title", axis}}},
                                  {"tooltip", json::array({{{"field", "model"}}, {{"field", "seed"}}, {{"field", "value"}, {"format", ".4f"}}})}}}}})}}},
               {"resolve", {{"scale", {{"x", "independent"}, {"y", "independent"}}}}}});
  }
  // Cold vs warm: the same models on each split of a dataset, side by side.
  {
    std::map<std::string, std::set<std::string>> splits_of;
    for (const auto& b : blocks)
      if (std::get<2>(b) == max_fraction) splits_of[std::get<0>(b)].insert(std::get<1>(b));
    bool any_cold = false, several = false;
    for (const auto& [ds, s] : splits_of) {
      several |= s.size() > 1;
      for (const auto& sp : s) any_cold |= sp.rfind("cold", 0) == 0;
    }
    // Only models measured on a cold split and on another one: the pairs the chart is for.
    std::set<std::pair<std::string, std::string>> on_cold, on_other;
    for (const auto& row : agg_primary) {
      if (row["fraction"].get<double>() != max_fraction) continue;
      const auto key = std::make_pair(row["dataset"].get<std::string>(), row["model"].get<std::string>());
      (row["split"].get<std::string>().rfind("cold", 0) == 0 ? on_cold : on_other).insert(key);
    }
    json data = json::array();
    for (const auto& row : agg_primary) {
      const auto key = std::make_pair(row["dataset"].get<std::string>(), row["model"].get<std::string>());
      if (row["fraction"].get<double>() == max_fraction && on_cold.count(key) && on_other.count(key)) data.push_back(row);
    }
    const json model_order = models;
    if (several && any_cold && !data.empty())
      add_chart("chart-coldwarm", "main", "Warm vs cold splits",
                primary + " of every model on each split (mean over seeds): the cold-item split tests only items "
                          "without training interactions, where only content can rank.",
                {{"data", {{"values", data}}},
                 {"facet", {{"field", "dataset"}, {"type", "nominal"}, {"title", nullptr}}},
                 {"columns", 2},
                 {"spec",
                  {{"width", 420},
                   {"height", {{"step", 9}}},  // per bar (yOffset): 3 splits = 27 px per model
                   {"mark", "bar"},
                   {"encoding",
                    {{"y", {{"field", "model"}, {"type", "nominal"}, {"title", nullptr}, {"sort", model_order}}},
                     {"yOffset", {{"field", "split"}}},
                     {"x", {{"field", "mean"}, {"type", "quantitative"}, {"title", primary + " (mean over seeds)"}}},
                     {"color", {{"field", "split"}, {"type", "nominal"}, {"legend", {{"orient", "bottom"}}}}},
                     {"tooltip", json::array({{{"field", "model"}}, {{"field", "split"}}, {{"field", "mean"}, {"format", ".4f"}}})}}}}}});
  }
  if (!known_chart.empty())
    add_chart("chart-known", "known", "Cold items: content vs ID-only vs random",
              primary + " on the cold-item split (mean over seeds); colour: what the model reads.",
              {{"data", {{"values", known_chart}}},
               {"facet", {{"field", "block"}, {"type", "nominal"}, {"title", nullptr}}},
               {"columns", 2},
               {"spec",
                {{"width", 380},
                 {"mark", "bar"},
                 {"encoding",
                  {{"y", {{"field", "model"}, {"type", "nominal"}, {"title", nullptr}, {"sort", "-x"}}},
                   {"x", {{"field", "mean"}, {"type", "quantitative"}, {"title", primary + " on cold items"}}},
                   {"color", {{"field", "kind"}, {"type", "nominal"}, {"title", "reads"}, {"legend", {{"orient", "bottom"}}}}},
                   {"tooltip", json::array({{{"field", "model"}}, {{"field", "mean"}, {"format", ".4f"}}})}}}}}});
  // A curve needs two fractions: models run at the full training set only are left out.
  json sparsity_data = json::array();
  {
    std::map<std::tuple<std::string, std::string, std::string>, std::set<double>> fractions_of;
    for (const auto& row : agg_primary)
      fractions_of[{row["dataset"].get<std::string>(), row["split"].get<std::string>(), row["model"].get<std::string>()}]
          .insert(row["fraction"].get<double>());
    for (const auto& row : agg_primary)
      if (fractions_of[{row["dataset"].get<std::string>(), row["split"].get<std::string>(), row["model"].get<std::string>()}]
              .size() > 1)
        sparsity_data.push_back(row);
  }
  if (fractions.size() > 1 && !sparsity_data.empty())
    add_chart("chart-sparsity", "main", "Sparsity",
              primary + " against the fraction of the training split kept (nested subsamples); band: \u00b1 one std over "
                        "seeds. Models run at one fraction only are not drawn.",
              {{"data", {{"values", sparsity_data}}},
               {"facet", {{"field", "series"}, {"type", "nominal"}, {"title", nullptr}}},
               {"columns", 2},
               {"spec",
                {{"width", 380},
                 {"height", 220},
                 {"layer",
                  json::array({{{"mark", {{"type", "errorband"}, {"opacity", 0.15}}},
                                {"encoding",
                                 {{"x", {{"field", "fraction"}, {"type", "quantitative"}, {"title", "training fraction"}}},
                                  {"y", {{"field", "lo"}, {"type", "quantitative"}, {"title", primary}}},
                                  {"y2", {{"field", "hi"}}},
                                  {"color", {{"field", "model"}}}}}},
                               {{"mark", {{"type", "line"}, {"point", true}}},
                                {"encoding",
                                 {{"x", {{"field", "fraction"}, {"type", "quantitative"}, {"title", "training fraction"}}},
                                  {"y", {{"field", "mean"}, {"type", "quantitative"}, {"title", primary}}},
                                  {"color", {{"field", "model"}, {"legend", {{"columns", 2}}}}},
                                  {"tooltip", json::array({{{"field", "model"}}, {{"field", "fraction"}}, {{"field", "mean"}, {"format", ".4f"}}})}}}}})}}},
               {"resolve", {{"scale", {{"y", "independent"}}}}}});
  if (!ablation_chart.empty())
    add_chart("chart-ablation", "ablation", "Ablation deltas",
              "Change of " + primary + " when one modality is removed (variant \u2212 full model, mean over seeds); "
              "whiskers: 95% paired bootstrap interval over users (2000 resamples of seed-averaged per-user values).",
              {{"data", {{"values", ablation_chart}}},
               {"facet", {{"field", "block"}, {"type", "nominal"}, {"title", nullptr}}},
               {"columns", 2},
               {"spec",
                {{"width", 360},
                 {"layer",
                  json::array({{{"mark", "bar"},
                                {"encoding",
                                 {{"y", {{"field", "variant"}, {"type", "nominal"}, {"title", nullptr}}},
                                  {"x", {{"field", "delta"}, {"type", "quantitative"}, {"title", "\u0394 " + primary}}},
                                  {"color", {{"condition", {{"test", "datum.delta < 0"}, {"value", "#c0504d"}}}, {"value", "#4f81bd"}}},
                                  {"tooltip", json::array({{{"field", "variant"}}, {{"field", "delta"}, {"format", "+.4f"}},
                                                           {{"field", "lo"}, {"format", "+.4f"}}, {{"field", "hi"}, {"format", "+.4f"}}})}}}},
                               {{"mark", "errorbar"},
                                {"encoding",
                                 {{"y", {{"field", "variant"}, {"type", "nominal"}}},
                                  {"x", {{"field", "lo"}, {"type", "quantitative"}, {"title", "\u0394 " + primary}}},
                                  {"x2", {{"field", "hi"}}}}}},
                               {{"mark", {{"type", "rule"}, {"color", "#444"}}},
                                {"encoding", {{"x", {{"datum", 0}, {"type", "quantitative"}}}}}}})}}},
               {"resolve", {{"scale", {{"y", "independent"}}}}}});
  if (!cold_data.empty()) {
    std::set<std::string> cold_models;
    for (const auto& row : cold_data) cold_models.insert(row.value("model", ""));
    const int cold_width = std::min(300, std::max(110, 14 * static_cast<int>(cold_models.size())));
    add_chart("chart-coldstart", "main", "Item groups",
              primary + " restricted to test items by training popularity (head = top 20%, tail = bottom 50%) and to "
                        "cold (\u2264 5 training interactions) vs warm items; mean over seeds.",
              {{"data", {{"values", cold_data}}},
               {"facet", {{"field", "panel"}, {"type", "nominal"}, {"sort", cold_panels}, {"title", nullptr}}},
               {"columns", 3},
               {"spec",
                {{"width", cold_width},
                 {"height", 160},
                 {"mark", "bar"},
                 {"encoding",
                  {{"x", {{"field", "model"}, {"type", "nominal"}, {"axis", {{"labels", false}, {"ticks", false}}},
                          {"title", nullptr}}},
                   {"y", {{"field", "mean"}, {"type", "quantitative"}, {"title", primary}}},
                   {"color", {{"field", "model"}, {"legend", {{"columns", 1}}}}},
                   {"tooltip", json::array({{{"field", "model"}}, {{"field", "group"}}, {{"field", "mean"}, {"format", ".4f"}}})}}}}}});
  }
  if (!weight_data.empty())
    add_chart("chart-weights", "main", "Modality attention weights",
              "Mean over seeds of the models' learned modality weights (full models, train fraction " +
                  FormatFraction(max_fraction) + ").",
              {{"data", {{"values", weight_data}}},
               {"facet", {{"field", "series"}, {"type", "nominal"}, {"title", nullptr}}},
               {"columns", 2},
               {"spec",
                {{"width", 380},
                 {"mark", "bar"},
                 {"encoding",
                  {{"y", {{"field", "model"}, {"type", "nominal"}, {"title", nullptr}}},
                   {"x", {{"field", "weight"}, {"type", "quantitative"}, {"stack", "zero"}, {"title", "mean weight (sums to 1)"}}},
                   {"color", {{"field", "modality"}, {"legend", {{"orient", "bottom"}}}}},
                   {"tooltip", json::array({{{"field", "modality"}}, {{"field", "weight"}, {"format", ".3f"}}})}}}}}});
  if (!curve_data.empty())
    add_chart("chart-curves", "main", "Training curves",
              "Training loss per epoch, one panel per model (ablated variants apart), one line per run; y scales are "
              "each panel's own.",
              {{"data", {{"values", curve_data}}},
               {"facet", {{"field", "model"}, {"type", "nominal"}, {"title", nullptr}}},
               {"columns", 4},
               {"spec",
                {{"width", 190},
                 {"height", 110},
                 {"mark", {{"type", "line"}, {"strokeWidth", 1}}},
                 {"encoding",
                  {{"x", {{"field", "epoch"}, {"type", "quantitative"}, {"title", "epoch"}}},
                   {"y", {{"field", "loss"}, {"type", "quantitative"}, {"scale", {{"zero", false}}}, {"title", "training loss"}}},
                   {"color", {{"field", "split"}, {"type", "nominal"}, {"legend", {{"orient", "bottom"}}}}},
                   {"detail", {{"field", "run"}}}}}}},
               {"resolve", {{"scale", {{"y", "independent"}}}}}});
  TuningSection tuning = BuildTuningSection(results_dir);
  for (auto& [id, spec] : tuning.charts) charts.push_back({{"id", id}, {"section", "tuning"}, {"spec", spec}});

  if (latex) *latex = tex.str();
  if (tuning_tex) *tuning_tex = tuning.tex;
  if (wide_csv) *wide_csv = wide.str();

  const auto findings = GenerateFindings(findings_blocks, findings_ablations);
  json jfindings = json::array();
  for (const auto& f : findings) jfindings.push_back({{"text", f.text}, {"refs", f.refs}});

  json data;
  data["title"] = experiment.value("experiment", fs::path(results_dir).filename().string());
  data["description"] = experiment.value("description", "");
  data["git_commit"] = experiment.value("git_commit", "unknown");
  data["file"] = experiment.value("file", "");
  data["n_runs"] = runs.size();
  data["n_values"] = rows.size();
  data["baseline"] = baseline;
  data["headline"] = headline;
  data["primary"] = primary;
  data["columns"] = labels;
  data["summary"] = summary_blocks;
  data["ablation_names"] = ablation_names;
  data["ablations"] = ablation_blocks;
  data["findings"] = jfindings;
  data["known_answers"] = known;
  data["charts"] = charts;
  data["tuning"] = tuning.groups;
  data["runs"] = run_rows;
  data["config"] = experiment.contains("config") ? experiment["config"] : json::object();
  data["sweep_peak_rss_bytes"] = experiment.value("peak_rss_bytes", 0);
  return data;
}

void BuildReport(const std::string& results_dir) {
  std::string tex, tuning_tex, wide;
  const json data = BuildReportData(results_dir, &tex, &tuning_tex, &wide);
  // The page is the template with the data and the charting libraries put in its two slots;
  // everything it shows is rendered from the data by the template's script.
  const std::string_view tmpl = ReportTemplate();
  const std::string scripts_slot = "<!--RECFUSE:SCRIPTS-->", data_slot = "/*RECFUSE:DATA*/null";
  const size_t s = tmpl.find(scripts_slot), d = tmpl.find(data_slot);
  if (s == std::string_view::npos || d == std::string_view::npos || d < s)
    throw framework::Error("reports/template.html: the scripts and data slots are missing (broken build?)");
  std::string html;
  html.reserve(tmpl.size() + VegaJs().size() + VegaLiteJs().size() + VegaEmbedJs().size() + (size_t{1} << 20));
  html.append(tmpl.substr(0, s));
  html += "<script>";
  html += VegaJs();
  html += "</script>\n<script>";
  html += VegaLiteJs();
  html += "</script>\n<script>";
  html += VegaEmbedJs();
  html += "</script>";
  html.append(tmpl.substr(s + scripts_slot.size(), d - s - scripts_slot.size()));
  html += ScriptJson(data);
  html.append(tmpl.substr(d + data_slot.size()));

  framework::MakeDirs(results_dir + "/report");
  framework::WriteFileAtomic(results_dir + "/report/index.html", html);
  framework::WriteFileAtomic(results_dir + "/report/report.json", data.dump(1));
  framework::WriteFileAtomic(results_dir + "/report/summary.tex", tex);
  if (!tuning_tex.empty()) framework::WriteFileAtomic(results_dir + "/report/tuning.tex", tuning_tex);
  framework::WriteFileAtomic(results_dir + "/results_wide.csv", wide);
}

}  // namespace recfuse::reports
