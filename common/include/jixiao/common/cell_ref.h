// A cell's address in a form, and the text form of it used everywhere a cell
// is named (findings, sync operations, the audit log):
//   fields.project_name            CellRef{"", "", "project_name"}
//   funds[total].executed          CellRef{"funds", "total", "executed"}
//   indicators[3f2b…].target       CellRef{"indicators", "3f2b…", "target"}
#pragma once

#include <compare>
#include <optional>
#include <string>
#include <string_view>

#include "jixiao/common/form.h"
#include "jixiao/common/form_template.h"
#include "jixiao/common/status.h"

namespace jixiao {

struct CellRef {
  std::string table;  // empty for a header field or narrative section
  RowId row;
  std::string column;  // the field key when table is empty

  bool is_field() const { return table.empty(); }
  std::string to_string() const;
  static Result<CellRef> parse(std::string_view text);
  static CellRef field(std::string key) { return {{}, {}, std::move(key)}; }

  friend bool operator==(const CellRef&, const CellRef&) = default;
  friend auto operator<=>(const CellRef&, const CellRef&) = default;
};

// The cell's value in `form`, or nullptr when its row (or table) is absent.
// A field or a column the row lacks reads as an empty value, never nullptr.
const CellValue* find_cell(const Form& form, const CellRef& ref);
CellValue* find_cell_mutable(Form& form, const CellRef& ref);

// The template's definition of the cell; an error (Chinese, naming the cell)
// when the template has no such field, table or column, or when a fixed table
// has no such row or the row does not carry that column.
Result<const CellDef*> find_cell_def(const FormTemplate& tmpl, const CellRef& ref);

// Whether `value` is of the kind `def` takes (money for money cells …).
Status validate_cell_value(const CellDef& def, const CellValue& value);

// The amount that decides the meeting stages (三重一大): the cell named by
// the template's `amount_cell` parameter, if it holds money.
std::optional<Money> form_amount(const Form& form, const FormTemplate& tmpl);

}  // namespace jixiao
