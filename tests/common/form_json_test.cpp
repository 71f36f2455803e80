// Reading the JSON form file format: every bad input gets a clear error that
// names the place; nothing crashes and nothing is silently fixed.
#include <gtest/gtest.h>

#include "jixiao/common/form_codec.h"
#include "jixiao/common/form_json.h"
#include "jixiao/common/uuid.h"
#include "test_support.h"

namespace jixiao {
namespace {

using testing::fixture_path;
using testing::read_text_file;
using testing::shipped_templates;

// The 004 fixture with one textual replacement applied (must match once).
std::string fixture_with(const std::string& from, const std::string& to) {
  std::string text = read_text_file(fixture_path("004_shenzhen_2020.json"));
  const std::size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  EXPECT_EQ(text.find(from, at + 1), std::string::npos) << "ambiguous: " << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

Status read_error(const std::string& text) {
  auto form = form_from_json(text, shipped_templates(), "表单文件 test.json");
  EXPECT_FALSE(form.is_ok()) << "expected an error";
  return form.status();
}

TEST(FormJson, ReadsTheFixtureWithExactMoney) {
  auto form = form_from_json(read_text_file(fixture_path("004_shenzhen_2020.json")), shipped_templates());
  ASSERT_TRUE(form.is_ok()) << form.status().to_string();
  const Row* total = form->tables.at("funds").find("total");
  ASSERT_NE(total, nullptr);
  EXPECT_EQ(total->cell("executed").money.fen(), 808647564);
  EXPECT_EQ(total->cell("rate").number.to_string(), "99.7");
  EXPECT_EQ(form->tables.at("indicators").rows.size(), 60u);
}

TEST(FormJson, JsonNumbersAreReadExactlyNotAsDoubles) {
  // 0.1 + 0.2 style traps: a JSON number literal must keep its exact digits.
  const Status ok_or = [] {
    auto form = form_from_json(fixture_with("\"executed\": \"8086475.64\",\n        \"points\"",
                                            "\"executed\": 8086475.64,\n        \"points\""),
                               shipped_templates());
    if (!form) return form.status();
    EXPECT_EQ(form->tables.at("funds").find("total")->cell("executed").money.fen(), 808647564);
    return Status::ok();
  }();
  EXPECT_TRUE(ok_or.is_ok()) << ok_or.to_string();
}

TEST(FormJson, MalformedJsonNamesLineAndColumn) {
  const Status s = read_error("{\n  \"format\": \"jixiao-form\",\n  \"format_version\": 1,,\n}");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("不是有效的 JSON"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("第 3 行"), std::string::npos) << s.message();
}

TEST(FormJson, EmptyFileIsAnError) {
  const Status s = read_error("");
  EXPECT_NE(s.message().find("不是有效的 JSON"), std::string::npos) << s.message();
}

TEST(FormJson, InvalidUtf8IsAnError) {
  const Status s = read_error("{\"format\": \"\xff\xfe\"}");
  EXPECT_NE(s.message().find("UTF-8"), std::string::npos) << s.message();
}

TEST(FormJson, DuplicateKeysAreRefused) {
  const Status s = read_error(fixture_with("\"money_unit\": \"元\",", "\"money_unit\": \"元\", \"money_unit\": \"万元\","));
  EXPECT_NE(s.message().find("重复的键“money_unit”"), std::string::npos) << s.message();
}

TEST(FormJson, UnknownTemplateIsNamed) {
  const Status s = read_error(fixture_with("\"template\": \"project_self_eval_group_points\"", "\"template\": \"no_such_form\""));
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("未知的表单模板“no_such_form”"), std::string::npos) << s.message();
}

TEST(FormJson, UnknownTemplateVersionListsTheKnownOnes) {
  const Status s = read_error(fixture_with("\"template_version\": 1", "\"template_version\": 7"));
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("没有第 7 版"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("现有版本：1"), std::string::npos) << s.message();
}

TEST(FormJson, NewerFileFormatIsUnsupportedVersion) {
  const Status s = read_error(fixture_with("\"format_version\": 1", "\"format_version\": 2"));
  EXPECT_EQ(s.code(), StatusCode::kUnsupportedVersion);
}

TEST(FormJson, MissingCellIsNamedWithItsLabelAndPointer) {
  const Status s = read_error(fixture_with("\"executed\": \"8086475.64\",\n        \"points\": \"10\",",
                                           "\"points\": \"10\","));
  EXPECT_NE(s.message().find("缺少列“全年执行数”"), std::string::npos) << s.message();
  EXPECT_EQ(s.detail(), "/tables/funds/total/executed");
}

TEST(FormJson, MissingFieldIsNamed) {
  const Status s = read_error(fixture_with("\"project_code\": \"\",", ""));
  EXPECT_NE(s.message().find("缺少字段“项目编码”"), std::string::npos) << s.message();
  EXPECT_EQ(s.detail(), "/fields/project_code");
}

TEST(FormJson, MissingIndicatorColumnNamesTheRow) {
  const Status s = read_error(fixture_with("\"level3\": \"年度课题数量\",", ""));
  EXPECT_NE(s.message().find("绩效指标 第 11 行缺少列“三级指标”"), std::string::npos) << s.message();
  EXPECT_EQ(s.detail(), "/tables/indicators/10/level3");
}

TEST(FormJson, UnknownKeysAreRefusedNotIgnored) {
  const Status s = read_error(fixture_with("\"project_code\": \"\",", "\"project_code\": \"\", \"projcet_name\": \"x\","));
  EXPECT_NE(s.message().find("模板中没有字段“projcet_name”"), std::string::npos) << s.message();
}

TEST(FormJson, NegativeAmountIsRefusedWithPlace) {
  const Status s = read_error(fixture_with("\"executed\": \"8086475.64\",\n        \"points\"", "\"executed\": \"-5\",\n        \"points\""));
  EXPECT_NE(s.message().find("项目资金“年度资金总额”行“全年执行数”"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("不能为负数"), std::string::npos) << s.message();
  EXPECT_NE(s.detail().find("/tables/funds/total/executed"), std::string::npos) << s.detail();
}

TEST(FormJson, AbsurdAmountIsRefused) {
  const Status s = read_error(fixture_with("\"executed\": \"8086475.64\",\n        \"points\"",
                                           "\"executed\": \"1000000000000000\",\n        \"points\""));
  EXPECT_NE(s.message().find("超出合理范围"), std::string::npos) << s.message();
}

TEST(FormJson, FractionOfAFenIsRefused) {
  const Status s = read_error(fixture_with("\"executed\": \"8086475.64\",\n        \"points\"",
                                           "\"executed\": \"8086475.645\",\n        \"points\""));
  EXPECT_NE(s.message().find("精确到了分以下"), std::string::npos) << s.message();
}

TEST(FormJson, TextInAPointsColumnIsRefused) {
  const Status s = read_error(fixture_with("\"points\": \"10\",\n        \"rate\": \"99.7%\"", "\"points\": \"十分\",\n        \"rate\": \"99.7%\""));
  EXPECT_NE(s.message().find("“分值”应为分数，表中为“十分”"), std::string::npos) << s.message();
}

TEST(FormJson, PercentMustBeANumber) {
  const Status s = read_error(fixture_with("\"points\": \"10\",\n        \"rate\": \"99.7%\"", "\"points\": \"10\",\n        \"rate\": \"约百分之百\""));
  EXPECT_NE(s.message().find("应为百分数"), std::string::npos) << s.message();
}

TEST(FormJson, ChoiceOutsideItsListIsRefused) {
  const Status s = read_error(fixture_with("\"grade\": \"\"", "\"grade\": \"优秀\""));
  EXPECT_NE(s.message().find("应为以下之一：优、良、中、差"), std::string::npos) << s.message();
}

TEST(FormJson, MoneyUnitMustBeOneTheTemplateUses) {
  const Status s = read_error(fixture_with("\"money_unit\": \"元\"", "\"money_unit\": \"千元\""));
  EXPECT_NE(s.message().find("千元"), std::string::npos) << s.message();
  EXPECT_EQ(s.detail(), "/money_unit");
}

TEST(FormJson, FormIdMustBeAUuid) {
  const Status s = read_error(fixture_with("\"form_id\": \"5d7a9e13-64c2-4b8f-a0d5-3e9f1c2b7a04\"", "\"form_id\": \"form-1\""));
  EXPECT_NE(s.message().find("form_id 应为 UUID"), std::string::npos) << s.message();
}

TEST(FormJson, ExportThenImportIsLossless) {
  auto form = form_from_json(read_text_file(fixture_path("004_shenzhen_2020.json")), shipped_templates());
  ASSERT_TRUE(form.is_ok());
  const FormTemplate& tmpl = testing::shipped_template("project_self_eval_group_points");
  const std::string exported = form_to_json(*form, tmpl);
  auto again = form_from_json(exported, shipped_templates());
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  EXPECT_EQ(form_to_json(*again, tmpl), exported);
  EXPECT_EQ(again->tables.at("indicators").rows[10].id, form->tables.at("indicators").rows[10].id);
  EXPECT_EQ(again->tables.at("funds").find("total")->cell("executed").money.fen(), 808647564);
}

TEST(FormJson, HandWrittenRowsGetStableDerivedIds) {
  auto a = form_from_json(read_text_file(fixture_path("004_shenzhen_2020.json")), shipped_templates());
  auto b = form_from_json(read_text_file(fixture_path("004_shenzhen_2020.json")), shipped_templates());
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  const auto& ra = a->tables.at("indicators").rows;
  const auto& rb = b->tables.at("indicators").rows;
  EXPECT_EQ(ra[3].id, rb[3].id);
  EXPECT_NE(ra[3].id, ra[4].id);
  EXPECT_TRUE(is_uuid(ra[3].id));
}

TEST(FormCodec, BinaryRoundTripKeepsEveryCell) {
  auto form = form_from_json(read_text_file(fixture_path("000_puyang_2021.json")), shipped_templates());
  ASSERT_TRUE(form.is_ok());
  const std::string blob = encode_form(*form);
  auto back = decode_form(blob);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  const FormTemplate& tmpl = testing::shipped_template("project_self_eval_row_points");
  EXPECT_EQ(form_to_json(*back, tmpl), form_to_json(*form, tmpl));
  EXPECT_EQ(back->fields.at("narr_basic").text, form->fields.at("narr_basic").text);
}

TEST(FormCodec, TruncatedOrForeignBytesAreCorruptionNotACrash) {
  auto form = form_from_json(read_text_file(fixture_path("000_puyang_2021.json")), shipped_templates());
  ASSERT_TRUE(form.is_ok());
  const std::string blob = encode_form(*form);
  for (std::size_t cut : {std::size_t{0}, std::size_t{3}, std::size_t{10}, blob.size() / 2, blob.size() - 1}) {
    auto r = decode_form(blob.substr(0, cut));
    ASSERT_FALSE(r.is_ok()) << "cut at " << cut;
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << "cut at " << cut;
  }
  auto extra = decode_form(blob + "x");
  EXPECT_EQ(extra.status().code(), StatusCode::kCorruption);
  std::string newer = blob;
  newer[3] = 9;
  EXPECT_EQ(decode_form(newer).status().code(), StatusCode::kUnsupportedVersion);
}

}  // namespace
}  // namespace jixiao
