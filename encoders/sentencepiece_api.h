// SentencePiece through a privately loaded shim (see encoders/spm_shim/spm_shim.cc for why:
// SentencePiece's embedded protobuf cannot share a process with libtorch's). Use this class
// instead of including <sentencepiece_processor.h> anywhere in recfuse.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace recfuse::encoders {

// Trains a model: `args` are SentencePieceTrainer flags ("--input=... --model_prefix=...").
// Throws framework::Error with SentencePiece's message on failure.
void SentencePieceTrain(const std::string& args);

// A loaded model. Thread-safe for concurrent Encode calls (SentencePiece's processor is).
class SentencePieceModel {
 public:
  // Throws IoError/Error naming the path when the model cannot be loaded.
  explicit SentencePieceModel(const std::string& model_path);
  ~SentencePieceModel();
  SentencePieceModel(const SentencePieceModel&) = delete;
  SentencePieceModel& operator=(const SentencePieceModel&) = delete;

  // Token ids of `text` (at most max_len; <= 0 means no limit).
  std::vector<int32_t> Encode(std::string_view text, int64_t max_len = 0) const;
  int32_t vocab_size() const;
  int32_t pad_id() const;  // -1 if the model has no pad piece
  int32_t unk_id() const;
  int32_t PieceToId(const std::string& piece) const;
  std::string IdToPiece(int32_t id) const;

 private:
  void* handle_ = nullptr;
};

}  // namespace recfuse::encoders
