// Workflow definitions are data: the shipped defaults say what the issue
// says, and a broken file is refused naming the file, the stage and the field.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <functional>
#include <sstream>

#include "test_support.h"

namespace jixiao::workflow {
namespace {

std::string read_default(const std::string& name) {
  std::ifstream in(std::string(JIXIAO_WORKFLOW_DEFINITION_DIR) + "/" + name + ".json");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string describe(const WorkflowDefinition& d) {
  std::string out;
  for (const auto& st : d.stages) {
    const char* unit = st.acting_unit == ActingUnit::kOwnUnit      ? "own"
                       : st.acting_unit == ActingUnit::kParentUnit ? "parent"
                                                                   : "finance";
    out += st.name + "(" + std::string(role_key(st.role)) + "@" + unit;
    if (st.condition == StageCondition::kAmountReachesThreshold) out += ",≥threshold";
    if (st.evidence == StageEvidence::kMeeting) out += ",meeting:" + st.meeting_kind;
    if (st.completes_with == CompletingAction::kAccept) out += ",accept";
    if (st.may_return_to_earlier_stage) out += ",return-to-stage";
    out += ") ";
  }
  return out;
}

TEST(WorkflowDefinition, DistrictDefaultIsTheIssuesFlow) {
  const WorkflowDefinition d = testing::load_default("district-default");
  EXPECT_EQ(d.id, "district-default");
  EXPECT_EQ(d.version, 1U);
  EXPECT_EQ(d.applies_to, UnitLevel::kDistrict);
  EXPECT_EQ(d.meeting_threshold_fen, 2'000'000);  // 2万元
  EXPECT_EQ(describe(d),
            "单位审核(unit_reviewer@own) "
            "主席会审核(meeting_secretary@own,≥threshold,meeting:主席会) "
            "党组会审定(meeting_secretary@own,≥threshold,meeting:党组会) "
            "上级审核(supervisor@parent) "
            "财政局审核(finance_reviewer@finance,accept,return-to-stage) ");
}

TEST(WorkflowDefinition, CityDefaultIsTheSameWithoutTheParentStage) {
  const WorkflowDefinition d = testing::load_default("city-default");
  EXPECT_EQ(d.applies_to, UnitLevel::kCity);
  EXPECT_EQ(describe(d),
            "单位审核(unit_reviewer@own) "
            "主席会审核(meeting_secretary@own,≥threshold,meeting:主席会) "
            "党组会审定(meeting_secretary@own,≥threshold,meeting:党组会) "
            "财政局审核(finance_reviewer@finance,accept,return-to-stage) ");
}

TEST(WorkflowDefinition, UnitsGetTheDefinitionOfTheirLevel) {
  const std::vector<WorkflowDefinition> defs = {testing::load_default("district-default"),
                                                testing::load_default("city-default")};
  const Organisation org = testing::make_organisation();
  EXPECT_EQ((*select_workflow_definition(defs, *org.find(testing::kDistrict)))->id, "district-default");
  EXPECT_EQ((*select_workflow_definition(defs, *org.find(testing::kCity)))->id, "city-default");
  const auto none = select_workflow_definition(defs, *org.find(testing::kFinance));
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(none.status().message(), "没有适用于财政局单位“市财政局”的工作流定义");
}

TEST(WorkflowDefinition, NewestVersionOfADefinitionIsSelected) {
  WorkflowDefinition v1 = testing::load_default("district-default");
  WorkflowDefinition v2 = v1;
  v2.version = 2;
  const std::vector<WorkflowDefinition> defs = {v2, v1};
  const Organisation org = testing::make_organisation();
  EXPECT_EQ((*select_workflow_definition(defs, *org.find(testing::kDistrict)))->version, 2U);
}

// Each case edits the district default and names the message and pointer.
struct BrokenCase {
  std::string name;
  std::function<void(nlohmann::json&)> edit;
  StatusCode code;
  std::string message;
  std::string detail;
};

TEST(WorkflowDefinition, BrokenFilesAreRefusedNamingThePlace) {
  const std::vector<BrokenCase> cases = {
      {"unknown role", [](auto& j) { j["stages"][1]["role"] = "chairman"; }, StatusCode::kInvalidArgument,
       "工作流定义“bad.json”第2个环节（主席会审核）：未知的角色“chairman”", "/stages/1/role"},
      {"admin role", [](auto& j) { j["stages"][0]["role"] = "audit_admin"; }, StatusCode::kInvalidArgument,
       "工作流定义“bad.json”第1个环节（单位审核）：三员分立：审计管理员不能办理业务环节", "/stages/0/role"},
      {"duplicate id", [](auto& j) { j["stages"][2]["id"] = "chair_meeting"; }, StatusCode::kInvalidArgument,
       "工作流定义“bad.json”第3个环节（党组会审定）：环节编号“chair_meeting”重复", "/stages/2/id"},
      {"meeting without kind", [](auto& j) { j["stages"][2].erase("meeting_kind"); }, StatusCode::kInvalidArgument,
       "工作流定义“bad.json”第3个环节（党组会审定）：会议环节必须写明会议类型（如 主席会、党组会）",
       "/stages/2/meeting_kind"},
      {"unknown acting unit", [](auto& j) { j["stages"][3]["acting_unit"] = "province"; },
       StatusCode::kInvalidArgument,
       "工作流定义“bad.json”第4个环节（上级审核）：未知的办理单位“province”，应为 own、parent 或 finance_bureau",
       "/stages/3/acting_unit"},
      {"missing field", [](auto& j) { j["stages"][0].erase("condition"); }, StatusCode::kInvalidArgument,
       "工作流定义“bad.json”第1个环节（单位审核）：缺少字段“condition”", "/stages/0/condition"},
      {"misspelt field", [](auto& j) { j["stages"][0]["rolle"] = "x"; }, StatusCode::kInvalidArgument,
       "工作流定义“bad.json”第1个环节（单位审核）：未知的字段“rolle”", "/stages/0"},
      {"last stage approves", [](auto& j) { j["stages"][4]["completes_with"] = "approve"; },
       StatusCode::kInvalidArgument, "工作流定义“bad.json”第5个环节（财政局审核）：最后一个环节应以受理（accept）办结",
       "/stages/4/completes_with"},
      {"accept before the end", [](auto& j) { j["stages"][0]["completes_with"] = "accept"; },
       StatusCode::kInvalidArgument,
       "工作流定义“bad.json”第1个环节（单位审核）：只有最后一个环节可以受理（accept），其他环节应为通过（approve）",
       "/stages/0/completes_with"},
      {"parent stage for a city", [](auto& j) { j["applies_to"] = "city"; }, StatusCode::kInvalidArgument,
       "工作流定义“bad.json”第4个环节（上级审核）：市级科协没有上级科协，不能设置上级审核环节",
       "/stages/3/acting_unit"},
      {"no stages", [](auto& j) { j["stages"] = nlohmann::json::array(); }, StatusCode::kInvalidArgument,
       "工作流定义“bad.json”：流程至少要有一个环节", "/stages"},
      {"negative threshold", [](auto& j) { j["meeting_threshold_fen"] = -1; }, StatusCode::kInvalidArgument,
       "工作流定义“bad.json”：会议审议金额标准不能为负", "/meeting_threshold_fen"},
      {"fractional threshold", [](auto& j) { j["meeting_threshold_fen"] = 2.5; }, StatusCode::kInvalidArgument,
       "工作流定义“bad.json”：会议审议金额标准应为整数（单位：分）", "/meeting_threshold_fen"},
      {"version zero", [](auto& j) { j["version"] = 0; }, StatusCode::kInvalidArgument,
       "工作流定义“bad.json”：流程版本 version 应为正整数", "/version"},
      {"not a definition", [](auto& j) { j["format"] = "jixiao.template"; }, StatusCode::kInvalidArgument,
       "工作流定义“bad.json”：不是工作流定义文件（format 应为 jixiao.workflow-definition）", "/format"},
      {"future format", [](auto& j) { j["format_version"] = 2; }, StatusCode::kUnsupportedVersion,
       "工作流定义“bad.json”的格式版本2不受支持，本程序支持版本1", "/format_version"},
  };
  for (const BrokenCase& c : cases) {
    nlohmann::json j = nlohmann::json::parse(read_default("district-default"));
    c.edit(j);
    const auto r = parse_workflow_definition(j.dump(), "bad.json");
    ASSERT_FALSE(r.is_ok()) << c.name;
    EXPECT_EQ(r.status().code(), c.code) << c.name;
    EXPECT_EQ(r.status().message(), c.message) << c.name;
    EXPECT_EQ(r.status().detail(), c.detail) << c.name;
  }
}

TEST(WorkflowDefinition, NotJsonAndMissingFilesAreReported) {
  const auto bad = parse_workflow_definition("{ \"format\": ", "broken.json");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "工作流定义“broken.json”：不是有效的 JSON 文件");
  const auto missing = load_workflow_definition("/nonexistent/definitions/x.json");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "找不到工作流定义文件“x.json”");
}

}  // namespace
}  // namespace jixiao::workflow
