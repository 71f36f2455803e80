// The organisation: units in a tree (finance bureau, city 科协, district and
// county 科协), the people who work in them and the roles they hold
// (docs/domain.md §1). Values only; persistence belongs to the server.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jixiao/common/status.h"

namespace jixiao {

// A unit's budget code as the finance bureau assigns it: "156001", "731002".
using UnitCode = std::string;
using UserId = std::string;

enum class UnitLevel : std::uint8_t {
  kFinanceBureau = 0,  // 财政局
  kCity = 1,           // 市级科协
  kDistrict = 2,       // 区县科协
};
std::string_view unit_level_name(UnitLevel level);  // "财政局", "市级", "区县级"
Result<UnitLevel> parse_unit_level(std::string_view s);  // Chinese name or "finance"/"city"/"district"

struct Unit {
  UnitCode code;
  std::string name;
  UnitLevel level = UnitLevel::kDistrict;
  // The supervising unit (a district's city 科协); empty for roots.
  UnitCode parent;
  // The finance bureau that receives this unit's submissions.
  UnitCode finance_bureau;
};

// Roles never renumbered: they are stored and sent.
enum class Role : std::uint8_t {
  kPreparer = 0,          // 填报人
  kUnitReviewer = 1,      // 单位审核人
  kMeetingSecretary = 2,  // 主席会/党组会 秘书
  kSupervisor = 3,        // 上级审核人
  kFinanceReviewer = 4,   // 财政局审核人
  kSystemAdmin = 5,       // 系统管理员
  kSecurityAdmin = 6,     // 安全管理员
  kAuditAdmin = 7,        // 审计管理员
};
inline constexpr Role kAllRoles[] = {Role::kPreparer,        Role::kUnitReviewer,
                                     Role::kMeetingSecretary, Role::kSupervisor,
                                     Role::kFinanceReviewer,  Role::kSystemAdmin,
                                     Role::kSecurityAdmin,    Role::kAuditAdmin};

std::string_view role_name(Role role);       // "填报人" …
std::string_view role_key(Role role);        // "preparer" … (files, wire)
Result<Role> parse_role(std::string_view s);  // either form
// "preparer;unit_reviewer": how a list of roles is stored and imported.
std::string roles_text(const std::vector<Role>& roles);
Result<std::vector<Role>> parse_roles(std::string_view text);  // ';'-separated, either form
// The three separated admin roles (三员分立): none of them takes business actions.
bool is_admin_role(Role role);

struct User {
  UserId id;  // login name
  std::string display_name;
  UnitCode unit;
  std::vector<Role> roles;
  bool disabled = false;

  bool has_role(Role r) const;
  friend bool operator==(const User&, const User&) = default;
};

// Checks a user's roles: at most one of the three admin roles, and an admin
// holds no business role. Returns the reason in Chinese when not.
Status validate_roles(const User& user);

// The unit tree, for scope questions ("is B within A's reach?").
class Organisation {
 public:
  Status add_unit(Unit unit);
  const Unit* find(std::string_view code) const;
  const std::vector<Unit>& units() const { return units_; }
  // True when `unit` is `ancestor` or lies below it.
  bool is_within(std::string_view unit, std::string_view ancestor) const;
  std::vector<const Unit*> children(std::string_view code) const;

 private:
  std::vector<Unit> units_;
};

}  // namespace jixiao
