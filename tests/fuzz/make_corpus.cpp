// Writes the seed corpora of the fuzz targets: small valid inputs made with
// the project's own encoders, so every fuzzer starts from real structure
// (envelopes, class versions, container sizes, every operation and effect
// kind) instead of discovering the format byte by byte.
//
//   make_corpus <dir>   writes <dir>/<fuzz target>/<seed name>
//
// Seeds are deterministic except the tree head's SM2 signature (a fresh key
// each run); that changes no structure the fuzzer sees.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "jixiao/common/form_codec.h"
#include "jixiao/common/form_json.h"
#include "jixiao/common/form_template.h"
#include "jixiao/sync/model.h"
#include "jixiao/sync/protocol.h"
#include "jixiao/workflow/clock.h"
#include "jixiao/workflow/tree_head.h"

namespace jixiao::sync {
namespace {

namespace fs = std::filesystem;

class SeedWriter {
 public:
  explicit SeedWriter(fs::path root) : root_(std::move(root)) {}

  void write(std::string_view target, std::string_view name, std::string_view bytes) {
    const fs::path dir = root_ / target;
    fs::create_directories(dir);
    std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
      std::fprintf(stderr, "make_corpus: cannot write %s\n", (dir / name).c_str());
      failed_ = true;
    }
    ++written_;
  }
  bool failed() const { return failed_; }
  int written() const { return written_; }

 private:
  fs::path root_;
  bool failed_ = false;
  int written_ = 0;
};

CellValue text(std::string s) { return CellValue::of_text(std::move(s)); }

constexpr const char* kFormId = "3f2b6c1e-0d4a-4e8b-9a51-7c2d9e0f1a23";

Operation make_op(std::string id, OpPayload payload) {
  Operation op;
  op.id = std::move(id);
  op.form_id = kFormId;
  op.author = "p1";
  op.device = "dev-p1";
  op.hlc = HybridTimestamp{1'637'560'000'000, 3};
  op.base_seq = 41;
  op.payload = std::move(payload);
  return op;
}

// One operation of every kind, in OpPayload's order.
std::vector<Operation> every_operation_kind() {
  std::vector<Operation> ops;
  ops.push_back(make_op("op-1", CreateForm{{"project_self_eval_row_points", 1}, "731101", "保定市竞秀区科学技术协会",
                                           2021, MoneyUnit::kWanYuan}));
  ops.push_back(make_op("op-2", SetCell{CellRef{"funds", "total", "executed"},
                                        CellValue::of_money(Money::from_fen(808'647'564)), CellValue::dash()}));
  ops.push_back(make_op("op-3", InsertRow{"indicators", "row-9", "row-8",
                                          {{"target", text("≥90%")},
                                           {"points", CellValue::of_number(Decimal::from_micros(9'500'000, 1))}}}));
  ops.push_back(make_op("op-4", DeleteRow{"indicators", "row-3"}));
  WorkflowAction approve;
  approve.action = workflow::Action::kApprove;
  approve.expected_version = 3;
  approve.content_hash = "9c1e";
  approve.evidence = workflow::MeetingEvidence{"主席会", "2021-03-15", "第15次主席会", "保科协纪〔2021〕3号", "同意",
                                               {"sha256:ab12"}};
  ops.push_back(make_op("op-5", approve));
  ops.push_back(make_op("op-6", ResolveConflict{"op-2", Resolution::kNewValue, text("商定后的名称")}));
  workflow::RoundSpec spec{"round-2021", 2021, "保财预[2021]4号", workflow::utc_time(2021, 3, 31, 17, 0),
                           {{"731101", {"project_self_eval_row_points", "department_self_eval"}}}};
  ops.push_back(make_op("op-7", OpenRound{spec}));
  return ops;
}

workflow::SubmissionState sample_workflow() {
  workflow::SubmissionState s;
  s.submission_id = kFormId;
  s.unit = "731101";
  s.form_kind = "project_self_eval_row_points";
  s.round_id = "round-2021";
  s.definition_id = "district-default";
  s.definition_version = 1;
  s.version = 2;
  s.phase = workflow::Phase::kInReview;
  s.stage_id = "unit_review";
  s.signoffs.push_back({"unit_review", "r1"});
  s.updated_at = workflow::utc_time(2021, 3, 1, 9, 0);
  s.first_submitted_at = workflow::utc_time(2021, 3, 1, 8, 0);
  return s;
}

ConflictRecord sample_conflict() {
  ConflictRecord c;
  c.id = "op-2";
  c.form_id = kFormId;
  c.kind = ConflictKind::kDeleteOfEditedRow;
  c.cell = CellRef{"indicators", "row-1", ""};
  c.winner = ConflictSide{text("李四"), "p2", "dev-p2", {2, 0}, "op-x"};
  c.loser = ConflictSide{CellValue::of_number(Decimal::from_int(3)), "p1", "dev-p1", {1, 0}, "op-2"};
  c.row_cells = {{"target", text("≥500人次")}};
  c.resolved = true;
  c.resolution = Resolution::kTakeLoser;
  c.resolved_by = "p1";
  return c;
}

// A small form: the template's blank form would make seeds of many
// kilobytes; a few fields and one table row carry the same structure.
Form sample_form() {
  Form f;
  f.id = kFormId;
  f.template_ref = {"project_self_eval_row_points", 1};
  f.unit_code = "731101";
  f.unit_name = "竞秀区科协";
  f.fiscal_year = 2021;
  f.money_unit = MoneyUnit::kWanYuan;
  f.fields["project_name"] = text("科普日");
  f.fields["budget"] = CellValue::of_money(Money::from_fen(1'000'000));
  f.fields["note"] = CellValue::dash();
  f.tables["indicators"].rows.push_back(Row{"row-1", {{"points", CellValue::of_number(Decimal::from_int(10))}}});
  return f;
}

FormReplica sample_replica() {
  FormReplica r;
  r.form = sample_form();
  r.workflow = sample_workflow();
  r.stamps["fields.project_name"] = CellStamp{12, {1'637'560'000'000, 0}, "dev-p1", "p1"};
  r.deleted_rows["indicators[row-0]"] = 9;
  const ConflictRecord c = sample_conflict();
  r.conflicts[c.id] = c;
  r.last_seq = 44;
  return r;
}

// One effect of every kind, in Effect's order.
LogEntry sample_entry() {
  LogEntry e;
  e.seq = 45;
  e.form_id = kFormId;
  e.op_id = "op-9";
  e.author = "p2";
  e.device = "dev-p2";
  e.hlc = {1'637'560'000'500, 0};
  e.effects.emplace_back(FormCreated{sample_form(), sample_workflow()});
  e.effects.emplace_back(CellWritten{CellRef::field("project_name"), text("李四的名称")});
  e.effects.emplace_back(RowInserted{"indicators", "row-2", "row-1", {{"actual", text("620人次")}}});
  e.effects.emplace_back(RowDeleted{"indicators", "row-1"});
  e.effects.emplace_back(WorkflowChanged{sample_workflow()});
  e.effects.emplace_back(ConflictOpened{sample_conflict()});
  e.effects.emplace_back(ConflictClosed{"op-2", Resolution::kTakeLoser, "p1"});
  return e;
}

RoundReport sample_round_report() {
  RoundReport report;
  report.round.spec = std::get<OpenRound>(every_operation_kind().back().payload).spec;
  report.round.finance_bureau = "730000";
  report.round.opened_by = "f1";
  report.round.opened_at = workflow::utc_time(2021, 3, 1, 8, 0);
  workflow::FormProgress p;
  p.unit = "731101";
  p.form_kind = "project_self_eval_row_points";
  p.kind = workflow::ProgressKind::kInReview;
  p.submissions = 1;
  p.holder = workflow::Holder{"unit_review", "单位审核", Role::kUnitReviewer, "731101"};
  p.return_count = 1;
  p.overdue = true;
  report.progress.push_back(p);
  return report;
}

void write_sync_seeds(SeedWriter& seeds) {
  SyncRequest request;
  request.request_id = 7;
  request.device = "dev-p1";
  request.user = "p1";
  request.cursor = 41;
  request.max_response_bytes = 65'536;
  const std::string empty_request = encode_message(request);
  seeds.write("fuzz_sync_request", "empty", empty_request);
  for (const Operation& op : every_operation_kind()) {
    SyncRequest one = request;
    one.ops.push_back(op);
    seeds.write("fuzz_sync_request", "op_" + std::string(op_kind_name(op.payload)), encode_message(one));
  }
  request.ops = every_operation_kind();
  const std::string full_request = encode_message(request);
  seeds.write("fuzz_sync_request", "every_kind", full_request);

  SyncResponse response;
  response.request_id = 7;
  response.cursor = 45;
  const std::string empty_response = encode_message(response);
  seeds.write("fuzz_sync_response", "empty", empty_response);
  response.results.push_back(OpResult{"op-1", 42, StatusCode::kOk, 0, {}});
  response.results.push_back(
      OpResult{"op-2", 0, StatusCode::kFailedPrecondition, 203, "表单已提交审核，只有草稿或被退回的表单可以修改"});
  seeds.write("fuzz_sync_response", "results", encode_message(response));
  SyncResponse entries = response;
  entries.entries.push_back(sample_entry());
  entries.more = true;
  seeds.write("fuzz_sync_response", "entries", encode_message(entries));
  SyncResponse snapshot;
  snapshot.request_id = 8;
  snapshot.snapshots.push_back(FormSnapshot{sample_replica()});
  seeds.write("fuzz_sync_response", "snapshot", encode_message(snapshot));
  SyncResponse rounds;
  rounds.request_id = 9;
  rounds.rounds.push_back(sample_round_report());
  seeds.write("fuzz_sync_response", "rounds", encode_message(rounds));
  // As an office client of release 2 and a version-3 one without
  // capabilities read them (FormProgress without `unassigned`).
  seeds.write("fuzz_sync_response", "rounds_v2", encode_message(rounds, WireOptions{2, {}}));
  seeds.write("fuzz_sync_response", "rounds_v3_no_caps", encode_message(rounds, WireOptions{3, {}}));

  const std::string error =
      encode_message(ErrorResponse{7, StatusCode::kUnavailable, 0, NextStep::kRetry, "服务器繁忙，请稍后重试"});

  LoginRequest password{"p1", "dev-p1", "密码123", "", "jixiao 0.1.0", Capabilities::all()};
  LoginRequest resume{"p1", "dev-p1", "", "tok-0123456789abcdef", "jixiao 0.1.0", Capabilities::all()};
  LoginResponse welcome;
  welcome.token = "tok-0123456789abcdef";
  welcome.user = User{"p1", "张三", "731101", {Role::kPreparer, Role::kUnitReviewer}, false};
  welcome.unit_name = "竞秀区科协";
  welcome.server_time_ms = 1'637'560'000'000;
  welcome.capabilities = Capabilities::all();
  seeds.write("fuzz_login", "request_password", encode_message(password));
  seeds.write("fuzz_login", "request_password_v2", encode_message(password, WireOptions{2, {}}));
  seeds.write("fuzz_login", "response_v2", encode_message(welcome, WireOptions{2, {}}));
  seeds.write("fuzz_login", "request_token", encode_message(resume));
  seeds.write("fuzz_login", "response", encode_message(welcome));

  // The envelope target sees one message of every type, and an envelope
  // with nothing after it.
  seeds.write("fuzz_envelope", "sync_request", full_request);
  seeds.write("fuzz_envelope", "sync_response", encode_message(entries));
  seeds.write("fuzz_envelope", "error_response", error);
  seeds.write("fuzz_envelope", "login_request", encode_message(password));
  seeds.write("fuzz_envelope", "login_response", encode_message(welcome));
  seeds.write("fuzz_envelope", "envelope_only", std::string_view(empty_request).substr(0, kEnvelopeBytes));
}

void write_blob_seeds(SeedWriter& seeds) {
  seeds.write("fuzz_local_blobs", "replica", encode_replica(sample_replica()));
  seeds.write("fuzz_local_blobs", "entry", encode_entry(sample_entry()));
  for (const Operation& op : every_operation_kind()) {
    seeds.write("fuzz_local_blobs", "op_" + std::string(op_kind_name(op.payload)), encode_operation(op));
  }
  seeds.write("fuzz_local_blobs", "form", encode_form(sample_form()));
}

// The fixtures (tests/fixtures) are copied beside these by CMake.
bool write_form_json_seeds(SeedWriter& seeds) {
  TemplateRegistry templates;
  if (const Status s = templates.load_directory(JIXIAO_TEMPLATE_DIR); !s) {
    std::fprintf(stderr, "make_corpus: cannot load templates: %s\n", s.to_string().c_str());
    return false;
  }
  for (const FormTemplate* tmpl : templates.all()) {
    const Form blank = new_blank_form(*tmpl, "731101", "竞秀区科协", 2021);
    seeds.write("fuzz_form_json", "blank_" + tmpl->id + ".json", form_to_json(blank, *tmpl));
  }
  return true;
}

bool write_tree_head_seeds(SeedWriter& seeds) {
  auto signer = workflow::TreeHeadSigner::generate();
  if (!signer) {
    std::fprintf(stderr, "make_corpus: %s\n", signer.status().to_string().c_str());
    return false;
  }
  workflow::TreeHead head;
  head.tree_size = 1024;
  head.root.fill(0x5A);
  head.timestamp = workflow::utc_time(2021, 3, 31, 17, 0);
  auto sth = signer->sign(head);
  if (!sth) {
    std::fprintf(stderr, "make_corpus: %s\n", sth.status().to_string().c_str());
    return false;
  }
  const auto signed_bytes = workflow::encode_signed_tree_head(*sth);
  seeds.write("fuzz_tree_head", "signed", {reinterpret_cast<const char*>(signed_bytes.data()), signed_bytes.size()});
  workflow::SignedTreeHead unsigned_head;  // the shortest valid one: empty fields
  const auto empty_bytes = workflow::encode_signed_tree_head(unsigned_head);
  seeds.write("fuzz_tree_head", "empty_fields", {reinterpret_cast<const char*>(empty_bytes.data()), empty_bytes.size()});
  return true;
}

}  // namespace
}  // namespace jixiao::sync

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus dir>\n", argc > 0 ? argv[0] : "make_corpus");
    return 2;
  }
  jixiao::sync::SeedWriter seeds{std::filesystem::path(argv[1])};
  jixiao::sync::write_sync_seeds(seeds);
  jixiao::sync::write_blob_seeds(seeds);
  const bool ok = jixiao::sync::write_form_json_seeds(seeds) && jixiao::sync::write_tree_head_seeds(seeds);
  if (!ok || seeds.failed()) return 1;
  std::printf("make_corpus: %d seeds in %s\n", seeds.written(), argv[1]);
  return 0;
}
