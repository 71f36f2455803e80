// The office client's command line, driven in process.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "jixiao/client/cli.h"

namespace jixiao::client {
namespace {

struct CliRun {
  int code;
  std::string out;
  std::string err;
};

CliRun run(std::vector<std::string> args) {
  args.push_back("--templates");
  args.push_back(JIXIAO_TEMPLATE_DIR);
  std::ostringstream out, err;
  const int code = run_cli(args, "", out, err);
  return {code, out.str(), err.str()};
}

std::string fixture(const std::string& name) { return std::string(JIXIAO_FIXTURE_DIR) + "/" + name; }

std::string temp_file(const std::string& name, const std::string& content) {
  const auto dir = std::filesystem::temp_directory_path() / ("jixiao-cli-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = dir / name;
  std::ofstream(path, std::ios::binary) << content;
  return path.string();
}

TEST(ClientCheck, FormWithErrorsExitsOneAndExplainsInChinese) {
  const CliRun r = run({"check", fixture("000_puyang_2021.json")});
  EXPECT_EQ(r.code, kExitFindings) << r.err;
  EXPECT_NE(r.out.find("校验结果：错误 6 项"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("总分应为各项得分之和 158"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("建议得分"), std::string::npos) << r.out;
}

TEST(ClientCheck, FormWithoutErrorsExitsZero) {
  const CliRun r = run({"check", fixture("001_target_1.json")});
  EXPECT_EQ(r.code, kExitOk) << r.out << r.err;
  EXPECT_NE(r.out.find("未发现问题"), std::string::npos) << r.out;
}

TEST(ClientCheck, JsonOutputCarriesRuleCodesAndCellIds) {
  const CliRun r = run({"check", fixture("004_shenzhen_2020.json"), "--json"});
  EXPECT_EQ(r.code, kExitFindings);
  const auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["summary"]["error"], 1);
  bool found = false;
  for (const auto& f : doc["findings"]) {
    if (f["rule"] == "FUNDS.RATE_PRECISION" && f["cells"][0] == "funds[total].rate") {
      found = true;
      EXPECT_EQ(f["severity"], "hint");
      EXPECT_EQ(f["severity_name"], "提示");
    }
  }
  EXPECT_TRUE(found) << r.out;
  EXPECT_EQ(doc["template"]["id"], "project_self_eval_group_points");
  EXPECT_FALSE(doc["suggestions"].empty());
}

TEST(ClientCheck, UnreadableInputExitsTwoSayingWhereAndWhy) {
  const CliRun missing = run({"check", "/nonexistent/form.json"});
  EXPECT_EQ(missing.code, kExitUnreadable);
  EXPECT_NE(missing.err.find("找不到文件"), std::string::npos) << missing.err;

  const CliRun malformed = run({"check", temp_file("bad.json", "{\"format\": \"jixiao-form\",\n\"x\": }")});
  EXPECT_EQ(malformed.code, kExitUnreadable);
  EXPECT_NE(malformed.err.find("第 2 行"), std::string::npos) << malformed.err;
  EXPECT_TRUE(malformed.out.empty());
}

TEST(ClientCheck, BadCellValueExitsTwoWithThePointer) {
  std::ifstream in(fixture("004_shenzhen_2020.json"));
  std::ostringstream buf;
  buf << in.rdbuf();
  std::string text = buf.str();
  text.replace(text.find("\"8086475.64\""), 12, "\"8086475.645\"");
  const CliRun r = run({"check", temp_file("fen.json", text)});
  EXPECT_EQ(r.code, kExitUnreadable);
  EXPECT_NE(r.err.find("精确到了分以下"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("/tables/funds/total/executed"), std::string::npos) << r.err;
}

TEST(ClientCheck, UsageErrorsExitTwo) {
  EXPECT_EQ(run({"check"}).code, kExitUnreadable);
  EXPECT_EQ(run({"frobnicate"}).code, kExitUnreadable);
  EXPECT_EQ(run({"check", fixture("000_puyang_2021.json"), "--bogus"}).code, kExitUnreadable);
}

TEST(ClientNew, BlankFormPassesReadingAndListsEveryCell) {
  const CliRun made = run({"new", "project_self_eval_row_points", "--unit-name", "华龙区科协", "--year", "2022"});
  ASSERT_EQ(made.code, kExitOk) << made.err;
  const auto doc = nlohmann::json::parse(made.out);
  EXPECT_EQ(doc["fiscal_year"], 2022);
  EXPECT_EQ(doc["fields"]["project_name"], "");
  const CliRun checked = run({"check", temp_file("blank.json", made.out)});
  EXPECT_NE(checked.code, kExitUnreadable) << checked.err;
}

TEST(ClientNew, RefusesToOverwriteAFile) {
  const std::string path = temp_file("exists.json", "keep me");
  const CliRun r = run({"new", "project_target", "-o", path});
  EXPECT_EQ(r.code, kExitUnreadable);
  std::ifstream in(path);
  std::ostringstream buf;
  buf << in.rdbuf();
  const std::string content = buf.str();
  EXPECT_EQ(content, "keep me");
}

TEST(ClientTemplates, ListsTheShippedTemplates) {
  const CliRun r = run({"templates"});
  EXPECT_EQ(r.code, kExitOk);
  for (const char* id : {"project_self_eval_row_points", "project_self_eval_group_points", "project_target",
                         "department_self_eval", "self_eval_report"}) {
    EXPECT_NE(r.out.find(id), std::string::npos) << id;
  }
}

TEST(ClientHelp, AnswersInChineseAndEnglish) {
  std::ostringstream out, err;
  EXPECT_EQ(run_cli({"--help"}, "", out, err), kExitOk);
  EXPECT_NE(out.str().find("用法 Usage"), std::string::npos);
  EXPECT_NE(out.str().find("jixiao check"), std::string::npos);
}

}  // namespace
}  // namespace jixiao::client
