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

// Writes DIR/report/index.html (self-contained: data, styles and charting libraries inline),
// DIR/results_wide.csv and DIR/report/summary.tex from DIR/results.csv and the cells named by
// DIR/experiment.json (run.json, groups.csv, per_user.tsv). Summary tables hold the full
// models (ablation "none"); the ablation table gives each ablated variant's headline metric
// and its delta to the full model. Charts: summary, sparsity (>1 training fraction), cold
// start (item popularity buckets and cold vs warm items, from groups.csv), modality weights
// (runs whose run.json has modality_weights), training curves. Selection trials (role
// "trial") never enter those tables; with DIR/tuning.json the page gains a "Hyperparameter
// search" section (per tuning group: space, chosen values, trial count and time, validation
// score vs trial and vs the most important parameter) and DIR/report/tuning.tex the
// appendix table of search ranges and chosen values. The page sets
// body.dataset.chartsReady='1' once every chart rendered and records script errors and
// unhandled rejections in body.dataset.scriptErrors (absent when there were none).
void BuildReport(const std::string& results_dir);

// Everything the page shows, as the JSON the template renders (also written to
// DIR/report/report.json): summary blocks with per-cell mean, std, best and significance
// flags, ablation rows with bootstrap CIs, findings, known answers, chart specs, runs and the
// configuration. The LaTeX, search appendix and wide CSV texts are returned through the
// pointers when non-null.
nlohmann::json BuildReportData(const std::string& results_dir, std::string* latex = nullptr,
                               std::string* tuning_tex = nullptr, std::string* wide_csv = nullptr);

}  // namespace recfuse::reports
