// One readable test per merge rule of sync/src/merge.cpp (each rule is
// commented there as CONFLICT: / RESOLUTION: and listed in docs/sync.md).
//
// The tests play the server by hand: decide_content_effects() on the
// server's replica, then apply_entry() of the logged effects, exactly as
// server::SyncService does, on a project self-evaluation form of the shipped template.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "jixiao/common/form_json.h"
#include "jixiao/sync/merge.h"
#include "test_support.h"

namespace jixiao::sync {
namespace {

using testing::show;

constexpr char kFormId[] = "form-1";

// Two offices working on one form. Device ids order the tie-break:
// "dev-a" < "dev-b".
struct Author {
  UserId user;
  DeviceId device;
};
const Author kZhang{"p1", "dev-a"};
const Author kLi{"p2", "dev-b"};

CellValue text(std::string s) { return CellValue::of_text(std::move(s)); }
CellValue fen(std::int64_t f) { return CellValue::of_money(Money::from_fen(f)); }

class MergeRules : public ::testing::Test {
 protected:
  const FormTemplate& tmpl = testing::shipped_template("project_self_eval_row_points");
  int next_op = 0;

  Operation op(const Author& who, std::int64_t hlc_ms, ServerSeq base_seq, OpPayload payload) {
    Operation o;
    o.id = "op-" + std::to_string(++next_op);
    o.form_id = kFormId;
    o.author = who.user;
    o.device = who.device;
    o.hlc = HybridTimestamp{hlc_ms, 0};
    o.base_seq = base_seq;
    o.payload = std::move(payload);
    return o;
  }
  Operation set(const Author& who, std::int64_t hlc_ms, ServerSeq base_seq, const std::string& cell, CellValue value,
                CellValue base_value = {}) {
    auto ref = CellRef::parse(cell);
    EXPECT_TRUE(ref.is_ok()) << cell;
    return op(who, hlc_ms, base_seq, SetCell{ref.is_ok() ? *ref : CellRef{}, std::move(value), std::move(base_value)});
  }
  Operation insert(const Author& who, std::int64_t hlc_ms, ServerSeq base_seq, const RowId& row,
                   std::map<std::string, CellValue> cells = {}, const RowId& after = {}) {
    return op(who, hlc_ms, base_seq, InsertRow{"indicators", row, after, std::move(cells)});
  }
  Operation erase(const Author& who, std::int64_t hlc_ms, ServerSeq base_seq, const RowId& row) {
    return op(who, hlc_ms, base_seq, DeleteRow{"indicators", row});
  }
  Operation resolve(const Author& who, std::int64_t hlc_ms, const std::string& conflict_id, Resolution resolution,
                    CellValue value = {}) {
    return op(who, hlc_ms, 0, ResolveConflict{conflict_id, resolution, std::move(value)});
  }

  // The form as the server holds it after its creation (seq 1).
  FormReplica created() {
    Form form = new_blank_form(tmpl, "731101", "保定市竞秀区科学技术协会", 2021);
    form.id = kFormId;
    LogEntry e;
    e.seq = 1;
    e.form_id = kFormId;
    e.op_id = "op-create";
    e.author = kZhang.user;
    e.device = kZhang.device;
    e.hlc = HybridTimestamp{100, 0};
    e.effects.emplace_back(FormCreated{std::move(form), {}});
    FormReplica r;
    apply_entry(r, e);
    return r;
  }

  // What the server does with an accepted content operation: decide its
  // effects on the current replica, log them at the next seq, apply them.
  LogEntry accept(FormReplica& server, const Operation& o) {
    const ServerSeq seq = server.last_seq + 1;
    auto effects = decide_content_effects(server, o, tmpl, seq);
    EXPECT_TRUE(effects.is_ok()) << o.id << ": " << effects.status().to_string();
    if (!effects) return {};
    LogEntry e{seq, o.form_id, o.id, o.author, o.device, o.hlc, *effects};
    apply_entry(server, e);
    return e;
  }

  // The refusal the server gives a malformed operation (the replica is untouched).
  Status refusal(const FormReplica& server, const Operation& o) {
    auto effects = decide_content_effects(server, o, tmpl, server.last_seq + 1);
    EXPECT_FALSE(effects.is_ok()) << o.id << " was accepted";
    return effects.status();
  }

  static std::string field(const FormReplica& r, const std::string& key) { return show(r.form.field(key)); }
  static std::string cell(const FormReplica& r, const std::string& ref) {
    auto parsed = CellRef::parse(ref);
    if (!parsed) return "bad ref";
    const CellValue* v = find_cell(r.form, *parsed);
    return v == nullptr ? "no row" : show(*v);
  }
  static std::vector<std::string> conflicts(const FormReplica& r) {
    std::vector<std::string> out;
    for (const auto& [id, c] : r.conflicts) out.push_back(show(c));
    return out;
  }
  static std::vector<RowId> rows(const FormReplica& r) {
    std::vector<RowId> out;
    if (const Table* t = r.form.table("indicators")) {
      for (const Row& row : t->rows) out.push_back(row.id);
    }
    return out;
  }
};

std::uint16_t reason(SyncReason r) { return static_cast<std::uint16_t>(r); }

// ---- different cells --------------------------------------------------------------

TEST_F(MergeRules, ConcurrentEditsOfDifferentCellsBothApplyWithoutConflict) {
  FormReplica server = created();
  // Both offices start from seq 1 and work offline.
  const Operation name = set(kZhang, 1000, 1, "fields.project_name", text("科普日活动经费"));
  const Operation budget = set(kLi, 900, 1, "funds[total].full_year_budget", fen(2'500'000'00));
  accept(server, name);
  accept(server, budget);

  EXPECT_EQ(field(server, "project_name"), "text:科普日活动经费");
  EXPECT_EQ(cell(server, "funds[total].full_year_budget"), "money:250000000");
  EXPECT_TRUE(server.conflicts.empty());
  EXPECT_EQ(server.last_seq, 3U);
}

TEST_F(MergeRules, EveryReplicaThatAppliesTheLogEndsIdenticalToTheServer) {
  FormReplica server = created();
  std::vector<LogEntry> log;
  log.push_back(accept(server, set(kZhang, 1000, 1, "fields.project_name", text("A"))));
  log.push_back(accept(server, set(kLi, 1100, 1, "fields.project_name", text("B"))));
  log.push_back(accept(server, insert(kLi, 1200, 1, "row-1", {{"level3", text("培训人次")}})));

  FormReplica client = created();
  for (const LogEntry& e : log) apply_entry(client, e);
  EXPECT_EQ(replica_hash(client), replica_hash(server));

  // Replaying the log (a duplicated or resent response) changes nothing.
  for (const LogEntry& e : log) apply_entry(client, e);
  EXPECT_EQ(client, server);
}

// ---- same cell ----------------------------------------------------------------------

TEST_F(MergeRules, SameCellConcurrentLaterTimestampWinsAndLoserIsKeptInEitherOrderOfArrival) {
  const Operation early = set(kZhang, 1000, 1, "fields.project_name", text("张三的名称"));
  const Operation late = set(kLi, 2000, 1, "fields.project_name", text("李四的名称"));

  FormReplica early_first = created();
  accept(early_first, early);
  accept(early_first, late);
  FormReplica late_first = created();
  accept(late_first, late);
  accept(late_first, early);

  EXPECT_EQ(field(early_first, "project_name"), "text:李四的名称");
  EXPECT_EQ(field(late_first, "project_name"), "text:李四的名称");
  const std::vector<std::string> expected{
      "same_cell fields.project_name winner=p2@dev-b:text:李四的名称 loser=p1@dev-a:text:张三的名称 open"};
  EXPECT_EQ(conflicts(early_first), expected);
  EXPECT_EQ(conflicts(late_first), expected);
  // Whichever arrived first, the loser's own operation is named in the record.
  const ConflictRecord& a = early_first.conflicts.begin()->second;
  const ConflictRecord& b = late_first.conflicts.begin()->second;
  EXPECT_EQ(a.id, late.id);  // the second arrival opened it
  EXPECT_EQ(a.winner.op_id, late.id);
  EXPECT_EQ(b.id, early.id);
  EXPECT_EQ(b.loser.op_id, early.id);
  EXPECT_EQ(a.winner.hlc, b.winner.hlc);
  EXPECT_EQ(a.loser.hlc, b.loser.hlc);
}

TEST_F(MergeRules, SameCellSameTimestampTheGreaterDeviceIdWins) {
  const Operation from_a = set(kZhang, 1000, 1, "fields.department", text("科普部"));
  const Operation from_b = set(kLi, 1000, 1, "fields.department", text("学会部"));

  FormReplica ab = created();
  accept(ab, from_a);
  accept(ab, from_b);
  FormReplica ba = created();
  accept(ba, from_b);
  accept(ba, from_a);

  EXPECT_EQ(field(ab, "department"), "text:学会部");
  EXPECT_EQ(field(ba, "department"), "text:学会部");
  EXPECT_EQ(conflicts(ab), conflicts(ba));
  EXPECT_EQ(conflicts(ab), (std::vector<std::string>{
                               "same_cell fields.department winner=p2@dev-b:text:学会部 loser=p1@dev-a:text:科普部 open"}));
}

TEST_F(MergeRules, SameCellSameValueIsNoConflict) {
  FormReplica server = created();
  accept(server, set(kZhang, 1000, 1, "funds[total].executed", fen(100)));
  accept(server, set(kLi, 900, 1, "funds[total].executed", fen(100)));
  EXPECT_EQ(cell(server, "funds[total].executed"), "money:100");
  EXPECT_TRUE(server.conflicts.empty());
}

TEST_F(MergeRules, EditBasedOnTheEarlierWriteIsNotConcurrentAndSimplyApplies) {
  FormReplica server = created();
  const LogEntry first = accept(server, set(kZhang, 5000, 1, "fields.project_name", text("旧名称")));
  // 李四 synced (base_seq covers the first write) and then edited, even
  // though his clock is behind: causality, not wall time, decides.
  accept(server, set(kLi, 1000, first.seq, "fields.project_name", text("新名称")));
  EXPECT_EQ(field(server, "project_name"), "text:新名称");
  EXPECT_TRUE(server.conflicts.empty());
}

TEST_F(MergeRules, TwoEditsFromOneDeviceAreNeverInConflictWithEachOther) {
  FormReplica server = created();
  // Both made offline from seq 1; the second overwrites the first.
  accept(server, set(kZhang, 1000, 1, "funds[fiscal].executed", fen(500)));
  accept(server, set(kZhang, 1001, 1, "funds[fiscal].executed", fen(700)));
  EXPECT_EQ(cell(server, "funds[fiscal].executed"), "money:700");
  EXPECT_TRUE(server.conflicts.empty());
}

// ---- long text ----------------------------------------------------------------------

TEST_F(MergeRules, LongTextChangesOnDifferentLinesMergeSilently) {
  const std::string base = "1.举办科普日活动\n2.开展科技培训\n3.发放宣传资料";
  FormReplica server = created();
  const LogEntry seeded = accept(server, set(kZhang, 1000, 1, "fields.goal_expected", text(base)));

  accept(server, set(kZhang, 2000, seeded.seq, "fields.goal_expected",
                     text("1.举办科普日活动3场\n2.开展科技培训\n3.发放宣传资料"), text(base)));
  accept(server, set(kLi, 1500, seeded.seq, "fields.goal_expected",
                     text("1.举办科普日活动\n2.开展科技培训\n3.发放宣传资料5000份"), text(base)));

  EXPECT_EQ(field(server, "goal_expected"), "text:1.举办科普日活动3场\n2.开展科技培训\n3.发放宣传资料5000份");
  EXPECT_TRUE(server.conflicts.empty());
}

TEST_F(MergeRules, LongTextChangesOfTheSameLineBecomeATextOverlapConflict) {
  const std::string base = "偏差原因：\n资金拨付较晚";
  FormReplica server = created();
  const LogEntry seeded = accept(server, set(kZhang, 1000, 1, "fields.low_rate_explanation", text(base)));

  accept(server, set(kZhang, 2000, seeded.seq, "fields.low_rate_explanation",
                     text("偏差原因：\n资金于11月才拨付"), text(base)));
  const Operation li = set(kLi, 3000, seeded.seq, "fields.low_rate_explanation",
                           text("偏差原因：\n项目延期至次年"), text(base));
  accept(server, li);

  EXPECT_EQ(field(server, "low_rate_explanation"), "text:偏差原因：\n项目延期至次年");
  EXPECT_EQ(conflicts(server), (std::vector<std::string>{
                                   "text_overlap fields.low_rate_explanation winner=p2@dev-b:text:偏差原因：\n项目延期至次年 "
                                   "loser=p1@dev-a:text:偏差原因：\n资金于11月才拨付 open"}));
  EXPECT_EQ(server.conflicts.begin()->first, li.id);
}

TEST_F(MergeRules, LongTextInATableCellMergesToo) {
  FormReplica server = created();
  const std::string base = "原因一\n原因二";
  accept(server, insert(kZhang, 1000, 1, "row-1", {{"deviation", text(base)}}));
  accept(server, set(kZhang, 2000, 2, "indicators[row-1].deviation", text("原因一（已补充）\n原因二"), text(base)));
  accept(server, set(kLi, 2100, 2, "indicators[row-1].deviation", text("原因一\n原因二\n措施：加强管理"), text(base)));
  EXPECT_EQ(cell(server, "indicators[row-1].deviation"), "text:原因一（已补充）\n原因二\n措施：加强管理");
  EXPECT_TRUE(server.conflicts.empty());
}

// A device that edits one text twice offline sends two operations; the
// second one's base is the first one's value. When the first was merged
// with a colleague's concurrent change, the second must not overwrite that
// change (it is neither in the text nor in any conflict record otherwise).
TEST_F(MergeRules, SecondOfflineEditOfATextKeepsAColleaguesChangeMergedIntoTheFirst) {
  const std::string base = "第一行\n第二行\n第三行";
  FormReplica server = created();
  const LogEntry seeded = accept(server, set(kZhang, 1000, 1, "fields.narr_work", text(base)));
  // 李四 changes the last line and syncs first.
  accept(server, set(kLi, 2000, seeded.seq, "fields.narr_work", text("第一行\n第二行\n第三行（李）"), text(base)));
  // 张三, offline since seq 2, changed the first line and then the second.
  const std::string first_edit = "第一行（张）\n第二行\n第三行";
  accept(server, set(kZhang, 3000, seeded.seq, "fields.narr_work", text(first_edit), text(base)));
  accept(server, set(kZhang, 3001, seeded.seq, "fields.narr_work", text("第一行（张）\n第二行（张）\n第三行"),
                     text(first_edit)));

  EXPECT_EQ(field(server, "narr_work"), "text:第一行（张）\n第二行（张）\n第三行（李）");
  EXPECT_TRUE(server.conflicts.empty());
}

TEST_F(MergeRules, SecondOfflineEditOverlappingAColleaguesMergedChangeKeepsItInAConflict) {
  const std::string base = "第一行\n第二行\n第三行";
  FormReplica server = created();
  const LogEntry seeded = accept(server, set(kZhang, 1000, 1, "fields.narr_work", text(base)));
  accept(server, set(kLi, 2000, seeded.seq, "fields.narr_work", text("第一行\n第二行\n第三行（李）"), text(base)));
  const std::string first_edit = "第一行（张）\n第二行\n第三行";
  accept(server, set(kZhang, 3000, seeded.seq, "fields.narr_work", text(first_edit), text(base)));
  // The second edit rewrites the very line 李四 changed.
  accept(server, set(kZhang, 3001, seeded.seq, "fields.narr_work", text("第一行（张）\n第二行\n第三行（张）"),
                     text(first_edit)));

  EXPECT_EQ(field(server, "narr_work"), "text:第一行（张）\n第二行\n第三行（张）");
  EXPECT_EQ(conflicts(server), (std::vector<std::string>{
                                   "text_overlap fields.narr_work winner=p1@dev-a:text:第一行（张）\n第二行\n第三行（张） "
                                   "loser=p1@dev-a:text:第一行（张）\n第二行\n第三行（李） open"}));
}

TEST(MergeText, NonOverlappingChangesAreBothKept) {
  EXPECT_EQ(merge_text("a\nb\nc", "A\nb\nc", "a\nb\nC"), "A\nb\nC");
  // An insertion at the top and one at the bottom.
  EXPECT_EQ(merge_text("a\nb", "z\na\nb", "a\nb\nc"), "z\na\nb\nc");
  // A deletion and an edit further away.
  EXPECT_EQ(merge_text("a\nb\nc\nd", "b\nc\nd", "a\nb\nc\nD"), "b\nc\nD");
}

TEST(MergeText, OneSideUnchangedTakesTheOther) {
  EXPECT_EQ(merge_text("base", "base", "theirs"), "theirs");
  EXPECT_EQ(merge_text("base", "mine", "base"), "mine");
  EXPECT_EQ(merge_text("", "", "新写的"), "新写的");
}

TEST(MergeText, TheSameChangeOnBothSidesIsMadeOnce) {
  EXPECT_EQ(merge_text("a\nb", "a\nB", "a\nB"), "a\nB");
  // The shared change is made once, the other change beside it kept.
  EXPECT_EQ(merge_text("a\nb\nc", "A\nb\nC", "A\nb\nc"), "A\nb\nC");
}

TEST(MergeText, ChangesOfTheSameLineOverlap) {
  EXPECT_EQ(merge_text("a\nb\nc", "a\nX\nc", "a\nY\nc"), std::nullopt);
  EXPECT_EQ(merge_text("", "mine", "theirs"), std::nullopt);
}

TEST(MergeText, InsertionsAtTheSamePlaceOverlapBecauseTheirOrderWouldBeAGuess) {
  EXPECT_EQ(merge_text("a\nb", "a\nx\nb", "a\ny\nb"), std::nullopt);
  // An insertion touching a changed line.
  EXPECT_EQ(merge_text("a\nb\nc", "a\nnew\nb\nc", "a\nB\nc"), std::nullopt);
}

// ---- rows ---------------------------------------------------------------------------

TEST_F(MergeRules, RowsInsertedConcurrentlyOnTwoMachinesBothSurvive) {
  const Operation zhang = insert(kZhang, 1000, 1, "row-zhang", {{"level3", text("举办活动场次")}});
  const Operation li = insert(kLi, 1000, 1, "row-li", {{"level3", text("参与人数")}});

  FormReplica ab = created();
  accept(ab, zhang);
  accept(ab, li);
  FormReplica ba = created();
  accept(ba, li);
  accept(ba, zhang);

  EXPECT_EQ(rows(ab), (std::vector<RowId>{"row-zhang", "row-li"}));
  EXPECT_EQ(rows(ba), (std::vector<RowId>{"row-li", "row-zhang"}));  // the server's order decides
  EXPECT_EQ(cell(ab, "indicators[row-li].level3"), "text:参与人数");
  EXPECT_TRUE(ab.conflicts.empty());
  EXPECT_TRUE(ba.conflicts.empty());
}

TEST_F(MergeRules, RowInsertedAfterAnotherRowGoesRightAfterIt) {
  FormReplica server = created();
  accept(server, insert(kZhang, 1000, 1, "row-1"));
  accept(server, insert(kZhang, 1001, 1, "row-3"));
  accept(server, insert(kLi, 1002, 1, "row-2", {}, "row-1"));
  // After a row that is gone: at the end.
  accept(server, insert(kLi, 1003, 1, "row-4", {}, "row-unknown"));
  EXPECT_EQ(rows(server), (std::vector<RowId>{"row-1", "row-2", "row-3", "row-4"}));
}

TEST_F(MergeRules, EditOfARowDeletedElsewhereBecomesAConflictAndTheValueIsKept) {
  FormReplica server = created();
  const LogEntry inserted = accept(server, insert(kZhang, 1000, 1, "row-1", {{"target", text("≥90%")}}));
  accept(server, erase(kZhang, 2000, inserted.seq, "row-1"));
  const Operation edit = set(kLi, 3000, inserted.seq, "indicators[row-1].actual", text("95%"));
  const LogEntry logged = accept(server, edit);

  EXPECT_EQ(rows(server), std::vector<RowId>{});
  EXPECT_EQ(conflicts(server), (std::vector<std::string>{
                                   "edit_of_deleted_row indicators[row-1].actual winner=@:empty loser=p2@dev-b:text:95% open"}));
  EXPECT_EQ(server.conflicts.at(edit.id).loser.op_id, edit.id);
  EXPECT_EQ(logged.seq, 4U);  // logged, so every replica shows the conflict
}

TEST_F(MergeRules, DeleteOfARowEditedElsewhereKeepsTheRowsValuesInAConflict) {
  FormReplica server = created();
  const LogEntry inserted =
      accept(server, insert(kZhang, 1000, 1, "row-1", {{"level3", text("培训人次")}, {"target", text("≥500人次")}}));
  accept(server, set(kLi, 2000, inserted.seq, "indicators[row-1].actual", text("620人次")));
  const Operation del = erase(kZhang, 3000, inserted.seq, "row-1");
  accept(server, del);

  EXPECT_EQ(rows(server), std::vector<RowId>{});
  ASSERT_EQ(server.conflicts.size(), 1U);
  const ConflictRecord& c = server.conflicts.at(del.id);
  EXPECT_EQ(show(c), "delete_of_edited_row indicators[row-1]. winner=p1@dev-a:empty loser=p2@dev-b:empty open");
  EXPECT_EQ(show(c.row_cells.at("actual")), "text:620人次");
  EXPECT_EQ(show(c.row_cells.at("target")), "text:≥500人次");
  EXPECT_EQ(show(c.row_cells.at("level3")), "text:培训人次");

  // Taking the losing side restores the row with its values.
  accept(server, resolve(kLi, 4000, del.id, Resolution::kTakeLoser));
  EXPECT_EQ(rows(server), std::vector<RowId>{"row-1"});
  EXPECT_EQ(cell(server, "indicators[row-1].actual"), "text:620人次");
  EXPECT_EQ(cell(server, "indicators[row-1].target"), "text:≥500人次");
  EXPECT_TRUE(server.conflicts.at(del.id).resolved);
  EXPECT_EQ(server.conflicts.at(del.id).resolved_by, "p2");
  // The restored row is an ordinary row again: it can be edited.
  accept(server, set(kZhang, 5000, server.last_seq, "indicators[row-1].score", CellValue::of_number(Decimal::from_int(5))));
  EXPECT_EQ(cell(server, "indicators[row-1].score"), "number:5");
}

TEST_F(MergeRules, DeleteOfARowNobodyElseTouchedIsNoConflict) {
  FormReplica server = created();
  const LogEntry inserted = accept(server, insert(kLi, 1000, 1, "row-1", {{"target", text("及时")}}));
  accept(server, erase(kZhang, 2000, inserted.seq, "row-1"));
  EXPECT_TRUE(server.conflicts.empty());
  EXPECT_EQ(server.deleted_rows.at("indicators[row-1]"), 3U);
}

TEST_F(MergeRules, DeletingARowThatIsAlreadyGoneChangesNothing) {
  FormReplica server = created();
  accept(server, insert(kZhang, 1000, 1, "row-1"));
  accept(server, erase(kZhang, 2000, 2, "row-1"));
  const LogEntry again = accept(server, erase(kLi, 2500, 2, "row-1"));
  EXPECT_TRUE(again.effects.empty());
  EXPECT_TRUE(server.conflicts.empty());
}

// ---- resolving conflicts ------------------------------------------------------------

class ResolveRules : public MergeRules {
 protected:
  FormReplica server = created();
  std::string conflict_id;
  void SetUp() override {
    accept(server, set(kZhang, 1000, 1, "fields.project_name", text("张三的名称")));
    const Operation late = set(kLi, 2000, 1, "fields.project_name", text("李四的名称"));
    accept(server, late);
    conflict_id = late.id;
    ASSERT_EQ(server.conflicts.count(conflict_id), 1U);
  }
};

TEST_F(ResolveRules, KeepWinnerClosesTheConflictAndLeavesTheValue) {
  accept(server, resolve(kZhang, 3000, conflict_id, Resolution::kKeepWinner));
  EXPECT_EQ(field(server, "project_name"), "text:李四的名称");
  EXPECT_EQ(conflicts(server), (std::vector<std::string>{
                                   "same_cell fields.project_name winner=p2@dev-b:text:李四的名称 "
                                   "loser=p1@dev-a:text:张三的名称 resolved"}));
  EXPECT_EQ(server.conflicts.at(conflict_id).resolution, Resolution::kKeepWinner);
}

TEST_F(ResolveRules, TakeLoserWritesTheLosingValue) {
  accept(server, resolve(kLi, 3000, conflict_id, Resolution::kTakeLoser));
  EXPECT_EQ(field(server, "project_name"), "text:张三的名称");
  EXPECT_TRUE(server.conflicts.at(conflict_id).resolved);
  EXPECT_EQ(server.conflicts.at(conflict_id).resolved_by, "p2");
}

TEST_F(ResolveRules, NewValueWritesWhatTheResolverTyped) {
  accept(server, resolve(kZhang, 3000, conflict_id, Resolution::kNewValue, text("商定后的名称")));
  EXPECT_EQ(field(server, "project_name"), "text:商定后的名称");
  EXPECT_EQ(server.conflicts.at(conflict_id).resolution, Resolution::kNewValue);
}

TEST_F(ResolveRules, NewValueOfTheWrongTypeIsRefused) {
  const Status s = refusal(server, resolve(kZhang, 3000, conflict_id, Resolution::kNewValue, fen(100)));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.reason(), reason(SyncReason::kBadCell));
}

TEST_F(ResolveRules, ResolvingAnAlreadyResolvedConflictIsRefused) {
  accept(server, resolve(kZhang, 3000, conflict_id, Resolution::kKeepWinner));
  const Status s = refusal(server, resolve(kLi, 3100, conflict_id, Resolution::kTakeLoser));
  EXPECT_EQ(s.code(), StatusCode::kConflict);
  EXPECT_EQ(s.reason(), reason(SyncReason::kConflictClosed));
  EXPECT_EQ(field(server, "project_name"), "text:李四的名称");  // the first resolution stands
}

TEST_F(ResolveRules, ResolvingAnUnknownConflictIsRefused) {
  const Status s = refusal(server, resolve(kZhang, 3000, "no-such-conflict", Resolution::kKeepWinner));
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.reason(), reason(SyncReason::kConflictMissing));
}

TEST_F(MergeRules, AnEditOfADeletedRowCanOnlyBeResolvedByKeepingTheDelete) {
  FormReplica server = created();
  accept(server, insert(kZhang, 1000, 1, "row-1"));
  accept(server, erase(kZhang, 2000, 2, "row-1"));
  const Operation edit = set(kLi, 3000, 2, "indicators[row-1].actual", text("95%"));
  accept(server, edit);

  EXPECT_EQ(refusal(server, resolve(kLi, 4000, edit.id, Resolution::kTakeLoser)).reason(),
            reason(SyncReason::kRowMissing));
  EXPECT_EQ(refusal(server, resolve(kLi, 4000, edit.id, Resolution::kNewValue, text("96%"))).reason(),
            reason(SyncReason::kBadCell));
  accept(server, resolve(kLi, 4000, edit.id, Resolution::kKeepWinner));
  EXPECT_TRUE(server.conflicts.at(edit.id).resolved);
}

// ---- malformed operations -----------------------------------------------------------

TEST_F(MergeRules, UnknownCellIsRefused) {
  const FormReplica server = created();
  const Status field_status = refusal(server, set(kZhang, 1000, 1, "fields.no_such_field", text("x")));
  EXPECT_EQ(field_status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(field_status.reason(), reason(SyncReason::kBadCell));
  EXPECT_EQ(refusal(server, set(kZhang, 1000, 1, "funds[no_such_row].executed", fen(1))).reason(),
            reason(SyncReason::kBadCell));
  EXPECT_EQ(refusal(server, set(kZhang, 1000, 1, "no_table[x].y", text("x"))).reason(), reason(SyncReason::kBadCell));
}

TEST_F(MergeRules, ValueOfTheWrongTypeIsRefused) {
  const FormReplica server = created();
  EXPECT_EQ(refusal(server, set(kZhang, 1000, 1, "fields.project_name", fen(100))).reason(),
            reason(SyncReason::kBadCell));
  EXPECT_EQ(refusal(server, set(kZhang, 1000, 1, "funds[total].executed", text("一百元"))).reason(),
            reason(SyncReason::kBadCell));
  EXPECT_EQ(refusal(server, set(kZhang, 1000, 1, "fields.project_type", text("不存在的类型"))).reason(),
            reason(SyncReason::kBadCell));
  EXPECT_EQ(refusal(server, set(kZhang, 1000, 1, "funds[total].executed", fen(-1))).reason(),
            reason(SyncReason::kBadCell));
  EXPECT_EQ(refusal(server, insert(kZhang, 1000, 1, "row-1", {{"points", text("五分")}})).reason(),
            reason(SyncReason::kBadCell));
  EXPECT_EQ(refusal(server, insert(kZhang, 1000, 1, "row-1", {{"no_such_column", text("x")}})).reason(),
            reason(SyncReason::kBadCell));
}

TEST_F(MergeRules, DuplicateRowIdIsRefusedEvenAfterTheRowWasDeleted) {
  FormReplica server = created();
  accept(server, insert(kZhang, 1000, 1, "row-1"));
  const Status s = refusal(server, insert(kLi, 1100, 1, "row-1"));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.reason(), reason(SyncReason::kRowExists));
  accept(server, erase(kZhang, 1200, 2, "row-1"));
  EXPECT_EQ(refusal(server, insert(kLi, 1300, 3, "row-1")).reason(), reason(SyncReason::kRowExists));
}

TEST_F(MergeRules, MissingRowIsRefused) {
  const FormReplica server = created();
  const Status edit = refusal(server, set(kZhang, 1000, 1, "indicators[never-existed].actual", text("1个")));
  EXPECT_EQ(edit.code(), StatusCode::kNotFound);
  EXPECT_EQ(edit.reason(), reason(SyncReason::kRowMissing));
  EXPECT_EQ(refusal(server, erase(kZhang, 1000, 1, "never-existed")).reason(), reason(SyncReason::kRowMissing));
}

TEST_F(MergeRules, RowsOfFixedTablesCannotBeInsertedOrDeleted) {
  const FormReplica server = created();
  EXPECT_EQ(refusal(server, op(kZhang, 1000, 1, InsertRow{"funds", "extra", {}, {}})).reason(),
            reason(SyncReason::kBadCell));
  EXPECT_EQ(refusal(server, op(kZhang, 1000, 1, DeleteRow{"funds", "total"})).reason(), reason(SyncReason::kBadCell));
  EXPECT_EQ(refusal(server, insert(kZhang, 1000, 1, "")).reason(), reason(SyncReason::kBadCell));
}

TEST_F(MergeRules, WorkflowActionsAreNotContentOperations) {
  const FormReplica server = created();
  auto effects = decide_content_effects(server, op(kZhang, 1000, 1, WorkflowAction{}), tmpl, 2);
  EXPECT_EQ(effects.status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace jixiao::sync
