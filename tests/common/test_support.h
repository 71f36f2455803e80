// Helpers shared by the common/ tests: the shipped templates, fixtures, and
// forms built cell by cell.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "jixiao/common/checker.h"
#include "jixiao/common/form_json.h"
#include "jixiao/common/form_template.h"

namespace jixiao::testing {

inline const TemplateRegistry& shipped_templates() {
  static const TemplateRegistry registry = [] {
    TemplateRegistry r;
    const Status s = r.load_directory(JIXIAO_TEMPLATE_DIR);
    if (!s) throw std::runtime_error("cannot load templates: " + s.to_string());
    return r;
  }();
  return registry;
}

inline const FormTemplate& shipped_template(const std::string& id) {
  const FormTemplate* t = shipped_templates().latest(id);
  if (t == nullptr) throw std::runtime_error("no template " + id);
  return *t;
}

inline std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

inline std::string fixture_path(const std::string& name) { return std::string(JIXIAO_FIXTURE_DIR) + "/" + name; }

// Loads a fixture; fails the test (and returns an empty form) if it does not read.
inline Form load_fixture(const std::string& name) {
  auto form = form_from_json(read_text_file(fixture_path(name)), shipped_templates(), name);
  EXPECT_TRUE(form.is_ok()) << form.status().to_string();
  return form.is_ok() ? *form : Form{};
}

// Sets a cell by typed text, the way a person types it. Dies on bad text.
inline void set_field(Form& form, const FormTemplate& tmpl, const std::string& key, const std::string& text) {
  const CellDef* def = tmpl.field(key);
  ASSERT_NE(def, nullptr) << key;
  auto v = parse_cell_text(*def, text, form.money_unit, key, key);
  ASSERT_TRUE(v.is_ok()) << v.status().to_string();
  form.fields[key] = *v;
}

inline void set_cell(Form& form, const FormTemplate& tmpl, const std::string& table, const std::string& row,
                     const std::string& column, const std::string& text) {
  const TableDef* td = tmpl.table(table);
  ASSERT_NE(td, nullptr) << table;
  const CellDef* def = td->column(column);
  ASSERT_NE(def, nullptr) << column;
  auto v = parse_cell_text(*def, text, td->money_unit.value_or(form.money_unit), column, column);
  ASSERT_TRUE(v.is_ok()) << v.status().to_string();
  for (auto& r : form.tables[table].rows) {
    if (r.id == row) {
      r.cells[column] = *v;
      return;
    }
  }
  FAIL() << "no row " << row << " in " << table;
}

// Appends a dynamic row with the given column texts; returns its id.
inline std::string add_row(Form& form, const FormTemplate& tmpl, const std::string& table,
                           const std::vector<std::pair<std::string, std::string>>& cells) {
  const TableDef* td = tmpl.table(table);
  Row row;
  row.id = "00000000-0000-4000-8000-" + std::string(12 - std::to_string(form.tables[table].rows.size()).size(), '0') +
           std::to_string(form.tables[table].rows.size());
  for (const auto& col : td->columns) row.cells[col.key] = CellValue::empty();
  for (const auto& [k, text] : cells) {
    const CellDef* def = td->column(k);
    if (def == nullptr) throw std::runtime_error("no column " + k);
    auto v = parse_cell_text(*def, text, td->money_unit.value_or(form.money_unit), k, k);
    if (!v) throw std::runtime_error(v.status().to_string());
    row.cells[k] = *v;
  }
  form.tables[table].rows.push_back(row);
  return row.id;
}

inline bool has_rule(const CheckReport& r, const std::string& rule) { return !r.with_rule(rule).empty(); }

inline std::string messages(const CheckReport& r) {
  std::string out;
  for (const auto& f : r.findings) out += "[" + f.rule + "] " + f.message + "\n";
  return out;
}

}  // namespace jixiao::testing
