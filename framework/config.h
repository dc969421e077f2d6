// Layered key=value configuration. Layers apply in order (defaults < model file < dataset
// file < experiment file < --set k=v); a later Set() wins and remembers where the value
// came from so that errors can name it. Unknown keys are errors: Validate() checks every key
// against the declared ParamSpecs, because a silently ignored typo invalidates a study.
#pragma once

#include <limits>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace recfuse::framework {

enum class ParamType { kInt, kFloat, kBool, kString, kIntList, kFloatList };

// Declaration of one option: the single place its default, range and help text live.
struct ParamSpec {
  std::string name;
  ParamType type = ParamType::kString;
  std::string default_value;
  std::string description;
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  std::vector<std::string> choices;  // for kString: allowed values (empty = any)
};

std::string ParamTypeName(ParamType t);

class Config {
 public:
  Config() = default;

  void Set(const std::string& key, const std::string& value, const std::string& origin = "");
  // Parses "key=value"; throws ConfigError naming `origin` when malformed.
  void SetFromAssignment(const std::string& assignment, const std::string& origin);
  void Merge(const Config& other);  // other's values win
  // Reads a file of `key = value` lines; `#` starts a comment; `[section]` prefixes keys
  // with "section.". Throws DataError(file, line) on a malformed line.
  void LoadFile(const std::string& path);

  bool Has(const std::string& key) const { return values_.count(key) > 0; }
  void Erase(const std::string& key) { values_.erase(key); origins_.erase(key); }

  std::string GetString(const std::string& key, const std::string& def) const;
  int64_t GetInt(const std::string& key, int64_t def) const;
  double GetDouble(const std::string& key, double def) const;
  bool GetBool(const std::string& key, bool def) const;
  std::vector<int64_t> GetIntList(const std::string& key, const std::vector<int64_t>& def) const;
  std::vector<double> GetDoubleList(const std::string& key, const std::vector<double>& def) const;
  std::vector<std::string> GetStringList(const std::string& key,
                                         const std::vector<std::string>& def) const;

  // Typed getters that take the default from the spec list (so defaults live in one place).
  std::string GetString(const std::vector<ParamSpec>& specs, const std::string& key) const;
  int64_t GetInt(const std::vector<ParamSpec>& specs, const std::string& key) const;
  double GetDouble(const std::vector<ParamSpec>& specs, const std::string& key) const;
  bool GetBool(const std::vector<ParamSpec>& specs, const std::string& key) const;

  // Every key must be declared in `specs` (or start with one of `allowed_prefixes`); every
  // value must parse as its type and lie in range. `context` names the model/command.
  void Validate(const std::vector<ParamSpec>& specs, const std::string& context,
                const std::vector<std::string>& allowed_prefixes = {}) const;
  // Keys beginning with prefix, with the prefix stripped.
  Config Subset(const std::string& prefix) const;

  const std::map<std::string, std::string>& values() const { return values_; }
  std::string Origin(const std::string& key) const;
  nlohmann::json ToJson() const;
  // Canonical text ("k=v;k=v" sorted) used in cache and resume keys.
  std::string Canonical() const;

 private:
  std::map<std::string, std::string> values_;
  std::map<std::string, std::string> origins_;
};

// Strict parsers shared by config and loaders: the whole string must be consumed.
bool ParseInt64(std::string_view s, int64_t* out);
bool ParseDouble(std::string_view s, double* out);
bool ParseBool(std::string_view s, bool* out);
std::string Trim(std::string_view s);
std::vector<std::string> Split(std::string_view s, char sep, bool skip_empty = false);
// True when `s` is well-formed UTF-8 (no overlong forms, surrogates or code points above
// U+10FFFF). Config values must be: they end up in JSON (run.json), which requires it.
bool IsValidUtf8(std::string_view s);
// Length of the well-formed UTF-8 sequence starting at s[i] (i < s.size()), or 0 if none.
size_t Utf8SequenceLength(std::string_view s, size_t i);

}  // namespace recfuse::framework
