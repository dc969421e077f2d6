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

#include "framework/config.h"
#include "framework/error.h"
#include "framework/io.h"
#include "framework/log.h"
#include "eval/metrics.h"
#include "eval/significance.h"
#include "reports/assets.h"

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

std::string Html(std::string_view s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '&': o += "&amp;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
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

// Shortest round-trip text of a number, for expressions inside chart specs.
std::string FormatNumber(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
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

using SigKey = std::tuple<std::string, std::string, double, std::string, std::string>;

// Per-user values of one cell: column (metric@k) -> user -> value.
std::map<std::string, std::map<std::string, double>> ReadPerUser(const std::string& path) {
  std::map<std::string, std::map<std::string, double>> out;
  if (!framework::FileExists(path)) return out;
  const std::string text = framework::ReadFile(path);
  framework::LineCursor cursor(text);
  std::string_view line;
  if (!cursor.Next(&line)) return out;
  const auto header = framework::Split(line, '\t');
  while (cursor.Next(&line)) {
    const auto f = framework::Split(line, '\t');
    if (f.size() != header.size()) throw framework::DataError(path, cursor.line_number(), "wrong column count");
    for (size_t c = 1; c < f.size(); ++c) {
      double v;
      if (framework::ParseDouble(f[c], &v) && std::isfinite(v)) out[header[c]][f[0]] = v;
    }
  }
  return out;
}

// Which (dataset, split, fraction, model, metric@k) differ significantly from the baseline.
// Per-user values are averaged over seeds first, so each user is one paired observation.
std::set<SigKey> SignificanceVsBaseline(const std::vector<json>& runs, const std::vector<std::string>& dirs,
                                        const std::string& baseline) {
  std::set<SigKey> out;
  if (baseline.empty()) return out;
  using GroupKey = std::tuple<std::string, std::string, double, std::string>;
  std::map<GroupKey, std::map<std::string, std::map<std::string, std::pair<double, int>>>> sums;
  for (size_t r = 0; r < runs.size(); ++r) {
    // Ablated variants share the model label; they are compared in the ablation table.
    if (runs[r].value("ablation", std::string("none")) != "none") continue;
    const auto& cfg = runs[r]["config"];
    const GroupKey key{cfg.value("dataset", ""), cfg.value("split", ""), cfg.value("train_fraction", 1.0),
                       runs[r].value("label", cfg.value("model", ""))};
    for (const auto& [col, users] : ReadPerUser(dirs[r] + "/per_user.tsv"))
      for (const auto& [u, v] : users) {
        auto& acc = sums[key][col][u];
        acc.first += v;
        acc.second += 1;
      }
  }
  using BlockKey = std::tuple<std::string, std::string, double>;
  std::map<BlockKey, std::vector<std::pair<SigKey, double>>> tests;
  for (const auto& [key, cols] : sums) {
    const auto& [ds, split, frac, model] = key;
    if (model == baseline) continue;
    auto base_it = sums.find({ds, split, frac, baseline});
    if (base_it == sums.end()) continue;
    for (const auto& [col, users] : cols) {
      auto bc = base_it->second.find(col);
      if (bc == base_it->second.end()) continue;
      std::vector<double> a, b;
      for (const auto& [u, acc] : users) {
        auto bu = bc->second.find(u);
        if (bu == bc->second.end()) continue;
        a.push_back(acc.first / acc.second);
        b.push_back(bu->second.first / bu->second.second);
      }
      if (a.size() < 2) continue;
      const auto t = eval::PairedTTest(a, b);
      tests[{ds, split, frac}].emplace_back(SigKey{ds, split, frac, model, col}, t.p_value);
    }
  }
  for (const auto& [block, list] : tests) {
    std::vector<double> p;
    for (const auto& [k, v] : list) p.push_back(v);
    const auto adjusted = eval::HolmBonferroni(p);
    for (size_t i = 0; i < list.size(); ++i)
      if (adjusted[i] < 0.05) out.insert(list[i].first);
  }
  return out;
}

// The hyperparameter search, from tuning.json: per group an HTML block (space, chosen
// values, cost), a two-panel chart spec, and the LaTeX appendix rows.
struct TuningSection {
  std::string html;
  std::vector<std::pair<std::string, json>> charts;  // div id, Vega-Lite spec
  std::string tex;
};

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
  std::ostringstream html, tex;
  html << "<h2>Hyperparameter search</h2>\n<p>Each tuned model was selected on the <b>validation</b> split only "
          "(its trials never see test rows); the chosen configuration was then trained and tested for every seed. "
          "Scores are the validation selection metric, mean over the tuning seeds.</p>\n";
  tex << "% Hyperparameter search (recfuse): search spaces and the values chosen on validation.\n"
         "\\begin{tabular}{lllll}\n\\hline\nModel & Dataset & Parameter & Search space & Chosen \\\\\n\\hline\n";
  int n = 0;
  for (const auto& g : tuning.value("groups", json::array())) {
    const std::string model = g.value("model", "?");
    const std::string ablation = g.value("ablation", "none");
    const std::string metric = g.value("valid_metric", "score");
    const json chosen = g.value("chosen", json::object());
    const json space = g.value("space", json::object());
    html << "<h3>" << Html(model) << (ablation == "none" ? "" : " " + Html(ablation)) << " &middot; "
         << Html(g.value("dataset", "")) << " &middot; " << Html(g.value("split", "")) << " &middot; train fraction "
         << g.value("train_fraction", 1.0) << "</h3>\n<p><small>" << Html(g.value("strategy", "")) << ", "
         << g.value("candidates", 0) << " candidate(s), " << g.value("rounds", 1) << " round(s)"
         << (g.value("budget_param", std::string()).empty() ? ""
                                                            : " over budget <code>" + Html(g["budget_param"].get<std::string>()) + "</code>")
         << ", " << g.value("n_trials", 0) << " trial(s), " << framework::FormatDuration(g.value("seconds", 0.0))
         << " of training and validation; chosen " << Html(metric) << " = "
         << (g.contains("chosen_score") && g["chosen_score"].is_number() ? Fmt(g["chosen_score"].get<double>()) : "&ndash;")
         << ".</small></p>\n<table><tr><th>parameter</th><th>search space</th><th>chosen</th></tr>\n";
    for (const auto& [param, text] : space.items()) {
      const std::string c = chosen.contains(param) ? chosen[param].get<std::string>() : "";
      html << "<tr><td>" << Html(param) << "</td><td>" << Html(text.get<std::string>()) << "</td><td><b>" << Html(c)
           << "</b></td></tr>\n";
      tex << Latex(model) << " & " << Latex(g.value("dataset", "")) << " & " << Latex(param) << " & "
          << Latex(text.get<std::string>()) << " & " << Latex(c) << " \\\\\n";
    }
    html << "</table>\n";
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
    if (data.empty() || important.empty()) continue;
    char eta_buf[64] = "";
    if (best_eta >= 0) std::snprintf(eta_buf, sizeof eta_buf, " (&eta;&sup2; = %.2f of the round-0 score variance)", best_eta);
    html << "<p><small>Most important parameter: <code>" << Html(important) << "</code>" << eta_buf
         << ".</small></p><div id=chart-tune-" << n << " class=chart></div>\n";
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
                  json::array({{{"width", 420},
                                {"height", 220},
                                {"title", "score by trial"},
                                {"mark", {{"type", "point"}, {"filled", true}, {"size", 60}}},
                                {"encoding",
                                 {{"x", {{"field", "trial"}, {"type", "quantitative"}, {"title", "trial (run order)"}}},
                                  {"y", y},
                                  {"color", color},
                                  {"tooltip", tooltip}}}},
                               {{"width", 420},
                                {"height", 220},
                                {"title", "score by " + important},
                                {"mark", {{"type", "point"}, {"filled", true}, {"size", 60}}},
                                {"encoding", {{"x", x_param}, {"y", y}, {"color", color}, {"tooltip", tooltip}}}}})}};
    out.charts.emplace_back("chart-tune-" + std::to_string(n), spec);
    ++n;
  }
  tex << "\\hline\n\\end{tabular}\n";
  out.html = html.str();
  out.tex = tex.str();
  return out;
}

}  // namespace

void BuildReport(const std::string& results_dir) {
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
  const auto significant = SignificanceVsBaseline(runs, run_dirs, baseline);

  // Table blocks: one per (dataset, split, fraction); columns: metric@k in first-seen order.
  using Block = std::tuple<std::string, std::string, double>;
  std::vector<Block> blocks;
  std::vector<std::pair<std::string, int>> columns;
  std::vector<std::string> models;
  for (const auto& a : aggs) {
    Block b{a.dataset, a.split, a.train_fraction};
    if (std::find(blocks.begin(), blocks.end(), b) == blocks.end()) blocks.push_back(b);
    std::pair<std::string, int> col{a.metric, a.k};
    if (std::find(columns.begin(), columns.end(), col) == columns.end()) columns.push_back(col);
    if (std::find(models.begin(), models.end(), a.model) == models.end()) models.push_back(a.model);
  }
  std::map<std::tuple<Block, std::string, std::string, int>, const Aggregate*> cell;
  for (const auto& a : aggs) cell[{Block{a.dataset, a.split, a.train_fraction}, a.model, a.metric, a.k}] = &a;

  std::ostringstream tables, tex, wide;
  // The ablation column is appended last so the earlier columns keep their positions; full
  // models read "none", ablated variants "-X" (rows after the full models).
  wide << "dataset,split,train_fraction,model";
  for (const auto& [m, k] : columns) wide << "," << MetricLabel(m, k) << "_mean," << MetricLabel(m, k) << "_std";
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
  for (const auto& b : blocks) {
    const auto& [ds, split, frac] = b;
    tables << "<h3>" << Html(ds) << " &middot; " << Html(split) << " &middot; train fraction " << frac << "</h3>\n";
    tables << "<div class=scroll><table><tr><th>model</th>";
    for (const auto& [m, k] : columns) tables << "<th>" << Html(MetricLabel(m, k)) << "</th>";
    tables << "</tr>\n";
    std::map<std::pair<std::string, int>, double> best;
    for (const auto& col : columns) {
      const std::optional<bool> higher = HigherIsBetter(col.first);
      if (!higher) continue;
      bool any = false;
      double bv = 0;
      for (const auto& model : models) {
        auto it = cell.find({b, model, col.first, col.second});
        if (it == cell.end()) continue;
        const double v = it->second->mean;
        if (!any || (*higher ? v > bv : v < bv)) bv = v;
        any = true;
      }
      if (any) best[col] = bv;
    }
    tex << "% " << ds << ", " << split << ", train fraction " << frac << " (needs \\usepackage{booktabs})\n";
    tex << "\\begin{tabular}{l" << std::string(columns.size(), 'r') << "}\n\\toprule\nModel";
    for (const auto& [m, k] : columns) tex << " & " << Latex(MetricLabel(m, k));
    tex << " \\\\\n\\midrule\n";
    for (const auto& model : models) {
      bool has = false;
      for (const auto& col : columns) has |= cell.count({b, model, col.first, col.second}) > 0;
      if (!has) continue;
      tables << "<tr><td>" << Html(model) << "</td>";
      tex << Latex(model);
      wide << ds << ",\"" << split << "\"," << frac << "," << model;
      for (const auto& col : columns) {
        auto it = cell.find({b, model, col.first, col.second});
        if (it == cell.end()) {
          tables << "<td></td>";
          tex << " & ";
          wide << ",,";
          continue;
        }
        const Aggregate& a = *it->second;
        const bool is_best = best.count(col) && a.mean == best[col];
        const bool sig = significant.count({ds, split, frac, model, MetricLabel(col.first, col.second)}) > 0;
        std::string txt = Fmt(a.mean) + (a.n > 1 ? " &plusmn; " + Fmt(a.std) : "") + (sig ? "<sup>&dagger;</sup>" : "");
        tables << "<td" << (is_best ? " class=best" : "") << ">" << txt << "</td>";
        std::string ttxt = Fmt(a.mean) + (a.n > 1 ? " $\\pm$ " + Fmt(a.std) : "") + (sig ? "$^\\dagger$" : "");
        tex << " & " << (is_best ? "\\textbf{" + ttxt + "}" : ttxt);
        char buf[96];
        std::snprintf(buf, sizeof buf, ",%.17g,%.17g", a.mean, a.std);
        wide << buf;
      }
      tables << "</tr>\n";
      tex << " \\\\\n";
      wide << ",none," << features_field(ds, split, frac, model, "none") << "\n";
    }
    tables << "</table></div>\n";
    tex << "\\bottomrule\n\\end{tabular}\n\n";
  }
  {
    // Ablated variants in the same columns, one row per (block, model, ablation).
    using VariantKey = std::tuple<Block, std::string, std::string>;
    std::vector<VariantKey> variants;
    std::map<std::tuple<VariantKey, std::string, int>, const Aggregate*> vcell;
    for (const auto& a : ablated) {
      const VariantKey v{Block{a.dataset, a.split, a.train_fraction}, a.model, a.ablation};
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

  // Chart data, tidy: one record per aggregate, and one per curve point.
  json agg_data = json::array();
  for (const auto& a : aggs)
    agg_data.push_back({{"dataset", a.dataset}, {"split", a.split}, {"fraction", a.train_fraction},
                        {"model", a.model}, {"metric", MetricLabel(a.metric, a.k)}, {"mean", a.mean},
                        {"lo", a.mean - a.std}, {"hi", a.mean + a.std}, {"n", a.n}});
  json curve_data = json::array();
  json run_rows = json::array();
  for (const auto& r : runs) {
    const auto& cfg = r["config"];
    const std::string label = r.value("label", cfg.value("model", ""));
    // An ablated variant shares the model's label; its own series name ("mm -image") gives
    // it its own colour instead of drawing it in the full model's.
    const std::string ablation = r.value("ablation", std::string("none"));
    const std::string series = ablation == "none" ? label : label + " " + ablation;
    if (r.contains("curve"))
      for (const auto& p : r["curve"])
        curve_data.push_back({{"model", series}, {"seed", cfg.value("seed", 0)}, {"dataset", cfg.value("dataset", "")},
                              {"epoch", p.value("epoch", 0)}, {"loss", p.value("loss", 0.0)}});
    run_rows.push_back(r);
  }
  std::set<double> fractions;
  for (const auto& a : aggs) fractions.insert(a.train_fraction);
  std::string headline_metric;
  for (const auto& a : aggs)
    if (a.metric == "ndcg") {
      headline_metric = MetricLabel(a.metric, a.k);
      break;
    }
  if (headline_metric.empty() && !aggs.empty()) headline_metric = MetricLabel(aggs[0].metric, aggs[0].k);
  const double max_fraction = fractions.empty() ? 1.0 : *fractions.rbegin();

  // Ablation table: per (dataset, split, fraction) block and model, the headline metric of the
  // full model and of each ablated variant, with the delta (absolute and relative).
  std::ostringstream ablation_html;
  {
    std::vector<std::string> ablation_names;
    for (const auto& a : ablated)
      if (std::find(ablation_names.begin(), ablation_names.end(), a.ablation) == ablation_names.end())
        ablation_names.push_back(a.ablation);
    std::map<std::tuple<Block, std::string, std::string>, const Aggregate*> by;  // (block, model, ablation)
    for (const auto& a : aggs)
      if (MetricLabel(a.metric, a.k) == headline_metric) by[{Block{a.dataset, a.split, a.train_fraction}, a.model, "none"}] = &a;
    for (const auto& a : ablated)
      if (MetricLabel(a.metric, a.k) == headline_metric)
        by[{Block{a.dataset, a.split, a.train_fraction}, a.model, a.ablation}] = &a;
    std::vector<Block> ablation_blocks;
    std::vector<std::string> ablation_models;
    for (const auto& a : ablated) {
      Block b{a.dataset, a.split, a.train_fraction};
      if (std::find(ablation_blocks.begin(), ablation_blocks.end(), b) == ablation_blocks.end()) ablation_blocks.push_back(b);
      if (std::find(ablation_models.begin(), ablation_models.end(), a.model) == ablation_models.end())
        ablation_models.push_back(a.model);
    }
    for (const auto& b : ablation_blocks) {
      const auto& [ds, split, frac] = b;
      ablation_html << "<h3>" << Html(ds) << " &middot; " << Html(split) << " &middot; train fraction " << frac
                    << "</h3>\n<div class=scroll><table id=ablation-table><tr><th>model</th><th>full</th>";
      for (const auto& n : ablation_names)
        ablation_html << "<th>" << Html(n) << "</th><th>&Delta;</th><th>&Delta;%</th>";
      ablation_html << "</tr>\n";
      for (const auto& model : ablation_models) {
        auto full = by.find({b, model, "none"});
        bool any = false;
        for (const auto& n : ablation_names) any |= by.count({b, model, n}) > 0;
        if (!any) continue;
        ablation_html << "<tr><td>" << Html(model) << "</td><td>"
                      << (full != by.end() ? Fmt(full->second->mean) : std::string("&ndash;")) << "</td>";
        for (const auto& n : ablation_names) {
          auto it = by.find({b, model, n});
          if (it == by.end()) {
            ablation_html << "<td></td><td></td><td></td>";
            continue;
          }
          const double v = it->second->mean;
          ablation_html << "<td>" << Fmt(v) << "</td>";
          if (full == by.end()) {
            ablation_html << "<td></td><td></td>";
            continue;
          }
          const double base = full->second->mean;
          const double d = v - base;
          char abs_buf[64], rel_buf[64];
          std::snprintf(abs_buf, sizeof abs_buf, "%+.4f", d);
          if (base != 0) std::snprintf(rel_buf, sizeof rel_buf, "%+.1f%%", 100.0 * d / base);
          else std::snprintf(rel_buf, sizeof rel_buf, "&ndash;");
          ablation_html << "<td>" << abs_buf << "</td><td>" << rel_buf << "</td>";
        }
        ablation_html << "</tr>\n";
      }
      ablation_html << "</table></div>\n";
    }
  }

  // Cold-start data: each full-model cell's groups.csv (item popularity buckets, cold vs warm
  // items) at the headline metric, averaged over seeds.
  json cold_data = json::array();
  std::vector<std::string> cold_panels;  // one small chart per group, popularity buckets first
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
        if (MetricLabel(f[2], static_cast<int>(k)) != headline_metric || !std::isfinite(v)) continue;
        ColdKey key{cfg.value("dataset", ""), cfg.value("split", ""), cfg.value("train_fraction", 1.0),
                    runs[r].value("label", cfg.value("model", "")), f[0], f[1]};
        if (!acc.count(key)) order.push_back(key);
        acc[key].first += v;
        acc[key].second += 1;
      }
    }
    for (const auto& key : order) {
      const auto& [ds, split, frac, model, kind, group] = key;
      if (frac != max_fraction) continue;
      const std::string kind_label = kind == "item_popularity" ? "item popularity" : "cold vs warm items";
      const std::string panel = (kind == "item_popularity" ? "popularity: " : "items: ") + group;
      if (std::find(cold_panels.begin(), cold_panels.end(), panel) == cold_panels.end()) cold_panels.push_back(panel);
      cold_data.push_back({{"dataset", ds}, {"split", split}, {"model", model}, {"kind", kind_label},
                           {"group", group}, {"panel", panel}, {"mean", acc[key].first / acc[key].second},
                           {"n", acc[key].second}});
    }
  }

  // Modality weights of attention models, mean over seeds per (dataset, model, modality).
  json weight_data = json::array();
  {
    using WKey = std::tuple<std::string, std::string, std::string>;
    std::map<WKey, std::pair<double, int>> acc;
    std::vector<WKey> order;
    for (const auto& r : runs) {
      if (r.value("ablation", std::string("none")) != "none" || !r.contains("modality_weights")) continue;
      const auto& cfg = r["config"];
      if (cfg.value("train_fraction", 1.0) != max_fraction) continue;
      for (const auto& [mod, w] : r["modality_weights"].items()) {
        if (!w.is_number()) continue;
        WKey key{cfg.value("dataset", ""), r.value("label", cfg.value("model", "")), mod};
        if (!acc.count(key)) order.push_back(key);
        acc[key].first += w.get<double>();
        acc[key].second += 1;
      }
    }
    for (const auto& key : order)
      weight_data.push_back({{"dataset", std::get<0>(key)}, {"model", std::get<1>(key)}, {"modality", std::get<2>(key)},
                             {"weight", acc[key].first / acc[key].second}, {"n", acc[key].second}});
  }

  std::ostringstream html;
  const std::string title = experiment.value("experiment", fs::path(results_dir).filename().string());
  html << "<!doctype html>\n<html lang=en><head><meta charset=utf-8><title>recfuse report: " << Html(title)
       << "</title>\n<style>\nbody{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}"
          "table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;"
          "text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}th{background:#f3f3f3}td:first-child{text-align:left}"
          ".best{font-weight:bold;background:#eef7ee}.scroll{overflow-x:auto}.chart{margin:1em 0}"
"code{background:#f5f5f5;padding:1px 4px}small{color:#666}\n</style>\n";
  // Installed before any other script, so an error anywhere (libraries included) is recorded
  // where a headless browser test can read it from the DOM.
  html << "<script>window.rfErrors=[];function rfRecord(m){window.rfErrors.push(String(m));"
          "var t=document.body||document.documentElement;t.dataset.scriptErrors=window.rfErrors.join(' | ');}"
          "window.addEventListener('error',function(e){rfRecord(e.message||e);});"
          "window.addEventListener('unhandledrejection',function(e){"
          "rfRecord('unhandled rejection: '+(e.reason&&e.reason.message?e.reason.message:e.reason));});"
          "document.addEventListener('DOMContentLoaded',function(){if(window.rfErrors.length)"
          "document.body.dataset.scriptErrors=window.rfErrors.join(' | ');});</script>\n";
  html << "<script>" << VegaJs() << "</script>\n<script>" << VegaLiteJs() << "</script>\n<script>"
       << VegaEmbedJs() << "</script>\n</head><body>\n";
  html << "<h1>" << Html(title) << "</h1>\n";
  if (experiment.contains("description") && !experiment["description"].get<std::string>().empty())
    html << "<p>" << Html(experiment["description"].get<std::string>()) << "</p>\n";
  html << "<p><small>git commit <code>" << Html(experiment.value("git_commit", "unknown")) << "</code> &middot; "
       << runs.size() << " runs &middot; " << rows.size() << " metric values &middot; source <code>"
       << Html(experiment.value("file", "")) << "</code></small></p>\n";
  html << "<h2>Summary</h2>\n<p>Mean &plusmn; sample standard deviation over seeds; best per column in bold (lowest for "
          "gini, rmse and mae, where lower is better; highest otherwise)."
       << (baseline.empty() ? std::string()
                            : " &dagger;: differs from the baseline <b>" + Html(baseline) +
                                  "</b> (paired t-test over users' seed-averaged values, Holm-corrected "
                                  "across the table's comparisons, p &lt; 0.05).")
       << "</p>\n"
       << tables.str();
  if (!ablated.empty())
    html << "<h2>Ablations</h2>\n<p>" << Html(headline_metric)
         << " (mean over seeds) of each model with one modality removed (<code>-X</code>: the model's "
            "<code>use_X=false</code>), and the change against the full model, absolute and relative.</p>\n"
         << ablation_html.str();
  html << "<h2>Charts</h2>\n<div id=chart-summary class=chart></div>\n";
  if (fractions.size() > 1)
    html << "<h3>Sparsity</h3><p><small>" << Html(headline_metric)
         << " against the fraction of the training split kept (nested subsamples).</small></p>"
            "<div id=chart-sparsity class=chart></div>\n";
  if (!cold_data.empty())
    html << "<h3>Cold start</h3><p><small>" << Html(headline_metric)
         << " restricted to test items by training popularity (head = top 20%, tail = bottom 50%) and to cold "
            "(&le; 5 training interactions) vs warm items; mean over seeds.</small></p>"
            "<div id=chart-coldstart class=chart></div>\n";
  if (!weight_data.empty())
    html << "<h3>Modality attention weights</h3><p><small>Mean over seeds of the models' learned modality "
            "weights.</small></p><div id=chart-weights class=chart></div>\n";
  if (!curve_data.empty()) html << "<h3>Training curves</h3><div id=chart-curves class=chart></div>\n";
  const TuningSection tuning = BuildTuningSection(results_dir);
  html << tuning.html;
  html << "<h2>Runs</h2>\n<div class=scroll><table><tr><th>model</th><th>dataset</th><th>split</th><th>fraction</th>"
          "<th>seed</th><th>ablation</th><th>fit s</th><th>eval s</th><th>peak RSS MB</th><th>train</th><th>test</th><th>users</th><th>realised split</th>"
          "<th>modalities</th><th>data hash</th><th>commit</th></tr>\n";
  for (const auto& r : runs) {
    const auto& cfg = r["config"];
    // What a content model really used, e.g. "image ✓ 1424/1682, text ✓, kg ✗ absent": an
    // absent modality is masked out, not an error, and must be visible beside the numbers.
    std::string mods;
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
      }
    // Which features each modality was (extractor, file and sha256, parameters), one
    // collapsed block per modality so the table stays readable.
    std::string provenance;
    if (r.contains("modalities"))
      for (const auto& u : r["modalities"]) {
        if (!u.value("available", true) || !u.contains("provenance") || u["provenance"].empty()) continue;
        provenance += "<details><summary>" + Html(u.value("modality", "?") + ": " + u.value("spec", "")) +
                      "</summary><small>";
        for (const auto& [k, v] : u["provenance"].items())
          provenance += Html(k) + ": " + Html(v.is_string() ? v.get<std::string>() : v.dump()) + "<br>";
        provenance += "</small></details>";
      }
    // Rows per part as the splitter realised them (per-user rounding moves 8:1:1 on short
    // histories); cells from before valid_interactions was recorded show nothing.
    const std::string split_sizes =
        r.contains("valid_interactions")
            ? framework::FormatSplitSizes(r.value("train_interactions", int64_t{0}), r.value("valid_interactions", int64_t{0}),
                                          r.value("test_interactions", int64_t{0}))
            : std::string();
    html << "<tr><td>" << Html(r.value("label", cfg.value("model", ""))) << "</td><td>"
         << Html(cfg.value("dataset", "")) << "</td><td>" << Html(cfg.value("split", "")) << "</td><td>"
         << cfg.value("train_fraction", 1.0) << "</td><td>" << cfg.value("seed", 0) << "</td><td>"
         << Html(r.value("ablation", std::string("none"))) << "</td><td>" << Fmt(r.value("fit_seconds", 0.0), 2) << "</td><td>" << Fmt(r.value("eval_seconds", 0.0), 2) << "</td><td>"
         << Fmt(r.value("peak_rss_bytes", 0.0) / 1048576.0, 0) << "</td><td>" << r.value("train_interactions", 0)
         << "</td><td>" << r.value("test_interactions", 0) << "</td><td>" << r.value("evaluated_users", 0)
         << "</td><td>" << Html(split_sizes) << "</td><td>" << Html(mods) << provenance << "</td><td><code>" << Html(r.value("data_hash", "")) << "</code></td><td><code>"
         << Html(r.value("git_commit", "").substr(0, 12)) << "</code></td></tr>\n";
  }
  html << "</table></div>\n";
  html << "<h2>Configuration</h2>\n<pre>" << Html(experiment.contains("config") ? experiment["config"].dump(2) : "{}")
       << "</pre>\n";

  // Both layers share the x axis: an untitled errorbar layer would make Vega-Lite join the
  // field names into "ndcg@10, lo". The bars are means, the whiskers one sample std over seeds.
  const std::string summary_axis = headline_metric + " (mean \u00b1 std over seeds)";
  json summary_spec = {
      {"$schema", "https://vega.github.io/schema/vega-lite/v5.json"},
      {"data", {{"values", agg_data}}},
      {"transform", json::array({{{"filter", {{"field", "metric"}, {"equal", headline_metric}}}},
                                 {{"filter", "datum.fraction == " + FormatNumber(max_fraction)}}})},
      {"facet", {{"row", {{"field", "dataset"}}}, {"column", {{"field", "split"}}}}},
      {"spec",
       {{"width", 420},
        {"layer",
         json::array({{{"mark", "bar"},
                       {"encoding",
                        {{"y", {{"field", "model"}, {"type", "nominal"}, {"sort", "-x"}}},
                         {"x", {{"field", "mean"}, {"type", "quantitative"}, {"title", summary_axis}}},
                         {"color", {{"field", "model"}, {"legend", nullptr}}}}}},
                      {{"mark", "errorbar"},
                       {"encoding",
                        {{"y", {{"field", "model"}, {"type", "nominal"}, {"sort", "-x"}}},
                         {"x", {{"field", "lo"}, {"type", "quantitative"}, {"title", summary_axis}}},
                         {"x2", {{"field", "hi"}}}}}}})}}}};
  json sparsity_spec = {
      {"$schema", "https://vega.github.io/schema/vega-lite/v5.json"},
      {"data", {{"values", agg_data}}},
      {"transform", json::array({{{"filter", {{"field", "metric"}, {"equal", headline_metric}}}}})},
      {"facet", {{"column", {{"field", "dataset"}}}}},
      {"spec",
       {{"width", 420},
        {"mark", {{"type", "line"}, {"point", true}}},
        {"encoding",
         {{"x", {{"field", "fraction"}, {"type", "quantitative"}, {"title", "training fraction"}}},
          {"y", {{"field", "mean"}, {"type", "quantitative"}, {"title", headline_metric}}},
          {"color", {{"field", "model"}}}}}}}};
  json curves_spec = {
      {"$schema", "https://vega.github.io/schema/vega-lite/v5.json"},
      {"data", {{"values", curve_data}}},
      {"facet", {{"column", {{"field", "dataset"}}}}},
      {"spec",
       {{"width", 420},
        {"mark", "line"},
        {"encoding",
         {{"x", {{"field", "epoch"}, {"type", "quantitative"}}},
          {"y", {{"field", "loss"}, {"type", "quantitative"}, {"scale", {{"zero", false}}}}},
          {"color", {{"field", "model"}}},
          {"detail", {{"field", "seed"}}}}}}}};
  // Panels at least wide enough for their titles ("popularity: head"), whatever the model count.
  std::set<std::string> cold_models;
  for (const auto& row : cold_data) cold_models.insert(row.value("model", ""));
  const int cold_width = std::max(96, 16 * static_cast<int>(cold_models.size()));
  json cold_spec = {
      {"$schema", "https://vega.github.io/schema/vega-lite/v5.json"},
      {"data", {{"values", cold_data}}},
      {"facet", {{"row", {{"field", "dataset"}, {"title", nullptr}}},
                 {"column", {{"field", "panel"}, {"sort", cold_panels}, {"title", nullptr}}}}},
      {"spec",
       {{"width", cold_width},
        {"height", 220},
        {"mark", "bar"},
        {"encoding",
         {{"x", {{"field", "model"}, {"type", "nominal"}, {"axis", {{"labels", false}, {"ticks", false}}},
                 {"title", nullptr}}},
          {"y", {{"field", "mean"}, {"type", "quantitative"}, {"title", headline_metric}}},
          {"color", {{"field", "model"}}},
          {"tooltip", json::array({{{"field", "model"}}, {{"field", "group"}}, {{"field", "mean"}, {"format", ".4f"}}})}}}}}};
  json weights_spec = {
      {"$schema", "https://vega.github.io/schema/vega-lite/v5.json"},
      {"data", {{"values", weight_data}}},
      {"facet", {{"column", {{"field", "dataset"}}}}},
      {"spec",
       {{"width", 420},
        {"mark", "bar"},
        {"encoding",
         {{"y", {{"field", "model"}, {"type", "nominal"}}},
          {"x", {{"field", "weight"}, {"type", "quantitative"}, {"stack", "zero"}, {"title", "mean weight"}}},
          {"color", {{"field", "modality"}}},
          {"tooltip", json::array({{{"field", "modality"}}, {{"field", "weight"}, {"format", ".3f"}}})}}}}}};
  html << "<script>\nwindow.recfuseCharts = [];\nfunction rfChart(id, spec) {\n"
          "  if (!document.getElementById(id)) return;\n"
          "  window.recfuseCharts.push(vegaEmbed('#' + id, spec, {actions: false, renderer: 'svg'}));\n}\n";
  html << "rfChart('chart-summary', " << ScriptJson(summary_spec) << ");\n";
  if (fractions.size() > 1) html << "rfChart('chart-sparsity', " << ScriptJson(sparsity_spec) << ");\n";
  if (!cold_data.empty()) html << "rfChart('chart-coldstart', " << ScriptJson(cold_spec) << ");\n";
  if (!weight_data.empty()) html << "rfChart('chart-weights', " << ScriptJson(weights_spec) << ");\n";
  if (!curve_data.empty()) html << "rfChart('chart-curves', " << ScriptJson(curves_spec) << ");\n";
  for (const auto& [id, spec] : tuning.charts) html << "rfChart('" << id << "', " << ScriptJson(spec) << ");\n";
  html << "Promise.all(window.recfuseCharts).then(function(){document.body.dataset.chartsReady='1';},"
          "function(e){document.body.dataset.chartsError=String(e);});\n</script>\n</body></html>\n";

  framework::MakeDirs(results_dir + "/report");
  framework::WriteFileAtomic(results_dir + "/report/index.html", html.str());
  framework::WriteFileAtomic(results_dir + "/report/summary.tex", tex.str());
  if (!tuning.tex.empty()) framework::WriteFileAtomic(results_dir + "/report/tuning.tex", tuning.tex);
  framework::WriteFileAtomic(results_dir + "/results_wide.csv", wide.str());
}

}  // namespace recfuse::reports
