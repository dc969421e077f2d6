// Reports built from stored results only (never retrains): `recfuse report DIR` and the
// last step of `recfuse run`.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace recfuse::reports {

// One row of results.csv (long format).
struct ResultRow {
  std::string experiment, dataset, split;
  double train_fraction = 1;
  uint64_t seed = 0;
  std::string model, metric;
  int k = 0;
  double value = 0;
};

// Parses results.csv; throws DataError(file, line) on a malformed row.
std::vector<ResultRow> ReadResultsCsv(const std::string& path);

// Mean and sample standard deviation over seeds for each (dataset, split, fraction, model,
// metric, k).
struct Aggregate {
  std::string dataset, split, model, metric;
  double train_fraction = 1;
  int k = 0;
  double mean = 0, std = 0;
  int n = 0;
  std::vector<double> values;  // per seed, in seed order
  std::vector<uint64_t> seeds;
};
std::vector<Aggregate> AggregateRows(const std::vector<ResultRow>& rows);

// Writes DIR/report/index.html (self-contained: data, styles and charting libraries inline),
// DIR/results_wide.csv and DIR/report/summary.tex from DIR/results.csv and DIR/cells/*/run.json.
void BuildReport(const std::string& results_dir);

}  // namespace recfuse::reports
