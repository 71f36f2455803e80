// sync::decide() without a database: the organisation, templates, workflow
// engines and rounds are plain values, the form's replica is built by
// applying the decided effects with apply_entry(), exactly as the server and
// every client do.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "jixiao/common/form_codec.h"
#include "jixiao/common/uuid.h"
#include "jixiao/sync/decide.h"
#include "jixiao/sync/merge.h"
#include "jixiao/sync/protocol.h"
#include "jixiao/workflow/definition.h"
#include "jixiao/workflow/engine.h"
#include "jixiao/workflow/refusal.h"
#include "test_support.h"

namespace jixiao::sync {
namespace {

using testing::shipped_templates;
using workflow::Action;
using workflow::Phase;
using workflow::Refusal;

constexpr char kBureau[] = "F001";
constexpr char kCity[] = "731002";
constexpr char kDistrictA[] = "731101";
constexpr char kDistrictB[] = "731102";
constexpr char kTemplate[] = "project_self_eval_row_points";

std::uint16_t reason_of(Refusal r) { return static_cast<std::uint16_t>(r); }
std::uint16_t reason_of(SyncReason r) { return static_cast<std::uint16_t>(r); }

class DecideTest : public ::testing::Test {
 protected:
  DecideTest() : clock_(workflow::utc_time(2022, 1, 10, 9, 0)) {
    add_unit({kBureau, "保定市财政局", UnitLevel::kFinanceBureau, "", ""});
    add_unit({kCity, "保定市科学技术协会", UnitLevel::kCity, "", kBureau});
    add_unit({kDistrictA, "竞秀区科协", UnitLevel::kDistrict, kCity, kBureau});
    add_unit({kDistrictB, "莲池区科协", UnitLevel::kDistrict, kCity, kBureau});
    users_["p1"] = User{"p1", "张三", kDistrictA, {Role::kPreparer}, false};
    users_["p2"] = User{"p2", "李四", kDistrictA, {Role::kPreparer}, false};
    users_["r1"] = User{"r1", "王审核", kDistrictA, {Role::kUnitReviewer}, false};
    users_["p3"] = User{"p3", "孙填报", kDistrictB, {Role::kPreparer}, false};
    users_["c1"] = User{"c1", "周主任", kCity, {Role::kSupervisor}, false};
    users_["f1"] = User{"f1", "吴科长", kBureau, {Role::kFinanceReviewer}, false};
    for (const char* name : {"district-default.json", "city-default.json"}) {
      auto def = workflow::load_workflow_definition(std::string(JIXIAO_SOURCE_DIR) + "/workflow/definitions/" + name);
      if (!def) throw std::runtime_error(def.status().to_string());
      definitions_.push_back(std::move(def).value());
    }
    for (const auto& def : definitions_) {
      engines_.push_back(std::make_unique<workflow::WorkflowEngine>(def, org_, clock_));
    }
  }

  void add_unit(Unit u) {
    const Status s = org_.add_unit(std::move(u));
    if (!s) throw std::runtime_error(s.to_string());
  }

  const workflow::WorkflowEngine* engine_for_unit(const UnitCode& code) const {
    const Unit* unit = org_.find(code);
    if (unit == nullptr) return nullptr;
    auto def = workflow::select_workflow_definition(definitions_, *unit);
    if (!def) return nullptr;
    for (std::size_t i = 0; i < definitions_.size(); ++i) {
      if (&definitions_[i] == *def) return engines_[i].get();
    }
    return nullptr;
  }

  const workflow::WorkflowEngine* engine_for_state(const workflow::SubmissionState& s) const {
    for (std::size_t i = 0; i < definitions_.size(); ++i) {
      if (definitions_[i].id == s.definition_id && definitions_[i].version == s.definition_version) {
        return engines_[i].get();
      }
    }
    return nullptr;
  }

  Result<Decision> run(const Operation& op, const std::optional<FormReplica>& replica) {
    const DecideContext context{
        shipped_templates(),
        org_,
        [this](const UnitCode& u) { return engine_for_unit(u); },
        [this](const workflow::SubmissionState& s) { return engine_for_state(s); },
        rounds_,
        clock_};
    const ServerSeq seq = replica ? replica->last_seq + 1 : 1;
    return decide(op, users_.at(op.author), replica, seq, context);
  }

  Operation op(const UserId& user, const FormId& form, OpPayload payload) {
    return Operation{new_uuid_v4(), form, user, "dev-" + user, HybridTimestamp{++hlc_ms_, 0}, 0, std::move(payload)};
  }

  CreateForm create(const UnitCode& unit = kDistrictA, int year = 2021) {
    return CreateForm{{kTemplate, 1}, unit, "竞秀区科协", year, MoneyUnit::kWanYuan};
  }

  // Decides `o` against `replica`, which must be accepted, and applies its
  // effects to the replica as the server logs them. Returns the decision.
  Decision accept(FormReplica& replica, const Operation& o) {
    const bool fresh = replica.form.id.empty();
    auto d = run(o, fresh ? std::nullopt : std::optional<FormReplica>(replica));
    if (!d) throw std::runtime_error("refused: " + d.status().to_string());
    LogEntry entry{replica.last_seq + 1, o.form_id, o.id, o.author, o.device, o.hlc, d->effects};
    apply_entry(replica, entry);
    return std::move(d).value();
  }

  // A draft created by p1 in 731101 (a blank form: amount 0, below the
  // meeting threshold, so the meeting stages do not apply).
  FormReplica draft(const FormId& id) {
    FormReplica r;
    accept(r, op("p1", id, create()));
    return r;
  }

  WorkflowAction action(Action a, const FormReplica& r) {
    return WorkflowAction{a, r.workflow.version, form_content_hash(r.form), {}, {}, {}};
  }

  workflow::Round round(const std::string& id, int year, std::vector<workflow::RoundRequirement> requirements) {
    workflow::Round r;
    r.spec.round_id = id;
    r.spec.fiscal_year = year;
    r.spec.notice_number = "保财预[" + std::to_string(year) + "]4号";
    r.spec.deadline = workflow::utc_time(year + 1, 3, 31, 17, 0);
    r.spec.requirements = std::move(requirements);
    r.finance_bureau = kBureau;
    r.opened_by = "f1";
    r.opened_at = clock_.now();
    return r;
  }

  workflow::ManualClock clock_;
  Organisation org_;
  std::map<UserId, User> users_;
  std::vector<workflow::WorkflowDefinition> definitions_;
  std::vector<std::unique_ptr<workflow::WorkflowEngine>> engines_;
  std::vector<workflow::Round> rounds_;
  std::int64_t hlc_ms_ = 1'641'805'200'000;
};

TEST_F(DecideTest, CreateFormByAPreparerYieldsTheFormAContentAuditEventAndVisibilityForItsUnit) {
  const FormId id = new_uuid_v4();
  auto d = run(op("p1", id, create()), std::nullopt);
  ASSERT_TRUE(d.is_ok()) << d.status().to_string();
  EXPECT_TRUE(d->about_a_form);
  EXPECT_FALSE(d->new_round.has_value());
  ASSERT_EQ(d->effects.size(), 1u);
  const auto* created = std::get_if<FormCreated>(&d->effects[0]);
  ASSERT_NE(created, nullptr) << "effect index " << d->effects[0].index();
  EXPECT_EQ(created->form.id, id);
  EXPECT_EQ(created->form.unit_code, kDistrictA);
  EXPECT_EQ(created->form.template_ref.id, kTemplate);
  EXPECT_EQ(created->form.fiscal_year, 2021);
  EXPECT_EQ(created->form.money_unit, MoneyUnit::kWanYuan);
  EXPECT_EQ(created->workflow.submission_id, id);
  EXPECT_EQ(created->workflow.unit, kDistrictA);
  EXPECT_EQ(created->workflow.phase, Phase::kDraft);
  EXPECT_EQ(created->workflow.definition_id, "district-default");
  EXPECT_TRUE(created->workflow.round_id.empty());  // no round is open
  ASSERT_EQ(d->audit.size(), 1u);
  EXPECT_EQ(d->audit[0].kind, workflow::AuditKind::kContentChange);
  EXPECT_EQ(d->audit[0].actor, "p1");
  EXPECT_EQ(d->audit[0].device, "dev-p1");
  EXPECT_EQ(d->audit[0].subject, id);
  EXPECT_EQ(d->audit[0].at, clock_.now());
  EXPECT_EQ(d->newly_visible_to, std::vector<UnitCode>{kDistrictA});
}

TEST_F(DecideTest, ANewFormJoinsTheRoundOpenForItsUnitYearAndTemplate) {
  rounds_.push_back(round("round-2020", 2020, {{kDistrictA, {kTemplate}}}));
  rounds_.push_back(round("round-2021", 2021, {{kDistrictA, {kTemplate}}, {kDistrictB, {kTemplate}}}));
  rounds_.push_back(round("round-2021-other-kind", 2021, {{kDistrictA, {"project_target"}}}));
  auto d = run(op("p1", new_uuid_v4(), create(kDistrictA, 2021)), std::nullopt);
  ASSERT_TRUE(d.is_ok()) << d.status().to_string();
  ASSERT_EQ(d->effects.size(), 1u);
  EXPECT_EQ(std::get<FormCreated>(d->effects[0]).workflow.round_id, "round-2021");
}

TEST_F(DecideTest, ANewFormDoesNotJoinARoundOfAnotherYear) {
  rounds_.push_back(round("round-2021", 2021, {{kDistrictA, {kTemplate}}}));
  auto d = run(op("p1", new_uuid_v4(), create(kDistrictA, 2022)), std::nullopt);
  ASSERT_TRUE(d.is_ok()) << d.status().to_string();
  ASSERT_EQ(d->effects.size(), 1u);
  EXPECT_EQ(std::get<FormCreated>(d->effects[0]).workflow.round_id, "");
}

TEST_F(DecideTest, ANewFormDoesNotJoinARoundThatDoesNotRequireItsUnit) {
  rounds_.push_back(round("round-2021", 2021, {{kDistrictB, {kTemplate}}}));
  auto d = run(op("p1", new_uuid_v4(), create(kDistrictA, 2021)), std::nullopt);
  ASSERT_TRUE(d.is_ok()) << d.status().to_string();
  EXPECT_EQ(std::get<FormCreated>(d->effects.at(0)).workflow.round_id, "");
}

TEST_F(DecideTest, CreateFormForAnotherUnitIsRefusedAsOutOfScope) {
  auto d = run(op("p1", new_uuid_v4(), create(kDistrictB)), std::nullopt);
  ASSERT_FALSE(d.is_ok());
  EXPECT_EQ(d.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(d.status().reason(), reason_of(SyncReason::kOutOfScope));
  EXPECT_EQ(d.status().message(), "只能为本单位创建表单");
}

TEST_F(DecideTest, CreateFormWithAnIdThatExistsIsRefused) {
  const FormId id = new_uuid_v4();
  const FormReplica existing = draft(id);
  auto d = run(op("p1", id, create()), existing);
  ASSERT_FALSE(d.is_ok());
  EXPECT_EQ(d.status().reason(), reason_of(SyncReason::kFormExists));
}

TEST_F(DecideTest, OpenRoundWithAnIdThatExistsIsRefused) {
  rounds_.push_back(round("round-2021", 2021, {{kDistrictA, {kTemplate}}}));
  workflow::RoundSpec spec = round("round-2021", 2022, {{kDistrictB, {kTemplate}}}).spec;
  auto d = run(op("f1", spec.round_id, OpenRound{spec}), std::nullopt);
  ASSERT_FALSE(d.is_ok());
  EXPECT_EQ(d.status().reason(), reason_of(SyncReason::kFormExists));
  EXPECT_EQ(d.status().message(), "评价批次编号已存在");
}

TEST_F(DecideTest, OpenRoundWithANewIdReturnsTheRoundAndIsNotAboutAForm) {
  rounds_.push_back(round("round-2021", 2021, {{kDistrictA, {kTemplate}}}));
  workflow::RoundSpec spec = round("round-2022", 2022, {{kDistrictA, {kTemplate}}, {kDistrictB, {kTemplate}}}).spec;
  auto d = run(op("f1", spec.round_id, OpenRound{spec}), std::nullopt);
  ASSERT_TRUE(d.is_ok()) << d.status().to_string();
  EXPECT_FALSE(d->about_a_form);
  ASSERT_TRUE(d->new_round.has_value());
  EXPECT_EQ(d->new_round->spec, spec);
  EXPECT_EQ(d->new_round->finance_bureau, kBureau);
  EXPECT_EQ(d->new_round->opened_by, "f1");
  EXPECT_TRUE(d->effects.empty());
  EXPECT_TRUE(d->newly_visible_to.empty());
  ASSERT_EQ(d->audit.size(), 1u);
  EXPECT_EQ(d->audit[0].kind, workflow::AuditKind::kRoundOpened);
}

TEST_F(DecideTest, OpenRoundByAPreparerIsRefusedByTheRoundRules) {
  workflow::RoundSpec spec = round("round-2022", 2022, {{kDistrictA, {kTemplate}}}).spec;
  auto d = run(op("p1", spec.round_id, OpenRound{spec}), std::nullopt);
  ASSERT_FALSE(d.is_ok());
  EXPECT_EQ(d.status().reason(), reason_of(Refusal::kRoleNotPermitted));
}

TEST_F(DecideTest, AnEditByAPreparerWritesTheCellAndAuditsOldAndNew) {
  const FormId id = new_uuid_v4();
  FormReplica r = draft(id);
  auto d = run(op("p2", id, SetCell{CellRef::field("project_name"), CellValue::of_text("科普经费"), {}}), r);
  ASSERT_TRUE(d.is_ok()) << d.status().to_string();
  ASSERT_EQ(d->effects.size(), 1u);
  const auto* written = std::get_if<CellWritten>(&d->effects[0]);
  ASSERT_NE(written, nullptr);
  EXPECT_EQ(written->cell, CellRef::field("project_name"));
  EXPECT_EQ(written->value.text, "科普经费");
  EXPECT_TRUE(d->newly_visible_to.empty());
  ASSERT_EQ(d->audit.size(), 1u);
  EXPECT_EQ(d->audit[0].kind, workflow::AuditKind::kContentChange);
  EXPECT_EQ(d->audit[0].actor, "p2");
  ASSERT_NE(d->audit[0].field("new"), nullptr);
  EXPECT_EQ(*d->audit[0].field("new"), "科普经费");
}

TEST_F(DecideTest, AnEditByAReviewerIsRefusedWithTheWorkflowsRefusal) {
  const FormId id = new_uuid_v4();
  const FormReplica r = draft(id);
  auto d = run(op("r1", id, SetCell{CellRef::field("project_name"), CellValue::of_text("审核人改"), {}}), r);
  ASSERT_FALSE(d.is_ok());
  EXPECT_EQ(d.status().reason(), reason_of(Refusal::kEditNotPermitted)) << d.status().to_string();
  // Exactly what the engine says about this user and state.
  const Status engine_says = engine_for_state(r.workflow)->check_edit(r.workflow, users_.at("r1"));
  EXPECT_EQ(d.status().reason(), engine_says.reason());
  EXPECT_EQ(d.status().message(), engine_says.message());
}

TEST_F(DecideTest, AnEditAfterSubmissionIsRefusedAsNotEditable) {
  const FormId id = new_uuid_v4();
  FormReplica r = draft(id);
  accept(r, op("p1", id, action(Action::kSubmit, r)));
  auto d = run(op("p2", id, SetCell{CellRef::field("project_name"), CellValue::of_text("提交后改"), {}}), r);
  ASSERT_FALSE(d.is_ok());
  EXPECT_EQ(d.status().reason(), reason_of(Refusal::kNotEditableInState));
}

TEST_F(DecideTest, ASubmitWhoseContentHashDiffersFromTheReplicasIsStale) {
  const FormId id = new_uuid_v4();
  FormReplica r = draft(id);
  const std::string seen = form_content_hash(r.form);
  accept(r, op("p2", id, SetCell{CellRef::field("project_name"), CellValue::of_text("同事的修改"), {}}));
  ASSERT_NE(form_content_hash(r.form), seen);
  auto d = run(op("p1", id, WorkflowAction{Action::kSubmit, r.workflow.version, seen, {}, {}, {}}), r);
  ASSERT_FALSE(d.is_ok());
  EXPECT_EQ(d.status().reason(), reason_of(Refusal::kStaleContent));
  EXPECT_EQ(d.status().code(), StatusCode::kConflict);
  // The same submit with the replica's hash goes through.
  auto ok = run(op("p1", id, action(Action::kSubmit, r)), r);
  EXPECT_TRUE(ok.is_ok()) << ok.status().to_string();
}

TEST_F(DecideTest, VisibilityGrowsOnlyWhenTheFormReachesAnotherUnitsStage) {
  const FormId id = new_uuid_v4();
  FormReplica r = draft(id);

  // 提交: to 单位审核, the district's own stage: nobody new sees it.
  const Decision submitted = accept(r, op("p1", id, action(Action::kSubmit, r)));
  EXPECT_TRUE(submitted.newly_visible_to.empty());
  ASSERT_EQ(submitted.effects.size(), 1u);
  ASSERT_TRUE(std::holds_alternative<WorkflowChanged>(submitted.effects[0]));
  EXPECT_EQ(r.workflow.phase, Phase::kInReview);
  EXPECT_EQ(r.workflow.stage_id, "unit_review");
  ASSERT_FALSE(submitted.audit.empty());
  EXPECT_EQ(submitted.audit[0].kind, workflow::AuditKind::kWorkflowAction);

  // 通过 at 单位审核 (below the meeting threshold): to 上级审核, the city's.
  const Decision approved = accept(r, op("r1", id, action(Action::kApprove, r)));
  EXPECT_EQ(r.workflow.stage_id, "supervisor_review");
  EXPECT_EQ(approved.newly_visible_to, std::vector<UnitCode>{kCity});

  // 通过 at 上级审核: to 财政局审核, the bureau's.
  const Decision city = accept(r, op("c1", id, action(Action::kApprove, r)));
  EXPECT_EQ(r.workflow.stage_id, "finance_review");
  EXPECT_EQ(city.newly_visible_to, std::vector<UnitCode>{kBureau});

  // 受理: accepted, no stage, nobody new.
  const Decision accepted = accept(r, op("f1", id, action(Action::kAccept, r)));
  EXPECT_EQ(r.workflow.phase, Phase::kAccepted);
  EXPECT_TRUE(accepted.newly_visible_to.empty());
}

TEST_F(DecideTest, AnOperationOnAnUnknownFormIsRefused) {
  const FormId id = new_uuid_v4();
  auto edit = run(op("p1", id, SetCell{CellRef::field("project_name"), CellValue::of_text("x"), {}}), std::nullopt);
  ASSERT_FALSE(edit.is_ok());
  EXPECT_EQ(edit.status().reason(), reason_of(SyncReason::kUnknownForm));
  EXPECT_EQ(edit.status().code(), StatusCode::kNotFound);
  auto submit = run(op("p1", id, WorkflowAction{Action::kSubmit, 0, "x", {}, {}, {}}), std::nullopt);
  ASSERT_FALSE(submit.is_ok());
  EXPECT_EQ(submit.status().reason(), reason_of(SyncReason::kUnknownForm));
}

TEST_F(DecideTest, DecidingTwiceGivesTheSameEffectsAndChangesNothingGiven) {
  const FormId id = new_uuid_v4();
  const FormReplica r = draft(id);
  const FormReplica before = r;
  const Operation edit = op("p1", id, SetCell{CellRef::field("project_name"), CellValue::of_text("科普经费"), {}});
  auto first = run(edit, r);
  auto second = run(edit, r);
  ASSERT_TRUE(first.is_ok());
  ASSERT_TRUE(second.is_ok());
  EXPECT_EQ(first->effects, second->effects);
  EXPECT_EQ(r, before);
}

}  // namespace
}  // namespace jixiao::sync
