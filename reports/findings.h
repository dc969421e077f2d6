// The report's "Findings" paragraph, generated from the numbers of its own tables: per
// summary table the best model and whether its lead is significant, how each model stands
// against the baseline, and per ablated model which modality matters most. Every sentence
// names the cells it rests on (`refs`, the ids of table cells in the page), so a reader can
// trace it. Pure functions of their inputs, so they are tested on hand-made tables.
#pragma once

#include <cmath>
#include <map>
#include <string>
#include <vector>

namespace recfuse::reports {

// One summary table at its headline metric.
struct FindingsBlock {
  std::string title;   // "synthetic · cold-item:0.2 · train fraction 1"
  std::string metric;  // "recall@20"
  bool higher_is_better = true;
  struct Entry {
    std::string model;
    double mean = 0;
    std::string cell_id;     // the table cell this value is shown in
    bool reference = false;  // random / oracle: a yardstick, never "the best model"
  };
  std::vector<Entry> entries;
  std::string baseline;  // "" = none in this table
  // Holm-adjusted p of each model's paired t-test against the baseline (this table's family
  // of comparisons); a model missing here was not tested.
  std::map<std::string, double> p_vs_baseline;
  // Holm-adjusted (over the tables) p of the best vs the runner-up; NaN = not tested.
  double p_best_vs_second = std::nan("");
};

// One ablated model in one table: the full model and each variant without a modality.
struct FindingsAblation {
  std::string title;
  std::string metric;
  bool higher_is_better = true;
  std::string model;
  double full = 0;
  std::string full_cell_id;
  struct Variant {
    std::string ablation;  // "-image"
    double mean = 0;
    bool has_ci = false;   // paired bootstrap CI of (variant - full) over users
    double ci_lo = 0, ci_hi = 0;
    std::string cell_id;
  };
  std::vector<Variant> variants;
};

struct Finding {
  std::string text;
  std::vector<std::string> refs;
};

// alpha: level of the (already Holm-adjusted) p-values.
std::vector<Finding> GenerateFindings(const std::vector<FindingsBlock>& blocks,
                                      const std::vector<FindingsAblation>& ablations, double alpha = 0.05);

// "p = 0.0312", "p < 0.001".
std::string FormatP(double p);

}  // namespace recfuse::reports
