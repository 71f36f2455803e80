// The client keeps the round reports of its last sync, across restarts, and
// queues the finance bureau's opening of a round like any operation.
#include <gtest/gtest.h>

#include <sqlite3.h>

#include <filesystem>

#include "jixiao/common/uuid.h"
#include "jixiao/sync/client_replica.h"
#include "jixiao/sync/protocol.h"

namespace jixiao::sync {
namespace {

TEST(ClientRounds, ReportsOfTheLastSyncAreKeptAcrossRestarts) {
  TemplateRegistry templates;
  ASSERT_TRUE(templates.load_directory(JIXIAO_TEMPLATE_DIR).is_ok());
  workflow::ManualClock clock(workflow::utc_time(2022, 1, 10));
  const auto path = std::filesystem::temp_directory_path() / ("jixiao-rounds-" + new_uuid_v4() + ".db");
  ClientIdentity who{User{"f1", "财政局审核人", "F001", {Role::kFinanceReviewer}, false}, "dev-f1", "保定市财政局"};
  {
    auto replica = ClientReplica::open(path.string(), who, templates, clock);
    ASSERT_TRUE(replica.is_ok()) << replica.status().to_string();
    workflow::RoundSpec spec;
    spec.fiscal_year = 2021;
    spec.notice_number = "保财预[2021]4号";
    auto id = (*replica)->open_round(spec);
    ASSERT_TRUE(id.is_ok());
    const SyncRequest req = (*replica)->next_request(1);
    ASSERT_EQ(req.ops.size(), 1u);
    const auto* open = std::get_if<OpenRound>(&req.ops[0].payload);
    ASSERT_NE(open, nullptr);
    EXPECT_EQ(open->spec.round_id, *id);
    EXPECT_EQ(req.ops[0].form_id, *id);
    EXPECT_TRUE((*replica)->forms().empty());  // a round is not a form

    SyncResponse resp;
    resp.request_id = 1;
    resp.results.push_back(OpResult{req.ops[0].id, 1, StatusCode::kOk, 0, ""});
    resp.cursor = 1;
    RoundReport report;
    report.round.spec = open->spec;
    report.round.finance_bureau = "F001";
    workflow::FormProgress line;
    line.unit = "731101";
    line.form_kind = "project_self_eval_row_points";
    line.kind = workflow::ProgressKind::kReturned;
    line.return_count = 2;
    report.progress.push_back(line);
    resp.rounds.push_back(report);
    ASSERT_TRUE((*replica)->apply_response(req, resp).is_ok());
    EXPECT_TRUE((*replica)->pending().empty());
  }
  auto again = ClientReplica::open(path.string(), who, templates, clock);
  ASSERT_TRUE(again.is_ok());
  const auto rounds = (*again)->rounds();
  ASSERT_EQ(rounds.size(), 1u);
  EXPECT_EQ(rounds[0].round.spec.notice_number, "保财预[2021]4号");
  ASSERT_EQ(rounds[0].progress.size(), 1u);
  EXPECT_EQ(rounds[0].progress[0].kind, workflow::ProgressKind::kReturned);
  EXPECT_EQ(rounds[0].progress[0].return_count, 2u);
  again->reset();
  std::filesystem::remove(path);
  std::filesystem::remove(path.string() + "-wal");
  std::filesystem::remove(path.string() + "-shm");
}

// The cache of round reports records the capabilities it was written with:
// `unassigned` survives a restart, and a cache written by release 2 (no
// capabilities, no record of them) is still read.
TEST(ClientRounds, TheCacheKeepsUnassignedAndStillReadsARelease2Cache) {
  TemplateRegistry templates;
  ASSERT_TRUE(templates.load_directory(JIXIAO_TEMPLATE_DIR).is_ok());
  workflow::ManualClock clock(workflow::utc_time(2022, 1, 10));
  const auto path = std::filesystem::temp_directory_path() / ("jixiao-rounds-" + new_uuid_v4() + ".db");
  ClientIdentity who{User{"f1", "财政局审核人", "F001", {Role::kFinanceReviewer}, false}, "dev-f1", "保定市财政局"};
  RoundReport report;
  report.round.spec.round_id = "round-1";
  report.round.spec.notice_number = "保财预[2021]4号";
  report.round.finance_bureau = "F001";
  workflow::FormProgress line;
  line.unit = "731101";
  line.form_kind = "project_self_eval_row_points";
  line.kind = workflow::ProgressKind::kInReview;
  line.holder = workflow::Holder{"unit_review", "单位审核", Role::kUnitReviewer, "731101"};
  line.unassigned = true;
  report.progress.push_back(line);
  {
    auto replica = ClientReplica::open(path.string(), who, templates, clock);
    ASSERT_TRUE(replica.is_ok()) << replica.status().to_string();
    SyncResponse resp;
    resp.rounds.push_back(report);
    ASSERT_TRUE((*replica)->apply_response(SyncRequest{}, resp).is_ok());
  }
  {
    auto again = ClientReplica::open(path.string(), who, templates, clock);
    ASSERT_TRUE(again.is_ok());
    const auto rounds = (*again)->rounds();
    ASSERT_EQ(rounds.size(), 1u);
    EXPECT_EQ(rounds[0], report);
    EXPECT_TRUE(rounds[0].progress[0].unassigned);
  }
  // What release 2 left behind: its layout, and no rounds_caps.
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(SQLITE_OK, sqlite3_open(path.string().c_str(), &db));
    sqlite3_stmt* put = nullptr;
    ASSERT_EQ(SQLITE_OK, sqlite3_prepare_v2(db, "UPDATE meta SET value = ?1 WHERE key = 'rounds'", -1, &put, nullptr));
    // vector<RoundReport> in release 2's layout: the tail of a version-2
    // SyncResponse that has nothing else (u32 class version, u64 request
    // id, three empty vectors, u64 cursor, bool more, then the rounds).
    SyncResponse only_rounds;
    only_rounds.rounds.push_back(report);
    const std::string old_bytes =
        encode_message(only_rounds, WireOptions{2, {}}, Compression::kNone).substr(kEnvelopeBytes + 4 + 8 * 5 + 1);
    sqlite3_bind_blob(put, 1, old_bytes.data(), static_cast<int>(old_bytes.size()), SQLITE_TRANSIENT);
    EXPECT_EQ(SQLITE_DONE, sqlite3_step(put));
    sqlite3_finalize(put);
    EXPECT_EQ(SQLITE_OK, sqlite3_exec(db, "DELETE FROM meta WHERE key = 'rounds_caps'", nullptr, nullptr, nullptr));
    EXPECT_EQ(1, sqlite3_changes(db));
    sqlite3_close(db);
  }
  {
    auto again = ClientReplica::open(path.string(), who, templates, clock);
    ASSERT_TRUE(again.is_ok());
    const auto rounds = (*again)->rounds();
    ASSERT_EQ(rounds.size(), 1u);
    EXPECT_EQ(rounds[0].progress[0].holder, line.holder);
    EXPECT_FALSE(rounds[0].progress[0].unassigned);  // release 2 could not know
  }
  std::filesystem::remove(path);
  std::filesystem::remove(path.string() + "-wal");
  std::filesystem::remove(path.string() + "-shm");
}

}  // namespace
}  // namespace jixiao::sync
