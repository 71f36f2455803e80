// The server side of sync, driven with hand-made operations: sequence
// numbers, idempotency, the workflow's say over edits, visibility by unit,
// pagination, and the audit chain written beside every change.
#include <gtest/gtest.h>

#include <filesystem>

#include "jixiao/common/form_codec.h"
#include "jixiao/common/uuid.h"
#include "jixiao/sync/merge.h"
#include "jixiao/service/sync_service.h"
#include "jixiao/workflow/audit_log.h"
#include "jixiao/workflow/refusal.h"

namespace jixiao::sync {
namespace {

using workflow::Action;

class SyncServerTest : public ::testing::Test {
 protected:
  SyncServerTest() : clock_(workflow::utc_time(2022, 1, 10, 9, 0)), hlc_(clock_) {}

  void SetUp() override {
    ASSERT_TRUE(templates_.load_directory(JIXIAO_TEMPLATE_DIR).is_ok());
    Organisation& org = directory_.organisation;
    ASSERT_TRUE(org.add_unit({"F001", "保定市财政局", UnitLevel::kFinanceBureau, "", ""}).is_ok());
    ASSERT_TRUE(org.add_unit({"731002", "保定市科学技术协会", UnitLevel::kCity, "", "F001"}).is_ok());
    ASSERT_TRUE(org.add_unit({"731101", "竞秀区科协", UnitLevel::kDistrict, "731002", "F001"}).is_ok());
    ASSERT_TRUE(org.add_unit({"731102", "莲池区科协", UnitLevel::kDistrict, "731002", "F001"}).is_ok());
    add_user("p1", "731101", Role::kPreparer);
    add_user("p2", "731101", Role::kPreparer);
    add_user("r1", "731101", Role::kUnitReviewer);
    add_user("p3", "731102", Role::kPreparer);
    add_user("c1", "731002", Role::kSupervisor);
    add_user("f1", "F001", Role::kFinanceReviewer);
    std::vector<workflow::WorkflowDefinition> defs;
    for (const char* name : {"district-default.json", "city-default.json"}) {
      auto def = workflow::load_workflow_definition(std::string(JIXIAO_SOURCE_DIR) + "/workflow/definitions/" + name);
      ASSERT_TRUE(def.is_ok()) << def.status().to_string();
      defs.push_back(std::move(*def));
    }
    auto server = server::SyncService::open_seeded(":memory:", directory_, templates_, std::move(defs), clock_);
    ASSERT_TRUE(server.is_ok()) << server.status().to_string();
    server_ = std::move(*server);
  }

  // Before the server opens: into the directory it is seeded with; after:
  // into its store, as an administrator would (the directory is live).
  void add_user(const std::string& id, const std::string& unit, Role role) {
    const User u{id, id, unit, {role}, false};
    directory_.users[id] = u;
    if (!server_) return;
    auto tx = server_->store().begin_write();
    ASSERT_TRUE(tx.is_ok()) << tx.status().to_string();
    ASSERT_TRUE((*tx)->add_user(u, server::kNoPassword).is_ok());
    ASSERT_TRUE((*tx)->commit().is_ok());
  }

  Operation op(const std::string& user, const FormId& form, OpPayload payload, ServerSeq base = 0) {
    return Operation{new_uuid_v4(), form, user, "dev-" + user, hlc_.now(), base, std::move(payload)};
  }

  SyncResponse send(const std::string& user, std::vector<Operation> ops, ServerSeq cursor = 0,
                    std::uint32_t max_bytes = kMaxPayloadBytes) {
    SyncRequest req{next_request_++, "dev-" + user, user, cursor, std::move(ops), max_bytes};
    auto r = server_->handle(req, {user, "dev-" + user});
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    return r.is_ok() ? *r : SyncResponse{};
  }

  // Creates a small project form in 731101 (10 万元: below the meeting threshold).
  FormId create_form(const std::string& user = "p1") {
    const FormId id = new_uuid_v4();
    const SyncResponse r =
        send(user, {op(user, id, CreateForm{{"project_self_eval_row_points", 1}, "731101", "竞秀区科协", 2021,
                                            MoneyUnit::kWanYuan})});
    EXPECT_GT(r.results.at(0).seq, 0u) << r.results.at(0).message;
    return id;
  }

  SetCell set(const std::string& field, const std::string& text) {
    return SetCell{CellRef::field(field), CellValue::of_text(text), {}};
  }

  std::string hash_of(const FormId& id) { return form_content_hash(server_->replica(id)->form); }

  workflow::ManualClock clock_;
  HybridClock hlc_;
  TemplateRegistry templates_;
  server::Directory directory_;
  std::unique_ptr<server::SyncService> server_;
  std::uint64_t next_request_ = 1;
};

TEST_F(SyncServerTest, AcceptedOperationsGetConsecutiveSequenceNumbers) {
  const FormId id = create_form();
  const SyncResponse r = send("p1", {op("p1", id, set("project_name", "科普经费")), op("p1", id, set("department", "市科协"))});
  ASSERT_EQ(r.results.size(), 2u);
  EXPECT_EQ(r.results[0].seq, 2u);
  EXPECT_EQ(r.results[1].seq, 3u);
  EXPECT_EQ(server_->head(), 3u);
  EXPECT_EQ(server_->replica(id)->form.field("project_name").text, "科普经费");
}

// The answer to a push leaves out the pusher's own entries whose effects are
// just its operations (it rebuilds them), and sends every entry a merge
// changed, and everyone else's.
TEST_F(SyncServerTest, TheAnswerLeavesOutOnlyThePushersOwnUnchangedEntries) {
  const FormId id = create_form();  // seq 1
  const SyncResponse base = send("p1", {op("p1", id, set("goal_expected", "第一行\n第二行"))}, 1);
  ASSERT_EQ(base.results.at(0).seq, 2u);
  EXPECT_TRUE(base.entries.empty());
  EXPECT_EQ(base.cursor, 2u);

  // p1 rewrites line 1; p2, from the same base, line 2: the server merges p2's.
  const Operation mine = op("p1", id, SetCell{CellRef::field("goal_expected"), CellValue::of_text("第一行改\n第二行"),
                                              CellValue::of_text("第一行\n第二行")});
  const SyncResponse r1 = send("p1", {mine}, 2);
  ASSERT_EQ(r1.results.at(0).seq, 3u);
  EXPECT_TRUE(r1.entries.empty());

  const Operation theirs = op("p2", id, SetCell{CellRef::field("goal_expected"), CellValue::of_text("第一行\n第二行改"),
                                                CellValue::of_text("第一行\n第二行")});
  const Operation plain = op("p2", id, set("department", "科普部"));
  const SyncResponse r2 = send("p2", {theirs, plain}, 2);
  ASSERT_EQ(r2.results.at(0).seq, 4u);
  ASSERT_EQ(r2.results.at(1).seq, 5u);
  ASSERT_EQ(r2.entries.size(), 2u);  // p1's entry 3 and p2's merged entry 4; not 5
  EXPECT_EQ(r2.entries[0].op_id, mine.id);
  EXPECT_EQ(r2.entries[1].op_id, theirs.id);
  EXPECT_EQ(std::get<CellWritten>(r2.entries[1].effects.at(0)).value.text, "第一行改\n第二行改");
  EXPECT_EQ(r2.cursor, 5u);

  // A reader that pushes nothing gets every entry after its cursor, own or not.
  const SyncResponse reader = send("p1", {}, 1);
  EXPECT_EQ(reader.entries.size(), 4u);
}

TEST_F(SyncServerTest, ReplayingAnOperationChangesNothingAndGetsTheSameAnswer) {
  const FormId id = create_form();
  const Operation edit = op("p1", id, set("project_name", "科普经费"));
  const SyncResponse first = send("p1", {edit});
  const std::string before = replica_hash(*server_->replica(id));
  const SyncResponse again = send("p1", {edit, edit});
  EXPECT_EQ(again.results.at(0), first.results.at(0));
  EXPECT_EQ(again.results.at(1), first.results.at(0));
  EXPECT_EQ(server_->head(), 2u);
  EXPECT_EQ(replica_hash(*server_->replica(id)), before);
}

TEST_F(SyncServerTest, AnOperationIdReusedForOtherContentIsRefused) {
  const FormId id = create_form();
  Operation edit = op("p1", id, set("project_name", "科普经费"));
  send("p1", {edit});
  edit.payload = set("project_name", "别的内容");
  const SyncResponse r = send("p1", {edit});
  EXPECT_EQ(r.results.at(0).seq, 0u);
  EXPECT_EQ(r.results.at(0).reason, static_cast<std::uint16_t>(SyncReason::kOpIdReused));
  EXPECT_EQ(server_->replica(id)->form.field("project_name").text, "科普经费");
}

TEST_F(SyncServerTest, AnOperationSignedAsAnotherUserIsRefused) {
  const FormId id = create_form();
  Operation forged = op("p2", id, set("project_name", "冒名"));
  const SyncResponse r = send("p1", {forged});
  EXPECT_EQ(r.results.at(0).seq, 0u);
  EXPECT_EQ(r.results.at(0).reason, static_cast<std::uint16_t>(SyncReason::kNotAuthorOfDevice));
}

TEST_F(SyncServerTest, ARequestFromAnotherDeviceThanTheSessionIsAnError) {
  SyncRequest req{1, "dev-other", "p1", 0, {}, kMaxPayloadBytes};
  auto r = server_->handle(req, {"p1", "dev-p1"});
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().reason(), static_cast<std::uint16_t>(SyncReason::kNotAuthorOfDevice));
}

TEST_F(SyncServerTest, FormsOfAnotherUnitAreOutOfReach) {
  const FormId id = create_form();
  const SyncResponse r = send("p3", {op("p3", id, set("project_name", "越权"))});
  EXPECT_EQ(r.results.at(0).seq, 0u);
  EXPECT_EQ(r.results.at(0).code, StatusCode::kPermissionDenied);
  EXPECT_TRUE(send("p3", {}).entries.empty());
}

TEST_F(SyncServerTest, EditsAfterSubmissionAreRejectedWithTheWorkflowsReason) {
  const FormId id = create_form();
  const SyncResponse submitted =
      send("p1", {op("p1", id, WorkflowAction{Action::kSubmit, 0, hash_of(id), {}, {}, {}})});
  ASSERT_GT(submitted.results.at(0).seq, 0u) << submitted.results.at(0).message;
  const SyncResponse r = send("p2", {op("p2", id, set("project_name", "提交后修改"))});
  EXPECT_EQ(r.results.at(0).seq, 0u);
  EXPECT_EQ(r.results.at(0).reason, static_cast<std::uint16_t>(workflow::Refusal::kNotEditableInState));
  EXPECT_NE(r.results.at(0).message.find("只有草稿或被退回的表单可以修改"), std::string::npos) << r.results.at(0).message;
}

TEST_F(SyncServerTest, SubmittingAVersionOtherThanTheServersIsStale) {
  const FormId id = create_form();
  const std::string seen = hash_of(id);
  send("p2", {op("p2", id, set("project_name", "同事的修改"))});
  const SyncResponse r = send("p1", {op("p1", id, WorkflowAction{Action::kSubmit, 0, seen, {}, {}, {}})});
  EXPECT_EQ(r.results.at(0).seq, 0u);
  EXPECT_EQ(r.results.at(0).reason, static_cast<std::uint16_t>(workflow::Refusal::kStaleContent));
}

TEST_F(SyncServerTest, AColleagueInTheSameUnitReceivesTheFormAndItsEdits) {
  const FormId id = create_form();
  send("p1", {op("p1", id, set("project_name", "科普经费"))});
  const SyncResponse r = send("p2", {}, 0);
  ASSERT_EQ(r.snapshots.size(), 1u);
  EXPECT_EQ(r.snapshots[0].replica.form.field("project_name").text, "科普经费");
  EXPECT_EQ(r.cursor, server_->head());
  EXPECT_FALSE(r.more);
  // From that cursor on, only what is new.
  send("p1", {op("p1", id, set("department", "市科协"))});
  const SyncResponse next = send("p2", {}, r.cursor);
  EXPECT_TRUE(next.snapshots.empty());
  ASSERT_EQ(next.entries.size(), 1u);
  EXPECT_EQ(next.entries[0].seq, 3u);
}

TEST_F(SyncServerTest, TheCityAndTheBureauSeeADistrictFormOnlyOnceItReachesThem) {
  const FormId id = create_form();
  auto budget = Money::parse("10", MoneyUnit::kWanYuan);
  send("p1", {op("p1", id, SetCell{CellRef{"funds", "total", "full_year_budget"}, CellValue::of_money(*budget), {}})});
  EXPECT_TRUE(server_->visible_replica_hashes("c1").empty());
  send("p1", {op("p1", id, WorkflowAction{Action::kSubmit, 0, hash_of(id), {}, {}, {}})});
  EXPECT_TRUE(server_->visible_replica_hashes("c1").empty());  // at 单位审核
  // 10 万元 ≥ 2 万元: the meeting stages apply; approve them all in order.
  const auto approve = [&](const std::string& user, std::uint64_t version,
                           std::optional<workflow::MeetingEvidence> evidence = std::nullopt) {
    const SyncResponse r =
        send(user, {op(user, id, WorkflowAction{Action::kApprove, version, hash_of(id), {}, {}, evidence})});
    return r.results.at(0);
  };
  add_user("m1", "731101", Role::kMeetingSecretary);
  add_user("m2", "731101", Role::kMeetingSecretary);
  ASSERT_GT(approve("r1", 1).seq, 0u);
  workflow::MeetingEvidence chair{"主席会", "2022-01-05", "第3次主席会", "纪要〔2022〕1号", "同意", {}};
  workflow::MeetingEvidence party{"党组会", "2022-01-07", "第15次党组会", "纪要〔2022〕2号", "同意", {}};
  const OpResult chair_result = approve("m1", 2, chair);
  ASSERT_GT(chair_result.seq, 0u) << chair_result.message;
  const OpResult party_result = approve("m2", 3, party);
  ASSERT_GT(party_result.seq, 0u) << party_result.message;
  // Now at 上级审核: the city sees it (as a snapshot), the bureau does not yet.
  EXPECT_EQ(server_->visible_replica_hashes("c1").size(), 1u);
  EXPECT_TRUE(server_->visible_replica_hashes("f1").empty());
  const SyncResponse city = send("c1", {}, 0);
  ASSERT_EQ(city.snapshots.size(), 1u);
  EXPECT_EQ(city.snapshots[0].replica.workflow.stage_id, "supervisor_review");
  ASSERT_GT(approve("c1", 4).seq, 0u);
  EXPECT_EQ(server_->visible_replica_hashes("f1").size(), 1u);
  // The other district never sees it.
  EXPECT_TRUE(server_->visible_replica_hashes("p3").empty());
}

// The directory is live: disabling a user in the store (another process, an
// administrator) refuses that user's next request, while what the user's
// unit can see stays visible to the colleagues.
TEST_F(SyncServerTest, AUserDisabledInTheStoreIsRefusedAtTheNextRequestAndTheFormsStayVisible) {
  const FormId id = create_form("p1");
  EXPECT_EQ(server_->visible_replica_hashes("p2").count(id), 1u);
  {
    auto tx = server_->store().begin_write();
    ASSERT_TRUE(tx.is_ok());
    auto found = (*tx)->set_user_disabled("p1", true);
    ASSERT_TRUE(found.is_ok() && *found);
    ASSERT_TRUE((*tx)->commit().is_ok());
  }
  SyncRequest req{next_request_++, "dev-p1", "p1", 0, {}, kMaxPayloadBytes};
  auto refused = server_->handle(req, {"p1", "dev-p1"});
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(refused.status().message(), "账号不存在或已停用");
  EXPECT_EQ(server_->visible_replica_hashes("p2").count(id), 1u);
  const SyncResponse colleague = send("p2", {}, 0);
  ASSERT_EQ(colleague.snapshots.size(), 1u);
  EXPECT_EQ(colleague.snapshots[0].replica.form.id, id);
}

// A role taken away in the store counts at the next request.
TEST_F(SyncServerTest, ARoleChangedInTheStoreCountsAtTheNextRequest) {
  const FormId id = create_form("p2");
  {
    auto tx = server_->store().begin_write();
    ASSERT_TRUE(tx.is_ok());
    auto found = (*tx)->set_user_roles("p2", {Role::kUnitReviewer});
    ASSERT_TRUE(found.is_ok() && *found);
    ASSERT_TRUE((*tx)->commit().is_ok());
  }
  const SyncResponse r = send("p2", {op("p2", id, set("project_name", "改名"))});
  ASSERT_EQ(r.results.size(), 1u);
  EXPECT_EQ(r.results[0].seq, 0u);
  EXPECT_EQ(r.results[0].reason, static_cast<std::uint16_t>(workflow::Refusal::kEditNotPermitted)) << r.results[0].message;
}

TEST_F(SyncServerTest, ALargeBacklogComesInPagesThatResumeAtTheCursor) {
  const FormId id = create_form();
  std::vector<Operation> ops;
  const std::string text(2000, 'x');
  for (int i = 0; i < 50; ++i) ops.push_back(op("p1", id, set("narr_basic", text + std::to_string(i))));
  send("p1", ops);
  ServerSeq cursor = 0;
  int pages = 0;
  std::size_t snapshots = 0;
  std::size_t entries = 0;
  FormReplica replica;
  for (bool more = true; more && pages < 100; ++pages) {
    const SyncResponse r = send("p2", {}, cursor, 16 * 1024);
    for (const auto& s : r.snapshots) replica = s.replica;
    for (const auto& e : r.entries) apply_entry(replica, e);
    snapshots += r.snapshots.size();
    entries += r.entries.size();
    EXPECT_GE(r.cursor, cursor);
    cursor = r.cursor;
    more = r.more;
  }
  EXPECT_EQ(snapshots, 1u);
  EXPECT_EQ(cursor, server_->head());
  EXPECT_EQ(replica_hash(replica), replica_hash(*server_->replica(id)));
}

TEST_F(SyncServerTest, EveryChangeAndRefusalIsInAnIntactAuditChain) {
  const FormId id = create_form();
  send("p1", {op("p1", id, set("project_name", "科普经费"))});
  send("p3", {op("p3", id, set("project_name", "越权"))});
  const auto records = server_->audit_records();
  ASSERT_GE(records.size(), 3u);
  const auto verdict = workflow::verify_audit_chain(records);
  EXPECT_TRUE(verdict.ok()) << verdict.status.to_string();
  bool saw_change = false;
  bool saw_refusal = false;
  for (const auto& r : records) {
    if (r.event.kind == workflow::AuditKind::kContentChange && r.event.actor == "p1" &&
        r.event.field("new") != nullptr && *r.event.field("new") == "科普经费") {
      saw_change = true;
    }
    if (r.event.kind == workflow::AuditKind::kRefusal && r.event.actor == "p3") saw_refusal = true;
  }
  EXPECT_TRUE(saw_change);
  EXPECT_TRUE(saw_refusal);
}

TEST_F(SyncServerTest, StateSurvivesReopeningTheDatabase) {
  const auto path = std::filesystem::temp_directory_path() / ("jixiao-server-" + new_uuid_v4() + ".db");
  std::vector<workflow::WorkflowDefinition> defs;
  for (const char* name : {"district-default.json", "city-default.json"}) {
    defs.push_back(*workflow::load_workflow_definition(std::string(JIXIAO_SOURCE_DIR) + "/workflow/definitions/" + name));
  }
  FormId id = new_uuid_v4();
  {
    auto server = server::SyncService::open_seeded(path.string(), directory_, templates_, defs, clock_);
    ASSERT_TRUE(server.is_ok());
    SyncRequest req{1, "dev-p1", "p1", 0,
                    {op("p1", id, CreateForm{{"project_target", 1}, "731101", "竞秀区科协", 2021, MoneyUnit::kWanYuan}),
                     op("p1", id, set("project_name", "科普经费"))},
                    kMaxPayloadBytes};
    ASSERT_TRUE((*server)->handle(req, {"p1", "dev-p1"}).is_ok());
  }
  auto again = server::SyncService::open_seeded(path.string(), directory_, templates_, defs, clock_);
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ((*again)->head(), 2u);
  EXPECT_EQ((*again)->replica(id)->form.field("project_name").text, "科普经费");
  EXPECT_TRUE(workflow::verify_audit_chain((*again)->audit_records()).ok());
  std::filesystem::remove(path);
  std::filesystem::remove(path.string() + "-wal");
  std::filesystem::remove(path.string() + "-shm");
}

}  // namespace
}  // namespace jixiao::sync

namespace jixiao::sync {
namespace {

TEST_F(SyncServerTest, TheBureauOpensARoundAndSeesWhereEveryUnitStands) {
  workflow::RoundSpec spec;
  spec.round_id = "round-2021";
  spec.fiscal_year = 2021;
  spec.notice_number = "保财预[2021]4号";
  spec.deadline = workflow::utc_time(2022, 3, 31, 17, 0);
  spec.requirements = {{"731101", {"project_self_eval_row_points"}}, {"731102", {"project_self_eval_row_points"}}};
  const SyncResponse opened = send("f1", {op("f1", spec.round_id, OpenRound{spec})});
  ASSERT_GT(opened.results.at(0).seq, 0u) << opened.results.at(0).message;
  // A preparer cannot open one.
  spec.round_id = "round-forged";
  const SyncResponse forged = send("p1", {op("p1", spec.round_id, OpenRound{spec})});
  EXPECT_EQ(forged.results.at(0).seq, 0u);
  EXPECT_EQ(forged.results.at(0).code, StatusCode::kPermissionDenied);

  const FormId id = create_form();  // 731101, 2021: answers the round
  EXPECT_EQ(server_->replica(id)->workflow.round_id, "round-2021");
  SyncResponse bureau = send("f1", {});
  ASSERT_EQ(bureau.rounds.size(), 1u);
  EXPECT_EQ(bureau.rounds[0].round.spec.notice_number, "保财预[2021]4号");
  std::map<std::string, workflow::ProgressKind> by_unit;
  for (const auto& p : bureau.rounds[0].progress) by_unit[p.unit] = p.kind;
  EXPECT_EQ(by_unit.at("731101"), workflow::ProgressKind::kDraft);
  EXPECT_EQ(by_unit.at("731102"), workflow::ProgressKind::kNotStarted);
  // Past the deadline, both are overdue; districts get no round reports.
  clock_.set(workflow::utc_time(2022, 4, 1, 9, 0));
  bureau = send("f1", {});
  for (const auto& p : bureau.rounds.at(0).progress) EXPECT_TRUE(p.overdue) << p.unit;
  EXPECT_TRUE(send("p1", {}).rounds.empty());
  // The city sees its districts' lines.
  EXPECT_EQ(send("c1", {}).rounds.at(0).progress.size(), 2u);
}

// A disabled user who alone held a stage leaves it held by nobody: the
// bureau's round progress says 待重新指派 for that form until someone of the
// role is enabled again. Read from the index columns and the live directory.
TEST_F(SyncServerTest, AFormWhoseOnlyReviewerIsDisabledShowsAsAwaitingReassignment) {
  workflow::RoundSpec spec;
  spec.round_id = "round-2021";
  spec.fiscal_year = 2021;
  spec.notice_number = "保财预[2021]4号";
  spec.deadline = workflow::utc_time(2022, 3, 31, 17, 0);
  spec.requirements = {{"731101", {"project_self_eval_row_points"}}};
  ASSERT_GT(send("f1", {op("f1", spec.round_id, OpenRound{spec})}).results.at(0).seq, 0u);
  const FormId id = create_form();
  ASSERT_GT(send("p1", {op("p1", id, WorkflowAction{Action::kSubmit, 0, hash_of(id), {}, {}, {}})}).results.at(0).seq, 0u);
  const auto progress = [&] {
    const SyncResponse bureau = send("f1", {});
    EXPECT_EQ(bureau.rounds.size(), 1u);
    return bureau.rounds.empty() ? workflow::FormProgress{} : bureau.rounds[0].progress.at(0);
  };
  workflow::FormProgress p = progress();
  EXPECT_EQ(p.kind, workflow::ProgressKind::kInReview);
  ASSERT_TRUE(p.holder.has_value());
  EXPECT_EQ(p.holder->role, Role::kUnitReviewer);
  EXPECT_FALSE(p.unassigned);

  const auto set_disabled = [&](bool disabled) {
    auto tx = server_->store().begin_write();
    ASSERT_TRUE(tx.is_ok());
    ASSERT_TRUE((*tx)->set_user_disabled("r1", disabled).is_ok());
    ASSERT_TRUE((*tx)->commit().is_ok());
  };
  set_disabled(true);  // r1 is 731101's only unit reviewer
  p = progress();
  EXPECT_TRUE(p.unassigned);
  EXPECT_NE(p.describe().find("待重新指派"), std::string::npos) << p.describe();
  set_disabled(false);
  EXPECT_FALSE(progress().unassigned);
}

}  // namespace
}  // namespace jixiao::sync

namespace jixiao::sync {
namespace {

TEST_F(SyncServerTest, AFormForAnotherUnitThanTheSessionsIsRefused) {
  const FormId id = new_uuid_v4();
  const SyncResponse r = send(
      "p1", {op("p1", id, CreateForm{{"project_self_eval_row_points", 1}, "731102", "莲池区科协", 2021, MoneyUnit::kWanYuan})});
  EXPECT_EQ(r.results.at(0).seq, 0u);
  EXPECT_EQ(r.results.at(0).code, StatusCode::kPermissionDenied);
  EXPECT_EQ(r.results.at(0).reason, static_cast<std::uint16_t>(SyncReason::kOutOfScope));
  EXPECT_EQ(r.results.at(0).message, "只能为本单位创建表单");
  EXPECT_FALSE(server_->replica(id).is_ok());
  // The refusal is in the audit chain.
  const auto records = server_->audit_records();
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records.back().event.kind, workflow::AuditKind::kRefusal);
  EXPECT_EQ(records.back().event.actor, "p1");
}

}  // namespace
}  // namespace jixiao::sync
