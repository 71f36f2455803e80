#include "workload.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <stdexcept>
#include <string_view>

namespace jixiao::bench {
namespace {

template <std::size_t N>
std::string_view one_of(Narrator& n, const std::array<std::string_view, N>& words) {
  return words[n.pick(N)];
}

constexpr std::array<std::string_view, 10> kTimes{"年初", "2021年上半年", "项目实施期间", "报告期内", "第三季度",
                                                  "全年", "年度中期", "截至12月底", "4月至6月", "下半年"};
constexpr std::array<std::string_view, 12> kSubjects{
    "我会", "区科协", "项目实施单位", "各基层科协组织", "学会部", "科普部",
    "办公室", "项目组", "各乡镇（街道）科协", "市科协", "机关党支部", "各学会"};
constexpr std::array<std::string_view, 10> kAdverbs{"认真", "积极", "扎实", "有序", "统筹",
                                                    "进一步", "按计划", "严格", "持续", "全面"};
constexpr std::array<std::string_view, 9> kVerbs{"组织开展了", "推进", "完成了", "落实", "举办了",
                                                 "实施了", "部署", "开展了", "配合做好了"};
constexpr std::array<std::string_view, 16> kObjects{
    "全国科普日系列活动",  "科技工作者状况调查", "青少年科技创新大赛", "院士专家工作站建设",
    "科普示范社区创建",    "基层科普行动计划",   "学会能力提升项目",   "科技志愿服务",
    "农村实用技术培训",    "科普大篷车巡展",     "海智计划工作基地建设", "创新驱动助力工程",
    "科技馆免费开放工作",  "科学素质提升行动",   "全民科学素质调查",   "科技人才评价改革"};
constexpr std::array<std::string_view, 8> kMeasures{"场", "期", "次", "个", "项", "批", "所", "家"};
constexpr std::array<std::string_view, 10> kResults{
    "社会反响良好",         "达到了预期目标",     "项目资金使用规范",   "有效提升了公民科学素质",
    "各项指标均按时完成",   "取得了较好的社会效益", "得到了上级部门的肯定", "形成了可复制推广的经验",
    "服务对象普遍表示满意", "带动了基层科普工作的开展"};
constexpr std::array<std::string_view, 8> kProblems{
    "预算编制不够精细", "绩效目标设置不够具体", "部分指标难以量化", "资金支付进度偏慢",
    "项目宣传力度不足", "基层人员力量薄弱",     "资料归档不够及时", "成本核算不够细致"};
constexpr std::array<std::string_view, 8> kFixes{
    "加强了预算执行的动态监控", "细化了绩效指标", "建立了月度调度机制", "完善了资金管理制度",
    "加大了宣传力度",           "充实了基层工作力量", "规范了档案管理", "引入了第三方评估"};
constexpr std::array<std::string_view, 6> kGoals{"确保资金使用效益", "不断提高科普服务水平", "推动项目提质增效",
                                                 "为全区经济社会发展提供科技支撑", "切实提高财政资金使用绩效",
                                                 "更好地服务科技工作者"};
constexpr std::array<std::string_view, 8> kTopics{"科普日活动", "科技工作者服务", "青少年科技教育", "学会学术交流",
                                                  "基层科普能力建设", "院士工作站", "科普信息化", "农村科普"};

constexpr std::array<std::string_view, 24> kPlaces{
    "东关街道", "西关街道", "南关街道", "五四路街道", "先锋街道", "新市场街道", "韩村乡", "富昌乡",
    "江城乡", "大激店镇", "颉庄乡", "贤台乡",   "东金庄乡", "永宁路社区", "红星路社区", "朝阳南大街社区",
    "科技园区", "高新区",   "职业技术学院", "第一中学", "实验小学", "农业科学院", "人民医院", "图书馆"};
constexpr std::array<std::string_view, 20> kSocieties{
    "农学会", "医学会", "药学会", "护理学会", "土木建筑学会", "计算机学会", "机械工程学会", "电子学会",
    "林学会", "水利学会", "气象学会", "地质学会", "中医药学会", "预防医学会", "营养学会", "心理学会",
    "作物学会", "畜牧兽医学会", "园艺学会", "科普作家协会"};
constexpr std::array<std::string_view, 16> kForms{
    "专题讲座", "科普展览", "现场咨询", "技术培训班", "科技下乡", "线上直播", "知识竞赛", "入校宣讲",
    "专家义诊", "观摩交流", "研讨会", "座谈会", "示范推广", "调研走访", "成果展示", "实地指导"};
constexpr std::array<std::string_view, 12> kAudiences{
    "中小学生", "农村种养大户", "社区居民", "老年人", "新型职业农民", "企业技术人员",
    "基层医务人员", "科技工作者", "领导干部", "进城务工人员", "科普志愿者", "留守儿童"};
constexpr std::array<std::string_view, 12> kMaterials{
    "宣传折页", "科普挂图", "实用技术手册", "展板", "宣传册", "科普读物",
    "短视频", "海报", "光盘", "明白纸", "图书", "学习资料"};

struct Level2 {
  std::string_view level1;
  std::string_view level2;
  std::size_t rows;
};
// 40 rows: 产出 24, 效益 12, 满意度 4.
constexpr std::array<Level2, 9> kIndicatorGroups{{{"产出指标", "数量指标", 6},
                                                  {"", "质量指标", 6},
                                                  {"", "时效指标", 6},
                                                  {"", "成本指标", 6},
                                                  {"效益指标", "社会效益指标", 3},
                                                  {"", "经济效益指标", 3},
                                                  {"", "生态效益指标", 3},
                                                  {"", "可持续影响指标", 3},
                                                  {"满意度指标", "服务对象满意度指标", 4}}};

std::string number(Narrator& n, std::size_t lo, std::size_t hi) { return std::to_string(lo + n.pick(hi - lo + 1)); }


std::string indicator_name(Narrator& n) {
  return std::string(one_of(n, kObjects)) + std::string(one_of(n, std::array<std::string_view, 6>{
                                                                      "完成数量", "合格率", "完成及时性", "人均成本",
                                                                      "覆盖人次", "满意度"}));
}


std::string score_text(Narrator& n) {
  static constexpr std::array<std::string_view, 4> kScores{"2", "1.5", "1", "2"};
  return std::string(one_of(n, kScores));
}


bool is_longtext_field(std::string_view key) {
  return key.substr(0, 5) == "narr_" || key == "goal_expected" || key == "goal_actual" ||
         key == "low_rate_explanation";
}

}  // namespace

std::string money_wan(Narrator& n, std::size_t lo_cents, std::size_t hi_cents) {
  // 万元 with two decimals; stays below the 2万元 meeting threshold.
  const std::size_t c = lo_cents + n.pick(hi_cents - lo_cents + 1);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%zu.%02zu", c / 100, c % 100);
  return buf;
}

std::string indicator_value(Narrator& n) {
  switch (n.pick(5)) {
    case 0: return number(n, 1, 50);
    case 1: return "≥" + number(n, 80, 100) + "%";
    case 2: return "及时";
    case 3: return "≤" + number(n, 1, 30) + "万元";
    default: return "≥" + number(n, 100, 5000) + "人次";
  }
}

// Rewrites one sentence of `text` (or adds one): how a person revises prose.
std::string revise(Narrator& n, const std::string& text, std::size_t max_chars) {
  std::vector<std::string> sentences;
  std::size_t start = 0;
  const std::string_view stop = "。";
  while (start < text.size()) {
    std::size_t end = text.find(stop, start);
    end = end == std::string::npos ? text.size() : end + stop.size();
    sentences.push_back(text.substr(start, end - start));
    start = end;
  }
  if (sentences.empty() || (n.pick(4) == 0 && utf8_chars(text) < max_chars)) {
    sentences.push_back(n.sentence());
  } else {
    sentences[n.pick(sentences.size())] = n.sentence();
  }
  std::string out;
  for (const std::string& s : sentences) out += s;
  return out;
}

std::uint64_t zlib9_size(const std::string& data) {
  uLongf out_len = compressBound(static_cast<uLong>(data.size()));
  std::vector<Bytef> out(out_len);
  if (compress2(out.data(), &out_len, reinterpret_cast<const Bytef*>(data.data()), static_cast<uLong>(data.size()), 9) !=
      Z_OK) {
    throw std::runtime_error("zlib compress2 failed");
  }
  return static_cast<std::uint64_t>(out_len);
}

std::size_t utf8_chars(const std::string& s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0U) != 0x80U; }));
}

std::size_t Narrator::pick(std::size_t n) { return static_cast<std::size_t>(rng_() % n); }

std::string Narrator::sentence() {
  std::string s;
  switch (pick(10)) {
    case 0:
      s = std::string(one_of(*this, kTimes)) + "，" + std::string(one_of(*this, kSubjects)) +
          std::string(one_of(*this, kAdverbs)) + std::string(one_of(*this, kVerbs)) +
          std::string(one_of(*this, kObjects)) + "，" + std::string(one_of(*this, kResults)) + "。";
      break;
    case 1:
      s = std::string(one_of(*this, kSubjects)) + "围绕" + std::string(one_of(*this, kObjects)) + "，" +
          std::string(one_of(*this, kVerbs)) + "相关工作共计" + number(*this, 2, 60) +
          std::string(one_of(*this, kMeasures)) + "，受益群众达" + number(*this, 300, 90000) + "人次，" +
          std::string(one_of(*this, kResults)) + "。";
      break;
    case 2:
      s = "针对" + std::string(one_of(*this, kProblems)) + "的问题，" + std::string(one_of(*this, kSubjects)) +
          std::string(one_of(*this, kFixes)) + "，" + std::string(one_of(*this, kResults)) + "。";
      break;
    case 3:
      s = "下一步，" + std::string(one_of(*this, kSubjects)) + "将" + std::string(one_of(*this, kAdverbs)) +
          "推进" + std::string(one_of(*this, kObjects)) + "，" + std::string(one_of(*this, kGoals)) + "。";
      break;
    case 5:
      s = std::to_string(1 + pick(12)) + "月" + std::to_string(1 + pick(28)) + "日，" +
          std::string(one_of(*this, kSubjects)) + "联合市" + std::string(one_of(*this, kSocieties)) + "在" +
          std::string(one_of(*this, kPlaces)) + "举办" + std::string(one_of(*this, kForms)) + "，面向" +
          std::string(one_of(*this, kAudiences)) + "发放" + std::string(one_of(*this, kMaterials)) +
          number(*this, 100, 9000) + "份，参与" + number(*this, 50, 3000) + "人次。";
      break;
    case 6:
      s = "邀请" + std::string(one_of(*this, kSocieties)) + number(*this, 2, 30) + "名专家深入" +
          std::string(one_of(*this, kPlaces)) + "和" + std::string(one_of(*this, kPlaces)) + "开展" +
          std::string(one_of(*this, kForms)) + "，解答" + std::string(one_of(*this, kAudiences)) + "提出的问题" +
          number(*this, 20, 800) + "个。";
      break;
    case 7:
      s = "项目资金主要用于" + std::string(one_of(*this, kMaterials)) + "印制" + money_wan(*this, 1, 90) + "万元、" +
          std::string(one_of(*this, kForms)) + "场地租赁" + money_wan(*this, 1, 60) + "万元和专家劳务" +
          money_wan(*this, 1, 80) + "万元，均按" + std::to_string(2015 + pick(7)) + "年修订的管理办法支付。";
      break;
    case 8:
      s = "通过问卷调查，" + std::string(one_of(*this, kAudiences)) + "对" + std::string(one_of(*this, kForms)) +
          "的满意度为" + number(*this, 86, 99) + "." + number(*this, 0, 9) + "%，较上年提高" + number(*this, 1, 9) +
          "个百分点。";
      break;
    default:
      s = "项目全年预算" + money_wan(*this, 50, 199) + "万元，实际支出" + money_wan(*this, 40, 190) +
          "万元，预算执行率为" + number(*this, 85, 100) + "%，" + std::string(one_of(*this, kResults)) + "。";
      break;
  }
  return s;
}

std::string Narrator::paragraph(std::size_t min_chars) {
  std::string p;
  while (utf8_chars(p) < min_chars) p += sentence();
  return p;
}

std::string Narrator::narrative() { return paragraph(300 + pick(400)); }

City make_city(std::size_t districts) {
  City c;
  Organisation& org = c.directory.organisation;
  auto add = [&](Unit u) {
    const Status s = org.add_unit(std::move(u));
    if (!s) throw std::runtime_error(s.to_string());
  };
  auto user = [&](const UserId& id, const std::string& name, const UnitCode& unit, Role role) {
    c.directory.users[id] = User{id, name, unit, {role}, false};
  };
  add({kBureauCode, "保定市财政局", UnitLevel::kFinanceBureau, "", ""});
  add({kCityCode, "保定市科学技术协会", UnitLevel::kCity, "", kBureauCode});
  static constexpr std::array<std::string_view, 12> kDistricts{"竞秀区", "莲池区", "满城区", "清苑区", "徐水区", "涞水县",
                                                               "阜平县", "定兴县", "唐县",   "高阳县", "涞源县", "望都县"};
  std::vector<Unit> units{*org.find(kCityCode)};
  for (std::size_t i = 0; i < districts; ++i) {
    char code[32];
    std::snprintf(code, sizeof code, "7311%02zu", i + 1);
    const std::string name = "保定市" + std::string(kDistricts[i % kDistricts.size()]) + "科学技术协会";
    add({code, name, UnitLevel::kDistrict, kCityCode, kBureauCode});
    units.push_back(*org.find(code));
  }
  for (const Unit& u : units) {
    UnitPeople p{u.code, u.name, u.level, "pa" + u.code, "pb" + u.code, "r" + u.code};
    user(p.preparer_a, "填报人甲", u.code, Role::kPreparer);
    user(p.preparer_b, "填报人乙", u.code, Role::kPreparer);
    user(p.reviewer, "单位审核人", u.code, Role::kUnitReviewer);
    c.units.push_back(std::move(p));
  }
  c.supervisor = "c1";
  c.finance_reviewer = "f1";
  user(c.supervisor, "周主任", kCityCode, Role::kSupervisor);
  user(c.finance_reviewer, "吴科长", kBureauCode, Role::kFinanceReviewer);
  return c;
}

FormContent generate_form(Narrator& n, const UnitPeople& unit, std::size_t index, std::size_t indicator_rows) {
  FormContent fc;
  auto field = [&](const char* key, std::string text) { fc.cells.emplace_back(CellRef::field(key), std::move(text)); };
  const std::string topic(kTopics[index % kTopics.size()]);
  field("project_name", "2021年度" + topic + "项目经费（" + std::to_string(index + 1) + "）");
  field("department", unit.name);
  field("implementing_unit", unit.name);
  field("project_code", unit.code + "-2021-" + std::to_string(100 + index));
  field("project_type", "民生保障");
  for (const char* key : {"goal_expected", "goal_actual", "low_rate_explanation", "narr_basic", "narr_work",
                          "narr_result", "narr_problems", "narr_suggestions", "narr_other"}) {
    field(key, n.narrative());
  }
  auto fund = [&](const char* row, const char* col, std::string text) {
    fc.cells.emplace_back(CellRef{"funds", row, col}, std::move(text));
  };
  fund("total", "initial_budget", money_wan(n, 100, 190));
  fund("total", "full_year_budget", money_wan(n, 100, 190));
  fund("total", "executed", money_wan(n, 80, 180));
  fund("total", "points", "10");
  fund("fiscal", "initial_budget", money_wan(n, 80, 100));
  fund("fiscal", "full_year_budget", money_wan(n, 80, 100));
  fund("fiscal", "executed", money_wan(n, 70, 100));
  fund("carryover", "full_year_budget", money_wan(n, 10, 50));
  fund("carryover", "executed", money_wan(n, 10, 50));
  fund("other", "full_year_budget", "0");
  std::size_t made = 0;
  for (std::size_t g = 0; made < indicator_rows; g = (g + 1) % kIndicatorGroups.size()) {
    const Level2& group = kIndicatorGroups[g];
    for (std::size_t r = 0; r < group.rows && made < indicator_rows; ++r, ++made) {
      std::vector<std::pair<std::string, std::string>> row;
      if (r == 0 && !group.level1.empty()) row.emplace_back("level1", std::string(group.level1));
      if (r == 0) row.emplace_back("level2", std::string(group.level2));
      row.emplace_back("level3", "指标" + std::to_string(r + 1) + "：" + indicator_name(n));
      row.emplace_back("target", indicator_value(n));
      row.emplace_back("actual", n.pick(3) == 0 ? indicator_value(n) : "完成");
      row.emplace_back("points", "2");
      row.emplace_back("score", score_text(n));
      if (n.pick(3) == 0) row.emplace_back("deviation", n.paragraph(40 + n.pick(80)));
      fc.rows.push_back(std::move(row));
    }
  }
  return fc;
}

Result<FormId> create_form(sync::ClientReplica& replica, int fiscal_year, const FormContent& content) {
  auto id = replica.create_form(kTemplateId, fiscal_year);
  if (!id) return id.status();
  for (const auto& [cell, text] : content.cells) {
    const Status s = replica.set_cell(*id, cell, text);
    if (!s) return Status(s.code(), cell.to_string() + ": " + s.to_string());
  }
  RowId last;
  for (const auto& row : content.rows) {
    auto rid = replica.insert_row(*id, "indicators", last, row);
    if (!rid) return rid.status();
    last = *rid;
  }
  return *id;
}

std::vector<CellRef> editable_cells(const Form& form) {
  std::vector<CellRef> out;
  for (const char* key : {"project_name", "department", "implementing_unit", "project_code", "project_type",
                          "goal_expected", "goal_actual", "low_rate_explanation", "narr_basic", "narr_work",
                          "narr_result", "narr_problems", "narr_suggestions", "narr_other"}) {
    out.push_back(CellRef::field(key));
  }
  for (const char* row : {"total", "fiscal", "carryover", "other"}) {
    for (const char* col : {"initial_budget", "full_year_budget", "executed"}) out.push_back(CellRef{"funds", row, col});
  }
  out.push_back(CellRef{"funds", "total", "points"});
  if (const Table* t = form.table("indicators"); t != nullptr) {
    for (const Row& r : t->rows) {
      for (const char* col : {"level3", "target", "actual", "points", "score", "deviation"}) {
        out.push_back(CellRef{"indicators", r.id, col});
      }
    }
  }
  return out;
}

Result<std::vector<CellChange>> offline_week(sync::ClientReplica& replica, const std::vector<FormId>& forms,
                                             Narrator& n, double fraction, std::size_t actions) {
  std::vector<std::pair<FormId, CellRef>> all;
  for (const FormId& f : forms) {
    auto v = replica.view(f);
    if (!v) return v.status();
    for (CellRef& c : editable_cells(v->form)) all.emplace_back(f, std::move(c));
  }
  // A seeded shuffle (Fisher–Yates on our own draws: std::shuffle's
  // algorithm is implementation-defined).
  for (std::size_t i = all.size(); i > 1; --i) std::swap(all[i - 1], all[n.pick(i)]);
  const auto count = static_cast<std::size_t>(static_cast<double>(all.size()) * fraction + 0.5);
  std::vector<CellChange> changes;
  for (std::size_t i = 0; i < count; ++i) {
    const auto& [form, cell] = all[i];
    auto v = replica.view(form);
    if (!v) return v.status();
    const CellValue* old = find_cell(v->form, cell);
    const std::string old_text = old == nullptr || old->kind != CellValue::Kind::kText ? "" : old->text;
    std::string text;
    const std::string& key = cell.column;
    if (cell.is_field()) {
      if (is_longtext_field(key)) {
        text = revise(n, old_text);
      } else if (key == "project_type") {
        text = "产业发展";
      } else {
        text = old_text + "（修订）";
      }
    } else if (cell.table == "funds") {
      text = key == "points" ? "10" : money_wan(n, 10, 190);
    } else if (key == "deviation") {
      text = revise(n, old_text);
    } else if (key == "level3") {
      text = "指标：" + indicator_name(n);
    } else if (key == "target" || key == "actual") {
      text = indicator_value(n);
    } else {
      text = score_text(n);
    }
    const Status s = replica.set_cell(form, cell, text);
    if (!s) return Status(s.code(), cell.to_string() + ": " + s.to_string());
    changes.push_back(CellChange{form, cell, std::move(text)});
  }
  for (std::size_t i = 0; i < actions && i < forms.size(); ++i) {
    const Status s = replica.workflow_action(forms[i], workflow::Action::kSubmit);
    if (!s) return s;
  }
  return changes;
}

std::vector<std::vector<FormContent>> generate_city_forms(Narrator& n, const City& city, std::size_t per_unit) {
  std::vector<std::vector<FormContent>> out;
  for (const UnitPeople& u : city.units) {
    std::vector<FormContent>& forms = out.emplace_back();
    for (std::size_t i = 0; i < per_unit; ++i) forms.push_back(generate_form(n, u, i));
  }
  return out;
}

std::string units_csv(const City& city) {
  std::string csv = "编码,名称,级别,上级单位,财政局\n";
  auto line = [&](const Unit& u) {
    csv += u.code + "," + u.name + "," + std::string(unit_level_name(u.level)) + "," + u.parent + "," +
           u.finance_bureau + "\n";
  };
  const Organisation& org = city.directory.organisation;
  line(*org.find(kBureauCode));
  for (const UnitPeople& u : city.units) line(*org.find(u.code));
  return csv;
}

std::string users_csv(const City& city, const std::string& password) {
  std::string csv = "登录名,姓名,单位,角色,初始密码\n";
  for (const auto& [id, u] : city.directory.users) {
    std::string roles;
    for (Role r : u.roles) {
      if (!roles.empty()) roles += ';';
      roles += role_key(r);
    }
    csv += id + "," + u.display_name + "," + u.unit + "," + roles + "," + password + "\n";
  }
  return csv;
}

}  // namespace jixiao::bench
