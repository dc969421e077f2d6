// Most-popular baseline: every user gets the same ranking, by training interaction count.
// The sanity floor of every comparison (Cremonesi, Koren & Turrin, "Performance of
// recommender algorithms on top-N recommendation tasks", RecSys 2010); counts follow
// RecBole's Pop (each training interaction counts, duplicates included).
#include <algorithm>

#include "models/classic.h"

namespace recfuse::models {
namespace {

constexpr char kName[] = "pop";

class Pop : public Recommender {
 public:
  void Fit(const TrainData& data, const FitContext&) override {
    num_users_ = data.num_users;
    count_ = Eigen::VectorXf::Zero(data.num_items);
    for (Index i : data.train.item) {
      RF_CHECK(i >= 0 && i < data.num_items, "train item id out of range");
      count_[i] += 1.0f;
    }
  }

  void ScoreBlock(std::span<const Index> users, Eigen::Ref<RowMatrixXf> out) const override {
    classic_internal::CheckScoreArgs(kName, users, num_users_, static_cast<Index>(count_.size()),
                                     out);
    for (Eigen::Index k = 0; k < out.rows(); ++k) out.row(k) = count_.transpose();
  }

  void Save(std::ostream& out) const override {
    WriteHeader(out, kName);
    WritePod<int64_t>(out, num_users_);
    WriteMatrix(out, count_);
  }

  void Load(std::istream& in) override {
    ReadHeader(in, kName);
    num_users_ = static_cast<Index>(ReadPod<int64_t>(in));
    ReadMatrix(in, count_);
  }

 private:
  Index num_users_ = 0;
  Eigen::VectorXf count_;  // per item
};

}  // namespace

const std::vector<framework::ParamSpec>& PopParams() {
  static const std::vector<framework::ParamSpec> kParams;
  return kParams;
}

std::unique_ptr<Recommender> MakePop(const framework::Config&) { return std::make_unique<Pop>(); }

}  // namespace recfuse::models
