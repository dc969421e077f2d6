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
//   ablations = none, -image, -text # modality ablations (see below)
//   ablation_splits = cold-item:0.2  # optional: ablated variants on these splits only
//   ablation_fractions = 1.0         # optional: ... and at these train fractions only
//   [dataset.synthetic]
//   generate = true                 # write the synthetic world into OUT/data/synthetic
//   gen.users = 1000                # any `recfuse data generate` parameter
//   [dataset.ml100k]
//   path = ../shared/datasets/ml-100k   # relative paths resolve against the experiment file
//   data.rating_threshold = 4           # any loader option
//   [model.bpr]
//   dim = 64
//   splits = loo                    # optional: only these of the experiment's splits
//   train_fractions = 1.0           # optional: only these of the experiment's fractions
//   ablations = none                # optional: only these of the experiment's ablations
//   headline = recall@20, ndcg@20   # (top level) the metrics a report leads with
//
//   image_features = image:handcrafted; image:mobilenet_v2   # feature axes (see below)
//
// The grid is datasets x splits x train_fractions x seeds x models x ablations; each cell is
// one experiments::RunCell. Unknown keys anywhere are errors. A model section's `splits` /
// `train_fractions` / `ablations` restrict that model to a subset of the experiment's lists (a value not
// in the experiment's list is a ConfigError naming the line), e.g. a sequential model on
// `loo` only, or an expensive one at the full training set only.
//
// Feature axes (`image_features`, `text_features`, `kg_features`, ';'-separated specs) are
// expanded when the file is read: each model whose ParamSpecs declare that parameter and
// whose section does not set it becomes one model entry per spec, labelled LABEL@tag (tags
// of several axes joined by '+', e.g. mmfusion@mobilenet_v2+glove-100-description); with one
// spec the value is set and labels stay. A `baseline` must then name a variant.
//
// Ablations follow one fixed convention: a model that can drop modality X declares a boolean
// hyperparameter `use_X` (X in id, text, image, kg, history). Ablation `-X` adds, for each
// model whose ParamSpecs contain `use_X`, a cell with use_X=false; models without it get no
// such cell (an ablation that does not apply is not an error: a sweep mixes classic and
// multimodal models). `none` is the full model and is always run.
//
// Tuning (`tune = grid | random:N | halving[:N]`, `search.<param> = ...` in model sections,
// experiments/tuning.h): before a tuned model's cells run, selection trials train it on the
// training split and score it on validation (valid_metric) for each candidate; the best
// candidate per (dataset, split, model), and per train fraction and ablation when
// `tune_variants = tune`, is then trained and tested for every seed. By default
// (`tune_variants = inherit`) ablations and sparsity levels reuse the configuration chosen
// for the full model on the largest train fraction. Trials are work items like cells:
// sharded, resumable, stored under OUT/trials/; between halving rounds (and before the final
// cells) every shard waits until all shards' trials of the round are in OUT (shared folder).
#pragma once

#include <string>
#include <vector>

#include "experiments/cell.h"
#include "experiments/tuning.h"
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
  std::vector<SearchDim> search;  // search.* keys of the model's section; empty = not tuned
  // The strategy this model's search uses: the section's own `tune = ...` (e.g. grid for a
  // model that overfits with its budget inside a halving study), else the experiment's.
  TuneStrategy tune;
  // The section's `splits` / `train_fractions`: the grid cells this model gets, each a
  // member of the experiment's list (splits as written there); empty = all of them.
  std::vector<std::string> splits;
  std::vector<double> train_fractions;
  // The section's `ablations` (e.g. `none` for a baseline that declares use_X switches but
  // is not the study's subject): a subset of the experiment's; empty = all of them.
  std::vector<std::string> ablations;
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
  std::string valid_metric = "ndcg@10";
  // `headline`: the metric@K labels a report leads with (lower-case, e.g. "recall@20"), each
  // a metric the cells compute with K in `ks`; default recall@20 and ndcg@20 when 20 is in
  // ks, else ndcg@<first K>. Written into experiment.json as "headline".
  std::vector<std::string> headline;
  std::vector<std::string> ablations = {"none"};  // "none" first, then "-X" entries
  // `ablation_splits` / `ablation_fractions`: where the ablated variants (not "none") run, a
  // subset of splits / train_fractions; empty = everywhere. E.g. ablate on the cold-item split
  // at the full training set only, beside a sparsity curve of the full models.
  std::vector<std::string> ablation_splits;
  std::vector<double> ablation_fractions;
  // Hyperparameter search (experiments/tuning.h, docs/tuning.md).
  TuneStrategy tune;
  std::vector<uint64_t> tune_seeds;  // seeds of a trial; default: the first of `seeds`
  uint64_t tune_sampling_seed = 0;   // stream of random:N / halving:N draws
  bool tune_variants = false;        // true: ablations and sparsity levels are tuned themselves
  int halving_eta = 3;
  std::string halving_resource;      // budget parameter; "" = epochs, else iterations, if declared
  framework::Config raw;  // everything, as read and overridden
};

// Reads and validates an experiment file; `overrides` (key=value, same key syntax, e.g.
// "seeds=0" or "model.bpr.dim=32") apply on top.
Experiment LoadExperiment(const std::string& path, const std::vector<std::string>& overrides = {});

// Modalities an ablation may remove; `use_<name>` is the model hyperparameter.
const std::vector<std::string>& AblatableModalities();

// Whether ablation ("none" or "-X") yields a cell for a model with these ParamSpecs and
// configured hyperparameters: "none" always; "-X" iff the specs declare use_X and the
// configuration does not already set use_X=false (that cell would repeat the full one).
bool AblationApplies(const std::vector<framework::ParamSpec>& specs, const framework::Config& model_params,
                     const std::string& ablation);

struct GridCell {
  size_t dataset_index = 0;
  std::string model_label;
  std::string ablation = "none";  // "none" or "-X" (then spec.model_params has use_X=false)
  CellSpec spec;
};

// Expands the grid in a fixed order: dataset, split, train fraction, seed, model, ablation
// (ablations that do not apply to a model are skipped, as are the splits and fractions a
// model's section leaves out). The order is the cell index that
// sharding and results.csv use.
std::vector<GridCell> ExpandGrid(const Experiment& exp);

// Shard index/count from the MPI launcher's environment, for runs under mpirun without
// --shard: OMPI_COMM_WORLD_RANK/SIZE (OpenMPI), PMI_RANK/PMI_SIZE (MPICH, Intel MPI, Slurm
// PMI), PMIX_RANK (PMIx launchers; size from the others). `getenv` is injectable for tests.
// Returns false when no launcher variables are set; throws ConfigError when they are
// inconsistent (rank without size, rank >= size, not a number).
bool ShardFromEnvironment(int* index, int* count, const char* (*getenv)(const char*) = nullptr);

struct RunOptions {
  std::string out_dir;
  // How long a shard waits at a tuning barrier for the other shards' trials (they share
  // out_dir) before giving up, naming the missing trials.
  double barrier_timeout_seconds = 7 * 24 * 3600.0;
  std::string cache_dir;  // split cache; default DefaultCacheDir()
  int shard_index = 0;    // run cells with index % shard_count == shard_index
  int shard_count = 1;
};

struct RunStats {
  int trials_ran = 0;     // selection trials run now
  int trials_skipped = 0; // finished trials found (resume)
  int trials_total = 0;   // trials of this shard
  int ran = 0;            // cells run now
  int skipped = 0;        // finished cells found and skipped (resume)
  int total = 0;          // cells of this shard
  double seconds = 0;
  // Highest resident set size of the process over the whole sweep (max of each cell's own
  // peak and of the phases between cells), in bytes; also in experiment.json.
  int64_t peak_rss_bytes = 0;
};

// Runs every cell not already finished (a finished cell has OUT/cells/<key>/run.json with
// the same key), then writes OUT/results.csv (atomically). The report is the caller's
// (reports/ sits above experiments/). Sharded runs (shard_count > 1) write
// OUT/experiment.shard<i>.json instead of experiment.json; several shards may share OUT.
// Returns the number of cells run now (finished ones are skipped).
int RunExperiment(const Experiment& exp, const RunOptions& options, RunStats* stats = nullptr);

// Combines shard outputs into out_dir: cell folders of each shard_dir are copied into
// out_dir/cells (shard_dirs may be empty or equal out_dir when every shard wrote into
// out_dir), the shard manifests become one out_dir/experiment.json in grid order, and
// results.csv is rewritten: byte-identical to an unsharded run of the same experiment.
// Throws ConfigError when the shards come from different experiments/configurations or a
// shard covered by the manifests is missing or unfinished (naming the cells).
// Returns the number of cells merged.
int MergeShards(const std::string& out_dir, const std::vector<std::string>& shard_dirs);

// Writes OUT/tuning.json from the selection trials and tuned cells the manifests list: per
// tuning group (dataset, split, fraction, model[, ablation]) the strategy, the search space,
// every trial (round, budget, params, seed, score, seconds), the mean score of every
// candidate per round and the chosen configuration. No file when nothing was tuned.
void WriteTuningJson(const std::string& out_dir);

// Stable key of a cell: config + data hash + code version. A finished cell with this key is
// skipped on resume.
std::string CellKey(const CellSpec& spec, uint64_t data_hash);

// Collects every finished cell's metrics under out_dir into results.csv (long format):
// experiment,dataset,split,train_fraction,seed,model,ablation,metric,k,value,features,role,params
// with selection trials first (role "trial": validation metrics; params = the candidate's
// search values and budget), then the grid's cells in grid order (role "test"; params = the
// configuration chosen on validation, empty for untuned models).
void WriteResultsCsv(const std::string& out_dir);

}  // namespace recfuse::experiments
