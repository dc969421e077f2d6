#include "models/recommender.h"

#include <algorithm>

#include "framework/error.h"
#include "models/serialize.h"

namespace recfuse::models {

TrainData MakeTrainData(const datasets::Dataset& data, std::span<const int64_t> train_rows,
                        std::span<const int64_t> valid_rows) {
  TrainData td;
  td.dataset = &data;
  td.num_users = data.num_users();
  td.num_items = data.num_items();
  td.train = data.interactions.Select(train_rows);
  td.train_rows.assign(train_rows.begin(), train_rows.end());
  td.valid = data.interactions.Select(valid_rows);
  td.by_user = datasets::BuildUserCsr(td.train, td.num_users);
  std::vector<Eigen::Triplet<float, int64_t>> trips;
  trips.reserve(td.train.size());
  for (Index u = 0; u < td.num_users; ++u) {
    auto row = td.by_user.Row(u);
    std::vector<Index> items(row.begin(), row.end());
    std::sort(items.begin(), items.end());
    items.erase(std::unique(items.begin(), items.end()), items.end());
    for (Index i : items) trips.emplace_back(u, i, 1.0f);
  }
  td.matrix.resize(td.num_users, td.num_items);
  td.matrix.setFromTriplets(trips.begin(), trips.end());
  td.matrix.makeCompressed();
  return td;
}

float Recommender::PredictRating(Index, Index) const {
  throw framework::Error("this model does not predict ratings");
}

void WriteHeader(std::ostream& out, const std::string& model_name) {
  WritePod(out, kModelMagic);
  WritePod(out, kModelFormatVersion);
  WritePod<uint32_t>(out, static_cast<uint32_t>(model_name.size()));
  out.write(model_name.data(), static_cast<std::streamsize>(model_name.size()));
}

void ReadHeader(std::istream& in, const std::string& model_name) {
  uint32_t magic = 0;
  in.read(reinterpret_cast<char*>(&magic), sizeof magic);
  if (!in || magic != kModelMagic) throw framework::Error("not a recfuse model file");
  const auto version = ReadPod<uint32_t>(in);
  if (version != kModelFormatVersion)
    throw framework::Error("model file format version " + std::to_string(version) +
                           " is not supported (expected " + std::to_string(kModelFormatVersion) + ")");
  const auto n = ReadPod<uint32_t>(in);
  if (n > 256) throw framework::Error("model file corrupt: bad name length");
  std::string name(n, '\0');
  in.read(name.data(), n);
  if (!in || name != model_name)
    throw framework::Error("model file holds model '" + name + "', expected '" + model_name + "'");
}

}  // namespace recfuse::models
