// ClientService: several callers at once, one process per data directory,
// the status value.
#include <gtest/gtest.h>
#include <sodium.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "fake_server.h"
#include "jixiao/client/client_service.h"
#include "jixiao/client/directory_lock.h"

namespace jixiao::client::testing {
namespace {

class ClientServiceTest : public ::testing::Test {
 protected:
  ClientServiceTest() : clock_(workflow::utc_time(2022, 3, 1, 8, 0)), server_(clock_) {}
  void SetUp() override {
    server_.start();
    dir_ = temp_dir("svc");
  }

  ClientOptions options() {
    ClientOptions o;
    o.data_dir = dir_ / "data";
    o.templates = &server_.templates;
    o.workflows = server_.workflows;
    o.clock = &clock_;
    o.connect = server_.factory();
    o.hashing = {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
    return o;
  }

  // p1 registered (by a plain OfficeClient, closed again), with one form synced.
  FormId registered_with_a_form() {
    auto c = OfficeClient::open(options());
    EXPECT_TRUE(c.is_ok());
    EXPECT_TRUE((*c)->register_device("ws://127.0.0.1:9/sync", "p1", "", kPassword).is_ok());
    auto id = (*c)->create_form("project_self_eval_row_points", 2021);
    EXPECT_TRUE(id.is_ok());
    EXPECT_TRUE((*c)->sync().is_ok());
    return *id;
  }

  std::unique_ptr<ClientService> service(std::size_t batch = 16, const std::string& program = "jixiao daemon") {
    ServiceOptions o;
    o.client = options();
    o.program = program;
    o.apply_batch_items = batch;
    auto s = ClientService::open(std::move(o));
    EXPECT_TRUE(s.is_ok()) << s.status().to_string();
    return s.is_ok() ? std::move(*s) : nullptr;
  }

  workflow::ManualClock clock_;
  FakeServer server_;
  std::filesystem::path dir_;
};

TEST_F(ClientServiceTest, ASecondServiceOnTheSameDirectorySaysWhichProcessHoldsIt) {
  registered_with_a_form();
  auto first = service();
  ASSERT_NE(first, nullptr);
  ServiceOptions o;
  o.client = options();
  auto second = ClientService::open(std::move(o));
  ASSERT_FALSE(second.is_ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(second.status().message(), "本机数据目录正由进程 " + std::to_string(::getpid()) + " 使用（jixiao daemon）");
  auto holder = read_lock_holder(dir_ / "data");
  ASSERT_TRUE(holder.is_ok());
  EXPECT_EQ(holder->pid, ::getpid());
  EXPECT_EQ(holder->program, "jixiao daemon");

  first.reset();  // the directory is free again
  EXPECT_NE(service(16, "jixiao"), nullptr);
}

TEST_F(ClientServiceTest, ReadsAndEditsGoOnWhileASyncWaitsForTheNetwork) {
  const FormId id = registered_with_a_form();
  auto svc = service();
  ASSERT_NE(svc, nullptr);
  ASSERT_TRUE(svc->set_cell(id, "fields.project_name", "甲").is_ok());

  // The server's answer is held back until the test has read and edited
  // (at most 5 s, so a sync that blocks them fails the test, never hangs it).
  std::mutex m;
  std::condition_variable cv;
  bool in_network = false;
  bool released = false;
  server_.rewrite_sync_answer = [&](std::string answer) {
    std::unique_lock<std::mutex> g(m);
    if (!in_network) {
      in_network = true;
      cv.notify_all();
      cv.wait_for(g, std::chrono::seconds(5), [&] { return released; });
    }
    return answer;
  };
  auto syncing = std::async(std::launch::async, [&] { return svc->sync(); });
  {
    std::unique_lock<std::mutex> g(m);
    ASSERT_TRUE(cv.wait_for(g, std::chrono::seconds(5), [&] { return in_network; }));
  }
  const ClientStatus during = svc->status();
  EXPECT_TRUE(during.syncing);
  auto forms = svc->forms();
  ASSERT_TRUE(forms.is_ok()) << forms.status().to_string();
  EXPECT_EQ(forms->size(), 1u);
  EXPECT_TRUE(svc->set_cell(id, "fields.department", "科普部").is_ok());
  EXPECT_EQ(svc->view(id)->form.field("department").text, "科普部");
  bool released_by_test = false;
  {
    std::lock_guard<std::mutex> g(m);
    released_by_test = !released;  // not yet let go by the timeout
    released = true;
  }
  cv.notify_all();
  EXPECT_TRUE(released_by_test);
  auto summary = syncing.get();
  ASSERT_TRUE(summary.is_ok()) << summary.status().to_string();

  const ClientStatus after = svc->status();
  EXPECT_FALSE(after.syncing);
  EXPECT_TRUE(after.online);
  EXPECT_EQ(after.last_error, "");
  EXPECT_GE(after.pages_received, 1u);
  EXPECT_GT(after.bytes_received, 0u);
  EXPECT_EQ(after.changes_waiting, 0u) << "the edit made during the sync followed in its next request";
  EXPECT_GT(after.last_sync_ms, 0);
  auto on_server = server_.sync->replica(id);
  ASSERT_TRUE(on_server.is_ok());
  EXPECT_EQ(on_server->form.field("department").text, "科普部");
  EXPECT_EQ(on_server->form.field("project_name").text, "甲");
}

TEST_F(ClientServiceTest, AFailedSyncSaysOfflineAndWhyInChinese) {
  const FormId id = registered_with_a_form();
  auto svc = service();
  ASSERT_NE(svc, nullptr);
  ASSERT_TRUE(svc->set_cell(id, "fields.project_name", "甲").is_ok());
  server_.up = false;
  EXPECT_FALSE(svc->sync().is_ok());
  const ClientStatus st = svc->status();
  EXPECT_FALSE(st.online);
  EXPECT_FALSE(st.syncing);
  EXPECT_EQ(st.last_error, "无法连接服务器");
  EXPECT_EQ(st.changes_waiting, 1u);
  const auto json = nlohmann::json::parse(status_json(st));
  EXPECT_EQ(json["online"], false);
  EXPECT_EQ(json["changes_waiting"], 1);
  EXPECT_EQ(json["last_error"], "无法连接服务器");
}

TEST_F(ClientServiceTest, ConcurrentReadersAndWritersFromSeveralThreadsSeeEveryEdit) {
  const FormId id = registered_with_a_form();
  auto svc = service(/*batch=*/2);
  ASSERT_NE(svc, nullptr);
  const std::size_t before = svc->view(id)->form.table("indicators")->rows.size();
  // Four threads, fifty edits each (different rows), reads between, a sync beside them.
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        auto row = svc->with_client([&](OfficeClient& c) {
          return c.add_row(id, "indicators", {{"level3", "线程" + std::to_string(t) + "第" + std::to_string(i) + "项"}});
        });
        if (!row || !svc->forms().is_ok()) ++failures;
      }
    });
  }
  auto synced = svc->sync();
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_TRUE(synced.is_ok()) << synced.status().to_string();
  ASSERT_TRUE(svc->sync().is_ok());
  EXPECT_EQ(svc->view(id)->form.table("indicators")->rows.size(), before + 200u);
  EXPECT_EQ(server_.sync->replica(id)->form.table("indicators")->rows.size(), before + 200u);
  EXPECT_EQ(svc->status().changes_waiting, 0u);
}

}  // namespace
}  // namespace jixiao::client::testing
