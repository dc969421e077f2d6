// Binary model files: a magic number, a format version and the model name come first and
// are checked on load, so a file from another model or an older format fails clearly.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "framework/error.h"

namespace recfuse::models {

constexpr uint32_t kModelMagic = 0x52464d31;  // "RFM1"
constexpr uint32_t kModelFormatVersion = 1;

void WriteHeader(std::ostream& out, const std::string& model_name);
// Throws framework::Error if the header is not recfuse's or names another model.
void ReadHeader(std::istream& in, const std::string& model_name);

template <typename T>
void WritePod(std::ostream& out, const T& v) {
  out.write(reinterpret_cast<const char*>(&v), sizeof v);
}
template <typename T>
T ReadPod(std::istream& in) {
  T v{};
  in.read(reinterpret_cast<char*>(&v), sizeof v);
  if (!in) throw framework::Error("model file truncated");
  return v;
}

template <typename Derived>
void WriteMatrix(std::ostream& out, const Eigen::PlainObjectBase<Derived>& m) {
  WritePod<int64_t>(out, m.rows());
  WritePod<int64_t>(out, m.cols());
  out.write(reinterpret_cast<const char*>(m.data()),
            static_cast<std::streamsize>(sizeof(typename Derived::Scalar) * m.size()));
}
template <typename Derived>
void ReadMatrix(std::istream& in, Eigen::PlainObjectBase<Derived>& m) {
  const int64_t rows = ReadPod<int64_t>(in), cols = ReadPod<int64_t>(in);
  if (rows < 0 || cols < 0 || rows * cols > (int64_t{1} << 34))
    throw framework::Error("model file corrupt: bad matrix shape");
  m.resize(rows, cols);
  in.read(reinterpret_cast<char*>(m.data()),
          static_cast<std::streamsize>(sizeof(typename Derived::Scalar) * m.size()));
  if (!in) throw framework::Error("model file truncated");
}
template <typename T>
void WriteVector(std::ostream& out, const std::vector<T>& v) {
  WritePod<int64_t>(out, static_cast<int64_t>(v.size()));
  out.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(sizeof(T) * v.size()));
}
template <typename T>
void ReadVector(std::istream& in, std::vector<T>& v) {
  const int64_t n = ReadPod<int64_t>(in);
  if (n < 0 || n > (int64_t{1} << 34)) throw framework::Error("model file corrupt: bad length");
  v.resize(static_cast<size_t>(n));
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(sizeof(T) * v.size()));
  if (!in) throw framework::Error("model file truncated");
}

}  // namespace recfuse::models
