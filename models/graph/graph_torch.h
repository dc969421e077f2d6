// Sparse propagation over graph_torch tensors (torch side of models/graph/graph.h).
//
// ToTorchSparse returns a sparse CSR tensor; LayerMean and Propagate multiply it with dense
// embeddings through an Eigen-style CSR kernel wrapped in a torch::autograd::Function
// (forward: gather over each row's nonzeros, rows in parallel on torch's intra-op pool;
// backward: A^T grad by a scatter into per-chunk buffers summed in a fixed order, so it is
// exact for non-symmetric graphs too, e.g. kNN graphs, and deterministic for a given thread
// count). A COO tensor (ToTorchCoo) is also accepted and goes through torch::mm, which is
// what bench/torch_graph_bench.cc compares against.
//
// Measured (bench/torch_graph_bench.cc, BM_Spmm, 2026-12-02, 2-core machine shared with
// four other jobs, load ~4): one forward + backward of A x, A the ml-100k LightGCN adjacency
// (2,625 nodes, 161,616 nonzeros), x 2,625 x 64, one thread: this CSR kernel 3.6 ms CPU
// (8.2 ms wall), torch::mm on coalesced COO 6.9 ms CPU (17.1 ms wall). The CSR kernel is
// kept. (Two threads were slower on the loaded machine for both: 33 vs 30 ms CPU.)
#pragma once

#include <torch/torch.h>

#include "models/graph/graph.h"

namespace recfuse::models::graph {

// Sparse CSR float32 tensor (crow int64, col int64, values), the layout LayerMean prefers.
torch::Tensor ToTorchSparse(const SpMat& a);
// Coalesced COO float32 tensor (for torch::mm; the slower path, kept for comparison).
torch::Tensor ToTorchCoo(const SpMat& a);

// A x for a sparse (CSR or COO) A and dense x [n, d]; differentiable in x.
torch::Tensor SparseMm(const torch::Tensor& adj, const torch::Tensor& x);

// mean(x0, A x0, A^2 x0, ..., A^L x0): LightGCN's layer combination (He et al. 2020, eq. 8,
// alpha_k = 1/(L+1)); differentiable in x0. layers = 0 returns x0.
torch::Tensor LayerMean(const torch::Tensor& adj, const torch::Tensor& x0, int layers);

// A^L x0 (LATTICE/FREEDOM's item-graph propagation); differentiable in x0.
torch::Tensor Propagate(const torch::Tensor& adj, const torch::Tensor& x0, int layers);

}  // namespace recfuse::models::graph
