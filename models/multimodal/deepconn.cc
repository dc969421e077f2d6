// deepconn: DeepCoNN-style text recommender (Zheng et al., "Joint Deep Modeling of Users
// and Items Using Reviews for Recommendation", WSDM 2017).
//
// Two TextCNN towers (encoders/text_encoders.h: embeddings -> Conv1d -> ReLU -> max pool
// -> Linear) map texts to latent vectors:
//   item text  = its description fields and its training reviews (encoders::ItemTexts)
//   user text  = the training reviews the user wrote (encoders::UserTexts); users without
//                any (e.g. datasets with no reviews) get the texts of their most recent
//                training items instead, each cut to history_item_tokens words
//   score(u, i) = <x_u, y_i> + b_i  (+ <p_u, q_i> with use_id=true)
// trained with BPR on sampled negatives. The original couples the towers with a
// factorization machine for rating prediction; a dot product keeps full ranking a GEMM and
// lets the towers run once per user and item in PrepareInference. Texts are tokenised by a
// SentencePiece model trained on training texts only (cached under ctx.cache_dir).
// b_i and q_i of items without training interactions are untrained: zeroed at inference,
// so cold items are ranked by their text alone. The model is text: there is no use_text.
//
// word_init=glove starts both towers' token embeddings from GloVe 6B 100-d (the paper
// initialises them from pretrained word2vec; GloVe is the word-vector set recfuse can obtain
// offline, `scripts/setup.sh --pretrained`), then trains them on as the paper does. A
// SentencePiece piece is looked up with its word-start marker stripped and lower-cased, so
// "\u2581Star" finds "star"; pieces GloVe lacks (and pad) keep their random init. It needs
// embedding_dim=100, which it sets unless embedding_dim is given otherwise (ConfigError).
// run.json records the tokenizer, the GloVe package and how many pieces it covered.
#include <unistd.h>

#include <Eigen/Core>
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "encoders/item_text.h"
#include "encoders/pretrained_text.h"
#include "encoders/text_encoders.h"
#include "encoders/tokenizer.h"
#include "framework/error.h"
#include "framework/log.h"
#include "models/neural/neural_base.h"
#include "models/neural/neural_models.h"

namespace recfuse::models::neural {
namespace {

using framework::ParamSpec;
using framework::ParamType;
constexpr const char* kName = "deepconn";
// Rows per tower forward pass at inference: bounds the [rows, L, E] activations.
constexpr int64_t kInferenceChunk = 256;

std::vector<ParamSpec> DeepConnParams() {
  std::vector<ParamSpec> p = {
      {"dim", ParamType::kInt, "32", "latent size of the tower outputs", 1, 4096, {}},
      {"embedding_dim", ParamType::kInt, "32", "token embedding size", 1, 4096, {}},
      {"filters", ParamType::kInt, "32", "convolution filters per width", 1, 4096, {}},
      {"widths", ParamType::kIntList, "3", "convolution window widths", 1, 64, {}},
      {"dropout", ParamType::kFloat, "0", "dropout on the pooled CNN features (training only)", 0, 0.95, {}},
      {"vocab_size", ParamType::kInt, "4000", "SentencePiece vocabulary size (soft limit)", 8, 1000000, {}},
      {"item_max_tokens", ParamType::kInt, "200", "token cap of an item text", 1, 100000, {}},
      {"user_max_tokens", ParamType::kInt, "400", "token cap of a user text", 1, 100000, {}},
      {"history_item_tokens", ParamType::kInt, "40",
       "words taken from each history item's text for users without reviews", 1, 100000, {}},
      {"use_id", ParamType::kBool, "false", "add user/item ID embeddings to the text vectors", 0, 0, {}},
      {"reg", ParamType::kFloat, "1e-4", "L2 weight on the batch's ID embeddings and item biases", 0, 100, {}},
      // Default random, though glove wins on validation: ml-100k ratio 8:1:1, seed 0, one thread,
      // embedding_dim 100 for both, best validation NDCG@10 0.1678 (glove, epoch 22 of 27)
      // vs 0.1514 (random, epoch 9 of 14). A shipped default must run on a fresh machine, and
      // glove needs the opt-in scripts/setup.sh --pretrained, so it is one --set away instead.
      {"word_init", ParamType::kString, "random",
       "token embedding init: random, or glove (GloVe 6B 100-d, needs scripts/setup.sh --pretrained)", 0, 0,
       {"random", "glove"}},
  };
  TrainDefaults d;
  d.epochs = 30;
  d.batch_size = 4096;
  d.lr = 2e-3;
  d.loss = "bpr";
  d.losses = {"bpr", "bce"};
  d.negatives = 1;
  d.patience = 5;
  for (auto& s : TrainParams(d)) p.push_back(std::move(s));
  return p;
}

struct Net : torch::nn::Module {
  encoders::TextCnnEncoder user_tower{nullptr}, item_tower{nullptr};
  torch::nn::Embedding item_bias{nullptr}, user_id{nullptr}, item_id{nullptr};
};

// Runs `tower` over rows `rows` of `tokens` ([N, L] int64), trimming the columns past the
// longest text of the selection (padding does not change the output, only the cost).
torch::Tensor Encode(encoders::TextCnnEncoder& tower, const torch::Tensor& tokens, const torch::Tensor& lengths,
                     const torch::Tensor& rows) {
  const torch::Tensor ids = tokens.index_select(0, rows);
  const int64_t longest = std::max<int64_t>(1, lengths.index_select(0, rows).max().item<int64_t>());
  return tower->forward(ids.slice(1, 0, std::min(longest, ids.size(1)))).embedding;
}

class DeepConn final : public PairwiseRecommender {
 public:
  explicit DeepConn(const framework::Config& c) : PairwiseRecommender(kName, ReadTrainOptions(c, Specs())) {
    const auto& s = Specs();
    dim_ = c.GetInt(s, "dim");
    embedding_dim_ = c.GetInt(s, "embedding_dim");
    filters_ = c.GetInt(s, "filters");
    widths_ = c.GetIntList("widths", {3});
    dropout_ = c.GetDouble(s, "dropout");
    vocab_size_ = c.GetInt(s, "vocab_size");
    item_max_ = c.GetInt(s, "item_max_tokens");
    user_max_ = c.GetInt(s, "user_max_tokens");
    history_item_tokens_ = c.GetInt(s, "history_item_tokens");
    use_id_ = c.GetBool(s, "use_id");
    reg_ = c.GetDouble(s, "reg");
    glove_ = c.GetString(s, "word_init") == "glove";
    if (glove_) {
      if (c.Has("embedding_dim") && embedding_dim_ != kGloveDim)
        throw framework::ConfigError("deepconn: word_init=glove needs embedding_dim=100 (GloVe 6B 100-d), got " +
                                     std::to_string(embedding_dim_));
      embedding_dim_ = kGloveDim;
    }
    if (widths_.empty()) throw framework::ConfigError("deepconn: widths must list at least one window width");
    for (int64_t w : widths_)
      if (w < 1) throw framework::ConfigError("deepconn: window width " + std::to_string(w) + " must be >= 1");
  }

  static const std::vector<ParamSpec>& Specs() {
    static const std::vector<ParamSpec> kSpecs = DeepConnParams();
    return kSpecs;
  }

 protected:
  void Build(const TrainData& td, const FitContext& ctx) override {
    const datasets::Dataset& data = *td.dataset;
    encoders::TextSourceOptions item_opt;
    item_opt.source = encoders::TextSource::kBoth;
    std::vector<std::string> item_texts = encoders::ItemTexts(data, item_opt, &td.train_rows);
    if (std::all_of(item_texts.begin(), item_texts.end(), [](const std::string& t) { return t.empty(); }))
      throw framework::MissingModalityError(
          "deepconn: the dataset has no item text (descriptions or training reviews); deepconn is a text model");
    std::vector<std::string> user_texts = UserTextsWithFallback(td, item_texts);

    // The tokenizer learns from training texts only: item texts hold training reviews only,
    // user texts are made of those.
    std::vector<std::string> corpus = item_texts;
    for (const auto& t : user_texts)
      if (!t.empty()) corpus.push_back(t);
    const int threads = std::max(1, ctx.threads);
    TempDir scratch(ctx.cache_dir);
    const encoders::Tokenizer tok =
        encoders::Tokenizer::Train(corpus, static_cast<int>(vocab_size_), "unigram", ctx.seed, scratch.path);
    const encoders::TokenBatch items = tok.EncodeBatch(item_texts, item_max_, threads);
    const encoders::TokenBatch users = tok.EncodeBatch(user_texts, user_max_, threads);
    item_tokens_ = encoders::TokenBatchToTensor(items);
    user_tokens_ = encoders::TokenBatchToTensor(users);
    item_lengths_ = torch::tensor(items.lengths, torch::kInt64);
    user_lengths_ = torch::tensor(users.lengths, torch::kInt64);

    net_ = std::make_shared<Net>();
    auto tower = [&] {
      return encoders::TextCnnEncoder(encoders::TextCnnEncoderOptions(tok.vocab_size(), dim_)
                                          .embedding_dim(embedding_dim_)
                                          .filters(filters_)
                                          .widths(widths_)
                                          .dropout(dropout_));
    };
    net_->user_tower = net_->register_module("user_tower", tower());
    net_->item_tower = net_->register_module("item_tower", tower());
    RecordText(tok);
    net_->item_bias = net_->register_module("item_bias", torch::nn::Embedding(td.num_items, 1));
    torch::nn::init::zeros_(net_->item_bias->weight);
    if (use_id_) {
      net_->user_id = net_->register_module("user_id", torch::nn::Embedding(td.num_users, dim_));
      net_->item_id = net_->register_module("item_id", torch::nn::Embedding(td.num_items, dim_));
      torch::nn::init::normal_(net_->user_id->weight, 0, 0.1);
      torch::nn::init::normal_(net_->item_id->weight, 0, 0.1);
    }
    warm_ = WarmItemMask(td);
    sampler_ = std::make_unique<PairSampler>(td);
  }

  torch::nn::Module& Root() override { return *net_; }

  // The towers run once per distinct user and item of the batch, then vectors are gathered.
  torch::Tensor BatchLoss(int64_t begin, int64_t end, framework::Rng& rng) override {
    const auto batch = sampler_->Get(begin, end, opt_.negatives, rng);
    const int64_t b = end - begin, per = 1 + opt_.negatives;
    const torch::Tensor items = batch.Candidates();
    const auto [uu, uinv] = torch::_unique(batch.users, /*sorted=*/true, /*return_inverse=*/true);
    const auto [iu, iinv] = torch::_unique(items, /*sorted=*/true, /*return_inverse=*/true);
    const torch::Tensor x =
        Encode(net_->user_tower, user_tokens_, user_lengths_, uu).index_select(0, uinv).repeat_interleave(per, 0);
    const torch::Tensor y = Encode(net_->item_tower, item_tokens_, item_lengths_, iu).index_select(0, iinv);
    const torch::Tensor bi = net_->item_bias->forward(items).view({-1});
    torch::Tensor scores = (x * y).sum(1) + bi;
    torch::Tensor penalty = bi.pow(2).mean();
    if (use_id_) {
      const torch::Tensor pu = net_->user_id->forward(batch.users).repeat_interleave(per, 0);
      const torch::Tensor qi = net_->item_id->forward(items);
      scores = scores + (pu * qi).sum(1);
      penalty = penalty + pu.pow(2).sum(1).mean() + qi.pow(2).sum(1).mean();
    }
    scores = scores.view({b, per});
    return PairLoss(opt_.loss, scores.select(1, 0), scores.slice(1, 1)) + reg_ * penalty;
  }

  void PrepareInference() override {
    std::vector<torch::Tensor> users = {RunTower(net_->user_tower, user_tokens_, user_lengths_)};
    std::vector<torch::Tensor> items = {RunTower(net_->item_tower, item_tokens_, item_lengths_)};
    if (use_id_) {
      users.push_back(net_->user_id->weight);
      items.push_back(net_->item_id->weight * warm_.unsqueeze(1));
    }
    user_ = ToEigen(torch::cat(users, 1));
    item_ = ToEigen(torch::cat(items, 1));
    item_bias_ = ToEigen((net_->item_bias->weight.view({-1}) * warm_).unsqueeze(1)).col(0);
  }

 private:
  // A tokenizer directory: the cache dir when there is one, else a private temporary
  // directory removed afterwards (the model file is only needed to encode the texts).
  struct TempDir {
    explicit TempDir(const std::string& cache_dir) {
      if (!cache_dir.empty()) {
        path = cache_dir + "/deepconn-spm";
        return;
      }
      std::string tmpl = (std::filesystem::temp_directory_path() / "recfuse-deepconn-XXXXXX").string();
      if (mkdtemp(tmpl.data()) == nullptr) throw framework::IoError("deepconn: cannot create a temporary directory");
      path = tmpl;
      owned = true;
    }
    ~TempDir() {
      std::error_code ec;
      if (owned) std::filesystem::remove_all(path, ec);
    }
    std::string path;
    bool owned = false;
  };

  // encoders::UserTexts, and for users without training reviews the texts of their most
  // recent training items (newest first), each cut to history_item_tokens words, up to
  // user_max_tokens words in all.
  std::vector<std::string> UserTextsWithFallback(const TrainData& td, const std::vector<std::string>& item_texts) const {
    const datasets::Dataset& data = *td.dataset;
    std::vector<std::string> texts(static_cast<size_t>(td.num_users));
    encoders::TextSourceOptions opt;
    opt.source = encoders::TextSource::kReviews;
    opt.max_tokens = user_max_;
    if (!data.reviews.empty()) texts = encoders::UserTexts(data, opt, &td.train_rows);
    encoders::TextSourceOptions per_item;
    per_item.max_tokens = history_item_tokens_;
    for (Index u = 0; u < td.num_users; ++u) {
      std::string& t = texts[static_cast<size_t>(u)];
      if (!t.empty()) continue;
      const auto row = td.by_user.Row(u);
      int64_t words = 0;
      for (size_t k = row.size(); k-- > 0 && words < user_max_;) {
        const std::string& it = item_texts[static_cast<size_t>(row[k])];
        if (it.empty()) continue;
        const std::string piece = encoders::CapText(it, per_item);
        words += history_item_tokens_;
        if (!t.empty()) t += '\n';
        t += piece;
      }
    }
    return texts;
  }

  // The tokenizer, and with word_init=glove the GloVe rows copied into both towers.
  void RecordText(const encoders::Tokenizer& tok) {
    ModalityUse use;
    use.modality = "text";
    use.spec = std::string("deepconn:textcnn:") + (glove_ ? "glove" : "random");
    const int64_t* len = item_lengths_.data_ptr<int64_t>();
    for (int64_t i = 0; i < item_lengths_.numel(); ++i) use.items_present += len[i] > 0;
    use.fallbacks = item_lengths_.numel() - use.items_present;
    use.provenance = {{"tokenizer", "sentencepiece unigram, " + std::to_string(tok.vocab_size() - 1) +
                                        " pieces, trained on training texts"},
                      {"text_fields", "description fields + training reviews (items); training reviews or "
                                      "history item texts (users)"},
                      {"word_init", glove_ ? "glove" : "random"}};
    if (glove_) {
      const encoders::WordVectors wv = encoders::LoadGlove();
      std::vector<std::string> pieces(static_cast<size_t>(tok.vocab_size()));
      for (int64_t id = 1; id < tok.vocab_size(); ++id) {
        std::string p = tok.IdToPiece(id);
        static const std::string kWordStart = "\xE2\x96\x81";  // U+2581, SentencePiece's word start
        if (p.rfind(kWordStart, 0) == 0) p.erase(0, kWordStart.size());
        pieces[static_cast<size_t>(id)] = p;
      }
      torch::NoGradGuard no_grad;
      int64_t set = 0;
      for (auto* t : {&net_->user_tower, &net_->item_tower}) {
        torch::Tensor w = (*t)->embedding->weight;
        encoders::FeatureMatrix init(w.size(0), w.size(1));
        std::memcpy(init.data(), w.contiguous().data_ptr<float>(), sizeof(float) * init.size());
        set = encoders::InitFromGlove(wv, pieces, &init);
        w.copy_(torch::from_blob(init.data(), {init.rows(), init.cols()}, torch::kFloat32));
      }
      for (const auto& [k, v] : wv.manifest)
        if (k == "package" || k == "version" || k == "tarball_sha256") use.provenance.emplace_back("glove_" + k, v);
      use.provenance.emplace_back("glove_rows", std::to_string(set) + "/" + std::to_string(tok.vocab_size() - 1) +
                                                    " pieces found in GloVe");
      RF_LOG(Info) << "deepconn: GloVe initialised " << set << " of " << tok.vocab_size() - 1 << " token embeddings";
    }
    modalities_used_ = {use};
  }

  torch::Tensor RunTower(encoders::TextCnnEncoder& tower, const torch::Tensor& tokens, const torch::Tensor& lengths) {
    std::vector<torch::Tensor> parts;
    const int64_t n = tokens.size(0);
    for (int64_t b = 0; b < n; b += kInferenceChunk)
      parts.push_back(Encode(tower, tokens, lengths, Range(b, std::min(n, b + kInferenceChunk))));
    return torch::cat(parts, 0);
  }

  // Hyperparameters.
  int64_t dim_ = 32, embedding_dim_ = 32, filters_ = 32;
  std::vector<int64_t> widths_;
  double dropout_ = 0;
  int64_t vocab_size_ = 4000, item_max_ = 200, user_max_ = 400, history_item_tokens_ = 40;
  bool use_id_ = false, glove_ = false;
  double reg_ = 1e-4;
  static constexpr int64_t kGloveDim = 100;

  // Training state.
  std::shared_ptr<Net> net_;
  torch::Tensor item_tokens_, user_tokens_, item_lengths_, user_lengths_, warm_;
};

}  // namespace

ModelEntry DeepConnEntry() {
  return {kName, "multimodal",
          "DeepCoNN-style: TextCNN towers over item texts and user reviews/histories, dot-product "
          "scoring (Zheng et al., WSDM 2017)",
          DeepConnParams(), [](const framework::Config& c) -> std::unique_ptr<Recommender> {
            return std::make_unique<DeepConn>(c);
          }};
}

}  // namespace recfuse::models::neural
