#include "fuzz/fuzz_util.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string_view>

#include "datasets/load.h"
#include "datasets/stats.h"
#include "framework/config.h"
#include "framework/error.h"

namespace recfuse::fuzz {

namespace fs = std::filesystem;

namespace {

bool PlainName(const std::string& name) {
  if (name.empty() || name.size() > 64 || name == "." || name == "..") return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::vector<FuzzFile> UnpackFiles(const uint8_t* data, size_t size, const std::string& default_name,
                                  const std::function<bool(const std::string&)>& allowed,
                                  size_t max_files) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<FuzzFile> files;
  files.push_back({default_name, ""});
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    const size_t next = end == std::string_view::npos ? text.size() : end + 1;
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    bool is_marker = false;
    if (line.size() > 3 && line.substr(0, 3) == "@@ " && files.size() < max_files) {
      const std::string name(line.substr(3));
      if (PlainName(name) && allowed(name)) {
        // A repeated name replaces the earlier content: one file per name in the folder.
        bool replaced = false;
        for (size_t k = 0; k < files.size(); ++k)
          if (files[k].name == name) {
            FuzzFile f = std::move(files[k]);
            files.erase(files.begin() + static_cast<std::ptrdiff_t>(k));
            f.content.clear();
            files.push_back(std::move(f));
            replaced = true;
            break;
          }
        if (!replaced) files.push_back({name, ""});
        is_marker = true;
      }
    }
    if (!is_marker) files.back().content.append(text.substr(pos, next - pos));
    pos = next;
  }
  // An empty default file next to named ones was not part of the input's intent (a seed
  // that starts with a marker): writing it would make e.g. MovieLens 1M look like 100K.
  if (files.size() > 1 && files.front().content.empty()) files.erase(files.begin());
  return files;
}

std::string FreshScratchDir() {
  static const std::string root = [] {
    const char* tmp = std::getenv("TMPDIR");
    fs::path p = fs::path(tmp && *tmp ? tmp : "/tmp") /
                 ("recfuse-fuzz-" + std::to_string(static_cast<long>(::getpid())));
    fs::create_directories(p);
    // Removed at normal exit; a crashing run leaves it behind for inspection.
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(fs::path(std::getenv("TMPDIR") && *std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") /
                         ("recfuse-fuzz-" + std::to_string(static_cast<long>(::getpid()))),
                     ec);
    });
    return p.string();
  }();
  const fs::path dir = fs::path(root) / "d";
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir);
  return dir.string();
}

void WriteFiles(const std::string& dir, const std::vector<FuzzFile>& files) {
  for (const auto& f : files) {
    std::ofstream out(fs::path(dir) / f.name, std::ios::binary);
    out.write(f.content.data(), static_cast<std::streamsize>(f.content.size()));
    if (!out) {
      std::fprintf(stderr, "fuzz harness: cannot write %s/%s\n", dir.c_str(), f.name.c_str());
      std::abort();
    }
  }
}

void ExpectOnlyRecfuseErrors(const std::function<void()>& body) {
  try {
    body();
  } catch (const framework::Error& e) {
    // RF_CHECK messages start with the failing source file's path (__FILE__), which lies in
    // the same tree as this file; matching only "check failed" would flag inputs that
    // merely contain those words (the CSV fuzzer put them in a column name).
    static const std::string kSourceRoot = [] {
      const std::string self = __FILE__;
      return self.substr(0, self.size() - std::string("fuzz/fuzz_util.cc").size());
    }();
    const std::string_view what = e.what();
    if (what.rfind(kSourceRoot, 0) == 0 && what.find(": check failed (") != std::string_view::npos) {
      std::fprintf(stderr, "fuzz finding: internal check reached by input: %s\n", e.what());
      std::abort();
    }
  }
}

std::vector<FuzzFile> TakeLoaderOptions(std::vector<FuzzFile> files,
                                        std::vector<std::string>* assignments) {
  std::vector<FuzzFile> rest;
  for (auto& f : files) {
    if (f.name != "options") {
      rest.push_back(std::move(f));
      continue;
    }
    size_t pos = 0;
    while (pos < f.content.size()) {
      size_t end = f.content.find('\n', pos);
      if (end == std::string::npos) end = f.content.size();
      const std::string line = f.content.substr(pos, end - pos);
      pos = end + 1;
      const std::string key = framework::Trim(line.substr(0, line.find('=')));
      if (key == "side_info_dir" || key == "name" || key.rfind("amazon.", 0) == 0) continue;
      if (!line.empty()) assignments->push_back(line);
    }
  }
  return rest;
}

void LoadAndInspect(const std::string& path, const std::vector<std::string>& assignments,
                    const std::string& format, const std::string& name) {
  framework::Config config;
  for (const auto& a : assignments) config.SetFromAssignment(a, "fuzz options");
  if (!config.Has("format")) config.Set("format", format);
  if (!name.empty()) config.Set("name", name);
  const datasets::LoadOptions options = datasets::LoadOptionsFromConfig(config);
  const datasets::Dataset d = datasets::LoadDataset(path, options);
  const datasets::DatasetStats stats = datasets::ComputeStats(d);
  (void)datasets::StatsToText(stats);
  (void)datasets::StatsToJson(stats).dump();
  (void)d.ContentHash();
}

}  // namespace recfuse::fuzz
