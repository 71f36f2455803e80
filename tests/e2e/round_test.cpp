// Test A: a whole approval round with real processes on 127.0.0.1 over a
// lossy, slow link. jixiao-server serves wss:// with a self-signed
// certificate; four office clients (district preparer p1, unit reviewer r1,
// city supervisor c1, finance reviewer f1) reach it only through
// jixiao-fault-proxy (100 ms each way, 16,000 bytes/s, 2 % of chunks reset
// the connection). Every sync is retried a bounded number of times.
//
//   p1 creates, fills in and submits a 项目支出绩效自评表 (1.5 万元 < 2 万元: no meeting stages)
//   r1 approves; c1 returns it with a reason; p1 sees the return, edits, resubmits;
//   r1 and c1 approve; f1 accepts.
//
// Then every client shows 已受理 and the same form, the form equals the
// server's, `verify-audit` passes, and the server's audit chain has c1's
// return with its reason. Seed: $JIXIAO_E2E_SEED (printed).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <iostream>

#include "process.h"
#include "server_view.h"
#include "system.h"

namespace jixiao::e2e {
namespace {

constexpr int kAttempts = 15;  // syncs (and registers) over the lossy link

const char* const kUnits =
    "F001,保定市财政局,财政局,,\n"
    "731002,保定市科学技术协会,市级,,F001\n"
    "731101,竞秀区科学技术协会,区县级,731002,F001\n"
    "731102,莲池区科学技术协会,区县级,731002,F001\n";

const char* const kUsers =
    "登录名,姓名,单位,角色,初始密码\n"
    "p1,张晓梅,731101,preparer,p1-Passw0rd!\n"
    "r1,李建国,731101,unit_reviewer,r1-Passw0rd!\n"
    "c1,王丽华,731002,supervisor,c1-Passw0rd!\n"
    "f1,赵志强,F001,finance_reviewer,f1-Passw0rd!\n";

class RoundOverLossyLink : public ::testing::Test {
 protected:
  // `jixiao ARGS` on a client; must succeed (local commands never touch the link).
  void act(const ClientDir& c, const std::vector<std::string>& args) {
    const RunResult r = c.run(args);
    ASSERT_TRUE(r.ok()) << c.login() << " " << args[0] << ": " << r.status.describe() << "\n" << r.both();
  }
  void sync(const ClientDir& c) {
    const RunResult r = c.sync(kAttempts, &failed_syncs_);
    ++syncs_;
    ASSERT_TRUE(r.ok()) << c.login() << " sync failed " << kAttempts << " times: " << r.status.describe() << "\n"
                        << r.both();
  }
  std::string state_of(const ClientDir& c, const std::string& form) {
    const RunResult r = c.run({"forms"});
    EXPECT_TRUE(r.ok()) << r.both();
    const auto forms = parse_forms(r.out);
    const auto it = forms.find(form.substr(0, 8));
    return it == forms.end() ? "(missing)\n" + r.out : it->second.state;
  }

  int syncs_ = 0;
  int failed_syncs_ = 0;
};

TEST_F(RoundOverLossyLink, AWholeRoundReachesAcceptedOnEveryClient) {
  const auto started = std::chrono::steady_clock::now();
  const std::uint64_t seed = e2e_seed();
  std::cout << "[e2e] RoundOverLossyLink seed=" << seed << " (JIXIAO_E2E_SEED=" << seed << " to repeat)" << std::endl;
  TempDir tmp("jixiao-e2e-round");

  ServerProcess server(tmp.path());
  ASSERT_NO_THROW(server.init());
  ASSERT_NO_THROW(server.import_units(kUnits));
  ASSERT_NO_THROW(server.import_users(kUsers));
  std::uint16_t server_port = 0;
  ASSERT_NO_THROW(server_port = server.start());

  std::optional<FaultProxy> proxy;
  ASSERT_NO_THROW(proxy.emplace(server.log_dir(), server_port,
                                std::vector<std::string>{"--latency-ms", "100", "--bandwidth-bps", "16000",
                                                         "--disconnect-probability", "0.02", "--seed",
                                                         std::to_string(seed)}));
  const std::string url = server.url(proxy->port());

  const ClientDir p1(tmp.path(), "p1", "p1-Passw0rd!");
  const ClientDir r1(tmp.path(), "r1", "r1-Passw0rd!");
  const ClientDir c1(tmp.path(), "c1", "c1-Passw0rd!");
  const ClientDir f1(tmp.path(), "f1", "f1-Passw0rd!");
  for (const ClientDir* c : {&p1, &r1, &c1, &f1}) {
    const RunResult r = c->register_at(url, server.ca_file(), kAttempts);
    ASSERT_TRUE(r.ok()) << c->login() << " register: " << r.both();
  }

  // p1 fills in a form offline, then syncs and submits.
  const RunResult created = p1.run({"create", "project_self_eval_row_points", "--year", "2021"});
  ASSERT_TRUE(created.ok()) << created.both();
  const auto form_opt = first_uuid(created.out);
  ASSERT_TRUE(form_opt.has_value()) << created.out;
  const std::string form = *form_opt;
  act(p1, {"set", form, "fields.project_name", "社区科普大讲堂"});
  act(p1, {"set", form, "fields.department", "竞秀区科学技术协会"});
  act(p1, {"set", form, "fields.implementing_unit", "竞秀区科学技术协会"});
  act(p1, {"set", form, "fields.goal_expected", "举办社区科普讲座10场，受众1000人次"});
  act(p1, {"set", form, "fields.goal_actual", "举办社区科普讲座12场，受众1300人次"});
  act(p1, {"set", form, "funds[total].full_year_budget", "1.5"});
  act(p1, {"set", form, "funds[total].executed", "1.2"});
  act(p1, {"set", form, "funds[total].points", "10"});
  act(p1, {"add-row", form, "indicators", "level1=产出指标", "level2=数量指标", "level3=举办科普讲座场次",
           "target=10", "actual=12", "points=90", "score=90"});
  ASSERT_NO_FATAL_FAILURE(sync(p1));
  act(p1, {"submit", form});
  ASSERT_NO_FATAL_FAILURE(sync(p1));
  EXPECT_EQ(state_of(p1, form), "审核中·单位审核");

  // r1 approves; c1 returns with a reason.
  ASSERT_NO_FATAL_FAILURE(sync(r1));
  EXPECT_NE(r1.run({"todo"}).out.find(form.substr(0, 8)), std::string::npos);
  act(r1, {"approve", form, "--comment", "同意上报"});
  ASSERT_NO_FATAL_FAILURE(sync(r1));
  ASSERT_NO_FATAL_FAILURE(sync(c1));
  const RunResult c1_todo = c1.run({"todo"});
  EXPECT_NE(c1_todo.out.find(form.substr(0, 8)), std::string::npos) << c1_todo.out;
  const std::string reason = "执行率80%低于90%，请补充预算执行率偏低原因说明";
  act(c1, {"return", form, "--reason", reason});
  ASSERT_NO_FATAL_FAILURE(sync(c1));

  // p1 sees the return, edits, resubmits.
  ASSERT_NO_FATAL_FAILURE(sync(p1));
  EXPECT_EQ(state_of(p1, form), "已退回");
  const RunResult p1_todo = p1.run({"todo"});
  EXPECT_NE(p1_todo.out.find("已退回"), std::string::npos) << p1_todo.out;
  const RunResult p1_history = p1.run({"history", form});
  EXPECT_NE(p1_history.out.find(reason), std::string::npos) << p1_history.out;
  act(p1, {"set", form, "fields.low_rate_explanation", "两场讲座因场地改造延期至次年一季度，相应经费结转"});
  act(p1, {"resubmit", form});
  ASSERT_NO_FATAL_FAILURE(sync(p1));

  // r1 and c1 approve; f1 accepts.
  ASSERT_NO_FATAL_FAILURE(sync(r1));
  act(r1, {"approve", form});
  ASSERT_NO_FATAL_FAILURE(sync(r1));
  ASSERT_NO_FATAL_FAILURE(sync(c1));
  act(c1, {"approve", form, "--comment", "已补充说明，同意"});
  ASSERT_NO_FATAL_FAILURE(sync(c1));
  ASSERT_NO_FATAL_FAILURE(sync(f1));
  const RunResult f1_todo = f1.run({"todo"});
  EXPECT_NE(f1_todo.out.find(form.substr(0, 8)), std::string::npos) << f1_todo.out;
  act(f1, {"accept", form, "--comment", "受理"});
  ASSERT_NO_FATAL_FAILURE(sync(f1));

  // Everyone catches up: accepted everywhere, the same form everywhere.
  std::optional<nlohmann::json> first;
  for (const ClientDir* c : {&p1, &r1, &c1, &f1}) {
    ASSERT_NO_FATAL_FAILURE(sync(*c));
    EXPECT_EQ(state_of(*c, form), "已受理") << c->login();
    const RunResult shown = c->run({"show", form, "--json"});
    ASSERT_TRUE(shown.ok()) << shown.both();
    const auto json = nlohmann::json::parse(shown.out, nullptr, false);
    ASSERT_FALSE(json.is_discarded()) << shown.out;
    if (!first) {
      first = json;
    } else {
      EXPECT_EQ(json, *first) << c->login() << "'s form differs from p1's";
    }
  }
  EXPECT_EQ((*first)["fields"]["low_rate_explanation"], "两场讲座因场地改造延期至次年一季度，相应经费结转");
  EXPECT_EQ((*first)["unit_name"], "竞秀区科学技术协会");

  const std::string stats = proxy->stop();
  std::cout << "[e2e] proxy " << stats << "; syncs=" << syncs_ << " failed_attempts=" << failed_syncs_ << std::endl;

  const RunResult audit = server.admin({"verify-audit"});
  EXPECT_TRUE(audit.ok()) << audit.both();
  EXPECT_NE(audit.out.find("OK"), std::string::npos) << audit.out;

  // The server's own record.
  EXPECT_TRUE(server.stop().ok());
  const ServerView view = read_server_view(server.data_dir(), form);
  ASSERT_TRUE(view.error.empty()) << view.error;
  EXPECT_EQ(view.phase, "已受理");
  EXPECT_EQ(nlohmann::json::parse(view.form_json), *first) << "the clients' form differs from the server's";
  bool return_recorded = false;
  for (const auto& e : view.audit) {
    if (e.action != "return" || e.subject != form) continue;
    EXPECT_EQ(e.actor, "c1");
    for (const auto& [key, value] : e.fields) return_recorded = return_recorded || value == reason;
  }
  EXPECT_TRUE(return_recorded) << "no audit record of c1's return with the reason";

  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "[e2e] round over the lossy link took " << seconds << " s" << std::endl;
  if (HasFailure()) {
    tmp.keep();
    std::cout << "[e2e] kept " << tmp.path() << " for inspection" << std::endl;
  }
}

}  // namespace
}  // namespace jixiao::e2e
