// The checker (校验): a pure function from a form and its template to
// findings. It recomputes what finance bureaus recompute — 执行率, 得分,
// 总分, grades, sums of money columns, spending plans, formula-driven scores
// of the department sheet — and says in Chinese, with the numbers, what does
// not hold. It suggests scores beside the entered ones; it never changes the
// form. Rules and their stable codes are listed in docs/checker-rules.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jixiao/common/decimal.h"
#include "jixiao/common/form.h"
#include "jixiao/common/form_template.h"

namespace jixiao {

enum class Severity : std::uint8_t {
  kError = 0,    // 错误: the bureau will return the form
  kWarning = 1,  // 警告: probably wrong or incomplete; look at it
  kHint = 2,     // 提示: worth a look (rounding, over-achievement …)
};
std::string_view severity_name(Severity s);  // "错误", "警告", "提示"
std::string_view severity_key(Severity s);   // "error", "warning", "hint"

struct Finding {
  Severity severity = Severity::kError;
  std::string rule;                // stable code: "FUNDS.RATE"
  std::string message;             // Chinese, with the numbers involved
  std::vector<std::string> cells;  // cell ids: "funds[total].rate"
};

// A score the rules suggest for a cell, beside what was entered. A single
// value when low == high (numeric indicators, formulas), else a band
// (qualitative indicators: 100–80%, 80–60%, 60–0% of the points).
struct ScoreSuggestion {
  std::string cell;
  std::string what;  // Chinese name of the cell: 绩效指标第 3 行“…”的得分
  std::optional<Decimal> entered;
  Decimal low;
  Decimal high;
  std::string basis;  // Chinese: how it was derived
};

struct CheckReport {
  std::vector<Finding> findings;
  std::vector<ScoreSuggestion> suggestions;

  std::size_t count(Severity s) const;
  bool has_errors() const { return count(Severity::kError) > 0; }
  // Findings with this rule code, in order (for tests and filters).
  std::vector<const Finding*> with_rule(std::string_view rule) const;
};

CheckReport check_form(const Form& form, const FormTemplate& tmpl);

}  // namespace jixiao
