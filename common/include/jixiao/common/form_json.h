// The JSON form file format (docs/form-format.md): what people read, write by
// hand, import and export. Reading is strict — every cell of the template
// must be present (blank is fine), no unknown keys — and every error names
// the place (a JSON pointer in the detail, the Chinese label in the message).
#pragma once

#include <string>
#include <string_view>

#include "jixiao/common/form.h"
#include "jixiao/common/form_template.h"
#include "jixiao/common/status.h"

namespace jixiao {

inline constexpr int kFormFileFormatVersion = 1;

// `what` names the input in messages, e.g. the file name.
Result<Form> form_from_json(std::string_view json_text, const TemplateRegistry& templates,
                            std::string_view what = "表单文件");

// Pretty-printed, keys in template order; exact money in the form's unit.
std::string form_to_json(const Form& form, const FormTemplate& tmpl);

// A blank form of `tmpl`: every field and fixed row present and empty.
Form new_blank_form(const FormTemplate& tmpl, std::string unit_code, std::string unit_name, int fiscal_year);

// Interprets text typed into a cell of type `def` (money in `unit`). `label`
// names the cell for people, `where` for logs.
Result<CellValue> parse_cell_text(const CellDef& def, std::string_view text, MoneyUnit unit,
                                  std::string_view label, std::string_view where);

}  // namespace jixiao
