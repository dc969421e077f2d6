#include "datasets/stats.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "framework/error.h"
#include "framework/hash.h"

namespace recfuse::datasets {

namespace {

double Fraction(int64_t part, int64_t whole) {
  return whole > 0 ? static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

std::vector<HistogramBin> RatingHistogram(const std::vector<float>& ratings, int64_t* nonfinite) {
  std::map<float, int64_t> distinct;
  float lo = std::numeric_limits<float>::infinity(), hi = -lo;
  *nonfinite = 0;
  for (float r : ratings) {
    if (!std::isfinite(r)) {
      ++*nonfinite;
      continue;
    }
    lo = std::min(lo, r);
    hi = std::max(hi, r);
    // Stop collecting once the values are clearly continuous; bins are used then.
    if (distinct.size() <= DatasetStats::kMaxDistinctRatings) ++distinct[r];
  }
  std::vector<HistogramBin> bins;
  if (distinct.empty()) return bins;
  if (distinct.size() <= DatasetStats::kMaxDistinctRatings) {
    for (const auto& [v, c] : distinct) bins.push_back({v, v, c});
    return bins;
  }
  constexpr int kBins = 10;
  const double width = (static_cast<double>(hi) - lo) / kBins;
  for (int b = 0; b < kBins; ++b) bins.push_back({lo + b * width, lo + (b + 1) * width, 0});
  bins.back().hi = hi;
  for (float r : ratings) {
    if (!std::isfinite(r)) continue;
    const int b = std::min(kBins - 1, static_cast<int>((r - lo) / width));
    ++bins[static_cast<size_t>(b)].count;
  }
  return bins;
}

ModalityCoverage Coverage(const std::string& name, const std::vector<uint8_t>& has,
                          const std::vector<int64_t>& item_degree, int64_t interactions) {
  ModalityCoverage c;
  c.name = name;
  int64_t covered = 0;
  for (size_t i = 0; i < has.size(); ++i)
    if (has[i]) {
      ++c.items;
      covered += item_degree[i];
    }
  c.item_fraction = Fraction(c.items, static_cast<int64_t>(has.size()));
  c.interaction_fraction = Fraction(covered, interactions);
  return c;
}

FieldStats CategoricalStats(const CategoricalField& f, const char* kind, int64_t rows) {
  FieldStats s{f.name, kind, 0, 0, f.values.size()};
  for (const auto& row : f.per_row) s.rows_with_value += !row.empty();
  s.fraction = Fraction(s.rows_with_value, rows);
  return s;
}

FieldStats NumericStats(const NumericField& f, const char* kind, int64_t rows) {
  FieldStats s{f.name, kind, 0, 0, 0};
  for (float v : f.per_row) s.rows_with_value += !std::isnan(v);
  s.fraction = Fraction(s.rows_with_value, rows);
  return s;
}

nlohmann::json DegreeJson(const DegreeStats& d) {
  return {{"min", d.min},       {"max", d.max}, {"mean", d.mean},
          {"median", d.median}, {"p90", d.p90}, {"gini", d.gini}};
}

// The reviews entry of text_sources is the last one, present exactly when there are reviews
// (an item text field may itself be named "reviews").
bool IsReviewSource(const DatasetStats& s, const ModalityCoverage* c) {
  return s.reviews > 0 && !s.text_sources.empty() && c == &s.text_sources.back();
}

std::string Num(double v, int precision = 4) {
  std::ostringstream os;
  os.precision(precision);
  os << v;
  return os.str();
}

std::string Percent(double f) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * f);
  return buf;
}

// Unix seconds as a UTC date, for the timestamps of real logs; other scales print raw only.
std::string MaybeDate(double t) {
  if (!(t >= 0 && t < 4102444800.0)) return "";  // up to 2100-01-01
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return std::string(" (") + buf + ")";
}

}  // namespace

DegreeStats ComputeDegreeStats(std::vector<int64_t> x) {
  DegreeStats d;
  if (x.empty()) return d;
  std::sort(x.begin(), x.end());
  const size_t n = x.size();
  d.min = x.front();
  d.max = x.back();
  double total = 0, weighted = 0;
  for (size_t k = 0; k < n; ++k) {
    total += static_cast<double>(x[k]);
    // Gini = sum_k (2k - n + 1) x_(k) / (n * sum x) with 0-based ranks over sorted x.
    weighted += (2.0 * static_cast<double>(k) - static_cast<double>(n) + 1.0) * x[k];
  }
  d.mean = total / static_cast<double>(n);
  d.median = n % 2 ? static_cast<double>(x[n / 2])
                   : 0.5 * (static_cast<double>(x[n / 2 - 1]) + static_cast<double>(x[n / 2]));
  const double pos = 0.9 * static_cast<double>(n - 1);
  const size_t lo = static_cast<size_t>(pos);
  const size_t hi = std::min(n - 1, lo + 1);
  d.p90 = static_cast<double>(x[lo]) + (pos - static_cast<double>(lo)) * (x[hi] - x[lo]);
  d.gini = total > 0 ? weighted / (static_cast<double>(n) * total) : 0.0;
  return d;
}

DatasetStats ComputeStats(const Dataset& data) {
  const auto& inter = data.interactions;
  DatasetStats s;
  s.name = data.name;
  s.source = data.source;
  s.data_hash = framework::ToHex(data.ContentHash());
  s.users = data.num_users();
  s.items = data.num_items();
  s.interactions = static_cast<int64_t>(inter.size());
  s.density = s.users > 0 && s.items > 0
                  ? static_cast<double>(s.interactions) /
                        (static_cast<double>(s.users) * static_cast<double>(s.items))
                  : 0.0;

  std::vector<int64_t> user_degree(static_cast<size_t>(s.users), 0);
  std::vector<int64_t> item_degree(static_cast<size_t>(s.items), 0);
  std::vector<uint64_t> pairs(inter.size());
  for (size_t r = 0; r < inter.size(); ++r) {
    const Index u = inter.user[r], i = inter.item[r];
    RF_CHECK(u >= 0 && u < s.users && i >= 0 && i < s.items, "interaction id out of range");
    ++user_degree[u];
    ++item_degree[i];
    pairs[r] = (static_cast<uint64_t>(u) << 32) | static_cast<uint32_t>(i);
  }
  std::sort(pairs.begin(), pairs.end());
  for (size_t k = 0; k < pairs.size();) {
    size_t e = k + 1;
    while (e < pairs.size() && pairs[e] == pairs[k]) ++e;
    if (e - k > 1) {
      ++s.duplicate_pairs;
      s.duplicate_rows += static_cast<int64_t>(e - k - 1);
    }
    k = e;
  }
  s.users_without_interactions = std::count(user_degree.begin(), user_degree.end(), 0);
  s.cold_items = std::count(item_degree.begin(), item_degree.end(), 0);

  s.has_rating = inter.has_rating;
  s.has_timestamp = inter.has_timestamp;
  if (inter.has_timestamp && !inter.timestamp.empty()) {
    const auto [mn, mx] = std::minmax_element(inter.timestamp.begin(), inter.timestamp.end());
    s.time_min = *mn;
    s.time_max = *mx;
    s.time_days = (*mx - *mn) / 86400.0;
  }
  if (inter.has_rating) s.rating_histogram = RatingHistogram(inter.rating, &s.nonfinite_ratings);

  s.user_degree = ComputeDegreeStats(user_degree);
  s.item_degree = ComputeDegreeStats(item_degree);

  const size_t ni = static_cast<size_t>(s.items);
  std::vector<uint8_t> has_text = data.ItemHasText();
  has_text.resize(ni, 0);
  std::vector<uint8_t> has_image(ni, 0), has_kg(ni, 0);
  for (size_t i = 0; i < ni && i < data.item_image.size(); ++i)
    has_image[i] = !data.item_image[i].empty();
  for (size_t i = 0; i < ni && i < data.item_entity.size(); ++i)
    has_kg[i] = data.item_entity[i] != kNoId;
  s.coverage = {Coverage("text", has_text, item_degree, s.interactions),
                Coverage("image", has_image, item_degree, s.interactions),
                Coverage("kg", has_kg, item_degree, s.interactions)};
  for (const auto& f : data.item_text) {
    std::vector<uint8_t> has(ni, 0);
    for (size_t i = 0; i < ni && i < f.values.size(); ++i) has[i] = !f.values[i].empty();
    s.text_sources.push_back(Coverage(f.name, has, item_degree, s.interactions));
  }
  if (!data.reviews.empty()) {
    std::vector<uint8_t> has(ni, 0);
    for (const auto& r : data.reviews)
      if (r.item >= 0 && static_cast<size_t>(r.item) < ni && !r.text.empty()) has[r.item] = 1;
    s.text_sources.push_back(Coverage("reviews", has, item_degree, s.interactions));
  }
  s.items_with_text = s.coverage[0].items;
  s.items_with_image = s.coverage[1].items;
  s.items_with_kg = s.coverage[2].items;
  s.kg_triples = static_cast<int64_t>(data.kg.size());
  s.kg_entities = data.entities.size();
  s.kg_relations = data.relations.size();
  s.reviews = static_cast<int64_t>(data.reviews.size());
  // Counted from the tokens when the loader recorded them: filters may have dropped some of
  // the items whose image was missing. Hand-built datasets only set the count.
  const LoadReport& report = data.report;
  if (!report.missing_image_items.empty()) {
    s.missing_images = 0;
    for (const auto& token : report.missing_image_items) s.missing_images += data.items.Find(token) != kNoId;
  } else {
    s.missing_images = report.missing_images;
  }
  s.image_source = report.image_source;
  s.has_image_source = !report.image_source.empty() || s.items_with_image > 0 || s.missing_images > 0;
  // A folder is looked up for every item, so only a list can leave items out.
  if (report.image_list) s.images_not_listed = std::max<int64_t>(0, s.items - s.items_with_image - s.missing_images);

  for (const auto& f : data.item_text) {
    FieldStats fs{f.name, "item_text", 0, 0, 0};
    for (const auto& v : f.values) fs.rows_with_value += !v.empty();
    fs.fraction = Fraction(fs.rows_with_value, s.items);
    s.fields.push_back(fs);
  }
  for (const auto& f : data.item_categorical)
    s.fields.push_back(CategoricalStats(f, "item_categorical", s.items));
  for (const auto& f : data.item_numeric)
    s.fields.push_back(NumericStats(f, "item_numeric", s.items));
  for (const auto& f : data.user_categorical)
    s.fields.push_back(CategoricalStats(f, "user_categorical", s.users));
  for (const auto& f : data.user_numeric)
    s.fields.push_back(NumericStats(f, "user_numeric", s.users));

  s.has_fixed_split = !data.fixed_split.empty();
  for (uint8_t part : data.fixed_split) {
    s.fixed_train += part == 0;
    s.fixed_valid += part == 1;
    s.fixed_test += part == 2;
  }
  s.notes = data.report.notes;
  return s;
}

nlohmann::json StatsToJson(const DatasetStats& s) {
  nlohmann::json j;
  j["name"] = s.name;
  j["source"] = s.source;
  j["data_hash"] = s.data_hash;
  j["users"] = s.users;
  j["items"] = s.items;
  j["interactions"] = s.interactions;
  j["density"] = s.density;
  j["users_without_interactions"] = s.users_without_interactions;
  j["cold_items"] = s.cold_items;
  j["duplicate_pairs"] = s.duplicate_pairs;
  j["duplicate_rows"] = s.duplicate_rows;
  j["has_rating"] = s.has_rating;
  j["has_timestamp"] = s.has_timestamp;
  j["time_span"] =
      s.has_timestamp && s.interactions > 0
          ? nlohmann::json{{"min", s.time_min}, {"max", s.time_max}, {"days", s.time_days}}
          : nlohmann::json(nullptr);
  nlohmann::json hist = nlohmann::json::array();
  for (const auto& b : s.rating_histogram) {
    if (b.lo == b.hi)
      hist.push_back({{"value", b.lo}, {"count", b.count}});
    else
      hist.push_back({{"lo", b.lo}, {"hi", b.hi}, {"count", b.count}});
  }
  j["rating_histogram"] = hist;
  j["nonfinite_ratings"] = s.nonfinite_ratings;
  j["user_degree"] = DegreeJson(s.user_degree);
  j["item_degree"] = DegreeJson(s.item_degree);
  j["items_with_text"] = s.items_with_text;
  j["items_with_image"] = s.items_with_image;
  j["items_with_kg"] = s.items_with_kg;
  j["kg_triples"] = s.kg_triples;
  j["kg_entities"] = s.kg_entities;
  j["kg_relations"] = s.kg_relations;
  j["reviews"] = s.reviews;
  j["missing_images"] = s.missing_images;
  j["images"] = s.has_image_source ? nlohmann::json{{"source", s.image_source},
                                                    {"items", s.items_with_image},
                                                    {"missing", s.missing_images},
                                                    {"not_listed", s.images_not_listed},
                                                    {"corrupt", nullptr}}
                                   : nlohmann::json(nullptr);
  j["text_sources"] = nlohmann::json::array();
  for (const auto& c : s.text_sources)
    j["text_sources"].push_back({{"name", c.name},
                                 {"kind", IsReviewSource(s, &c) ? "reviews" : "item_text"},
                                 {"items", c.items},
                                 {"item_fraction", c.item_fraction},
                                 {"interaction_fraction", c.interaction_fraction}});
  nlohmann::json cov = nlohmann::json::object();
  for (const auto& c : s.coverage)
    cov[c.name] = {{"items", c.items},
                   {"item_fraction", c.item_fraction},
                   {"interaction_fraction", c.interaction_fraction}};
  j["coverage"] = cov;
  nlohmann::json fields = nlohmann::json::array();
  for (const auto& f : s.fields) {
    nlohmann::json fj = {{"name", f.name},
                         {"kind", f.kind},
                         {"rows_with_value", f.rows_with_value},
                         {"fraction", f.fraction}};
    if (f.kind.find("categorical") != std::string::npos) fj["distinct_values"] = f.distinct_values;
    fields.push_back(fj);
  }
  j["fields"] = fields;
  j["fixed_split"] = s.has_fixed_split ? nlohmann::json{{"train", s.fixed_train},
                                                        {"valid", s.fixed_valid},
                                                        {"test", s.fixed_test}}
                                       : nlohmann::json(nullptr);
  j["notes"] = s.notes;
  return j;
}

std::string StatsToText(const DatasetStats& s) {
  std::ostringstream os;
  auto line = [&](const char* label) -> std::ostringstream& {
    char buf[24];
    std::snprintf(buf, sizeof buf, "%-16s", label);
    os << buf;
    return os;
  };
  auto degree = [&](const DegreeStats& d) {
    os << "min " << d.min << "  max " << d.max << "  mean " << Num(d.mean) << "  median "
       << Num(d.median) << "  p90 " << Num(d.p90) << "  gini " << Num(d.gini, 3) << "\n";
  };
  line("dataset") << (s.name.empty() ? "(unnamed)" : s.name)
                  << (s.source.empty() ? "" : "  from " + s.source) << "\n";
  line("data hash") << s.data_hash << "\n";
  line("users") << s.users << "  (" << s.users_without_interactions << " without interactions)\n";
  line("items") << s.items << "  (" << s.cold_items << " without interactions)\n";
  line("interactions") << s.interactions << "  (density " << Num(100.0 * s.density, 4) << "%)\n";
  line("duplicates") << s.duplicate_pairs << " repeated (user, item) pairs, " << s.duplicate_rows
                     << " extra rows\n";
  line("ratings");
  if (!s.has_rating) {
    os << "none (implicit feedback)\n";
  } else {
    const char* sep = "";
    for (const auto& b : s.rating_histogram) {
      os << sep;
      sep = "  ";
      if (b.lo == b.hi)
        os << Num(b.lo) << ":" << b.count;
      else
        os << "[" << Num(b.lo) << "," << Num(b.hi) << "):" << b.count;
    }
    if (s.nonfinite_ratings > 0) os << sep << "non-finite:" << s.nonfinite_ratings;
    os << "\n";
  }
  line("timestamps");
  if (!s.has_timestamp || s.interactions == 0)
    os << "none\n";
  else
    os << Num(s.time_min, 12) << MaybeDate(s.time_min) << " .. " << Num(s.time_max, 12)
       << MaybeDate(s.time_max) << "  (" << Num(s.time_days, 5) << " days)\n";
  line("user degree");
  degree(s.user_degree);
  line("item degree");
  degree(s.item_degree);
  // Text made of reviews only is not item descriptions; the modality line says so and the
  // "text from" lines give each source's own coverage.
  int64_t items_with_item_text = 0;
  const ModalityCoverage* review_source = nullptr;
  for (const auto& c : s.text_sources) {
    if (IsReviewSource(s, &c))
      review_source = &c;
    else
      items_with_item_text = std::max(items_with_item_text, c.items);
  }
  const bool review_text_only = items_with_item_text == 0 && review_source && review_source->items > 0;
  bool first = true;
  for (const auto& c : s.coverage) {
    line(first ? "modalities" : "");
    first = false;
    os << c.name << ": " << c.items << " of " << s.items << " items (" << Percent(c.item_fraction)
       << "), " << Percent(c.interaction_fraction) << " of interactions";
    if (c.name == "text" && review_text_only) os << "  (review text only)";
    os << "\n";
  }
  auto source_line = [&](const std::string& name, const ModalityCoverage& c) {
    os << name << ": " << c.items << " of " << s.items << " items (" << Percent(c.item_fraction) << ")\n";
  };
  line("text from");
  bool any_item_text = false;
  for (const auto& c : s.text_sources) {
    if (IsReviewSource(s, &c)) continue;
    if (any_item_text) line("");
    any_item_text = true;
    source_line(c.name + " (item text)", c);
  }
  if (!any_item_text) os << "item text: none (no item text field)\n";
  line("");
  if (review_source)
    source_line("reviews", *review_source);
  else
    os << "reviews: none\n";
  line("kg") << s.kg_triples << " triples, " << s.kg_entities << " entities, " << s.kg_relations
             << " relations\n";
  line("reviews") << s.reviews << "\n";
  // "missing images 0" would suggest every image was found; a dataset without an image folder
  // or list has no images at all, and says so.
  line("images");
  if (!s.has_image_source) {
    os << "none (the dataset has no image folder or image list)\n";
  } else {
    os << s.items_with_image << " of " << s.items << " items have an image file ("
       << Percent(Fraction(s.items_with_image, s.items)) << "), " << s.missing_images
       << " missing (no file found)";
    if (s.images_not_listed > 0) os << ", " << s.images_not_listed << " not in the image list";
    os << "\n";
    line("") << (s.image_source.empty() ? std::string() : "from " + s.image_source + "; ")
             << "corrupt: not checked (files are not decoded here; encoding skips and counts them)\n";
  }
  first = true;
  for (const auto& f : s.fields) {
    line(first ? "fields" : "");
    first = false;
    os << f.kind << " '" << f.name << "': " << f.rows_with_value << " (" << Percent(f.fraction)
       << ")";
    if (f.kind.find("categorical") != std::string::npos)
      os << ", " << f.distinct_values << " distinct values";
    os << "\n";
  }
  if (s.has_fixed_split)
    line("fixed split") << s.fixed_train << " train / " << s.fixed_valid << " valid / "
                        << s.fixed_test << " test\n";
  first = true;
  for (const auto& n : s.notes) {
    line(first ? "notes" : "");
    first = false;
    os << n << "\n";
  }
  return os.str();
}

}  // namespace recfuse::datasets
