// Graph utilities shared by the graph recommenders (LightGCN, FREEDOM, LATTICE, BM3, MGCN,
// LGMRec): the normalised user-item adjacency, sparse top-k item-item kNN graphs over frozen
// content, the usual normalisations and FREEDOM's degree-sensitive edge pruning. Eigen only
// (no torch): graph_torch.h turns these matrices into tensors and propagates over them.
//
// Everything is sparse: no function here ever materialises a dense users x items or
// items x items matrix (LATTICE's reference code does, and runs out of memory at 63k items).
#pragma once

#include <cstdint>
#include <vector>

#include "framework/rng.h"
#include "models/recommender.h"

namespace recfuse::models::graph {

using models::RowMatrixXf;
using models::SpMat;

// r: users x items (one nonzero per distinct training pair; values are used as edge
// weights, 1 in TrainData::matrix). Returns the (U+I) x (U+I) LightGCN adjacency
//   A~ = D^-1/2 [[0, R], [R^T, 0]] D^-1/2          (He et al. 2020, eq. 7)
// with D the node degrees (row sums of the block matrix). Users are nodes 0..U-1, items
// U..U+I-1; zero-degree nodes (cold users and items) have no entries. Rows sorted, compressed.
SpMat NormalizedBipartite(const SpMat& r);

// For each row i of x with present[i] (all rows when present is null), its k most
// cosine-similar other present rows: self excluded, ties broken by the lower index, so the
// result is deterministic and independent of `threads`. Value = the cosine when `weighted`,
// else 1. Rows not present are empty and nobody's neighbour; a present row of zeros has
// cosine 0 with everyone (it still gets k neighbours, the lowest indices). Computed in
// blocks of rows (block x present similarities at a time), never items x items.
SpMat KnnGraph(const RowMatrixXf& x, int k, const std::vector<uint8_t>* present = nullptr,
               bool weighted = false, int threads = 1);

// The same with separate masks: rows with rows_mask[i] get their k most cosine-similar rows
// among those with candidates[j] (self excluded); other rows are empty. Cold-start graphs
// use it so that a cold item's neighbours are warm items (the only ones users have
// interacted with, hence the only ones that can carry it a signal).
SpMat KnnGraph(const RowMatrixXf& x, int k, const std::vector<uint8_t>& rows_mask,
               const std::vector<uint8_t>& candidates, bool weighted = false, int threads = 1);

// D^-1/2 A D^-1/2 with D the row sums of A (zero rows, and columns whose row is zero, get 0).
SpMat SymNormalize(const SpMat& a);
// D^-1 A with D the row sums (zero rows stay zero).
SpMat RowNormalize(const SpMat& a);
// max(A, A^T) elementwise (entries absent on one side count as 0). A must be square.
SpMat Symmetrize(const SpMat& a);

// FREEDOM's degree-sensitive edge pruning (Zhou & Shen, MM 2023, sec. 3.2; reference
// MMRec src/models/freedom.py, pre_epoch_processing): from the user-item pairs of r keep
// round(nnz * (1 - dropout)) edges sampled without replacement with probability
// proportional to 1 / sqrt(d_u d_i) (the edge's value in the normalised adjacency), so edges
// between high-degree nodes are pruned first. Returns the kept pairs as a users x items
// matrix with r's values; normalise it with NormalizedBipartite (the reference
// renormalises the kept edges). Sampling by Efraimidis-Spirakis keys, driven by rng only.
SpMat DegreeSensitivePrune(const SpMat& r, double dropout, framework::Rng& rng);

// Items with at least one nonzero in r's column (users x items): the warm items.
std::vector<uint8_t> ColumnPresent(const SpMat& r);

}  // namespace recfuse::models::graph
