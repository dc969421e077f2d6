#include "framework/config.h"

#include <charconv>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "framework/error.h"

namespace recfuse::framework {

std::string ParamTypeName(ParamType t) {
  switch (t) {
    case ParamType::kInt: return "int";
    case ParamType::kFloat: return "float";
    case ParamType::kBool: return "bool";
    case ParamType::kString: return "string";
    case ParamType::kIntList: return "int list";
    case ParamType::kFloatList: return "float list";
  }
  return "?";
}

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::vector<std::string> Split(std::string_view s, char sep, bool skip_empty) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t pos = s.find(sep, start);
    std::string part = Trim(s.substr(start, pos == std::string_view::npos ? s.npos : pos - start));
    if (!(skip_empty && part.empty())) out.push_back(std::move(part));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;  // overlong
    if (c == 0xED) hi = 0x9F;  // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;  // overlong
    if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + n > s.size() || b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k)
    if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
  return n;
}

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = Utf8SequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

bool ParseInt64(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  const char* b = s.data();
  // A leading '+' is accepted (from_chars rejects it), but not "+-5" or a lone "+".
  if (*b == '+' && (++b == s.data() + s.size() || *b == '-')) return false;
  auto [p, ec] = std::from_chars(b, s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool ParseDouble(std::string_view s, double* out) {
  if (s.empty()) return false;
  const char* b = s.data();
  // A leading '+' is accepted (from_chars rejects it), but not "+-5" or a lone "+".
  if (*b == '+' && (++b == s.data() + s.size() || *b == '-')) return false;
  auto [p, ec] = std::from_chars(b, s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool ParseBool(std::string_view s, bool* out) {
  if (s == "1" || s == "true" || s == "yes" || s == "on") {
    *out = true;
    return true;
  }
  if (s == "0" || s == "false" || s == "no" || s == "off") {
    *out = false;
    return true;
  }
  return false;
}

void Config::Set(const std::string& key, const std::string& value, const std::string& origin) {
  if (key.empty()) throw ConfigError("empty key" + (origin.empty() ? "" : " (from " + origin + ")"));
  if (!IsValidUtf8(key) || !IsValidUtf8(value))
    throw ConfigError("key '" + std::string(IsValidUtf8(key) ? key : "?") +
                      "': not valid UTF-8 (from " + (origin.empty() ? "default" : origin) + ")");
  values_[key] = value;
  origins_[key] = origin;
}

void Config::SetFromAssignment(const std::string& assignment, const std::string& origin) {
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos)
    throw ConfigError("expected key=value, got '" + assignment + "' (from " + origin + ")");
  const std::string key = Trim(std::string_view(assignment).substr(0, eq));
  if (key.empty())
    throw ConfigError("missing key in '" + assignment + "' (from " + origin + ")");
  Set(key, Trim(std::string_view(assignment).substr(eq + 1)), origin);
}

void Config::Merge(const Config& other) {
  for (const auto& [k, v] : other.values_) Set(k, v, other.Origin(k));
}

void Config::LoadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw IoError(path + ": cannot open config file");
  std::string line, section;
  int64_t n = 0;
  // A key given twice in one file is a mistake (two edits of the same sweep), not an
  // override: silently keeping the last would run a different study than the reader sees.
  std::map<std::string, int64_t> first_line;
  while (std::getline(in, line)) {
    ++n;
    if (!IsValidUtf8(line))
      throw DataError(path, n, "not valid UTF-8 (save the file as UTF-8)");
    const size_t hash = line.find('#');
    std::string t = Trim(hash == std::string::npos ? line : line.substr(0, hash));
    if (t.empty()) continue;
    if (t.front() == '[') {
      if (t.back() != ']') throw DataError(path, n, "unterminated section header '" + t + "'");
      section = Trim(std::string_view(t).substr(1, t.size() - 2));
      if (section.empty()) throw DataError(path, n, "empty section name '[]'");
      continue;
    }
    const size_t eq = t.find('=');
    if (eq == std::string::npos) throw DataError(path, n, "expected 'key = value', got '" + t + "'");
    std::string key = Trim(std::string_view(t).substr(0, eq));
    if (key.empty()) throw DataError(path, n, "missing key before '='");
    if (!section.empty()) key = section + "." + key;
    const auto [it, fresh] = first_line.emplace(key, n);
    if (!fresh)
      throw DataError(path, n,
                      "key '" + key + "' is already set on line " + std::to_string(it->second));
    Set(key, Trim(std::string_view(t).substr(eq + 1)), path + ":" + std::to_string(n));
  }
}

std::string Config::Origin(const std::string& key) const {
  auto it = origins_.find(key);
  return it == origins_.end() || it->second.empty() ? "default" : it->second;
}

namespace {
[[noreturn]] void BadValue(const Config& c, const std::string& key, const std::string& value,
                           const std::string& expected) {
  throw ConfigError(key + "='" + value + "' is not " + expected + " (from " + c.Origin(key) + ")");
}
}  // namespace

std::string Config::GetString(const std::string& key, const std::string& def) const {
  auto it = values_.find(key);
  return it == values_.end() ? def : it->second;
}

int64_t Config::GetInt(const std::string& key, int64_t def) const {
  auto it = values_.find(key);
  if (it == values_.end()) return def;
  int64_t v;
  if (!ParseInt64(it->second, &v)) BadValue(*this, key, it->second, "an integer");
  return v;
}

double Config::GetDouble(const std::string& key, double def) const {
  auto it = values_.find(key);
  if (it == values_.end()) return def;
  double v;
  if (!ParseDouble(it->second, &v) || !std::isfinite(v)) BadValue(*this, key, it->second, "a finite number");
  return v;
}

bool Config::GetBool(const std::string& key, bool def) const {
  auto it = values_.find(key);
  if (it == values_.end()) return def;
  bool v;
  if (!ParseBool(it->second, &v)) BadValue(*this, key, it->second, "a boolean (true/false)");
  return v;
}

std::vector<int64_t> Config::GetIntList(const std::string& key, const std::vector<int64_t>& def) const {
  auto it = values_.find(key);
  if (it == values_.end()) return def;
  std::vector<int64_t> out;
  for (const auto& part : Split(it->second, ',', true)) {
    int64_t v;
    if (!ParseInt64(part, &v)) BadValue(*this, key, it->second, "a comma-separated list of integers");
    out.push_back(v);
  }
  return out;
}

std::vector<double> Config::GetDoubleList(const std::string& key, const std::vector<double>& def) const {
  auto it = values_.find(key);
  if (it == values_.end()) return def;
  std::vector<double> out;
  for (const auto& part : Split(it->second, ',', true)) {
    double v;
    if (!ParseDouble(part, &v) || !std::isfinite(v))
      BadValue(*this, key, it->second, "a comma-separated list of numbers");
    out.push_back(v);
  }
  return out;
}

std::vector<std::string> Config::GetStringList(const std::string& key,
                                               const std::vector<std::string>& def) const {
  auto it = values_.find(key);
  if (it == values_.end()) return def;
  return Split(it->second, ',', true);
}

namespace {
const ParamSpec& FindSpec(const std::vector<ParamSpec>& specs, const std::string& key) {
  for (const auto& s : specs)
    if (s.name == key) return s;
  throw Error("internal: option '" + key + "' used but not declared");
}
}  // namespace

std::string Config::GetString(const std::vector<ParamSpec>& specs, const std::string& key) const {
  return GetString(key, FindSpec(specs, key).default_value);
}
int64_t Config::GetInt(const std::vector<ParamSpec>& specs, const std::string& key) const {
  const auto& s = FindSpec(specs, key);
  int64_t def = 0;
  ParseInt64(s.default_value, &def);
  return GetInt(key, def);
}
double Config::GetDouble(const std::vector<ParamSpec>& specs, const std::string& key) const {
  const auto& s = FindSpec(specs, key);
  double def = 0;
  ParseDouble(s.default_value, &def);
  return GetDouble(key, def);
}
bool Config::GetBool(const std::vector<ParamSpec>& specs, const std::string& key) const {
  const auto& s = FindSpec(specs, key);
  bool def = false;
  ParseBool(s.default_value, &def);
  return GetBool(key, def);
}

void Config::Validate(const std::vector<ParamSpec>& specs, const std::string& context,
                      const std::vector<std::string>& allowed_prefixes) const {
  // Named references instead of structured bindings: clang 14 cannot capture bindings in
  // the range_check lambda below (C++20 allows it; the fuzz build uses clang).
  for (const auto& entry : values_) {
    const std::string& key = entry.first;
    const std::string& value = entry.second;
    const ParamSpec* spec = nullptr;
    for (const auto& s : specs)
      if (s.name == key) spec = &s;
    if (!spec) {
      bool prefixed = false;
      for (const auto& p : allowed_prefixes) prefixed |= key.rfind(p, 0) == 0;
      if (prefixed) continue;
      std::string known;
      for (const auto& s : specs) known += (known.empty() ? "" : ", ") + s.name;
      throw ConfigError("unknown key '" + key + "' for " + context + " (from " + Origin(key) +
                        "); known keys: " + (known.empty() ? "(none)" : known));
    }
    auto range_check = [&](double v) {
      // Written so that NaN fails: it is outside every range.
      if (!(v >= spec->min && v <= spec->max)) {
        std::ostringstream os;
        os << key << "=" << value << " is outside [" << spec->min << ", " << spec->max << "] for "
           << context << " (from " << Origin(key) << ")";
        throw ConfigError(os.str());
      }
    };
    switch (spec->type) {
      case ParamType::kInt: range_check(static_cast<double>(GetInt(key, 0))); break;
      case ParamType::kFloat: range_check(GetDouble(key, 0)); break;
      case ParamType::kBool: GetBool(key, false); break;
      case ParamType::kIntList:
        for (auto v : GetIntList(key, {})) range_check(static_cast<double>(v));
        break;
      case ParamType::kFloatList:
        for (auto v : GetDoubleList(key, {})) range_check(v);
        break;
      case ParamType::kString:
        if (!spec->choices.empty()) {
          bool ok = false;
          std::string all;
          for (const auto& c : spec->choices) {
            ok |= c == value;
            all += (all.empty() ? "" : "|") + c;
          }
          if (!ok)
            throw ConfigError(key + "='" + value + "' must be one of " + all + " for " + context +
                              " (from " + Origin(key) + ")");
        }
        break;
    }
  }
}

Config Config::Subset(const std::string& prefix) const {
  Config out;
  for (const auto& [k, v] : values_)
    if (k.rfind(prefix, 0) == 0 && k.size() > prefix.size()) out.Set(k.substr(prefix.size()), v, Origin(k));
  return out;
}

nlohmann::json Config::ToJson() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : values_) j[k] = v;
  return j;
}

std::string Config::Canonical() const {
  std::string out;
  for (const auto& [k, v] : values_) out += k + "=" + v + ";";
  return out;
}

}  // namespace recfuse::framework
