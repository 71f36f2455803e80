#include "jixiao/common/form.h"

namespace jixiao {
namespace {
const CellValue kEmptyCell;
}

std::string CellValue::display(MoneyUnit unit) const {
  switch (kind) {
    case Kind::kEmpty: return "";
    case Kind::kDash: return "—";
    case Kind::kText: return text;
    case Kind::kMoney: return money.format(unit, 2, false);
    case Kind::kNumber: return number.to_string();
  }
  return "";
}

bool operator==(const CellValue& a, const CellValue& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case CellValue::Kind::kEmpty:
    case CellValue::Kind::kDash: return true;
    case CellValue::Kind::kText: return a.text == b.text;
    case CellValue::Kind::kMoney: return a.money == b.money;
    case CellValue::Kind::kNumber: return a.number == b.number && a.number.decimals() == b.number.decimals();
  }
  return false;
}

const CellValue& Row::cell(std::string_view key) const {
  auto it = cells.find(std::string(key));
  return it == cells.end() ? kEmptyCell : it->second;
}

const Row* Table::find(std::string_view id) const {
  for (const auto& r : rows) {
    if (r.id == id) return &r;
  }
  return nullptr;
}

const CellValue& Form::field(std::string_view key) const {
  auto it = fields.find(std::string(key));
  return it == fields.end() ? kEmptyCell : it->second;
}

const Table* Form::table(std::string_view key) const {
  auto it = tables.find(std::string(key));
  return it == tables.end() ? nullptr : &it->second;
}

std::string field_cell_id(std::string_view field) { return "fields." + std::string(field); }

std::string table_cell_id(std::string_view table, std::string_view row, std::string_view column) {
  return std::string(table) + "[" + std::string(row) + "]." + std::string(column);
}

}  // namespace jixiao
