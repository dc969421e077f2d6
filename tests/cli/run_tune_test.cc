// A tuned sweep (successive halving on validation) as a user runs it: killed with SIGKILL
// mid-search and resumed, split into two shard processes sharing one folder (the halving
// barrier), and under a real `mpirun -np 2 --oversubscribe`; each merged result must be
// byte-identical to the single-process run.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "framework/io.h"
#include "tests/test_util.h"

namespace recfuse {
namespace {

namespace fs = std::filesystem;
using testing::RecfuseBinary;
using testing::RunCommand;

// bpr: 9 candidates, eta 3, 30 epochs -> 9 x 3, 3 x 10, 1 x 30 epochs (13 trials); pop
// untuned. 2 seeds -> 4 test cells.
const std::string& Conf() {
  static const std::string path = [] {
    const std::string dir = testing::TempDir("tune_conf");
    testing::WriteText(dir + "/tune.conf",
                       "name = tune\n"
                       "datasets = syn\n"
                       "models = pop, bpr\n"
                       "seeds = 0, 1\n"
                       "ks = 10\n"
                       "metrics = recall, ndcg\n"
                       "threads = 1\n"
                       "tune = halving\n"
                       "[dataset.syn]\ngenerate = true\ngen.users = 600\ngen.items = 300\n"
                       "gen.interactions = 30000\ngen.images = false\ngen.seed = 3\n"
                       "[model.bpr]\nepochs = 30\nsearch.dim = 8, 16, 32\nsearch.lr = 0.005, 0.02, 0.08\n");
    return dir + "/tune.conf";
  }();
  return path;
}

std::string RunArgs(const std::string& out) {
  return RecfuseBinary() + " run " + Conf() + " --out " + out + " --cache-dir none --no-report";
}

const std::string& Reference() {
  static const std::string out = [] {
    const std::string o = testing::TempDir("tune_ref") + "/out";
    std::string log;
    EXPECT_EQ(RunCommand(RunArgs(o), &log), 0) << log;
    EXPECT_NE(log.find("13 selection trial(s)"), std::string::npos) << log;
    return o;
  }();
  return out;
}

int Finished(const std::string& dir) {
  int n = 0;
  std::error_code ec;
  if (!fs::is_directory(dir)) return 0;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (fs::exists(e.path() / "run.json")) ++n;
  return n;
}

TEST(RunTune, KilledMidSearchResumesWithoutRerunningTrials) {
  const std::string& ref = Reference();
  const std::string dir = testing::TempDir("tune_kill");
  const std::string out = dir + "/out";
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open((dir + "/log1").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    const std::string bin = RecfuseBinary(), conf = Conf();
    ::execl(bin.c_str(), bin.c_str(), "run", conf.c_str(), "--out", out.c_str(), "--cache-dir", "none", "--no-report",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (Finished(out + "/trials") < 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the sweep ended before the kill:\n" << framework::ReadFile(dir + "/log1");
  const int done = Finished(out + "/trials");
  ASSERT_GE(done, 2);
  ASSERT_LT(done, 13) << "killed too late to be mid-search";
  EXPECT_EQ(Finished(out + "/cells"), 0);

  std::string log;
  ASSERT_EQ(RunCommand(RunArgs(out), &log), 0) << log;
  EXPECT_NE(log.find(std::to_string(13 - done) + " selection trial(s) (skipped " + std::to_string(done) + " finished)"),
            std::string::npos)
      << log;
  EXPECT_EQ(framework::ReadFile(out + "/results.csv"), framework::ReadFile(ref + "/results.csv"));
}

TEST(RunTune, TwoShardProcessesShareTheFolderAndMergeToTheSameResults) {
  const std::string& ref = Reference();
  const std::string out = testing::TempDir("tune_shards") + "/out";
  // Both shards at once (the halving barrier needs the other's trials), in the background.
  std::string log;
  const std::string cmd = "(" + RunArgs(out) + " --shard 0/2 --barrier-timeout 120 > " + out + ".log0 2>&1 & " +
                          RunArgs(out) + " --shard 1/2 --barrier-timeout 120 > " + out + ".log1 2>&1; s1=$?; wait $!; " +
                          "s0=$?; exit $((s0 + s1)))";
  ASSERT_EQ(RunCommand(cmd, &log), 0) << framework::ReadFile(out + ".log0") << framework::ReadFile(out + ".log1");
  EXPECT_TRUE(framework::FileExists(out + "/experiment.shard0.json"));
  EXPECT_TRUE(framework::FileExists(out + "/experiment.shard1.json"));
  ASSERT_EQ(RunCommand(RecfuseBinary() + " merge " + out, &log), 0) << log;
  EXPECT_EQ(framework::ReadFile(out + "/results.csv"), framework::ReadFile(ref + "/results.csv"));
  const auto tuning = nlohmann::json::parse(framework::ReadFile(out + "/tuning.json"));
  const auto single = nlohmann::json::parse(framework::ReadFile(ref + "/tuning.json"));
  EXPECT_EQ(tuning["groups"][0]["chosen"], single["groups"][0]["chosen"]);
  EXPECT_EQ(tuning["groups"][0]["n_trials"], 13);
}

TEST(RunTune, RealMpirunTwoRanksEqualsTheSingleProcessRun) {
  std::string which;
  if (RunCommand("command -v mpirun", &which) != 0)
    GTEST_SKIP() << "mpirun not found (scripts/setup.sh installs Debian's openmpi-bin)";
  const std::string& ref = Reference();
  const std::string out = testing::TempDir("tune_mpi") + "/out";
  std::string log;
  // Root in containers and CI: OpenMPI refuses to run as root unless both are set.
  const std::string env = "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 ";
  ASSERT_EQ(RunCommand(env + "mpirun -np 2 --oversubscribe " + RunArgs(out) + " --barrier-timeout 120", &log), 0) << log;
  EXPECT_NE(log.find("running shard 1/2"), std::string::npos) << log;
  ASSERT_EQ(RunCommand(RecfuseBinary() + " merge " + out, &log), 0) << log;
  EXPECT_EQ(framework::ReadFile(out + "/results.csv"), framework::ReadFile(ref + "/results.csv"));
}

}  // namespace
}  // namespace recfuse
