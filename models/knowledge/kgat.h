// The two computations at the heart of KGAT (knowledge/kgat.cc), exposed so that tests can
// check them against hand computations on tiny graphs. Torch, CPU, float32.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace recfuse::models::neural::kgat {

// A directed multigraph over nodes 0..num_nodes-1 (the collaborative knowledge graph: users
// and entities), one entry per edge (head -> tail with relation), sorted by (head, tail,
// relation) and without duplicates.
struct Edges {
  int64_t num_nodes = 0;
  int64_t num_relations = 0;
  std::vector<int64_t> head, tail, relation;
};

// Knowledge-aware attention (Wang et al. 2019, eqs. 4-5):
//   pi(h, r, t) = (W_r e_t)^T tanh(W_r e_h + e_r),
// then a softmax over each head's outgoing edges (all relations together). ego [num_nodes, d]
// are the layer-0 node vectors, relation [num_relations, k] the e_r, transfer
// [num_relations, d, k] the W_r (applied as the row vector e W_r). Returns the weights per
// edge [edges] (float32, no autograd): >= 0, summing to 1 over each head's edges.
torch::Tensor AttentionWeights(const Edges& edges, const torch::Tensor& ego, const torch::Tensor& relation,
                               const torch::Tensor& transfer);

// The edges with `weights` as a num_nodes x cols sparse CSR tensor A (A[h, t] = weight,
// summed over the relations that link h to t; cols < 0: num_nodes), for graph::SparseMm.
torch::Tensor ToCsr(const Edges& edges, const torch::Tensor& weights, int64_t cols = -1);

// Bi-Interaction of node vectors e [n, d] with their neighbourhood messages e_N [n, d]:
//   LeakyReLU(W1 (e + e_N)) + LeakyReLU(W2 (e (.) e_N)).
torch::Tensor Aggregate(const torch::Tensor& self, const torch::Tensor& side, torch::nn::Linear& w1,
                        torch::nn::Linear& w2, double slope = 0.01);

// One Bi-Interaction aggregation (eq. 8) without message dropout, differentiable in ego and
// the two Linears:
//   e_N = A e,   e' = LeakyReLU(W1 (e + e_N)) + LeakyReLU(W2 (e (.) e_N))
// with LeakyReLU's negative slope `slope` (torch's and RecBole's 0.01).
torch::Tensor BiInteraction(const torch::Tensor& adj, const torch::Tensor& ego, torch::nn::Linear& w1,
                            torch::nn::Linear& w2, double slope = 0.01);

}  // namespace recfuse::models::neural::kgat
