#include <gtest/gtest.h>

#include "jixiao/common/decimal.h"
#include "jixiao/common/money.h"

namespace jixiao {
namespace {

TEST(Money, ParsesYuanToExactFen) {
  auto m = Money::parse("8086475.64", MoneyUnit::kYuan);
  ASSERT_TRUE(m.is_ok()) << m.status().to_string();
  EXPECT_EQ(m->fen(), 808647564);
}

TEST(Money, ParsesWanYuanAndBaiYuan) {
  EXPECT_EQ(Money::parse("100", MoneyUnit::kWanYuan)->fen(), 100'000'000);       // 100 万元 = 1,000,000 元
  EXPECT_EQ(Money::parse("0.000001", MoneyUnit::kWanYuan)->fen(), 1);           // one 分 in 万元
  EXPECT_EQ(Money::parse("12.3456", MoneyUnit::kBaiYuan)->fen(), 123456);       // 1,234.56 元
  EXPECT_EQ(Money::parse("1,234.5", MoneyUnit::kYuan)->fen(), 123450);          // thousands separators
  EXPECT_EQ(Money::parse("１２３．４５", MoneyUnit::kYuan)->fen(), 12345);        // full-width digits
}

TEST(Money, RejectsMoreThanTwoDecimalsOfYuan) {
  auto m = Money::parse("1.234", MoneyUnit::kYuan);
  ASSERT_FALSE(m.is_ok());
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(m.status().message().find("1.234"), std::string::npos);
  EXPECT_NE(m.status().message().find("最多 2 位小数"), std::string::npos);
  // In 万元 the same precision is six decimals.
  EXPECT_FALSE(Money::parse("0.0000001", MoneyUnit::kWanYuan).is_ok());
  EXPECT_TRUE(Money::parse("0.000001", MoneyUnit::kWanYuan).is_ok());
}

TEST(Money, RejectsNegativeAmounts) {
  auto m = Money::parse("-5", MoneyUnit::kYuan);
  ASSERT_FALSE(m.is_ok());
  EXPECT_NE(m.status().message().find("不能为负数"), std::string::npos);
}

TEST(Money, RejectsAbsurdAmounts) {
  auto m = Money::parse("1000000000000000", MoneyUnit::kYuan);  // 10^15 元
  ASSERT_FALSE(m.is_ok());
  EXPECT_NE(m.status().message().find("超出合理范围"), std::string::npos);
  EXPECT_FALSE(Money::parse("200000000", MoneyUnit::kWanYuan).is_ok());  // 2×10^12 元
  EXPECT_TRUE(Money::parse("1000000000000", MoneyUnit::kYuan).is_ok());  // exactly 1 万亿元
}

TEST(Money, RejectsText) {
  auto m = Money::parse("十万", MoneyUnit::kYuan);
  ASSERT_FALSE(m.is_ok());
  EXPECT_NE(m.status().message().find("不是有效的数字"), std::string::npos);
}

TEST(Money, RendersExactlyInEachUnit) {
  const Money m = Money::from_fen(808647564);
  EXPECT_EQ(m.format(MoneyUnit::kYuan), "8,086,475.64");
  EXPECT_EQ(m.format(MoneyUnit::kBaiYuan), "80,864.7564");
  EXPECT_EQ(m.format(MoneyUnit::kWanYuan), "808.647564");
  EXPECT_EQ(Money::from_fen(100'000'000).format(MoneyUnit::kWanYuan), "100.00");
  EXPECT_EQ(Money::from_fen(5).format(MoneyUnit::kYuan), "0.05");
  EXPECT_EQ(Money::from_fen(0).format_with_unit(MoneyUnit::kWanYuan), "0.00 万元");
}

TEST(Money, RoundTripsThroughEveryUnitWithoutLoss) {
  for (std::int64_t fen : std::initializer_list<std::int64_t>{0, 1, 99, 100, 808647564, 123456789012, Money::kMaxFen}) {
    for (MoneyUnit u : {MoneyUnit::kYuan, MoneyUnit::kBaiYuan, MoneyUnit::kWanYuan}) {
      const std::string text = Money::from_fen(fen).format(u, 2, false);
      auto back = Money::parse(text, u);
      ASSERT_TRUE(back.is_ok()) << text << ": " << back.status().to_string();
      EXPECT_EQ(back->fen(), fen) << text;
    }
  }
}

TEST(Money, UnknownUnitIsNamed) {
  auto u = parse_money_unit("千元");
  ASSERT_FALSE(u.is_ok());
  EXPECT_NE(u.status().message().find("千元"), std::string::npos);
}

TEST(Decimal, KeepsDecimalsAsWritten) {
  auto d = Decimal::parse("99.70");
  ASSERT_TRUE(d.is_ok());
  EXPECT_EQ(d->decimals(), 2);
  EXPECT_EQ(d->to_string(), "99.70");
  EXPECT_EQ(d->to_plain(), "99.7");
  EXPECT_EQ(*d, *Decimal::parse("99.7"));
}

TEST(Decimal, RatioRoundsHalfAwayFromZero) {
  // 8,086,475.64 ÷ 8,108,600.00 = 0.997271… -> 99.73 %
  EXPECT_EQ(Decimal::from_ratio(Int128{808647564} * 100, 810860000, 2).to_string(), "99.73");
  EXPECT_EQ(Decimal::from_ratio(1, 8, 2).to_string(), "0.13");    // 0.125
  EXPECT_EQ(Decimal::from_ratio(-1, 8, 2).to_string(), "-0.13");
  EXPECT_EQ(Decimal::from_ratio(2, 3, 0).to_string(), "1");
}

TEST(Decimal, RejectsGarbageAndTooManyDecimals) {
  EXPECT_FALSE(Decimal::parse("").is_ok());
  EXPECT_FALSE(Decimal::parse("1.2.3").is_ok());
  EXPECT_FALSE(Decimal::parse("1.2345678").is_ok());
  EXPECT_FALSE(Decimal::parse("abc").is_ok());
  EXPECT_FALSE(Decimal::parse("1e5").is_ok());
}

TEST(Decimal, TimesRoundsAtSixDecimals) {
  const Decimal a = *Decimal::parse("0.9973");
  const Decimal b = Decimal::from_int(10);
  EXPECT_EQ(a.times(b).to_plain(), "9.973");
}

}  // namespace
}  // namespace jixiao
