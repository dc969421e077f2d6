#include "encoders/sentencepiece_api.h"

#include <dlfcn.h>  // dlmopen needs _GNU_SOURCE, which g++ defines
#include <unistd.h>

#include <filesystem>
#include <mutex>

#include "framework/error.h"

namespace recfuse::encoders {

namespace {

struct ShimApi {
  int (*train)(const char*, char*, size_t) = nullptr;
  void* (*load)(const char*, char*, size_t) = nullptr;
  void (*free_model)(void*) = nullptr;
  int64_t (*encode)(void*, const char*, size_t, int32_t*, int64_t) = nullptr;
  int32_t (*vocab_size)(void*) = nullptr;
  int32_t (*pad_id)(void*) = nullptr;
  int32_t (*unk_id)(void*) = nullptr;
  int32_t (*piece_to_id)(void*, const char*) = nullptr;
  int64_t (*id_to_piece)(void*, int32_t, char*, size_t) = nullptr;
};

std::string ExeDir() {
  std::error_code ec;
  const auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : p.parent_path().string();
}

const ShimApi& Api() {
  static std::once_flag once;
  static ShimApi api;
  static std::string error;
  std::call_once(once, [] {
    // Candidates: explicit override, the build tree's copy, then beside the executable.
    std::vector<std::string> paths;
    if (const char* env = std::getenv("RECFUSE_SPM_SHIM")) paths.push_back(env);
    paths.push_back(RECFUSE_SPM_SHIM_PATH);
    paths.push_back(ExeDir() + "/librecfuse_spm.so");
    void* h = nullptr;
    for (const auto& p : paths) {
      // A separate link-map namespace gives the shim its own libstdc++ and protobuf: deep
      // binding alone is not enough, because libstdc++'s globals (std::cerr, which
      // SentencePiece logs to) are copy-relocated into the executable.
      h = ::dlmopen(LM_ID_NEWLM, p.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (h) break;
      error += p + ": " + ::dlerror() + "; ";
    }
    if (!h) return;
    auto sym = [&](const char* name) {
      void* s = ::dlsym(h, name);
      if (!s) error += std::string("missing symbol ") + name + "; ";
      return s;
    };
    api.train = reinterpret_cast<decltype(api.train)>(sym("rf_spm_train"));
    api.load = reinterpret_cast<decltype(api.load)>(sym("rf_spm_load"));
    api.free_model = reinterpret_cast<decltype(api.free_model)>(sym("rf_spm_free"));
    api.encode = reinterpret_cast<decltype(api.encode)>(sym("rf_spm_encode"));
    api.vocab_size = reinterpret_cast<decltype(api.vocab_size)>(sym("rf_spm_vocab_size"));
    api.pad_id = reinterpret_cast<decltype(api.pad_id)>(sym("rf_spm_pad_id"));
    api.unk_id = reinterpret_cast<decltype(api.unk_id)>(sym("rf_spm_unk_id"));
    api.piece_to_id = reinterpret_cast<decltype(api.piece_to_id)>(sym("rf_spm_piece_to_id"));
    api.id_to_piece = reinterpret_cast<decltype(api.id_to_piece)>(sym("rf_spm_id_to_piece"));
  });
  if (!api.train || !api.encode)
    throw framework::Error("cannot load the SentencePiece shim (librecfuse_spm.so): " + error);
  return api;
}

}  // namespace

void SentencePieceTrain(const std::string& args) {
  char err[2048] = {0};
  if (Api().train(args.c_str(), err, sizeof err) != 0) throw framework::Error(std::string("SentencePiece: ") + err);
}

SentencePieceModel::SentencePieceModel(const std::string& model_path) {
  if (!std::filesystem::exists(model_path)) throw framework::IoError(model_path + ": no such SentencePiece model");
  char err[2048] = {0};
  handle_ = Api().load(model_path.c_str(), err, sizeof err);
  if (!handle_) throw framework::Error(model_path + ": cannot load SentencePiece model: " + err);
}

SentencePieceModel::~SentencePieceModel() {
  if (handle_) Api().free_model(handle_);
}

std::vector<int32_t> SentencePieceModel::Encode(std::string_view text, int64_t max_len) const {
  std::vector<int32_t> ids(std::max<size_t>(16, text.size() + 2));
  int64_t n = Api().encode(handle_, text.data(), text.size(), ids.data(), static_cast<int64_t>(ids.size()));
  if (n < 0) throw framework::Error("SentencePiece: encode failed");
  if (n > static_cast<int64_t>(ids.size())) {
    ids.resize(static_cast<size_t>(n));
    n = Api().encode(handle_, text.data(), text.size(), ids.data(), n);
  }
  ids.resize(static_cast<size_t>(n));
  if (max_len > 0 && static_cast<int64_t>(ids.size()) > max_len) ids.resize(static_cast<size_t>(max_len));
  return ids;
}

int32_t SentencePieceModel::vocab_size() const { return Api().vocab_size(handle_); }
int32_t SentencePieceModel::pad_id() const { return Api().pad_id(handle_); }
int32_t SentencePieceModel::unk_id() const { return Api().unk_id(handle_); }
int32_t SentencePieceModel::PieceToId(const std::string& piece) const { return Api().piece_to_id(handle_, piece.c_str()); }
std::string SentencePieceModel::IdToPiece(int32_t id) const {
  char buf[512];
  Api().id_to_piece(handle_, id, buf, sizeof buf);
  return buf;
}

}  // namespace recfuse::encoders
