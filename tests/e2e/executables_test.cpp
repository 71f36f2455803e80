// Runs the built executables as processes and checks exit codes and output,
// the way README's commands and a finance bureau's scripts use them.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace {

struct Outcome {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

Outcome run(const std::string& command) {
  Outcome o;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return o;
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), pipe) != nullptr) o.output += buf.data();
  const int status = ::pclose(pipe);
  o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return o;
}

const std::string kClient = std::string(JIXIAO_BIN_DIR) + "/jixiao";
const std::string kServer = std::string(JIXIAO_BIN_DIR) + "/jixiao-server";
const std::string kFixtures = JIXIAO_FIXTURE_DIR;

// The build tree's binaries find the templates copied beside them
// (bin/../share/jixiao/templates) with no option or environment.
TEST(Executables, ClientChecksAFixtureWithTemplatesFoundBesideIt) {
  const Outcome o = run("env -u JIXIAO_TEMPLATES " + kClient + " check " + kFixtures + "/004_shenzhen_2020.json");
  EXPECT_EQ(o.exit_code, 1) << o.output;
  EXPECT_NE(o.output.find("执行率应为 99.73%（8,086,475.64 ÷ 8,108,600.00），表中为 99.7%"), std::string::npos) << o.output;
}

TEST(Executables, ClientExitCodesAreZeroOneTwo) {
  EXPECT_EQ(run(kClient + " check " + kFixtures + "/001_target_1.json").exit_code, 0);
  EXPECT_EQ(run(kClient + " check " + kFixtures + "/000_puyang_2021.json").exit_code, 1);
  EXPECT_EQ(run(kClient + " check " + kFixtures + "/no_such_file.json").exit_code, 2);
}

TEST(Executables, ServerValidatesTheTemplateSet) {
  const Outcome o = run(kServer + " templates");
  EXPECT_EQ(o.exit_code, 0) << o.output;
  EXPECT_NE(o.output.find("department_self_eval"), std::string::npos) << o.output;
}

TEST(Executables, BothAnswerHelp) {
  const Outcome c = run(kClient + " --help");
  EXPECT_EQ(c.exit_code, 0);
  EXPECT_NE(c.output.find("Usage"), std::string::npos);
  const Outcome s = run(kServer + " --help");
  EXPECT_EQ(s.exit_code, 0);
  EXPECT_NE(s.output.find("用法"), std::string::npos);
}

}  // namespace
