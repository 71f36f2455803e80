#include "jixiao/common/org.h"

#include <algorithm>

#include "jixiao/common/text.h"

namespace jixiao {

std::string_view unit_level_name(UnitLevel level) {
  switch (level) {
    case UnitLevel::kFinanceBureau: return "财政局";
    case UnitLevel::kCity: return "市级";
    case UnitLevel::kDistrict: return "区县级";
  }
  return "区县级";
}

Result<UnitLevel> parse_unit_level(std::string_view raw) {
  const std::string s(text::trim(raw));
  if (s == "财政局" || s == "finance") return UnitLevel::kFinanceBureau;
  if (s == "市级" || s == "市" || s == "city") return UnitLevel::kCity;
  if (s == "区县级" || s == "区县" || s == "district") return UnitLevel::kDistrict;
  return Status::invalid_argument("未知的单位级别“" + s + "”，应为 财政局、市级 或 区县级",
                                  "unknown unit level");
}

namespace {
struct RoleNames {
  Role role;
  std::string_view zh;
  std::string_view key;
};
constexpr RoleNames kRoleNames[] = {
    {Role::kPreparer, "填报人", "preparer"},
    {Role::kUnitReviewer, "单位审核人", "unit_reviewer"},
    {Role::kMeetingSecretary, "会议秘书", "meeting_secretary"},
    {Role::kSupervisor, "上级审核人", "supervisor"},
    {Role::kFinanceReviewer, "财政局审核人", "finance_reviewer"},
    {Role::kSystemAdmin, "系统管理员", "system_admin"},
    {Role::kSecurityAdmin, "安全管理员", "security_admin"},
    {Role::kAuditAdmin, "审计管理员", "audit_admin"},
};
}  // namespace

std::string_view role_name(Role role) {
  for (const auto& r : kRoleNames) {
    if (r.role == role) return r.zh;
  }
  return "?";
}

std::string_view role_key(Role role) {
  for (const auto& r : kRoleNames) {
    if (r.role == role) return r.key;
  }
  return "?";
}

Result<Role> parse_role(std::string_view raw) {
  const std::string_view s = text::trim(raw);
  for (const auto& r : kRoleNames) {
    if (r.zh == s || r.key == s) return r.role;
  }
  return Status::invalid_argument("未知的角色“" + std::string(s) + "”", "unknown role");
}

bool is_admin_role(Role role) {
  return role == Role::kSystemAdmin || role == Role::kSecurityAdmin || role == Role::kAuditAdmin;
}

bool User::has_role(Role r) const { return std::find(roles.begin(), roles.end(), r) != roles.end(); }

Status validate_roles(const User& user) {
  int admins = 0;
  int business = 0;
  for (Role r : user.roles) (is_admin_role(r) ? admins : business)++;
  if (admins > 1) {
    return Status::invalid_argument("三员分立：系统管理员、安全管理员、审计管理员不能由同一人兼任",
                                    "user " + user.id + " holds several admin roles");
  }
  if (admins == 1 && business > 0) {
    return Status::invalid_argument("管理员账号不能同时担任业务角色",
                                    "user " + user.id + " mixes admin and business roles");
  }
  return Status::ok();
}

Status Organisation::add_unit(Unit unit) {
  if (unit.code.empty()) return Status::invalid_argument("单位编码不能为空", "empty unit code");
  if (find(unit.code) != nullptr) {
    return Status::invalid_argument("单位编码“" + unit.code + "”重复", "duplicate unit code");
  }
  if (!unit.parent.empty() && find(unit.parent) == nullptr) {
    return Status::invalid_argument("单位“" + unit.name + "”的上级单位“" + unit.parent + "”不存在",
                                    "unknown parent " + unit.parent);
  }
  units_.push_back(std::move(unit));
  return Status::ok();
}

const Unit* Organisation::find(std::string_view code) const {
  for (const auto& u : units_) {
    if (u.code == code) return &u;
  }
  return nullptr;
}

bool Organisation::is_within(std::string_view unit, std::string_view ancestor) const {
  // Parents are added before children, so the chain is finite and acyclic.
  const Unit* u = find(unit);
  for (std::size_t hops = 0; u != nullptr && hops <= units_.size(); ++hops) {
    if (u->code == ancestor) return true;
    if (u->parent.empty()) return false;
    u = find(u->parent);
  }
  return false;
}

std::vector<const Unit*> Organisation::children(std::string_view code) const {
  std::vector<const Unit*> out;
  for (const auto& u : units_) {
    if (u.parent == code) out.push_back(&u);
  }
  return out;
}

std::string roles_text(const std::vector<Role>& roles) {
  std::string out;
  for (Role r : roles) {
    if (!out.empty()) out += ';';
    out += role_key(r);
  }
  return out;
}

Result<std::vector<Role>> parse_roles(std::string_view text) {
  std::vector<Role> roles;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find(';', start), text.size());
    const std::string_view item = text::trim(text.substr(start, end - start));
    if (!item.empty()) {
      auto r = parse_role(item);
      if (!r) return r.status();
      roles.push_back(*r);
    }
    start = end + 1;
  }
  return roles;
}

}  // namespace jixiao
