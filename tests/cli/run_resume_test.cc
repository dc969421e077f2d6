// `recfuse run` as a user drives it: killed with SIGKILL mid-sweep and resumed, killed at
// seeded random moments, run twice for determinism, and split into shards (flags and
// mpirun's environment) merged back. Tiny synthetic world; every test stays well under 30 s.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "framework/io.h"
#include "framework/rng.h"
#include "tests/test_util.h"

namespace recfuse {
namespace {

namespace fs = std::filesystem;
using testing::RecfuseBinary;
using testing::RunCommand;

// 2 models x 2 seeds x 2 training fractions = 8 cells.
const std::string& Conf() {
  static const std::string path = [] {
    const std::string dir = testing::TempDir("resume_conf");
    testing::WriteText(dir + "/sweep.conf",
                       "name = resume\n"
                       "datasets = syn\n"
                       "models = pop, bpr\n"
                       "seeds = 0, 1\n"
                       "train_fractions = 1.0, 0.5\n"
                       "ks = 5, 10\n"
                       "threads = 1\n"
                       "[dataset.syn]\ngenerate = true\ngen.users = 300\ngen.items = 200\n"
                       "gen.interactions = 12000\ngen.images = false\ngen.seed = 11\n"
                       "[model.bpr]\nepochs = 15\ndim = 16\n");
    return dir + "/sweep.conf";
  }();
  return path;
}

std::string RunArgs(const std::string& out) {
  return RecfuseBinary() + " run " + Conf() + " --out " + out + " --cache-dir none --no-report";
}

// Runs to completion; returns the combined output.
std::string RunToEnd(const std::string& out, const std::string& extra = "", const std::string& env = "") {
  std::string log;
  const int st = RunCommand(env + RunArgs(out) + " " + extra, &log);
  EXPECT_EQ(st, 0) << log;
  return log;
}

// The uninterrupted reference run.
const std::string& Reference() {
  static const std::string out = [] {
    const std::string o = testing::TempDir("resume_ref") + "/out";
    RunToEnd(o);
    return o;
  }();
  return out;
}

// Starts the sweep as a child process (no shell, so the pid is recfuse itself).
pid_t Start(const std::string& out, const std::string& log) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    const std::string bin = RecfuseBinary(), conf = Conf();
    ::execl(bin.c_str(), bin.c_str(), "run", conf.c_str(), "--out", out.c_str(), "--cache-dir", "none",
            "--no-report", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

int FinishedCells(const std::string& out) {
  int n = 0;
  std::error_code ec;
  if (!fs::is_directory(out + "/cells")) return 0;
  for (const auto& e : fs::directory_iterator(out + "/cells", ec))
    if (fs::exists(e.path() / "run.json")) ++n;
  return n;
}

// Kills the child with SIGKILL; returns whether the signal (not a normal exit) ended it.
bool KillNow(pid_t pid) {
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

bool IsTemporary(const fs::path& p) {
  for (const auto& part : p)
    if (part.string().find(".tmp.") != std::string::npos) return true;
  return false;
}

// Every result file under out is complete: JSON parses, text tables end with a newline and
// have a constant column count, HDF5 files carry the signature. Temporaries of the atomic
// writers (".<name>.tmp.*") are skipped: they are never read as results. Returns the number
// of files checked.
int CheckNothingHalfWritten(const std::string& out) {
  int checked = 0;
  for (const auto& e : fs::recursive_directory_iterator(out)) {
    if (!e.is_regular_file() || IsTemporary(fs::relative(e.path(), out))) continue;
    const std::string path = e.path().string();
    const std::string ext = e.path().extension().string();
    const std::string text = framework::ReadFile(path);
    ++checked;
    if (ext == ".json") {
      EXPECT_NO_THROW(nlohmann::json::parse(text)) << path;
    } else if (ext == ".csv" || ext == ".tsv") {
      EXPECT_FALSE(text.empty()) << path;
      if (text.empty()) continue;
      EXPECT_EQ(text.back(), '\n') << path;
      const char sep = ext == ".csv" ? ',' : '\t';
      if (ext == ".tsv") {  // CSVs quote commas; TSVs never contain tabs in fields
        framework::LineCursor cursor(text);
        std::string_view line;
        cursor.Next(&line);
        const auto cols = std::count(line.begin(), line.end(), sep);
        while (cursor.Next(&line))
          if (!line.empty()) EXPECT_EQ(std::count(line.begin(), line.end(), sep), cols) << path << ":" << cursor.line_number();
      }
    } else if (ext == ".h5") {
      EXPECT_GE(text.size(), 8u) << path;
      EXPECT_EQ(text.substr(0, std::min<size_t>(8, text.size())), std::string("\x89HDF\r\n\x1a\n", 8)) << path;
    }
  }
  // A finished cell has every evidence file.
  if (fs::is_directory(out + "/cells"))
    for (const auto& c : fs::directory_iterator(out + "/cells")) {
      if (IsTemporary(c.path().filename()) || !fs::exists(c.path() / "run.json")) continue;
      for (const char* f : {"metrics.csv", "test.tsv", "topk.tsv", "groups.csv", "per_user.tsv", "per_user.h5"})
        EXPECT_TRUE(fs::exists(c.path() / f)) << c.path() << " lacks " << f;
    }
  return checked;
}

TEST(RunResume, KilledAfterFirstCellResumesToIdenticalResults) {
  const std::string& ref = Reference();
  const std::string dir = testing::TempDir("resume_kill");
  const std::string out = dir + "/out";
  const pid_t pid = Start(out, dir + "/log1");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (FinishedCells(out) == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ASSERT_TRUE(KillNow(pid)) << "the sweep finished before it could be killed:\n" << framework::ReadFile(dir + "/log1");
  const int done = FinishedCells(out);
  ASSERT_GE(done, 1);
  ASSERT_LT(done, 8);
  EXPECT_FALSE(framework::FileExists(out + "/results.csv"));  // written at the end only
  CheckNothingHalfWritten(out);

  const std::string log = RunToEnd(out);
  EXPECT_NE(log.find("skipped " + std::to_string(done) + " finished"), std::string::npos) << log;
  EXPECT_NE(log.find("ran " + std::to_string(8 - done) + " cell(s)"), std::string::npos) << log;
  EXPECT_EQ(framework::ReadFile(out + "/results.csv"), framework::ReadFile(ref + "/results.csv"));
  EXPECT_EQ(FinishedCells(out), 8);
}

TEST(RunResume, RandomKillsThenResumeGiveIdenticalResultsAndNoHalfFiles) {
  const std::string& ref = Reference();
  const std::string dir = testing::TempDir("resume_random");
  const std::string out = dir + "/out";
  // How long an uninterrupted sweep takes here, to spread the kills over it.
  const auto t0 = std::chrono::steady_clock::now();
  RunToEnd(dir + "/timing");
  const auto full_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  framework::Rng rng(20261123);
  int kills = 0;
  for (int round = 0; round < 4; ++round) {
    const pid_t pid = Start(out, dir + "/log" + std::to_string(round));
    std::this_thread::sleep_for(std::chrono::milliseconds(rng.UniformInt(static_cast<uint64_t>(full_ms) + 1)));
    kills += KillNow(pid) ? 1 : 0;
    EXPECT_GT(CheckNothingHalfWritten(out), 0);
  }
  EXPECT_GE(kills, 1) << "no kill landed mid-sweep (full run " << full_ms << " ms)";
  RunToEnd(out);
  CheckNothingHalfWritten(out);
  EXPECT_EQ(framework::ReadFile(out + "/results.csv"), framework::ReadFile(ref + "/results.csv"));
}

TEST(RunResume, TwoRunsAreBitIdentical) {
  const std::string& ref = Reference();
  const std::string out = testing::TempDir("resume_det") + "/out";
  RunToEnd(out);
  EXPECT_EQ(framework::ReadFile(out + "/results.csv"), framework::ReadFile(ref + "/results.csv"));
  int compared = 0;
  for (const auto& c : fs::directory_iterator(ref + "/cells")) {
    const fs::path mine = fs::path(out) / "cells" / c.path().filename();
    ASSERT_TRUE(fs::exists(mine / "metrics.csv")) << mine;
    for (const char* f : {"metrics.csv", "per_user.tsv", "topk.tsv"})
      EXPECT_EQ(framework::ReadFile((mine / f).string()), framework::ReadFile((c.path() / f).string())) << mine / f;
    ++compared;
  }
  EXPECT_EQ(compared, 8);
}

// The README's main job itself, twice, with its shipped seeds and thread count: every metric
// file is bit-identical, and the sweep's peak memory (recorded by the runner) stays bounded.
// A third of the grid (shard 0 of 3: every model family, both seeds, all three splits),
// because the whole study twice would take ~10 minutes of CI's 2 cores; the whole study is
// measured in scripts/bench_pipeline.sh. Measured 2026-12-04: 270 s for the two runs (no
// feature cache), 310 MB peak.
TEST(DefaultStudy, TwoRunsAreBitIdenticalAndMemoryIsBounded) {
  const std::string conf = std::string(RECFUSE_TEST_DATA) + "/../../experiments/default.conf";
  ASSERT_TRUE(fs::exists(conf)) << conf;
  std::string listing;
  RunCommand(RecfuseBinary() + " models", &listing);
  if (listing.find("mmfusion") == std::string::npos)
    GTEST_SKIP() << "the default study trains neural models; this build has none (RECFUSE_WITH_TORCH=OFF)";
  std::string outs[2];
  for (auto& out : outs) {
    out = testing::TempDir("default_study") + "/out";
    std::string log;
    ASSERT_EQ(RunCommand(RecfuseBinary() + " run " + conf + " --out " + out +
                             " --shard 0/3 --cache-dir none --no-report --log-level warn",
                         &log),
              0)
        << log;
  }
  EXPECT_EQ(framework::ReadFile(outs[0] + "/results.csv"), framework::ReadFile(outs[1] + "/results.csv"));
  int compared = 0;
  std::set<std::string> models;
  for (const auto& c : fs::directory_iterator(outs[0] + "/cells")) {
    const fs::path other = fs::path(outs[1]) / "cells" / c.path().filename();
    for (const char* f : {"metrics.csv", "per_user.tsv", "topk.tsv", "groups.csv"})
      EXPECT_EQ(framework::ReadFile((c.path() / f).string()), framework::ReadFile((other / f).string())) << other / f;
    models.insert(nlohmann::json::parse(framework::ReadFile((c.path() / "run.json").string()))["config"]["model"]);
    ++compared;
  }
  const auto meta = nlohmann::json::parse(framework::ReadFile(outs[0] + "/experiment.shard0.json"));
  const int64_t total = meta.at("cells_total").get<int64_t>();
  EXPECT_EQ(compared, (total + 2) / 3) << "shard 0 of 3 runs cells 0, 3, 6, ...";
  for (const char* m : {"mmfusion", "freedom", "vbpr", "lightgcn", "oracle"})
    EXPECT_TRUE(models.count(m)) << m << " not in shard 0: the check would not cover it";
  const int64_t peak = meta.at("peak_rss_bytes").get<int64_t>();
  std::printf("  default study (shard 0/3) peak RSS %.1f MB, %d cells\n", static_cast<double>(peak) / 1e6, compared);
  EXPECT_GT(peak, 0);
  // 1,000 users x 1,000 items: libtorch's own footprint dominates; 1 GB (the bound for
  // the whole study) catches a real leak.
  EXPECT_LT(peak, int64_t{1} << 30);
}

TEST(RunShards, FlagShardsMergedFromFoldersEqualUnshardedRun) {
  const std::string& ref = Reference();
  const std::string dir = testing::TempDir("shards_flag");
  std::string log = RunToEnd(dir + "/s0", "--shard 0/2");
  EXPECT_NE(log.find("ran 4 cell(s)"), std::string::npos) << log;
  RunToEnd(dir + "/s1", "--shard 1/2");
  std::string out;
  ASSERT_EQ(RunCommand(RecfuseBinary() + " merge " + dir + "/merged " + dir + "/s0 " + dir + "/s1", &out), 0) << out;
  EXPECT_NE(out.find("merged 8 cell(s)"), std::string::npos) << out;
  EXPECT_EQ(framework::ReadFile(dir + "/merged/results.csv"), framework::ReadFile(ref + "/results.csv"));
  EXPECT_TRUE(framework::FileExists(dir + "/merged/report/index.html"));
  // An incomplete set of shards is refused with a reason.
  EXPECT_NE(RunCommand(RecfuseBinary() + " merge " + dir + "/half " + dir + "/s0", &out), 0);
  EXPECT_NE(out.find("shard(s) 1 of 2"), std::string::npos) << out;
}

TEST(RunShards, MpiEnvironmentShardsIntoOneFolderThenMerge) {
  const std::string& ref = Reference();
  const std::string out = testing::TempDir("shards_mpi") + "/out";
  // What mpirun -np 2 exports to its ranks (OpenMPI); no --shard flag.
  for (int rank = 0; rank < 2; ++rank) {
    const std::string log =
        RunToEnd(out, "", "OMPI_COMM_WORLD_RANK=" + std::to_string(rank) + " OMPI_COMM_WORLD_SIZE=2 ");
    EXPECT_NE(log.find("shard " + std::to_string(rank) + "/2"), std::string::npos) << log;
    EXPECT_NE(log.find("ran 4 cell(s)"), std::string::npos) << log;
  }
  std::string mlog;
  ASSERT_EQ(RunCommand(RecfuseBinary() + " merge " + out, &mlog), 0) << mlog;
  EXPECT_EQ(framework::ReadFile(out + "/results.csv"), framework::ReadFile(ref + "/results.csv"));
  EXPECT_FALSE(framework::FileExists(out + "/experiment.shard0.json"));
  EXPECT_TRUE(framework::FileExists(out + "/experiment.json"));
  // Inconsistent launcher variables are an error, not a silent full run.
  EXPECT_NE(RunCommand("OMPI_COMM_WORLD_RANK=3 OMPI_COMM_WORLD_SIZE=2 " + RunArgs(out), &mlog), 0);
  EXPECT_NE(mlog.find("OMPI_COMM_WORLD_RANK"), std::string::npos) << mlog;
}

}  // namespace
}  // namespace recfuse
