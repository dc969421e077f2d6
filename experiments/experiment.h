// Experiment files and the sweep runner behind `recfuse run`.
//
// An experiment file uses the INI syntax Boost.Program_options reads for config files
// (`key = value`, `[section]`, `#` comments), parsed by framework::Config::LoadFile:
//
//   name = default
//   datasets = synthetic            # each has a [dataset.NAME] section
//   models = pop, itemknn, bpr      # each may have a [model.LABEL] section (type = registry name)
//   splits = ratio:0.8,0.1,0.1
//   seeds = 0, 1
//   train_fractions = 1.0, 0.5      # sparsity levels (nested subsamples of the training split)
//   ks = 10, 20
//   [dataset.synthetic]
//   generate = true                 # write the synthetic world into OUT/data/synthetic
//   gen.users = 1000                # any `recfuse data generate` parameter
//   [dataset.ml100k]
//   path = ../shared/datasets/ml-100k   # relative paths resolve against the experiment file
//   data.rating_threshold = 4           # any loader option
//   [model.bpr]
//   dim = 64
//
// The grid is datasets x splits x train_fractions x seeds x models; each cell is one
// experiments::RunCell. Unknown keys anywhere are errors.
#pragma once

#include <string>
#include <vector>

#include "experiments/cell.h"
#include "framework/config.h"

namespace recfuse::experiments {

struct DatasetEntry {
  std::string name;
  std::string path;        // folder/file to load; for generated data, OUT/data/NAME
  bool generate = false;   // synthetic world generated on first use
  framework::Config generator;  // gen.* keys
  framework::Config loader;     // data.* keys
};

struct ModelSpecEntry {
  std::string label;  // name in results (e.g. "bpr-d32")
  std::string type;   // registry name
  framework::Config params;
};

struct Experiment {
  std::string name;
  std::string description;
  std::string file;  // where it was read from
  std::vector<DatasetEntry> datasets;
  std::vector<ModelSpecEntry> models;
  std::vector<std::string> splits;
  std::vector<uint64_t> seeds;
  std::vector<double> train_fractions;
  eval::EvalOptions eval;
  int threads = 2;
  std::string baseline;  // model label significance is tested against
  framework::Config raw;  // everything, as read and overridden
};

// Reads and validates an experiment file; `overrides` (key=value, same key syntax, e.g.
// "seeds=0" or "model.bpr.dim=32") apply on top.
Experiment LoadExperiment(const std::string& path, const std::vector<std::string>& overrides = {});

struct GridCell {
  size_t dataset_index = 0;
  std::string model_label;
  CellSpec spec;
};

// Expands the grid in a fixed order: dataset, split, train fraction, seed, model.
std::vector<GridCell> ExpandGrid(const Experiment& exp);

struct RunOptions {
  std::string out_dir;
  std::string cache_dir;  // split cache; default DefaultCacheDir()
  int shard_index = 0;    // run cells with index % shard_count == shard_index
  int shard_count = 1;
};

// Runs every cell not already finished (a finished cell has OUT/cells/<key>/run.json with
// the same key), then writes OUT/results.csv (atomically). The report is the caller's
// (reports/ sits above experiments/).
// Returns the number of cells run now (finished ones are skipped).
int RunExperiment(const Experiment& exp, const RunOptions& options);

// Stable key of a cell: config + data hash + code version. A finished cell with this key is
// skipped on resume.
std::string CellKey(const CellSpec& spec, uint64_t data_hash);

// Collects every finished cell's metrics under out_dir into results.csv (long format).
void WriteResultsCsv(const std::string& out_dir);

}  // namespace recfuse::experiments
