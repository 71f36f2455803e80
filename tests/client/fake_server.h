// An in-process server for the client's tests: a real AccountStore and a
// real server::SyncService behind a Transport that hands every message to them, with
// the login exchange a network front does (first message a LoginRequest,
// every later one checked against the session again, every answer encoded
// with the wire options negotiated at login). The link can be cut
// (`up = false`): connecting and sending then fail as a dead network does.
#pragma once

#include <gtest/gtest.h>
#include <sodium.h>

#include <deque>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "jixiao/client/cli.h"
#include "jixiao/client/office_client.h"
#include "jixiao/client/transport.h"
#include "jixiao/server/accounts.h"
#include "jixiao/sync/protocol.h"
#include "jixiao/service/sync_service.h"
#include "jixiao/store/sqlite_store.h"
#include "jixiao/workflow/definition.h"

namespace jixiao::client::testing {

using namespace std::chrono_literals;

inline constexpr const char* kPassword = "mima2022abc";

class FakeServer {
 public:
  explicit FakeServer(const workflow::Clock& clock) : clock_(clock) {}

  void start() {
    ASSERT_TRUE(templates.load_directory(JIXIAO_TEMPLATE_DIR).is_ok());
    server::AccountsConfig config;
    config.hashing.ops_limit = crypto_pwhash_OPSLIMIT_MIN;
    config.hashing.mem_limit = crypto_pwhash_MEMLIMIT_MIN;
    store::SqliteStoreOptions options;
    options.create = true;
    auto db = store::open_sqlite_store(":memory:", std::move(options));
    ASSERT_TRUE(db.is_ok()) << db.status().to_string();
    db_store = std::move(*db);
    // Logins land in the same store's audit chain as sync.
    auto store = server::AccountStore::open(*db_store, clock_, config, nullptr);
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    accounts = std::move(*store);
    ASSERT_TRUE(accounts
                    ->import_units_csv("code,name,level,parent,finance_bureau\n"
                                       "F001,保定市财政局,财政局,,\n"
                                       "731002,保定市科学技术协会,市级,,F001\n"
                                       "731101,竞秀区科协,区县级,731002,F001\n"
                                       "731102,莲池区科协,区县级,731002,F001\n")
                    .is_ok());
    add_user("p1", "张三", "731101", Role::kPreparer);
    add_user("p2", "李四", "731101", Role::kPreparer);
    add_user("r1", "王五", "731101", Role::kUnitReviewer);
    add_user("m1", "赵六", "731101", Role::kMeetingSecretary);
    add_user("m2", "钱七", "731101", Role::kMeetingSecretary);
    add_user("c1", "孙八", "731002", Role::kSupervisor);
    add_user("f1", "周九", "F001", Role::kFinanceReviewer);
    directory = accounts->directory();
    for (const char* name : {"district-default.json", "city-default.json"}) {
      auto def = workflow::load_workflow_definition(std::string(JIXIAO_SOURCE_DIR) + "/workflow/definitions/" + name);
      ASSERT_TRUE(def.is_ok()) << def.status().to_string();
      workflows.push_back(*def);
    }
    auto s = server::SyncService::open(*db_store, templates, workflows, clock_);
    ASSERT_TRUE(s.is_ok()) << s.status().to_string();
    sync = std::move(*s);
  }

  void add_user(const std::string& id, const std::string& name, const std::string& unit, Role role) {
    ASSERT_TRUE(accounts->add_user({id, name, unit, {role}, false}, kPassword).is_ok()) << id;
  }

  // The ops of every request the server handled (to prove what was sent).
  std::set<sync::OpId> ops_received() const { return ops_received_; }

  // The factory clients use; fails while the link is down.
  TransportFactory factory();

  // What a network front does with one message from a connection.
  struct Connection {
    std::string token;
    server::SessionIdentity who;
    bool logged_in = false;
    sync::WireOptions wire = sync::WireOptions::oldest();
  };
  std::string handle(Connection& c, std::string_view bytes) {
    auto type = sync::peek_message_type(bytes);
    if (type && *type == sync::MessageType::kLoginRequest) {
      auto req = sync::decode_login_request(bytes);
      if (!req) return error(req.status(), sync::NextStep::kGiveUp);
      const sync::WireOptions wire = sync::negotiate(sync::peek_protocol_version(bytes).value(), req->capabilities);
      Result<std::string> token = std::string(req->token);
      if (!req->password.empty()) {
        token = accounts->login(req->user, req->password, req->device);
      } else {
        auto session = accounts->authenticate(req->token, req->device);
        if (!session) {
          token = session.status();
        } else if (session->user != req->user) {
          token = Status(StatusCode::kPermissionDenied, "会话无效或已过期，请重新登录", "user");
        }
      }
      if (!token) return error(token.status(), sync::NextStep::kReauthenticate, wire);
      last_login_wire = wire;
      c = Connection{*token, {req->user, req->device}, true, wire};
      sync::LoginResponse resp;
      resp.token = *token;
      resp.user = directory.users.at(req->user);
      if (const Unit* u = directory.organisation.find(resp.user.unit)) resp.unit_name = u->name;
      resp.server_time_ms = clock_.now().time_since_epoch().count();
      resp.capabilities = wire.caps;
      return sync::encode_message(resp, wire);
    }
    if (!c.logged_in) {
      return error(Status(StatusCode::kPermissionDenied, "请先登录", "no login"), sync::NextStep::kReauthenticate);
    }
    if (auto session = accounts->authenticate(c.token, c.who.device); !session) {
      return error(session.status(), sync::NextStep::kReauthenticate, c.wire);
    }
    if (auto version = sync::peek_protocol_version(bytes)) request_versions.push_back(*version);
    if (auto req = sync::decode_sync_request(bytes, c.wire)) {
      for (const sync::Operation& op : req->ops) ops_received_.insert(op.id);
    }
    std::string answer = sync->handle_bytes(bytes, c.who, c.wire);
    ++sync_requests;
    return rewrite_sync_answer ? rewrite_sync_answer(std::move(answer)) : answer;
  }

  static std::string error(const Status& s, sync::NextStep next,
                           const sync::WireOptions& wire = sync::WireOptions::oldest()) {
    sync::ErrorResponse e;
    e.code = s.code();
    e.reason = s.reason();
    e.next = next;
    e.message = s.message();
    return sync::encode_message(e, wire);
  }

  // Sync requests handled (logins not counted), and their envelopes' versions.
  std::size_t sync_requests = 0;
  std::vector<unsigned> request_versions;
  // What the last accepted login negotiated.
  sync::WireOptions last_login_wire = sync::WireOptions::oldest();
  // When set, every answer to a sync request passes through it (a server of
  // another release, a damaged link).
  std::function<std::string(std::string)> rewrite_sync_answer;

  bool up = true;
  std::size_t connects = 0;
  TemplateRegistry templates;
  std::unique_ptr<server::AccountStore> accounts;
  std::unique_ptr<store::Store> db_store;  // outlives accounts and sync
  server::Directory directory;
  std::vector<workflow::WorkflowDefinition> workflows;
  std::unique_ptr<server::SyncService> sync;

 private:
  const workflow::Clock& clock_;
  std::set<sync::OpId> ops_received_;
};

class FakeTransport final : public Transport {
 public:
  explicit FakeTransport(FakeServer& server) : server_(server) {}
  Status send(std::string_view message) override {
    if (!server_.up || closed_) return Status(StatusCode::kUnavailable, "连接已断开", "closed");
    replies_.push_back(server_.handle(conn_, message));
    return Status::ok();
  }
  Result<std::string> receive(std::chrono::milliseconds timeout) override {
    if (!server_.up || closed_) return Status(StatusCode::kUnavailable, "连接已断开", "closed");
    if (replies_.empty()) {
      std::this_thread::sleep_for(std::min(timeout, std::chrono::milliseconds(2)));
      return Status(StatusCode::kUnavailable, "超时", "timeout");
    }
    std::string r = std::move(replies_.front());
    replies_.pop_front();
    return r;
  }
  bool connected() const override { return server_.up && !closed_; }
  void close() override { closed_ = true; }

 private:
  FakeServer& server_;
  FakeServer::Connection conn_;
  std::deque<std::string> replies_;
  bool closed_ = false;
};

inline TransportFactory FakeServer::factory() {
  return [this](const ConnectParams&) -> Result<std::unique_ptr<Transport>> {
    ++connects;
    if (!up) return Status(StatusCode::kUnavailable, "无法连接服务器", "link down");
    return std::unique_ptr<Transport>(std::make_unique<FakeTransport>(*this));
  };
}

// A fresh temporary directory per test, removed afterwards.
inline std::filesystem::path temp_dir(const std::string& name) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  auto dir = std::filesystem::temp_directory_path() /
             ("jixiao-client-" + std::to_string(::getpid()) + "-" + info->name() + "-" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace jixiao::client::testing
