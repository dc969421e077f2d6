#include "encoders/tokenizer.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "encoders/sentencepiece_api.h"
#include "framework/error.h"
#include "framework/hash.h"
#include "framework/io.h"
#include "framework/parallel.h"
#include "framework/rng.h"

namespace recfuse::encoders {

Tokenizer::Tokenizer(std::string model_path, bool reused)
    : model_(std::make_unique<SentencePieceModel>(model_path)), model_path_(std::move(model_path)), reused_cache_(reused) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::Load(const std::string& model_path) { return Tokenizer(model_path, false); }

Tokenizer Tokenizer::Train(const std::vector<std::string>& texts, int vocab_size, const std::string& model_type,
                           uint64_t seed, const std::string& model_dir) {
  if (model_type != "unigram" && model_type != "bpe")
    throw framework::ConfigError("tokenizer model type '" + model_type + "' (expected unigram or bpe)");
  if (vocab_size < 8) throw framework::ConfigError("tokenizer vocab_size " + std::to_string(vocab_size) + " < 8");
  if (model_dir.empty()) throw framework::ConfigError("tokenizer needs a model directory");

  // One sentence per line: SentencePiece reads lines, so newlines inside a text split it.
  std::vector<std::string_view> lines;
  for (const auto& t : texts) {
    size_t start = 0;
    while (start <= t.size()) {
      size_t end = t.find_first_of("\r\n", start);
      if (end == std::string::npos) end = t.size();
      std::string_view line(t.data() + start, end - start);
      if (line.find_first_not_of(" \t") != std::string_view::npos) lines.push_back(line);
      start = end + 1;
    }
  }
  if (lines.empty()) throw framework::ConfigError("tokenizer training: no non-empty text to train on");
  if (lines.size() > kMaxTrainSentences) {
    framework::Rng rng(framework::DeriveSeed(seed, 0x5e17));
    rng.Shuffle(lines);
    lines.resize(kMaxTrainSentences);
  }

  framework::Hasher h;
  h.Add("recfuse-spm-v1").Add(model_type).AddPod(static_cast<int64_t>(vocab_size)).AddPod(seed);
  h.AddPod(static_cast<uint64_t>(lines.size()));
  for (auto line : lines) h.Add(line);
  const std::string stem = model_dir + "/spm-" + h.HexDigest();
  const std::string model_path = stem + ".model";
  if (framework::FileExists(model_path)) return Tokenizer(model_path, true);

  framework::MakeDirs(model_dir);
  // Train under a process-unique prefix and rename: concurrent trainers never see a
  // half-written model, and the final name appears atomically.
  const std::string tmp = stem + ".tmp" + std::to_string(::getpid());
  std::string corpus;
  for (auto line : lines) {
    corpus.append(line);
    corpus += '\n';
  }
  framework::WriteFileAtomic(tmp + ".txt", corpus);
  const std::string args = "--input=" + tmp + ".txt --model_prefix=" + tmp + " --vocab_size=" +
                           std::to_string(vocab_size) + " --model_type=" + model_type +
                           " --num_threads=1 --minloglevel=2 --input_sentence_size=0 --shuffle_input_sentence=false"
                           " --max_sentence_length=1048576" +
                           (model_type == "unigram" ? " --hard_vocab_limit=false" : "");
  try {
    SentencePieceTrain(args);
  } catch (const framework::Error& e) {
    std::remove((tmp + ".txt").c_str());
    std::remove((tmp + ".model").c_str());
    std::remove((tmp + ".vocab").c_str());
    throw framework::ConfigError("tokenizer training (" + model_type + ", vocab_size " + std::to_string(vocab_size) +
                                 ", " + std::to_string(lines.size()) +
                                 " sentences) failed; a smaller vocab_size or more text may help: " + e.what());
  }
  std::remove((tmp + ".txt").c_str());
  std::error_code ec;
  std::filesystem::rename(tmp + ".vocab", stem + ".vocab", ec);
  std::filesystem::rename(tmp + ".model", model_path, ec);
  if (ec) throw framework::IoError("cannot move tokenizer model to " + model_path + ": " + ec.message());
  return Tokenizer(model_path, false);
}

std::vector<int64_t> Tokenizer::Encode(std::string_view text, int64_t max_len) const {
  const auto raw = model_->Encode(text, max_len);
  std::vector<int64_t> ids(raw.size());
  for (size_t k = 0; k < raw.size(); ++k) ids[k] = static_cast<int64_t>(raw[k]) + 1;
  return ids;
}

TokenBatch Tokenizer::EncodeBatch(const std::vector<std::string>& texts, int64_t max_len, int threads) const {
  if (max_len <= 0) throw framework::ConfigError("EncodeBatch max_len must be > 0, got " + std::to_string(max_len));
  TokenBatch b;
  b.rows = static_cast<int64_t>(texts.size());
  b.max_len = max_len;
  b.ids.assign(static_cast<size_t>(b.rows * max_len), kPadId);
  b.lengths.assign(texts.size(), 0);
  framework::ParallelChunks(0, b.rows, 64, threads, [&](int64_t lo, int64_t hi, int) {
    for (int64_t r = lo; r < hi; ++r) {
      const auto raw = model_->Encode(texts[static_cast<size_t>(r)], max_len);
      int64_t* row = b.ids.data() + r * max_len;
      for (size_t k = 0; k < raw.size(); ++k) row[k] = static_cast<int64_t>(raw[k]) + 1;
      b.lengths[static_cast<size_t>(r)] = static_cast<int64_t>(raw.size());
    }
  });
  return b;
}

int64_t Tokenizer::vocab_size() const { return static_cast<int64_t>(model_->vocab_size()) + 1; }

std::string Tokenizer::IdToPiece(int64_t id) const {
  if (id == kPadId) return "<pad>";
  if (id < 0 || id >= vocab_size())
    throw framework::UnknownIdError("token id " + std::to_string(id) + " outside 0.." + std::to_string(vocab_size() - 1));
  return model_->IdToPiece(static_cast<int32_t>(id - 1));
}

}  // namespace recfuse::encoders
