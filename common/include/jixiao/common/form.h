// A form document: one filled-in instance of a template.
//
// Cells are addressed by stable ids that do not depend on position:
//   fields.project_name                header field or narrative section
//   funds[total].executed              a fixed row of a table (row key)
//   indicators[3f2b…].target           a dynamic row (its own UUID)
// Rows added on two machines at once therefore never collide.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "jixiao/common/decimal.h"
#include "jixiao/common/money.h"
#include "jixiao/common/org.h"

namespace jixiao {

using FormId = std::string;  // UUID text
using RowId = std::string;   // a fixed row's key, or a UUID for dynamic rows

struct TemplateRef {
  std::string id;
  int version = 0;
  friend bool operator==(const TemplateRef&, const TemplateRef&) = default;
};

// A cell's value, typed by its template column when it is read in.
struct CellValue {
  enum class Kind : std::uint8_t {
    kEmpty = 0,  // nothing written
    kDash = 1,   // "—": written as not applicable
    kText = 2,   // text, long text, indicator, choice, date
    kMoney = 3,  // integer 分
    kNumber = 4, // percent, score, count
  };
  Kind kind = Kind::kEmpty;
  std::string text;
  Money money;
  Decimal number;

  static CellValue empty() { return {}; }
  static CellValue dash() { return {Kind::kDash, "—", {}, {}}; }
  static CellValue of_text(std::string s) { return {Kind::kText, std::move(s), {}, {}}; }
  static CellValue of_money(Money m) { return {Kind::kMoney, {}, m, {}}; }
  static CellValue of_number(Decimal d) { return {Kind::kNumber, {}, {}, d}; }

  bool is_blank() const { return kind == Kind::kEmpty || kind == Kind::kDash; }
  // As a person would write it back on the paper form (money in `unit`).
  std::string display(MoneyUnit unit) const;
  friend bool operator==(const CellValue& a, const CellValue& b);
};

struct Row {
  RowId id;
  std::map<std::string, CellValue> cells;
  // The cell or an empty value.
  const CellValue& cell(std::string_view key) const;
  friend bool operator==(const Row&, const Row&) = default;
};

struct Table {
  std::vector<Row> rows;
  const Row* find(std::string_view id) const;
  friend bool operator==(const Table&, const Table&) = default;
};

struct Form {
  FormId id;
  TemplateRef template_ref;
  UnitCode unit_code;
  std::string unit_name;
  int fiscal_year = 0;
  MoneyUnit money_unit = MoneyUnit::kYuan;
  std::string source;  // free text: where the form came from (provenance)
  std::map<std::string, CellValue> fields;
  std::map<std::string, Table> tables;

  const CellValue& field(std::string_view key) const;
  const Table* table(std::string_view key) const;
  friend bool operator==(const Form&, const Form&) = default;
};

// Cell id text, as used in findings and (later) in sync operations.
std::string field_cell_id(std::string_view field);
std::string table_cell_id(std::string_view table, std::string_view row, std::string_view column);

}  // namespace jixiao
