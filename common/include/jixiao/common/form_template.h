// Form kinds are templates: versioned data files (common/templates/*.json)
// loaded at run time. A template names its cells — header fields, long text
// sections and tables with fixed or dynamic rows — says which are entered and
// which the system can compute, and which money units a form may use.
// The checker's rules are chosen by the template's `kind` and read the cells
// by their keys, so a new province's layout is a new template, not new code.
// The file format is described in docs/templates.md.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jixiao/common/decimal.h"
#include "jixiao/common/money.h"
#include "jixiao/common/status.h"

namespace jixiao {

enum class CellType : std::uint8_t {
  kText = 0,       // a short line
  kLongText = 1,   // narratives, 偏差原因分析
  kMoney = 2,      // integer 分, entered in the form's money unit
  kPercent = 3,    // "99.73" or "99.73%"
  kScore = 4,      // 分值 / 得分
  kNumber = 5,     // counts (在职人员数)
  kIndicator = 6,  // "≥90%", "及时": parsed by IndicatorValue
  kChoice = 7,     // one of `choices`
  kDate = 8,       // "2021-02-24" or "2021年2月24日", kept as text
};
std::string_view cell_type_key(CellType t);

struct CellDef {
  std::string key;
  std::string label;  // Chinese, as printed on the form
  CellType type = CellType::kText;
  bool computed = false;  // the system can compute it; the checker recomputes it
  bool required = false;  // an empty cell is reported
  std::vector<std::string> choices;  // kChoice
  std::vector<std::string> rows;     // table columns: the fixed rows that have it (empty: all)
};

// A formula that yields a rate (and, for most kinds, a score) from entered
// numbers; used by the department sheet (docs/domain.md §3.2).
struct FormulaDef {
  std::string kind;                       // "completion", "over_100_proportional", …
  std::vector<std::string> inputs;        // cell references: "fields.staff_actual", "execution[total].budget"
  std::map<std::string, Decimal> params;  // "threshold_pct", "step_pct", "deduct" …
};

struct RowDef {
  std::string key;
  std::string label;
  // Fixed descriptive text of scoring rows (department sheet).
  std::string level1, level2, level3, explanation, scoring_rule;
  std::optional<Decimal> points;
  std::optional<FormulaDef> formula;
  // Rows of a money table that add up to this one ("total" = fiscal + carryover + other).
  std::vector<std::vector<std::string>> sum_of;
};

struct TableDef {
  std::string key;
  std::string label;
  bool dynamic_rows = false;            // rows added by people, each with its own row id
  std::vector<RowDef> rows;             // fixed rows
  std::vector<CellDef> columns;
  std::vector<std::string> fill_down;   // merged cells: blank means "as the row above"
  std::optional<MoneyUnit> money_unit;  // a table in another unit than the form (完成情况表 in 百元)

  const CellDef* column(std::string_view key) const;
  const RowDef* row(std::string_view key) const;
  bool row_has_column(std::string_view row_key, const CellDef& col) const;
};

struct FormTemplate {
  std::string id;
  int version = 0;
  std::string kind;  // project_self_eval | project_target | department_self_eval | self_eval_report
  std::string title;
  std::string description;
  std::vector<MoneyUnit> money_units;
  MoneyUnit default_money_unit = MoneyUnit::kYuan;
  std::vector<CellDef> fields;
  std::vector<TableDef> tables;
  std::map<std::string, std::string> params;  // kind-specific settings ("points_scope": "row"|"level2")

  const CellDef* field(std::string_view key) const;
  const TableDef* table(std::string_view key) const;
  std::string param(std::string_view key, std::string_view fallback = {}) const;
  std::string display_name() const;  // "项目支出绩效自评表（project_self_eval_row_points 第1版）"
};

// Parses one template file. `source` names the file in errors.
Result<FormTemplate> parse_form_template(std::string_view json_text, std::string_view source);

class TemplateRegistry {
 public:
  Status add(FormTemplate t);
  // Loads every *.json file of `dir`.
  Status load_directory(const std::string& dir);
  // Unknown id and unknown version are distinct, named errors (kNotFound).
  Result<const FormTemplate*> find(std::string_view id, int version) const;
  const FormTemplate* latest(std::string_view id) const;
  std::vector<const FormTemplate*> all() const;

  // Where the installed or built templates are: $JIXIAO_TEMPLATES, then
  // <exe dir>/../share/jixiao/templates, then the source tree.
  static std::string default_directory(const std::string& exe_path);

 private:
  std::map<std::pair<std::string, int>, FormTemplate> templates_;
};

}  // namespace jixiao
