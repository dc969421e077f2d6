// Translational knowledge-graph embeddings over Dataset::kg (entity / relation id spaces of
// the dataset): TransE (Bordes et al. 2013) and TransR (Lin et al. 2015), a seeded trainer,
// and filtered link-prediction evaluation.
//
// Both modules expose Loss(h, r, t, h', t') on id tensors so a bigger model (e.g. CKE) can
// own one as a submodule and add its loss to its own objective. Modules are not thread-safe.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "datasets/dataset.h"
#include "framework/rng.h"

namespace recfuse::encoders {

// ||h + r - t||_p.
struct TransEOptions {
  TransEOptions(int64_t num_entities, int64_t num_relations, int64_t dim)
      : num_entities_(num_entities), num_relations_(num_relations), dim_(dim) {}
  TORCH_ARG(int64_t, num_entities);
  TORCH_ARG(int64_t, num_relations);
  TORCH_ARG(int64_t, dim);
  TORCH_ARG(int64_t, p) = 1;  // 1 (L1) or 2 (L2) distance
  TORCH_ARG(double, margin) = 1.0;
};

struct TransEImpl : torch::nn::Module {
  explicit TransEImpl(const TransEOptions& options);
  // Distances [B] of triples given as id tensors [B] (int64). Lower = more plausible.
  torch::Tensor forward(const torch::Tensor& h, const torch::Tensor& r, const torch::Tensor& t);
  // Margin ranking loss mean(relu(margin + d(h,r,t) - d(h',r,t'))). h, r, t are [B];
  // h_neg, t_neg are [B * k] (k negatives per positive, positive b's negatives at rows
  // b*k .. b*k+k-1), sharing r.
  torch::Tensor Loss(const torch::Tensor& h, const torch::Tensor& r, const torch::Tensor& t,
                     const torch::Tensor& h_neg, const torch::Tensor& t_neg);
  // Distances [B, num_entities] of (h, r, e) for every tail e / of (e, r, t) for every head e.
  torch::Tensor AllTails(const torch::Tensor& h, const torch::Tensor& r);
  torch::Tensor AllHeads(const torch::Tensor& r, const torch::Tensor& t);
  // Projects entity vectors back onto the unit sphere (Bordes et al.'s constraint; call
  // after every optimiser step). No autograd.
  void NormalizeEntities();

  TransEOptions options;
  torch::nn::Embedding entity{nullptr}, relation{nullptr};
};
TORCH_MODULE(TransE);

// ||h M_r + r - t M_r||_p, entities in R^dim, relations in R^relation_dim, M_r a
// dim x relation_dim matrix per relation.
struct TransROptions {
  TransROptions(int64_t num_entities, int64_t num_relations, int64_t dim)
      : num_entities_(num_entities), num_relations_(num_relations), dim_(dim), relation_dim_(dim) {}
  TORCH_ARG(int64_t, num_entities);
  TORCH_ARG(int64_t, num_relations);
  TORCH_ARG(int64_t, dim);
  TORCH_ARG(int64_t, relation_dim);
  TORCH_ARG(int64_t, p) = 1;
  TORCH_ARG(double, margin) = 1.0;
};

struct TransRImpl : torch::nn::Module {
  explicit TransRImpl(const TransROptions& options);
  torch::Tensor forward(const torch::Tensor& h, const torch::Tensor& r, const torch::Tensor& t);
  torch::Tensor Loss(const torch::Tensor& h, const torch::Tensor& r, const torch::Tensor& t,
                     const torch::Tensor& h_neg, const torch::Tensor& t_neg);
  torch::Tensor AllTails(const torch::Tensor& h, const torch::Tensor& r);
  torch::Tensor AllHeads(const torch::Tensor& r, const torch::Tensor& t);
  // Entity and relation vectors renormalised to norm <= 1 (Lin et al.'s constraints). No autograd.
  void NormalizeEntities();
  // Lin et al.'s initialisation: entity / relation vectors from a trained TransE of the same
  // sizes (dim == relation_dim), projections set to the identity.
  void InitFromTransE(TransEImpl& transe);

  TransROptions options;
  torch::nn::Embedding entity{nullptr}, relation{nullptr};
  torch::Tensor projection;  // [num_relations, dim, relation_dim]
};
TORCH_MODULE(TransR);

// Corrupted triples: for each positive and each of k negatives, the head or the tail (coin
// flip) is replaced by an entity drawn uniformly from the OTHER num_entities - 1 entities,
// so a negative never equals its positive. Output rows as in Loss(): b*k .. b*k+k-1.
struct Corruptions {
  std::vector<int64_t> heads, tails;
};
Corruptions CorruptTriples(std::span<const datasets::Triple> positives, int64_t num_entities,
                           int negatives, framework::Rng& rng);

struct KgTrainOptions {
  std::string method = "transe";  // transe | transr
  int dim = 32;
  int epochs = 100;
  double lr = 0.01;  // Adam
  double margin = 1.0;
  int p = 1;  // L1 or L2 distance
  int batch_size = 256;
  int negatives = 1;  // corrupted triples per positive
  // transr only: epochs of TransE first, whose vectors initialise TransR (Lin et al.); 0 = random init.
  int transe_pretrain_epochs = 0;
  uint64_t seed = 0;
  int threads = 1;
  // Indices into data.kg to train on (e.g. all but held-out triples); null = all triples.
  const std::vector<int64_t>* train_triples = nullptr;
};

struct KgTrainResult {
  std::string method;
  TransE transe{nullptr};  // set when method == transe
  TransR transr{nullptr};  // set when method == transr
  torch::Tensor entities;  // [num_entities, dim] float, detached copy
  std::vector<double> epoch_loss;  // mean loss per epoch
  double seconds = 0;
};

// Trains on data.kg with torch::manual_seed(seed), framework::Rng batches/negatives and
// torch::set_num_threads(threads): same options -> same result. Throws ConfigError for bad
// options, MissingModalityError when data.kg (or the selected triples) is empty.
KgTrainResult TrainKgEmbedding(const datasets::Dataset& data, const KgTrainOptions& options);

// Link prediction on `test` triples in the filtered setting: for each test triple, both the
// tail and the head are ranked against all entities; candidates forming a triple in `known`
// (train + valid + test) other than the test triple itself are skipped. Rank = 1 + number of
// remaining candidates strictly closer than the true entity. Metrics average both directions.
struct LinkPredictionMetrics {
  double mrr = 0;
  std::vector<int> ks;
  std::vector<double> hits;  // hits[i] = share of ranks <= ks[i]
  int64_t queries = 0;
};
LinkPredictionMetrics EvaluateLinkPrediction(const KgTrainResult& model,
                                             std::span<const datasets::Triple> test,
                                             std::span<const datasets::Triple> known,
                                             const std::vector<int>& ks = {1, 3, 10});
double FilteredMrr(const KgTrainResult& model, std::span<const datasets::Triple> test,
                   std::span<const datasets::Triple> known);

}  // namespace recfuse::encoders
