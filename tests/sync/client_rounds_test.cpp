// The client keeps the round reports of its last sync, across restarts, and
// queues the finance bureau's opening of a round like any operation.
#include <gtest/gtest.h>

#include <filesystem>

#include "jixiao/common/uuid.h"
#include "jixiao/sync/client_replica.h"

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

}  // namespace
}  // namespace jixiao::sync
