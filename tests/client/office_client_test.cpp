// The office client's library API and its command line against a real
// server::SyncService and AccountStore in process: accounts, offline work, two
// colleagues, a whole workflow round, conflicts, rejected changes.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "fake_server.h"
#include "jixiao/client/cli.h"
#include "jixiao/client/office_client.h"
#include "jixiao/client/results_json.h"
#include "jixiao/common/uuid.h"

namespace jixiao::client::testing {
namespace {

struct CliRun {
  int code;
  std::string out;
  std::string err;
};

class OfficeClientTest : public ::testing::Test {
 protected:
  OfficeClientTest() : clock_(workflow::utc_time(2022, 3, 1, 8, 0)), server_(clock_) {}

  void SetUp() override { server_.start(); }

  std::filesystem::path dir(const std::string& user) {
    auto it = dirs_.find(user);
    if (it != dirs_.end()) return it->second;
    return dirs_[user] = temp_dir(user);
  }

  ClientOptions options(const std::string& user) {
    ClientOptions o;
    o.data_dir = dir(user) / "data";
    o.templates = &server_.templates;
    o.workflows = server_.workflows;
    o.clock = &clock_;
    o.connect = server_.factory();
    o.hashing = {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
    return o;
  }

  std::unique_ptr<OfficeClient> open(const std::string& user) {
    auto c = OfficeClient::open(options(user));
    EXPECT_TRUE(c.is_ok()) << c.status().to_string();
    return c.is_ok() ? std::move(*c) : nullptr;
  }

  std::unique_ptr<OfficeClient> registered(const std::string& user) {
    auto c = open(user);
    const Status s = c->register_device("ws://127.0.0.1:9/sync", user, "", kPassword);
    EXPECT_TRUE(s.is_ok()) << s.to_string();
    return c;
  }

  static void sync_ok(OfficeClient& c) {
    auto r = c.sync();
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  }

  std::string password_file() {
    const auto path = dir("_pw") / "password.txt";
    std::ofstream(path) << kPassword << "\n";
    return path.string();
  }

  CliRun cli(const std::string& user, std::vector<std::string> args) {
    args.insert(args.end(), {"--data", (dir(user) / "data").string(), "--templates", JIXIAO_TEMPLATE_DIR,
                             "--workflows", std::string(JIXIAO_SOURCE_DIR) + "/workflow/definitions"});
    CliEnvironment env;
    env.connect = server_.factory();
    env.clock = &clock_;
    env.hashing = UnlockHashing{crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
    env.interactive = false;
    env.seed = 42;
    env.sleep = [this](std::chrono::milliseconds d) { slept_.push_back(d); };
    std::ostringstream out, err;
    const int code = run_cli(args, "", out, err, env);
    return {code, out.str(), err.str()};
  }

  // A project form of p1's unit below the meeting threshold (1.5 万元).
  // Synced once unless `synced` is false.
  FormId small_form(OfficeClient& c, bool synced = true, const std::string& name = "青少年科技创新大赛") {
    auto id = c.create_form("project_self_eval_row_points", 2021);
    EXPECT_TRUE(id.is_ok()) << id.status().to_string();
    EXPECT_TRUE(c.set_cell(*id, "fields.project_name", name).is_ok());
    EXPECT_TRUE(c.set_cell(*id, "funds[total].full_year_budget", "1.5").is_ok());
    if (synced) {
      auto r = c.sync();
      EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    }
    return *id;
  }

  workflow::Phase server_phase(const FormId& id) { return server_.sync->replica(id)->workflow.phase; }
  std::string server_stage(const FormId& id) { return server_.sync->replica(id)->workflow.stage_id; }

  static bool todo_has(OfficeClient& c, const FormId& id, TodoItem::Kind kind = TodoItem::Kind::kForm) {
    auto items = c.todo();
    EXPECT_TRUE(items.is_ok()) << items.status().to_string();
    for (const TodoItem& t : *items) {
      if (t.kind == kind && t.form.summary.id == id) return true;
    }
    return false;
  }

  workflow::ManualClock clock_;
  FakeServer server_;
  std::map<std::string, std::filesystem::path> dirs_;
  std::vector<std::chrono::milliseconds> slept_;
};

// ---- accounts -----------------------------------------------------------------------------

TEST_F(OfficeClientTest, RegisterLogsInSyncsAndStoresTokenAndUnlockVerifier) {
  const CliRun r = cli("p1", {"register", "--server", "ws://127.0.0.1:9/sync", "--user", "p1", "--password-file",
                              password_file()});
  ASSERT_EQ(r.code, kExitOk) << r.out << r.err;
  EXPECT_NE(r.out.find("张三"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("竞秀区科协"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("填报人"), std::string::npos) << r.out;

  std::ifstream in(dir("p1") / "data" / "client.json");
  const auto meta = nlohmann::json::parse(in);
  EXPECT_EQ(meta["login"], "p1");
  EXPECT_EQ(meta["token"].get<std::string>().size(), 64u);
  EXPECT_EQ(meta["unlock_verifier"].get<std::string>().rfind("$argon2id$", 0), 0u);
  EXPECT_TRUE(is_uuid(meta["device_id"].get<std::string>()));
  EXPECT_EQ(meta.dump().find(kPassword), std::string::npos) << "the password itself is never stored";
  const auto perms = std::filesystem::status(dir("p1") / "data" / "client.json").permissions();
  EXPECT_EQ(perms & std::filesystem::perms::others_read, std::filesystem::perms::none);
}

TEST_F(OfficeClientTest, UnlockChecksThePasswordOfflineAndLogoutForgetsTheToken) {
  auto c = registered("p1");
  server_.up = false;
  EXPECT_TRUE(c->unlock(kPassword).is_ok());
  EXPECT_EQ(c->unlock("wrong-password-1").code(), StatusCode::kPermissionDenied);

  const std::string wrong = (dir("p1") / "wrong.txt").string();
  std::ofstream(wrong) << "wrong-password-1\n";
  c.reset();
  EXPECT_EQ(cli("p1", {"unlock", "--password-file", password_file()}).code, kExitOk);
  const CliRun bad = cli("p1", {"unlock", "--password-file", wrong});
  EXPECT_EQ(bad.code, kExitFailed);
  EXPECT_NE(bad.err.find("密码错误"), std::string::npos) << bad.err;

  server_.up = true;
  EXPECT_EQ(cli("p1", {"logout"}).code, kExitOk);
  const CliRun no_login = cli("p1", {"sync"});
  EXPECT_EQ(no_login.code, kExitFailed);
  EXPECT_NE(no_login.err.find("登录"), std::string::npos) << no_login.err;
  const CliRun again = cli("p1", {"sync", "--password-file", password_file()});
  EXPECT_EQ(again.code, kExitOk) << again.err;
}

TEST_F(OfficeClientTest, AWrongPasswordAtRegisterIsRefusedWithTheServersReason) {
  const std::string wrong = (dir("p1") / "wrong.txt").string();
  std::ofstream(wrong) << "not-the-password-9\n";
  const CliRun r = cli("p1", {"register", "--server", "ws://127.0.0.1:9/sync", "--user", "p1", "--password-file", wrong});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_NE(r.err.find("用户名或密码错误"), std::string::npos) << r.err;
  // The settings stay, so `login` can finish the job.
  const CliRun later = cli("p1", {"login", "--password-file", password_file()});
  EXPECT_EQ(later.code, kExitOk) << later.err;
}

TEST_F(OfficeClientTest, LocalCommandsBeforeAnyLoginSayWhatToDo) {
  const CliRun r = cli("p1", {"forms"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_NE(r.err.find("本机尚未登录过，请先联网注册或登录（命令行：jixiao register --server 地址 --user 用户名，或 jixiao login）"),
            std::string::npos)
      << r.err;
}

TEST_F(OfficeClientTest, LibraryErrorsSayWhatIsWrongInChineseAndNameNoCommand) {
  auto c = open("p1");
  ASSERT_NE(c, nullptr);
  const Status forms = c->forms().status();
  EXPECT_EQ(forms.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(forms.message(), "本机尚未登录过，请先联网注册或登录");
  const Status synced = c->sync().status();
  EXPECT_EQ(synced.message(), "尚未设置服务器地址，请先注册本机");
  EXPECT_EQ(c->unlock("x").message(), "本机还没有可用于离线解锁的密码，请先联网登录一次");

  auto p1 = registered("p2");
  EXPECT_EQ(p1->create_form("no_such_template", 2021).status().message(), "未知的表单模板“no_such_template”");
  EXPECT_EQ(p1->create_form("project_self_eval_row_points", std::nullopt).status().message(), "需要指定年度（如 2021）");
  EXPECT_EQ(p1->resolve_form("deadbeef00").status().message(), "本机没有编号为“deadbeef00”的表单");
  for (const Status& st : {forms, synced, p1->create_form("no_such_template", 2021).status()}) {
    EXPECT_EQ(st.message().find("jixiao"), std::string::npos) << st.message();
    EXPECT_EQ(st.message().find("--"), std::string::npos) << st.message();
  }
  // The command line adds its own hint.
  const CliRun r = cli("p2", {"create", "no_such_template", "--year", "2021"});
  EXPECT_NE(r.err.find("未知的表单模板“no_such_template”（命令行：jixiao templates 查看可用模板）"), std::string::npos)
      << r.err;
}

TEST_F(OfficeClientTest, ResultsHaveJsonEncodings) {
  ASSERT_EQ(cli("p1", {"register", "--server", "ws://127.0.0.1:9/sync", "--user", "p1", "--password-file",
                       password_file()})
                .code,
            kExitOk);
  server_.up = false;
  const CliRun created = cli("p1", {"create", "project_self_eval_row_points", "--year", "2021"});
  ASSERT_EQ(created.code, kExitOk) << created.err;
  const std::string id = created.out.substr(created.out.find("表单 ") + 7, 36);
  ASSERT_EQ(cli("p1", {"set", id, "fields.project_name", "科普日活动"}).code, kExitOk);

  const auto forms = nlohmann::json::parse(cli("p1", {"forms", "--json"}).out);
  ASSERT_EQ(forms.size(), 1u);
  EXPECT_EQ(forms[0]["id"], id);
  EXPECT_EQ(forms[0]["project_name"], "科普日活动");
  EXPECT_EQ(forms[0]["template"], "project_self_eval_row_points");
  EXPECT_EQ(forms[0]["phase"], "draft");
  EXPECT_EQ(forms[0]["state"], "草稿");
  EXPECT_EQ(forms[0]["fiscal_year"], 2021);
  EXPECT_EQ(forms[0]["pending_ops"], 2);
  EXPECT_EQ(forms[0]["holder"]["role"], "preparer");

  const auto todo = nlohmann::json::parse(cli("p1", {"todo", "--json"}).out);
  ASSERT_EQ(todo.size(), 1u);
  EXPECT_EQ(todo[0]["kind"], "form");
  EXPECT_EQ(todo[0]["what"], "草稿，待填报并提交");
  EXPECT_EQ(todo[0]["form"]["id"], id);

  auto status = nlohmann::json::parse(cli("p1", {"status", "--json"}).out);
  EXPECT_EQ(status["changes_waiting"], 2);
  EXPECT_EQ(status["syncing"], false);
  EXPECT_GT(status["last_sync_ms"].get<std::int64_t>(), 0);  // the first sync at register

  server_.up = true;
  ASSERT_EQ(cli("p1", {"sync"}).code, kExitOk);
  status = nlohmann::json::parse(cli("p1", {"status", "--json"}).out);
  EXPECT_EQ(status["changes_waiting"], 0);
  const auto history = nlohmann::json::parse(cli("p1", {"history", id, "--json"}).out);
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0]["seq"], 1);
  EXPECT_EQ(history[0]["author"], "p1");
  EXPECT_EQ(history[0]["changes"][0], "创建表单（项目支出绩效自评表，2021年度）");
  EXPECT_EQ(history[1]["changes"][0], "修改 项目名称 为“科普日活动”");

  auto c = open("p1");
  auto view = c->view(id);
  ASSERT_TRUE(view.is_ok());
  const auto shown = nlohmann::json::parse(form_view_json(*view, *c->template_of(view->form)));
  EXPECT_EQ(shown["form"]["fields"]["project_name"], "科普日活动");
  EXPECT_EQ(shown["phase"], "draft");
  EXPECT_EQ(shown["last_seq"], 2);
  EXPECT_EQ(shown["open_conflicts"], 0);
}

// ---- offline work ---------------------------------------------------------------------------

TEST_F(OfficeClientTest, OfflineEditsThroughTheCommandLineAreKeptAndSentWhenTheLinkIsBack) {
  ASSERT_EQ(cli("p1", {"register", "--server", "ws://127.0.0.1:9/sync", "--user", "p1", "--password-file",
                       password_file()})
                .code,
            kExitOk);
  server_.up = false;
  const CliRun created = cli("p1", {"create", "project_self_eval_row_points", "--year", "2021"});
  ASSERT_EQ(created.code, kExitOk) << created.err;
  const std::string id = created.out.substr(created.out.find("表单 ") + 7, 36);
  const std::string prefix = id.substr(0, 8);
  EXPECT_EQ(cli("p1", {"set", prefix, "fields.project_name", "科普日活动"}).code, kExitOk);
  EXPECT_EQ(cli("p1", {"set", prefix, "funds[total].executed", "12.5"}).code, kExitOk);
  const CliRun row = cli("p1", {"add-row", prefix, "indicators", "level1=产出指标", "level2=数量指标",
                                "level3=举办活动场次", "target=≥2场", "actual=3场"});
  ASSERT_EQ(row.code, kExitOk) << row.err;
  const CliRun bad = cli("p1", {"set", prefix, "funds[total].executed", "十二万"});
  EXPECT_EQ(bad.code, kExitUnreadable) << bad.err;
  EXPECT_EQ(cli("p1", {"set", prefix, "fields.no_such_field", "x"}).code, kExitUnreadable);
  EXPECT_EQ(cli("p1", {"show", "deadbeef00"}).code, kExitUnreadable);

  const CliRun forms = cli("p1", {"forms"});
  EXPECT_NE(forms.out.find("科普日活动"), std::string::npos) << forms.out;
  EXPECT_NE(forms.out.find("草稿"), std::string::npos) << forms.out;

  const CliRun shown = cli("p1", {"show", prefix, "--json"});
  ASSERT_EQ(shown.code, kExitOk) << shown.err;
  const auto doc = nlohmann::json::parse(shown.out);
  EXPECT_EQ(doc["fields"]["project_name"], "科普日活动");

  const CliRun checked = cli("p1", {"check", prefix});
  EXPECT_NE(checked.code, kExitUnreadable) << checked.err;
  EXPECT_NE(checked.out.find("校验结果"), std::string::npos) << checked.out;

  const CliRun offline = cli("p1", {"sync"});
  EXPECT_EQ(offline.code, kExitFailed);
  EXPECT_NE(offline.err.find("无法连接服务器"), std::string::npos) << offline.err;
  EXPECT_EQ(cli("p1", {"show", prefix, "--json"}).out, shown.out) << "a failed sync loses nothing";

  server_.up = true;
  const CliRun synced = cli("p1", {"sync", "--progress"});
  ASSERT_EQ(synced.code, kExitOk) << synced.err;
  EXPECT_NE(synced.err.find("正在同步：已发送"), std::string::npos) << synced.err;
  EXPECT_NE(synced.out.find("接受 4"), std::string::npos) << synced.out << synced.err;
  auto on_server = server_.sync->replica(id);
  ASSERT_TRUE(on_server.is_ok());
  EXPECT_EQ(on_server->form.field("project_name").text, "科普日活动");
  EXPECT_EQ(on_server->form.table("indicators")->rows.size(), 1u);

  // A history.db of an earlier version is left alone and not read: the
  // history comes from the replica.
  const auto stale = dir("p1") / "data" / "history.db";
  std::ofstream(stale) << "not a database";
  const CliRun history = cli("p1", {"history", prefix});
  ASSERT_EQ(history.code, kExitOk) << history.err;
  EXPECT_TRUE(std::filesystem::exists(stale));
  EXPECT_NE(history.out.find("#1"), std::string::npos) << history.out;
  EXPECT_NE(history.out.find("创建表单"), std::string::npos) << history.out;
  EXPECT_NE(history.out.find("修改 项目名称 为“科普日活动”"), std::string::npos) << history.out;
  EXPECT_NE(history.out.find("在“绩效指标”添加一行（举办活动场次）"), std::string::npos) << history.out;
  EXPECT_NE(history.out.find("2022-03-01 16:00"), std::string::npos) << "China Standard Time\n" << history.out;
}

TEST_F(OfficeClientTest, TwoColleaguesOfOneUnitSeeEachOthersEdits) {
  auto a = registered("p1");
  auto b = registered("p2");
  const FormId id = small_form(*a);
  sync_ok(*a);
  sync_ok(*b);
  auto seen = b->view(id);
  ASSERT_TRUE(seen.is_ok()) << seen.status().to_string();
  EXPECT_EQ(seen->form.field("project_name").text, "青少年科技创新大赛");
  ASSERT_TRUE(b->set_cell(id, "fields.department", "竞秀区科协办公室").is_ok());
  sync_ok(*b);
  sync_ok(*a);
  EXPECT_EQ(a->view(id)->form.field("department").text, "竞秀区科协办公室");
  EXPECT_EQ(a->view(id)->form, b->view(id)->form);
}

TEST_F(OfficeClientTest, AFormIdMayBeAbbreviatedToAUniquePrefixOfEightCharacters) {
  auto c = registered("p1");
  const FormId id = small_form(*c);
  EXPECT_EQ(*c->resolve_form(id), id);
  EXPECT_EQ(*c->resolve_form(id.substr(0, 8)), id);
  EXPECT_EQ(c->resolve_form(id.substr(0, 7)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(c->resolve_form("ffffffff-0000").status().code(), StatusCode::kNotFound);
}

// ---- the workflow ---------------------------------------------------------------------------

TEST_F(OfficeClientTest, AWholeRoundWithOneReturnAndAResubmit) {
  auto p1 = registered("p1");
  auto r1 = registered("r1");
  auto c1 = registered("c1");
  auto f1 = registered("f1");
  const FormId id = small_form(*p1);
  EXPECT_TRUE(todo_has(*p1, id)) << "a draft waits for its preparer";
  ASSERT_TRUE(p1->submit(id).is_ok());
  sync_ok(*p1);
  EXPECT_EQ(server_phase(id), workflow::Phase::kInReview);
  EXPECT_EQ(server_stage(id), "unit_review");
  EXPECT_FALSE(todo_has(*p1, id));

  sync_ok(*r1);
  EXPECT_TRUE(todo_has(*r1, id));
  EXPECT_FALSE(todo_has(*c1, id));
  ASSERT_TRUE(r1->return_form(id, "执行数未填写").is_ok());
  EXPECT_EQ(r1->return_form(id, "").code(), StatusCode::kInvalidArgument);
  sync_ok(*r1);
  EXPECT_EQ(server_phase(id), workflow::Phase::kReturned);

  sync_ok(*p1);
  EXPECT_TRUE(todo_has(*p1, id));
  auto listed = p1->forms();
  ASSERT_TRUE(listed.is_ok());
  EXPECT_EQ(listed->at(0).state_text, "已退回");
  ASSERT_TRUE(p1->set_cell(id, "funds[total].executed", "1.2").is_ok());
  ASSERT_TRUE(p1->resubmit(id).is_ok());
  sync_ok(*p1);
  EXPECT_EQ(server_stage(id), "unit_review");

  sync_ok(*r1);
  EXPECT_TRUE(todo_has(*r1, id));
  ASSERT_TRUE(r1->approve(id, {"同意", std::nullopt}).is_ok());
  sync_ok(*r1);
  EXPECT_EQ(server_stage(id), "supervisor_review") << "below 2万元 the meeting stages are skipped";
  EXPECT_FALSE(todo_has(*r1, id));

  sync_ok(*c1);
  EXPECT_TRUE(todo_has(*c1, id)) << "the city sees the district's form at its stage";
  auto c1_forms = c1->forms();
  EXPECT_EQ(c1_forms->at(0).state_text, "审核中·上级审核");
  ASSERT_TRUE(c1->approve(id, {}).is_ok());
  sync_ok(*c1);
  EXPECT_EQ(server_stage(id), "finance_review");

  sync_ok(*f1);
  EXPECT_TRUE(todo_has(*f1, id));
  EXPECT_FALSE(todo_has(*c1, id));
  ASSERT_TRUE(f1->accept(id, "受理").is_ok());
  sync_ok(*f1);
  EXPECT_EQ(server_phase(id), workflow::Phase::kAccepted);

  sync_ok(*p1);
  auto history = p1->history(id);
  ASSERT_TRUE(history.is_ok());
  std::string all;
  for (const auto& h : *history) {
    for (const auto& line : h.changes) all += line + "\n";
  }
  EXPECT_NE(all.find("流程：已退回，退回原因：执行数未填写"), std::string::npos) << all;
  EXPECT_NE(all.find("流程：审核中·上级审核"), std::string::npos) << all;
  EXPECT_NE(all.find("流程：已受理"), std::string::npos) << all;
}

TEST_F(OfficeClientTest, MeetingStagesTakeTheirEvidenceFromTheCommandLine) {
  for (const char* u : {"p1", "r1", "m1", "m2"}) {
    ASSERT_EQ(cli(u, {"register", "--server", "ws://127.0.0.1:9/sync", "--user", u, "--password-file",
                      password_file()})
                  .code,
              kExitOk)
        << u;
  }
  const CliRun created = cli("p1", {"create", "project_self_eval_row_points", "--year", "2021"});
  const std::string id = created.out.substr(created.out.find("表单 ") + 7, 36);
  ASSERT_EQ(cli("p1", {"set", id, "funds[total].full_year_budget", "50"}).code, kExitOk);  // 50 万元
  // Created, filled and submitted offline: one sync carries all three, and
  // the submit's content hash matches the server's form.
  const CliRun submitted = cli("p1", {"submit", id});
  ASSERT_EQ(submitted.code, kExitOk) << submitted.err;
  ASSERT_EQ(cli("p1", {"sync"}).code, kExitOk);
  EXPECT_EQ(server_stage(id), "unit_review");
  ASSERT_EQ(cli("r1", {"sync"}).code, kExitOk);
  ASSERT_EQ(cli("r1", {"approve", id}).code, kExitOk);
  ASSERT_EQ(cli("r1", {"sync"}).code, kExitOk);
  EXPECT_EQ(server_stage(id), "chair_meeting");

  ASSERT_EQ(cli("m1", {"sync"}).code, kExitOk);
  const CliRun todo = cli("m1", {"todo"});
  EXPECT_NE(todo.out.find("主席会审核"), std::string::npos) << todo.out;
  EXPECT_EQ(cli("m1", {"approve", id, "--meeting-kind", "常委会"}).code, kExitUnreadable);
  const std::string minutes = (dir("m1") / "纪要.pdf").string();
  std::ofstream(minutes) << "abc";
  const CliRun approved = cli("m1", {"approve", id, "--meeting-kind", "主席会", "--meeting-date", "2021-03-15",
                                     "--session", "第3次主席会", "--minutes-no", "〔2021〕3号", "--decision", "同意",
                                     "--attachment", minutes});
  ASSERT_EQ(approved.code, kExitOk) << approved.err;
  ASSERT_EQ(cli("m1", {"sync"}).code, kExitOk);
  EXPECT_EQ(server_stage(id), "party_meeting");
  ASSERT_EQ(server_.sync->replica(id)->workflow.signoffs.size(), 2u);
  ASSERT_EQ(cli("m2", {"sync"}).code, kExitOk);
  ASSERT_EQ(cli("m2", {"approve", id, "--meeting-kind", "党组会", "--meeting-date", "2021-03-20", "--session",
                       "第5次党组会", "--minutes-no", "〔2021〕5号", "--decision", "审定通过"})
                .code,
            kExitOk);
  ASSERT_EQ(cli("m2", {"sync"}).code, kExitOk);
  EXPECT_EQ(server_stage(id), "supervisor_review");
  EXPECT_EQ(*sha256_file(minutes), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_F(OfficeClientTest, WorkflowActionsQueuedOfflineAreNotSentBeforeAnOnlineLogin) {
  auto p1 = registered("p1");
  const FormId id = small_form(*p1);
  sync_ok(*p1);
  ASSERT_TRUE(p1->logout().is_ok());
  ASSERT_TRUE(p1->submit(id).is_ok());

  auto without = p1->sync();  // no token, no password
  ASSERT_FALSE(without.is_ok());
  EXPECT_EQ(without.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(server_phase(id), workflow::Phase::kDraft);

  // A token that expired while the office was offline is not enough either.
  ASSERT_TRUE(p1->login(kPassword).is_ok());
  clock_.advance(std::chrono::hours(2));
  auto expired = p1->sync();
  ASSERT_FALSE(expired.is_ok());
  EXPECT_EQ(expired.status().code(), StatusCode::kPermissionDenied) << expired.status().to_string();
  EXPECT_EQ(server_phase(id), workflow::Phase::kDraft);
  EXPECT_TRUE(p1->meta().token.empty()) << "a refused token is forgotten";

  SyncOptions with_password;
  with_password.password = [] { return std::optional<std::string>(kPassword); };
  auto sent = p1->sync(with_password);
  ASSERT_TRUE(sent.is_ok()) << sent.status().to_string();
  EXPECT_TRUE(sent->logged_in_with_password);
  EXPECT_EQ(server_phase(id), workflow::Phase::kInReview);
}

TEST_F(OfficeClientTest, NoOperationLeavesTheMachineBeforeTheLoginIsAccepted) {
  auto p1 = registered("p1");
  const FormId id = small_form(*p1);
  const auto before = server_.ops_received();
  ASSERT_TRUE(p1->set_cell(id, "fields.department", "办公室").is_ok());
  ASSERT_TRUE(p1->submit(id).is_ok());
  ASSERT_TRUE(p1->logout().is_ok());
  const std::string wrong = "wrong-password-7";
  SyncOptions o;
  o.password = [wrong] { return std::optional<std::string>(wrong); };
  auto r = p1->sync(o);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("用户名或密码错误"), std::string::npos) << r.status().to_string();
  EXPECT_EQ(server_.ops_received(), before);
  EXPECT_EQ(server_phase(id), workflow::Phase::kDraft);
  EXPECT_EQ(p1->forms()->at(0).summary.pending_ops, 2u) << "still queued";
}

// ---- create from a target form --------------------------------------------------------------

TEST_F(OfficeClientTest, CreateFromATargetFormCopiesItsIndicatorRowsAndProject) {
  auto p1 = registered("p1");
  auto target = p1->create_form("project_target", 2021);
  ASSERT_TRUE(target.is_ok()) << target.status().to_string();
  ASSERT_TRUE(p1->set_cell(*target, "fields.project_name", "科普惠农服务").is_ok());
  ASSERT_TRUE(p1->set_cell(*target, "fields.project_code", "731-0702-JCN-GGS5").is_ok());
  ASSERT_TRUE(p1->add_row(*target, "indicators",
                          {{"level1", "产出指标"}, {"level2", "数量指标"}, {"level3", "培训人次"}, {"target", "≥500人次"},
                           {"basis", "上级文件精神"}})
                  .is_ok());
  ASSERT_TRUE(p1->add_row(*target, "indicators",
                          {{"level1", "满意度指标"}, {"level2", "服务对象满意度"}, {"level3", "参训群众满意度"},
                           {"target", "≥90%"}})
                  .is_ok());
  server_.up = false;  // works offline
  const CliRun r = cli("p1", {"create", "project_self_eval_row_points", "--from", target->substr(0, 8)});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  const std::string id = r.out.substr(r.out.find("表单 ") + 7, 36);
  auto made = p1->view(id);
  ASSERT_TRUE(made.is_ok()) << made.status().to_string();
  EXPECT_EQ(made->form.fiscal_year, 2021);
  EXPECT_EQ(made->form.field("project_name").text, "科普惠农服务");
  EXPECT_EQ(made->form.field("project_code").text, "731-0702-JCN-GGS5");
  const Table* rows = made->form.table("indicators");
  ASSERT_NE(rows, nullptr);
  ASSERT_EQ(rows->rows.size(), 2u);
  EXPECT_EQ(rows->rows[0].cell("level3").text, "培训人次");
  EXPECT_EQ(rows->rows[0].cell("target").display(made->form.money_unit), "≥500人次");
  EXPECT_EQ(rows->rows[1].cell("level2").text, "服务对象满意度");
  EXPECT_TRUE(rows->rows[1].cell("actual").is_blank());

  const CliRun refused = cli("p1", {"create", "project_self_eval_row_points", "--from", id.substr(0, 8)});
  EXPECT_EQ(refused.code, kExitUnreadable) << "only a target form is a source";
}

// ---- conflicts and rejected changes ---------------------------------------------------------

TEST_F(OfficeClientTest, ConcurrentEditsOfOneCellOpenAConflictThatCanBeResolved) {
  auto a = registered("p1");
  auto b = registered("p2");
  const FormId id = small_form(*a);
  sync_ok(*a);
  sync_ok(*b);
  ASSERT_TRUE(a->set_cell(id, "fields.department", "办公室").is_ok());
  clock_.advance(std::chrono::seconds(1));
  ASSERT_TRUE(b->set_cell(id, "fields.department", "科普部").is_ok());
  sync_ok(*a);
  sync_ok(*b);
  sync_ok(*a);
  auto open = a->conflicts(id);
  ASSERT_TRUE(open.is_ok());
  ASSERT_EQ(open->size(), 1u);
  const sync::ConflictRecord c = open->front();
  EXPECT_TRUE(todo_has(*a, id, TodoItem::Kind::kConflict));

  const CliRun listed = cli("p1", {"conflicts"});
  EXPECT_NE(listed.out.find("主管部门"), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find(c.id), std::string::npos) << listed.out;

  a.reset();  // the command line takes over p1's data directory
  const CliRun resolved = cli("p1", {"resolve", id.substr(0, 8), c.id, "new", "--value", "办公室、科普部"});
  ASSERT_EQ(resolved.code, kExitOk) << resolved.err;
  EXPECT_EQ(cli("p1", {"resolve", id, c.id, "maybe"}).code, kExitUnreadable);
  ASSERT_EQ(cli("p1", {"sync"}).code, kExitOk);
  EXPECT_EQ(server_.sync->replica(id)->form.field("department").text, "办公室、科普部");
  sync_ok(*b);
  EXPECT_TRUE(b->conflicts(id)->empty());
  EXPECT_EQ(cli("p1", {"conflicts"}).out, "没有未处理的冲突\n");
}

TEST_F(OfficeClientTest, EditsRejectedDuringReviewAreReappliedAfterTheReturn) {
  auto p1 = registered("p1");
  auto r1 = registered("r1");
  const FormId id = small_form(*p1);
  ASSERT_TRUE(p1->submit(id).is_ok());
  sync_ok(*p1);
  ASSERT_TRUE(p1->set_cell(id, "fields.goal_actual", "全部完成").is_ok());  // too late: in review
  auto s = p1->sync();
  ASSERT_TRUE(s.is_ok());
  EXPECT_EQ(s->rejected, 1u);
  auto waiting = p1->rejected(id);
  ASSERT_EQ(waiting->size(), 1u);
  EXPECT_TRUE(todo_has(*p1, id, TodoItem::Kind::kRejected));
  EXPECT_NE(p1->describe_op(waiting->front().op).find("年度总体目标·实际完成情况"), std::string::npos)
      << p1->describe_op(waiting->front().op);

  sync_ok(*r1);
  ASSERT_TRUE(r1->return_form(id, "请补充实际完成情况").is_ok());
  sync_ok(*r1);
  sync_ok(*p1);
  auto n = p1->reapply(id);
  ASSERT_TRUE(n.is_ok()) << n.status().to_string();
  EXPECT_EQ(*n, 1u);
  sync_ok(*p1);
  EXPECT_EQ(server_.sync->replica(id)->form.field("goal_actual").text, "全部完成");
  EXPECT_TRUE(p1->rejected(id)->empty());
}

TEST_F(OfficeClientTest, ARejectedChangeCanBeDiscardedByItsOpIdPrefix) {
  auto p1 = registered("p1");
  const FormId id = small_form(*p1);
  ASSERT_TRUE(p1->submit(id).is_ok());
  sync_ok(*p1);
  ASSERT_TRUE(p1->set_cell(id, "fields.department", "迟到的修改").is_ok());
  sync_ok(*p1);
  p1.reset();
  const CliRun listed = cli("p1", {"rejected"});
  ASSERT_EQ(listed.code, kExitOk);
  EXPECT_NE(listed.out.find("只有草稿或被退回的表单可以修改"), std::string::npos) << listed.out;
  const std::string op = listed.out.substr(0, 8);
  ASSERT_EQ(cli("p1", {"discard", op}).code, kExitOk);
  EXPECT_EQ(cli("p1", {"rejected"}).out, "没有被拒绝、待重新提交的修改\n");
  EXPECT_EQ(cli("p1", {"discard", op}).code, kExitUnreadable);
}

// ---- answers the client cannot read --------------------------------------------------------------

// A server whose answers this client cannot decode (another protocol
// version, content it does not know) would answer every resend the same
// way: the sync fails at once with a message that says what to do, the
// command exits non-zero, the daemon logs it, and the outbox is kept.
TEST_F(OfficeClientTest, AnAnswerTheClientCannotReadFailsTheSyncSayingSoAndIsNotResent) {
  ASSERT_EQ(cli("p1", {"register", "--server", "ws://127.0.0.1:9/sync", "--user", "p1", "--password-file",
                       password_file()})
                .code,
            kExitOk);
  const CliRun created = cli("p1", {"create", "project_self_eval_row_points", "--year", "2021"});
  ASSERT_EQ(created.code, kExitOk) << created.err;
  const std::string id = created.out.substr(created.out.find("表单 ") + 7, 36);
  const std::string kMessage = "无法识别服务器的应答（协议版本或内容不兼容），请升级客户端或联系管理员";

  // Another protocol version.
  std::size_t requests = server_.sync_requests;
  server_.rewrite_sync_answer = [](std::string b) {
    b[3] = static_cast<char>(sync::kProtocolVersion + 1);
    return b;
  };
  const CliRun newer = cli("p1", {"sync"});
  EXPECT_EQ(newer.code, kExitFailed);
  EXPECT_NE(newer.err.find(kMessage), std::string::npos) << newer.err;
  EXPECT_NE(newer.err.find("对方为第 4 版"), std::string::npos) << newer.err;
  EXPECT_EQ(server_.sync_requests, requests + 1) << "not resent";

  // Content it does not know (a byte more than it reads), through the
  // library: kCorruption, well inside a short deadline.
  requests = server_.sync_requests;
  server_.rewrite_sync_answer = [](std::string b) {
    b += '\x01';
    const auto length = static_cast<std::uint32_t>(b.size() - sync::kEnvelopeBytes);
    for (std::size_t i = 0; i < 4; ++i) b[8 + i] = static_cast<char>((length >> (8 * i)) & 0xFFu);
    return b;
  };
  ClientOptions o = options("p1");
  o.request_timeout = std::chrono::milliseconds(200);
  o.sync_deadline = std::chrono::milliseconds(5000);
  auto client = OfficeClient::open(o);
  ASSERT_TRUE(client.is_ok()) << client.status().to_string();
  auto result = (*client)->sync();
  ASSERT_FALSE(result.is_ok());
  EXPECT_EQ(result.status().code(), StatusCode::kCorruption) << result.status().to_string();
  EXPECT_EQ(result.status().message(), kMessage);
  EXPECT_EQ(server_.sync_requests, requests + 1) << "not resent";
  client->reset();

  // The daemon logs it.
  const CliRun daemon = cli("p1", {"daemon", "--interval", "60", "--max-cycles", "1"});
  EXPECT_EQ(daemon.code, kExitFailed);
  EXPECT_NE(daemon.out.find("同步失败：" + kMessage), std::string::npos) << daemon.out;

  // Nothing was lost: the form is still waiting to be confirmed, and once
  // the answers are readable again it is.
  const auto pending = [&] {
    auto c = open("p1");
    auto forms = c->forms();
    EXPECT_TRUE(forms.is_ok()) << forms.status().to_string();
    return forms.is_ok() && forms->size() == 1 ? forms->front().summary.pending_ops : std::size_t{999};
  };
  EXPECT_EQ(pending(), 1u);
  server_.rewrite_sync_answer = nullptr;
  const CliRun synced = cli("p1", {"sync"});
  EXPECT_EQ(synced.code, kExitOk) << synced.err;
  EXPECT_EQ(pending(), 0u);
  EXPECT_TRUE(server_.sync->replica(id).is_ok());
}

// The client offers every capability it knows at login, in a version-3
// envelope, and speaks version 3 afterwards.
TEST_F(OfficeClientTest, TheClientOffersItsCapabilitiesAndUsesWhatWasNegotiated) {
  std::vector<unsigned> answers;
  server_.rewrite_sync_answer = [&](std::string b) {
    answers.push_back(static_cast<unsigned char>(b[3]));
    return b;
  };
  auto c = registered("p1");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(server_.last_login_wire, (sync::WireOptions{3, sync::Capabilities{sync::Capability::kUnassignedHolder}}));
  ASSERT_FALSE(server_.request_versions.empty());
  for (unsigned v : server_.request_versions) EXPECT_EQ(v, 3u);
  ASSERT_EQ(answers.size(), server_.request_versions.size());
  for (unsigned v : answers) EXPECT_EQ(v, 3u);
}

// ---- the daemon over the command line --------------------------------------------------------

TEST_F(OfficeClientTest, TheDaemonBacksOffWhileTheLinkIsDownAndSyncsWhenItIsBack) {
  ASSERT_EQ(cli("p1", {"register", "--server", "ws://127.0.0.1:9/sync", "--user", "p1", "--password-file",
                       password_file()})
                .code,
            kExitOk);
  server_.up = false;
  const CliRun down = cli("p1", {"daemon", "--interval", "60", "--max-cycles", "4"});
  EXPECT_EQ(down.code, kExitFailed);
  EXPECT_NE(down.out.find("同步失败：无法连接服务器"), std::string::npos) << down.out;
  ASSERT_EQ(slept_.size(), 3u);
  EXPECT_LE(slept_[0], std::chrono::milliseconds(1000));
  EXPECT_LE(slept_[2], std::chrono::milliseconds(4000));
  slept_.clear();
  server_.up = true;
  const CliRun up = cli("p1", {"daemon", "--interval", "60", "--max-cycles", "2"});
  EXPECT_EQ(up.code, kExitOk) << up.out;
  ASSERT_EQ(slept_.size(), 1u);
  EXPECT_EQ(slept_[0], std::chrono::milliseconds(60000));
}

}  // namespace
}  // namespace jixiao::client::testing
