#include "models/graph/graph_torch.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <string>
#include <vector>

#include "framework/error.h"

namespace recfuse::models::graph {
namespace {

using Row = Eigen::Map<Eigen::RowVectorXf>;
using ConstRow = Eigen::Map<const Eigen::RowVectorXf>;

// y = A x over CSR parts; rows of y in parallel (each row is summed by one thread in index
// order, so the result does not depend on the thread count).
torch::Tensor CsrTimes(const torch::Tensor& adj, const torch::Tensor& xin) {
  const torch::Tensor crow = adj.crow_indices(), col = adj.col_indices(), val = adj.values();
  const torch::Tensor x = xin.contiguous();
  const int64_t n = adj.size(0), d = x.size(1);
  torch::Tensor y = torch::zeros({n, d}, x.options());
  const int64_t* rp = crow.data_ptr<int64_t>();
  const int64_t* ci = col.data_ptr<int64_t>();
  const float* vv = val.data_ptr<float>();
  const float* xp = x.data_ptr<float>();
  float* yp = y.data_ptr<float>();
  at::parallel_for(0, n, 256, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      Row out(yp + i * d, d);
      for (int64_t k = rp[i]; k < rp[i + 1]; ++k) out.noalias() += vv[k] * ConstRow(xp + ci[k] * d, d);
    }
  });
  return y;
}

// y = A^T g: each fixed chunk of A's rows scatters into its own buffer; buffers are added in
// chunk order (deterministic for a given thread count).
torch::Tensor CsrTransposeTimes(const torch::Tensor& adj, const torch::Tensor& gin) {
  const torch::Tensor crow = adj.crow_indices(), col = adj.col_indices(), val = adj.values();
  const torch::Tensor g = gin.contiguous();
  const int64_t n = adj.size(0), m = adj.size(1), d = g.size(1);
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), n / 512 + 1));
  std::vector<torch::Tensor> parts(static_cast<size_t>(chunks));
  for (auto& p : parts) p = torch::zeros({m, d}, g.options());
  const int64_t* rp = crow.data_ptr<int64_t>();
  const int64_t* ci = col.data_ptr<int64_t>();
  const float* vv = val.data_ptr<float>();
  const float* gp = g.data_ptr<float>();
  at::parallel_for(0, chunks, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      float* yp = parts[static_cast<size_t>(c)].data_ptr<float>();
      for (int64_t i = n * c / chunks; i < n * (c + 1) / chunks; ++i) {
        const ConstRow gi(gp + i * d, d);
        for (int64_t k = rp[i]; k < rp[i + 1]; ++k) Row(yp + ci[k] * d, d).noalias() += vv[k] * gi;
      }
    }
  });
  torch::Tensor y = parts[0];
  for (size_t c = 1; c < parts.size(); ++c) y.add_(parts[c]);
  return y;
}

struct CsrMm : public torch::autograd::Function<CsrMm> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& adj, const torch::Tensor& x) {
    ctx->saved_data["adj"] = adj;
    return CsrTimes(adj, x);
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grad) {
    const torch::Tensor adj = ctx->saved_data["adj"].toTensor();
    return {torch::Tensor(), CsrTransposeTimes(adj, grad[0])};
  }
};

void CheckOperands(const torch::Tensor& adj, const torch::Tensor& x) {
  RF_CHECK(adj.dim() == 2 && x.dim() == 2, "sparse propagation: adjacency and embeddings must be 2-D");
  RF_CHECK(adj.size(1) == x.size(0), "sparse propagation: adjacency is " + std::to_string(adj.size(0)) + " x " +
                                         std::to_string(adj.size(1)) + " but embeddings have " +
                                         std::to_string(x.size(0)) + " rows");
  RF_CHECK(x.scalar_type() == torch::kFloat, "sparse propagation: embeddings must be float32");
}

}  // namespace

torch::Tensor ToTorchSparse(const SpMat& in) {
  SpMat a = in;
  a.makeCompressed();
  const int64_t nnz = a.nonZeros();
  torch::Tensor crow = torch::empty({a.rows() + 1}, torch::kLong);
  torch::Tensor col = torch::empty({nnz}, torch::kLong);
  torch::Tensor val = torch::empty({nnz}, torch::kFloat);
  std::copy(a.outerIndexPtr(), a.outerIndexPtr() + a.rows() + 1, crow.data_ptr<int64_t>());
  std::copy(a.innerIndexPtr(), a.innerIndexPtr() + nnz, col.data_ptr<int64_t>());
  std::copy(a.valuePtr(), a.valuePtr() + nnz, val.data_ptr<float>());
  return torch::sparse_csr_tensor(crow, col, val, {a.rows(), a.cols()}, torch::TensorOptions().dtype(torch::kFloat));
}

torch::Tensor ToTorchCoo(const SpMat& in) {
  SpMat a = in;
  a.makeCompressed();
  const int64_t nnz = a.nonZeros();
  torch::Tensor idx = torch::empty({2, nnz}, torch::kLong);
  torch::Tensor val = torch::empty({nnz}, torch::kFloat);
  int64_t* r = idx.data_ptr<int64_t>();
  int64_t* c = r + nnz;
  for (int64_t i = 0; i < a.rows(); ++i)
    for (int64_t k = a.outerIndexPtr()[i]; k < a.outerIndexPtr()[i + 1]; ++k) {
      r[k] = i;
      c[k] = a.innerIndexPtr()[k];
    }
  std::copy(a.valuePtr(), a.valuePtr() + nnz, val.data_ptr<float>());
  return torch::sparse_coo_tensor(idx, val, {a.rows(), a.cols()}).coalesce();
}

torch::Tensor SparseMm(const torch::Tensor& adj, const torch::Tensor& x) {
  CheckOperands(adj, x);
  if (adj.layout() == torch::kSparseCsr) return CsrMm::apply(adj, x);
  RF_CHECK(adj.layout() == torch::kSparse, "sparse propagation: adjacency must be a sparse CSR or COO tensor");
  return torch::mm(adj, x);
}

torch::Tensor LayerMean(const torch::Tensor& adj, const torch::Tensor& x0, int layers) {
  RF_CHECK(layers >= 0, "LayerMean: layers must be >= 0");
  torch::Tensor sum = x0, h = x0;
  for (int l = 0; l < layers; ++l) {
    h = SparseMm(adj, h);
    sum = sum + h;
  }
  return layers == 0 ? x0 : sum / static_cast<double>(layers + 1);
}

torch::Tensor Propagate(const torch::Tensor& adj, const torch::Tensor& x0, int layers) {
  RF_CHECK(layers >= 0, "Propagate: layers must be >= 0");
  torch::Tensor h = x0;
  for (int l = 0; l < layers; ++l) h = SparseMm(adj, h);
  return h;
}

}  // namespace recfuse::models::graph
