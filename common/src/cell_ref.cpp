#include "jixiao/common/cell_ref.h"

#include <algorithm>

namespace jixiao {
namespace {
const CellValue kEmpty;
}

std::string CellRef::to_string() const {
  return is_field() ? field_cell_id(column) : table_cell_id(table, row, column);
}

Result<CellRef> CellRef::parse(std::string_view text) {
  auto bad = [&] {
    return Status::invalid_argument("单元格地址“" + std::string(text) + "”格式不正确", "bad cell ref");
  };
  if (text.substr(0, 7) == "fields.") {
    if (text.size() == 7) return bad();
    return CellRef::field(std::string(text.substr(7)));
  }
  const std::size_t open = text.find('[');
  const std::size_t close = text.find("].");
  if (open == std::string_view::npos || close == std::string_view::npos || open == 0 || close <= open + 1 ||
      close + 2 >= text.size()) {
    return bad();
  }
  return CellRef{std::string(text.substr(0, open)), std::string(text.substr(open + 1, close - open - 1)),
                 std::string(text.substr(close + 2))};
}

const CellValue* find_cell(const Form& form, const CellRef& ref) {
  if (ref.is_field()) return &form.field(ref.column);
  const Table* t = form.table(ref.table);
  if (t == nullptr) return nullptr;
  const Row* r = t->find(ref.row);
  if (r == nullptr) return nullptr;
  return &r->cell(ref.column);
}

CellValue* find_cell_mutable(Form& form, const CellRef& ref) {
  if (ref.is_field()) return &form.fields[ref.column];
  auto t = form.tables.find(ref.table);
  if (t == form.tables.end()) return nullptr;
  for (auto& r : t->second.rows) {
    if (r.id == ref.row) return &r.cells[ref.column];
  }
  return nullptr;
}

Result<const CellDef*> find_cell_def(const FormTemplate& tmpl, const CellRef& ref) {
  if (ref.is_field()) {
    const CellDef* def = tmpl.field(ref.column);
    if (def == nullptr) return Status::invalid_argument("模板中没有字段“" + ref.column + "”", ref.to_string());
    return def;
  }
  const TableDef* td = tmpl.table(ref.table);
  if (td == nullptr) return Status::invalid_argument("模板中没有表格“" + ref.table + "”", ref.to_string());
  const CellDef* col = td->column(ref.column);
  if (col == nullptr) {
    return Status::invalid_argument("表格“" + td->label + "”中没有列“" + ref.column + "”", ref.to_string());
  }
  if (!td->dynamic_rows) {
    if (td->row(ref.row) == nullptr) {
      return Status::invalid_argument("表格“" + td->label + "”中没有行“" + ref.row + "”", ref.to_string());
    }
    if (!td->row_has_column(ref.row, *col)) {
      return Status::invalid_argument("表格“" + td->label + "”的“" + ref.row + "”行不填“" + col->label + "”",
                                      ref.to_string());
    }
  }
  return col;
}

Status validate_cell_value(const CellDef& def, const CellValue& value) {
  using K = CellValue::Kind;
  bool ok = false;
  switch (value.kind) {
    case K::kEmpty: ok = true; break;
    case K::kDash:
      ok = def.type != CellType::kText && def.type != CellType::kLongText && def.type != CellType::kIndicator &&
           def.type != CellType::kDate;
      break;
    case K::kText:
      ok = def.type == CellType::kText || def.type == CellType::kLongText || def.type == CellType::kIndicator ||
           def.type == CellType::kDate ||
           (def.type == CellType::kChoice &&
            std::find(def.choices.begin(), def.choices.end(), value.text) != def.choices.end());
      break;
    case K::kMoney:
      ok = def.type == CellType::kMoney && value.money.fen() >= 0 && value.money.fen() <= Money::kMaxFen;
      break;
    case K::kNumber:
      ok = def.type == CellType::kPercent || def.type == CellType::kScore || def.type == CellType::kNumber;
      break;
  }
  if (ok) return Status::ok();
  return Status::invalid_argument("“" + def.label + "”的值类型不正确", "cell " + def.key + " of type " +
                                                                          std::string(cell_type_key(def.type)));
}

std::optional<Money> form_amount(const Form& form, const FormTemplate& tmpl) {
  const std::string ref_text = tmpl.param("amount_cell");
  if (ref_text.empty()) return std::nullopt;
  auto ref = CellRef::parse(ref_text);
  if (!ref) return std::nullopt;
  const CellValue* v = find_cell(form, *ref);
  if (v == nullptr || v->kind != CellValue::Kind::kMoney) return std::nullopt;
  return v->money;
}

}  // namespace jixiao
