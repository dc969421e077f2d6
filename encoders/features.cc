#include "encoders/features.h"

#include "datasets/hdf5_util.h"

#include <Eigen/Cholesky>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <numeric>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "framework/config.h"
#include "framework/error.h"
#include "framework/hash.h"
#include "framework/rng.h"

namespace recfuse::encoders {

namespace {

using Hid = datasets::hdf5::Handle;
using QuietErrors = datasets::hdf5::QuietErrors;

void WriteStringAttr(hid_t obj, const char* name, const std::string& value) {
  Hid type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), std::max<size_t>(1, value.size()));
  Hid space(H5Screate(H5S_SCALAR), H5Sclose);
  Hid attr(H5Acreate2(obj, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (!attr.ok() || H5Awrite(attr.get(), type.get(), value.empty() ? " " : value.data()) < 0)
    throw framework::IoError(std::string("HDF5: cannot write attribute ") + name);
}

std::string ReadStringAttr(hid_t obj, const char* name) {
  if (H5Aexists(obj, name) <= 0) return "";
  Hid attr(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
  Hid type(H5Aget_type(attr.get()), H5Tclose);
  std::string out(H5Tget_size(type.get()), '\0');
  Hid mem(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(mem.get(), out.size());
  if (H5Aread(attr.get(), mem.get(), out.data()) < 0) return "";
  while (!out.empty() && (out.back() == '\0' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace

void WriteFeaturesH5(const std::string& path, const datasets::Dataset& data, const ItemFeatures& f) {
  RF_CHECK(f.values.rows() == data.num_items(), "feature rows must equal the number of items");
  RF_CHECK(static_cast<int64_t>(f.present.size()) == data.num_items(), "present mask size");
  std::lock_guard<std::mutex> lock(datasets::hdf5::Mutex());
  QuietErrors quiet;
  datasets::hdf5::WriteFileAtomic(path, [&](hid_t file) {
    const hsize_t dims[2] = {static_cast<hsize_t>(f.values.rows()), static_cast<hsize_t>(f.values.cols())};
    {
      Hid space(H5Screate_simple(2, dims, nullptr), H5Sclose);
      Hid ds(H5Dcreate2(file, "features", H5T_IEEE_F32LE, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
             H5Dclose);
      if (!ds.ok() || (f.values.size() > 0 &&
                       H5Dwrite(ds.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, f.values.data()) < 0))
        throw framework::IoError(path + ": cannot write /features");
    }
    {
      const hsize_t n = f.present.size();
      Hid space(H5Screate_simple(1, &n, nullptr), H5Sclose);
      Hid ds(H5Dcreate2(file, "present", H5T_STD_U8LE, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
             H5Dclose);
      if (!ds.ok() || (n > 0 && H5Dwrite(ds.get(), H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, f.present.data()) < 0))
        throw framework::IoError(path + ": cannot write /present");
    }
    {
      std::vector<const char*> tokens;
      for (const auto& t : data.items.tokens()) tokens.push_back(t.c_str());
      const hsize_t n = tokens.size();
      Hid type(H5Tcopy(H5T_C_S1), H5Tclose);
      H5Tset_size(type.get(), H5T_VARIABLE);
      Hid space(H5Screate_simple(1, &n, nullptr), H5Sclose);
      Hid ds(H5Dcreate2(file, "item_tokens", type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
             H5Dclose);
      if (!ds.ok() || (n > 0 && H5Dwrite(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, tokens.data()) < 0))
        throw framework::IoError(path + ": cannot write /item_tokens");
    }
    Hid root(H5Gopen2(file, "/", H5P_DEFAULT), H5Gclose);
    WriteStringAttr(root.get(), "spec", f.spec);
    WriteStringAttr(root.get(), "data_hash", framework::ToHex(data.ContentHash()));
    WriteStringAttr(root.get(), "fallbacks", std::to_string(f.fallbacks));
    // One JSON array of [key, value] pairs: HDF5 attributes have no order, provenance does
    // (it is printed in the report as recorded).
    nlohmann::json prov = nlohmann::json::array();
    for (const auto& [k, v] : f.provenance) prov.push_back({k, v});
    WriteStringAttr(root.get(), "provenance", prov.dump());
  });
}

ItemFeatures ReadFeaturesH5(const std::string& path, const datasets::Dataset& data) {
  std::lock_guard<std::mutex> lock(datasets::hdf5::Mutex());
  QuietErrors quiet;
  if (!std::filesystem::exists(path)) throw framework::IoError(path + ": no such features file");
  Hid file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.ok()) throw framework::DataError(path, 0, "not an HDF5 file");
  ItemFeatures f;
  Hid root(H5Gopen2(file.get(), "/", H5P_DEFAULT), H5Gclose);
  f.spec = ReadStringAttr(root.get(), "spec");
  if (int64_t v = 0; framework::ParseInt64(ReadStringAttr(root.get(), "fallbacks"), &v)) f.fallbacks = v;
  if (const std::string prov = ReadStringAttr(root.get(), "provenance"); !prov.empty()) {
    const auto j = nlohmann::json::parse(prov, nullptr, /*allow_exceptions=*/false);
    if (!j.is_array()) throw framework::DataError(path, 0, "attribute 'provenance' is not a JSON array");
    for (const auto& kv : j) {
      if (!kv.is_array() || kv.size() != 2 || !kv[0].is_string() || !kv[1].is_string())
        throw framework::DataError(path, 0, "attribute 'provenance' must hold [key, value] string pairs");
      f.provenance.emplace_back(kv[0].get<std::string>(), kv[1].get<std::string>());
    }
  }
  Hid ds(H5Dopen2(file.get(), "features", H5P_DEFAULT), H5Dclose);
  if (!ds.ok()) throw framework::DataError(path, 0, "missing dataset /features");
  Hid space(H5Dget_space(ds.get()), H5Sclose);
  hsize_t dims[2] = {0, 0};
  if (H5Sget_simple_extent_ndims(space.get()) != 2) throw framework::DataError(path, 0, "/features must be 2-D");
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  FeatureMatrix rows(static_cast<Eigen::Index>(dims[0]), static_cast<Eigen::Index>(dims[1]));
  if (rows.size() > 0 && H5Dread(ds.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows.data()) < 0)
    throw framework::DataError(path, 0, "cannot read /features as float32");
  std::vector<uint8_t> present(dims[0], 1);
  {
    Hid pds(H5Dopen2(file.get(), "present", H5P_DEFAULT), H5Dclose);
    if (pds.ok() && dims[0] > 0) H5Dread(pds.get(), H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, present.data());
  }
  Hid tds(H5Dopen2(file.get(), "item_tokens", H5P_DEFAULT), H5Dclose);
  if (!tds.ok()) throw framework::DataError(path, 0, "missing dataset /item_tokens");
  Hid tspace(H5Dget_space(tds.get()), H5Sclose);
  hsize_t n = 0;
  H5Sget_simple_extent_dims(tspace.get(), &n, nullptr);
  if (n != dims[0])
    throw framework::DataError(path, 0, "/item_tokens has " + std::to_string(n) + " rows but /features has " +
                                            std::to_string(dims[0]));
  std::vector<char*> tokens(n, nullptr);
  Hid ttype(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(ttype.get(), H5T_VARIABLE);
  if (n > 0 && H5Dread(tds.get(), ttype.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, tokens.data()) < 0)
    throw framework::DataError(path, 0, "cannot read /item_tokens as variable-length strings");
  f.values = FeatureMatrix::Zero(data.num_items(), static_cast<Eigen::Index>(dims[1]));
  f.present.assign(static_cast<size_t>(data.num_items()), 0);
  int64_t unknown = 0;
  for (hsize_t r = 0; r < n; ++r) {
    const datasets::Index id = tokens[r] ? data.items.Find(tokens[r]) : datasets::kNoId;
    if (id == datasets::kNoId) {
      ++unknown;
      continue;
    }
    f.values.row(id) = rows.row(static_cast<Eigen::Index>(r));
    f.present[id] = present[r];
  }
  {
    Hid mem_space(H5Dget_space(tds.get()), H5Sclose);
    H5Dvlen_reclaim(ttype.get(), mem_space.get(), H5P_DEFAULT, tokens.data());
  }
  if (unknown > 0)
    f.notes.push_back(path + ": " + std::to_string(unknown) + " rows name items not in the dataset (ignored)");
  return f;
}

double LinearProbeAccuracy(const FeatureMatrix& x, const std::vector<int>& labels, double ridge,
                           double train_fraction, uint64_t seed) {
  RF_CHECK(static_cast<size_t>(x.rows()) == labels.size(), "probe: one label per row");
  std::vector<int64_t> rows;
  int num_classes = 0;
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] >= 0) {
      rows.push_back(static_cast<int64_t>(i));
      num_classes = std::max(num_classes, labels[i] + 1);
    }
  framework::Rng rng(seed);
  rng.Shuffle(rows);
  const size_t n_train = static_cast<size_t>(train_fraction * static_cast<double>(rows.size()));
  RF_CHECK(n_train > 0 && n_train < rows.size(), "probe: both parts must be non-empty");
  const Eigen::Index d = x.cols() + 1;  // + intercept
  Eigen::MatrixXd xt(static_cast<Eigen::Index>(n_train), d);
  Eigen::MatrixXd y = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(n_train), num_classes);
  // Standardise with train statistics so one ridge value suits every feature scale.
  Eigen::RowVectorXd mean = Eigen::RowVectorXd::Zero(x.cols()), sd = Eigen::RowVectorXd::Zero(x.cols());
  for (size_t k = 0; k < n_train; ++k) mean += x.row(rows[k]).cast<double>();
  mean /= static_cast<double>(n_train);
  for (size_t k = 0; k < n_train; ++k) sd += (x.row(rows[k]).cast<double>() - mean).array().square().matrix();
  sd = (sd / static_cast<double>(n_train)).array().sqrt().max(1e-8).matrix();
  auto standard = [&](int64_t r) {
    Eigen::RowVectorXd v(d);
    v.head(x.cols()) = ((x.row(r).cast<double>() - mean).array() / sd.array()).matrix();
    v(x.cols()) = 1.0;
    return v;
  };
  for (size_t k = 0; k < n_train; ++k) {
    xt.row(static_cast<Eigen::Index>(k)) = standard(rows[k]);
    y(static_cast<Eigen::Index>(k), labels[rows[k]]) = 1.0;
  }
  Eigen::MatrixXd gram = xt.transpose() * xt;
  gram.diagonal().array() += ridge;
  const Eigen::MatrixXd w = gram.ldlt().solve(xt.transpose() * y);
  size_t correct = 0;
  for (size_t k = n_train; k < rows.size(); ++k) {
    Eigen::Index best;
    (standard(rows[k]) * w).maxCoeff(&best);
    correct += static_cast<int>(best) == labels[rows[k]];
  }
  return static_cast<double>(correct) / static_cast<double>(rows.size() - n_train);
}

}  // namespace recfuse::encoders
