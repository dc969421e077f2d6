// Stable 64-bit content hashing for data hashes and cache/resume keys. Stable across
// runs and machines (no std::hash, whose values are unspecified).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace recfuse::framework {

class Hasher {
 public:
  Hasher& Add(const void* data, size_t n);
  Hasher& Add(std::string_view s) {
    const uint64_t n = s.size();
    Add(&n, sizeof n);
    return Add(s.data(), s.size());
  }
  template <typename T>
  Hasher& AddPod(const T& v) {
    return Add(&v, sizeof v);
  }
  template <typename T>
  Hasher& AddVector(const std::vector<T>& v) {
    const uint64_t n = v.size();
    Add(&n, sizeof n);
    return Add(v.data(), v.size() * sizeof(T));
  }
  uint64_t Digest() const;
  std::string HexDigest() const;

 private:
  uint64_t h_ = 0x84222325cbf29ce4ULL;
  uint64_t total_ = 0;
};

std::string ToHex(uint64_t v);

}  // namespace recfuse::framework
