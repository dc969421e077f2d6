#include "encoders/text_tfidf.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>

#include "encoders/item_text.h"
#include "framework/error.h"
#include "framework/parallel.h"
#include "framework/rng.h"

namespace recfuse::encoders {
namespace {

bool IsWordByte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

template <typename Fn>
void ForEachWord(std::string_view text, Fn&& fn) {
  std::string word;
  for (size_t i = 0; i < text.size();) {
    if (!IsWordByte(static_cast<unsigned char>(text[i]))) {
      ++i;
      continue;
    }
    word.clear();
    while (i < text.size() && IsWordByte(static_cast<unsigned char>(text[i]))) {
      char c = text[i++];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      word += c;
    }
    fn(word);
  }
}

// y = a * x, row-parallel (each output row is written by one thread: thread-count invariant).
Eigen::MatrixXd Multiply(const SparseRowMatrix& a, const Eigen::MatrixXd& x, int threads) {
  Eigen::MatrixXd y = Eigen::MatrixXd::Zero(a.rows(), x.cols());
  // Row-major copy of x so each nonzero adds one contiguous row.
  const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> xr = x;
  Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> yr(a.rows(), x.cols());
  yr.setZero();
  framework::ParallelChunks(0, a.rows(), 256, threads, [&](int64_t lo, int64_t hi, int) {
    for (int64_t r = lo; r < hi; ++r)
      for (SparseRowMatrix::InnerIterator it(a, r); it; ++it) yr.row(r) += it.value() * xr.row(it.col());
  });
  y = yr;
  return y;
}

Eigen::MatrixXd Orthonormalize(const Eigen::MatrixXd& y) {
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(y);
  return qr.householderQ() * Eigen::MatrixXd::Identity(y.rows(), y.cols());
}

}  // namespace

std::vector<std::string> WordTokens(std::string_view text) {
  std::vector<std::string> out;
  ForEachWord(text, [&](const std::string& w) { out.push_back(w); });
  return out;
}

TfidfVocabulary FitTfidf(const std::vector<std::string>& docs, int64_t min_df) {
  std::unordered_map<std::string, int64_t> df;
  std::unordered_map<std::string, int64_t> seen_in;  // word -> last doc index counted
  TfidfVocabulary v;
  for (size_t d = 0; d < docs.size(); ++d) {
    bool any = false;
    ForEachWord(docs[d], [&](const std::string& w) {
      any = true;
      auto [it, inserted] = seen_in.try_emplace(w, static_cast<int64_t>(d));
      if (inserted || it->second != static_cast<int64_t>(d)) {
        it->second = static_cast<int64_t>(d);
        ++df[w];
      }
    });
    v.documents += any;
  }
  std::vector<std::pair<std::string, int64_t>> terms;
  terms.reserve(df.size());
  for (auto& [w, n] : df)
    if (n >= min_df) terms.emplace_back(w, n);
  std::sort(terms.begin(), terms.end(),
            [](const auto& a, const auto& b) { return a.second != b.second ? a.second > b.second : a.first < b.first; });
  v.terms.reserve(terms.size());
  v.idf.reserve(terms.size());
  v.index.reserve(terms.size());
  const double n = static_cast<double>(v.documents);
  for (auto& [w, count] : terms) {
    v.index.emplace(w, static_cast<int32_t>(v.terms.size()));
    v.idf.push_back(std::log((1.0 + n) / (1.0 + static_cast<double>(count))) + 1.0);
    v.terms.push_back(w);
  }
  return v;
}

SparseRowMatrix TfidfMatrix(const TfidfVocabulary& vocab, const std::vector<std::string>& docs, int threads) {
  const int64_t n = static_cast<int64_t>(docs.size());
  std::vector<std::vector<std::pair<int32_t, double>>> rows(docs.size());
  framework::ParallelChunks(0, n, 256, threads, [&](int64_t lo, int64_t hi, int) {
    std::vector<int32_t> ids;
    for (int64_t d = lo; d < hi; ++d) {
      ids.clear();
      ForEachWord(docs[static_cast<size_t>(d)], [&](const std::string& w) {
        auto it = vocab.index.find(w);
        if (it != vocab.index.end()) ids.push_back(it->second);
      });
      std::sort(ids.begin(), ids.end());
      auto& row = rows[static_cast<size_t>(d)];
      double norm2 = 0;
      for (size_t k = 0; k < ids.size();) {
        size_t e = k;
        while (e < ids.size() && ids[e] == ids[k]) ++e;
        const double w = (1.0 + std::log(static_cast<double>(e - k))) * vocab.idf[static_cast<size_t>(ids[k])];
        row.emplace_back(ids[k], w);
        norm2 += w * w;
        k = e;
      }
      if (norm2 > 0)
        for (auto& [c, w] : row) w /= std::sqrt(norm2);
    }
  });
  SparseRowMatrix m(n, static_cast<int64_t>(vocab.terms.size()));
  int64_t nnz = 0;
  for (const auto& r : rows) nnz += static_cast<int64_t>(r.size());
  m.reserve(nnz);
  for (int64_t d = 0; d < n; ++d) {
    m.startVec(d);
    for (auto& [c, w] : rows[static_cast<size_t>(d)]) m.insertBack(d, c) = w;
  }
  m.finalize();
  return m;
}

Eigen::MatrixXd RandomizedSvdProjection(const SparseRowMatrix& a, int64_t rank, const RandomizedSvdOptions& options,
                                        Eigen::VectorXd* singular_values) {
  const int64_t max_rank = std::min<int64_t>(a.rows(), a.cols());
  if (rank < 1 || rank > max_rank)
    throw framework::ConfigError("truncated SVD rank " + std::to_string(rank) + " outside 1.." + std::to_string(max_rank) +
                                 " (matrix " + std::to_string(a.rows()) + " x " + std::to_string(a.cols()) + ")");
  const int64_t k = std::min<int64_t>(max_rank, rank + std::max<int64_t>(0, options.oversample));
  const SparseRowMatrix at = a.transpose();  // row-major A^T: A^T * Q is row-parallel too
  framework::Rng rng(framework::DeriveSeed(options.seed, 0x57d));
  Eigen::MatrixXd omega(a.cols(), k);
  for (int64_t j = 0; j < k; ++j)
    for (int64_t i = 0; i < a.cols(); ++i) omega(i, j) = rng.Normal();
  Eigen::MatrixXd q = Orthonormalize(Multiply(a, omega, options.threads));
  // Power iterations sharpen the spectrum's decay; re-orthonormalising each half-step keeps
  // the small singular directions from drowning in rounding error.
  for (int it = 0; it < options.power_iterations; ++it) {
    const Eigen::MatrixXd z = Orthonormalize(Multiply(at, q, options.threads));
    q = Orthonormalize(Multiply(a, z, options.threads));
  }
  // B = Q^T A (k x cols); its small Gram matrix B B^T = U_B S^2 U_B^T gives A ~ (Q U_B) S V^T.
  const Eigen::MatrixXd bt = Multiply(at, q, options.threads);  // cols x k = B^T
  const Eigen::MatrixXd gram = bt.transpose() * bt;
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(gram);
  Eigen::MatrixXd proj(a.rows(), rank);
  if (singular_values) singular_values->resize(rank);
  for (int64_t j = 0; j < rank; ++j) {
    const int64_t src = k - 1 - j;  // eigenvalues ascend
    const double s = std::sqrt(std::max(0.0, eig.eigenvalues()(src)));
    Eigen::VectorXd col = q * eig.eigenvectors().col(src) * s;
    Eigen::Index arg;
    col.cwiseAbs().maxCoeff(&arg);
    if (col(arg) < 0) col = -col;
    proj.col(j) = col;
    if (singular_values) (*singular_values)(j) = s;
  }
  return proj;
}

ItemFeatures TfidfSvdFeatures(const datasets::Dataset& data, int dim, const EncodeContext& ctx,
                              TextSource text_source) {
  std::string spec = "text:tfidf-svd:" + std::to_string(dim);
  if (text_source == TextSource::kDescription) spec += ":description";
  if (text_source == TextSource::kReviews) spec += ":reviews";
  if (dim < 1) throw framework::ConfigError(spec + ": dimension must be >= 1");
  TextSourceOptions source;
  source.source = text_source;
  const auto texts = ItemTexts(data, source, ctx.train_rows);
  const TfidfVocabulary vocab = FitTfidf(texts);
  if (vocab.documents == 0 || vocab.terms.empty())
    throw framework::MissingModalityError(spec + ": dataset '" + data.name +
                                          "' has no item text (descriptions or training reviews)");
  const int64_t max_rank = std::min<int64_t>(vocab.documents, static_cast<int64_t>(vocab.terms.size()));
  if (dim > max_rank)
    throw framework::ConfigError(spec + ": dimension above the rank the texts allow (" + std::to_string(vocab.documents) +
                                 " items with text, " + std::to_string(vocab.terms.size()) + " terms)");
  const SparseRowMatrix full = TfidfMatrix(vocab, texts, ctx.threads);
  // SVD over items with text only: empty rows would only cost time.
  std::vector<int64_t> with_text;
  for (int64_t i = 0; i < full.rows(); ++i)
    if (full.outerIndexPtr()[i + 1] > full.outerIndexPtr()[i]) with_text.push_back(i);
  SparseRowMatrix a(static_cast<int64_t>(with_text.size()), full.cols());
  a.reserve(full.nonZeros());
  for (size_t r = 0; r < with_text.size(); ++r) {
    a.startVec(static_cast<int64_t>(r));
    for (SparseRowMatrix::InnerIterator it(full, with_text[r]); it; ++it)
      a.insertBack(static_cast<int64_t>(r), it.col()) = it.value();
  }
  a.finalize();
  RandomizedSvdOptions svd;
  svd.seed = ctx.seed;
  svd.threads = ctx.threads;
  const Eigen::MatrixXd proj = RandomizedSvdProjection(a, dim, svd);

  ItemFeatures f;
  f.spec = spec;
  f.values = FeatureMatrix::Zero(data.num_items(), dim);
  f.present.assign(static_cast<size_t>(data.num_items()), 0);
  for (size_t r = 0; r < with_text.size(); ++r) {
    f.values.row(with_text[r]) = proj.row(static_cast<int64_t>(r)).cast<float>();
    f.present[static_cast<size_t>(with_text[r])] = 1;
  }
  f.fallbacks = data.num_items() - static_cast<int64_t>(with_text.size());
  f.notes.push_back(spec + ": " + std::to_string(vocab.terms.size()) + " terms from " +
                    std::to_string(vocab.documents) + " training-split item texts; " + std::to_string(f.fallbacks) +
                    " items without text have zero rows");
  std::string fields;
  if (text_source != TextSource::kReviews)
    for (const auto& tf : data.item_text) fields += (fields.empty() ? "" : "+") + tf.name;
  if (text_source != TextSource::kDescription) fields += std::string(fields.empty() ? "" : "+") + "reviews";
  f.provenance = {{"extractor", "tfidf-svd"},
                  {"dim", std::to_string(dim)},
                  {"text_fields", fields},
                  {"vocabulary_size", std::to_string(vocab.terms.size())},
                  {"documents", std::to_string(vocab.documents)},
                  {"training_rows", ctx.train_rows ? std::to_string(ctx.train_rows->size()) : "all"},
                  {"tokens", "lower-case ASCII letter/digit runs"},
                  {"weighting", "sublinear tf x smooth idf, rows L2-normalised"},
                  {"svd", "randomized (oversample " + std::to_string(svd.oversample) + ", " +
                              std::to_string(svd.power_iterations) + " power iterations), seed " +
                              std::to_string(ctx.seed)},
                  {"items_with_content", std::to_string(with_text.size())}};
  return f;
}

}  // namespace recfuse::encoders
