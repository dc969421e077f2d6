#include "encoders/pretrained_text.h"

#include <Eigen/Dense>
#include <cctype>
#include <fstream>

#include "encoders/pretrained_image.h"
#include "encoders/text_tfidf.h"
#include "framework/config.h"
#include "framework/error.h"
#include "framework/io.h"
#include "framework/parallel.h"

namespace recfuse::encoders {

std::string GloveDir() { return PretrainedDir() + "/glove-6b-100d"; }

bool GloveAvailable() {
  const std::string dir = GloveDir();
  return framework::FileExists(dir + "/manifest.tsv") && framework::FileExists(dir + "/vocab.txt") &&
         framework::FileExists(dir + "/vectors.f32");
}

WordVectors LoadGlove() {
  WordVectors wv;
  wv.dir = GloveDir();
  wv.manifest = ReadPretrainedManifest(wv.dir, "text:glove:100");
  const std::string vocab_path = wv.dir + "/vocab.txt";
  const std::string vec_path = wv.dir + "/vectors.f32";
  std::ifstream vocab(vocab_path);
  if (!vocab) throw framework::IoError(vocab_path + ": cannot open");
  std::string line;
  while (std::getline(vocab, line)) wv.words.push_back(line);
  constexpr int64_t kDim = 100;
  std::ifstream in(vec_path, std::ios::binary | std::ios::ate);
  if (!in) throw framework::IoError(vec_path + ": cannot open");
  const int64_t bytes = static_cast<int64_t>(in.tellg());
  const int64_t rows = static_cast<int64_t>(wv.words.size());
  if (bytes != rows * kDim * 4)
    throw framework::DataError(vec_path, 0, std::to_string(bytes) + " bytes, expected " + std::to_string(rows) +
                                                " words x " + std::to_string(kDim) + " float32 from " + vocab_path);
  wv.vectors.resize(rows, kDim);
  in.seekg(0);
  in.read(reinterpret_cast<char*>(wv.vectors.data()), bytes);  // little-endian float32, as written
  if (!in) throw framework::IoError(vec_path + ": short read");
  wv.index.reserve(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) wv.index.emplace(wv.words[static_cast<size_t>(r)], static_cast<int32_t>(r));
  return wv;
}

PooledText PoolWordVectors(const WordVectors& wv, const std::vector<std::string>& texts, WordPooling pooling,
                           double sif_a, int threads) {
  RF_CHECK(sif_a > 0, "SIF parameter a must be positive");
  const int64_t n = static_cast<int64_t>(texts.size());
  const Eigen::Index dim = wv.vectors.cols();
  std::vector<std::vector<int32_t>> ids(static_cast<size_t>(n));
  std::vector<int64_t> token_counts(static_cast<size_t>(n), 0);
  framework::ParallelChunks(0, n, 64, threads, [&](int64_t lo, int64_t hi, int) {
    for (int64_t d = lo; d < hi; ++d)
      for (const auto& w : WordTokens(texts[static_cast<size_t>(d)])) {
        ++token_counts[static_cast<size_t>(d)];
        if (auto it = wv.index.find(w); it != wv.index.end()) ids[static_cast<size_t>(d)].push_back(it->second);
      }
  });
  PooledText out;
  out.values = FeatureMatrix::Zero(n, dim);
  out.present.assign(static_cast<size_t>(n), 0);
  std::unordered_map<int32_t, double> freq;
  for (int64_t d = 0; d < n; ++d) {
    out.tokens += token_counts[static_cast<size_t>(d)];
    out.known_tokens += static_cast<int64_t>(ids[static_cast<size_t>(d)].size());
    if (pooling == WordPooling::kSif)
      for (int32_t id : ids[static_cast<size_t>(d)]) freq[id] += 1;
  }
  const double total = static_cast<double>(out.known_tokens);
  // Sums in double, in token order: the result does not depend on the thread count.
  framework::ParallelChunks(0, n, 64, threads, [&](int64_t lo, int64_t hi, int) {
    Eigen::VectorXd acc(dim);
    for (int64_t d = lo; d < hi; ++d) {
      const auto& row_ids = ids[static_cast<size_t>(d)];
      if (row_ids.empty()) continue;
      acc.setZero();
      for (int32_t id : row_ids) {
        const double w = pooling == WordPooling::kSif ? sif_a / (sif_a + freq.at(id) / total) : 1.0;
        acc += w * wv.vectors.row(id).transpose().cast<double>();
      }
      out.values.row(d) = (acc / static_cast<double>(row_ids.size())).transpose().cast<float>();
      out.present[static_cast<size_t>(d)] = 1;
    }
  });
  if (pooling == WordPooling::kSif) {
    // Common-component removal: v <- v - u u^T v, u the top right singular vector of the
    // present rows (uncentred, as the paper's TruncatedSVD), from their dim x dim Gram matrix.
    Eigen::MatrixXd gram = Eigen::MatrixXd::Zero(dim, dim);
    for (int64_t d = 0; d < n; ++d)
      if (out.present[static_cast<size_t>(d)]) {
        const Eigen::VectorXd v = out.values.row(d).transpose().cast<double>();
        gram.noalias() += v * v.transpose();
      }
    if (gram.squaredNorm() > 0) {
      Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(gram);
      const Eigen::VectorXd u = eig.eigenvectors().col(dim - 1);  // eigenvalues ascend
      for (int64_t d = 0; d < n; ++d)
        if (out.present[static_cast<size_t>(d)]) {
          const Eigen::VectorXd v = out.values.row(d).transpose().cast<double>();
          out.values.row(d) = (v - u * u.dot(v)).transpose().cast<float>();
        }
    }
  }
  return out;
}

bool ParseGloveSpec(const std::string& spec, TextSource* source, WordPooling* pooling) {
  const auto parts = framework::Split(spec, ':');
  if (parts.size() < 2 || parts[0] != "text" || parts[1] != "glove") return false;
  const std::string usage = "; expected text:glove:100[:description|reviews|both][:mean|sif]";
  if (parts.size() < 3 || parts[2] != "100")
    throw framework::ConfigError("encoder '" + spec + "': GloVe comes in 100 dimensions only" + usage);
  *source = TextSource::kBoth;
  *pooling = WordPooling::kSif;  // the default: see the header
  bool have_source = false, have_pooling = false;
  for (size_t k = 3; k < parts.size(); ++k) {
    const std::string& p = parts[k];
    if ((p == "mean" || p == "sif") && !have_pooling) {
      *pooling = p == "sif" ? WordPooling::kSif : WordPooling::kMean;
      have_pooling = true;
    } else if ((p == "description" || p == "reviews" || p == "both") && !have_source && !have_pooling) {
      *source = ParseTextSource(p);
      have_source = true;
    } else {
      throw framework::ConfigError("encoder '" + spec + "': unexpected '" + p + "'" + usage);
    }
  }
  return true;
}

ItemFeatures GloveFeatures(const datasets::Dataset& data, TextSource source, WordPooling pooling,
                           const EncodeContext& ctx) {
  const char* source_name = source == TextSource::kDescription ? "description"
                            : source == TextSource::kReviews   ? "reviews"
                                                               : "both";
  const char* pooling_name = pooling == WordPooling::kSif ? "sif" : "mean";
  const std::string spec = std::string("text:glove:100:") + source_name + ":" + pooling_name;
  TextSourceOptions opts;
  opts.source = source;
  const auto texts = ItemTexts(data, opts, ctx.train_rows);
  int64_t with_text = 0;
  for (const auto& t : texts) with_text += !t.empty();
  if (with_text == 0)
    throw framework::MissingModalityError(spec + ": dataset '" + data.name + "' has no item text (" + source_name + ")");
  const WordVectors wv = LoadGlove();
  PooledText pooled = PoolWordVectors(wv, texts, pooling, 1e-3, ctx.threads);

  ItemFeatures f;
  f.spec = spec;
  f.values = std::move(pooled.values);
  f.present = std::move(pooled.present);
  int64_t present = 0;
  for (uint8_t p : f.present) present += p;
  f.fallbacks = data.num_items() - present;
  auto get = [&](const std::string& key) {
    for (const auto& [k, v] : wv.manifest)
      if (k == key) return v;
    return std::string("?");
  };
  char coverage[64];
  std::snprintf(coverage, sizeof coverage, "%.4f", pooled.tokens ? double(pooled.known_tokens) / pooled.tokens : 0.0);
  f.provenance = {
      {"extractor", "text:glove:100"},
      {"package", get("package") + "@" + get("version")},
      {"tarball_sha256", get("tarball_sha256")},
      {"vectors", get("vectors") + ", " + std::to_string(wv.words.size()) + " words"},
      {"text_fields", source == TextSource::kReviews ? "training-split reviews"
                      : source == TextSource::kBoth  ? "item text fields + training-split reviews"
                                                     : "item text fields"},
      {"tokenizer", "lower-cased letter/digit runs (WordTokens)"},
      {"pooling", pooling == WordPooling::kSif ? "SIF (a=1e-3, p(w) from the encoded texts, first component removed)"
                                               : "mean of in-vocabulary token vectors"},
      {"dim", "100"},
      {"token_coverage", std::string(coverage) + " (" + std::to_string(pooled.known_tokens) + "/" +
                             std::to_string(pooled.tokens) + " tokens in the vocabulary)"},
      {"items_with_vector", std::to_string(present) + "/" + std::to_string(data.num_items())},
      {"fallbacks", std::to_string(f.fallbacks)},
  };
  f.notes.push_back(spec + ": " + std::to_string(present) + " items with a vector, token coverage " + coverage);
  return f;
}

int64_t InitFromGlove(const WordVectors& wv, const std::vector<std::string>& vocabulary, FeatureMatrix* init) {
  RF_CHECK(init != nullptr, "InitFromGlove: null matrix");
  if (init->rows() != static_cast<Eigen::Index>(vocabulary.size()) || init->cols() != wv.vectors.cols())
    throw framework::ConfigError("GloVe initialisation: embedding table is " + std::to_string(init->rows()) + " x " +
                                 std::to_string(init->cols()) + ", needs " + std::to_string(vocabulary.size()) +
                                 " x " + std::to_string(wv.vectors.cols()));
  int64_t set = 0;
  for (size_t r = 0; r < vocabulary.size(); ++r) {
    std::string w = vocabulary[r];
    for (char& c : w) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (auto it = wv.index.find(w); it != wv.index.end()) {
      init->row(static_cast<Eigen::Index>(r)) = wv.vectors.row(it->second);
      ++set;
    }
  }
  return set;
}

}  // namespace recfuse::encoders
