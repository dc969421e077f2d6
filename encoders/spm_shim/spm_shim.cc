// C shim over SentencePiece, built as its own shared object and dlopen'ed with
// dlmopen into a new link-map namespace by encoders/sentencepiece_api.cc.
//
// Why: Debian's libsentencepiece embeds protobuf-lite 3.14 and exports its symbols, while
// libtorch and OpenCV DNN load the system libprotobuf 3.21. Linked into one process the two
// interpose each other and the program crashes before main (or aborts on protobuf's version
// check). Loaded in its own namespace, SentencePiece keeps its own protobuf. Only C types
// cross the boundary, and memory is freed on the side that allocated it.
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#define RF_SPM_EXPORT extern "C" __attribute__((visibility("default")))

namespace {
void SetError(const std::string& msg, char* err, size_t errlen) {
  if (err && errlen > 0) std::snprintf(err, errlen, "%s", msg.c_str());
}
}  // namespace

RF_SPM_EXPORT int rf_spm_train(const char* args, char* err, size_t errlen) {
  const auto st = sentencepiece::SentencePieceTrainer::Train(args);
  if (!st.ok()) {
    SetError(st.ToString(), err, errlen);
    return 1;
  }
  return 0;
}

RF_SPM_EXPORT void* rf_spm_load(const char* model_path, char* err, size_t errlen) {
  auto* sp = new sentencepiece::SentencePieceProcessor();
  const auto st = sp->Load(model_path);
  if (!st.ok()) {
    SetError(st.ToString(), err, errlen);
    delete sp;
    return nullptr;
  }
  return sp;
}

RF_SPM_EXPORT void rf_spm_free(void* handle) { delete static_cast<sentencepiece::SentencePieceProcessor*>(handle); }

// Writes up to max_out ids; returns the full count (callers truncate), or -1 on error.
RF_SPM_EXPORT int64_t rf_spm_encode(void* handle, const char* text, size_t len, int32_t* out, int64_t max_out) {
  auto* sp = static_cast<sentencepiece::SentencePieceProcessor*>(handle);
  std::vector<int> ids;
  if (!sp->Encode(std::string_view(text, len), &ids).ok()) return -1;
  const int64_t n = static_cast<int64_t>(ids.size());
  for (int64_t i = 0; i < n && i < max_out; ++i) out[i] = ids[static_cast<size_t>(i)];
  return n;
}

RF_SPM_EXPORT int32_t rf_spm_vocab_size(void* handle) {
  return static_cast<sentencepiece::SentencePieceProcessor*>(handle)->GetPieceSize();
}
RF_SPM_EXPORT int32_t rf_spm_pad_id(void* handle) {
  return static_cast<sentencepiece::SentencePieceProcessor*>(handle)->pad_id();
}
RF_SPM_EXPORT int32_t rf_spm_unk_id(void* handle) {
  return static_cast<sentencepiece::SentencePieceProcessor*>(handle)->unk_id();
}
RF_SPM_EXPORT int32_t rf_spm_piece_to_id(void* handle, const char* piece) {
  return static_cast<sentencepiece::SentencePieceProcessor*>(handle)->PieceToId(piece);
}
// Copies the piece's text into out (NUL-terminated); returns its length.
RF_SPM_EXPORT int64_t rf_spm_id_to_piece(void* handle, int32_t id, char* out, size_t outlen) {
  const std::string p = static_cast<sentencepiece::SentencePieceProcessor*>(handle)->IdToPiece(id);
  if (out && outlen > 0) std::snprintf(out, outlen, "%s", p.c_str());
  return static_cast<int64_t>(p.size());
}
