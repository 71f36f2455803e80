#include "jixiao/workflow/definition.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <set>
#include <sstream>

namespace jixiao::workflow {

using nlohmann::json;

std::optional<std::size_t> WorkflowDefinition::stage_index(std::string_view stage_id) const {
  for (std::size_t i = 0; i < stages.size(); ++i) {
    if (stages[i].id == stage_id) return i;
  }
  return std::nullopt;
}

const StageDefinition* WorkflowDefinition::find_stage(std::string_view stage_id) const {
  const auto i = stage_index(stage_id);
  return i ? &stages[*i] : nullptr;
}

bool WorkflowDefinition::stage_applies(std::size_t index, std::int64_t amount_fen) const {
  if (index >= stages.size()) return false;
  switch (stages[index].condition) {
    case StageCondition::kAlways: return true;
    case StageCondition::kAmountReachesThreshold: return amount_fen >= meeting_threshold_fen;
  }
  return true;
}

std::optional<std::size_t> WorkflowDefinition::next_applicable(std::optional<std::size_t> index,
                                                               std::int64_t amount_fen) const {
  for (std::size_t i = index ? *index + 1 : 0; i < stages.size(); ++i) {
    if (stage_applies(i, amount_fen)) return i;
  }
  return std::nullopt;
}

namespace {

constexpr std::string_view kFormat = "jixiao.workflow-definition";

// Builds errors that name the file and, inside it, the stage.
class Errors {
 public:
  explicit Errors(std::string_view source) : source_(source) {}

  Status at(const std::string& pointer, const std::string& what) const {
    return Status::invalid_argument("工作流定义“" + source_ + "”：" + what, pointer);
  }
  Status at_stage(std::size_t index, const std::string& stage_name, const std::string& field,
                  const std::string& what) const {
    std::string place = "第" + std::to_string(index + 1) + "个环节";
    if (!stage_name.empty()) place += "（" + stage_name + "）";
    return Status::invalid_argument("工作流定义“" + source_ + "”" + place + "：" + what,
                                    "/stages/" + std::to_string(index) + (field.empty() ? "" : "/" + field));
  }

 private:
  std::string source_;
};

bool is_identifier(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  }
  return true;
}

Result<ActingUnit> parse_acting_unit(const std::string& s) {
  if (s == "own") return ActingUnit::kOwnUnit;
  if (s == "parent") return ActingUnit::kParentUnit;
  if (s == "finance_bureau") return ActingUnit::kFinanceBureau;
  return Status::invalid_argument("未知的办理单位“" + s + "”，应为 own、parent 或 finance_bureau");
}

Result<StageCondition> parse_condition(const std::string& s) {
  if (s == "always") return StageCondition::kAlways;
  if (s == "amount_reaches_threshold") return StageCondition::kAmountReachesThreshold;
  return Status::invalid_argument("未知的进入条件“" + s + "”，应为 always 或 amount_reaches_threshold");
}

Result<StageEvidence> parse_evidence(const std::string& s) {
  if (s == "none") return StageEvidence::kNone;
  if (s == "meeting") return StageEvidence::kMeeting;
  return Status::invalid_argument("未知的办理依据“" + s + "”，应为 none 或 meeting");
}

Result<CompletingAction> parse_completes_with(const std::string& s) {
  if (s == "approve") return CompletingAction::kApprove;
  if (s == "accept") return CompletingAction::kAccept;
  return Status::invalid_argument("未知的办结操作“" + s + "”，应为 approve 或 accept");
}

// A required string member; empty means missing.
Result<std::string> string_member(const json& obj, const char* key, bool required) {
  const auto it = obj.find(key);
  if (it == obj.end()) {
    if (required) return Status::invalid_argument(std::string("缺少字段“") + key + "”");
    return std::string();
  }
  if (!it->is_string()) return Status::invalid_argument(std::string("字段“") + key + "”应为字符串");
  return it->get<std::string>();
}

Status check_known_keys(const json& obj, std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : obj.items()) {
    bool found = false;
    for (auto k : known) found = found || k == key;
    if (!found) return Status::invalid_argument("未知的字段“" + key + "”");
  }
  return Status::ok();
}

Result<StageDefinition> parse_stage(const json& j, std::size_t index, const Errors& errors) {
  if (!j.is_object()) return errors.at_stage(index, "", "", "环节应为对象");
  const auto name = string_member(j, "name", false);
  const std::string stage_name = name ? *name : std::string();
  auto fail = [&](const std::string& field, const Status& s) {
    return errors.at_stage(index, stage_name, field, s.message());
  };
  if (Status s = check_known_keys(j, {"id", "name", "role", "acting_unit", "condition", "evidence",
                                      "meeting_kind", "completes_with", "may_return_to_earlier_stage"});
      !s) {
    return fail("", s);
  }
  StageDefinition st;
  st.name = stage_name;
  if (!name) return fail("name", name.status());

  struct Field {
    const char* key;
    std::string* out;
  };
  std::string role, acting, condition, evidence, completes;
  for (const Field& f : {Field{"id", &st.id}, Field{"role", &role}, Field{"acting_unit", &acting},
                         Field{"condition", &condition}, Field{"evidence", &evidence},
                         Field{"completes_with", &completes}}) {
    auto v = string_member(j, f.key, true);
    if (!v) return fail(f.key, v.status());
    *f.out = std::move(*v);
  }
  auto meeting_kind = string_member(j, "meeting_kind", false);
  if (!meeting_kind) return fail("meeting_kind", meeting_kind.status());
  st.meeting_kind = *meeting_kind;

  auto r = parse_role(role);
  if (!r) return fail("role", r.status());
  st.role = *r;
  auto a = parse_acting_unit(acting);
  if (!a) return fail("acting_unit", a.status());
  st.acting_unit = *a;
  auto c = parse_condition(condition);
  if (!c) return fail("condition", c.status());
  st.condition = *c;
  auto e = parse_evidence(evidence);
  if (!e) return fail("evidence", e.status());
  st.evidence = *e;
  auto w = parse_completes_with(completes);
  if (!w) return fail("completes_with", w.status());
  st.completes_with = *w;
  if (const auto it = j.find("may_return_to_earlier_stage"); it != j.end()) {
    if (!it->is_boolean()) {
      return fail("may_return_to_earlier_stage",
                  Status::invalid_argument("字段“may_return_to_earlier_stage”应为 true 或 false"));
    }
    st.may_return_to_earlier_stage = it->get<bool>();
  }
  return st;
}

}  // namespace

Status validate_workflow_definition(const WorkflowDefinition& d, std::string_view source) {
  const Errors errors(source);
  if (!is_identifier(d.id)) return errors.at("/id", "流程编号应由小写字母、数字、-、_ 组成且不能为空");
  if (d.version == 0) return errors.at("/version", "流程版本应为正整数");
  if (d.name.empty()) return errors.at("/name", "流程名称不能为空");
  if (d.applies_to == UnitLevel::kFinanceBureau) {
    return errors.at("/applies_to", "流程只能用于市级或区县级科协，不能用于财政局");
  }
  if (d.meeting_threshold_fen < 0) return errors.at("/meeting_threshold_fen", "会议审议金额标准不能为负");
  if (d.stages.empty()) return errors.at("/stages", "流程至少要有一个环节");

  std::set<std::string> ids;
  for (std::size_t i = 0; i < d.stages.size(); ++i) {
    const StageDefinition& st = d.stages[i];
    const bool last = i + 1 == d.stages.size();
    if (!is_identifier(st.id)) {
      return errors.at_stage(i, st.name, "id", "环节编号应由小写字母、数字、-、_ 组成且不能为空");
    }
    if (st.id == "draft" || st.id == "returned" || st.id == "accepted") {
      return errors.at_stage(i, st.name, "id", "环节编号“" + st.id + "”是保留字");
    }
    if (!ids.insert(st.id).second) return errors.at_stage(i, st.name, "id", "环节编号“" + st.id + "”重复");
    if (st.name.empty()) return errors.at_stage(i, st.name, "name", "环节名称不能为空");
    if (is_admin_role(st.role)) {
      return errors.at_stage(i, st.name, "role",
                             "三员分立：" + std::string(role_name(st.role)) + "不能办理业务环节");
    }
    if (st.role == Role::kPreparer) return errors.at_stage(i, st.name, "role", "填报人不能办理审核环节");
    if (st.evidence == StageEvidence::kMeeting && st.meeting_kind.empty()) {
      return errors.at_stage(i, st.name, "meeting_kind", "会议环节必须写明会议类型（如 主席会、党组会）");
    }
    if (st.evidence != StageEvidence::kMeeting && !st.meeting_kind.empty()) {
      return errors.at_stage(i, st.name, "meeting_kind", "只有会议环节可以写会议类型");
    }
    if (last && st.completes_with != CompletingAction::kAccept) {
      return errors.at_stage(i, st.name, "completes_with", "最后一个环节应以受理（accept）办结");
    }
    if (!last && st.completes_with != CompletingAction::kApprove) {
      return errors.at_stage(i, st.name, "completes_with", "只有最后一个环节可以受理（accept），其他环节应为通过（approve）");
    }
    if (last && st.condition != StageCondition::kAlways) {
      return errors.at_stage(i, st.name, "condition", "最后一个环节必须总是进入（always）");
    }
    if (st.acting_unit == ActingUnit::kParentUnit && d.applies_to != UnitLevel::kDistrict) {
      return errors.at_stage(i, st.name, "acting_unit", "市级科协没有上级科协，不能设置上级审核环节");
    }
  }
  return Status::ok();
}

Result<WorkflowDefinition> parse_workflow_definition(std::string_view json_text, std::string_view source) {
  const Errors errors(source);
  json j = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return errors.at("", "不是有效的 JSON 文件");
  if (!j.is_object()) return errors.at("", "顶层应为对象");
  if (Status s = check_known_keys(j, {"format", "format_version", "id", "version", "name", "applies_to",
                                      "meeting_threshold_fen", "stages"});
      !s) {
    return errors.at("", s.message());
  }

  auto format = string_member(j, "format", true);
  if (!format || *format != kFormat) {
    return errors.at("/format", "不是工作流定义文件（format 应为 " + std::string(kFormat) + "）");
  }
  const auto fv = j.find("format_version");
  if (fv == j.end() || !fv->is_number_unsigned()) return errors.at("/format_version", "缺少格式版本 format_version");
  if (fv->get<std::uint64_t>() != kDefinitionFormatVersion) {
    return Status::unsupported_version("工作流定义“" + std::string(source) + "”的格式版本" +
                                           std::to_string(fv->get<std::uint64_t>()) + "不受支持，本程序支持版本" +
                                           std::to_string(kDefinitionFormatVersion),
                                       "/format_version");
  }

  WorkflowDefinition d;
  auto id = string_member(j, "id", true);
  if (!id) return errors.at("/id", id.status().message());
  d.id = *id;
  const auto version = j.find("version");
  if (version == j.end() || !version->is_number_unsigned() || version->get<std::uint64_t>() == 0 ||
      version->get<std::uint64_t>() > 0xFFFF'FFFFULL) {
    return errors.at("/version", "流程版本 version 应为正整数");
  }
  d.version = static_cast<std::uint32_t>(version->get<std::uint64_t>());
  auto name = string_member(j, "name", true);
  if (!name) return errors.at("/name", name.status().message());
  d.name = *name;
  auto applies = string_member(j, "applies_to", true);
  if (!applies) return errors.at("/applies_to", applies.status().message());
  auto level = parse_unit_level(*applies);
  if (!level) return errors.at("/applies_to", level.status().message());
  d.applies_to = *level;
  if (const auto t = j.find("meeting_threshold_fen"); t != j.end()) {
    if (!t->is_number_integer()) return errors.at("/meeting_threshold_fen", "会议审议金额标准应为整数（单位：分）");
    d.meeting_threshold_fen = t->get<std::int64_t>();
  }
  const auto stages = j.find("stages");
  if (stages == j.end() || !stages->is_array()) return errors.at("/stages", "缺少环节列表 stages");
  for (std::size_t i = 0; i < stages->size(); ++i) {
    auto st = parse_stage((*stages)[i], i, errors);
    if (!st) return st.status();
    d.stages.push_back(std::move(*st));
  }
  if (Status s = validate_workflow_definition(d, source); !s) return s;
  return d;
}

Result<WorkflowDefinition> load_workflow_definition(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return Status::not_found("找不到工作流定义文件“" + file.filename().string() + "”", file.string());
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_workflow_definition(text.str(), file.filename().string());
}

Result<const WorkflowDefinition*> select_workflow_definition(std::span<const WorkflowDefinition> definitions,
                                                             const Unit& unit) {
  const WorkflowDefinition* found = nullptr;
  for (const auto& d : definitions) {
    if (d.applies_to != unit.level) continue;
    if (found != nullptr && found->id != d.id) {
      return Status::invalid_argument("有多个工作流定义适用于" + std::string(unit_level_name(unit.level)) +
                                          "单位“" + unit.name + "”",
                                      found->id + " and " + d.id);
    }
    // Of several versions of one definition, the newest applies to new forms.
    if (found == nullptr || d.version > found->version) found = &d;
  }
  if (found == nullptr) {
    return Status::not_found("没有适用于" + std::string(unit_level_name(unit.level)) + "单位“" + unit.name +
                                 "”的工作流定义",
                             "no definition for level " + std::string(unit_level_name(unit.level)));
  }
  return found;
}

}  // namespace jixiao::workflow
