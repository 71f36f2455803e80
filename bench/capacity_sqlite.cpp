#include "capacity_sqlite.h"

#include "capacity_proc.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <stdexcept>

namespace jixiao::bench {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

void remove_db(const fs::path& p) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(p.string() + suffix, ec);
}

void exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string msg = err != nullptr ? err : sqlite3_errmsg(db);
    sqlite3_free(err);
    throw std::runtime_error(std::string("sqlite: ") + sql + ": " + msg);
  }
}

}  // namespace

CeilingResult sqlite_ceiling(const fs::path& db_path, std::size_t batch, std::size_t blob_bytes,
                             const std::vector<std::string>& form_ids, double seconds, std::uint64_t seed) {
  if (batch == 0 || form_ids.empty()) throw std::runtime_error("sqlite_ceiling: empty batch or no form ids");
  remove_db(db_path);
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    const std::string msg = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    throw std::runtime_error("sqlite open " + db_path.string() + ": " + msg);
  }
  struct Closer {
    sqlite3* db;
    ~Closer() { sqlite3_close(db); }
  } closer{db};
  sqlite3_busy_timeout(db, 5000);
  // Exactly the server's PRAGMAs (sync/src/sqlite_db.cpp, sync/src/sync_server.cpp).
  exec(db, "PRAGMA journal_mode=WAL");
  exec(db, "PRAGMA synchronous=FULL");
  exec(db, "PRAGMA foreign_keys=ON");
  // The server's log table and its index (sync/src/sync_server.cpp).
  exec(db, "CREATE TABLE log(seq INTEGER PRIMARY KEY, form_id TEXT NOT NULL, entry BLOB NOT NULL)");
  exec(db, "CREATE INDEX log_by_form ON log(form_id, seq)");

  sqlite3_stmt* ins = nullptr;
  if (sqlite3_prepare_v2(db, "INSERT INTO log(seq, form_id, entry) VALUES (?,?,?)", -1, &ins, nullptr) != SQLITE_OK) {
    throw std::runtime_error(std::string("sqlite prepare: ") + sqlite3_errmsg(db));
  }
  struct Finalizer {
    sqlite3_stmt* s;
    ~Finalizer() { sqlite3_finalize(s); }
  } finalizer{ins};

  std::mt19937_64 rng(seed);
  // Random bytes, drawn before the clock starts; each row takes a slice at
  // another offset (real entries differ; SQLite does not compress anyway).
  std::string pool(blob_bytes + (1u << 20), '\0');
  for (char& c : pool) c = static_cast<char>(rng());
  std::vector<double> commit_ms;
  CeilingResult r;
  r.batch = batch;
  r.blob_bytes = blob_bytes;
  std::int64_t seq = 0;
  const std::uint64_t written0 = proc_io(0, "write_bytes");
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  // Bounded: stops at `end` or after 50 million rows, whichever comes first.
  while (Clock::now() < end && r.rows < 50'000'000) {
    const auto t0 = Clock::now();
    exec(db, "BEGIN IMMEDIATE");
    for (std::size_t i = 0; i < batch; ++i) {
      const char* blob = pool.data() + rng() % (pool.size() - blob_bytes + 1);
      const std::string& form = form_ids[rng() % form_ids.size()];
      sqlite3_bind_int64(ins, 1, ++seq);
      sqlite3_bind_text(ins, 2, form.data(), static_cast<int>(form.size()), SQLITE_STATIC);
      sqlite3_bind_blob(ins, 3, blob, static_cast<int>(blob_bytes), SQLITE_STATIC);
      if (sqlite3_step(ins) != SQLITE_DONE) throw std::runtime_error(std::string("sqlite insert: ") + sqlite3_errmsg(db));
      sqlite3_reset(ins);
    }
    exec(db, "COMMIT");
    commit_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    r.rows += batch;
    ++r.transactions;
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  r.write_bytes = proc_io(0, "write_bytes") - written0;
  r.rows_per_s = r.seconds > 0 ? static_cast<double>(r.rows) / r.seconds : 0;
  if (!commit_ms.empty()) {
    std::sort(commit_ms.begin(), commit_ms.end());
    const auto at = [&](double q) {
      return commit_ms[std::min(commit_ms.size() - 1, static_cast<std::size_t>(q * static_cast<double>(commit_ms.size())))];
    };
    r.commit_p50_ms = at(0.50);
    r.commit_p99_ms = at(0.99);
  }
  sqlite3_finalize(ins);
  finalizer.s = nullptr;
  sqlite3_close(db);
  closer.db = nullptr;
  remove_db(db_path);
  return r;
}

}  // namespace jixiao::bench
