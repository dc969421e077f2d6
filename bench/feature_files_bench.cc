// Imported-feature parsing speed (datasets/feature_files.h) on in-memory inputs of MMRec's
// Baby size (7,050 items): a 4,096-d float32 image_feat.npy (115 MB), the same as float64 in
// Fortran order (the slow path: conversion + relayout), a 384-d CSV table, and gunzip of a
// 1M-row .inter. Reports bytes/s of input.
#include <benchmark/benchmark.h>
#include <zlib.h>

#include <cstring>
#include <string>
#include <vector>

#include "datasets/feature_files.h"
#include "datasets/parse_util.h"

namespace rd = recfuse::datasets;

namespace {

constexpr int64_t kItems = 7050;

std::string Npy(const std::string& descr, bool fortran, int64_t rows, int64_t cols, size_t word) {
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") +
                     ", 'shape': (" + std::to_string(rows) + ", " + std::to_string(cols) + "), }";
  dict += std::string((64 - (10 + dict.size() + 1) % 64) % 64, ' ') + "\n";
  std::string out = "\x93NUMPY";
  out.push_back(1);
  out.push_back(0);
  out.push_back(static_cast<char>(dict.size() & 0xff));
  out.push_back(static_cast<char>(dict.size() >> 8));
  out += dict;
  const size_t n = static_cast<size_t>(rows * cols);
  std::string data(n * word, '\0');
  for (size_t k = 0; k < n; ++k) {
    const double v = static_cast<double>(k % 997) / 997.0;
    if (word == 4) {
      const float f = static_cast<float>(v);
      std::memcpy(&data[k * 4], &f, 4);
    } else {
      std::memcpy(&data[k * 8], &v, 8);
    }
  }
  return out + data;
}

void BM_ParseNpyFloat32(benchmark::State& state) {
  static const std::string bytes = Npy("<f4", false, kItems, 4096, 4);
  for (auto _ : state) benchmark::DoNotOptimize(rd::ParseNpy(bytes, "image_feat.npy"));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes.size()));
}
BENCHMARK(BM_ParseNpyFloat32)->Unit(benchmark::kMillisecond);

void BM_ParseNpyFloat64Fortran(benchmark::State& state) {
  static const std::string bytes = Npy("<f8", true, kItems, 384, 8);
  for (auto _ : state) benchmark::DoNotOptimize(rd::ParseNpy(bytes, "text_feat.npy"));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes.size()));
}
BENCHMARK(BM_ParseNpyFloat64Fortran)->Unit(benchmark::kMillisecond);

void BM_ParseFeatureCsv(benchmark::State& state) {
  static const std::string text = [] {
    std::string t = "item_id";
    for (int c = 1; c <= 384; ++c) t += ",f" + std::to_string(c);
    t += "\n";
    for (int64_t i = 0; i < kItems; ++i) {
      t += "B" + std::to_string(i);
      for (int c = 0; c < 384; ++c) t += "," + std::to_string(static_cast<float>((i * 31 + c) % 997) / 997.0f);
      t += "\n";
    }
    return t;
  }();
  for (auto _ : state) benchmark::DoNotOptimize(rd::ParseFeatureCsv(text, "text.csv"));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_ParseFeatureCsv)->Unit(benchmark::kMillisecond);

void BM_GunzipInter(benchmark::State& state) {
  static const std::string gz = [] {
    std::string t = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n";
    for (int64_t r = 0; r < 1000000; ++r)
      t += std::to_string(r % 6040) + "\t" + std::to_string((r * 7919) % 3706) + "\t" + std::to_string(1 + r % 5) +
           "\t" + std::to_string(978300000 + r) + "\n";
    uLongf n = compressBound(static_cast<uLong>(t.size())) + 64;
    std::string out(n, '\0');
    z_stream zs{};
    deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);  // gzip wrapper
    zs.next_in = reinterpret_cast<Bytef*>(t.data());
    zs.avail_in = static_cast<uInt>(t.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    deflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return out;
  }();
  size_t plain = 0;
  for (auto _ : state) {
    const std::string text = rd::internal::Gunzip(gz, "ml-1m.inter.gz");
    plain = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(plain));
  state.counters["compressed_MB"] = static_cast<double>(gz.size()) / 1e6;
}
BENCHMARK(BM_GunzipInter)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
