// The ceiling of the capacity benchmark: how many rows per second SQLite
// itself inserts on this disk into a table shaped like the server's log, with
// the server's PRAGMAs (WAL, synchronous=FULL, foreign_keys=ON), one
// BEGIN IMMEDIATE … COMMIT per batch, one prepared statement reused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace jixiao::bench {

struct CeilingResult {
  std::size_t batch = 0;       // rows per transaction
  std::size_t blob_bytes = 0;  // size of each row's entry blob
  std::uint64_t rows = 0;
  std::uint64_t transactions = 0;
  double seconds = 0;
  double rows_per_s = 0;
  double commit_p50_ms = 0;  // one whole transaction, BEGIN to COMMIT
  double commit_p99_ms = 0;
  std::uint64_t write_bytes = 0;  // written to the block layer meanwhile (/proc/self/io)
};

// Inserts for about `seconds` into a fresh database at `db_path` (deleted
// before and after, with its -wal and -shm). Form ids are drawn from
// `form_ids`. Throws std::runtime_error on any SQLite failure.
CeilingResult sqlite_ceiling(const std::filesystem::path& db_path, std::size_t batch, std::size_t blob_bytes,
                             const std::vector<std::string>& form_ids, double seconds, std::uint64_t seed);

}  // namespace jixiao::bench
