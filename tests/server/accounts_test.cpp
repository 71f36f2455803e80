// Accounts and sessions: Argon2id passwords, lockout, device-bound tokens
// with idle and absolute expiry, revocation, imports, and an audit record
// for every login.
#include <gtest/gtest.h>

#include <sodium.h>

#include "jixiao/server/accounts.h"
#include "jixiao/store/sqlite_store.h"

namespace jixiao::server {
namespace {

using namespace std::chrono_literals;

class AccountsTest : public ::testing::Test {
 protected:
  AccountsTest() : clock_(workflow::utc_time(2022, 3, 1, 8, 0)) {}

  void SetUp() override {
    AccountsConfig config;
    // The smallest Argon2id cost keeps the suite fast; production uses the
    // defaults (AccountsConfig{}).
    config.hashing.ops_limit = crypto_pwhash_OPSLIMIT_MIN;
    config.hashing.mem_limit = crypto_pwhash_MEMLIMIT_MIN;
    config.lockout = {3, 15min};
    config.sessions = {30min, 8h};
    store::SqliteStoreOptions options;
    options.create = true;
    auto db = store::open_sqlite_store(":memory:", std::move(options));
    ASSERT_TRUE(db.is_ok()) << db.status().to_string();
    db_ = std::move(*db);
    auto store = AccountStore::open(*db_, clock_, config, [this](workflow::AuditEvent e) {
      audit_.push_back(std::move(e));
      return Status::ok();
    });
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    store_ = std::move(*store);
    ASSERT_TRUE(store_->import_units_csv("code,name,level,parent,finance_bureau\n"
                                         "F001,保定市财政局,财政局,,\n"
                                         "731002,保定市科学技术协会,市级,,F001\n"
                                         "731101,竞秀区科协,区县级,731002,F001\n")
                    .is_ok());
    ASSERT_TRUE(store_->add_user({"p1", "张三", "731101", {Role::kPreparer}, false}, "zhang2022abc").is_ok());
  }

  std::string last_login_outcome() const {
    for (auto it = audit_.rbegin(); it != audit_.rend(); ++it) {
      if (it->kind == workflow::AuditKind::kLogin) {
        const std::string* o = it->field("outcome");
        return o == nullptr ? "?" : *o;
      }
    }
    return "none";
  }

  workflow::ManualClock clock_;
  std::vector<workflow::AuditEvent> audit_;
  std::unique_ptr<store::Store> db_;  // outlives store_
  std::unique_ptr<AccountStore> store_;
};

TEST_F(AccountsTest, LoginWithTheRightPasswordGivesADeviceBoundToken) {
  auto token = store_->login("p1", "zhang2022abc", "dev-A");
  ASSERT_TRUE(token.is_ok()) << token.status().to_string();
  EXPECT_EQ(token->size(), 64u);  // 256 random bits, hex
  auto session = store_->authenticate(*token, "dev-A");
  ASSERT_TRUE(session.is_ok());
  EXPECT_EQ(session->user, "p1");
  EXPECT_EQ(last_login_outcome(), "ok");
}

TEST_F(AccountsTest, ATokenPresentedByAnotherDeviceIsRefused) {
  const std::string token = *store_->login("p1", "zhang2022abc", "dev-A");
  auto other = store_->authenticate(token, "dev-B");
  ASSERT_FALSE(other.is_ok());
  EXPECT_EQ(other.status().reason(), static_cast<std::uint16_t>(AccountReason::kWrongDevice));
}

TEST_F(AccountsTest, AWrongPasswordAndAnUnknownUserLookTheSame) {
  auto wrong = store_->login("p1", "wrong-password1", "dev-A");
  auto unknown = store_->login("nobody", "zhang2022abc", "dev-A");
  ASSERT_FALSE(wrong.is_ok());
  ASSERT_FALSE(unknown.is_ok());
  EXPECT_EQ(wrong.status().message(), "用户名或密码错误");
  EXPECT_EQ(unknown.status().message(), wrong.status().message());
  EXPECT_EQ(last_login_outcome(), "unknown_user");
}

TEST_F(AccountsTest, RepeatedFailuresLockTheAccountForTheConfiguredTime) {
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(store_->login("p1", "bad-guess-123", "dev-A").is_ok());
  auto locked = store_->login("p1", "zhang2022abc", "dev-A");
  ASSERT_FALSE(locked.is_ok());
  EXPECT_EQ(locked.status().reason(), static_cast<std::uint16_t>(AccountReason::kLocked));
  EXPECT_NE(locked.status().message().find("15 分钟"), std::string::npos) << locked.status().message();
  clock_.advance(16min);
  EXPECT_TRUE(store_->login("p1", "zhang2022abc", "dev-A").is_ok());
}

TEST_F(AccountsTest, SessionsExpireWhenIdleAndAfterTheAbsoluteLimit) {
  const std::string idle = *store_->login("p1", "zhang2022abc", "dev-A");
  clock_.advance(31min);
  EXPECT_EQ(store_->authenticate(idle, "dev-A").status().reason(),
            static_cast<std::uint16_t>(AccountReason::kSessionInvalid));
  const std::string busy = *store_->login("p1", "zhang2022abc", "dev-A");
  for (int i = 0; i < 17; ++i) {  // active every 29 minutes for over 8 hours
    clock_.advance(29min);
    if (i < 16) {
      ASSERT_TRUE(store_->authenticate(busy, "dev-A").is_ok()) << i;
    }
  }
  EXPECT_FALSE(store_->authenticate(busy, "dev-A").is_ok());
}

// Every sync message is authorized: within a minute of the last stored
// touch that is a read only; after it, last_seen is written again.
TEST_F(AccountsTest, AMessageWithinAMinuteOfTheLastTouchOnlyReads) {
  const std::string token = *store_->login("p1", "zhang2022abc", "dev-A");
  const auto logged_in = store_->authenticate(token, "dev-A")->last_seen;
  clock_.advance(50s);
  auto soon = store_->authenticate(token, "dev-A");
  ASSERT_TRUE(soon.is_ok()) << soon.status().to_string();
  EXPECT_EQ(soon->last_seen, logged_in);  // not written
  clock_.advance(20s);
  auto later = store_->authenticate(token, "dev-A");
  ASSERT_TRUE(later.is_ok());
  EXPECT_EQ(later->last_seen, logged_in + 70s);  // written
  EXPECT_EQ(store_->authenticate(token, "dev-A")->last_seen, logged_in + 70s);
  // A revocation between two messages is seen at the next one.
  ASSERT_TRUE(store_->logout(token).is_ok());
  EXPECT_EQ(store_->authenticate(token, "dev-A").status().reason(),
            static_cast<std::uint16_t>(AccountReason::kSessionInvalid));
}

TEST_F(AccountsTest, LogoutPasswordChangeAndDisableRevokeTokens) {
  const std::string a = *store_->login("p1", "zhang2022abc", "dev-A");
  ASSERT_TRUE(store_->logout(a).is_ok());
  EXPECT_FALSE(store_->authenticate(a, "dev-A").is_ok());

  const std::string b = *store_->login("p1", "zhang2022abc", "dev-A");
  ASSERT_TRUE(store_->change_password("p1", "zhang2022abc", "newpass2023x").is_ok());
  EXPECT_FALSE(store_->authenticate(b, "dev-A").is_ok());
  EXPECT_FALSE(store_->login("p1", "zhang2022abc", "dev-A").is_ok());

  const std::string c = *store_->login("p1", "newpass2023x", "dev-A");
  ASSERT_TRUE(store_->set_disabled("p1", true).is_ok());
  EXPECT_FALSE(store_->authenticate(c, "dev-A").is_ok());
  EXPECT_EQ(store_->login("p1", "newpass2023x", "dev-A").status().reason(),
            static_cast<std::uint16_t>(AccountReason::kDisabled));
  ASSERT_TRUE(store_->set_disabled("p1", false).is_ok());
  EXPECT_TRUE(store_->login("p1", "newpass2023x", "dev-A").is_ok());
}

TEST_F(AccountsTest, WeakPasswordsAreRefused) {
  for (const char* weak : {"short1", "onlyletters", "1234567890", "p1"}) {
    const Status s = store_->reset_password("p1", weak);
    EXPECT_EQ(s.reason(), static_cast<std::uint16_t>(AccountReason::kWeakPassword)) << weak;
  }
  EXPECT_NE(AccountStore::check_password_policy("p1", "short1").message().find("至少 8 位"), std::string::npos);
}

TEST_F(AccountsTest, TheThreeAdminRolesCannotBeCombined) {
  const Status s = store_->add_user({"adm", "管理员", "F001", {Role::kSystemAdmin, Role::kAuditAdmin}, false}, "admin2022xyz");
  EXPECT_NE(s.message().find("三员分立"), std::string::npos) << s.message();
}

TEST_F(AccountsTest, ImportsAreAllOrNothingAndNameTheBadLine) {
  auto r = store_->import_users_csv("login,display_name,unit,roles,initial_password\n"
                                    "p2,李四,731101,preparer,lisi2022abc\n"
                                    "c1,王五,999999,supervisor,wangwu2022ab\n");
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("第 3 行"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("999999"), std::string::npos);
  EXPECT_FALSE(store_->login("p2", "lisi2022abc", "dev").is_ok());  // line 2 was not kept either
  auto ok = store_->import_users_csv("p2,李四,731101,填报人;单位审核人,lisi2022abc\n");
  ASSERT_TRUE(ok.is_ok()) << ok.status().to_string();
  EXPECT_EQ(*ok, 1u);
  const auto dir = store_->directory();
  ASSERT_EQ(dir.users.count("p2"), 1u);
  EXPECT_TRUE(dir.users.at("p2").has_role(Role::kUnitReviewer));
  EXPECT_TRUE(dir.organisation.is_within("731101", "731002"));
}

TEST_F(AccountsTest, PasswordsAreStoredAsArgon2idHashesOnly) {
  auto token = store_->login("p1", "zhang2022abc", "dev-A");
  ASSERT_TRUE(token.is_ok());
  for (const auto& e : audit_) {
    for (const auto& f : e.fields) EXPECT_EQ(f.value.find("zhang2022abc"), std::string::npos);
  }
  EXPECT_EQ(crypto_pwhash_STRPREFIX, std::string("$argon2id$"));
}

}  // namespace
}  // namespace jixiao::server

namespace jixiao::server {
namespace {

TEST_F(AccountsTest, ImportsAcceptTheChineseHeaderTheDocumentationShows) {
  auto units = store_->import_units_csv("编码,名称,级别,上级单位,财政局\n731102,莲池区科协,区县级,731002,F001\n");
  ASSERT_TRUE(units.is_ok()) << units.status().to_string();
  EXPECT_EQ(*units, 1u);
  auto users = store_->import_users_csv("登录名,姓名,单位,角色,初始密码\np9,赵六,731102,填报人,zhao2022abc\n");
  ASSERT_TRUE(users.is_ok()) << users.status().to_string();
  EXPECT_EQ(*users, 1u);
}

}  // namespace
}  // namespace jixiao::server
