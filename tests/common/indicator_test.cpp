#include <gtest/gtest.h>

#include "jixiao/common/indicator.h"

namespace jixiao {
namespace {

using K = IndicatorValue::Kind;

std::string terms(const IndicatorValue& v) { return v.describe(); }

TEST(Indicator, ParsesComparatorNumberAndUnit) {
  const auto v = IndicatorValue::parse("≥90%");
  ASSERT_EQ(v.kind, K::kNumeric);
  ASSERT_EQ(v.terms.size(), 1u);
  EXPECT_EQ(v.terms[0].comparator, Comparator::kGe);
  EXPECT_EQ(v.terms[0].value, Decimal::from_int(90));
  EXPECT_EQ(v.terms[0].unit, "%");
}

TEST(Indicator, ParsesTheFormsSeenOnRealForms) {
  EXPECT_EQ(terms(IndicatorValue::parse("≤20万元")), "≤20万元");
  EXPECT_EQ(terms(IndicatorValue::parse("=10人")), "=10人");
  EXPECT_EQ(terms(IndicatorValue::parse("1个")), "1个");
  EXPECT_EQ(terms(IndicatorValue::parse("不少于1场次")), "≥1场次");
  EXPECT_EQ(terms(IndicatorValue::parse(">=33场")), "≥33场");
  EXPECT_EQ(terms(IndicatorValue::parse("≥30份 ≥2亿元")), "≥30份 ≥2亿元");
  EXPECT_EQ(terms(IndicatorValue::parse("10-20家")), "10～20家");
  EXPECT_EQ(terms(IndicatorValue::parse("≥0.5万册")), "≥0.5万册");
  EXPECT_EQ(terms(IndicatorValue::parse("≧80％")), "≥80%");
}

TEST(Indicator, TwoTermsKeepTheirOwnUnits) {
  const auto v = IndicatorValue::parse("≥30份 ≥2亿元");
  ASSERT_EQ(v.terms.size(), 2u);
  EXPECT_EQ(v.terms[0].unit, "份");
  EXPECT_EQ(v.terms[1].unit, "亿元");
  EXPECT_EQ(v.terms[1].value, Decimal::from_int(2));
}

TEST(Indicator, ParenthesisedRemarkBecomesANote) {
  const auto v = IndicatorValue::parse("≥90%(优秀等级项目数量的优良率)");
  ASSERT_EQ(v.kind, K::kNumeric);
  EXPECT_EQ(v.note, "优秀等级项目数量的优良率");
  const auto w = IndicatorValue::parse("≥1000份（）");
  ASSERT_EQ(w.kind, K::kNumeric);
  EXPECT_EQ(w.terms[0].value, Decimal::from_int(1000));
  EXPECT_EQ(w.note, "");
}

TEST(Indicator, UnitPrefixIsSplitFromTrailingWords) {
  const auto v = IndicatorValue::parse("≥5个地方科协改革试点");
  ASSERT_EQ(v.kind, K::kNumeric);
  EXPECT_EQ(v.terms[0].unit, "个");
  EXPECT_EQ(v.terms[0].note, "地方科协改革试点");
}

TEST(Indicator, QualitativeAndNotApplicable) {
  EXPECT_EQ(IndicatorValue::parse("及时").kind, K::kQualitative);
  EXPECT_EQ(IndicatorValue::parse("合规").words, "合规");
  EXPECT_EQ(IndicatorValue::parse("不超过全年预算数").kind, K::kQualitative);
  EXPECT_EQ(IndicatorValue::parse("不适用").kind, K::kNotApplicable);
  EXPECT_EQ(IndicatorValue::parse("—").kind, K::kNotApplicable);
  EXPECT_EQ(IndicatorValue::parse("").kind, K::kEmpty);
  EXPECT_EQ(IndicatorValue::parse("   ").kind, K::kEmpty);
}

TEST(Indicator, UnparseableTextIsKeptVerbatimAndFlagged) {
  const auto v = IndicatorValue::parse("%");
  EXPECT_EQ(v.kind, K::kUnparsed);
  EXPECT_EQ(v.text, "%");
  EXPECT_EQ(IndicatorValue::parse("≥").kind, K::kUnparsed);
  EXPECT_EQ(IndicatorValue::parse("≥%").kind, K::kUnparsed);
}

Assessment check(const char* target, const char* actual, bool cost = false) {
  return assess(IndicatorValue::parse(target), IndicatorValue::parse(actual), cost);
}

TEST(IndicatorAssess, NumericAtLeast) {
  EXPECT_EQ(check("≥90%", "95%").attainment, Attainment::kMet);
  const auto a = check("10", "7");
  EXPECT_EQ(a.attainment, Attainment::kNotMet);
  ASSERT_TRUE(a.ratio.has_value());
  EXPECT_EQ(a.ratio->to_plain(), "0.7");
  EXPECT_NE(a.reason.find("未达到"), std::string::npos);
}

TEST(IndicatorAssess, NumericCeilingUsesTargetOverActual) {
  const auto a = check("≤20万元", "25万元");
  EXPECT_EQ(a.attainment, Attainment::kNotMet);
  EXPECT_EQ(a.ratio->to_plain(), "0.8");
  EXPECT_EQ(check("≤1次", "0").attainment, Attainment::kMet);
}

TEST(IndicatorAssess, MoneyUnitsConvert) {
  EXPECT_EQ(check("≤20万元", "150000元").attainment, Attainment::kMet);
  EXPECT_EQ(check("≤20万元", "250000元").attainment, Attainment::kNotMet);
}

TEST(IndicatorAssess, BareTargetInCostGroupIsACeiling) {
  EXPECT_EQ(check("20万元", "18万元", true).attainment, Attainment::kMet);
  EXPECT_EQ(check("20万元", "18万元", false).attainment, Attainment::kNotMet);
}

TEST(IndicatorAssess, BareTargetExceededIsOverachievement) {
  const auto a = check("2场", "10场");
  EXPECT_EQ(a.attainment, Attainment::kMet);
  EXPECT_TRUE(a.overachieved);
  EXPECT_FALSE(check("≥2场", "10场").overachieved);
}

TEST(IndicatorAssess, IncompatibleUnitsAreUndecidable) {
  const auto a = check("≥2个", "3场");
  EXPECT_EQ(a.attainment, Attainment::kUnknown);
  EXPECT_NE(a.reason.find("单位不一致"), std::string::npos);
}

TEST(IndicatorAssess, QualitativeWords) {
  EXPECT_EQ(check("及时", "及时").attainment, Attainment::kMet);
  EXPECT_EQ(check("及时", "完成").attainment, Attainment::kMet);
  EXPECT_EQ(check("不超过全年预算数", "未超过全年预算数").attainment, Attainment::kMet);
  EXPECT_EQ(check("提升", "得到提升").attainment, Attainment::kMet);
  EXPECT_EQ(check("及时", "基本完成").attainment, Attainment::kPartial);
  EXPECT_EQ(check("及时", "未完成").attainment, Attainment::kNotMet);
  EXPECT_EQ(check("合规", "差").attainment, Attainment::kUnknown);
}

TEST(IndicatorAssess, NumericTargetWithWordActual) {
  // "完成" against "2" claims success but shows no number: undecidable.
  EXPECT_EQ(check("2", "完成").attainment, Attainment::kUnknown);
  EXPECT_EQ(check("≥90%", "基本完成").attainment, Attainment::kPartial);
  EXPECT_EQ(check("≥90%", "未完成").attainment, Attainment::kNotMet);
}

TEST(IndicatorAssess, NotApplicableTargetIsSkipped) {
  EXPECT_EQ(check("不适用", "不适用").attainment, Attainment::kNotApplicable);
}

TEST(IndicatorAssess, MissingActualIsUndecidable) {
  const auto a = check("≥90%", "");
  EXPECT_EQ(a.attainment, Attainment::kUnknown);
  EXPECT_NE(a.reason.find("未填写"), std::string::npos);
}

}  // namespace
}  // namespace jixiao
