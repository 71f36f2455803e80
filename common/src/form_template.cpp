#include "jixiao/common/form_template.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "json_exact.h"

namespace jixiao {
namespace {

using json = nlohmann::json;

constexpr int kTemplateFormatVersion = 1;

struct TypeName {
  CellType type;
  std::string_view key;
};
constexpr TypeName kTypeNames[] = {
    {CellType::kText, "text"},       {CellType::kLongText, "longtext"}, {CellType::kMoney, "money"},
    {CellType::kPercent, "percent"}, {CellType::kScore, "score"},       {CellType::kNumber, "number"},
    {CellType::kIndicator, "indicator"}, {CellType::kChoice, "choice"}, {CellType::kDate, "date"},
};

// Reads a template file strictly: every key must be known, so a typo in a
// template is an error at load time, not a silently missing cell.
class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  Status fail(const std::string& where, const std::string& message) const {
    return Status::invalid_argument("模板文件 " + source_ + " 有误：" + message, where);
  }

  Status only_keys(const json& obj, const std::string& where, std::initializer_list<std::string_view> allowed) const {
    if (!obj.is_object()) return fail(where, where + " 应为对象");
    for (const auto& [k, _] : obj.items()) {
      if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
        return fail(where + "/" + k, "不认识的键“" + k + "”");
      }
    }
    return Status::ok();
  }

  Result<std::string> str(const json& obj, const std::string& key, const std::string& where, bool required) const {
    if (!obj.contains(key)) {
      if (required) return fail(where + "/" + key, "缺少“" + key + "”");
      return std::string();
    }
    const json& v = obj.at(key);
    if (!v.is_string()) return fail(where + "/" + key, "“" + key + "”应为字符串");
    return v.get<std::string>();
  }

  Result<bool> flag(const json& obj, const std::string& key, const std::string& where) const {
    if (!obj.contains(key)) return false;
    if (!obj.at(key).is_boolean()) return fail(where + "/" + key, "“" + key + "”应为 true 或 false");
    return obj.at(key).get<bool>();
  }

  Result<std::vector<std::string>> strings(const json& obj, const std::string& key, const std::string& where) const {
    std::vector<std::string> out;
    if (!obj.contains(key)) return out;
    const json& v = obj.at(key);
    if (!v.is_array()) return fail(where + "/" + key, "“" + key + "”应为字符串数组");
    for (const auto& e : v) {
      if (!e.is_string()) return fail(where + "/" + key, "“" + key + "”应为字符串数组");
      out.push_back(e.get<std::string>());
    }
    return out;
  }

  Result<Decimal> number(const json& v, const std::string& where) const {
    auto text = detail::json_scalar_text(v, where, "数值");
    if (!text) return fail(where, text.status().message());
    auto d = Decimal::parse(*text);
    if (!d) return fail(where, d.status().message());
    return *d;
  }

  Result<CellDef> cell(const json& obj, const std::string& where) const {
    if (auto s = only_keys(obj, where, {"key", "label", "type", "computed", "required", "choices", "rows"}); !s) return s;
    CellDef c;
    auto key = str(obj, "key", where, true);
    if (!key) return key.status();
    c.key = *key;
    auto label = str(obj, "label", where, true);
    if (!label) return label.status();
    c.label = *label;
    auto type = str(obj, "type", where, true);
    if (!type) return type.status();
    bool found = false;
    for (const auto& t : kTypeNames) {
      if (t.key == *type) {
        c.type = t.type;
        found = true;
      }
    }
    if (!found) return fail(where + "/type", "未知的单元格类型“" + *type + "”");
    auto computed = flag(obj, "computed", where);
    if (!computed) return computed.status();
    c.computed = *computed;
    auto required = flag(obj, "required", where);
    if (!required) return required.status();
    c.required = *required;
    auto choices = strings(obj, "choices", where);
    if (!choices) return choices.status();
    c.choices = *choices;
    if (c.type == CellType::kChoice && c.choices.empty()) return fail(where, "选项类单元格“" + c.key + "”缺少 choices");
    auto rows = strings(obj, "rows", where);
    if (!rows) return rows.status();
    c.rows = *rows;
    return c;
  }

  Result<RowDef> row(const json& obj, const std::string& where) const {
    if (auto s = only_keys(obj, where, {"key", "label", "level1", "level2", "level3", "explanation",
                                        "scoring_rule", "points", "formula", "sum_of"});
        !s) {
      return s;
    }
    RowDef r;
    for (auto [name, dest] : {std::pair<const char*, std::string*>{"key", &r.key}, {"label", &r.label},
                              {"level1", &r.level1}, {"level2", &r.level2}, {"level3", &r.level3},
                              {"explanation", &r.explanation}, {"scoring_rule", &r.scoring_rule}}) {
      const bool required = std::string_view(name) == "key";
      auto v = str(obj, name, where, required);
      if (!v) return v.status();
      *dest = *v;
    }
    if (r.label.empty()) r.label = r.level3;
    if (obj.contains("points")) {
      auto p = number(obj.at("points"), where + "/points");
      if (!p) return p.status();
      r.points = *p;
    }
    if (obj.contains("formula")) {
      const json& f = obj.at("formula");
      const std::string fw = where + "/formula";
      if (auto s = only_keys(f, fw, {"kind", "inputs", "params"}); !s) return s;
      FormulaDef def;
      auto kind = str(f, "kind", fw, true);
      if (!kind) return kind.status();
      def.kind = *kind;
      auto inputs = strings(f, "inputs", fw);
      if (!inputs) return inputs.status();
      def.inputs = *inputs;
      if (f.contains("params")) {
        if (!f.at("params").is_object()) return fail(fw + "/params", "params 应为对象");
        for (const auto& [k, v] : f.at("params").items()) {
          auto d = number(v, fw + "/params/" + k);
          if (!d) return d.status();
          def.params[k] = *d;
        }
      }
      r.formula = std::move(def);
    }
    if (obj.contains("sum_of")) {
      const json& s = obj.at("sum_of");
      if (!s.is_array()) return fail(where + "/sum_of", "sum_of 应为行键数组的数组");
      for (const auto& group : s) {
        std::vector<std::string> keys;
        if (!group.is_array()) return fail(where + "/sum_of", "sum_of 应为行键数组的数组");
        for (const auto& k : group) {
          if (!k.is_string()) return fail(where + "/sum_of", "sum_of 应为行键数组的数组");
          keys.push_back(k.get<std::string>());
        }
        r.sum_of.push_back(std::move(keys));
      }
    }
    return r;
  }

 private:
  std::string source_;
};

template <typename T, typename KeyOf>
Status unique_keys(const std::vector<T>& items, KeyOf key_of, const Reader& reader, const std::string& where) {
  std::set<std::string> seen;
  for (const auto& item : items) {
    if (!seen.insert(key_of(item)).second) return reader.fail(where, "键“" + key_of(item) + "”重复");
  }
  return Status::ok();
}

}  // namespace

std::string_view cell_type_key(CellType t) {
  for (const auto& n : kTypeNames) {
    if (n.type == t) return n.key;
  }
  return "text";
}

const CellDef* TableDef::column(std::string_view column_key) const {
  for (const auto& c : columns) {
    if (c.key == column_key) return &c;
  }
  return nullptr;
}

const RowDef* TableDef::row(std::string_view row_key) const {
  for (const auto& r : rows) {
    if (r.key == row_key) return &r;
  }
  return nullptr;
}

bool TableDef::row_has_column(std::string_view row_key, const CellDef& col) const {
  return col.rows.empty() || std::find(col.rows.begin(), col.rows.end(), row_key) != col.rows.end();
}

const CellDef* FormTemplate::field(std::string_view key) const {
  for (const auto& f : fields) {
    if (f.key == key) return &f;
  }
  return nullptr;
}

const TableDef* FormTemplate::table(std::string_view key) const {
  for (const auto& t : tables) {
    if (t.key == key) return &t;
  }
  return nullptr;
}

std::string FormTemplate::param(std::string_view key, std::string_view fallback) const {
  auto it = params.find(std::string(key));
  return it == params.end() ? std::string(fallback) : it->second;
}

std::string FormTemplate::display_name() const {
  return title + "（" + id + " 第" + std::to_string(version) + "版）";
}

Result<FormTemplate> parse_form_template(std::string_view json_text, std::string_view source) {
  auto parsed = detail::parse_json_exact(json_text, "模板文件 " + std::string(source));
  if (!parsed) return parsed.status();
  const json& doc = *parsed;
  Reader reader{std::string(source)};
  if (auto s = reader.only_keys(doc, "", {"format", "format_version", "id", "version", "kind", "title", "description",
                                         "money_units", "default_money_unit", "params", "fields", "tables"});
      !s) {
    return s;
  }
  auto format = reader.str(doc, "format", "", true);
  if (!format) return format.status();
  if (*format != "jixiao-template") return reader.fail("/format", "format 应为 \"jixiao-template\"");
  if (!doc.contains("format_version") || !doc.at("format_version").is_number_integer()) {
    return reader.fail("/format_version", "缺少整数 format_version");
  }
  if (doc.at("format_version").get<int>() != kTemplateFormatVersion) {
    return Status::unsupported_version("模板文件 " + std::string(source) + " 的格式版本为 " +
                                           std::to_string(doc.at("format_version").get<int>()) +
                                           "，本程序只支持第 1 版",
                                       "/format_version");
  }
  FormTemplate t;
  for (auto [name, dest] : {std::pair<const char*, std::string*>{"id", &t.id}, {"kind", &t.kind},
                            {"title", &t.title}, {"description", &t.description}}) {
    auto v = reader.str(doc, name, "", std::string_view(name) != "description");
    if (!v) return v.status();
    *dest = *v;
  }
  if (!doc.contains("version") || !doc.at("version").is_number_integer() || doc.at("version").get<int>() < 1) {
    return reader.fail("/version", "version 应为正整数");
  }
  t.version = doc.at("version").get<int>();
  auto units = reader.strings(doc, "money_units", "");
  if (!units) return units.status();
  for (const auto& u : *units) {
    auto mu = parse_money_unit(u);
    if (!mu) return reader.fail("/money_units", mu.status().message());
    t.money_units.push_back(*mu);
  }
  if (t.money_units.empty()) return reader.fail("/money_units", "至少要列出一种金额单位");
  auto def_unit = reader.str(doc, "default_money_unit", "", true);
  if (!def_unit) return def_unit.status();
  auto du = parse_money_unit(*def_unit);
  if (!du) return reader.fail("/default_money_unit", du.status().message());
  t.default_money_unit = *du;
  if (doc.contains("params")) {
    if (!doc.at("params").is_object()) return reader.fail("/params", "params 应为对象");
    for (const auto& [k, v] : doc.at("params").items()) {
      if (!v.is_string()) return reader.fail("/params/" + k, "参数值应为字符串");
      t.params[k] = v.get<std::string>();
    }
  }
  if (doc.contains("fields")) {
    if (!doc.at("fields").is_array()) return reader.fail("/fields", "fields 应为数组");
    std::size_t i = 0;
    for (const auto& f : doc.at("fields")) {
      auto c = reader.cell(f, "/fields/" + std::to_string(i++));
      if (!c) return c.status();
      t.fields.push_back(std::move(*c));
    }
  }
  if (auto s = unique_keys(t.fields, [](const CellDef& c) { return c.key; }, reader, "/fields"); !s) return s;
  if (doc.contains("tables")) {
    if (!doc.at("tables").is_array()) return reader.fail("/tables", "tables 应为数组");
    std::size_t ti = 0;
    for (const auto& tj : doc.at("tables")) {
      const std::string where = "/tables/" + std::to_string(ti++);
      if (auto s = reader.only_keys(tj, where, {"key", "label", "dynamic_rows", "rows", "columns", "fill_down", "money_unit"});
          !s) {
        return s;
      }
      TableDef td;
      auto key = reader.str(tj, "key", where, true);
      if (!key) return key.status();
      td.key = *key;
      auto label = reader.str(tj, "label", where, true);
      if (!label) return label.status();
      td.label = *label;
      auto dyn = reader.flag(tj, "dynamic_rows", where);
      if (!dyn) return dyn.status();
      td.dynamic_rows = *dyn;
      auto fill = reader.strings(tj, "fill_down", where);
      if (!fill) return fill.status();
      td.fill_down = *fill;
      auto mu = reader.str(tj, "money_unit", where, false);
      if (!mu) return mu.status();
      if (!mu->empty()) {
        auto u = parse_money_unit(*mu);
        if (!u) return reader.fail(where + "/money_unit", u.status().message());
        td.money_unit = *u;
      }
      if (tj.contains("rows")) {
        std::size_t ri = 0;
        for (const auto& rj : tj.at("rows")) {
          auto r = reader.row(rj, where + "/rows/" + std::to_string(ri++));
          if (!r) return r.status();
          td.rows.push_back(std::move(*r));
        }
      }
      if (!tj.contains("columns") || !tj.at("columns").is_array()) return reader.fail(where, "表格缺少 columns 数组");
      std::size_t ci = 0;
      for (const auto& cj : tj.at("columns")) {
        auto c = reader.cell(cj, where + "/columns/" + std::to_string(ci++));
        if (!c) return c.status();
        td.columns.push_back(std::move(*c));
      }
      if (td.dynamic_rows && !td.rows.empty()) return reader.fail(where, "动态行表格不能同时列出固定行");
      if (!td.dynamic_rows && td.rows.empty()) return reader.fail(where, "固定行表格至少要有一行");
      if (auto s = unique_keys(td.columns, [](const CellDef& c) { return c.key; }, reader, where + "/columns"); !s) return s;
      if (auto s = unique_keys(td.rows, [](const RowDef& r) { return r.key; }, reader, where + "/rows"); !s) return s;
      for (const auto& r : td.rows) {
        for (const auto& group : r.sum_of) {
          for (const auto& k : group) {
            if (td.row(k) == nullptr) return reader.fail(where, "行“" + r.key + "”的 sum_of 引用了不存在的行“" + k + "”");
          }
        }
      }
      for (const auto& c : td.columns) {
        for (const auto& rk : c.rows) {
          if (td.row(rk) == nullptr) return reader.fail(where, "列“" + c.key + "”引用了不存在的行“" + rk + "”");
        }
      }
      for (const auto& k : td.fill_down) {
        if (td.column(k) == nullptr) return reader.fail(where + "/fill_down", "fill_down 引用了不存在的列“" + k + "”");
      }
      t.tables.push_back(std::move(td));
    }
  }
  if (auto s = unique_keys(t.tables, [](const TableDef& d) { return d.key; }, reader, "/tables"); !s) return s;
  return t;
}

Status TemplateRegistry::add(FormTemplate t) {
  auto key = std::make_pair(t.id, t.version);
  if (templates_.count(key) > 0) {
    return Status::invalid_argument("模板“" + t.id + "”第 " + std::to_string(t.version) + " 版重复", "duplicate template");
  }
  templates_.emplace(std::move(key), std::move(t));
  return Status::ok();
}

Status TemplateRegistry::load_directory(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Status::not_found("找不到模板目录 " + dir, "not a directory");
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream buf;
    buf << in.rdbuf();
    auto t = parse_form_template(buf.str(), path.filename().string());
    if (!t) return t.status();
    if (auto s = add(std::move(*t)); !s) return s;
  }
  if (templates_.empty()) return Status::not_found("模板目录 " + dir + " 中没有模板", "no templates");
  return Status::ok();
}

Result<const FormTemplate*> TemplateRegistry::find(std::string_view id, int version) const {
  auto it = templates_.find(std::make_pair(std::string(id), version));
  if (it != templates_.end()) return &it->second;
  std::string versions;
  for (const auto& [k, _] : templates_) {
    if (k.first == id) versions += (versions.empty() ? "" : "、") + std::to_string(k.second);
  }
  if (versions.empty()) {
    return Status::not_found("未知的表单模板“" + std::string(id) + "”", "unknown template id");
  }
  return Status::not_found("表单模板“" + std::string(id) + "”没有第 " + std::to_string(version) +
                               " 版（现有版本：" + versions + "）",
                           "unknown template version");
}

const FormTemplate* TemplateRegistry::latest(std::string_view id) const {
  const FormTemplate* best = nullptr;
  for (const auto& [k, t] : templates_) {
    if (k.first == id && (best == nullptr || t.version > best->version)) best = &t;
  }
  return best;
}

std::vector<const FormTemplate*> TemplateRegistry::all() const {
  std::vector<const FormTemplate*> out;
  for (const auto& [_, t] : templates_) out.push_back(&t);
  return out;
}

std::string TemplateRegistry::default_directory(const std::string& exe_path) {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("JIXIAO_TEMPLATES"); env != nullptr && *env != '\0') return env;
  std::error_code ec;
  if (!exe_path.empty()) {
    const fs::path exe = fs::weakly_canonical(fs::path(exe_path), ec);
    const fs::path beside = exe.parent_path().parent_path() / "share" / "jixiao" / "templates";
    if (fs::is_directory(beside, ec)) return beside.string();
  }
  return JIXIAO_TEMPLATE_SOURCE_DIR;
}

}  // namespace jixiao
