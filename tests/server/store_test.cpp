// The server's store (store.h) in its SQLite implementation: the schema
// ladder on a real schema-1 database of the previous release
// (tests/fixtures/store/schema1.sql), on new and version-0 files, a newer
// file refused untouched, read-only opening, a failed step left undone, the
// guarantees store.h promises (log order, directory version, atomic and
// serialized writes) and the accounts' reading of its errors.
#include <gtest/gtest.h>

#include <sodium.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "jixiao/common/digest.h"
#include "jixiao/common/form_template.h"
#include "jixiao/common/uuid.h"
#include "jixiao/server/accounts.h"
#include "jixiao/service/sync_service.h"
#include "jixiao/sqlite/sqlite.h"
#include "jixiao/store/sqlite_store.h"
#include "jixiao/workflow/audit_log.h"
#include "jixiao/workflow/definition.h"

namespace jixiao::store {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr char kFixtureForm[] = "4e8a79a8-a521-42bd-9a61-6a11d2020375";

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// SHA-256 of a file's bytes, "missing" when there is no such file.
std::string file_hash(const fs::path& p) {
  if (!fs::exists(p)) return "missing";
  return sha256_hex(read_text(p));
}

sqlite::OpenOptions raw_options(bool wal = true) {
  sqlite::OpenOptions o;
  o.place = "测试";
  o.wal = wal;
  return o;
}

sqlite::Database raw_open(const fs::path& p, bool wal = true) {
  auto db = sqlite::Database::open(p.string(), raw_options(wal));
  if (!db) throw std::runtime_error(db.status().to_string());
  return std::move(db).value();
}

std::int64_t count_rows(sqlite::Database& db, const std::string& table) {
  sqlite::Statement q(db, "SELECT COUNT(*) FROM " + table);
  auto row = q.step("count " + table);
  if (!row || !*row) throw std::runtime_error("count " + table + ": " + row.status().to_string());
  return q.column_int(0);
}

std::vector<std::string> columns_of(sqlite::Database& db, const std::string& table) {
  sqlite::Statement q(db, "SELECT name FROM pragma_table_info('" + table + "') ORDER BY cid");
  std::vector<std::string> out;
  for (;;) {
    auto row = q.step("columns of " + table);
    if (!row) throw std::runtime_error(row.status().to_string());
    if (!*row) return out;
    out.push_back(q.column_text(0));
  }
}

// The forms table at schema 2: schema 1's three columns, then FormIndex's
// (whose unit is schema 1's).
const std::vector<std::string> kSchema2FormColumns = {
    "form_id", "unit", "replica", "template_id", "template_version", "fiscal_year", "round_id", "definition_id",
    "definition_version", "phase", "stage_id", "holder_role", "holder_unit", "return_count", "amount_fen", "score",
    "grade", "updated_ms", "last_seq"};

// What a schema-1 file holds, read with plain SQL before any migration.
struct Before {
  std::map<FormId, sync::FormReplica> replicas;
  std::map<std::string, std::int64_t> rows;  // by table
  std::int64_t max_seq = 0;
};

constexpr const char* kSchema1Tables[] = {"audit", "forms", "log", "op_results", "rounds",
                                          "sessions", "units", "users", "visibility"};

Before read_before(const fs::path& file) {
  Before b;
  sqlite::Database db = raw_open(file);
  for (const char* t : kSchema1Tables) b.rows[t] = count_rows(db, t);
  sqlite::Statement q(db, "SELECT form_id, replica FROM forms");
  for (;;) {
    auto row = q.step("read forms");
    if (!row) throw std::runtime_error(row.status().to_string());
    if (!*row) break;
    auto r = sync::decode_replica(q.column_blob(1));
    if (!r) throw std::runtime_error("fixture replica: " + r.status().to_string());
    b.replicas.emplace(q.column_text(0), std::move(*r));
  }
  sqlite::Statement m(db, "SELECT COALESCE(MAX(seq), 0) FROM log");
  auto row = m.step("max seq");
  if (!row || !*row) throw std::runtime_error("max seq");
  b.max_seq = m.column_int(0);
  return b;
}

class StoreTest : public ::testing::Test {
 protected:
  StoreTest() : clock_(workflow::utc_time(2026, 12, 1, 9, 0)) {}

  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("jixiao-store-" + new_uuid_v4());
    fs::create_directories(dir_);
    ASSERT_TRUE(templates_.load_directory(JIXIAO_TEMPLATE_DIR).is_ok());
    for (const char* name : {"district-default.json", "city-default.json"}) {
      auto def = workflow::load_workflow_definition(std::string(JIXIAO_SOURCE_DIR) + "/workflow/definitions/" + name);
      ASSERT_TRUE(def.is_ok()) << def.status().to_string();
      definitions_.push_back(std::move(*def));
    }
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  fs::path file(const std::string& name) const { return dir_ / name; }

  Indexer indexer() const { return server::form_indexer(templates_, definitions_, clock_); }

  SqliteStoreOptions options(bool create = false) const {
    SqliteStoreOptions o;
    o.create = create;
    o.indexer = indexer();
    return o;
  }

  // The schema-1 fixture, loaded into a new file (version 1, WAL mode).
  fs::path load_fixture(const std::string& name) {
    const fs::path p = file(name);
    sqlite::Database db = raw_open(p);
    const Status s = db.exec(read_text(fs::path(JIXIAO_FIXTURE_DIR) / "store" / "schema1.sql"));
    if (!s) throw std::runtime_error("load fixture: " + s.to_string());
    return p;
  }

  std::unique_ptr<Store> open_ok(const fs::path& p, SqliteStoreOptions o) {
    auto store = open_sqlite_store(p, std::move(o));
    if (!store) throw std::runtime_error("open " + p.string() + ": " + store.status().to_string());
    return std::move(store).value();
  }

  std::unique_ptr<Store> fresh_store(const std::string& name, int busy_timeout_ms = 5000) {
    SqliteStoreOptions o = options(true);
    o.busy_timeout_ms = busy_timeout_ms;
    return open_ok(file(name), std::move(o));
  }

  static std::unique_ptr<Transaction> write(Store& store) {
    auto tx = store.begin_write();
    if (!tx) throw std::runtime_error("begin_write: " + tx.status().to_string());
    return std::move(tx).value();
  }
  static std::unique_ptr<Transaction> read(Store& store) {
    auto tx = store.begin_read();
    if (!tx) throw std::runtime_error("begin_read: " + tx.status().to_string());
    return std::move(tx).value();
  }
  static std::int64_t directory_version(Store& store) {
    auto v = read(store)->directory_version();
    if (!v) throw std::runtime_error(v.status().to_string());
    return *v;
  }

  // Checks a store migrated from the fixture against what the file held before.
  void expect_fixture_migrated(Store& store, const Before& before) {
    auto tx = read(store);
    // Every form's replica is the same replica.
    ASSERT_EQ(before.replicas.size(), 1u);
    for (const auto& [id, replica] : before.replicas) {
      auto now = tx->form(id);
      ASSERT_TRUE(now.is_ok()) << now.status().to_string();
      ASSERT_TRUE(now->has_value()) << id;
      EXPECT_EQ(sync::replica_hash(**now), sync::replica_hash(replica)) << id;
    }
    // The log, the audit chain, the answers and the sessions are all there.
    auto head = tx->head();
    ASSERT_TRUE(head.is_ok());
    EXPECT_EQ(*head, static_cast<sync::ServerSeq>(before.max_seq));
    EXPECT_EQ(*head, 31u);
    auto audit = tx->audit_records();
    ASSERT_TRUE(audit.is_ok()) << audit.status().to_string();
    EXPECT_EQ(static_cast<std::int64_t>(audit->size()), before.rows.at("audit"));
    EXPECT_EQ(audit->size(), 37u);
    const auto verdict = workflow::verify_audit_chain(*audit);
    EXPECT_TRUE(verdict.ok()) << verdict.status.to_string();
    auto results = tx->op_results();
    ASSERT_TRUE(results.is_ok());
    EXPECT_EQ(static_cast<std::int64_t>(results->size()), before.rows.at("op_results"));
    auto counts = tx->counts(0);
    ASSERT_TRUE(counts.is_ok());
    EXPECT_EQ(static_cast<std::int64_t>(counts->forms), before.rows.at("forms"));
    EXPECT_EQ(static_cast<std::int64_t>(counts->audit_records), before.rows.at("audit"));
    EXPECT_EQ(static_cast<std::int64_t>(counts->active_sessions), before.rows.at("sessions"));

    // The index columns say what decoding the replica says.
    const sync::FormReplica& replica = before.replicas.at(kFixtureForm);
    auto visible = tx->visible_forms("K130602");
    ASSERT_TRUE(visible.is_ok()) << visible.status().to_string();
    ASSERT_EQ(visible->size(), 1u);
    const FormIndex& x = visible->at(0).index;
    EXPECT_EQ(visible->at(0).id, kFixtureForm);
    EXPECT_EQ(x.template_id, replica.form.template_ref.id);
    EXPECT_FALSE(x.template_id.empty());
    EXPECT_EQ(x.template_version, static_cast<std::uint32_t>(replica.form.template_ref.version));
    EXPECT_EQ(x.unit, replica.workflow.unit);
    EXPECT_EQ(x.unit, "K130602");
    EXPECT_EQ(x.fiscal_year, replica.form.fiscal_year);
    EXPECT_EQ(x.round_id, replica.workflow.round_id);
    EXPECT_EQ(x.definition_id, replica.workflow.definition_id);
    EXPECT_EQ(x.definition_version, replica.workflow.definition_version);
    EXPECT_EQ(x.phase, static_cast<int>(replica.workflow.phase));
    EXPECT_EQ(x.stage_id, replica.workflow.stage_id);
    EXPECT_EQ(x.return_count, replica.workflow.return_count);
    EXPECT_EQ(x.updated_ms, replica.workflow.updated_at.time_since_epoch().count());
    EXPECT_EQ(x.last_seq, replica.last_seq);
    EXPECT_GT(x.last_seq, 0u);
    // All seventeen columns, as the composition root's indexer computes them.
    auto org = tx->organisation();
    ASSERT_TRUE(org.is_ok());
    auto expected = indexer()(replica, *org);
    ASSERT_TRUE(expected.is_ok());
    EXPECT_EQ(x, *expected);
    // Visibility rows came along: the city and the bureau see it, the other district does not.
    for (const char* unit : {"K130600", "F130600"}) {
      auto v = tx->visible_forms(unit);
      ASSERT_TRUE(v.is_ok());
      ASSERT_EQ(v->size(), 1u) << unit;
      EXPECT_EQ(v->at(0).index, x) << unit;
    }
    auto other = tx->visible_forms("K130606");
    ASSERT_TRUE(other.is_ok());
    EXPECT_TRUE(other->empty());
    if (!x.round_id.empty()) {
      auto in_round = tx->forms_in_rounds({x.round_id});
      ASSERT_TRUE(in_round.is_ok());
      ASSERT_EQ(in_round->size(), 1u);
      EXPECT_EQ(in_round->at(0).index, x);
    }

    // meta and the directory.
    auto dv = tx->directory_version();
    ASSERT_TRUE(dv.is_ok()) << dv.status().to_string();
    EXPECT_GE(*dv, 1);
    auto units = tx->organisation();
    ASSERT_TRUE(units.is_ok());
    EXPECT_EQ(static_cast<std::int64_t>(units->units().size()), before.rows.at("units"));
    ASSERT_NE(units->find("K130602"), nullptr);
    EXPECT_EQ(units->find("K130602")->name, "竞秀区科协");
    EXPECT_EQ(units->find("K130602")->parent, "K130600");
    auto users = tx->users();
    ASSERT_TRUE(users.is_ok());
    EXPECT_EQ(static_cast<std::int64_t>(users->size()), before.rows.at("users"));
    auto tianli = tx->user("tianli");
    ASSERT_TRUE(tianli.is_ok());
    ASSERT_TRUE(tianli->has_value());
    EXPECT_EQ(**tianli, (User{"tianli", "田丽", "K130602", {Role::kPreparer}, false}));
    auto creds = tx->credentials("zhoujing");
    ASSERT_TRUE(creds.is_ok());
    ASSERT_TRUE(creds->has_value());
    EXPECT_EQ((*creds)->password_hash.rfind("$argon2id$", 0), 0u);
  }

  fs::path dir_;
  workflow::ManualClock clock_;
  TemplateRegistry templates_;
  std::vector<workflow::WorkflowDefinition> definitions_;
};

// ---- the ladder -----------------------------------------------------------------------------

TEST_F(StoreTest, TheSchema1FixtureMigratesToVersion2KeepingEveryReplicaRecordAndRow) {
  const fs::path p = load_fixture("schema1.db");
  auto version = sqlite_store_version(p);
  ASSERT_TRUE(version.is_ok());
  ASSERT_EQ(*version, 1);
  const Before before = read_before(p);
  ASSERT_EQ(before.rows.at("log"), 31);
  ASSERT_EQ(before.rows.at("audit"), 37);
  ASSERT_EQ(before.rows.at("users"), 4);

  auto store = open_ok(p, options());
  version = sqlite_store_version(p);
  ASSERT_TRUE(version.is_ok());
  EXPECT_EQ(*version, kSchemaVersion);
  EXPECT_EQ(*version, 2);
  expect_fixture_migrated(*store, before);
  EXPECT_TRUE(store->check_integrity().is_ok());

  // Row counts by plain SQL: no table lost or gained a row, meta was added.
  sqlite::Database db = raw_open(p);
  for (const char* t : kSchema1Tables) EXPECT_EQ(count_rows(db, t), before.rows.at(t)) << t;
  EXPECT_EQ(count_rows(db, "meta"), 3);
}

TEST_F(StoreTest, AMigratedFixtureOpensAgainWithoutChange) {
  const fs::path p = load_fixture("twice.db");
  const Before before = read_before(p);
  std::int64_t directory = 0;
  {
    auto store = open_ok(p, options());
    directory = directory_version(*store);
  }
  auto again = open_ok(p, options());
  EXPECT_EQ(*sqlite_store_version(p), 2);
  EXPECT_EQ(directory_version(*again), directory);
  expect_fixture_migrated(*again, before);
}

TEST_F(StoreTest, ABrandNewFileGoesFrom0To2WithEveryTable) {
  const fs::path p = file("new.db");
  ASSERT_FALSE(fs::exists(p));
  auto store = open_ok(p, options(true));
  auto version = sqlite_store_version(p);
  ASSERT_TRUE(version.is_ok());
  EXPECT_EQ(*version, 2);
  sqlite::Database db = raw_open(p);
  auto tables = db.tables();
  ASSERT_TRUE(tables.is_ok());
  EXPECT_EQ(*tables, (std::vector<std::string>{"audit", "forms", "log", "meta", "op_results", "rounds", "sessions",
                                               "units", "users", "visibility"}));
  EXPECT_EQ(columns_of(db, "forms"), kSchema2FormColumns);
  EXPECT_EQ(directory_version(*store), 1);
  auto tx = read(*store);
  EXPECT_EQ(*tx->head(), 0u);
  EXPECT_TRUE(tx->users()->empty());
}

TEST_F(StoreTest, AMissingFileWithoutCreateIsNotFoundAndNotCreated) {
  const fs::path p = file("absent.db");
  auto store = open_sqlite_store(p, options(false));
  ASSERT_FALSE(store.is_ok());
  EXPECT_EQ(store.status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(p));
}

// A version-0 file in which an old AccountStore already made its tables
// (units, users, sessions, audit) with its rows: the 0 → 1 step adds the
// rest around them, the 1 → 2 step finishes.
TEST_F(StoreTest, AVersion0FileWithOnlyTheAccountsTablesMigrates) {
  const std::string fixture = read_text(fs::path(JIXIAO_FIXTURE_DIR) / "store" / "schema1.sql");
  std::string accounts_sql;
  std::size_t start = 0;
  int statements = 0;
  while (start < fixture.size()) {
    std::size_t end = fixture.find(";\n", start);
    if (end == std::string::npos) end = fixture.size();
    std::string stmt = fixture.substr(start, end - start);
    start = end + 2;
    // Drop leading comment lines.
    while (stmt.rfind("--", 0) == 0 || stmt.rfind("\n", 0) == 0) {
      const std::size_t nl = stmt.find('\n');
      stmt = nl == std::string::npos ? std::string() : stmt.substr(nl + 1);
    }
    for (const char* table : {"units", "users", "sessions", "audit"}) {
      if (stmt.rfind(std::string("CREATE TABLE ") + table + "(", 0) == 0 ||
          stmt.rfind(std::string("INSERT INTO ") + table + " ", 0) == 0) {
        accounts_sql += stmt + ";\n";
        ++statements;
      }
    }
  }
  ASSERT_EQ(statements, 4 + 4 + 4 + 4 + 37);
  const fs::path p = file("accounts-v0.db");
  {
    sqlite::Database db = raw_open(p);
    ASSERT_TRUE(db.exec("BEGIN;" + accounts_sql + "COMMIT;").is_ok());
    auto tables = db.tables();
    ASSERT_TRUE(tables.is_ok());
    ASSERT_EQ(*tables, (std::vector<std::string>{"audit", "sessions", "units", "users"}));
  }
  ASSERT_EQ(*sqlite_store_version(p), 0);

  auto store = open_ok(p, options());
  EXPECT_EQ(*sqlite_store_version(p), 2);
  auto tx = read(*store);
  auto users = tx->users();
  ASSERT_TRUE(users.is_ok());
  EXPECT_EQ(users->size(), 4u);
  auto org = tx->organisation();
  ASSERT_TRUE(org.is_ok());
  EXPECT_EQ(org->units().size(), 4u);
  auto audit = tx->audit_records();
  ASSERT_TRUE(audit.is_ok());
  EXPECT_EQ(audit->size(), 37u);
  EXPECT_TRUE(workflow::verify_audit_chain(*audit).ok());
  auto session_count = tx->counts(0);
  ASSERT_TRUE(session_count.is_ok());
  EXPECT_EQ(session_count->active_sessions, 4u);
  EXPECT_EQ(session_count->forms, 0u);
  EXPECT_EQ(*tx->head(), 0u);
  EXPECT_GE(*tx->directory_version(), 1);
  tx.reset();
  sqlite::Database db = raw_open(p);
  EXPECT_EQ(*db.tables(), (std::vector<std::string>{"audit", "forms", "log", "meta", "op_results", "rounds", "sessions",
                                                    "units", "users", "visibility"}));
  EXPECT_EQ(columns_of(db, "forms"), kSchema2FormColumns);
}

TEST_F(StoreTest, AFileOfANewerVersionIsRefusedWithItsBytesUntouched) {
  // A newer server has this file open (WAL, uncheckpointed frames in -wal).
  const fs::path p = file("newer.db");
  sqlite::Database newer = raw_open(p);
  ASSERT_TRUE(newer.exec("CREATE TABLE future(x TEXT); INSERT INTO future VALUES ('第 3 版的数据');").is_ok());
  ASSERT_TRUE(newer.set_user_version(3).is_ok());
  const fs::path wal = p.string() + "-wal";
  ASSERT_TRUE(fs::exists(wal));
  const std::string db_before = file_hash(p);
  const std::string wal_before = file_hash(wal);

  auto store = open_sqlite_store(p, options());
  ASSERT_FALSE(store.is_ok());
  EXPECT_EQ(store.status().code(), StatusCode::kUnsupportedVersion);
  EXPECT_NE(store.status().message().find("第 3 版"), std::string::npos) << store.status().message();
  EXPECT_NE(store.status().message().find("第 2 版"), std::string::npos) << store.status().message();
  // Neither the read-only nor the creating flavour writes it.
  SqliteStoreOptions ro = options();
  ro.read_only = true;
  EXPECT_EQ(open_sqlite_store(p, std::move(ro)).status().code(), StatusCode::kUnsupportedVersion);
  EXPECT_EQ(open_sqlite_store(p, options(true)).status().code(), StatusCode::kUnsupportedVersion);

  EXPECT_EQ(file_hash(p), db_before);
  EXPECT_EQ(file_hash(wal), wal_before);
  auto version = newer.user_version();
  ASSERT_TRUE(version.is_ok());
  EXPECT_EQ(*version, 3);
}

TEST_F(StoreTest, AClosedFileOfANewerVersionIsRefusedAndNoJournalAppears) {
  const fs::path p = file("newer-closed.db");
  {
    sqlite::Database newer = raw_open(p, /*wal=*/false);
    ASSERT_TRUE(newer.exec("CREATE TABLE future(x TEXT); INSERT INTO future VALUES ('x');").is_ok());
    ASSERT_TRUE(newer.set_user_version(3).is_ok());
  }
  const std::string before = file_hash(p);
  auto store = open_sqlite_store(p, options());
  ASSERT_FALSE(store.is_ok());
  EXPECT_EQ(store.status().code(), StatusCode::kUnsupportedVersion);
  EXPECT_EQ(file_hash(p), before);
  EXPECT_FALSE(fs::exists(p.string() + "-wal"));
  EXPECT_FALSE(fs::exists(p.string() + "-journal"));
  EXPECT_EQ(*sqlite_store_version(p), 3);
}

TEST_F(StoreTest, ReadOnlyModeDoesNotMigrateASchema1FileButReadsItsAuditRecords) {
  const fs::path p = load_fixture("readonly.db");
  const std::string before = file_hash(p);
  SqliteStoreOptions o = options();
  o.read_only = true;
  auto store = open_ok(p, std::move(o));
  EXPECT_EQ(*sqlite_store_version(p), 1);
  {
    auto tx = read(*store);
    auto audit = tx->audit_records();
    ASSERT_TRUE(audit.is_ok()) << audit.status().to_string();
    EXPECT_EQ(audit->size(), 37u);
    EXPECT_TRUE(workflow::verify_audit_chain(*audit).ok());
    auto users = tx->users();
    ASSERT_TRUE(users.is_ok());
    EXPECT_EQ(users->size(), 4u);
  }
  auto w = store->begin_write();
  ASSERT_FALSE(w.is_ok());
  EXPECT_EQ(w.status().code(), StatusCode::kFailedPrecondition);
  store.reset();
  EXPECT_EQ(*sqlite_store_version(p), 1);
  EXPECT_EQ(file_hash(p), before);
}

TEST_F(StoreTest, ReadOnlyModeRefusesAFileThatIsNotAServerDatabase) {
  const fs::path p = file("empty.db");
  { sqlite::Database db = raw_open(p); }
  SqliteStoreOptions o = options();
  o.read_only = true;
  auto store = open_sqlite_store(p, std::move(o));
  ASSERT_FALSE(store.is_ok());
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(StoreTest, AFailedMigrationLeavesTheFileAtVersion1AndNamesTheForm) {
  const fs::path p = load_fixture("broken.db");
  std::string good_replica;
  {
    sqlite::Database db = raw_open(p);
    sqlite::Statement q(db, "SELECT replica FROM forms WHERE form_id = ?");
    q.bind(1, kFixtureForm);
    auto row = q.step("read replica");
    ASSERT_TRUE(row.is_ok() && *row);
    good_replica = q.column_blob(0);
    sqlite::Statement up(db, "UPDATE forms SET replica = ? WHERE form_id = ?");
    up.bind_blob(1, std::string_view(good_replica).substr(0, good_replica.size() / 2)).bind(2, kFixtureForm);
    ASSERT_TRUE(up.run("damage replica").is_ok());
  }
  const Before before = [&] {
    sqlite::Database db = raw_open(p);
    Before b;
    for (const char* t : kSchema1Tables) b.rows[t] = count_rows(db, t);
    return b;
  }();

  auto store = open_sqlite_store(p, options());
  ASSERT_FALSE(store.is_ok());
  EXPECT_EQ(store.status().code(), StatusCode::kCorruption) << store.status().to_string();
  EXPECT_NE(store.status().message().find(kFixtureForm), std::string::npos) << store.status().message();
  EXPECT_EQ(*sqlite_store_version(p), 1);
  {
    sqlite::Database db = raw_open(p);
    auto meta = db.table_exists("meta");
    ASSERT_TRUE(meta.is_ok());
    EXPECT_FALSE(*meta) << "the 1 -> 2 step was not rolled back";
    EXPECT_EQ(columns_of(db, "forms"), (std::vector<std::string>{"form_id", "unit", "replica"}));
    for (const char* t : kSchema1Tables) EXPECT_EQ(count_rows(db, t), before.rows.at(t)) << t;
    // Repaired, the same file migrates.
    sqlite::Statement up(db, "UPDATE forms SET replica = ? WHERE form_id = ?");
    up.bind_blob(1, good_replica).bind(2, kFixtureForm);
    ASSERT_TRUE(up.run("repair replica").is_ok());
  }
  auto repaired = open_sqlite_store(p, options());
  ASSERT_TRUE(repaired.is_ok()) << repaired.status().to_string();
  EXPECT_EQ(*sqlite_store_version(p), 2);
}

TEST_F(StoreTest, AnIndexerThatFailsLeavesTheFileAtVersion1) {
  const fs::path p = load_fixture("indexer.db");
  SqliteStoreOptions o = options();
  o.indexer = [](const sync::FormReplica&, const Organisation&) -> Result<FormIndex> {
    return Status(StatusCode::kFailedPrecondition, "找不到表单模板", "test indexer");
  };
  auto store = open_sqlite_store(p, std::move(o));
  ASSERT_FALSE(store.is_ok());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(*sqlite_store_version(p), 1);
  // Without any indexer, forms cannot be indexed either.
  SqliteStoreOptions none;
  auto without = open_sqlite_store(p, std::move(none));
  ASSERT_FALSE(without.is_ok());
  EXPECT_EQ(*sqlite_store_version(p), 1);
}

// ---- what store.h guarantees ---------------------------------------------------------------

TEST_F(StoreTest, AppendLogRefusesAnySeqButHeadPlusOne) {
  auto store = fresh_store("log.db");
  const auto entry = [](sync::ServerSeq seq) {
    sync::LogEntry e;
    e.seq = seq;
    e.form_id = "form-1";
    e.op_id = "op-" + std::to_string(seq);
    e.author = "p1";
    e.device = "dev-p1";
    return e;
  };
  auto tx = write(*store);
  EXPECT_FALSE(tx->append_log(entry(0)).is_ok());
  EXPECT_FALSE(tx->append_log(entry(2)).is_ok());
  ASSERT_TRUE(tx->append_log(entry(1)).is_ok());
  EXPECT_FALSE(tx->append_log(entry(1)).is_ok());
  EXPECT_FALSE(tx->append_log(entry(3)).is_ok());
  ASSERT_TRUE(tx->append_log(entry(2)).is_ok());
  EXPECT_EQ(*tx->head(), 2u);
  ASSERT_TRUE(tx->commit().is_ok());
  tx.reset();
  auto r = read(*store);
  EXPECT_EQ(*r->head(), 2u);
  auto bytes = r->log_entry_bytes(2);
  ASSERT_TRUE(bytes.is_ok());
  ASSERT_TRUE(bytes->has_value());
  auto decoded = sync::decode_entry(**bytes);
  ASSERT_TRUE(decoded.is_ok());
  EXPECT_EQ(*decoded, entry(2));
}

TEST_F(StoreTest, EveryDirectoryChangeIncrementsTheDirectoryVersionForEveryReader) {
  auto store = fresh_store("directory.db");
  // Another "process": a second store over the same file.
  auto other = open_ok(file("directory.db"), options());
  const auto bump = [&](auto&& change) {
    const std::int64_t before = directory_version(*other);
    auto tx = write(*store);
    change(*tx);
    EXPECT_TRUE(tx->commit().is_ok());
    tx.reset();
    return directory_version(*other) - before;
  };
  EXPECT_EQ(bump([](Transaction& tx) {
              EXPECT_TRUE(tx.add_unit({"731101", "竞秀区科协", UnitLevel::kDistrict, "", ""}).is_ok());
            }),
            1);
  EXPECT_EQ(bump([](Transaction& tx) {
              EXPECT_TRUE(tx.add_user({"p1", "张三", "731101", {Role::kPreparer}, false}, "!").is_ok());
            }),
            1);
  EXPECT_EQ(bump([](Transaction& tx) { EXPECT_TRUE(*tx.set_user_disabled("p1", true)); }), 1);
  EXPECT_EQ(bump([](Transaction& tx) { EXPECT_TRUE(*tx.set_user_roles("p1", {Role::kUnitReviewer})); }), 1);
  EXPECT_EQ(bump([](Transaction& tx) { EXPECT_TRUE(*tx.set_password_hash("p1", "$argon2id$x")); }), 1);
  // Nothing changed, nothing to re-read.
  EXPECT_EQ(bump([](Transaction& tx) { EXPECT_FALSE(*tx.set_user_disabled("nobody", true)); }), 0);
  auto u = read(*other)->user("p1");
  ASSERT_TRUE(u.is_ok() && u->has_value());
  EXPECT_TRUE((*u)->disabled);
  EXPECT_EQ((*u)->roles, std::vector<Role>{Role::kUnitReviewer});
}

TEST_F(StoreTest, AWriteTransactionNotCommittedLeavesNothingBehind) {
  auto store = fresh_store("atomic.db");
  const std::int64_t directory = directory_version(*store);
  {
    auto tx = write(*store);
    ASSERT_TRUE(tx->add_unit({"731101", "竞秀区科协", UnitLevel::kDistrict, "", ""}).is_ok());
    ASSERT_TRUE(tx->add_user({"p1", "张三", "731101", {Role::kPreparer}, false}, "!").is_ok());
    sync::LogEntry e;
    e.seq = 1;
    e.form_id = "form-1";
    ASSERT_TRUE(tx->append_log(e).is_ok());
    ASSERT_TRUE(tx->add_visibility("form-1", "731101", 1).is_ok());
    workflow::AuditEvent ev = workflow::administration_event(clock_.now(), "admin", "p1", "user_add");
    ASSERT_TRUE(tx->append_audit(ev).is_ok());
    // Inside, it is all there.
    EXPECT_EQ(*tx->head(), 1u);
    EXPECT_TRUE(tx->user("p1")->has_value());
  }  // no commit
  auto tx = read(*store);
  EXPECT_EQ(*tx->head(), 0u);
  EXPECT_TRUE(tx->users()->empty());
  EXPECT_FALSE(*tx->unit_exists("731101"));
  EXPECT_TRUE(tx->audit_records()->empty());
  EXPECT_TRUE(tx->visible_forms("731101")->empty());
  EXPECT_EQ(*tx->directory_version(), directory);
  tx.reset();
  // And the writer is free again.
  auto next = store->begin_write();
  ASSERT_TRUE(next.is_ok()) << next.status().to_string();
}

TEST_F(StoreTest, AReaderKeepsOneSnapshotWhileAWriterCommits) {
  auto store = fresh_store("snapshot.db");
  auto r = read(*store);
  ASSERT_FALSE(*r->unit_exists("731101"));
  {
    auto w = write(*store);
    ASSERT_TRUE(w->add_unit({"731101", "竞秀区科协", UnitLevel::kDistrict, "", ""}).is_ok());
    ASSERT_TRUE(w->commit().is_ok());
  }
  EXPECT_FALSE(*r->unit_exists("731101"));
  EXPECT_EQ(*r->directory_version(), 1);
  r.reset();
  EXPECT_TRUE(*read(*store)->unit_exists("731101"));
}

// store.h: readers "see the last committed state as of their begin_read()".
TEST_F(StoreTest, AReaderSeesTheStateAsOfItsBeginRead) {
  auto store = fresh_store("snapshot-begin.db");
  auto r = read(*store);  // nothing read yet
  {
    auto w = write(*store);
    ASSERT_TRUE(w->add_unit({"731101", "竞秀区科协", UnitLevel::kDistrict, "", ""}).is_ok());
    ASSERT_TRUE(w->commit().is_ok());
  }
  EXPECT_FALSE(*r->unit_exists("731101"))
      << "BUG (server/store/src/sqlite_store.cpp, begin_read -> sqlite::Transaction kDeferred): a read transaction "
         "sees a commit made after its begin_read(); BEGIN DEFERRED takes SQLite's snapshot at the first read, not "
         "at begin_read() as store.h guarantee 2 says";
}

TEST_F(StoreTest, ACommittedAuditRecordLinksToTheLastOne) {
  auto store = fresh_store("audit.db");
  for (int i = 0; i < 3; ++i) {
    auto tx = write(*store);
    auto rec = tx->append_audit(workflow::administration_event(clock_.now(), "admin", "u" + std::to_string(i), "user_add"));
    ASSERT_TRUE(rec.is_ok());
    EXPECT_EQ(rec->seq, static_cast<std::uint64_t>(i));
    ASSERT_TRUE(tx->commit().is_ok());
  }
  auto records = read(*store)->audit_records();
  ASSERT_TRUE(records.is_ok());
  ASSERT_EQ(records->size(), 3u);
  EXPECT_EQ(records->at(1).prev_hash, records->at(0).hash);
  EXPECT_TRUE(workflow::verify_audit_chain(*records).ok());
}

// Waits for a second writer that must not start before the first ends.
// Shared state lives in a shared_ptr so a stuck thread can be detached.
struct SecondWriter {
  std::atomic<bool> began{false};
  std::atomic<bool> first_done{false};
  std::promise<void> finished;
  bool ok = false;
  bool began_after_first = false;
  bool saw_first_unit = false;
  std::string error;
};

void run_second_writer(std::shared_ptr<SecondWriter> w, std::shared_ptr<Store> store) {
  auto tx = store->begin_write();
  w->began_after_first = w->first_done.load();
  w->began = true;
  w->ok = tx.is_ok();
  if (tx.is_ok()) {
    auto seen = (*tx)->unit_exists("731101");
    w->saw_first_unit = seen.is_ok() && *seen;
  } else {
    w->error = tx.status().to_string();
  }
  w->finished.set_value();
}

void expect_second_writer_waits(Store& first_store, std::shared_ptr<Store> second_store) {
  auto first = first_store.begin_write();
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  ASSERT_TRUE((*first)->add_unit({"731101", "竞秀区科协", UnitLevel::kDistrict, "", ""}).is_ok());
  auto w = std::make_shared<SecondWriter>();
  auto finished = w->finished.get_future();
  std::thread t(run_second_writer, w, second_store);
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(w->began.load()) << "a second writer began while the first was open";
  w->first_done = true;
  ASSERT_TRUE((*first)->commit().is_ok());
  first->reset();
  if (finished.wait_for(5s) != std::future_status::ready) {
    t.detach();
    FAIL() << "the second writer did not begin within 5 s of the first's commit";
  }
  t.join();
  EXPECT_TRUE(w->ok) << w->error;
  EXPECT_TRUE(w->began_after_first);
  EXPECT_TRUE(w->saw_first_unit);
}

TEST_F(StoreTest, ASecondWriterInTheSameProcessWaitsUntilTheFirstCommits) {
  std::shared_ptr<Store> store = fresh_store("writers.db");
  expect_second_writer_waits(*store, store);
}

TEST_F(StoreTest, AWriterOfAnotherConnectionWaitsUntilTheFirstCommits) {
  auto first = fresh_store("writers2.db");
  std::shared_ptr<Store> second = open_ok(file("writers2.db"), options());
  expect_second_writer_waits(*first, second);
}

TEST_F(StoreTest, AWriterBlockedLongerThanTheBusyTimeoutIsToldToRetry) {
  auto store = fresh_store("blocked.db", 100);
  sqlite::Database holder = raw_open(file("blocked.db"));
  ASSERT_TRUE(holder.exec("BEGIN IMMEDIATE").is_ok());
  auto tx = store->begin_write();
  ASSERT_FALSE(tx.is_ok());
  EXPECT_EQ(tx.status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(sqlite::is_busy(tx.status())) << tx.status().to_string();
  // Readers do not wait.
  auto r = store->begin_read();
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(*(*r)->head(), 0u);
  r->reset();
  ASSERT_TRUE(holder.exec("ROLLBACK").is_ok());
  EXPECT_TRUE(store->begin_write().is_ok());
}

TEST_F(StoreTest, ARoundIdIsStoredOnce) {
  auto store = fresh_store("rounds.db");
  workflow::Round round;
  round.spec.round_id = "round-2021";
  round.spec.fiscal_year = 2021;
  round.spec.notice_number = "保财预[2021]4号";
  round.spec.deadline = workflow::utc_time(2022, 3, 31, 17, 0);
  round.spec.requirements = {{"731101", {"project_target"}}};
  round.finance_bureau = "F001";
  round.opened_by = "f1";
  auto tx = write(*store);
  ASSERT_TRUE(tx->put_round(round).is_ok());
  const Status again = tx->put_round(round);
  EXPECT_EQ(again.code(), StatusCode::kConflict);
  EXPECT_TRUE(sqlite::is_unique_violation(again));
  ASSERT_TRUE(tx->commit().is_ok());
  tx.reset();
  auto rounds = read(*store)->rounds("F001");
  ASSERT_TRUE(rounds.is_ok());
  ASSERT_EQ(rounds->size(), 1u);
  EXPECT_EQ(rounds->at(0), round);
  EXPECT_TRUE(read(*store)->rounds("F999")->empty());
}

// ---- the accounts read the store's errors right ------------------------------------------

TEST_F(StoreTest, AddingAnExistingLoginSaysItExistsButABusyDatabaseSaysRetry) {
  const fs::path p = file("accounts.db");
  SqliteStoreOptions o = options(true);
  o.busy_timeout_ms = 100;
  auto store = open_ok(p, std::move(o));
  server::AccountsConfig config;
  config.hashing.ops_limit = crypto_pwhash_OPSLIMIT_MIN;
  config.hashing.mem_limit = crypto_pwhash_MEMLIMIT_MIN;
  auto accounts = server::AccountStore::open(*store, clock_, config, {});
  ASSERT_TRUE(accounts.is_ok()) << accounts.status().to_string();
  ASSERT_TRUE((*accounts)
                  ->import_units_csv("code,name,level,parent,finance_bureau\n"
                                     "F001,保定市财政局,财政局,,\n"
                                     "731002,保定市科学技术协会,市级,,F001\n"
                                     "731101,竞秀区科协,区县级,731002,F001\n")
                  .is_ok());
  const User p1{"p1", "张三", "731101", {Role::kPreparer}, false};
  ASSERT_TRUE((*accounts)->add_user(p1, "zhang2022abc").is_ok());

  const Status exists = (*accounts)->add_user(p1, "zhang2022abc");
  ASSERT_FALSE(exists.is_ok());
  EXPECT_EQ(exists.reason(), static_cast<std::uint16_t>(server::AccountReason::kUserExists));
  EXPECT_NE(exists.message().find("已存在"), std::string::npos) << exists.message();

  // Another connection (a second server process, a tool) holds the write lock.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open_v2(p.string().c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  const User p2{"p2", "李四", "731101", {Role::kPreparer}, false};
  for (const User& u : {p1, p2}) {
    const Status busy = (*accounts)->add_user(u, "li2022abcd");
    ASSERT_FALSE(busy.is_ok()) << u.id;
    EXPECT_EQ(busy.code(), StatusCode::kUnavailable) << u.id << ": " << busy.to_string();
    EXPECT_TRUE(sqlite::is_busy(busy)) << u.id << ": " << busy.to_string();
    EXPECT_NE(busy.reason(), static_cast<std::uint16_t>(server::AccountReason::kUserExists)) << u.id;
    EXPECT_EQ(busy.message().find("已存在"), std::string::npos) << u.id << ": " << busy.message();
  }
  ASSERT_EQ(sqlite3_exec(raw, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);

  // A constraint other than the key fails the INSERT itself: still not "exists".
  ASSERT_EQ(sqlite3_exec(raw,
                         "CREATE TRIGGER no_more_users BEFORE INSERT ON users BEGIN SELECT RAISE(ABORT, 'closed'); END",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  const Status refused = (*accounts)->add_user(p2, "li2022abcd");
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.code(), StatusCode::kConflict) << refused.to_string();
  EXPECT_FALSE(sqlite::is_unique_violation(refused));
  EXPECT_NE(refused.reason(), static_cast<std::uint16_t>(server::AccountReason::kUserExists));
  EXPECT_EQ(refused.message().find("已存在"), std::string::npos) << refused.message();
  ASSERT_EQ(sqlite3_exec(raw, "DROP TRIGGER no_more_users", nullptr, nullptr, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_close(raw), SQLITE_OK);

  // Retried, it goes through.
  const Status retried = (*accounts)->add_user(p2, "li2022abcd");
  EXPECT_TRUE(retried.is_ok()) << retried.to_string();
  auto users = read(*store)->users();
  ASSERT_TRUE(users.is_ok());
  EXPECT_EQ(users->size(), 2u);
}

}  // namespace
}  // namespace jixiao::store
