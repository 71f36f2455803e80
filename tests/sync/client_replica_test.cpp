// The client's local replica (sync/client_replica.h), as specifications.
// Server answers are built by hand: a FormCreated effect from new_blank_form
// and a SubmissionState, then CellWritten / RowInserted / … effects.
#include "jixiao/sync/client_replica.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "jixiao/common/form_codec.h"
#include "jixiao/common/form_json.h"
#include "jixiao/common/uuid.h"
#include "jixiao/sync/merge.h"
#include "jixiao/sqlite/sqlite.h"

namespace jixiao::sync {
namespace {

using std::chrono::milliseconds;

constexpr const char* kTemplate = "project_self_eval_row_points";

const TemplateRegistry& registry() {
  static const TemplateRegistry* reg = [] {
    auto* r = new TemplateRegistry;
    if (Status s = r->load_directory(JIXIAO_TEMPLATE_DIR); !s) ADD_FAILURE() << s.to_string();
    return r;
  }();
  return *reg;
}

ClientIdentity preparer(std::string device = "device-a") {
  User u;
  u.id = "zhang.san";
  u.display_name = "张三";
  u.unit = "731002";
  u.roles = {Role::kPreparer};
  return ClientIdentity{u, std::move(device), "竞秀区科协"};
}

CellRef field(std::string key) { return CellRef::field(std::move(key)); }

// A temporary database file, removed (with its WAL files) afterwards.
struct TempDb {
  std::string path;
  TempDb() : path((std::filesystem::temp_directory_path() / ("jixiao_client_" + new_uuid_v4() + ".db")).string()) {}
  ~TempDb() {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  }
};

// The log entry the server would write for `op` with these effects.
LogEntry entry_for(const Operation& op, ServerSeq seq, std::vector<Effect> effects) {
  return LogEntry{seq, op.form_id, op.id, op.author, op.device, op.hlc, std::move(effects)};
}

// The FormCreated effect the server logs for a CreateForm operation.
FormCreated created_by(const Operation& op, std::uint64_t workflow_version = 0) {
  const auto& p = std::get<CreateForm>(op.payload);
  auto tmpl = registry().find(p.template_ref.id, p.template_ref.version);
  FormCreated fc;
  fc.form = new_blank_form(**tmpl, p.unit_code, p.unit_name, p.fiscal_year);
  fc.form.id = op.form_id;
  fc.form.money_unit = p.money_unit;
  fc.workflow.submission_id = op.form_id;
  fc.workflow.unit = p.unit_code;
  fc.workflow.form_kind = p.template_ref.id;
  fc.workflow.version = workflow_version;
  return fc;
}

OpResult accepted(const Operation& op, ServerSeq seq) { return OpResult{op.id, seq, StatusCode::kOk, 0, {}}; }

class ClientReplicaTest : public ::testing::Test {
 protected:
  void SetUp() override { replica_ = open(":memory:"); }

  std::unique_ptr<ClientReplica> open(const std::string& path, ClientIdentity who = preparer()) {
    auto r = ClientReplica::open(path, std::move(who), registry(), clock_);
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    return r ? std::move(r).value() : nullptr;
  }

  // A form created here and confirmed by the server at seq 1 (cursor 1).
  FormId confirmed_form(std::uint64_t workflow_version = 0) {
    auto id = replica_->create_form(kTemplate, 2021);
    EXPECT_TRUE(id.is_ok());
    const SyncRequest req = replica_->next_request(next_id_++);
    const Operation& create = req.ops.back();
    SyncResponse resp;
    resp.request_id = req.request_id;
    resp.results = {accepted(create, head_ + 1)};
    resp.entries = {entry_for(create, head_ + 1, {created_by(create, workflow_version)})};
    resp.cursor = ++head_;
    EXPECT_TRUE(replica_->apply_response(req, resp).is_ok());
    return *id;
  }

  workflow::ManualClock clock_{workflow::utc_time(2021, 3, 1, 9, 0)};
  std::unique_ptr<ClientReplica> replica_;
  std::uint64_t next_id_ = 1;
  ServerSeq head_ = 0;
};

// ---- creating forms ------------------------------------------------------------------

TEST_F(ClientReplicaTest, CreatedFormIsVisibleAtOnceAsAPendingForm) {
  auto id = replica_->create_form(kTemplate, 2021);
  ASSERT_TRUE(id.is_ok()) << id.status().to_string();
  EXPECT_TRUE(is_uuid(*id));

  auto view = replica_->view(*id);
  ASSERT_TRUE(view.is_ok()) << view.status().to_string();
  EXPECT_EQ(*id, view->form.id);
  EXPECT_EQ("731002", view->form.unit_code);
  EXPECT_EQ(2021, view->form.fiscal_year);
  EXPECT_EQ(MoneyUnit::kWanYuan, view->form.money_unit);  // the template's default
  EXPECT_EQ(1u, view->form.fields.count("project_name"));
  EXPECT_EQ(4u, view->form.tables.at("funds").rows.size());
  EXPECT_EQ(workflow::Phase::kDraft, view->workflow.phase);
  EXPECT_EQ(0u, view->workflow.version);
  EXPECT_EQ(0u, view->last_seq);

  EXPECT_EQ(StatusCode::kNotFound, replica_->confirmed(*id).status().code());
  EXPECT_TRUE(replica_->replica_hashes().empty());

  const auto forms = replica_->forms();
  ASSERT_EQ(1u, forms.size());
  EXPECT_EQ(*id, forms[0].id);
  EXPECT_EQ(kTemplate, forms[0].template_ref.id);
  EXPECT_EQ(1u, forms[0].pending_ops);

  const auto pending = replica_->pending();
  ASSERT_EQ(1u, pending.size());
  const Operation& op = pending[0];
  EXPECT_TRUE(is_uuid(op.id));
  EXPECT_EQ(*id, op.form_id);
  EXPECT_EQ("zhang.san", op.author);
  EXPECT_EQ("device-a", op.device);
  EXPECT_EQ(0u, op.base_seq);
  EXPECT_EQ(clock_.now().time_since_epoch().count(), op.hlc.wall_ms);
  const auto& create = std::get<CreateForm>(op.payload);
  EXPECT_EQ((TemplateRef{kTemplate, 1}), create.template_ref);
  EXPECT_EQ("731002", create.unit_code);
  EXPECT_EQ(2021, create.fiscal_year);
  EXPECT_EQ(MoneyUnit::kWanYuan, create.money_unit);
}

TEST_F(ClientReplicaTest, CreateFormOfAnUnknownTemplateIsRefused) {
  auto id = replica_->create_form("no_such_template", 2021);
  EXPECT_EQ(StatusCode::kNotFound, id.status().code());
  EXPECT_EQ("模板“no_such_template”不存在", id.status().message());
  EXPECT_TRUE(replica_->pending().empty());
}

TEST_F(ClientReplicaTest, CreateFormTakesAnAllowedMoneyUnit) {
  auto id = replica_->create_form(kTemplate, 2021, MoneyUnit::kYuan);
  ASSERT_TRUE(id.is_ok());
  EXPECT_EQ(MoneyUnit::kYuan, replica_->view(*id)->form.money_unit);
  // Money is then read in 元.
  ASSERT_TRUE(replica_->set_cell(*id, CellRef{"funds", "total", "executed"}, "1.5").is_ok());
  EXPECT_EQ(150, find_cell(replica_->view(*id)->form, CellRef{"funds", "total", "executed"})->money.fen());
}

// ---- local edits ----------------------------------------------------------------------------

TEST_F(ClientReplicaTest, AnEditIsDurableWhenTheCallReturns) {
  TempDb db;
  FormId id;
  {
    auto r = open(db.path);
    ASSERT_NE(nullptr, r);
    auto created = r->create_form(kTemplate, 2021);
    ASSERT_TRUE(created.is_ok());
    id = *created;
    ASSERT_TRUE(r->set_cell(id, field("project_name"), "科普进社区").is_ok());
  }  // closed without any sync

  auto r = open(db.path);
  ASSERT_NE(nullptr, r);
  const auto pending = r->pending();
  ASSERT_EQ(2u, pending.size());
  EXPECT_TRUE(std::holds_alternative<CreateForm>(pending[0].payload));
  const auto& set = std::get<SetCell>(pending[1].payload);
  EXPECT_EQ(field("project_name"), set.cell);
  EXPECT_EQ(CellValue::of_text("科普进社区"), set.value);
  EXPECT_EQ("科普进社区", r->view(id)->form.field("project_name").text);
}

TEST_F(ClientReplicaTest, ReopenRestoresConfirmedStateCursorAndRejections) {
  TempDb db;
  replica_ = open(db.path);
  const FormId id = confirmed_form();
  ASSERT_TRUE(replica_->set_cell(id, field("project_name"), "甲").is_ok());
  const SyncRequest req = replica_->next_request(next_id_++);
  SyncResponse resp;
  resp.request_id = req.request_id;
  resp.results = {OpResult{req.ops[0].id, 0, StatusCode::kFailedPrecondition, 201, "表单审核中，不能修改"}};
  resp.cursor = head_;
  ASSERT_TRUE(replica_->apply_response(req, resp).is_ok());
  const auto hashes = replica_->replica_hashes();
  replica_.reset();

  replica_ = open(db.path);
  ASSERT_NE(nullptr, replica_);
  EXPECT_EQ(1u, replica_->cursor());
  EXPECT_EQ(hashes, replica_->replica_hashes());
  EXPECT_EQ(1u, replica_->confirmed(id)->last_seq);
  ASSERT_EQ(1u, replica_->rejected().size());
  EXPECT_EQ("表单审核中，不能修改", replica_->rejected()[0].message);
}

TEST_F(ClientReplicaTest, ReopenWithAnotherDeviceIsRefused) {
  TempDb db;
  { ASSERT_NE(nullptr, open(db.path)); }
  auto other = ClientReplica::open(db.path, preparer("device-b"), registry(), clock_);
  EXPECT_EQ(StatusCode::kFailedPrecondition, other.status().code());
  EXPECT_EQ("本机数据库属于另一台设备，不能用当前设备身份打开", other.status().message());
}

TEST_F(ClientReplicaTest, HybridClockNeverGoesBackwardsAcrossRestarts) {
  TempDb db;
  FormId id;
  HybridTimestamp before;
  {
    auto r = open(db.path);
    id = *r->create_form(kTemplate, 2021);
    before = r->pending().back().hlc;
  }
  clock_.advance(milliseconds(-60'000));  // the machine's clock was set back
  auto r = open(db.path);
  ASSERT_TRUE(r->set_cell(id, field("project_name"), "乙").is_ok());
  EXPECT_LT(before, r->pending().back().hlc);
}

TEST_F(ClientReplicaTest, MalformedCellTextIsRefusedInChineseAndNothingIsWritten) {
  const FormId id = confirmed_form();
  const auto before = replica_->pending();

  Status s = replica_->set_cell(id, CellRef{"funds", "total", "executed"}, "一百万");
  EXPECT_EQ(StatusCode::kInvalidArgument, s.code());
  EXPECT_EQ("项目资金“年度资金总额”行“全年执行数”：金额“一百万”不是有效的数字（单位：万元）", s.message());

  s = replica_->set_cell(id, field("project_type"), "科普");
  EXPECT_EQ(StatusCode::kInvalidArgument, s.code());
  EXPECT_EQ("“项目类型”应为以下之一：产业发展、民生保障、基础设施、行政运行，表中为“科普”", s.message());

  s = replica_->set_cell(id, field("no_such_field"), "x");
  EXPECT_EQ(StatusCode::kInvalidArgument, s.code());
  EXPECT_EQ("模板中没有字段“no_such_field”", s.message());

  s = replica_->set_cell(id, CellRef{"funds", "total", "points"}, "abc");
  EXPECT_EQ(StatusCode::kInvalidArgument, s.code());

  s = replica_->set_cell_value(id, field("project_name"), CellValue::of_money(Money::from_fen(100)));
  EXPECT_EQ(StatusCode::kInvalidArgument, s.code());
  EXPECT_EQ("“项目名称”的值类型不正确", s.message());

  EXPECT_EQ(StatusCode::kNotFound, replica_->set_cell("no-such-form", field("project_name"), "x").code());

  EXPECT_EQ(before, replica_->pending());
}

TEST_F(ClientReplicaTest, AnEditTooLargeToSyncIsRefused) {
  const FormId id = confirmed_form();
  const auto before = replica_->pending();
  Status s = replica_->set_cell(id, field("narr_basic"), std::string(600 * 1024, 'x'));
  EXPECT_EQ(StatusCode::kResourceExhausted, s.code());
  EXPECT_EQ("修改的内容过长，无法同步（一次修改不能超过 512 KB），请分段填写", s.message());
  EXPECT_EQ(before, replica_->pending());
  EXPECT_TRUE(replica_->set_cell(id, field("narr_basic"), std::string(100 * 1024, 'x')).is_ok());
}

TEST_F(ClientReplicaTest, ViewShowsPendingEditsOverTheConfirmedReplica) {
  const FormId id = confirmed_form();
  ASSERT_TRUE(replica_->set_cell(id, field("project_name"), "科普进社区").is_ok());
  ASSERT_TRUE(replica_->set_cell(id, CellRef{"funds", "total", "executed"}, "12.5").is_ok());
  ASSERT_TRUE(replica_->set_cell(id, field("project_name"), "科普进校园").is_ok());

  const FormReplica view = *replica_->view(id);
  EXPECT_EQ("科普进校园", view.form.field("project_name").text);
  EXPECT_EQ(12'500'000, find_cell(view.form, CellRef{"funds", "total", "executed"})->money.fen());  // 12.5 万元

  const FormReplica confirmed = *replica_->confirmed(id);
  EXPECT_TRUE(confirmed.form.field("project_name").is_blank());
  EXPECT_EQ(1u, confirmed.last_seq);

  // Each edit names what its author saw and the confirmed seq it built on;
  // the two unsent edits of project_name are one operation with the last
  // value and the first one's base, after the edit of the other cell.
  const auto pending = replica_->pending();
  ASSERT_EQ(2u, pending.size());
  EXPECT_EQ((CellRef{"funds", "total", "executed"}), std::get<SetCell>(pending[0].payload).cell);
  EXPECT_EQ(field("project_name"), std::get<SetCell>(pending[1].payload).cell);
  EXPECT_EQ(CellValue::of_text("科普进校园"), std::get<SetCell>(pending[1].payload).value);
  EXPECT_EQ(CellValue{}, std::get<SetCell>(pending[1].payload).base_value);
  for (const Operation& op : pending) EXPECT_EQ(1u, op.base_seq);
  EXPECT_LT(pending[0].hlc, pending[1].hlc);
  EXPECT_EQ(2u, replica_->forms()[0].pending_ops);
}

TEST_F(ClientReplicaTest, RowsAreInsertedAndDeletedWithTheirOwnIds) {
  const FormId id = confirmed_form();
  auto first = replica_->insert_row(id, "indicators", "", {{"level1", "产出指标"}, {"points", "10"}});
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  auto second = replica_->insert_row(id, "indicators", "", {{"level1", "效益指标"}});
  ASSERT_TRUE(second.is_ok());
  auto between = replica_->insert_row(id, "indicators", *first, {{"level1", "满意度指标"}});
  ASSERT_TRUE(between.is_ok());
  EXPECT_TRUE(is_uuid(*first));

  auto rows = replica_->view(id)->form.tables.at("indicators").rows;
  ASSERT_EQ(3u, rows.size());
  EXPECT_EQ(*first, rows[0].id);
  EXPECT_EQ(*between, rows[1].id);
  EXPECT_EQ(*second, rows[2].id);
  EXPECT_EQ(CellValue::of_number(*Decimal::parse("10")), rows[0].cell("points"));

  const auto ins = std::get<InsertRow>(replica_->pending()[2].payload);
  EXPECT_EQ(*between, ins.row_id);
  EXPECT_EQ(*first, ins.after_row);

  // A cell of the new row is edited like any other.
  ASSERT_TRUE(replica_->set_cell(id, CellRef{"indicators", *second, "target"}, "≥90%").is_ok());
  EXPECT_EQ("≥90%", find_cell(replica_->view(id)->form, CellRef{"indicators", *second, "target"})->text);

  ASSERT_TRUE(replica_->delete_row(id, "indicators", *first).is_ok());
  rows = replica_->view(id)->form.tables.at("indicators").rows;
  ASSERT_EQ(2u, rows.size());
  EXPECT_EQ(*between, rows[0].id);
  EXPECT_EQ((DeleteRow{"indicators", *first}), std::get<DeleteRow>(replica_->pending().back().payload));

  const std::size_t ops = replica_->pending().size();
  EXPECT_EQ(StatusCode::kInvalidArgument, replica_->insert_row(id, "funds", "", {}).status().code());
  EXPECT_EQ(StatusCode::kInvalidArgument,
            replica_->insert_row(id, "indicators", "", {{"points", "十分"}}).status().code());
  EXPECT_EQ(StatusCode::kInvalidArgument, replica_->insert_row(id, "indicators", "", {{"nope", "x"}}).status().code());
  EXPECT_EQ(StatusCode::kNotFound, replica_->delete_row(id, "indicators", *first).code());
  EXPECT_EQ(StatusCode::kNotFound,
            replica_->set_cell(id, CellRef{"indicators", *first, "target"}, "1个").code());
  EXPECT_EQ(ops, replica_->pending().size());
}

TEST_F(ClientReplicaTest, WorkflowActionFillsExpectedVersionAndContentHash) {
  const FormId id = confirmed_form(/*workflow_version=*/3);
  ASSERT_TRUE(replica_->set_cell(id, field("project_name"), "科普进社区").is_ok());
  WorkflowAction params;
  params.reason = "请核对执行数";
  ASSERT_TRUE(replica_->workflow_action(id, workflow::Action::kSubmit, params).is_ok());
  ASSERT_TRUE(replica_->workflow_action(id, workflow::Action::kWithdraw).is_ok());

  const auto pending = replica_->pending();
  ASSERT_EQ(3u, pending.size());
  const auto& submit = std::get<WorkflowAction>(pending[1].payload);
  EXPECT_EQ(workflow::Action::kSubmit, submit.action);
  EXPECT_EQ(3u, submit.expected_version);
  EXPECT_EQ(form_content_hash(replica_->view(id)->form), submit.content_hash);
  EXPECT_EQ("请核对执行数", submit.reason);
  // The pending submit will have moved the version by one.
  const auto& withdraw = std::get<WorkflowAction>(pending[2].payload);
  EXPECT_EQ(workflow::Action::kWithdraw, withdraw.action);
  EXPECT_EQ(4u, withdraw.expected_version);
  // The hash is of what the actor sees, pending edits included.
  EXPECT_NE(form_content_hash(replica_->confirmed(id)->form), submit.content_hash);
}

// ---- offline edits coalesce -----------------------------------------------------------------

TEST_F(ClientReplicaTest, TenOfflineEditsOfANarrativeCellAreOneOperationWithTheLastValueAndTheFirstBase) {
  const FormId id = confirmed_form();
  std::string text;
  for (int i = 1; i <= 10; ++i) {
    text += "第" + std::to_string(i) + "句。";
    clock_.advance(milliseconds(1000));
    ASSERT_TRUE(replica_->set_cell(id, field("narr_basic"), text).is_ok());
  }
  const SyncRequest req = replica_->next_request(next_id_++);
  ASSERT_EQ(1u, req.ops.size());
  const auto& set = std::get<SetCell>(req.ops[0].payload);
  EXPECT_EQ(field("narr_basic"), set.cell);
  EXPECT_EQ(CellValue::of_text(text), set.value);
  EXPECT_EQ(CellValue{}, set.base_value);  // what the confirmed replica showed before the first edit
  EXPECT_EQ(1u, req.ops[0].base_seq);
  EXPECT_EQ(clock_.now().time_since_epoch().count(), req.ops[0].hlc.wall_ms);  // the last edit's time
  EXPECT_EQ(text, replica_->view(id)->form.field("narr_basic").text);
}

TEST_F(ClientReplicaTest, AnOperationHandedToARequestNeverCoalesces) {
  const FormId id = confirmed_form();
  ASSERT_TRUE(replica_->set_cell(id, field("project_name"), "甲").is_ok());
  // peek_request marks nothing.
  ASSERT_EQ(1u, replica_->peek_request(0).ops.size());
  ASSERT_TRUE(replica_->set_cell(id, field("project_name"), "乙").is_ok());
  ASSERT_EQ(1u, replica_->pending().size());

  const SyncRequest in_flight = replica_->next_request(next_id_++);  // no answer yet
  ASSERT_EQ(1u, in_flight.ops.size());
  ASSERT_TRUE(replica_->set_cell(id, field("project_name"), "丙").is_ok());
  ASSERT_TRUE(replica_->set_cell(id, field("project_name"), "丁").is_ok());
  const auto pending = replica_->pending();
  ASSERT_EQ(2u, pending.size());
  EXPECT_EQ(in_flight.ops[0], pending[0]);  // untouched: its id may be on the server
  const auto& later = std::get<SetCell>(pending[1].payload);
  EXPECT_EQ(CellValue::of_text("丁"), later.value);
  EXPECT_EQ(CellValue::of_text("乙"), later.base_value);  // what the view showed before "丙"

  // Acknowledged (not yet covered by the cursor): still never replaced.
  SyncResponse resp;
  resp.request_id = in_flight.request_id;
  resp.results = {accepted(in_flight.ops[0], head_ + 1)};
  resp.cursor = head_;
  ASSERT_TRUE(replica_->apply_response(in_flight, resp).is_ok());
  ASSERT_TRUE(replica_->set_cell(id, field("project_name"), "戊").is_ok());
  EXPECT_EQ(2u, replica_->pending().size());
  EXPECT_EQ(in_flight.ops[0].id, replica_->pending()[0].id);
}

TEST_F(ClientReplicaTest, AWorkflowActionBetweenTwoEditsKeepsBoth) {
  const FormId id = confirmed_form();
  ASSERT_TRUE(replica_->set_cell(id, field("project_name"), "甲").is_ok());
  ASSERT_TRUE(replica_->workflow_action(id, workflow::Action::kSubmit).is_ok());
  ASSERT_TRUE(replica_->set_cell(id, field("project_name"), "乙").is_ok());
  const auto pending = replica_->pending();
  ASSERT_EQ(3u, pending.size());
  // The 提交's content hash is of "甲": that edit stays before it.
  EXPECT_EQ(CellValue::of_text("甲"), std::get<SetCell>(pending[0].payload).value);
  EXPECT_TRUE(std::holds_alternative<WorkflowAction>(pending[1].payload));
  EXPECT_EQ(CellValue::of_text("乙"), std::get<SetCell>(pending[2].payload).value);
}

TEST_F(ClientReplicaTest, EditsOfACellInANewRowCoalesceAfterTheRowInsertAndBeforeItsDeletion) {
  const FormId id = confirmed_form();
  auto row = replica_->insert_row(id, "indicators", "", {{"level1", "产出指标"}});
  ASSERT_TRUE(row.is_ok());
  const CellRef target{"indicators", *row, "target"};
  ASSERT_TRUE(replica_->set_cell(id, target, "≥80%").is_ok());
  auto other = replica_->insert_row(id, "indicators", "", {{"level1", "效益指标"}});
  ASSERT_TRUE(other.is_ok());
  ASSERT_TRUE(replica_->set_cell(id, target, "≥90%").is_ok());

  auto pending = replica_->pending();
  ASSERT_EQ(3u, pending.size());
  EXPECT_EQ(*row, std::get<InsertRow>(pending[0].payload).row_id);
  EXPECT_EQ(*other, std::get<InsertRow>(pending[1].payload).row_id);
  EXPECT_EQ(CellValue::of_text("≥90%"), std::get<SetCell>(pending[2].payload).value);  // after its row's insert
  EXPECT_EQ("≥90%", find_cell(replica_->view(id)->form, target)->text);

  // Deleting the row: the edit stays before the deletion, and the cell can
  // no longer be edited.
  ASSERT_TRUE(replica_->delete_row(id, "indicators", *row).is_ok());
  EXPECT_EQ(StatusCode::kNotFound, replica_->set_cell(id, target, "≥95%").code());
  pending = replica_->pending();
  ASSERT_EQ(4u, pending.size());
  EXPECT_TRUE(std::holds_alternative<SetCell>(pending[2].payload));
  EXPECT_TRUE(std::holds_alternative<DeleteRow>(pending[3].payload));
}

// A replica file of schema version 1 (before coalescing) with one SetCell in
// its outbox, written as that version wrote it.
const char* const kSchemaV1 =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value NOT NULL);"
    "CREATE TABLE forms(form_id TEXT PRIMARY KEY, template_id TEXT NOT NULL, template_version INTEGER NOT NULL,"
    "  last_seq INTEGER NOT NULL, replica BLOB NOT NULL);"
    "CREATE TABLE outbox(local_seq INTEGER PRIMARY KEY AUTOINCREMENT, op_id TEXT NOT NULL UNIQUE,"
    "  form_id TEXT NOT NULL, kind TEXT NOT NULL, op BLOB NOT NULL, acked_seq INTEGER);"
    "CREATE INDEX outbox_by_form ON outbox(form_id, local_seq);"
    "CREATE TABLE rejected(rejected_seq INTEGER PRIMARY KEY AUTOINCREMENT, op_id TEXT NOT NULL UNIQUE,"
    "  form_id TEXT NOT NULL, op BLOB NOT NULL, code INTEGER NOT NULL, reason INTEGER NOT NULL,"
    "  message TEXT NOT NULL, state INTEGER NOT NULL);"
    "CREATE INDEX rejected_by_form ON rejected(form_id, rejected_seq);"
    "PRAGMA user_version = 1;";

TEST_F(ClientReplicaTest, AVersionOneFileMigratesAndItsOutboxCountsAsSent) {
  TempDb db;
  // Make a form and an edit with the current code, then rewrite the file as
  // version 1 had it: the same rows without the columns version 2 added.
  FormId id;
  std::vector<Operation> ops;
  {
    auto r = open(db.path);
    id = *r->create_form(kTemplate, 2021);
    ASSERT_TRUE(r->set_cell(id, field("project_name"), "甲").is_ok());
    ops = r->pending();
  }
  {
    auto opened = sqlite::Database::open(db.path);
    ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
    sqlite::Database& d = *opened;
    ASSERT_TRUE(
        d.exec("DROP TABLE outbox; DROP TABLE rejected; DROP TABLE forms; DROP TABLE meta; DROP TABLE history;").is_ok());
    ASSERT_TRUE(d.exec(kSchemaV1).is_ok());
    ASSERT_TRUE(d.exec("INSERT INTO meta(key, value) VALUES('device', 'device-a')").is_ok());
    for (const Operation& op : ops) {
      sqlite::Statement ins(d, "INSERT INTO outbox(op_id, form_id, kind, op) VALUES(?1, ?2, ?3, ?4)");
      ins.bind(1, op.id).bind(2, op.form_id).bind(3, std::string(op_kind_name(op.payload))).bind_blob(4, encode_operation(op));
      ASSERT_TRUE(ins.run("v1 outbox").is_ok());
    }
  }
  auto r = open(db.path);
  ASSERT_NE(nullptr, r);
  EXPECT_EQ(ops, r->pending());
  // The old edit may have reached the server before the upgrade: a new edit
  // of the same cell is a new operation.
  ASSERT_TRUE(r->set_cell(id, field("project_name"), "乙").is_ok());
  ASSERT_EQ(3u, r->pending().size());
  EXPECT_EQ(ops[1], r->pending()[1]);
  // New edits coalesce as usual.
  ASSERT_TRUE(r->set_cell(id, field("project_name"), "丙").is_ok());
  ASSERT_EQ(3u, r->pending().size());
  EXPECT_EQ(CellValue::of_text("甲"), std::get<SetCell>(r->pending()[2].payload).base_value);
  EXPECT_EQ("丙", r->view(id)->form.field("project_name").text);
}

TEST_F(ClientReplicaTest, ALargeAnswerIsAppliedInBoundedTransactionsWithTheCursorInTheLast) {
  const FormId id = confirmed_form();  // cursor 1
  ASSERT_TRUE(replica_->set_cell(id, field("project_name"), "甲").is_ok());
  const SyncRequest req = replica_->next_request(next_id_++);
  // Nine entries of a colleague (seq 2..10) and this device's edit at 11.
  Operation remote = req.ops[0];
  remote.author = "li.si";
  remote.device = "device-b";
  SyncResponse resp;
  resp.request_id = req.request_id;
  resp.results = {accepted(req.ops[0], 11)};
  for (ServerSeq seq = 2; seq <= 10; ++seq) {
    remote.id = new_uuid_v4();
    resp.entries.push_back(
        entry_for(remote, seq, {CellWritten{field("department"), CellValue::of_text("部门" + std::to_string(seq))}}));
  }
  resp.cursor = 11;
  std::vector<std::pair<ServerSeq, ServerSeq>> seen;  // (cursor, form's last_seq) between batches
  replica_->set_apply_batching(3, [&] { seen.emplace_back(replica_->cursor(), replica_->confirmed(id)->last_seq); });
  ASSERT_TRUE(replica_->apply_response(req, resp).is_ok());
  // Ten items in batches of 3: four transactions, three pauses; the cursor
  // moves only with the last.
  const std::vector<std::pair<ServerSeq, ServerSeq>> expected{{1, 4}, {1, 7}, {1, 10}};
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(11u, replica_->cursor());
  EXPECT_EQ(11u, replica_->confirmed(id)->last_seq);
  EXPECT_EQ("部门10", replica_->confirmed(id)->form.field("department").text);
  EXPECT_EQ("甲", replica_->confirmed(id)->form.field("project_name").text);
  EXPECT_TRUE(replica_->pending().empty());
  EXPECT_EQ(0u, replica_->outbox_size());
  // The same answer again changes nothing.
  const auto hashes = replica_->replica_hashes();
  ASSERT_TRUE(replica_->apply_response(req, resp).is_ok());
  EXPECT_EQ(hashes, replica_->replica_hashes());
}

TEST_F(ClientReplicaTest, AnAnswerCutBetweenBatchesIsCompletedByTheNextOne) {
  TempDb db;
  replica_ = open(db.path);
  const FormId id = confirmed_form();
  const SyncRequest pull = replica_->next_request(next_id_++);
  Operation remote;
  remote.form_id = id;
  remote.author = "li.si";
  remote.device = "device-b";
  SyncResponse resp;
  resp.request_id = pull.request_id;
  for (ServerSeq seq = 2; seq <= 7; ++seq) {
    remote.id = new_uuid_v4();
    resp.entries.push_back(
        entry_for(remote, seq, {CellWritten{field("department"), CellValue::of_text("部门" + std::to_string(seq))}}));
  }
  resp.cursor = 7;
  // The process ends after the first batch (the pause never returns).
  struct Stop {};
  replica_->set_apply_batching(2, [] { throw Stop{}; });
  EXPECT_THROW((void)replica_->apply_response(pull, resp), Stop);
  replica_.reset();
  replica_ = open(db.path);
  EXPECT_EQ(1u, replica_->cursor());                      // the old cursor
  EXPECT_EQ(3u, replica_->confirmed(id)->last_seq);       // the first batch stayed
  // The next answer from the old cursor brings everything again.
  const SyncRequest again = replica_->next_request(next_id_++);
  EXPECT_EQ(1u, again.cursor);
  resp.request_id = again.request_id;
  ASSERT_TRUE(replica_->apply_response(again, resp).is_ok());
  EXPECT_EQ(7u, replica_->cursor());
  EXPECT_EQ("部门7", replica_->confirmed(id)->form.field("department").text);
}

// ---- history --------------------------------------------------------------------------------

TEST_F(ClientReplicaTest, HistoryRecordsAppliedEntriesOwnAcceptedOperationsAndSnapshots) {
  const FormId id = confirmed_form();  // this device's creation, accepted at seq 1
  ASSERT_TRUE(replica_->set_cell(id, field("project_name"), "甲").is_ok());
  const SyncRequest req = replica_->next_request(next_id_++);
  ASSERT_EQ(1u, req.ops.size());
  // A colleague's edit at seq 2, this device's at seq 3 (its entry left out
  // by the server), and a snapshot of a form shared with this unit.
  Operation remote = req.ops[0];
  remote.id = new_uuid_v4();
  remote.author = "li.si";
  remote.device = "device-b";
  FormReplica other = *replica_->confirmed(id);
  other.form.id = new_uuid_v4();
  other.last_seq = 4;
  SyncResponse resp;
  resp.request_id = req.request_id;
  resp.results = {accepted(req.ops[0], 3)};
  resp.entries = {entry_for(remote, 2, {CellWritten{field("department"), CellValue::of_text("科普部")}})};
  resp.snapshots = {FormSnapshot{other}};
  resp.cursor = head_ = 4;
  ASSERT_TRUE(replica_->apply_response(req, resp).is_ok());
  ASSERT_TRUE(replica_->apply_response(req, resp).is_ok());  // idempotent

  auto h = replica_->history(id);
  ASSERT_TRUE(h.is_ok()) << h.status().to_string();
  ASSERT_EQ(4u, h->size());
  EXPECT_EQ(HistoryRecord::Kind::kEntry, (*h)[0].kind);  // the creation
  EXPECT_EQ(1u, (*h)[0].seq);
  EXPECT_EQ(HistoryRecord::Kind::kOwn, (*h)[1].kind);  // the creation, as sent
  EXPECT_EQ(1u, (*h)[1].seq);
  EXPECT_EQ(HistoryRecord::Kind::kEntry, (*h)[2].kind);
  EXPECT_EQ(2u, (*h)[2].seq);
  EXPECT_EQ("li.si", (*h)[2].author);
  ASSERT_TRUE((*h)[2].entry.has_value());
  EXPECT_EQ(resp.entries[0], *(*h)[2].entry);
  // This device's own edit, whose entry the server left out: the operation.
  EXPECT_EQ(HistoryRecord::Kind::kOwn, (*h)[3].kind);
  EXPECT_EQ(3u, (*h)[3].seq);
  EXPECT_EQ(req.ops[0].id, (*h)[3].op_id);
  ASSERT_TRUE((*h)[3].op.has_value());
  EXPECT_EQ(req.ops[0], *(*h)[3].op);
  EXPECT_EQ(3u, replica_->confirmed(id)->last_seq);  // and its rebuilt entry was applied

  auto snap = replica_->history(other.form.id);
  ASSERT_TRUE(snap.is_ok());
  ASSERT_EQ(1u, snap->size());
  EXPECT_EQ(HistoryRecord::Kind::kSnapshot, (*snap)[0].kind);
  EXPECT_EQ(4u, (*snap)[0].seq);
  EXPECT_EQ(clock_.now().time_since_epoch().count(), (*snap)[0].wall_ms);
}

TEST_F(ClientReplicaTest, AVersionTwoFileGainsTheHistoryTable) {
  TempDb db;
  {
    auto opened = sqlite::Database::open(db.path);
    ASSERT_TRUE(opened.is_ok());
    ASSERT_TRUE(opened->exec(kSchemaV1).is_ok());
    ASSERT_TRUE(opened
                    ->exec("ALTER TABLE outbox ADD COLUMN sent INTEGER NOT NULL DEFAULT 0;"
                           "ALTER TABLE outbox ADD COLUMN cell_key TEXT;"
                           "PRAGMA user_version = 2;")
                    .is_ok());
  }
  replica_ = open(db.path);
  ASSERT_NE(nullptr, replica_);
  const FormId id = confirmed_form();
  auto h = replica_->history(id);
  ASSERT_TRUE(h.is_ok()) << h.status().to_string();
  ASSERT_EQ(2u, h->size());
  EXPECT_EQ(HistoryRecord::Kind::kEntry, (*h)[0].kind);
  EXPECT_EQ(HistoryRecord::Kind::kOwn, (*h)[1].kind);
  replica_.reset();
  auto check = sqlite::Database::open(db.path);
  ASSERT_TRUE(check.is_ok());
  sqlite::Statement q(*check, "PRAGMA user_version");
  auto row = q.step("version");
  ASSERT_TRUE(row.is_ok() && *row);
  EXPECT_EQ(3, q.column_int(0));
}

// ---- sync requests --------------------------------------------------------------------------

TEST_F(ClientReplicaTest, NextRequestCarriesTheOutboxAndTheCursor) {
  const FormId id = confirmed_form();
  ASSERT_TRUE(replica_->set_cell(id, field("project_name"), "甲").is_ok());
  ASSERT_TRUE(replica_->set_cell(id, field("department"), "科普部").is_ok());
  ASSERT_TRUE(replica_->set_cell(id, field("implementing_unit"), "某区科协").is_ok());

  const SyncRequest req = replica_->next_request(42);
  EXPECT_EQ(42u, req.request_id);
  EXPECT_EQ("device-a", req.device);
  EXPECT_EQ("zhang.san", req.user);
  EXPECT_EQ(1u, req.cursor);
  EXPECT_EQ(kMaxPayloadBytes, req.max_response_bytes);
  EXPECT_EQ(replica_->pending(), req.ops);  // oldest first
  EXPECT_EQ(3u, req.ops.size());
}

TEST_F(ClientReplicaTest, NextRequestRespectsTheByteCapButCarriesAtLeastOneOperation) {
  const FormId id = confirmed_form();
  for (const char* key : {"project_name", "department", "implementing_unit"}) {
    ASSERT_TRUE(replica_->set_cell(id, field(key), "甲").is_ok());
  }
  const auto ops = replica_->pending();
  const auto size = [](const Operation& op) { return static_cast<std::uint32_t>(encode_operation(op).size()); };

  EXPECT_EQ(1u, replica_->next_request(1, 1).ops.size());
  const SyncRequest two = replica_->next_request(2, size(ops[0]) + size(ops[1]));
  ASSERT_EQ(2u, two.ops.size());
  EXPECT_EQ(ops[0], two.ops[0]);
  EXPECT_EQ(ops[1], two.ops[1]);
  EXPECT_EQ(2u, replica_->next_request(3, size(ops[0]) + size(ops[1]) + size(ops[2]) - 1).ops.size());
  EXPECT_EQ(3u, replica_->next_request(4).ops.size());
}

// ---- applying responses ---------------------------------------------------------------------

TEST_F(ClientReplicaTest, ApplyResponseAcknowledgesAppliesEntriesAndMovesTheCursor) {
  auto id = replica_->create_form(kTemplate, 2021);
  ASSERT_TRUE(replica_->set_cell(*id, field("project_name"), "科普进社区").is_ok());
  const SyncRequest req = replica_->next_request(1);
  ASSERT_EQ(2u, req.ops.size());

  SyncResponse resp;
  resp.request_id = 1;
  resp.results = {accepted(req.ops[0], 7), accepted(req.ops[1], 8)};
  resp.entries = {entry_for(req.ops[0], 7, {created_by(req.ops[0])}),
                  entry_for(req.ops[1], 8, {CellWritten{field("project_name"), CellValue::of_text("科普进社区")}})};
  resp.cursor = 8;
  ASSERT_TRUE(replica_->apply_response(req, resp).is_ok());

  EXPECT_EQ(8u, replica_->cursor());
  EXPECT_TRUE(replica_->pending().empty());
  const FormReplica confirmed = *replica_->confirmed(*id);
  EXPECT_EQ(8u, confirmed.last_seq);
  EXPECT_EQ("科普进社区", confirmed.form.field("project_name").text);
  EXPECT_EQ((CellStamp{8, req.ops[1].hlc, "device-a", "zhang.san"}), confirmed.stamps.at("fields.project_name"));
  EXPECT_EQ(confirmed, *replica_->view(*id));
  EXPECT_EQ(0u, replica_->forms()[0].pending_ops);
  EXPECT_EQ(replica_hash(confirmed), replica_->replica_hashes().at(*id));
}

TEST_F(ClientReplicaTest, ApplyingTheSameResponseTwiceChangesNothing) {
  auto id = replica_->create_form(kTemplate, 2021);
  ASSERT_TRUE(replica_->set_cell(*id, field("project_name"), "甲").is_ok());
  ASSERT_TRUE(replica_->set_cell(*id, field("department"), "科普部").is_ok());
  const SyncRequest req = replica_->next_request(1);
  SyncResponse resp;
  resp.request_id = 1;
  resp.results = {accepted(req.ops[0], 1), accepted(req.ops[1], 2),
                  OpResult{req.ops[2].id, 0, StatusCode::kInvalidArgument, 1003, "单元格不存在"}};
  resp.entries = {entry_for(req.ops[0], 1, {created_by(req.ops[0])}),
                  entry_for(req.ops[1], 2, {CellWritten{field("project_name"), CellValue::of_text("甲")}})};
  resp.cursor = 2;

  ASSERT_TRUE(replica_->apply_response(req, resp).is_ok());
  const auto hashes = replica_->replica_hashes();
  const auto pending = replica_->pending();
  ASSERT_EQ(1u, replica_->rejected().size());

  ASSERT_TRUE(replica_->apply_response(req, resp).is_ok());
  EXPECT_EQ(hashes, replica_->replica_hashes());
  EXPECT_EQ(pending, replica_->pending());
  EXPECT_EQ(2u, replica_->cursor());
  EXPECT_EQ(1u, replica_->rejected().size());
}

TEST_F(ClientReplicaTest, AcknowledgedOperationsStayUntilTheCursorCoversThem) {
  const FormId id = confirmed_form();
  ASSERT_TRUE(replica_->set_cell(id, field("project_name"), "甲").is_ok());
  const SyncRequest req = replica_->next_request(next_id_++);
  // Accepted at seq 5, but the response stops at 3 (`more`): the edit stays
  // in the view and in the outbox, and is not sent again.
  SyncResponse resp;
  resp.request_id = req.request_id;
  resp.results = {accepted(req.ops[0], 5)};
  resp.cursor = 3;
  resp.more = true;
  ASSERT_TRUE(replica_->apply_response(req, resp).is_ok());
  EXPECT_EQ(3u, replica_->cursor());
  EXPECT_EQ(1u, replica_->pending().size());
  EXPECT_TRUE(replica_->next_request(next_id_++).ops.empty());
  EXPECT_EQ("甲", replica_->view(id)->form.field("project_name").text);

  // The rest of the log arrives; the server's merge decided another value,
  // and that is what shows once the edit is confirmed.
  const SyncRequest again = replica_->next_request(next_id_++);
  SyncResponse rest;
  rest.request_id = again.request_id;
  rest.entries = {entry_for(req.ops[0], 5, {CellWritten{field("project_name"), CellValue::of_text("甲乙")}})};
  rest.cursor = 5;
  ASSERT_TRUE(replica_->apply_response(again, rest).is_ok());
  EXPECT_TRUE(replica_->pending().empty());
  EXPECT_EQ("甲乙", replica_->view(id)->form.field("project_name").text);
}

TEST_F(ClientReplicaTest, AResponseToAnotherRequestChangesNothing) {
  auto id = replica_->create_form(kTemplate, 2021);
  const SyncRequest req = replica_->next_request(1);
  SyncResponse resp;
  resp.request_id = 2;
  resp.results = {accepted(req.ops[0], 1)};
  resp.entries = {entry_for(req.ops[0], 1, {created_by(req.ops[0])})};
  resp.cursor = 1;
  EXPECT_TRUE(replica_->apply_response(req, resp).is_ok());
  EXPECT_EQ(0u, replica_->cursor());
  EXPECT_EQ(1u, replica_->pending().size());
  EXPECT_EQ(StatusCode::kNotFound, replica_->confirmed(*id).status().code());
}

TEST_F(ClientReplicaTest, SnapshotsBringFormsOfOtherUnitsAndOnlyNewerOnesReplace) {
  const auto* tmpl = registry().latest(kTemplate);
  FormReplica other;
  other.form = new_blank_form(*tmpl, "731003", "某县科协", 2021);
  other.form.fields["project_name"] = CellValue::of_text("县级项目");
  other.workflow.version = 2;
  other.workflow.phase = workflow::Phase::kInReview;
  other.last_seq = 10;

  SyncRequest req = replica_->next_request(1);
  SyncResponse resp;
  resp.request_id = 1;
  resp.snapshots = {FormSnapshot{other}};
  resp.cursor = 10;
  ASSERT_TRUE(replica_->apply_response(req, resp).is_ok());
  EXPECT_EQ(other, *replica_->confirmed(other.form.id));
  ASSERT_EQ(1u, replica_->forms().size());
  EXPECT_EQ(workflow::Phase::kInReview, replica_->forms()[0].phase);

  // An older snapshot of it does not overwrite what is newer.
  FormReplica older = other;
  older.form.fields["project_name"] = CellValue::of_text("旧名称");
  older.last_seq = 9;
  req = replica_->next_request(2);
  resp.request_id = 2;
  resp.snapshots = {FormSnapshot{older}};
  ASSERT_TRUE(replica_->apply_response(req, resp).is_ok());
  EXPECT_EQ(other, *replica_->confirmed(other.form.id));
}

TEST_F(ClientReplicaTest, EntriesMoveTheHybridClockForward) {
  const FormId id = confirmed_form();
  Operation remote;
  remote.id = new_uuid_v4();
  remote.form_id = id;
  remote.author = "li.si";
  remote.device = "device-b";
  remote.hlc = HybridTimestamp{clock_.now().time_since_epoch().count() + 3'600'000, 4};  // a clock an hour ahead
  const SyncRequest req = replica_->next_request(next_id_++);
  SyncResponse resp;
  resp.request_id = req.request_id;
  resp.entries = {entry_for(remote, 2, {CellWritten{field("project_name"), CellValue::of_text("乙")}})};
  resp.cursor = 2;
  ASSERT_TRUE(replica_->apply_response(req, resp).is_ok());

  ASSERT_TRUE(replica_->set_cell(id, field("project_name"), "丙").is_ok());
  const Operation mine = replica_->pending().back();
  EXPECT_LT(remote.hlc, mine.hlc);  // ordered after what it saw
  EXPECT_EQ(CellValue::of_text("乙"), std::get<SetCell>(mine.payload).base_value);
  EXPECT_EQ(2u, mine.base_seq);
}

// ---- rejections -------------------------------------------------------------------------------

TEST_F(ClientReplicaTest, RejectedOperationsWaitAndReapplyAsNewOperations) {
  const FormId id = confirmed_form();
  ASSERT_TRUE(replica_->set_cell(id, field("project_name"), "科普进社区").is_ok());
  ASSERT_TRUE(replica_->workflow_action(id, workflow::Action::kSubmit).is_ok());
  const SyncRequest req = replica_->next_request(next_id_++);
  ASSERT_EQ(2u, req.ops.size());

  SyncResponse resp;
  resp.request_id = req.request_id;
  resp.results = {OpResult{req.ops[0].id, 0, StatusCode::kFailedPrecondition, 201, "表单审核中，不能修改"},
                  OpResult{req.ops[1].id, 0, StatusCode::kConflict, 102, "表单已被他人处理"}};
  resp.cursor = 1;
  ASSERT_TRUE(replica_->apply_response(req, resp).is_ok());

  EXPECT_TRUE(replica_->pending().empty());
  EXPECT_TRUE(replica_->view(id)->form.field("project_name").is_blank());
  auto rejected = replica_->rejected();
  ASSERT_EQ(2u, rejected.size());
  EXPECT_EQ(req.ops[0], rejected[0].op);
  EXPECT_EQ(StatusCode::kFailedPrecondition, rejected[0].code);
  EXPECT_EQ(201, rejected[0].reason);
  EXPECT_EQ("表单审核中，不能修改", rejected[0].message);
  EXPECT_EQ(RejectedState::kWaiting, rejected[0].state);
  EXPECT_EQ(2u, replica_->forms()[0].waiting_rejected);

  // Meanwhile someone else wrote the cell (the form came back).
  Operation remote = req.ops[0];
  remote.id = new_uuid_v4();
  remote.device = "device-b";
  const SyncRequest pull = replica_->next_request(next_id_++);
  SyncResponse back;
  back.request_id = pull.request_id;
  back.entries = {entry_for(remote, 2, {CellWritten{field("project_name"), CellValue::of_text("旧名称")}})};
  back.cursor = 2;
  ASSERT_TRUE(replica_->apply_response(pull, back).is_ok());

  auto count = replica_->reapply_rejected(id);
  ASSERT_TRUE(count.is_ok()) << count.status().to_string();
  EXPECT_EQ(1u, *count);  // the edit; the workflow action is the person's to redo
  const auto pending = replica_->pending();
  ASSERT_EQ(1u, pending.size());
  EXPECT_NE(req.ops[0].id, pending[0].id);
  EXPECT_EQ(2u, pending[0].base_seq);
  EXPECT_EQ((SetCell{field("project_name"), CellValue::of_text("科普进社区"), CellValue::of_text("旧名称")}),
            std::get<SetCell>(pending[0].payload));
  EXPECT_EQ("科普进社区", replica_->view(id)->form.field("project_name").text);

  rejected = replica_->rejected();
  EXPECT_EQ(RejectedState::kReapplied, rejected[0].state);
  EXPECT_EQ(RejectedState::kWaiting, rejected[1].state);
  EXPECT_EQ(1u, replica_->forms()[0].waiting_rejected);
  EXPECT_EQ(0u, *replica_->reapply_rejected(id));

  ASSERT_TRUE(replica_->discard_rejected(req.ops[1].id).is_ok());
  EXPECT_EQ(RejectedState::kDiscarded, replica_->rejected()[1].state);
  EXPECT_EQ(StatusCode::kFailedPrecondition, replica_->discard_rejected(req.ops[1].id).code());
  EXPECT_EQ(StatusCode::kNotFound, replica_->discard_rejected("no-such-op").code());
  EXPECT_EQ(0u, replica_->forms()[0].waiting_rejected);
}

TEST_F(ClientReplicaTest, ReappliedRowInsertKeepsItsIdUnlessTheIdIsTaken) {
  const FormId id = confirmed_form();
  auto row = replica_->insert_row(id, "indicators", "", {{"level1", "产出指标"}});
  ASSERT_TRUE(row.is_ok());
  const SyncRequest req = replica_->next_request(next_id_++);
  SyncResponse resp;
  resp.request_id = req.request_id;
  resp.results = {OpResult{req.ops[0].id, 0, StatusCode::kFailedPrecondition, 201, "表单审核中，不能修改"}};
  resp.cursor = 1;
  ASSERT_TRUE(replica_->apply_response(req, resp).is_ok());
  EXPECT_TRUE(replica_->view(id)->form.tables.at("indicators").rows.empty());

  ASSERT_EQ(1u, *replica_->reapply_rejected(id));
  const auto again = std::get<InsertRow>(replica_->pending().back().payload);
  EXPECT_EQ(*row, again.row_id);
  EXPECT_EQ(CellValue::of_text("产出指标"), again.cells.at("level1"));
  ASSERT_EQ(1u, replica_->view(id)->form.tables.at("indicators").rows.size());
}

// ---- conflicts ------------------------------------------------------------------------------

TEST_F(ClientReplicaTest, ConflictsAreListedAndResolvedLocallyAtOnce) {
  const FormId id = confirmed_form();
  ConflictRecord c;
  c.id = new_uuid_v4();
  c.form_id = id;
  c.kind = ConflictKind::kSameCell;
  c.cell = field("project_name");
  c.winner = ConflictSide{CellValue::of_text("乙"), "li.si", "device-b", {}, "op-b"};
  c.loser = ConflictSide{CellValue::of_text("甲"), "zhang.san", "device-a", {}, "op-a"};
  Operation remote;
  remote.form_id = id;
  remote.device = "device-b";
  const SyncRequest req = replica_->next_request(next_id_++);
  SyncResponse resp;
  resp.request_id = req.request_id;
  resp.entries = {entry_for(remote, 2, {CellWritten{field("project_name"), CellValue::of_text("乙")}, ConflictOpened{c}})};
  resp.cursor = 2;
  ASSERT_TRUE(replica_->apply_response(req, resp).is_ok());

  ASSERT_EQ(1u, replica_->open_conflicts().size());
  EXPECT_EQ(c, replica_->open_conflicts()[0]);
  EXPECT_EQ(1u, replica_->forms()[0].open_conflicts);

  EXPECT_EQ(StatusCode::kNotFound, replica_->resolve_conflict(id, "no-such-conflict", Resolution::kKeepWinner).code());
  ASSERT_TRUE(replica_->resolve_conflict(id, c.id, Resolution::kNewValue, "甲乙合并").is_ok());
  EXPECT_TRUE(replica_->open_conflicts().empty());
  EXPECT_EQ("甲乙合并", replica_->view(id)->form.field("project_name").text);
  EXPECT_EQ((ResolveConflict{c.id, Resolution::kNewValue, CellValue::of_text("甲乙合并")}),
            std::get<ResolveConflict>(replica_->pending().back().payload));
  EXPECT_EQ(StatusCode::kConflict, replica_->resolve_conflict(id, c.id, Resolution::kTakeLoser).code());
}

}  // namespace
}  // namespace jixiao::sync
