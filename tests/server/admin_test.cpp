// Administration of a jixiao server through the library and the command
// line in process: init, imports, users, backup and restore (the restored
// store has the same data and a verifying audit chain; corrupted or tampered
// backups and a running server are refused), verify-audit, status.
#include <gtest/gtest.h>

#include <sodium.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "jixiao/server/admin.h"
#include "jixiao/server/server_cli.h"
#include "jixiao/sqlite/sqlite.h"

namespace jixiao::server {
namespace {

namespace fs = std::filesystem;

const char* kUnitsCsv =
    "code,name,level,parent,finance_bureau\n"
    "F001,保定市财政局,财政局,,\n"
    "731002,保定市科学技术协会,市级,,F001\n"
    "731101,竞秀区科协,区县级,731002,F001\n";
const char* kUsersCsv =
    "login,display_name,unit,roles,initial_password\n"
    "p1,张三,731101,preparer,zhang2022abc\n"
    "r1,李四,731101,unit_reviewer;meeting_secretary,lisi2022abc\n"
    "sa,王五,731002,system_admin,wangwu2022abc\n";
// No live process has this PID (above any pid_max).
constexpr pid_t kDeadPid = 999'999'999;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

class AdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/jixiao-admin-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    data_ = root_ / "data";
    InitOptions options;
    options.data_dir = data_;
    options.plain = true;
    options.port = 0;
    auto init = init_data_dir(options, "", clock_);
    ASSERT_TRUE(init.is_ok()) << init.status().to_string();
    auto config = load_config(data_ / kConfigFileName);
    ASSERT_TRUE(config.is_ok()) << config.status().to_string();
    config_ = *config;
    // The smallest Argon2id cost keeps the suite fast; the file holds the
    // production defaults.
    config_.accounts.hashing.ops_limit = crypto_pwhash_OPSLIMIT_MIN;
    config_.accounts.hashing.mem_limit = crypto_pwhash_MEMLIMIT_MIN;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  std::unique_ptr<ServerComponents> open_store() {
    auto store = ServerComponents::open(config_, "", clock_);
    EXPECT_TRUE(store.is_ok()) << store.status().to_string();
    return store.is_ok() ? std::move(*store) : nullptr;
  }

  // Units, users and a few logins (each an audit record).
  void populate(ServerComponents& store) {
    ASSERT_TRUE(store.accounts().import_units_csv(kUnitsCsv).is_ok());
    ASSERT_TRUE(store.accounts().import_users_csv(kUsersCsv).is_ok());
    ASSERT_TRUE(store.accounts().login("p1", "zhang2022abc", "dev-A").is_ok());
    ASSERT_FALSE(store.accounts().login("p1", "wrong-password1", "dev-A").is_ok());
    ASSERT_TRUE(store.accounts().login("r1", "lisi2022abc", "dev-B").is_ok());
  }

  // A configuration file with the cheap hashing, for the command line.
  fs::path cheap_config_file() {
    ServerConfig c = config_;
    c.data_dir = data_;
    c.accounts.hashing.ops_limit = 1;
    c.accounts.hashing.mem_limit = 1u << 20;
    const fs::path file = root_ / "cheap.conf";
    write_file(file, config_text(c));
    return file;
  }

  struct Run {
    int code;
    std::string out;
    std::string err;
  };
  Run cli(std::vector<std::string> args, const std::string& stdin_text = "") {
    std::istringstream in(stdin_text);
    std::ostringstream out;
    std::ostringstream err;
    const int code = run_server_cli(args, "", in, out, err);
    return {code, out.str(), err.str()};
  }

  workflow::ManualClock clock_{workflow::utc_time(2022, 3, 1, 8, 0)};
  fs::path root_;
  fs::path data_;
  ServerConfig config_;
};

TEST_F(AdminTest, InitWritesTheConfigAndAnEmptyDatabaseWithoutAccounts) {
  EXPECT_TRUE(fs::exists(data_ / "jixiao-server.conf"));
  EXPECT_TRUE(fs::exists(data_ / "server.db"));
  EXPECT_EQ(config_.data_dir, data_);
  EXPECT_FALSE(config_.net.tls);
  EXPECT_TRUE(config_.net.allow_plain);
  EXPECT_EQ(config_.net.port, 0);
  EXPECT_EQ(fs::status(data_).permissions() & (fs::perms::group_all | fs::perms::others_all), fs::perms::none);
  auto store = open_store();
  ASSERT_TRUE(store);
  EXPECT_TRUE(store->directory().users.empty());
  EXPECT_TRUE(store->directory().organisation.units().empty());
  EXPECT_EQ(verify_audit(store->sync()).records, 0u);

  InitOptions again;
  again.data_dir = data_;
  auto second = init_data_dir(again, "", clock_);
  ASSERT_FALSE(second.is_ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find("已存在，不会覆盖"), std::string::npos);
}

TEST_F(AdminTest, InitRefusesPlainOnANonLoopbackAddress) {
  InitOptions options;
  options.data_dir = root_ / "other";
  options.plain = true;
  options.listen_address = "0.0.0.0";
  auto r = init_data_dir(options, "", clock_);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(root_ / "other"));
}

TEST_F(AdminTest, ImportsAndUserAdministration) {
  auto store = open_store();
  ASSERT_TRUE(store);
  AccountStore& accounts = store->accounts();
  ASSERT_EQ(*accounts.import_units_csv(kUnitsCsv), 3u);
  ASSERT_EQ(*accounts.import_users_csv(kUsersCsv), 3u);
  auto bad = accounts.import_users_csv("p9,赵六,731101,preparer,zhao2022abc\np10,钱七,999999,preparer,qian2022abc\n");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("第 2 行"), std::string::npos) << bad.status().message();
  EXPECT_EQ(accounts.directory().users.count("p9"), 0u);  // all or nothing

  ASSERT_TRUE(accounts.add_user({"p2", "孙八", "731101", {Role::kPreparer}, false}, "sunba2022abc").is_ok());
  ASSERT_TRUE(accounts.set_disabled("p2", true).is_ok());
  EXPECT_TRUE(accounts.directory().users.at("p2").disabled);
  EXPECT_FALSE(accounts.login("p2", "sunba2022abc", "dev-C").is_ok());
  ASSERT_TRUE(accounts.set_disabled("p2", false).is_ok());
  ASSERT_TRUE(accounts.reset_password("p2", "newpass2022x").is_ok());
  EXPECT_FALSE(accounts.login("p2", "sunba2022abc", "dev-C").is_ok());
  EXPECT_TRUE(accounts.login("p2", "newpass2022x", "dev-C").is_ok());
  // Logins (3) and administration (2 imports, add, disable, enable, reset)
  // went into the server's audit chain, which verifies; the refused import
  // left no record.
  const AuditVerification v = verify_audit(store->sync());
  EXPECT_EQ(v.records, 9u);
  EXPECT_TRUE(v.verdict.ok());
}

TEST_F(AdminTest, BackupThenRestoreReproducesTheDataAndTheAuditChain) {
  const fs::path backup = root_ / "b1.db";
  {
    auto store = open_store();
    ASSERT_TRUE(store);
    populate(*store);
    auto check = backup_database(config_.database(), backup);  // while the store is open
    ASSERT_TRUE(check.is_ok()) << check.status().to_string();
    EXPECT_EQ(check->audit_records, 5u);  // 2 imports + 3 logins
    EXPECT_TRUE(check->audit.ok());
    EXPECT_GT(check->bytes, 0u);
    EXPECT_EQ(check->bytes, fs::file_size(backup));
    EXPECT_FALSE(fs::exists(root_ / "b1.db.partial"));
    // Later changes, which the restore must undo.
    ASSERT_TRUE(store->accounts().add_user({"late", "迟到", "731101", {Role::kPreparer}, false}, "late2022abc").is_ok());
    ASSERT_TRUE(store->accounts().login("late", "late2022abc", "dev-L").is_ok());
    EXPECT_EQ(backup_database(config_.database(), backup).status().code(), StatusCode::kFailedPrecondition);
  }
  auto restored = restore_database(config_, backup, clock_);
  ASSERT_TRUE(restored.is_ok()) << restored.status().to_string();
  ASSERT_TRUE(restored->kept_as.has_value());
  EXPECT_EQ(restored->kept_as->filename(), "server.db.before-restore-20220301T080000Z");
  EXPECT_TRUE(fs::exists(*restored->kept_as));
  EXPECT_FALSE(fs::exists(lock_file_path(data_)));

  auto store = open_store();
  ASSERT_TRUE(store);
  const auto& users = store->directory().users;
  EXPECT_EQ(users.size(), 3u);
  EXPECT_EQ(users.count("late"), 0u);
  EXPECT_EQ(users.at("r1").roles, (std::vector<Role>{Role::kUnitReviewer, Role::kMeetingSecretary}));
  EXPECT_EQ(store->directory().organisation.units().size(), 3u);
  const AuditVerification v = verify_audit(store->sync());
  EXPECT_EQ(v.records, 5u);
  EXPECT_TRUE(v.verdict.ok()) << v.verdict.status.message();
  EXPECT_TRUE(store->accounts().login("p1", "zhang2022abc", "dev-A").is_ok());
  const AuditVerification after = verify_audit(store->sync());
  EXPECT_EQ(after.records, 6u);
  EXPECT_TRUE(after.verdict.ok());

  // The kept database still has what was replaced.
  store.reset();
  auto kept = check_database_file(*restored->kept_as);
  ASSERT_TRUE(kept.is_ok()) << kept.status().to_string();
  EXPECT_EQ(kept->audit_records, 7u);  // + the late user and its login
}

TEST_F(AdminTest, RestoreRefusesACorruptedBackupAndLeavesTheDatabaseAlone) {
  const fs::path backup = root_ / "b.db";
  {
    auto store = open_store();
    ASSERT_TRUE(store);
    populate(*store);
    ASSERT_TRUE(backup_database(config_.database(), backup).is_ok());
  }
  std::string bytes = read_file(backup);
  ASSERT_GT(bytes.size(), 8192u);
  for (std::size_t i = 4096; i < bytes.size(); ++i) bytes[i] = static_cast<char>(0x5a);  // every page after the first
  write_file(root_ / "corrupt.db", bytes);
  write_file(root_ / "garbage.db", "this is not a database at all, not even close to one....");

  for (const char* name : {"corrupt.db", "garbage.db"}) {
    auto r = restore_database(config_, root_ / name, clock_);
    ASSERT_FALSE(r.is_ok()) << name;
    EXPECT_NE(r.status().message().find("备份文件未通过校验，当前数据库未做任何改动"), std::string::npos)
        << r.status().message();
  }
  auto missing = restore_database(config_, root_ / "none.db", clock_);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(data_ / "server.db.restoring"));
  auto store = open_store();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->directory().users.size(), 3u);
  EXPECT_EQ(verify_audit(store->sync()).records, 5u);
}

TEST_F(AdminTest, RestoreRefusesABackupWhoseAuditChainWasTampered) {
  const fs::path backup = root_ / "b.db";
  {
    auto store = open_store();
    ASSERT_TRUE(store);
    populate(*store);
    ASSERT_TRUE(backup_database(config_.database(), backup).is_ok());
  }
  {
    auto db = sqlite::Database::open(backup.string());
    ASSERT_TRUE(db.is_ok());
    ASSERT_TRUE(db->exec("UPDATE audit SET actor = 'mallory' WHERE seq = 1").is_ok());
  }
  auto r = restore_database(config_, backup, clock_);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_NE(r.status().message().find("第1号审计记录已被篡改"), std::string::npos) << r.status().message();
}

TEST_F(AdminTest, RestoreRefusesWhileTheLockNamesALiveProcess) {
  const fs::path backup = root_ / "b.db";
  {
    auto store = open_store();
    ASSERT_TRUE(store);
    populate(*store);
    ASSERT_TRUE(backup_database(config_.database(), backup).is_ok());
  }
  write_file(lock_file_path(data_), std::to_string(getpid()) + " 8443\n");
  auto lock = read_lock(data_);
  ASSERT_TRUE(lock.has_value());
  EXPECT_TRUE(lock->alive);
  EXPECT_EQ(lock->port, 8443);
  auto refused = restore_database(config_, backup, clock_);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("服务正在运行"), std::string::npos);
  EXPECT_FALSE(fs::exists(data_ / "server.db.restoring"));

  // A lock left behind by a dead process does not block.
  write_file(lock_file_path(data_), std::to_string(kDeadPid) + " 8443\n");
  EXPECT_FALSE(read_lock(data_)->alive);
  auto ok = restore_database(config_, backup, clock_);
  EXPECT_TRUE(ok.is_ok()) << ok.status().to_string();
}

TEST_F(AdminTest, TheLockFileIsExclusiveAndNamesThePort) {
  EXPECT_FALSE(read_lock(data_).has_value());
  ASSERT_TRUE(acquire_lock(data_, 0).is_ok());
  EXPECT_EQ(read_lock(data_)->pid, getpid());
  EXPECT_EQ(acquire_lock(data_, 0).code(), StatusCode::kFailedPrecondition);  // held by a live process
  ASSERT_TRUE(update_lock_port(data_, 45678).is_ok());
  EXPECT_EQ(read_lock(data_)->port, 45678);
  release_lock(data_);
  EXPECT_FALSE(fs::exists(lock_file_path(data_)));
  write_file(lock_file_path(data_), std::to_string(kDeadPid) + " 1\n");
  EXPECT_TRUE(acquire_lock(data_, 0).is_ok());  // stale lock replaced
  release_lock(data_);
}

TEST_F(AdminTest, VerifyAuditFindsATamperedRecord) {
  auto store = open_store();
  ASSERT_TRUE(store);
  populate(*store);
  ASSERT_TRUE(verify_audit(store->sync()).verdict.ok());
  {
    auto db = sqlite::Database::open(config_.database().string());
    ASSERT_TRUE(db.is_ok());
    ASSERT_TRUE(db->exec("UPDATE audit SET action = 'nothing_happened' WHERE seq = 1").is_ok());
  }
  const AuditVerification v = verify_audit(store->sync());
  EXPECT_EQ(v.records, 5u);
  ASSERT_FALSE(v.verdict.ok());
  EXPECT_EQ(v.verdict.problem, workflow::ChainProblem::kRecordAltered);
  EXPECT_EQ(v.verdict.first_broken, 1u);
}

TEST_F(AdminTest, StatusCountsTheStore) {
  auto store = open_store();
  ASSERT_TRUE(store);
  populate(*store);
  ASSERT_TRUE(store->accounts().set_disabled("r1", true).is_ok());  // revokes r1's session
  auto st = store_status(*store, config_);
  ASSERT_TRUE(st.is_ok()) << st.status().to_string();
  EXPECT_GT(st->store_bytes, 0u);
  EXPECT_EQ(st->head, 0u);
  EXPECT_EQ(st->forms, 0u);
  EXPECT_EQ(st->units, 3u);
  EXPECT_EQ(st->users, 3u);
  EXPECT_EQ(st->disabled_users, 1u);
  EXPECT_EQ(st->active_sessions, 1u);
  EXPECT_EQ(st->audit_records, 6u);  // 2 imports, 3 logins, the disable
}

// ---- the command line, in process ----------------------------------------------------

TEST_F(AdminTest, CliUsageErrorsExitTwo) {
  EXPECT_EQ(cli({}).code, 2);
  const Run unknown = cli({"frobnicate"});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_NE(unknown.err.find("未知命令“frobnicate”"), std::string::npos);
  EXPECT_EQ(cli({"status"}).code, 2);  // neither --data nor --config
  EXPECT_EQ(cli({"status", "--data", data_.string(), "--config", "x"}).code, 2);
  EXPECT_EQ(cli({"user", "add", "x", "--data", data_.string()}).code, 2);  // --name --unit --roles missing
  EXPECT_EQ(cli({"user", "fly", "--data", data_.string()}).code, 2);
  EXPECT_EQ(cli({"backup", "--data", data_.string()}).code, 2);
  EXPECT_EQ(cli({"init"}).code, 2);
  EXPECT_EQ(cli({"init", "--data", (root_ / "x").string(), "--port", "99999"}).code, 2);
  const Run bad_option = cli({"status", "--data", data_.string(), "--verbose"});
  EXPECT_EQ(bad_option.code, 2);
  EXPECT_NE(bad_option.err.find("未知选项“--verbose”"), std::string::npos);
}

TEST_F(AdminTest, CliHelpIsChineseAndEnglishAndNamesEveryCommand) {
  const Run help = cli({"--help"});
  EXPECT_EQ(help.code, 0);
  for (const char* s : {"用法", "Usage", "init", "import-units", "import-users", "user add", "user disable",
                        "user enable", "user reset-password", "user list", "backup --to", "restore --from",
                        "verify-audit", "status", "serve", "templates", "--password-file", "--plain", "--listen",
                        "--port", "--config", "--data"}) {
    EXPECT_NE(help.out.find(s), std::string::npos) << s;
  }
  EXPECT_EQ(cli({"user", "-h"}).code, 0);
  EXPECT_EQ(cli({"--version"}).out, "jixiao-server 0.1.0\n");
}

TEST_F(AdminTest, CliInitRefusesAnExistingConfigAndSaysNoAccountsExist) {
  const fs::path fresh = root_ / "fresh";
  const Run first = cli({"init", "--data", fresh.string(), "--port", "0", "--plain"});
  ASSERT_EQ(first.code, 0) << first.err;
  EXPECT_NE(first.out.find("未创建任何账号"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("import-units"), std::string::npos);
  EXPECT_NE(first.out.find("user add"), std::string::npos);
  const Run again = cli({"init", "--data", fresh.string()});
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.err.find("已存在，不会覆盖"), std::string::npos) << again.err;
  const Run plain_public = cli({"init", "--data", (root_ / "p").string(), "--plain", "--listen", "0.0.0.0"});
  EXPECT_EQ(plain_public.code, 1);
  EXPECT_NE(plain_public.err.find("回环地址"), std::string::npos);
}

TEST_F(AdminTest, CliImportsManagesUsersAndNeverPrintsPasswords) {
  const std::string conf = cheap_config_file().string();
  write_file(root_ / "units.csv", kUnitsCsv);
  write_file(root_ / "bad_units.csv", "code,name,level,parent,finance_bureau\nF001,财政局,财政局,,\nX1,某单位,省级,,F001\n");
  write_file(root_ / "users.csv", kUsersCsv);

  const Run bad = cli({"import-units", (root_ / "bad_units.csv").string(), "--config", conf});
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("第 3 行"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("整个文件未导入"), std::string::npos) << bad.err;

  const Run units = cli({"import-units", (root_ / "units.csv").string(), "--config", conf});
  ASSERT_EQ(units.code, 0) << units.err;
  EXPECT_NE(units.out.find("导入 3 个单位"), std::string::npos) << units.out;
  const Run users = cli({"import-users", (root_ / "users.csv").string(), "--config", conf});
  ASSERT_EQ(users.code, 0) << users.err;
  EXPECT_NE(users.out.find("导入 3 个用户"), std::string::npos);

  const Run add = cli({"user", "add", "p2", "--name", "孙八", "--unit", "731101", "--roles", "填报人", "--config", conf},
                      "sunba2022abc\n");
  ASSERT_EQ(add.code, 0) << add.err;
  EXPECT_NE(add.out.find("已新增用户 p2"), std::string::npos);
  const Run weak = cli({"user", "add", "p3", "--name", "x", "--unit", "731101", "--roles", "preparer", "--config", conf},
                       "short\n");
  EXPECT_EQ(weak.code, 1);
  EXPECT_NE(weak.err.find("密码至少 8 位"), std::string::npos) << weak.err;
  const Run two_admins =
      cli({"user", "add", "a2", "--name", "x", "--unit", "731002", "--roles", "system_admin;audit_admin", "--config", conf},
          "admin2022abc\n");
  EXPECT_EQ(two_admins.code, 1);

  write_file(root_ / "pw.txt", "reset2022abc\n");
  EXPECT_EQ(cli({"user", "reset-password", "p2", "--password-file", (root_ / "pw.txt").string(), "--config", conf}).code, 0);
  EXPECT_EQ(cli({"user", "disable", "p1", "--config", conf}).code, 0);
  const Run nobody = cli({"user", "disable", "nobody", "--config", conf});
  EXPECT_EQ(nobody.code, 1);
  EXPECT_NE(nobody.err.find("用户“nobody”不存在"), std::string::npos);

  const Run list = cli({"user", "list", "--config", conf});
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_NE(list.out.find("p1\t张三\t731101 竞秀区科协\t填报人\t已停用"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("r1\t李四\t731101 竞秀区科协\t单位审核人、会议秘书\t正常"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("共 4 个用户"), std::string::npos);
  for (const Run& r : {add, list}) {
    EXPECT_EQ(r.out.find("sunba2022abc"), std::string::npos);
    EXPECT_EQ(r.out.find("zhang2022abc"), std::string::npos);
    EXPECT_EQ(r.out.find("reset2022abc"), std::string::npos);
  }
  EXPECT_EQ(cli({"user", "enable", "p1", "--config", conf}).code, 0);

  // The reset password is the one that works now.
  config_.data_dir = data_;
  auto store = open_store();
  ASSERT_TRUE(store);
  EXPECT_TRUE(store->accounts().login("p2", "reset2022abc", "dev").is_ok());
  EXPECT_TRUE(store->accounts().login("p1", "zhang2022abc", "dev").is_ok());
}

TEST_F(AdminTest, CliVerifyAuditStatusBackupAndRestore) {
  {
    auto store = open_store();
    ASSERT_TRUE(store);
    populate(*store);
  }
  const std::string data = data_.string();
  const Run ok = cli({"verify-audit", "--data", data});
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_NE(ok.out.find("审计日志共 5 条记录，哈希链校验通过 OK"), std::string::npos) << ok.out;

  const Run status = cli({"status", "--data", data});
  ASSERT_EQ(status.code, 0) << status.err;
  for (const char* s : {"存储大小：", "同步序号（head）：0", "表单：0 份", "单位：3 个；用户：3 个（停用 0 个）",
                        "未注销的会话：2 个", "审计记录：5 条", "评价批次：0 个（未到截止日期 0 个）", "服务：未运行"}) {
    EXPECT_NE(status.out.find(s), std::string::npos) << s << "\n" << status.out;
  }

  const std::string backup = (root_ / "cli-backup.db").string();
  const Run b = cli({"backup", "--to", backup, "--data", data});
  ASSERT_EQ(b.code, 0) << b.err;
  EXPECT_NE(b.out.find("备份完成"), std::string::npos);
  EXPECT_NE(b.out.find("审计记录 5 条"), std::string::npos) << b.out;
  EXPECT_EQ(cli({"backup", "--to", backup, "--data", data}).code, 1);  // never overwrites

  {
    auto db = sqlite::Database::open(config_.database().string());
    ASSERT_TRUE(db.is_ok());
    ASSERT_TRUE(db->exec("UPDATE audit SET actor = 'mallory' WHERE seq = 2").is_ok());
  }
  const Run broken = cli({"verify-audit", "--data", data});
  EXPECT_EQ(broken.code, 1);
  EXPECT_NE(broken.err.find("第2号审计记录已被篡改"), std::string::npos) << broken.err;
  EXPECT_NE(broken.err.find("第 2 号"), std::string::npos) << broken.err;

  write_file(lock_file_path(data_), std::to_string(getpid()) + " 1\n");
  const Run while_running = cli({"restore", "--from", backup, "--data", data});
  EXPECT_EQ(while_running.code, 1);
  EXPECT_NE(while_running.err.find("请先停止服务再恢复"), std::string::npos) << while_running.err;
  fs::remove(lock_file_path(data_));

  const Run restored = cli({"restore", "--from", backup, "--data", data});
  ASSERT_EQ(restored.code, 0) << restored.err;
  EXPECT_NE(restored.out.find("原数据库保留为"), std::string::npos);
  EXPECT_EQ(cli({"verify-audit", "--data", data}).code, 0);
}

}  // namespace
}  // namespace jixiao::server
