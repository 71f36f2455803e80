// jixiao::sqlite, the one SQLite wrapper: its single mapping of SQLite's
// result codes to Status, kept statements, transactions, backups and the
// integrity check, each against real database files.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "jixiao/common/uuid.h"
#include "jixiao/sqlite/sqlite.h"

namespace jixiao::sqlite {
namespace {

namespace fs = std::filesystem;

std::uint16_t reason_of(StorageReason r) { return static_cast<std::uint16_t>(r); }

// Kept statements are keyed by the address of their text: one literal.
constexpr const char kSelectAfter[] = "SELECT k, v FROM t WHERE k > ? ORDER BY k";

class SqliteLibraryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("jixiao-sqlite-" + new_uuid_v4());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  static OpenOptions options(int busy_timeout_ms = 5000) {
    OpenOptions o;
    o.place = "测试库";
    o.busy_timeout_ms = busy_timeout_ms;
    return o;
  }

  Database open(const std::string& name, OpenOptions o = options()) {
    auto db = Database::open(path(name), o);
    if (!db) throw std::runtime_error(db.status().to_string());
    return std::move(db).value();
  }

  // A database with t(k, v) holding (1,'一') (2,'二') (3,'三').
  Database with_rows(const std::string& name) {
    Database db = open(name);
    const Status s = db.exec(
        "CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT NOT NULL);"
        "INSERT INTO t VALUES (1, '一'), (2, '二'), (3, '三');");
    if (!s) throw std::runtime_error(s.to_string());
    return db;
  }

  static std::vector<std::pair<std::int64_t, std::string>> rows(Database& db) {
    std::vector<std::pair<std::int64_t, std::string>> out;
    Statement q(db, "SELECT k, v FROM t ORDER BY k");
    for (;;) {
      auto row = q.step("read t");
      if (!row) throw std::runtime_error(row.status().to_string());
      if (!*row) return out;
      out.emplace_back(q.column_int(0), q.column_text(1));
    }
  }

  static std::int64_t count(Database& db) {
    Statement q(db, "SELECT COUNT(*) FROM t");
    auto row = q.step("count");
    if (!row || !*row) throw std::runtime_error("count failed");
    return q.column_int(0);
  }

  fs::path dir_;
};

// ---- the error mapping ----------------------------------------------------------------

TEST_F(SqliteLibraryTest, APrimaryKeyOrUniqueViolationIsAUniqueViolation) {
  Database db = with_rows("unique.db");
  ASSERT_TRUE(db.exec("CREATE TABLE u(name TEXT UNIQUE)").is_ok());
  ASSERT_TRUE(db.exec("INSERT INTO u VALUES ('a')").is_ok());

  Statement pk(db, "INSERT INTO t(k, v) VALUES (?, ?)");
  pk.bind(1, std::int64_t{2}).bind(2, "重复");
  const Status by_key = pk.run("insert duplicate key");
  EXPECT_EQ(by_key.code(), StatusCode::kConflict);
  EXPECT_EQ(by_key.reason(), reason_of(StorageReason::kUnique));
  EXPECT_TRUE(is_unique_violation(by_key)) << by_key.to_string();
  EXPECT_EQ(by_key.message(), "测试库中已有相同的记录");
  EXPECT_NE(by_key.detail().find("insert duplicate key"), std::string::npos) << by_key.detail();

  const Status by_unique = db.exec("INSERT INTO u VALUES ('a')");
  EXPECT_TRUE(is_unique_violation(by_unique)) << by_unique.to_string();
  EXPECT_FALSE(is_busy(by_unique));
}

TEST_F(SqliteLibraryTest, ANotNullViolationIsAConflictButNotAUniqueViolation) {
  Database db = with_rows("notnull.db");
  Statement ins(db, "INSERT INTO t(k, v) VALUES (?, ?)");
  ins.bind(1, std::int64_t{9}).bind_null(2);
  const Status s = ins.run("insert null");
  EXPECT_EQ(s.code(), StatusCode::kConflict);
  EXPECT_EQ(s.reason(), reason_of(StorageReason::kConstraint));
  EXPECT_FALSE(is_unique_violation(s)) << s.to_string();
  EXPECT_EQ(s.message(), "测试库拒绝了不完整或不一致的记录");
  EXPECT_EQ(count(db), 3);
}

TEST_F(SqliteLibraryTest, AWriterBlockedByAnotherConnectionsImmediateTransactionIsBusy) {
  Database holder = with_rows("busy.db");
  Database other = open("busy.db", options(50));
  ASSERT_TRUE(holder.exec("BEGIN IMMEDIATE").is_ok());

  const auto started = std::chrono::steady_clock::now();
  Transaction tx(other);
  const auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_TRUE(is_busy(tx.status())) << tx.status().to_string();
  EXPECT_EQ(tx.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(tx.status().message(), "测试库正忙，请稍后重试");
  EXPECT_FALSE(is_unique_violation(tx.status()));
  EXPECT_GE(waited, std::chrono::milliseconds(40));  // it did wait for the busy timeout
  EXPECT_LT(waited, std::chrono::seconds(3));        // and no longer

  const Status write = other.exec("INSERT INTO t VALUES (4, '四')");
  EXPECT_TRUE(is_busy(write)) << write.to_string();
  // Readers do not wait for the writer (WAL).
  EXPECT_EQ(count(other), 3);

  ASSERT_TRUE(holder.exec("ROLLBACK").is_ok());
  EXPECT_TRUE(other.exec("INSERT INTO t VALUES (4, '四')").is_ok());
}

TEST_F(SqliteLibraryTest, AFileOfGarbageBytesIsCorruption) {
  {
    std::ofstream out(path("garbage.db"), std::ios::binary);
    for (int i = 0; i < 8192; ++i) out.put(static_cast<char>((i * 37 + 11) & 0xFF));
  }
  auto db = Database::open(path("garbage.db"), options());
  // The first read of the header (journal_mode) already fails; if a build
  // opened lazily, the first query must say the same.
  const Status s = db ? db->user_version().status() : db.status();
  EXPECT_EQ(s.code(), StatusCode::kCorruption) << s.to_string();
  EXPECT_EQ(s.reason(), reason_of(StorageReason::kCorrupt));
  EXPECT_EQ(s.message(), "测试库已损坏或不是 jixiao 的数据库");
}

TEST_F(SqliteLibraryTest, OpeningAMissingFileWithoutCreateIsAnIoFailureNotCorruption) {
  OpenOptions o = options();
  o.create = false;
  auto db = Database::open(path("missing.db"), o);
  ASSERT_FALSE(db.is_ok());
  EXPECT_EQ(db.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(db.status().reason(), reason_of(StorageReason::kIo));
  EXPECT_FALSE(fs::exists(path("missing.db")));
}

TEST_F(SqliteLibraryTest, ABadStatementIsInternalAndStepSaysWhy) {
  Database db = with_rows("bad.db");
  Statement q(db, "SELECT nope FROM t");
  EXPECT_EQ(q.status().code(), StatusCode::kInternal);
  auto row = q.step("select a missing column");
  ASSERT_FALSE(row.is_ok());
  EXPECT_EQ(row.status().code(), StatusCode::kInternal);
}

// ---- kept statements ----------------------------------------------------------------------

TEST_F(SqliteLibraryTest, AKeptStatementUsedTwiceInARowStartsAfreshEachTime) {
  Database db = with_rows("kept.db");
  {
    // Left mid-iteration, with a binding: the next user must see neither.
    Statement q(db, kSelectAfter, Statement::kKeep);
    q.bind(1, std::int64_t{0});
    auto row = q.step("first use");
    ASSERT_TRUE(row.is_ok());
    ASSERT_TRUE(*row);
    EXPECT_EQ(q.column_int(0), 1);
  }
  {
    Statement q(db, kSelectAfter, Statement::kKeep);
    ASSERT_TRUE(q.status().is_ok());
    q.bind(1, std::int64_t{1});
    std::vector<std::int64_t> keys;
    for (;;) {
      auto row = q.step("second use");
      ASSERT_TRUE(row.is_ok()) << row.status().to_string();
      if (!*row) break;
      keys.push_back(q.column_int(0));
    }
    EXPECT_EQ(keys, (std::vector<std::int64_t>{2, 3}));
  }
  {
    // Bindings were cleared: an unbound parameter is NULL, and k > NULL is no row.
    Statement q(db, kSelectAfter, Statement::kKeep);
    auto row = q.step("third use, unbound");
    ASSERT_TRUE(row.is_ok());
    EXPECT_FALSE(*row);
  }
  // SQLite's own view of this connection's statements (when the build has
  // the sqlite_stmt table): one statement of that text, run three times.
  Statement probe(db, "SELECT COUNT(*), COALESCE(SUM(run), 0) FROM sqlite_stmt WHERE sql = ?");
  if (!probe.status()) GTEST_SKIP() << "no sqlite_stmt table: " << probe.status().to_string();
  probe.bind(1, kSelectAfter);
  auto row = probe.step("read sqlite_stmt");
  ASSERT_TRUE(row.is_ok() && *row);
  EXPECT_EQ(probe.column_int(0), 1) << "a kept statement was prepared more than once";
  EXPECT_EQ(probe.column_int(1), 3);
}

TEST_F(SqliteLibraryTest, ANestedUseOfAKeptStatementGetsAFreshOneAndBothReadCorrectRows) {
  Database db = with_rows("nested.db");
  std::vector<std::pair<std::int64_t, std::vector<std::int64_t>>> seen;
  {
    Statement outer(db, kSelectAfter, Statement::kKeep);
    outer.bind(1, std::int64_t{0});
    for (;;) {
      auto row = outer.step("outer");
      ASSERT_TRUE(row.is_ok()) << row.status().to_string();
      if (!*row) break;
      const std::int64_t k = outer.column_int(0);
      std::vector<std::int64_t> after;
      Statement inner(db, kSelectAfter, Statement::kKeep);
      ASSERT_TRUE(inner.status().is_ok());
      inner.bind(1, k);
      for (;;) {
        auto r = inner.step("inner");
        ASSERT_TRUE(r.is_ok()) << r.status().to_string();
        if (!*r) break;
        after.push_back(inner.column_int(0));
      }
      // The outer statement's row is still the one it stepped to.
      EXPECT_EQ(outer.column_int(0), k);
      seen.emplace_back(k, after);
    }
  }
  const std::vector<std::pair<std::int64_t, std::vector<std::int64_t>>> expected = {
      {1, {2, 3}}, {2, {3}}, {3, {}}};
  EXPECT_EQ(seen, expected);
  // After the nesting, the kept statement is free again and works.
  Statement again(db, kSelectAfter, Statement::kKeep);
  again.bind(1, std::int64_t{2});
  auto row = again.step("after nesting");
  ASSERT_TRUE(row.is_ok() && *row);
  EXPECT_EQ(again.column_int(0), 3);
  EXPECT_EQ(again.column_text(1), "三");
}

TEST_F(SqliteLibraryTest, DroppingKeptStatementsKeepsTheOneInUse) {
  Database db = with_rows("drop.db");
  Statement in_use(db, kSelectAfter, Statement::kKeep);
  in_use.bind(1, std::int64_t{0});
  auto first = in_use.step("before drop");
  ASSERT_TRUE(first.is_ok() && *first);
  db.drop_kept_statements();
  auto second = in_use.step("after drop");
  ASSERT_TRUE(second.is_ok() && *second) << second.status().to_string();
  EXPECT_EQ(in_use.column_int(0), 2);
}

// ---- transactions ---------------------------------------------------------------------------

TEST_F(SqliteLibraryTest, ATransactionNotCommittedRollsBackOnDestruction) {
  Database db = with_rows("rollback.db");
  {
    Transaction tx(db);
    ASSERT_TRUE(tx.status().is_ok());
    ASSERT_TRUE(db.exec("INSERT INTO t VALUES (4, '四'); DELETE FROM t WHERE k = 1;").is_ok());
    EXPECT_TRUE(db.in_transaction());
    EXPECT_EQ(count(db), 3);
  }
  EXPECT_FALSE(db.in_transaction());
  EXPECT_EQ(rows(db), (std::vector<std::pair<std::int64_t, std::string>>{{1, "一"}, {2, "二"}, {3, "三"}}));
  {
    Transaction tx(db);
    ASSERT_TRUE(db.exec("INSERT INTO t VALUES (4, '四')").is_ok());
    ASSERT_TRUE(tx.commit().is_ok());
  }
  EXPECT_EQ(count(db), 4);
  // Another connection sees the committed row.
  Database other = open("rollback.db");
  EXPECT_EQ(count(other), 4);
}

TEST_F(SqliteLibraryTest, ATransactionThatCouldNotBeginLeavesTheOuterOneAlone) {
  Database db = with_rows("outer.db");
  ASSERT_TRUE(db.exec("BEGIN").is_ok());
  ASSERT_TRUE(db.exec("INSERT INTO t VALUES (4, '四')").is_ok());
  {
    Transaction nested(db);
    EXPECT_FALSE(nested.status().is_ok());
    EXPECT_FALSE(nested.commit().is_ok());
  }
  // The failed one must not have rolled back the transaction it did not own.
  EXPECT_TRUE(db.in_transaction());
  ASSERT_TRUE(db.exec("COMMIT").is_ok());
  EXPECT_EQ(count(db), 4);
}

// ---- backup, integrity, schema helpers ------------------------------------------------------

TEST_F(SqliteLibraryTest, BackupProducesAFileWithTheSameRows) {
  Database db = with_rows("source.db");
  ASSERT_TRUE(db.set_user_version(7).is_ok());
  const Status s = db.backup_to(path("copy.db"), 1, std::chrono::milliseconds(0));
  ASSERT_TRUE(s.is_ok()) << s.to_string();
  Database copy = open("copy.db");
  EXPECT_EQ(rows(copy), rows(db));
  auto version = copy.user_version();
  ASSERT_TRUE(version.is_ok());
  EXPECT_EQ(*version, 7);
  EXPECT_TRUE(copy.integrity_check().is_ok());
}

TEST_F(SqliteLibraryTest, AFreshDatabasePassesTheIntegrityCheck) {
  Database db = open("fresh.db");
  const Status s = db.integrity_check();
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  auto version = db.user_version();
  ASSERT_TRUE(version.is_ok());
  EXPECT_EQ(*version, 0);
  auto tables = db.tables();
  ASSERT_TRUE(tables.is_ok());
  EXPECT_TRUE(tables->empty());
}

TEST_F(SqliteLibraryTest, TablesAndTableExistsNameOnlyTables) {
  Database db = with_rows("tables.db");
  ASSERT_TRUE(db.exec("CREATE TABLE a(x); CREATE INDEX a_by_x ON a(x); CREATE VIEW v AS SELECT 1;").is_ok());
  auto tables = db.tables();
  ASSERT_TRUE(tables.is_ok());
  EXPECT_EQ(*tables, (std::vector<std::string>{"a", "t"}));
  auto t = db.table_exists("t");
  auto v = db.table_exists("v");
  auto idx = db.table_exists("a_by_x");
  ASSERT_TRUE(t.is_ok() && v.is_ok() && idx.is_ok());
  EXPECT_TRUE(*t);
  EXPECT_FALSE(*v);
  EXPECT_FALSE(*idx);
}

TEST_F(SqliteLibraryTest, AnEmptyBlobStaysABlobNotNull) {
  Database db = open("blob.db");
  ASSERT_TRUE(db.exec("CREATE TABLE b(x BLOB NOT NULL)").is_ok());
  Statement ins(db, "INSERT INTO b VALUES (?)");
  ins.bind_blob(1, std::string_view());
  ASSERT_TRUE(ins.run("insert empty blob").is_ok());
  Statement q(db, "SELECT typeof(x), length(x) FROM b");
  auto row = q.step("read blob");
  ASSERT_TRUE(row.is_ok() && *row);
  EXPECT_EQ(q.column_text(0), "blob");
  EXPECT_EQ(q.column_int(1), 0);
}

}  // namespace
}  // namespace jixiao::sqlite
