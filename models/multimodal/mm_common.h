// What the MMRec-family models of recfuse (LATTICE, BM3, MGCN, LGMRec) share, written once:
// their content switches and frozen modalities, item-item modality graphs whose neighbours
// are warm items, edge-list propagation (differentiable in the edge values, for LATTICE's
// learned graphs), the user-item adjacencies of the reference code, LightGCN layer means,
// and the cold-item imputation.
//
// Cold start. The reference implementations (MMRec, github.com/enoche/MMRec) rank items
// with no training interaction by untrained ID embeddings, or fail on them. Here:
//  - an item's ID embedding enters every computation multiplied by its warm mask (an item
//    never seen in training has no ID vector);
//  - every item-item modality graph draws neighbours from the warm items only (a cold item
//    is nobody's neighbour, so training on warm items never reads a cold one, and a cold item
//    at inference aggregates trained neighbours);
//  - the behaviour-driven parts of a cold item's vector (its LightGCN embedding, which is
//    empty without edges) are imputed as the centroid of those parts over its content
//    neighbours (ImputeCold): the content graph carries the item to where its look-alikes
//    are. The content-driven parts (modality projections, item-graph convolutions) are the
//    model's own. In training, warm items' behaviour parts are replaced by their imputation
//    at random (IdDropout), so the users learn to rank imputed items at all.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "framework/config.h"
#include "models/neural/neural_base.h"
#include "models/recommender.h"

namespace recfuse::models::neural::mm {

// use_image, use_text, image_features, text_features (the content models' defaults).
std::vector<framework::ParamSpec> ContentParams();

// id_dropout, the family's DropoutNet-style cold-start knob; `what` names the vector that is
// replaced (e.g. "backbone embedding"). Each model's default, and how it was chosen on
// validation, is in its file (experiments/tune_content.conf searched it).
framework::ParamSpec IdDropoutParam(const std::string& what, const std::string& default_value);

// The family's training settings (MMRec's, with a budget); models change what differs.
TrainDefaults FamilyTrainDefaults();

struct ContentOptions {
  bool use_image = true, use_text = true;
  std::string image_spec, text_spec;
};
ContentOptions ReadContentOptions(const framework::Config& c, const std::vector<framework::ParamSpec>& specs);

struct Modality {
  std::string name;              // "image" | "text"
  ModalityTable table;           // standardised values, zero rows for absent items
  RowMatrixXf values;            // the same as Eigen, for kNN
  std::vector<uint8_t> present;  // per item
};

// Loads every switched-on modality; `record` (NeuralRecommender::RecordModality) is called for
// each. A modality the dataset lacks entirely (available == false) is recorded and skipped,
// as if its use_<m> were false.
std::vector<Modality> LoadContent(const TrainData& td, const FitContext& ctx, const ContentOptions& o,
                                  const std::string& model,
                                  const std::function<void(const std::string&, const ModalityTable&)>& record);

// 1 for items with a training interaction.
std::vector<uint8_t> WarmItems(const TrainData& td);

// A sparse n x n matrix as an edge list; Apply(x) = A x by index_add, differentiable in both
// vals and x (torch's sparse mm is not differentiable in the sparse values).
struct EdgeList {
  torch::Tensor rows, cols, vals;  // int64 [E], int64 [E], float32 [E]
  int64_t n = 0;
  torch::Tensor Apply(const torch::Tensor& x) const;
  int64_t edges() const { return rows.defined() ? rows.size(0) : 0; }
};
EdgeList FromSparse(const SpMat& a);
// sum_k weight_k A_k (same n); duplicate edges add up in Apply.
EdgeList Sum(const std::vector<EdgeList>& parts, const std::vector<torch::Tensor>& weights);
// D^-1/2 A D^-1/2 with D the row sums (compute_normalized_laplacian of the reference);
// differentiable in vals. Rows summing to zero stay zero.
EdgeList SymNormalized(const EdgeList& a);
// D^-1 A.
EdgeList RowNormalized(const EdgeList& a);

// The frozen modality graph of MMRec's LATTICE/MGCN (build_sim, top-k, weighted by the cosine,
// symmetric normalisation) over one modality's raw features, with warm neighbours only.
EdgeList ModalityGraph(const Modality& m, const std::vector<uint8_t>& warm, int k);

// D^-1/2 [[0, R], [R^T, 0]] D^-1/2 (LightGCN; BM3, MGCN, LGMRec), as graph::ToTorchSparse.
torch::Tensor SymBipartite(const SpMat& r);
// D^-1 ([[0, R], [R^T, 0]] + I) (LATTICE's get_adj_mat: row-normalised, with self-loops).
torch::Tensor RowBipartiteWithSelfLoops(const SpMat& r);
// The users x items block of SymBipartite as an edge list (n = users, columns = items):
// MGCN's R, which carries item-side modality embeddings to the users.
EdgeList UserItemBlock(const SpMat& r);
// mean(x, A x, ..., A^L x) (LightGCN, He et al. 2020, eq. 8): graph::LayerMean.
torch::Tensor LayerMean(const torch::Tensor& adj, const torch::Tensor& x0, int layers);

// The content neighbourhood of every item: for each item with content, the mean over its
// modalities of its row-normalised top-k raw-feature neighbours among the warm items.
EdgeList ContentNeighbourGraph(const std::vector<Modality>& mods, const std::vector<uint8_t>& warm, int k);
// Each row of x as the centroid of its neighbours' rows in g, with their mean length.
torch::Tensor Impute(const torch::Tensor& x, const EdgeList& g);
// x with cold items' rows (warm == 0) imputed from their warm neighbours.
torch::Tensor ImputeCold(const torch::Tensor& x, const EdgeList& g, const torch::Tensor& warm);
// Training: ImputeCold, and each warm row is replaced by its imputation with probability p
// (DropoutNet, Volkovs et al. 2017), so that the users learn to rank imputed items among
// ID-trained ones, as they must for cold items at inference.
torch::Tensor IdDropout(const torch::Tensor& x, const EdgeList& g, const torch::Tensor& warm, double p);

// 1 - mean cosine of matching rows (BM3's alignment terms).
torch::Tensor CosineGap(const torch::Tensor& a, const torch::Tensor& b);
// InfoNCE of matching rows of two views against every row of `all2` (MGCN: all2 = view2;
// LGMRec's ssl_triple_loss: all2 = every row of the second view), temperature tau.
// Returns the per-row losses (callers take the mean or the sum as their reference does).
torch::Tensor InfoNce(const torch::Tensor& view1, const torch::Tensor& view2, const torch::Tensor& all2, double tau);

}  // namespace recfuse::models::neural::mm
