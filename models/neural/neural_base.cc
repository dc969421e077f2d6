#include "models/neural/neural_base.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <sstream>

#include "encoders/features.h"
#include "encoders/threads.h"
#include "framework/error.h"
#include "framework/io.h"
#include "framework/log.h"
#include "framework/sysinfo.h"
#include "models/classic.h"
#include "models/serialize.h"

namespace recfuse::models::neural {

using framework::ParamSpec;
using framework::ParamType;

std::vector<ParamSpec> TrainParams(const TrainDefaults& d) {
  return {
      {"epochs", ParamType::kInt, std::to_string(d.epochs), "maximum training epochs", 1, 1e6, {}},
      {"batch_size", ParamType::kInt, std::to_string(d.batch_size), "examples per optimiser step", 1, 1e7, {}},
      {"lr", ParamType::kFloat, std::to_string(d.lr), "learning rate", 1e-9, 10, {}},
      {"weight_decay", ParamType::kFloat, std::to_string(d.weight_decay),
       "L2 weight decay (decoupled for adamw)", 0, 10, {}},
      {"optimizer", ParamType::kString, "adam", "optimiser", 0, 0, {"adam", "adamw", "sgd", "adagrad"}},
      {"lr_schedule", ParamType::kString, "none", "learning-rate schedule over epochs", 0, 0,
       {"none", "cosine", "step"}},
      {"warmup_epochs", ParamType::kInt, "0", "linear learning-rate warm-up epochs", 0, 1e6, {}},
      {"lr_step_epochs", ParamType::kInt, "10", "step schedule: epochs between decays", 1, 1e6, {}},
      {"lr_gamma", ParamType::kFloat, "0.5", "step schedule: decay factor", 1e-6, 1, {}},
      {"patience", ParamType::kInt, std::to_string(d.patience),
       "early stopping: validations without improvement (0 = train all epochs)", 0, 1e6, {}},
      {"eval_every", ParamType::kInt, "1", "validate every N epochs", 1, 1e6, {}},
      {"grad_clip", ParamType::kFloat, "0", "clip the gradient norm (0 = off)", 0, 1e6, {}},
      {"loss", ParamType::kString, d.loss, "training loss", 0, 0, d.losses},
      {"negatives", ParamType::kInt, std::to_string(d.negatives), "sampled negatives per positive", 1, 10000, {}},
  };
}

TrainOptions ReadTrainOptions(const framework::Config& c, const std::vector<ParamSpec>& specs) {
  TrainOptions o;
  o.epochs = static_cast<int>(c.GetInt(specs, "epochs"));
  o.batch_size = c.GetInt(specs, "batch_size");
  o.lr = c.GetDouble(specs, "lr");
  o.weight_decay = c.GetDouble(specs, "weight_decay");
  o.optimizer = c.GetString(specs, "optimizer");
  o.lr_schedule = c.GetString(specs, "lr_schedule");
  o.warmup_epochs = static_cast<int>(c.GetInt(specs, "warmup_epochs"));
  o.lr_step_epochs = static_cast<int>(c.GetInt(specs, "lr_step_epochs"));
  o.lr_gamma = c.GetDouble(specs, "lr_gamma");
  o.patience = static_cast<int>(c.GetInt(specs, "patience"));
  o.eval_every = static_cast<int>(c.GetInt(specs, "eval_every"));
  o.grad_clip = c.GetDouble(specs, "grad_clip");
  o.loss = c.GetString(specs, "loss");
  o.negatives = static_cast<int>(c.GetInt(specs, "negatives"));
  return o;
}

// ---- losses ----

namespace {
torch::Tensor AsMatrix(const torch::Tensor& neg, int64_t n) { return neg.dim() == 1 ? neg.view({n, 1}) : neg; }
}  // namespace

torch::Tensor BprLoss(const torch::Tensor& pos, const torch::Tensor& neg) {
  const torch::Tensor n = AsMatrix(neg, pos.size(0));
  return -torch::nn::functional::logsigmoid(pos.unsqueeze(1) - n).mean();
}

torch::Tensor BceLoss(const torch::Tensor& pos, const torch::Tensor& neg) {
  const torch::Tensor n = AsMatrix(neg, pos.size(0));
  // Positives and negatives weigh equally per example, whatever the number of negatives.
  const torch::Tensor lp = -torch::nn::functional::logsigmoid(pos);
  const torch::Tensor ln = -torch::nn::functional::logsigmoid(-n).mean(1);
  return (lp + ln).mean();
}

torch::Tensor PairLoss(const std::string& loss, const torch::Tensor& pos, const torch::Tensor& neg) {
  if (loss == "bpr") return BprLoss(pos, neg);
  if (loss == "bce") return BceLoss(pos, neg);
  if (loss == "softmax") return SampledSoftmaxLoss(pos, neg);
  throw framework::ConfigError("unknown pairwise loss '" + loss + "' (bpr, bce, softmax)");
}

torch::Tensor SampledSoftmaxLoss(const torch::Tensor& pos, const torch::Tensor& neg) {
  const torch::Tensor logits = torch::cat({pos.unsqueeze(1), AsMatrix(neg, pos.size(0))}, 1);
  return -torch::log_softmax(logits, 1).select(1, 0).mean();
}

// ---- sampling ----

PairSampler::PairSampler(const TrainData& td) : td_(&td) {
  const auto& m = td.matrix;
  users_.reserve(static_cast<size_t>(m.nonZeros()));
  items_.reserve(static_cast<size_t>(m.nonZeros()));
  for (Index u = 0; u < td.num_users; ++u)
    for (SpMat::InnerIterator it(m, u); it; ++it) {
      users_.push_back(u);
      items_.push_back(static_cast<Index>(it.col()));
    }
  order_.resize(users_.size());
  std::iota(order_.begin(), order_.end(), 0);
  std::vector<bool> warm(static_cast<size_t>(td.num_items), false);
  for (const Index i : items_) warm[static_cast<size_t>(i)] = true;
  for (Index i = 0; i < td.num_items; ++i)
    if (warm[static_cast<size_t>(i)]) warm_.push_back(i);
}

void PairSampler::Shuffle(framework::Rng& rng) {
  std::iota(order_.begin(), order_.end(), 0);
  for (size_t i = order_.size(); i > 1; --i) std::swap(order_[i - 1], order_[rng.UniformInt(i)]);
}

bool PairSampler::IsPositive(Index user, Index item) const {
  const auto& m = td_->matrix;
  const int64_t* begin = m.innerIndexPtr() + m.outerIndexPtr()[user];
  const int64_t* end = m.innerIndexPtr() + m.outerIndexPtr()[user + 1];
  return std::binary_search(begin, end, static_cast<int64_t>(item));
}

Index PairSampler::SampleNegative(Index user, framework::Rng& rng) const {
  // Only warm items: an item with no training interaction would only ever appear as a
  // negative, which teaches a content model that "content without ID evidence" is bad and
  // sinks every cold item (measured: mmfusion's cold-item recall@20 on the default synthetic
  // world was 0.005, below random).
  if (warm_.empty()) return static_cast<Index>(rng.UniformInt(static_cast<uint64_t>(td_->num_items)));
  const auto n = static_cast<uint64_t>(warm_.size());
  const int64_t seen = td_->matrix.outerIndexPtr()[user + 1] - td_->matrix.outerIndexPtr()[user];
  if (seen >= static_cast<int64_t>(n)) return warm_[rng.UniformInt(n)];  // nothing unseen
  for (;;) {
    const Index j = warm_[rng.UniformInt(n)];
    if (!IsPositive(user, j)) return j;
  }
}

PairSampler::Batch PairSampler::Get(int64_t begin, int64_t end, int negatives, framework::Rng& rng) const {
  const int64_t n = end - begin;
  Batch b;
  b.users = torch::empty({n}, torch::kInt64);
  b.pos = torch::empty({n}, torch::kInt64);
  b.neg = torch::empty({n, negatives}, torch::kInt64);
  auto* u = b.users.data_ptr<int64_t>();
  auto* p = b.pos.data_ptr<int64_t>();
  auto* q = b.neg.data_ptr<int64_t>();
  for (int64_t k = 0; k < n; ++k) {
    const int64_t r = order_[static_cast<size_t>(begin + k)];
    u[k] = users_[static_cast<size_t>(r)];
    p[k] = items_[static_cast<size_t>(r)];
    for (int j = 0; j < negatives; ++j) q[k * negatives + j] = SampleNegative(static_cast<Index>(u[k]), rng);
  }
  return b;
}

// ---- features ----

ModalityTable AbsentModality(const std::string& spec, const std::string& model_name, const std::string& switch_name,
                             const std::string& reason, const std::string& consequence) {
  RF_LOG(Warn) << model_name << ": modality '" << switch_name.substr(switch_name.rfind('_') + 1) << "' ('" << spec
               << "') is absent: " << reason << "; masked out, the model "
               << (consequence.empty() ? "trains as with " + switch_name + "=false" : consequence);
  ModalityTable t;
  t.spec = spec;
  t.available = false;
  return t;
}

ModalityTable LoadModality(const TrainData& td, const FitContext& ctx, const std::string& spec,
                           const std::string& model_name, const std::string& switch_name,
                           const std::string& consequence) {
  encoders::EncodeContext ectx;
  ectx.train_rows = &td.train_rows;
  ectx.seed = ctx.seed;
  ectx.threads = std::max(1, ctx.threads);
  ectx.cache_dir = ctx.cache_dir;
  encoders::ItemFeatures f;
  // Encoders that train (KG embeddings) reseed torch's global generator, and only when the
  // features are not cached: restore it, so a model's initialisation does not depend on
  // whether its features came from the cache.
  auto generator = at::detail::getDefaultCPUGenerator();
  const at::Tensor rng_state = generator.get_state();
  try {
    f = encoders::ComputeFrozenFeatures(*td.dataset, spec, ectx);
    generator.set_state(rng_state);
  } catch (const framework::MissingModalityError& e) {
    generator.set_state(rng_state);
    return AbsentModality(spec, model_name, switch_name, e.what(), consequence);
  }
  RF_CHECK(f.values.rows() == td.num_items, "features do not cover the item id space");
  const int64_t present = std::count_if(f.present.begin(), f.present.end(), [](uint8_t p) { return p != 0; });
  if (present == 0)
    return AbsentModality(spec, model_name, switch_name, "no item of the dataset has these features", consequence);
  ModalityTable t;
  t.spec = spec;
  t.dim = f.values.cols();
  t.fallbacks = f.fallbacks;
  t.provenance = f.provenance;
  // Standardise over present items only: absent rows stay exactly zero.
  Eigen::VectorXd mean = Eigen::VectorXd::Zero(t.dim), sq = Eigen::VectorXd::Zero(t.dim);
  for (Index i = 0; i < td.num_items; ++i)
    if (f.present[static_cast<size_t>(i)]) {
      ++t.present;
      const Eigen::VectorXd r = f.values.row(i).transpose().cast<double>();
      mean += r;
      sq += r.cwiseProduct(r);
    }
  mean /= static_cast<double>(t.present);
  const Eigen::VectorXd sd =
      (sq / static_cast<double>(t.present) - mean.cwiseProduct(mean)).cwiseMax(0).cwiseSqrt().cwiseMax(1e-6);
  RowMatrixXf v = RowMatrixXf::Zero(td.num_items, t.dim);
  std::vector<float> mask(static_cast<size_t>(td.num_items), 0.0f);
  for (Index i = 0; i < td.num_items; ++i)
    if (f.present[static_cast<size_t>(i)]) {
      mask[static_cast<size_t>(i)] = 1.0f;
      v.row(i) = ((f.values.row(i).transpose().cast<double>() - mean).cwiseQuotient(sd)).cast<float>().transpose();
    }
  t.values = ToTensor(v);
  t.mask = torch::from_blob(mask.data(), {td.num_items}, torch::kFloat).clone();
  return t;
}

void NeuralRecommender::RecordModality(const std::string& modality, const ModalityTable& t) {
  ModalityUse u;
  u.modality = modality;
  u.spec = t.spec;
  u.available = t.available;
  u.items_present = t.present;
  u.fallbacks = t.fallbacks;
  u.provenance = t.provenance;
  for (auto& m : modalities_used_)
    if (m.modality == modality) {
      m = std::move(u);
      return;
    }
  modalities_used_.push_back(std::move(u));
}

torch::Tensor WarmItemMask(const TrainData& td) {
  torch::Tensor m = torch::zeros({td.num_items}, torch::kFloat);
  auto* p = m.data_ptr<float>();
  const auto& mat = td.matrix;
  for (int64_t k = 0; k < mat.nonZeros(); ++k) p[mat.innerIndexPtr()[k]] = 1.0f;
  return m;
}

void InitAtIdScale(torch::nn::Module& module, double std) {
  torch::NoGradGuard no_grad;
  for (auto& layer : module.modules(/*include_self=*/true))
    if (auto* lin = layer->as<torch::nn::Linear>()) {
      torch::nn::init::normal_(lin->weight, 0, std / std::sqrt(static_cast<double>(lin->weight.size(1))));
      if (lin->bias.defined()) torch::nn::init::zeros_(lin->bias);
    }
}

// ---- state ----

std::string ModuleBytes(torch::nn::Module& module) {
  torch::serialize::OutputArchive archive;
  module.save(archive);
  std::ostringstream out;
  archive.save_to(out);
  return out.str();
}

void LoadModuleBytes(torch::nn::Module& module, const std::string& bytes) {
  std::istringstream in(bytes);
  torch::serialize::InputArchive archive;
  archive.load_from(in);
  module.load(archive);
}

torch::Tensor ToTensor(const RowMatrixXf& m) {
  return torch::from_blob(const_cast<float*>(m.data()), {m.rows(), m.cols()}, torch::kFloat).clone();
}

RowMatrixXf ToEigen(const torch::Tensor& t) {
  const torch::Tensor c = t.detach().to(torch::kFloat).contiguous();
  RF_CHECK(c.dim() == 2, "ToEigen: expected a 2-D tensor");
  RowMatrixXf m(c.size(0), c.size(1));
  std::copy(c.data_ptr<float>(), c.data_ptr<float>() + c.numel(), m.data());
  return m;
}

torch::Tensor Range(int64_t begin, int64_t end) { return torch::arange(begin, end, torch::kInt64); }

// ---- the loop ----

NeuralRecommender::NeuralRecommender(std::string name, TrainOptions options)
    : name_(std::move(name)), opt_(std::move(options)) {}

namespace {

std::unique_ptr<torch::optim::Optimizer> MakeOptimizer(const TrainOptions& o, std::vector<torch::Tensor> params) {
  if (o.optimizer == "adam")
    return std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(o.lr).weight_decay(o.weight_decay));
  if (o.optimizer == "adamw")
    return std::make_unique<torch::optim::AdamW>(params, torch::optim::AdamWOptions(o.lr).weight_decay(o.weight_decay));
  if (o.optimizer == "sgd")
    return std::make_unique<torch::optim::SGD>(params, torch::optim::SGDOptions(o.lr).weight_decay(o.weight_decay));
  if (o.optimizer == "adagrad")
    return std::make_unique<torch::optim::Adagrad>(params,
                                                   torch::optim::AdagradOptions(o.lr).weight_decay(o.weight_decay));
  throw framework::ConfigError("unknown optimizer '" + o.optimizer + "'");
}

double EpochLr(const TrainOptions& o, int epoch) {  // epoch is 1-based
  double lr = o.lr;
  if (o.lr_schedule == "cosine") {
    const double t = static_cast<double>(epoch - 1) / std::max(1, o.epochs);
    lr = o.lr * 0.5 * (1 + std::cos(M_PI * t));
  } else if (o.lr_schedule == "step") {
    lr = o.lr * std::pow(o.lr_gamma, (epoch - 1) / o.lr_step_epochs);
  }
  if (o.warmup_epochs > 0 && epoch <= o.warmup_epochs) lr *= static_cast<double>(epoch) / (o.warmup_epochs + 1);
  return lr;
}

// Rounds before splitting into units (the old code printed "108m60s"); tested in framework.
std::string Duration(double s) { return framework::FormatDuration(s); }

}  // namespace

void NeuralRecommender::Fit(const TrainData& data, const FitContext& ctx) {
  // Process-wide, as libtorch only offers it: cells run one at a time, each sets its own.
  encoders::SetTorchThreads(std::max(1, ctx.threads));
  torch::manual_seed(ctx.seed);
  framework::Rng rng(framework::DeriveSeed(ctx.seed, 0x6e65));
  num_users_ = data.num_users;
  num_items_ = data.num_items;
  fitted_ = false;
  final_inference_ = false;
  modalities_used_.clear();
  Build(data, ctx);
  auto optimizer = MakeOptimizer(opt_, Root().parameters());

  const framework::Stopwatch total;
  double best = -std::numeric_limits<double>::infinity();
  std::string best_state;
  best_epoch_ = 0;
  int stale = 0;
  for (int epoch = 1; epoch <= opt_.epochs; ++epoch) {
    const framework::Stopwatch watch;
    Root().train();
    const double lr = EpochLr(opt_, epoch);
    for (auto& group : optimizer->param_groups()) group.options().set_lr(lr);
    const int64_t n = BeginEpoch(epoch, rng);
    double loss_sum = 0;
    for (int64_t b = 0; b < n; b += opt_.batch_size) {
      const int64_t e = std::min(n, b + opt_.batch_size);
      optimizer->zero_grad();
      torch::Tensor loss = BatchLoss(b, e, rng);
      if (!std::isfinite(loss.item<double>()))
        throw framework::Error(name_ + ": training diverged (loss is not finite) at epoch " + std::to_string(epoch) +
                               "; lower lr or raise weight_decay");
      loss.backward();
      if (opt_.grad_clip > 0) torch::nn::utils::clip_grad_norm_(Root().parameters(), opt_.grad_clip);
      optimizer->step();
      loss_sum += loss.item<double>() * static_cast<double>(e - b);
    }
    EpochRecord rec;
    rec.epoch = epoch;
    rec.loss = n > 0 ? loss_sum / static_cast<double>(n) : 0;
    bool stop = false;
    if (ctx.validate && (epoch % opt_.eval_every == 0 || epoch == opt_.epochs)) {
      {
        torch::NoGradGuard no_grad;
        Root().eval();
        PrepareInference();
      }
      fitted_ = true;
      rec.valid_metric = ctx.validate(*this);
      if (std::isfinite(rec.valid_metric)) {
        if (rec.valid_metric > best) {
          best = rec.valid_metric;
          best_epoch_ = epoch;
          best_state = ModuleBytes(Root());
          stale = 0;
          if (!ctx.checkpoint_dir.empty()) {
            framework::MakeDirs(ctx.checkpoint_dir);
            framework::WriteFileAtomic(ctx.checkpoint_dir + "/" + name_ + ".best.pt", best_state);
          }
        } else if (opt_.patience > 0 && ++stale >= opt_.patience) {
          stop = true;
        }
      }
    }
    rec.seconds = watch.Seconds();
    if (ctx.on_epoch) ctx.on_epoch(rec);
    if (ctx.progress) {
      const double per_epoch = total.Seconds() / epoch;
      char buf[256];
      std::snprintf(buf, sizeof buf, "%s epoch %d/%d loss %.5f", name_.c_str(), epoch, opt_.epochs, rec.loss);
      std::string line = buf;
      if (!std::isnan(rec.valid_metric)) {
        std::snprintf(buf, sizeof buf, "  %s %.4f (best %.4f @%d)",
                      ctx.valid_metric_name.empty() ? "valid" : ctx.valid_metric_name.c_str(), rec.valid_metric,
                      best, best_epoch_);
        line += buf;
      }
      std::snprintf(buf, sizeof buf, "  %.0f ex/s  ETA %s", n / std::max(1e-9, rec.seconds),
                    Duration(per_epoch * (opt_.epochs - epoch)).c_str());
      RF_LOG(Info) << line << buf;
    }
    if (stop) break;
  }
  if (!best_state.empty()) LoadModuleBytes(Root(), best_state);
  torch::NoGradGuard no_grad;
  Root().eval();
  final_inference_ = true;
  PrepareInference();
  fitted_ = true;
}

void NeuralRecommender::CheckScoreArgs(std::span<const Index> users, const Eigen::Ref<RowMatrixXf>& out) const {
  if (!fitted_) throw framework::Error(name_ + ": ScoreBlock before Fit/Load");
  classic_internal::CheckScoreArgs(name_.c_str(), users, num_users_, num_items_, out);
}

void NeuralRecommender::ScoreBlock(std::span<const Index> users, Eigen::Ref<RowMatrixXf> out) const {
  RF_CHECK(dot_product_, name_ + " must override ScoreBlock");
  CheckScoreArgs(users, out);
  classic_internal::ScoreDot(users, user_, item_, item_bias_.size() ? &item_bias_ : nullptr, out);
}

NeuralRecommender::Factors NeuralRecommender::GetFactors() const {
  if (!dot_product_ || !fitted_) return {};
  return {&user_, &item_, item_bias_.size() ? &item_bias_ : nullptr};
}

void NeuralRecommender::Save(std::ostream& out) const {
  RF_CHECK(dot_product_, name_ + " must override Save");
  if (!fitted_) throw framework::Error(name_ + ": Save before Fit");
  WriteHeader(out, name_);
  WriteMatrix(out, user_);
  WriteMatrix(out, item_);
  WriteMatrix(out, item_bias_);
}

void NeuralRecommender::Load(std::istream& in) {
  RF_CHECK(dot_product_, name_ + " must override Load");
  ReadHeader(in, name_);
  ReadMatrix(in, user_);
  ReadMatrix(in, item_);
  ReadMatrix(in, item_bias_);
  if (user_.cols() != item_.cols() || (item_bias_.size() && item_bias_.size() != item_.rows()))
    throw framework::Error(name_ + ": model file corrupt: factor shapes disagree");
  num_users_ = static_cast<Index>(user_.rows());
  num_items_ = static_cast<Index>(item_.rows());
  fitted_ = true;
}

}  // namespace recfuse::models::neural
