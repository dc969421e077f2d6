// Subword tokenisation (SentencePiece, through encoders/sentencepiece_api.h) for trainable
// text encoders. Torch-free.
//
// Id convention: recfuse ids are SentencePiece ids + 1, so id 0 is always padding (every
// encoder uses padding_idx 0 and treats id 0 as "no token") and a user-supplied model needs
// no pad piece. vocab_size() counts the pad id.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace recfuse::encoders {

class SentencePieceModel;

// Row-major padded token ids: ids[r * max_len + t], 0 = padding after the row's tokens.
struct TokenBatch {
  int64_t rows = 0;
  int64_t max_len = 0;
  std::vector<int64_t> ids;      // rows * max_len
  std::vector<int64_t> lengths;  // real tokens per row (0 for an empty text)
};

class Tokenizer {
 public:
  static constexpr int64_t kPadId = 0;

  // Trains a SentencePiece model ("unigram" or "bpe") on `texts` — pass training-split
  // texts only — with one trainer thread and no input sampling, so the same texts give
  // the same model. The model is stored as <model_dir>/spm-<hash>.model, the hash covering
  // (texts, vocab_size, model_type, seed); an existing file is loaded instead of retraining
  // (reused_cache()). `seed` draws the sentences kept when the corpus exceeds
  // kMaxTrainSentences. Unknown model_type, vocab_size < 8, no non-empty text, or a vocab
  // size the corpus cannot support -> ConfigError saying so; unwritable dir -> IoError.
  static Tokenizer Train(const std::vector<std::string>& texts, int vocab_size, const std::string& model_type,
                         uint64_t seed, const std::string& model_dir);
  // Loads a user-supplied .model file. Unreadable -> IoError naming the path.
  static Tokenizer Load(const std::string& model_path);

  static constexpr size_t kMaxTrainSentences = 2'000'000;

  // Ids (>= 1) of `text`, at most max_len of them (max_len <= 0: no cap). Thread-safe.
  std::vector<int64_t> Encode(std::string_view text, int64_t max_len = 0) const;
  // Encodes each text, truncated to max_len (> 0 required, else ConfigError), padded with
  // kPadId. Rows are encoded on `threads` threads; output independent of threads.
  TokenBatch EncodeBatch(const std::vector<std::string>& texts, int64_t max_len, int threads = 1) const;

  // Number of ids including padding: valid ids are 0 .. vocab_size() - 1.
  int64_t vocab_size() const;
  std::string IdToPiece(int64_t id) const;  // "<pad>" for 0
  const std::string& model_path() const { return model_path_; }
  bool reused_cache() const { return reused_cache_; }

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

 private:
  Tokenizer(std::string model_path, bool reused);
  std::unique_ptr<SentencePieceModel> model_;
  std::string model_path_;
  bool reused_cache_ = false;
};

}  // namespace recfuse::encoders
