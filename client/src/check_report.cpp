#include "jixiao/client/check_report.h"

#include <nlohmann/json.hpp>

namespace jixiao::client {
namespace {

std::string summary_line(const CheckReport& report) {
  return "错误 " + std::to_string(report.count(Severity::kError)) + " 项，警告 " +
         std::to_string(report.count(Severity::kWarning)) + " 项，提示 " +
         std::to_string(report.count(Severity::kHint)) + " 项";
}

std::string headline(const Form& form, const FormTemplate& tmpl) {
  std::string out = "表单：" + tmpl.display_name() + "\n";
  out += "单位：" + form.unit_name;
  if (!form.unit_code.empty()) out += "（" + form.unit_code + "）";
  out += "　年度：" + std::to_string(form.fiscal_year) + "　金额单位：" + std::string(money_unit_name(form.money_unit)) + "\n";
  const CellValue& name = form.field("project_name");
  if (name.kind == CellValue::Kind::kText) out += "项目：" + name.text + "\n";
  return out;
}

std::string band_text(const ScoreSuggestion& s) {
  return s.low == s.high ? s.high.to_string(2) : s.low.to_string(2) + "–" + s.high.to_string(2);
}

}  // namespace

std::string render_report_text(const Form& form, const FormTemplate& tmpl, const CheckReport& report) {
  std::string out = headline(form, tmpl);
  out += "校验结果：" + summary_line(report) + "\n";
  for (Severity s : {Severity::kError, Severity::kWarning, Severity::kHint}) {
    if (report.count(s) == 0) continue;
    out += '\n';
    out += severity_name(s);
    out += '\n';
    int n = 0;
    for (const auto& f : report.findings) {
      if (f.severity != s) continue;
      out += "  " + std::to_string(++n) + ". " + f.message + "  [" + f.rule + "]\n";
    }
  }
  if (!report.suggestions.empty()) {
    out += "\n建议得分（仅供参考，不改动表中数据）\n";
    for (const auto& s : report.suggestions) {
      out += "  · " + s.what + "：表中 " + (s.entered ? s.entered->to_string() : std::string("未填")) + "，建议 " +
             band_text(s) + "（" + s.basis + "）\n";
    }
  }
  if (report.findings.empty()) out += "\n未发现问题。\n";
  return out;
}

std::string render_report_json(const Form& form, const FormTemplate& tmpl, const CheckReport& report) {
  nlohmann::ordered_json doc;
  doc["form_id"] = form.id;
  doc["template"] = {{"id", tmpl.id}, {"version", tmpl.version}, {"title", tmpl.title}};
  doc["unit_code"] = form.unit_code;
  doc["unit_name"] = form.unit_name;
  doc["fiscal_year"] = form.fiscal_year;
  doc["summary"] = {{"error", report.count(Severity::kError)},
                    {"warning", report.count(Severity::kWarning)},
                    {"hint", report.count(Severity::kHint)}};
  nlohmann::ordered_json findings = nlohmann::ordered_json::array();
  for (const auto& f : report.findings) {
    findings.push_back({{"severity", severity_key(f.severity)},
                        {"severity_name", severity_name(f.severity)},
                        {"rule", f.rule},
                        {"message", f.message},
                        {"cells", f.cells}});
  }
  doc["findings"] = std::move(findings);
  nlohmann::ordered_json suggestions = nlohmann::ordered_json::array();
  for (const auto& s : report.suggestions) {
    suggestions.push_back({{"cell", s.cell},
                           {"what", s.what},
                           {"entered", s.entered ? nlohmann::ordered_json(s.entered->to_string()) : nlohmann::ordered_json()},
                           {"low", s.low.to_string(2)},
                           {"high", s.high.to_string(2)},
                           {"basis", s.basis}});
  }
  doc["suggestions"] = std::move(suggestions);
  return doc.dump(2, ' ', false) + "\n";
}

}  // namespace jixiao::client
