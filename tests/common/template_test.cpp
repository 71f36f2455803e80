#include <gtest/gtest.h>

#include "jixiao/common/form_json.h"
#include "jixiao/common/org.h"
#include "test_support.h"

namespace jixiao {
namespace {

TEST(Templates, ShippedSetLoadsWithEveryKind) {
  const auto all = testing::shipped_templates().all();
  std::set<std::string> kinds;
  for (const auto* t : all) kinds.insert(t->kind);
  EXPECT_EQ(kinds, (std::set<std::string>{"department_self_eval", "project_self_eval", "project_target", "self_eval_report"}));
  EXPECT_EQ(testing::shipped_template("project_self_eval_row_points").param("points_scope"), "row");
  EXPECT_EQ(testing::shipped_template("project_self_eval_group_points").param("points_scope"), "level2");
}

TEST(Templates, SayWhichCellsAreComputedAndTheMoneyUnit) {
  const FormTemplate& t = testing::shipped_template("project_self_eval_group_points");
  EXPECT_EQ(t.default_money_unit, MoneyUnit::kYuan);
  const TableDef* funds = t.table("funds");
  ASSERT_NE(funds, nullptr);
  EXPECT_TRUE(funds->column("rate")->computed);
  EXPECT_FALSE(funds->column("executed")->computed);
  EXPECT_EQ(funds->column("executed")->type, CellType::kMoney);
  const FormTemplate& dept = testing::shipped_template("department_self_eval");
  EXPECT_EQ(dept.table("execution")->money_unit, MoneyUnit::kBaiYuan);
}

TEST(Templates, DepartmentSheetPointsFollowTheStandard) {
  const FormTemplate& t = testing::shipped_template("department_self_eval");
  std::map<std::string, Decimal> by_level1;
  Decimal total;
  for (const auto& r : t.table("scores")->rows) {
    ASSERT_TRUE(r.points.has_value()) << r.key;
    by_level1[r.level1] = by_level1[r.level1] + *r.points;
    total = total + *r.points;
  }
  EXPECT_EQ(total, Decimal::from_int(100));
  EXPECT_EQ(by_level1["投入"], Decimal::from_int(20));
  EXPECT_EQ(by_level1["过程"], Decimal::from_int(30));
  EXPECT_EQ(by_level1["产出"], Decimal::from_int(30));
  EXPECT_EQ(by_level1["效果"], Decimal::from_int(20));
}

TEST(Templates, UnknownKeyInATemplateIsAnErrorAtLoad) {
  auto t = parse_form_template(R"({"format":"jixiao-template","format_version":1,"id":"x","version":1,"kind":"k",
    "title":"t","money_units":["元"],"default_money_unit":"元",
    "fields":[{"key":"a","label":"甲","type":"text","requierd":true}]})",
                               "x.json");
  ASSERT_FALSE(t.is_ok());
  EXPECT_NE(t.status().message().find("不认识的键“requierd”"), std::string::npos) << t.status().message();
  EXPECT_EQ(t.status().detail(), "/fields/0/requierd");
}

TEST(Templates, UnknownCellTypeIsAnError) {
  auto t = parse_form_template(R"({"format":"jixiao-template","format_version":1,"id":"x","version":1,"kind":"k",
    "title":"t","money_units":["元"],"default_money_unit":"元",
    "fields":[{"key":"a","label":"甲","type":"float"}]})",
                               "x.json");
  ASSERT_FALSE(t.is_ok());
  EXPECT_NE(t.status().message().find("未知的单元格类型“float”"), std::string::npos);
}

TEST(Templates, NewerTemplateFormatIsUnsupported) {
  auto t = parse_form_template(R"({"format":"jixiao-template","format_version":2})", "x.json");
  ASSERT_FALSE(t.is_ok());
  EXPECT_EQ(t.status().code(), StatusCode::kUnsupportedVersion);
}

TEST(Templates, BlankFormHasEveryCellAndReadsBack) {
  for (const FormTemplate* t : testing::shipped_templates().all()) {
    const Form blank = new_blank_form(*t, "156001", "测试单位", 2021);
    auto back = form_from_json(form_to_json(blank, *t), testing::shipped_templates());
    ASSERT_TRUE(back.is_ok()) << t->id << ": " << back.status().to_string();
    EXPECT_EQ(back->id, blank.id);
    EXPECT_EQ(back->fields.size(), t->fields.size());
  }
}

TEST(Organisation, ScopeFollowsTheUnitTree) {
  Organisation org;
  ASSERT_TRUE(org.add_unit({"F01", "保定市财政局", UnitLevel::kFinanceBureau, "", ""}).is_ok());
  ASSERT_TRUE(org.add_unit({"731002", "保定市科学技术协会", UnitLevel::kCity, "", "F01"}).is_ok());
  ASSERT_TRUE(org.add_unit({"731101", "竞秀区科协", UnitLevel::kDistrict, "731002", "F01"}).is_ok());
  EXPECT_TRUE(org.is_within("731101", "731002"));
  EXPECT_TRUE(org.is_within("731002", "731002"));
  EXPECT_FALSE(org.is_within("731002", "731101"));
  EXPECT_EQ(org.children("731002").size(), 1u);
  const Status dup = org.add_unit({"731101", "重复", UnitLevel::kDistrict, "731002", "F01"});
  EXPECT_NE(dup.message().find("重复"), std::string::npos);
  const Status orphan = org.add_unit({"9", "孤儿", UnitLevel::kDistrict, "nope", ""});
  EXPECT_NE(orphan.message().find("上级单位“nope”不存在"), std::string::npos);
}

TEST(Organisation, ThreeAdminRolesStayApart) {
  User u{"admin1", "张三", "731002", {Role::kSystemAdmin, Role::kAuditAdmin}, false};
  EXPECT_NE(validate_roles(u).message().find("三员分立"), std::string::npos);
  u.roles = {Role::kSecurityAdmin, Role::kPreparer};
  EXPECT_NE(validate_roles(u).message().find("不能同时担任业务角色"), std::string::npos);
  u.roles = {Role::kPreparer, Role::kUnitReviewer};
  EXPECT_TRUE(validate_roles(u).is_ok());
  EXPECT_EQ(parse_role("审计管理员").value(), Role::kAuditAdmin);
  EXPECT_EQ(parse_role("supervisor").value(), Role::kSupervisor);
  EXPECT_FALSE(parse_role("boss").is_ok());
}

}  // namespace
}  // namespace jixiao
