// Reports built from stored results only (never retrains): `recfuse report DIR` and the
// last step of `recfuse run`.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace recfuse::reports {

// One row of results.csv (long format).
struct ResultRow {
  std::string experiment, dataset, split;
  double train_fraction = 1;
  uint64_t seed = 0;
  std::string model;
  std::string ablation = "none";  // "none" = full model, "-image" = without images, ...
  std::string metric;
  int k = 0;
  double value = 0;
  std::string features;  // frozen features per modality ("image=image:handcrafted;..."), "" if none
  std::string role = "test";  // "trial": a selection trial's validation metrics; "test": a cell's test metrics
  std::string params;         // searched values of a trial / chosen values of a tuned cell ("dim=32;lr=0.01")
};

// Parses results.csv (the 13-column layout ending in `features,role,params`, the 11-column one
// ending in `features`, the older 10-column one
// without it, or the 9-column one without `ablation`, read as ablation "none"); throws DataError(file, line) on a malformed row.
std::vector<ResultRow> ReadResultsCsv(const std::string& path);

// Mean and sample standard deviation over seeds for each (dataset, split, fraction, model,
// ablation, metric, k), in first-seen order.
struct Aggregate {
  std::string dataset, split, model, metric;
  std::string ablation = "none";
  double train_fraction = 1;
  int k = 0;
  double mean = 0, std = 0;
  int n = 0;
  std::vector<double> values;  // per seed, in seed order
  std::vector<uint64_t> seeds;
};
std::vector<Aggregate> AggregateRows(const std::vector<ResultRow>& rows);

// Writes DIR/report/index.html, DIR/report/report.json, DIR/results_wide.csv and
// DIR/report/summary.tex from DIR/results.csv and the cells named by DIR/experiment.json
// (run.json, groups.csv, per_user.tsv). The page is reports/template.html with the charting
// libraries and report.json inlined (self-contained, opens offline); its script renders:
// findings generated from the numbers (reports/findings.h), a known-answers panel for
// synthetic worlds (truth_meta.json beside the data), one compact table per (dataset, split,
// fraction) at the headline metrics (experiment.json "headline" or config "headline"; default
// recall@20, ndcg@20) with the full list one click away, the ablation table with paired
// bootstrap CIs, charts (summary, warm vs cold, sparsity, ablation deltas, item groups,
// modality weights, training curves, search), runs and configuration. Selection trials (role
// "trial") never enter those tables; DIR/tuning.json adds the search section and
// DIR/report/tuning.tex. The page sets body.dataset.chartsReady='1' once every chart
// rendered, then body.dataset.overflow ('none' or what is wider than the viewport) and
// body.dataset.emptyCharts; script errors and unhandled rejections go to
// body.dataset.scriptErrors (absent when there were none).
void BuildReport(const std::string& results_dir);

// Everything the page shows, as the JSON the template renders (also written to
// DIR/report/report.json): summary blocks with per-cell mean, std, best and significance
// flags, ablation rows with bootstrap CIs, findings, known answers, chart specs, runs and the
// configuration. The LaTeX, search appendix and wide CSV texts are returned through the
// pointers when non-null.
nlohmann::json BuildReportData(const std::string& results_dir, std::string* latex = nullptr,
                               std::string* tuning_tex = nullptr, std::string* wide_csv = nullptr);

}  // namespace recfuse::reports
