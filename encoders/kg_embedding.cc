#include "encoders/kg_embedding.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "encoders/kg_features.h"
#include "encoders/threads.h"
#include "framework/error.h"
#include "framework/log.h"
#include "framework/sysinfo.h"

namespace recfuse::encoders {
namespace {

torch::Tensor Ids(const std::vector<int64_t>& v) { return torch::tensor(v, torch::kInt64); }

torch::Tensor MarginLoss(const torch::Tensor& pos, const torch::Tensor& neg, int64_t k, double margin) {
  return torch::relu(margin + pos.repeat_interleave(k) - neg).mean();
}

int64_t NegativesPerPositive(const torch::Tensor& h, const torch::Tensor& h_neg) {
  RF_CHECK(h.numel() > 0 && h_neg.numel() % h.numel() == 0 && h_neg.numel() > 0,
           "KG loss: negatives must be a positive multiple of the positives");
  return h_neg.numel() / h.numel();
}

void CheckOptions(const KgTrainOptions& o) {
  if (o.method != "transe" && o.method != "transr")
    throw framework::ConfigError("kg method must be transe or transr, got '" + o.method + "'");
  if (o.dim < 1) throw framework::ConfigError("kg dim must be >= 1, got " + std::to_string(o.dim));
  if (o.epochs < 0 || o.transe_pretrain_epochs < 0) throw framework::ConfigError("kg epochs must be >= 0");
  if (!(o.lr > 0)) throw framework::ConfigError("kg lr must be > 0");
  if (!(o.margin > 0)) throw framework::ConfigError("kg margin must be > 0");
  if (o.p != 1 && o.p != 2) throw framework::ConfigError("kg p must be 1 or 2, got " + std::to_string(o.p));
  if (o.batch_size < 1 || o.negatives < 1) throw framework::ConfigError("kg batch_size and negatives must be >= 1");
  if (o.threads < 1) throw framework::ConfigError("kg threads must be >= 1");
}

// One seeded Adam run over `triples`; the module supplies Loss() and NormalizeEntities().
template <typename Module>
void TrainLoop(Module& module, const std::vector<datasets::Triple>& triples, int64_t num_entities,
               const KgTrainOptions& o, int epochs, framework::Rng& rng, std::vector<double>* epoch_loss) {
  torch::optim::Adam optim(module->parameters(), torch::optim::AdamOptions(o.lr));
  std::vector<size_t> order(triples.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::vector<datasets::Triple> batch;
  std::vector<int64_t> h, r, t;
  module->NormalizeEntities();
  for (int e = 0; e < epochs; ++e) {
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.UniformInt(i)]);
    double sum = 0;
    int64_t batches = 0;
    for (size_t start = 0; start < order.size(); start += static_cast<size_t>(o.batch_size)) {
      const size_t end = std::min(order.size(), start + static_cast<size_t>(o.batch_size));
      batch.clear();
      h.clear(), r.clear(), t.clear();
      for (size_t k = start; k < end; ++k) {
        const auto& x = triples[order[k]];
        batch.push_back(x);
        h.push_back(x.head), r.push_back(x.relation), t.push_back(x.tail);
      }
      const Corruptions neg = CorruptTriples(batch, num_entities, o.negatives, rng);
      optim.zero_grad();
      const torch::Tensor loss = module->Loss(Ids(h), Ids(r), Ids(t), Ids(neg.heads), Ids(neg.tails));
      loss.backward();
      optim.step();
      module->NormalizeEntities();
      sum += loss.item<double>();
      ++batches;
    }
    if (epoch_loss) epoch_loss->push_back(batches ? sum / static_cast<double>(batches) : 0.0);
  }
}

uint64_t TripleKey(int64_t h, int64_t r, int64_t t, int64_t num_entities, int64_t num_relations) {
  return (static_cast<uint64_t>(h) * static_cast<uint64_t>(num_relations) + static_cast<uint64_t>(r)) *
             static_cast<uint64_t>(num_entities) +
         static_cast<uint64_t>(t);
}

}  // namespace

// -------------------------------------------------------------------------------------- TransE

TransEImpl::TransEImpl(const TransEOptions& o) : options(o) {
  RF_CHECK(o.num_entities() > 0 && o.num_relations() > 0 && o.dim() > 0 && (o.p() == 1 || o.p() == 2),
           "TransE: bad options");
  entity = register_module("entity", torch::nn::Embedding(o.num_entities(), o.dim()));
  relation = register_module("relation", torch::nn::Embedding(o.num_relations(), o.dim()));
  // Bordes et al.: uniform(-6/sqrt(k), 6/sqrt(k)), relations normalised once at the start.
  const double bound = 6.0 / std::sqrt(static_cast<double>(o.dim()));
  torch::NoGradGuard no_grad;
  entity->weight.uniform_(-bound, bound);
  relation->weight.uniform_(-bound, bound);
  relation->weight.div_(relation->weight.norm(2, 1, true));
  NormalizeEntities();
}

torch::Tensor TransEImpl::forward(const torch::Tensor& h, const torch::Tensor& r, const torch::Tensor& t) {
  return (entity(h) + relation(r) - entity(t)).norm(options.p(), -1);
}

torch::Tensor TransEImpl::Loss(const torch::Tensor& h, const torch::Tensor& r, const torch::Tensor& t,
                               const torch::Tensor& h_neg, const torch::Tensor& t_neg) {
  const int64_t k = NegativesPerPositive(h, h_neg);
  return MarginLoss(forward(h, r, t), forward(h_neg, r.repeat_interleave(k), t_neg), k, options.margin());
}

torch::Tensor TransEImpl::AllTails(const torch::Tensor& h, const torch::Tensor& r) {
  return torch::cdist(entity(h) + relation(r), entity->weight, static_cast<double>(options.p()));
}

torch::Tensor TransEImpl::AllHeads(const torch::Tensor& r, const torch::Tensor& t) {
  // ||e + r - t|| = ||e - (t - r)||.
  return torch::cdist(entity(t) - relation(r), entity->weight, static_cast<double>(options.p()));
}

void TransEImpl::NormalizeEntities() {
  torch::NoGradGuard no_grad;
  entity->weight.div_(entity->weight.norm(2, 1, true).clamp_min(1e-12));
}

// -------------------------------------------------------------------------------------- TransR

TransRImpl::TransRImpl(const TransROptions& o) : options(o) {
  RF_CHECK(o.num_entities() > 0 && o.num_relations() > 0 && o.dim() > 0 && o.relation_dim() > 0 &&
               (o.p() == 1 || o.p() == 2),
           "TransR: bad options");
  entity = register_module("entity", torch::nn::Embedding(o.num_entities(), o.dim()));
  relation = register_module("relation", torch::nn::Embedding(o.num_relations(), o.relation_dim()));
  projection = register_parameter("projection", torch::empty({o.num_relations(), o.dim(), o.relation_dim()}));
  torch::NoGradGuard no_grad;
  torch::nn::init::xavier_uniform_(entity->weight);
  torch::nn::init::xavier_uniform_(relation->weight);
  // Near-identity projections: start close to TransE's geometry, random enough to differ per relation.
  projection.copy_(torch::eye(o.dim(), o.relation_dim()).unsqueeze(0).repeat({o.num_relations(), 1, 1}) +
                   0.1 * torch::randn({o.num_relations(), o.dim(), o.relation_dim()}) /
                       std::sqrt(static_cast<double>(o.dim())));
  NormalizeEntities();
}

torch::Tensor TransRImpl::forward(const torch::Tensor& h, const torch::Tensor& r, const torch::Tensor& t) {
  // Grouped by relation: gathering one M_r per triple ([B, dim, rdim]) costs B * dim * rdim
  // memory and a scatter-add backward; one matmul per distinct relation does not.
  const int64_t n = h.size(0);
  const torch::Tensor eh = entity(h), et = entity(t);
  torch::Tensor diff = torch::zeros({n, options.relation_dim()}, eh.options());
  const torch::Tensor uniq = std::get<0>(torch::_unique(r));
  for (int64_t i = 0; i < uniq.size(0); ++i) {
    const int64_t rel = uniq[i].item<int64_t>();
    const torch::Tensor rows = (r == rel).nonzero().squeeze(1);
    const torch::Tensor d = (eh.index_select(0, rows) - et.index_select(0, rows)).matmul(projection[rel]);
    diff = diff.index_copy(0, rows, d);
  }
  // h M_r - t M_r = (h - t) M_r.
  return (diff + relation(r)).norm(options.p(), -1);
}

torch::Tensor TransRImpl::Loss(const torch::Tensor& h, const torch::Tensor& r, const torch::Tensor& t,
                               const torch::Tensor& h_neg, const torch::Tensor& t_neg) {
  const int64_t k = NegativesPerPositive(h, h_neg);
  return MarginLoss(forward(h, r, t), forward(h_neg, r.repeat_interleave(k), t_neg), k, options.margin());
}

namespace {

// Distances [B, n] for queries sharing nothing but the entity table: grouped by relation so
// each relation's projected entity table is computed once.
template <typename QueryFn>
torch::Tensor PerRelation(const torch::Tensor& r, int64_t num_entities, QueryFn fn) {
  torch::Tensor out = torch::empty({r.size(0), num_entities});
  const torch::Tensor uniq = std::get<0>(torch::_unique(r));
  for (int64_t i = 0; i < uniq.size(0); ++i) {
    const int64_t rel = uniq[i].item<int64_t>();
    const torch::Tensor rows = (r == rel).nonzero().squeeze(1);
    out.index_copy_(0, rows, fn(rel, rows));
  }
  return out;
}

}  // namespace

torch::Tensor TransRImpl::AllTails(const torch::Tensor& h, const torch::Tensor& r) {
  return PerRelation(r, options.num_entities(), [&](int64_t rel, const torch::Tensor& rows) {
    const torch::Tensor m = projection[rel];
    const torch::Tensor q = entity(h.index_select(0, rows)).matmul(m) + relation->weight[rel];
    return torch::cdist(q, entity->weight.matmul(m), static_cast<double>(options.p()));
  });
}

torch::Tensor TransRImpl::AllHeads(const torch::Tensor& r, const torch::Tensor& t) {
  return PerRelation(r, options.num_entities(), [&](int64_t rel, const torch::Tensor& rows) {
    const torch::Tensor m = projection[rel];
    const torch::Tensor q = entity(t.index_select(0, rows)).matmul(m) - relation->weight[rel];
    return torch::cdist(q, entity->weight.matmul(m), static_cast<double>(options.p()));
  });
}

void TransRImpl::NormalizeEntities() {
  torch::NoGradGuard no_grad;
  entity->weight.renorm_(2, 0, 1.0);
  relation->weight.renorm_(2, 0, 1.0);
}

void TransRImpl::InitFromTransE(TransEImpl& transe) {
  RF_CHECK(transe.options.num_entities() == options.num_entities() &&
               transe.options.num_relations() == options.num_relations() &&
               transe.options.dim() == options.dim() && options.dim() == options.relation_dim(),
           "TransR::InitFromTransE: sizes differ (needs dim == relation_dim == TransE dim)");
  torch::NoGradGuard no_grad;
  entity->weight.copy_(transe.entity->weight);
  relation->weight.copy_(transe.relation->weight);
  projection.copy_(torch::eye(options.dim()).unsqueeze(0).repeat({options.num_relations(), 1, 1}));
}

// ------------------------------------------------------------------------------------ training

Corruptions CorruptTriples(std::span<const datasets::Triple> positives, int64_t num_entities,
                           int negatives, framework::Rng& rng) {
  RF_CHECK(num_entities >= 2, "corrupting triples needs at least 2 entities");
  RF_CHECK(negatives >= 1, "negatives per positive must be >= 1");
  Corruptions c;
  c.heads.reserve(positives.size() * static_cast<size_t>(negatives));
  c.tails.reserve(positives.size() * static_cast<size_t>(negatives));
  for (const auto& x : positives) {
    for (int k = 0; k < negatives; ++k) {
      const bool head = rng.Next() >> 63;
      const int64_t original = head ? x.head : x.tail;
      // Uniform over the other n - 1 entities: draw from [0, n-1) and skip the original.
      int64_t e = static_cast<int64_t>(rng.UniformInt(static_cast<uint64_t>(num_entities - 1)));
      if (e >= original) ++e;
      c.heads.push_back(head ? e : x.head);
      c.tails.push_back(head ? x.tail : e);
    }
  }
  return c;
}

KgTrainResult TrainKgEmbedding(const datasets::Dataset& data, const KgTrainOptions& o) {
  CheckOptions(o);
  framework::Stopwatch watch;
  std::vector<datasets::Triple> triples;
  if (o.train_triples) {
    for (const int64_t i : *o.train_triples) {
      RF_CHECK(i >= 0 && static_cast<size_t>(i) < data.kg.size(), "kg train triple index out of range");
      triples.push_back(data.kg[static_cast<size_t>(i)]);
    }
  } else {
    triples = data.kg;
  }
  if (triples.empty())
    throw framework::MissingModalityError("dataset '" + data.name + "' has no knowledge-graph triples to train on");
  const int64_t ne = data.entities.size(), nr = data.relations.size();
  for (const auto& x : triples) {
    RF_CHECK(x.head >= 0 && x.head < ne && x.tail >= 0 && x.tail < ne && x.relation >= 0 && x.relation < nr,
             "kg triple refers to an entity or relation outside the dataset's id spaces");
  }
  encoders::SetTorchThreads(o.threads);
  torch::manual_seed(o.seed);
  framework::Rng rng(framework::DeriveSeed(o.seed, 0x6b67));
  KgTrainResult res;
  res.method = o.method;
  if (o.method == "transe") {
    res.transe = TransE(TransEOptions(ne, nr, o.dim).p(o.p).margin(o.margin));
    TrainLoop(res.transe, triples, ne, o, o.epochs, rng, &res.epoch_loss);
    res.entities = res.transe->entity->weight.detach().clone();
  } else {
    res.transr = TransR(TransROptions(ne, nr, o.dim).p(o.p).margin(o.margin));
    if (o.transe_pretrain_epochs > 0) {
      TransE pre(TransEOptions(ne, nr, o.dim).p(o.p).margin(o.margin));
      TrainLoop(pre, triples, ne, o, o.transe_pretrain_epochs, rng, nullptr);
      res.transr->InitFromTransE(*pre);
    }
    TrainLoop(res.transr, triples, ne, o, o.epochs, rng, &res.epoch_loss);
    res.entities = res.transr->entity->weight.detach().clone();
  }
  res.seconds = watch.Seconds();
  return res;
}

// ---------------------------------------------------------------------------------- evaluation

LinkPredictionMetrics EvaluateLinkPrediction(const KgTrainResult& model, std::span<const datasets::Triple> test,
                                             std::span<const datasets::Triple> known, const std::vector<int>& ks) {
  // Holders share the module: copies give the non-const access AllTails() needs.
  TransE transe = model.transe;
  TransR transr = model.transr;
  const bool is_transe = !transe.is_empty();
  RF_CHECK(is_transe || !transr.is_empty(), "EvaluateLinkPrediction: untrained model");
  const int64_t ne = is_transe ? transe->options.num_entities() : transr->options.num_entities();
  const int64_t nr = is_transe ? transe->options.num_relations() : transr->options.num_relations();
  std::unordered_set<uint64_t> known_set;
  known_set.reserve(known.size() * 2);
  for (const auto& x : known) known_set.insert(TripleKey(x.head, x.relation, x.tail, ne, nr));
  LinkPredictionMetrics m;
  m.ks = ks;
  m.hits.assign(ks.size(), 0.0);
  torch::NoGradGuard no_grad;
  constexpr size_t kChunk = 256;
  for (size_t start = 0; start < test.size(); start += kChunk) {
    const size_t end = std::min(test.size(), start + kChunk);
    std::vector<int64_t> h, r, t;
    for (size_t i = start; i < end; ++i) {
      RF_CHECK(test[i].head >= 0 && test[i].head < ne && test[i].tail >= 0 && test[i].tail < ne &&
                   test[i].relation >= 0 && test[i].relation < nr,
               "test triple outside the model's id spaces");
      h.push_back(test[i].head), r.push_back(test[i].relation), t.push_back(test[i].tail);
    }
    const torch::Tensor th = Ids(h), tr = Ids(r), tt = Ids(t);
    const torch::Tensor tails = (is_transe ? transe->AllTails(th, tr) : transr->AllTails(th, tr)).contiguous();
    const torch::Tensor heads = (is_transe ? transe->AllHeads(tr, tt) : transr->AllHeads(tr, tt)).contiguous();
    const auto ta = tails.accessor<float, 2>();
    const auto ha = heads.accessor<float, 2>();
    for (size_t q = 0; q < end - start; ++q) {
      for (int side = 0; side < 2; ++side) {
        const auto row = side == 0 ? ta[q] : ha[q];
        const int64_t truth = side == 0 ? t[q] : h[q];
        const float d = row[truth];
        int64_t rank = 1;
        for (int64_t e = 0; e < ne; ++e) {
          if (e == truth || !(row[e] < d)) continue;
          const uint64_t key = side == 0 ? TripleKey(h[q], r[q], e, ne, nr) : TripleKey(e, r[q], t[q], ne, nr);
          if (known_set.count(key)) continue;
          ++rank;
        }
        m.mrr += 1.0 / static_cast<double>(rank);
        for (size_t k = 0; k < ks.size(); ++k) m.hits[k] += rank <= ks[k] ? 1.0 : 0.0;
        ++m.queries;
      }
    }
  }
  if (m.queries > 0) {
    m.mrr /= static_cast<double>(m.queries);
    for (double& x : m.hits) x /= static_cast<double>(m.queries);
  }
  return m;
}

double FilteredMrr(const KgTrainResult& model, std::span<const datasets::Triple> test,
                   std::span<const datasets::Triple> known) {
  return EvaluateLinkPrediction(model, test, known, {}).mrr;
}

// ------------------------------------------------------------------------------ frozen features

ItemFeatures KgFeatures(const datasets::Dataset& data, const std::string& method, int dim, const EncodeContext& ctx) {
  KgTrainOptions o;
  o.method = method;
  o.dim = dim;
  o.seed = ctx.seed;
  o.threads = std::max(1, ctx.threads);
  if (method == "transr") o.transe_pretrain_epochs = o.epochs / 2;
  // libtorch's dense Adam step touches the whole entity table (~60 ms for 35k x 64 on one
  // core), so the number of steps, not of triples, sets the cost: at most ~20 steps an epoch.
  o.batch_size = std::max<int>(o.batch_size, static_cast<int>((data.kg.size() + 19) / 20));
  CheckOptions(o);
  if (data.kg.empty()) throw framework::MissingModalityError("dataset '" + data.name + "' has no knowledge graph (kg)");
  const auto linked = std::count_if(data.item_entity.begin(), data.item_entity.end(),
                                    [](datasets::Index e) { return e != datasets::kNoId; });
  if (linked == 0) throw framework::MissingModalityError("dataset '" + data.name + "' links no item to a kg entity");
  const KgTrainResult res = TrainKgEmbedding(data, o);
  std::vector<uint8_t> in_triple(static_cast<size_t>(data.entities.size()), 0);
  for (const auto& x : data.kg) in_triple[static_cast<size_t>(x.head)] = in_triple[static_cast<size_t>(x.tail)] = 1;
  ItemFeatures f;
  f.spec = "kg:" + method + ":" + std::to_string(dim);
  const int64_t ni = data.num_items();
  f.values = FeatureMatrix::Zero(ni, dim);
  f.present.assign(static_cast<size_t>(ni), 0);
  const torch::Tensor ent = res.entities.to(torch::kFloat32).contiguous();
  const auto ea = ent.accessor<float, 2>();
  for (int64_t i = 0; i < ni; ++i) {
    const datasets::Index e = i < static_cast<int64_t>(data.item_entity.size()) ? data.item_entity[i] : datasets::kNoId;
    if (e == datasets::kNoId) continue;
    if (!in_triple[static_cast<size_t>(e)]) {
      ++f.fallbacks;
      continue;
    }
    for (int d = 0; d < dim; ++d) f.values(i, d) = ea[e][d];
    f.present[static_cast<size_t>(i)] = 1;
  }
  f.notes.push_back(method + " dim " + std::to_string(dim) + ", " + std::to_string(o.epochs) + " epochs on " +
                    std::to_string(data.kg.size()) + " triples, final loss " +
                    (res.epoch_loss.empty() ? std::string("n/a") : std::to_string(res.epoch_loss.back())) + ", " +
                    std::to_string(res.seconds) + " s");
  if (f.fallbacks > 0)
    f.notes.push_back(std::to_string(f.fallbacks) + " items linked to entities that occur in no triple: marked absent");
  const int64_t with = std::count(f.present.begin(), f.present.end(), uint8_t{1});
  f.provenance = {{"extractor", "kg"},
                  {"method", method},
                  {"dim", std::to_string(dim)},
                  {"epochs", std::to_string(o.epochs)},
                  {"batch_size", std::to_string(o.batch_size)},
                  {"seed", std::to_string(ctx.seed)},
                  {"triples", std::to_string(data.kg.size())},
                  {"items_linked", std::to_string(linked)},
                  {"items_with_content", std::to_string(with)}};
  if (method == "transr") f.provenance.emplace_back("transe_pretrain_epochs", std::to_string(o.transe_pretrain_epochs));
  return f;
}

}  // namespace recfuse::encoders
