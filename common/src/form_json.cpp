#include "jixiao/common/form_json.h"

#include <algorithm>
#include <set>

#include "jixiao/common/text.h"
#include "jixiao/common/uuid.h"
#include "json_exact.h"

namespace jixiao {
namespace {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;

bool is_dash(std::string_view s) {
  return s == "—" || s == "——" || s == "-" || s == "–" || s == "/" || s == "不适用";
}

Status fail(std::string_view what, const std::string& where, const std::string& message) {
  return Status::invalid_argument(std::string(what) + "：" + message, where);
}

std::string pointer(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto p : parts) {
    out += '/';
    for (char c : p) {
      if (c == '~') out += "~0";
      else if (c == '/') out += "~1";
      else out += c;
    }
  }
  return out;
}

MoneyUnit table_unit(const TableDef& td, MoneyUnit form_unit) { return td.money_unit.value_or(form_unit); }

Result<CellValue> read_cell(const CellDef& def, const json& v, MoneyUnit unit, const std::string& label,
                            const std::string& where) {
  auto text = detail::json_scalar_text(v, where, label);
  if (!text) return text.status();
  return parse_cell_text(def, *text, unit, label, where);
}

}  // namespace

Result<CellValue> parse_cell_text(const CellDef& def, std::string_view raw, MoneyUnit unit, std::string_view label,
                                  std::string_view where) {
  const std::string trimmed(text::trim(raw));
  const std::string lbl(label);
  if (trimmed.empty()) return CellValue::empty();
  auto bad = [&](const Status& s) {
    return Status::invalid_argument(lbl + "：" + s.message(), std::string(where) + ": " + s.detail());
  };
  switch (def.type) {
    case CellType::kText:
    case CellType::kLongText:
    case CellType::kIndicator:
    case CellType::kDate:
      return CellValue::of_text(std::string(raw));
    case CellType::kChoice:
      if (is_dash(trimmed)) return CellValue::dash();
      if (std::find(def.choices.begin(), def.choices.end(), trimmed) == def.choices.end()) {
        std::string options;
        for (const auto& c : def.choices) options += (options.empty() ? "" : "、") + c;
        return Status::invalid_argument(lbl + "应为以下之一：" + options + "，表中为“" + trimmed + "”",
                                        std::string(where));
      }
      return CellValue::of_text(trimmed);
    case CellType::kMoney: {
      if (is_dash(trimmed)) return CellValue::dash();
      auto m = Money::parse(trimmed, unit);
      if (!m) return bad(m.status());
      return CellValue::of_money(*m);
    }
    case CellType::kPercent: {
      if (is_dash(trimmed)) return CellValue::dash();
      std::string_view s = trimmed;
      const std::string norm = text::normalize_width(s);
      s = norm;
      if (!s.empty() && s.back() == '%') s.remove_suffix(1);
      auto d = Decimal::parse(s);
      if (!d) {
        return Status::invalid_argument(lbl + "应为百分数，例如“99.73%”，表中为“" + trimmed + "”",
                                        std::string(where) + ": " + d.status().detail());
      }
      return CellValue::of_number(*d);
    }
    case CellType::kScore:
    case CellType::kNumber: {
      if (is_dash(trimmed)) return CellValue::dash();
      auto d = Decimal::parse(trimmed);
      if (!d) {
        const std::string kind = def.type == CellType::kScore ? "分数" : "数字";
        return Status::invalid_argument(lbl + "应为" + kind + "，表中为“" + trimmed + "”",
                                        std::string(where) + ": " + d.status().detail());
      }
      return CellValue::of_number(*d);
    }
  }
  return CellValue::of_text(std::string(raw));
}

Result<Form> form_from_json(std::string_view json_text, const TemplateRegistry& templates, std::string_view what) {
  auto parsed = detail::parse_json_exact(json_text, what);
  if (!parsed) return parsed.status();
  const json& doc = *parsed;
  if (!doc.is_object()) return fail(what, "", "顶层应为 JSON 对象");
  static const std::set<std::string> kTopKeys = {"format",    "format_version", "form_id",  "template",
                                                 "template_version", "unit_code", "unit_name", "fiscal_year",
                                                 "money_unit", "source",        "fields",   "tables"};
  for (const auto& [k, _] : doc.items()) {
    if (kTopKeys.count(k) == 0) return fail(what, pointer({k}), "不认识的键“" + k + "”");
  }
  auto get_string = [&](const char* key, bool required) -> Result<std::string> {
    if (!doc.contains(key)) {
      if (required) return fail(what, pointer({key}), std::string("缺少“") + key + "”");
      return std::string();
    }
    if (!doc.at(key).is_string()) return fail(what, pointer({key}), std::string("“") + key + "”应为字符串");
    return doc.at(key).get<std::string>();
  };
  auto format = get_string("format", true);
  if (!format) return format.status();
  if (*format != "jixiao-form") return fail(what, "/format", "format 应为 \"jixiao-form\"，表中为“" + *format + "”");
  if (!doc.contains("format_version") || !doc.at("format_version").is_number_integer()) {
    return fail(what, "/format_version", "缺少整数 format_version");
  }
  const auto fv = doc.at("format_version").get<std::int64_t>();
  if (fv != kFormFileFormatVersion) {
    return Status::unsupported_version(std::string(what) + "：文件格式版本为 " + std::to_string(fv) +
                                           "，本程序只支持第 " + std::to_string(kFormFileFormatVersion) + " 版",
                                       "/format_version");
  }
  auto template_id = get_string("template", true);
  if (!template_id) return template_id.status();
  if (!doc.contains("template_version") || !doc.at("template_version").is_number_integer()) {
    return fail(what, "/template_version", "缺少整数 template_version");
  }
  const int template_version = doc.at("template_version").get<int>();
  auto found = templates.find(*template_id, template_version);
  if (!found) {
    return Status(found.status().code(), std::string(what) + "：" + found.status().message(), "/template");
  }
  const FormTemplate& tmpl = **found;

  Form form;
  form.template_ref = {tmpl.id, tmpl.version};
  auto id = get_string("form_id", true);
  if (!id) return id.status();
  if (!is_uuid(*id)) return fail(what, "/form_id", "form_id 应为 UUID，例如 3f2b8c1e-7d4a-4c1b-9e2f-0a1b2c3d4e5f");
  form.id = *id;
  auto unit_code = get_string("unit_code", false);
  if (!unit_code) return unit_code.status();
  form.unit_code = *unit_code;
  auto unit_name = get_string("unit_name", true);
  if (!unit_name) return unit_name.status();
  form.unit_name = *unit_name;
  auto source = get_string("source", false);
  if (!source) return source.status();
  form.source = *source;
  if (!doc.contains("fiscal_year") || !doc.at("fiscal_year").is_number_integer()) {
    return fail(what, "/fiscal_year", "缺少整数年度 fiscal_year（例如 2021）");
  }
  const auto year = doc.at("fiscal_year").get<std::int64_t>();
  if (year < 2000 || year > 2100) {
    return fail(what, "/fiscal_year", "年度 " + std::to_string(year) + " 不在 2000–2100 之间");
  }
  form.fiscal_year = static_cast<int>(year);
  form.money_unit = tmpl.default_money_unit;
  auto unit = get_string("money_unit", false);
  if (!unit) return unit.status();
  if (!unit->empty()) {
    auto mu = parse_money_unit(*unit);
    if (!mu) return fail(what, "/money_unit", mu.status().message());
    if (std::find(tmpl.money_units.begin(), tmpl.money_units.end(), *mu) == tmpl.money_units.end()) {
      return fail(what, "/money_unit", "模板“" + tmpl.title + "”不使用金额单位“" + *unit + "”");
    }
    form.money_unit = *mu;
  }

  // Fields.
  if (!doc.contains("fields") || !doc.at("fields").is_object()) {
    if (!tmpl.fields.empty()) return fail(what, "/fields", "缺少 fields 对象");
  } else {
    const json& fields = doc.at("fields");
    for (const auto& [k, _] : fields.items()) {
      if (tmpl.field(k) == nullptr) return fail(what, pointer({"fields", k}), "模板中没有字段“" + k + "”");
    }
    for (const auto& def : tmpl.fields) {
      const std::string where = pointer({"fields", def.key});
      if (!fields.contains(def.key)) {
        return fail(what, where, "缺少字段“" + def.label + "”（" + def.key + "），未填写请写 \"\"");
      }
      auto cell = read_cell(def, fields.at(def.key), form.money_unit, "“" + def.label + "”", where);
      if (!cell) return Status(cell.status().code(), std::string(what) + "：" + cell.status().message(), cell.status().detail());
      form.fields[def.key] = std::move(*cell);
    }
  }

  // Tables.
  const json empty_object = json::object();
  const json& tables = doc.contains("tables") ? doc.at("tables") : empty_object;
  if (!tables.is_object()) return fail(what, "/tables", "tables 应为对象");
  for (const auto& [k, _] : tables.items()) {
    if (tmpl.table(k) == nullptr) return fail(what, pointer({"tables", k}), "模板中没有表格“" + k + "”");
  }
  for (const auto& td : tmpl.tables) {
    const std::string twhere = pointer({"tables", td.key});
    if (!tables.contains(td.key)) return fail(what, twhere, "缺少表格“" + td.label + "”（" + td.key + "）");
    const json& tj = tables.at(td.key);
    const MoneyUnit unit_here = table_unit(td, form.money_unit);
    Table table;
    if (td.dynamic_rows) {
      if (!tj.is_array()) return fail(what, twhere, "表格“" + td.label + "”应为行对象的数组");
      std::set<std::string> ids;
      for (std::size_t i = 0; i < tj.size(); ++i) {
        const json& rj = tj.at(i);
        const std::string rwhere = twhere + "/" + std::to_string(i);
        const std::string row_label = td.label + " 第 " + std::to_string(i + 1) + " 行";
        if (!rj.is_object()) return fail(what, rwhere, row_label + "应为对象");
        Row row;
        for (const auto& [ck, _] : rj.items()) {
          if (ck != "row_id" && td.column(ck) == nullptr) {
            return fail(what, rwhere + "/" + ck, row_label + "有模板中没有的列“" + ck + "”");
          }
        }
        if (rj.contains("row_id")) {
          if (!rj.at("row_id").is_string() || !is_uuid(rj.at("row_id").get<std::string>())) {
            return fail(what, rwhere + "/row_id", row_label + "的 row_id 应为 UUID");
          }
          row.id = rj.at("row_id").get<std::string>();
        } else {
          // Hand-written rows get an id derived from the form and position,
          // the same on every machine that reads this file.
          row.id = uuid_v5(kJixiaoUuidNamespace, form.id + "/" + td.key + "/" + std::to_string(i));
        }
        if (!ids.insert(row.id).second) return fail(what, rwhere + "/row_id", row_label + "的 row_id 与其他行重复");
        for (const auto& col : td.columns) {
          const std::string cwhere = rwhere + "/" + col.key;
          if (!rj.contains(col.key)) {
            return fail(what, cwhere, row_label + "缺少列“" + col.label + "”（" + col.key + "），未填写请写 \"\"");
          }
          auto cell = read_cell(col, rj.at(col.key), unit_here, row_label + "“" + col.label + "”", cwhere);
          if (!cell) return Status(cell.status().code(), std::string(what) + "：" + cell.status().message(), cell.status().detail());
          row.cells[col.key] = std::move(*cell);
        }
        table.rows.push_back(std::move(row));
      }
    } else {
      if (!tj.is_object()) return fail(what, twhere, "表格“" + td.label + "”应为以行键为键的对象");
      for (const auto& [rk, _] : tj.items()) {
        if (td.row(rk) == nullptr) return fail(what, twhere + "/" + rk, "表格“" + td.label + "”中没有行“" + rk + "”");
      }
      for (const auto& rd : td.rows) {
        const std::string rwhere = pointer({"tables", td.key, rd.key});
        const std::string row_label = td.label + "“" + rd.label + "”行";
        if (!tj.contains(rd.key)) return fail(what, rwhere, "缺少" + row_label + "（" + rd.key + "）");
        const json& rj = tj.at(rd.key);
        if (!rj.is_object()) return fail(what, rwhere, row_label + "应为对象");
        Row row;
        row.id = rd.key;
        for (const auto& [ck, cv] : rj.items()) {
          const CellDef* col = td.column(ck);
          if (col == nullptr) return fail(what, rwhere + "/" + ck, row_label + "有模板中没有的列“" + ck + "”");
          if (!td.row_has_column(rd.key, *col)) {
            // Printed as "—" on paper; only blank is accepted here.
            auto t = detail::json_scalar_text(cv, rwhere + "/" + ck, col->label);
            if (!t || !(text::trim(*t).empty() || is_dash(text::trim(*t)))) {
              return fail(what, rwhere + "/" + ck, row_label + "不填“" + col->label + "”（应为空或“—”）");
            }
          }
        }
        for (const auto& col : td.columns) {
          if (!td.row_has_column(rd.key, col)) continue;
          const std::string cwhere = rwhere + "/" + col.key;
          if (!rj.contains(col.key)) {
            return fail(what, cwhere, row_label + "缺少列“" + col.label + "”（" + col.key + "），未填写请写 \"\"");
          }
          auto cell = read_cell(col, rj.at(col.key), unit_here, row_label + "“" + col.label + "”", cwhere);
          if (!cell) return Status(cell.status().code(), std::string(what) + "：" + cell.status().message(), cell.status().detail());
          row.cells[col.key] = std::move(*cell);
        }
        table.rows.push_back(std::move(row));
      }
    }
    form.tables[td.key] = std::move(table);
  }
  return form;
}

namespace {

ordered_json cell_json(const CellValue& v, const CellDef& def, MoneyUnit unit) {
  std::string shown = v.display(unit);
  if (def.type == CellType::kPercent && v.kind == CellValue::Kind::kNumber) shown += "%";
  return ordered_json(shown);
}

}  // namespace

std::string form_to_json(const Form& form, const FormTemplate& tmpl) {
  ordered_json doc;
  doc["format"] = "jixiao-form";
  doc["format_version"] = kFormFileFormatVersion;
  doc["form_id"] = form.id;
  doc["template"] = form.template_ref.id;
  doc["template_version"] = form.template_ref.version;
  doc["unit_code"] = form.unit_code;
  doc["unit_name"] = form.unit_name;
  doc["fiscal_year"] = form.fiscal_year;
  doc["money_unit"] = std::string(money_unit_name(form.money_unit));
  if (!form.source.empty()) doc["source"] = form.source;
  ordered_json fields = ordered_json::object();
  for (const auto& def : tmpl.fields) fields[def.key] = cell_json(form.field(def.key), def, form.money_unit);
  doc["fields"] = std::move(fields);
  ordered_json tables = ordered_json::object();
  for (const auto& td : tmpl.tables) {
    const MoneyUnit unit_here = table_unit(td, form.money_unit);
    const Table* table = form.table(td.key);
    if (td.dynamic_rows) {
      ordered_json rows = ordered_json::array();
      if (table != nullptr) {
        for (const auto& row : table->rows) {
          ordered_json rj;
          rj["row_id"] = row.id;
          for (const auto& col : td.columns) rj[col.key] = cell_json(row.cell(col.key), col, unit_here);
          rows.push_back(std::move(rj));
        }
      }
      tables[td.key] = std::move(rows);
    } else {
      ordered_json rows = ordered_json::object();
      for (const auto& rd : td.rows) {
        const Row* row = table != nullptr ? table->find(rd.key) : nullptr;
        ordered_json rj = ordered_json::object();
        for (const auto& col : td.columns) {
          if (!td.row_has_column(rd.key, col)) continue;
          rj[col.key] = row != nullptr ? cell_json(row->cell(col.key), col, unit_here) : ordered_json("");
        }
        rows[rd.key] = std::move(rj);
      }
      tables[td.key] = std::move(rows);
    }
  }
  doc["tables"] = std::move(tables);
  return doc.dump(2, ' ', false) + "\n";
}

Form new_blank_form(const FormTemplate& tmpl, std::string unit_code, std::string unit_name, int fiscal_year) {
  Form form;
  form.id = new_uuid_v4();
  form.template_ref = {tmpl.id, tmpl.version};
  form.unit_code = std::move(unit_code);
  form.unit_name = std::move(unit_name);
  form.fiscal_year = fiscal_year;
  form.money_unit = tmpl.default_money_unit;
  for (const auto& def : tmpl.fields) form.fields[def.key] = CellValue::empty();
  for (const auto& td : tmpl.tables) {
    Table table;
    for (const auto& rd : td.rows) {
      Row row;
      row.id = rd.key;
      for (const auto& col : td.columns) {
        if (td.row_has_column(rd.key, col)) row.cells[col.key] = CellValue::empty();
      }
      // Fixed scoring rows start with the template's points.
      if (rd.points && td.column("points") != nullptr) row.cells["points"] = CellValue::of_number(*rd.points);
      table.rows.push_back(std::move(row));
    }
    form.tables[td.key] = std::move(table);
  }
  return form;
}

}  // namespace jixiao
