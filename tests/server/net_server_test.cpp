// The server's network front over real sockets on 127.0.0.1: wss with a
// throwaway certificate and ws on loopback, login and per-message
// authorization, limits (message size, idle timeout, connection count), HTTP
// probes on the same port, and many clients at once. Every wait is bounded.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "jixiao/common/uuid.h"
#include "jixiao/net/ws_connection.h"
#include "jixiao/store/sqlite_store.h"
#include "jixiao/server/net_server.h"
#include "raw_http.h"
#include "test_certificate.h"
#include "jixiao/sync/hlc.h"
#include "jixiao/sync/protocol.h"

namespace jixiao::server {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using sync::MessageType;

constexpr auto kWait = 5s;  // for any single answer

// A throwaway certificate, <name>.crt and <name>.key in `dir`.
bool write_self_signed_certificate(const fs::path& dir, const std::string& name) {
  return jixiao::testing::write_self_signed_certificate(dir / (name + ".crt"), dir / (name + ".key"));
}

// ---- plain HTTP without Asio in the test -------------------------------------------------

// Sends one request to 127.0.0.1:port and returns everything the server
// wrote before closing (bounded by a 5 s receive timeout).
std::string http_get(std::uint16_t port, const std::string& target) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "socket failed";
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string answer;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (::send(fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size())) {
      char buf[4096];
      for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) answer.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return answer;
}

// ---- the fixture -------------------------------------------------------------------------

class NetServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("jixiao-net-test-" + new_uuid_v4()));
    fs::create_directories(*dir_);
    ASSERT_TRUE(write_self_signed_certificate(*dir_, "server"));
    ASSERT_TRUE(write_self_signed_certificate(*dir_, "stranger"));
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(*dir_, ec);
    delete dir_;
    dir_ = nullptr;
  }

  NetServerTest() : hlc_(clock_) {}

  void SetUp() override {
    ASSERT_TRUE(templates_.load_directory(JIXIAO_TEMPLATE_DIR).is_ok());
    open_accounts(":memory:");
  }

  // The account store at `path` with three units and kUsers preparers, and
  // the sync service over its directory.
  void open_accounts(const std::string& path, const workflow::Clock* clock = nullptr) {
    sync_.reset();
    accounts_.reset();
    store_.reset();
    store::SqliteStoreOptions options;
    options.create = true;
    auto opened = store::open_sqlite_store(path, std::move(options));
    ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
    store_ = std::move(*opened);
    AccountsConfig config;
    config.hashing.ops_limit = crypto_pwhash_OPSLIMIT_MIN;  // fast hashing for tests
    config.hashing.mem_limit = crypto_pwhash_MEMLIMIT_MIN;
    auto store = AccountStore::open(*store_, clock != nullptr ? *clock : clock_, config,
                                    [](workflow::AuditEvent) { return Status::ok(); });
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    accounts_ = std::move(*store);
    ASSERT_TRUE(accounts_
                    ->import_units_csv("code,name,level,parent,finance_bureau\n"
                                       "F001,保定市财政局,财政局,,\n"
                                       "731002,保定市科学技术协会,市级,,F001\n"
                                       "731101,竞秀区科协,区县级,731002,F001\n")
                    .is_ok());
    std::string users = "login,display_name,unit,roles,initial_password\n";
    for (int i = 1; i <= kUsers; ++i) {
      users += "p" + std::to_string(i) + ",填报人" + std::to_string(i) + ",731101,preparer,pass2022word" +
               std::to_string(i) + "\n";
    }
    users += "f1,财政局审核人,F001,finance_reviewer,pass2022word1\n";  // opens rounds
    auto imported = accounts_->import_users_csv(users);
    ASSERT_TRUE(imported.is_ok()) << imported.status().to_string();

    // The sync service reads the live directory from the same store.
    std::vector<workflow::WorkflowDefinition> defs;
    for (const char* name : {"district-default.json", "city-default.json"}) {
      auto def = workflow::load_workflow_definition(std::string(JIXIAO_SOURCE_DIR) + "/workflow/definitions/" + name);
      ASSERT_TRUE(def.is_ok()) << def.status().to_string();
      defs.push_back(std::move(*def));
    }
    auto server = SyncService::open(*store_, templates_, std::move(defs), clock != nullptr ? *clock : clock_);
    ASSERT_TRUE(server.is_ok()) << server.status().to_string();
    sync_ = std::move(*server);
  }

  void TearDown() override { net_.reset(); }

  static NetConfig plain_config() {
    NetConfig c;
    c.listen_address = "127.0.0.1";
    c.port = 0;
    c.tls = false;
    c.allow_plain = true;
    c.handshake_timeout = 5s;
    c.idle_timeout = 30s;
    c.ping_interval = 10s;
    c.threads = 2;
    return c;
  }
  NetConfig tls_config() const {
    NetConfig c = plain_config();
    c.tls = true;
    c.allow_plain = false;
    c.cert_file = (*dir_ / "server.crt").string();
    c.key_file = (*dir_ / "server.key").string();
    return c;
  }

  void start(const NetConfig& config, http::Router routes = {}) {
    auto net = NetServer::start(config, *sync_, *accounts_, std::move(routes));
    ASSERT_TRUE(net.is_ok()) << net.status().to_string();
    net_ = std::move(*net);
    ASSERT_NE(net_->port(), 0);
  }

  Result<std::unique_ptr<net::WsConnection>> connect(bool tls = false, const std::string& ca = "server") {
    net::Endpoint endpoint{tls, "127.0.0.1", net_->port(), "/sync"};
    return net::WsConnection::connect(endpoint, {(*dir_ / (ca + ".crt")).string(), true}, kWait);
  }
  std::unique_ptr<net::WsConnection> connected(bool tls = false) {
    auto c = connect(tls);
    EXPECT_TRUE(c.is_ok()) << c.status().to_string();
    return c.is_ok() ? std::move(*c) : nullptr;
  }

  // Sends one message and returns the answer (or why there is none).
  static Result<std::string> roundtrip(net::WsConnection& c, const std::string& message,
                                       std::chrono::milliseconds wait = kWait) {
    if (Status s = c.send(message, kWait); !s) return s;
    return c.receive(wait);
  }

  static std::string password_of(const std::string& user) { return "pass2022word" + user.substr(1); }

  static std::string login_message(const std::string& user, const std::string& device, const std::string& password,
                                   const std::string& token = {}) {
    return sync::encode_message(sync::LoginRequest{user, device, password, token, "test"});
  }

  // Logs in with the password; returns the token ("" on failure).
  static std::string login(net::WsConnection& c, const std::string& user, const std::string& device) {
    auto answer = roundtrip(c, login_message(user, device, password_of(user)));
    EXPECT_TRUE(answer.is_ok()) << answer.status().to_string();
    if (!answer) return {};
    auto response = sync::decode_login_response(*answer);
    EXPECT_TRUE(response.is_ok()) << describe(*answer);
    return response ? response->token : std::string();
  }

  // A SyncRequest creating one new form in 731101.
  std::string create_form_request(const std::string& user, const std::string& device, std::uint64_t request_id) {
    sync::Operation op{new_uuid_v4(), new_uuid_v4(), user, device, hlc_.now(), 0,
                       sync::CreateForm{{"project_self_eval_row_points", 1}, "731101", "竞秀区科协", 2021,
                                        MoneyUnit::kWanYuan}};
    return sync::encode_message(sync::SyncRequest{request_id, device, user, 0, {std::move(op)}, sync::kMaxPayloadBytes});
  }

  // "SyncResponse seq=3" / "ErrorResponse permission_denied/2005 next=1 id=7" / ...
  static std::string describe(const std::string& bytes) {
    auto type = sync::peek_message_type(bytes);
    if (!type) return "undecodable: " + type.status().to_string();
    switch (*type) {
      case MessageType::kSyncResponse: {
        auto r = sync::decode_sync_response(bytes);
        if (!r || r->results.empty()) return "SyncResponse";
        return "SyncResponse seq=" + std::to_string(r->results[0].seq) + " id=" + std::to_string(r->request_id);
      }
      case MessageType::kErrorResponse: {
        auto e = sync::decode_error_response(bytes);
        if (!e) return "ErrorResponse?";
        return "ErrorResponse " + std::string(status_code_name(e->code)) + "/" + std::to_string(e->reason) +
               " next=" + std::to_string(static_cast<int>(e->next)) + " id=" + std::to_string(e->request_id);
      }
      case MessageType::kLoginResponse: return "LoginResponse";
      default: return "other";
    }
  }

  // Creates a form through `c` (logged in as user/device): its seq.
  sync::ServerSeq create_form(net::WsConnection& c, const std::string& user, const std::string& device) {
    auto answer = roundtrip(c, create_form_request(user, device, 1));
    if (!answer) {
      ADD_FAILURE() << answer.status().to_string();
      return 0;
    }
    auto response = sync::decode_sync_response(*answer);
    if (!response || response->results.size() != 1) {
      ADD_FAILURE() << describe(*answer);
      return 0;
    }
    EXPECT_GT(response->results[0].seq, 0u) << response->results[0].message;
    return response->results[0].seq;
  }

  static std::uint16_t reason(AccountReason r) { return static_cast<std::uint16_t>(r); }
  static std::uint16_t reason(sync::SyncReason r) { return static_cast<std::uint16_t>(r); }

  // Polls `condition` for up to `limit`.
  template <typename F>
  static bool eventually(F condition, std::chrono::milliseconds limit = 5000ms) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!condition()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(10ms);
    }
    return true;
  }

  static constexpr int kUsers = 20;
  static fs::path* dir_;

  workflow::SystemClock clock_;
  sync::HybridClock hlc_;
  std::unique_ptr<AccountStore> accounts_;
  std::unique_ptr<store::Store> store_;  // outlives accounts_ and sync_
  TemplateRegistry templates_;
  std::unique_ptr<server::SyncService> sync_;
  std::unique_ptr<NetServer> net_;  // declared last: stopped first
};

fs::path* NetServerTest::dir_ = nullptr;

// ---- transport -----------------------------------------------------------------------------

TEST_F(NetServerTest, OverTlsALoggedInClientCreatesAForm) {
  start(tls_config());
  auto c = connected(/*tls=*/true);
  ASSERT_NE(c, nullptr);
  auto answer = roundtrip(*c, login_message("p1", "dev-p1", password_of("p1")));
  ASSERT_TRUE(answer.is_ok()) << answer.status().to_string();
  auto login = sync::decode_login_response(*answer);
  ASSERT_TRUE(login.is_ok()) << describe(*answer);
  EXPECT_EQ(login->token.size(), 64u);
  EXPECT_EQ(login->user.id, "p1");
  EXPECT_EQ(login->user.unit, "731101");
  EXPECT_EQ(login->unit_name, "竞秀区科协");
  EXPECT_GT(login->server_time_ms, 0);

  EXPECT_GT(create_form(*c, "p1", "dev-p1"), 0u);
  EXPECT_EQ(sync_->head(), 1u);
  EXPECT_EQ(net_->status().authenticated, 1u);
  c->close();
  EXPECT_TRUE(eventually([&] { return net_->status().connections == 0; }));
  EXPECT_EQ(net_->status().authenticated, 0u);
}

TEST_F(NetServerTest, ACertificateNotSignedByTheTrustedOneIsRefused) {
  start(tls_config());
  auto c = connect(/*tls=*/true, /*ca=*/"stranger");
  ASSERT_FALSE(c.is_ok());
  EXPECT_EQ(c.status().code(), StatusCode::kPermissionDenied) << c.status().to_string();
  EXPECT_NE(c.status().message().find("证书验证失败"), std::string::npos) << c.status().message();
}

TEST_F(NetServerTest, PlainWsWorksOnLoopbackWhenAllowed) {
  start(plain_config());
  auto c = connected();
  ASSERT_NE(c, nullptr);
  ASSERT_FALSE(login(*c, "p1", "dev-p1").empty());
  EXPECT_GT(create_form(*c, "p1", "dev-p1"), 0u);
}

TEST_F(NetServerTest, PlainWsIsRefusedOffLoopbackOrWithoutAllowPlain) {
  NetConfig wide = plain_config();
  wide.listen_address = "0.0.0.0";  // refused before anything is bound
  auto refused = NetServer::start(wide, *sync_, *accounts_);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("回环地址"), std::string::npos) << refused.status().message();

  NetConfig not_allowed = plain_config();
  not_allowed.allow_plain = false;
  EXPECT_EQ(NetServer::start(not_allowed, *sync_, *accounts_).status().code(), StatusCode::kFailedPrecondition);

  NetConfig no_cert = tls_config();
  no_cert.cert_file = (*dir_ / "missing.crt").string();
  auto missing = NetServer::start(no_cert, *sync_, *accounts_);
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.status().message().find("无法读取证书文件"), std::string::npos) << missing.status().message();
}

// ---- login and authorization --------------------------------------------------------------

TEST_F(NetServerTest, ASyncRequestBeforeLoginIsRefusedAndTheConnectionStaysUsable) {
  start(plain_config());
  auto c = connected();
  ASSERT_NE(c, nullptr);
  auto answer = roundtrip(*c, create_form_request("p1", "dev-p1", 42));
  ASSERT_TRUE(answer.is_ok()) << answer.status().to_string();
  auto error = sync::decode_error_response(*answer);
  ASSERT_TRUE(error.is_ok()) << describe(*answer);
  EXPECT_EQ(error->request_id, 42u);
  EXPECT_EQ(error->code, StatusCode::kPermissionDenied);
  EXPECT_EQ(error->next, sync::NextStep::kReauthenticate);
  EXPECT_EQ(error->message, "请先登录");
  EXPECT_EQ(sync_->head(), 0u);

  ASSERT_FALSE(login(*c, "p1", "dev-p1").empty());
  EXPECT_GT(create_form(*c, "p1", "dev-p1"), 0u);
  EXPECT_GE(net_->status().refused, 1u);
}

TEST_F(NetServerTest, AWrongPasswordGetsBadCredentials) {
  start(plain_config());
  auto c = connected();
  ASSERT_NE(c, nullptr);
  auto answer = roundtrip(*c, login_message("p1", "dev-p1", "wrong-password-1"));
  ASSERT_TRUE(answer.is_ok()) << answer.status().to_string();
  auto error = sync::decode_error_response(*answer);
  ASSERT_TRUE(error.is_ok()) << describe(*answer);
  EXPECT_EQ(error->reason, reason(AccountReason::kBadCredentials));
  EXPECT_EQ(error->next, sync::NextStep::kReauthenticate);
  EXPECT_EQ(error->message, "用户名或密码错误");
  // Still connected: the right password works.
  EXPECT_FALSE(login(*c, "p1", "dev-p1").empty());
}

TEST_F(NetServerTest, ATokenResumesOnItsDeviceButNotOnAnother) {
  start(plain_config());
  auto a = connected();
  ASSERT_NE(a, nullptr);
  const std::string token = login(*a, "p1", "dev-A");
  ASSERT_FALSE(token.empty());

  auto b = connected();
  ASSERT_NE(b, nullptr);
  auto stolen = roundtrip(*b, login_message("p1", "dev-B", "", token));
  ASSERT_TRUE(stolen.is_ok()) << stolen.status().to_string();
  auto error = sync::decode_error_response(*stolen);
  ASSERT_TRUE(error.is_ok()) << describe(*stolen);
  EXPECT_EQ(error->reason, reason(AccountReason::kWrongDevice));
  EXPECT_EQ(error->next, sync::NextStep::kReauthenticate);
  // ... and b's SyncRequest as dev-B is refused too: b is not logged in.
  auto sync_answer = roundtrip(*b, create_form_request("p1", "dev-B", 7));
  ASSERT_TRUE(sync_answer.is_ok());
  EXPECT_EQ(describe(*sync_answer), "ErrorResponse permission_denied/2005 next=1 id=7");

  auto resumed = connected();
  ASSERT_NE(resumed, nullptr);
  auto again = roundtrip(*resumed, login_message("p1", "dev-A", "", token));
  ASSERT_TRUE(again.is_ok());
  auto response = sync::decode_login_response(*again);
  ASSERT_TRUE(response.is_ok()) << describe(*again);
  EXPECT_EQ(response->token, token);
  EXPECT_GT(create_form(*resumed, "p1", "dev-A"), 0u);
}

TEST_F(NetServerTest, EveryMessageIsAuthorizedSoDisablingTakesEffectOnAnOpenConnection) {
  start(plain_config());
  auto c = connected();
  ASSERT_NE(c, nullptr);
  ASSERT_FALSE(login(*c, "p1", "dev-p1").empty());
  EXPECT_GT(create_form(*c, "p1", "dev-p1"), 0u);

  ASSERT_TRUE(accounts_->set_disabled("p1", true).is_ok());
  auto answer = roundtrip(*c, create_form_request("p1", "dev-p1", 9));
  ASSERT_TRUE(answer.is_ok()) << answer.status().to_string();
  auto error = sync::decode_error_response(*answer);
  ASSERT_TRUE(error.is_ok()) << describe(*answer);
  EXPECT_EQ(error->request_id, 9u);
  EXPECT_EQ(error->code, StatusCode::kPermissionDenied);
  EXPECT_EQ(error->next, sync::NextStep::kReauthenticate);
  EXPECT_EQ(sync_->head(), 1u);  // nothing applied
  EXPECT_TRUE(c->is_open());
  // Logging in again says why.
  auto relogin = roundtrip(*c, login_message("p1", "dev-p1", password_of("p1")));
  ASSERT_TRUE(relogin.is_ok());
  EXPECT_EQ(describe(*relogin), "ErrorResponse permission_denied/" + std::to_string(reason(AccountReason::kDisabled)) +
                                    " next=1 id=0");
}

// The directory is live: a user an administrator adds while the server runs
// logs in and syncs at once (before, logins worked but every sync was refused
// with 账号不存在或已停用 until a restart).
TEST_F(NetServerTest, AUserAddedWhileTheServerRunsLogsInAndSyncs) {
  start(plain_config());
  auto first = connected();
  ASSERT_NE(first, nullptr);
  ASSERT_FALSE(login(*first, "p1", "dev-p1").empty());
  EXPECT_EQ(create_form(*first, "p1", "dev-p1"), 1u);  // the service has read its directory

  ASSERT_TRUE(accounts_->add_user({"p99", "新来的填报人", "731101", {Role::kPreparer}, false}, password_of("p99")).is_ok());
  auto c = connected();
  ASSERT_NE(c, nullptr);
  ASSERT_FALSE(login(*c, "p99", "dev-p99").empty());
  EXPECT_EQ(create_form(*c, "p99", "dev-p99"), 2u);
}

// A role changed while the server runs counts at the next message: a
// preparer made a reviewer may no longer edit.
TEST_F(NetServerTest, ARoleChangedWhileTheServerRunsCountsAtTheNextMessage) {
  start(plain_config());
  auto c = connected();
  ASSERT_NE(c, nullptr);
  ASSERT_FALSE(login(*c, "p1", "dev-p1").empty());
  EXPECT_EQ(create_form(*c, "p1", "dev-p1"), 1u);
  ASSERT_TRUE(accounts_->set_roles("p1", {Role::kUnitReviewer}).is_ok());
  auto answer = roundtrip(*c, create_form_request("p1", "dev-p1", 2));
  ASSERT_TRUE(answer.is_ok()) << answer.status().to_string();
  auto response = sync::decode_sync_response(*answer);
  ASSERT_TRUE(response.is_ok()) << describe(*answer);
  ASSERT_EQ(response->results.size(), 1u);
  EXPECT_EQ(response->results[0].seq, 0u);
  EXPECT_EQ(response->results[0].code, StatusCode::kPermissionDenied) << response->results[0].message;
}

// A store busy beyond its timeout while a message is authorized is a moment's
// trouble, not a logout: the client is told to retry, and the retry on the
// same connection goes through without logging in again.
TEST_F(NetServerTest, ABusyAccountStoreAsksForARetryAndKeepsTheConnectionLoggedIn) {
  const std::string path = (*dir_ / ("accounts-" + new_uuid_v4() + ".db")).string();
  workflow::ManualClock accounts_clock(clock_.now());
  open_accounts(path, &accounts_clock);
  start(plain_config());
  auto c = connected();
  ASSERT_NE(c, nullptr);
  ASSERT_FALSE(login(*c, "p1", "dev-p1").empty());
  // Two minutes on: this message's authorization writes the session's
  // last_seen, and so needs the write lock.
  accounts_clock.advance(2min);

  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);  // the write lock
  auto busy = roundtrip(*c, create_form_request("p1", "dev-p1", 5), 20s);
  ASSERT_EQ(sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  ASSERT_TRUE(busy.is_ok()) << busy.status().to_string();
  auto error = sync::decode_error_response(*busy);
  ASSERT_TRUE(error.is_ok()) << describe(*busy);
  EXPECT_EQ(error->code, StatusCode::kUnavailable);
  EXPECT_EQ(error->next, sync::NextStep::kRetry);

  auto retried = roundtrip(*c, create_form_request("p1", "dev-p1", 6));
  ASSERT_TRUE(retried.is_ok()) << retried.status().to_string();
  EXPECT_EQ(describe(*retried), "SyncResponse seq=1 id=6");
  c.reset();
  net_.reset();  // before accounts_clock goes
  accounts_.reset();
}

// ---- hostile and idle peers ---------------------------------------------------------------

TEST_F(NetServerTest, AMalformedMessageGetsAnErrorAndTheConnectionStaysUsable) {
  start(plain_config());
  auto c = connected();
  ASSERT_NE(c, nullptr);
  for (const std::string& junk : {std::string("garbage"), std::string("JXS") + std::string(20, '\x01'),
                                  sync::encode_message(sync::SyncResponse{})}) {
    auto answer = roundtrip(*c, junk);
    ASSERT_TRUE(answer.is_ok()) << answer.status().to_string();
    auto error = sync::decode_error_response(*answer);
    ASSERT_TRUE(error.is_ok()) << describe(*answer);
    EXPECT_EQ(error->reason, reason(sync::SyncReason::kMalformedMessage));
    EXPECT_EQ(error->next, sync::NextStep::kGiveUp);
  }
  ASSERT_FALSE(login(*c, "p1", "dev-p1").empty());
  EXPECT_GT(create_form(*c, "p1", "dev-p1"), 0u);
}

TEST_F(NetServerTest, TheClientWillNotSendAFrameLargerThanTheProtocolAllows) {
  start(plain_config());
  auto c = connected();
  ASSERT_NE(c, nullptr);
  const Status s = c->send(std::string(sync::kMaxPayloadBytes + sync::kEnvelopeBytes + 1, 'x'), kWait);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s.to_string();
  EXPECT_TRUE(c->is_open());
}

TEST_F(NetServerTest, AnOversizedFrameClosesOnlyThatConnection) {
  // The limit under test is the server's own (max_message_bytes + the 12-byte
  // envelope); a smaller one than the protocol's keeps the frames small.
  NetConfig config = plain_config();
  config.max_message_bytes = 64 * 1024;
  start(config);
  auto good = connected();
  ASSERT_NE(good, nullptr);
  ASSERT_FALSE(login(*good, "p1", "dev-p1").empty());

  auto bad = connected();
  ASSERT_NE(bad, nullptr);
  const std::size_t limit = config.max_message_bytes + sync::kEnvelopeBytes;
  // Exactly at the limit: read, and refused as malformed.
  auto at_limit = roundtrip(*bad, std::string(limit, 'x'));
  ASSERT_TRUE(at_limit.is_ok()) << at_limit.status().to_string();
  EXPECT_EQ(sync::decode_error_response(*at_limit)->reason, reason(sync::SyncReason::kMalformedMessage));
  // One byte more: the server closes the connection.
  ASSERT_TRUE(bad->send(std::string(limit + 1, 'x'), kWait).is_ok());
  auto closed = bad->receive(kWait);
  ASSERT_FALSE(closed.is_ok());
  EXPECT_EQ(closed.status().detail(), "closed");

  EXPECT_GT(create_form(*good, "p1", "dev-p1"), 0u);
}

TEST_F(NetServerTest, ASilentConnectionIsClosedAfterTheIdleTimeout) {
  NetConfig config = plain_config();
  config.idle_timeout = 1s;
  config.ping_interval = 0s;  // no pings: silence is silence
  start(config);
  auto c = connected();
  ASSERT_NE(c, nullptr);
  ASSERT_FALSE(login(*c, "p1", "dev-p1").empty());
  ASSERT_TRUE(eventually([&] { return net_->status().connections == 0; }, 4000ms));
  auto r = c->receive(kWait);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().detail(), "closed");
}

TEST_F(NetServerTest, AReadingClientAnswersPingsAndStaysConnected) {
  NetConfig config = plain_config();
  config.idle_timeout = 2s;
  config.ping_interval = 1s;
  start(config);
  auto c = connected();
  ASSERT_NE(c, nullptr);
  ASSERT_FALSE(login(*c, "p1", "dev-p1").empty());
  // Waiting for a message that never comes, the client answers the pings.
  auto r = c->receive(3500ms);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().detail(), "timeout");
  EXPECT_GT(create_form(*c, "p1", "dev-p1"), 0u);
}

TEST_F(NetServerTest, ConnectionsBeyondTheLimitAreRefused) {
  NetConfig config = plain_config();
  config.max_connections = 2;
  start(config);
  auto a = connected();
  auto b = connected();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  auto third = connect();
  ASSERT_FALSE(third.is_ok());
  EXPECT_EQ(third.status().code(), StatusCode::kUnavailable);
  a->close();
  ASSERT_TRUE(eventually([&] { return net_->status().connections < 2; }));
  auto fourth = connected();
  ASSERT_NE(fourth, nullptr);
  EXPECT_FALSE(login(*fourth, "p2", "dev-p2").empty());
}

TEST_F(NetServerTest, StoppingTheServerClosesItsConnections) {
  start(plain_config());
  auto c = connected();
  ASSERT_NE(c, nullptr);
  ASSERT_FALSE(login(*c, "p1", "dev-p1").empty());
  net_->stop();
  auto r = c->receive(kWait);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().detail(), "closed");
  EXPECT_FALSE(connect().is_ok());
}

// ---- HTTP on the same port ---------------------------------------------------------------

TEST_F(NetServerTest, HealthAndStatusAnswerOverPlainHttp) {
  start(plain_config());
  const std::string health = http_get(net_->port(), "/healthz");
  EXPECT_EQ(health.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << health;
  EXPECT_NE(health.find("\r\n\r\n{\"status\":\"ok\"}"), std::string::npos) << health;

  auto c = connected();
  ASSERT_NE(c, nullptr);
  ASSERT_FALSE(login(*c, "p1", "dev-p1").empty());
  EXPECT_GT(create_form(*c, "p1", "dev-p1"), 0u);
  const std::string status = http_get(net_->port(), "/status");
  EXPECT_EQ(status.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << status;
  EXPECT_NE(status.find("\"authenticated\":1"), std::string::npos) << status;
  EXPECT_NE(status.find("\"head_seq\":1"), std::string::npos) << status;
  EXPECT_NE(status.find("\"sessions\":1"), std::string::npos) << status;

  const std::string missing = http_get(net_->port(), "/nothing-here");
  EXPECT_EQ(missing.rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u) << missing;
}

TEST_F(NetServerTest, StatusIsRefusedThroughATrustedProxyEvenOnLoopback) {
  NetConfig config = plain_config();
  config.http.trusted_proxies = {"127.0.0.1"};  // a proxy on this machine
  start(config);
  jixiao::testing::RawHttp c(net_->port());
  ASSERT_TRUE(c.request("GET", "/status", "X-Forwarded-For: 127.0.0.1\r\n"));
  auto refused = c.read_reply();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403u);
  EXPECT_EQ(refused->header("content-type"), "application/json; charset=utf-8");
  EXPECT_EQ(refused->body,
            R"({"code":"forbidden","error":"服务器状态只能在服务器本机直接访问（不经代理）"})");
  // The same connection (kept alive) still gets /healthz.
  ASSERT_TRUE(c.request("GET", "/healthz"));
  auto health = c.read_reply();
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200u);
}

TEST_F(NetServerTest, HttpKeepsTheConnectionAliveAndRoutesTheCallersRoutes) {
  http::Router routes;
  routes.get("/api/forms/{id}", [](http::Request& r) { return http::Response::json(200, {{"id", r.params.at("id")}}); });
  start(plain_config(), std::move(routes));
  jixiao::testing::RawHttp c(net_->port());
  ASSERT_TRUE(c.request("GET", "/api/forms/7"));
  auto one = c.read_reply();
  ASSERT_TRUE(one);
  EXPECT_EQ(one->status, 200u);
  EXPECT_EQ(one->body, R"({"id":"7"})");
  ASSERT_TRUE(c.request("GET", "/status"));
  auto two = c.read_reply();
  ASSERT_TRUE(two);
  EXPECT_EQ(two->status, 200u);
  EXPECT_NE(two->body.find("\"head_seq\":0"), std::string::npos) << two->body;
  ASSERT_TRUE(c.request("POST", "/healthz", "", "x"));
  auto wrong = c.read_reply();
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 405u);
  EXPECT_EQ(wrong->header("allow"), "GET, HEAD");
}

// Slow pages keep every HTTP handler thread busy (and the queue half full);
// a WebSocket client still logs in and syncs at once, because sync runs on
// the server's own workers.
TEST_F(NetServerTest, SlowHttpHandlersDoNotDelayASync) {
  std::atomic<int> started{0};
  std::atomic<bool> release{false};
  http::Router routes;
  routes.get("/slow", [&](http::Request&) {
    ++started;
    for (int i = 0; i < 300 && !release; ++i) std::this_thread::sleep_for(10ms);  // at most 3 s
    return http::Response::text(200, "slow");
  });
  NetConfig config = plain_config();
  config.http.handler_threads = 2;
  config.http.handler_queue = 4;
  start(config, std::move(routes));

  std::vector<std::unique_ptr<jixiao::testing::RawHttp>> pages;
  for (int i = 0; i < 4; ++i) {
    pages.push_back(std::make_unique<jixiao::testing::RawHttp>(net_->port()));
    ASSERT_TRUE(pages.back()->request("GET", "/slow"));
  }
  ASSERT_TRUE(eventually([&] { return started.load() == 2; }));

  const auto t0 = std::chrono::steady_clock::now();
  auto c = connected();
  ASSERT_NE(c, nullptr);
  ASSERT_FALSE(login(*c, "p1", "dev-p1").empty());
  EXPECT_GT(create_form(*c, "p1", "dev-p1"), 0u);
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(took, 1s) << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
  EXPECT_EQ(started.load(), 2);  // the pages were still being served meanwhile

  release = true;
  for (auto& page : pages) {
    auto reply = page->read_reply();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 200u);
    EXPECT_EQ(reply->body, "slow");
  }
}

// ---- protocol versions and capabilities ---------------------------------------------------

// A LoginRequest in a version-3 envelope offering `names` as they travel,
// known to this build or not (the struct cannot hold unknown ones).
std::string login_offering(const std::string& user, const std::string& device, const std::string& password,
                           const std::vector<std::string>& names) {
  std::string bytes = sync::encode_message(sync::LoginRequest{user, device, password, "", "test", {}},
                                           sync::WireOptions{3, {}}, sync::Compression::kNone);
  bytes.resize(bytes.size() - 8);  // the empty list's count
  const auto put_u64 = [&](std::uint64_t v) {
    for (int i = 0; i < 8; ++i) bytes += static_cast<char>((v >> (8 * i)) & 0xFFu);
  };
  put_u64(names.size());
  for (const std::string& n : names) {
    put_u64(n.size());
    bytes += n;
  }
  const auto length = static_cast<std::uint32_t>(bytes.size() - sync::kEnvelopeBytes);
  for (std::size_t i = 0; i < 4; ++i) bytes[8 + i] = static_cast<char>((length >> (8 * i)) & 0xFFu);
  return bytes;
}

unsigned envelope_version(const std::string& bytes) { return bytes.size() > 3 ? static_cast<unsigned char>(bytes[3]) : 0u; }

// The server has the capability "unassigned-holder". A current client gets
// it negotiated and FormProgress::unassigned in its round reports; an office
// client of release 2 (version-2 envelopes, release 2's bytes: see
// capabilities_test.cpp) and a version-3 client without the capability log
// in, push and pull, and read every answer in the layout they know.
TEST_F(NetServerTest, ClientsWithoutTheCapabilityKeepSyncingAndACurrentOneGetsItNegotiated) {
  start(plain_config());
  const sync::WireOptions release2{2, {}};
  const sync::WireOptions v3_no_caps{3, {}};

  // A current client of the finance bureau, offering a capability from the
  // future too: only what both sides know is negotiated.
  auto current = connected();
  ASSERT_NE(current, nullptr);
  auto login_answer =
      roundtrip(*current, login_offering("f1", "dev-f1", password_of("f1"), {"row-comments", "unassigned-holder"}));
  ASSERT_TRUE(login_answer.is_ok()) << login_answer.status().to_string();
  EXPECT_EQ(3u, envelope_version(*login_answer));
  auto login = sync::decode_login_response(*login_answer);
  ASSERT_TRUE(login.is_ok()) << describe(*login_answer);
  EXPECT_EQ(sync::Capabilities{sync::Capability::kUnassignedHolder}, login->capabilities);
  const sync::WireOptions negotiated{3, login->capabilities};

  // It opens a round for 731101.
  workflow::RoundSpec spec;
  spec.round_id = "round-2021";
  spec.fiscal_year = 2021;
  spec.notice_number = "保财预[2021]4号";
  spec.deadline = workflow::utc_time(2099, 12, 31, 17, 0);
  spec.requirements = {{"731101", {"project_self_eval_row_points"}}};
  sync::Operation open{new_uuid_v4(), spec.round_id, "f1", "dev-f1", hlc_.now(), 0, sync::OpenRound{spec}};
  auto opened =
      roundtrip(*current, sync::encode_message(sync::SyncRequest{1, "dev-f1", "f1", 0, {open}, sync::kMaxPayloadBytes},
                                               negotiated));
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  EXPECT_EQ(3u, envelope_version(*opened));
  auto report = sync::decode_sync_response(*opened, negotiated);
  ASSERT_TRUE(report.is_ok()) << describe(*opened);
  ASSERT_EQ(1u, report->results.size());
  EXPECT_GT(report->results[0].seq, 0u) << report->results[0].message;
  ASSERT_EQ(1u, report->rounds.size());
  ASSERT_EQ(1u, report->rounds[0].progress.size());
  EXPECT_EQ("731101", report->rounds[0].progress[0].unit);
  EXPECT_EQ(workflow::ProgressKind::kNotStarted, report->rounds[0].progress[0].kind);
  EXPECT_FALSE(report->rounds[0].progress[0].unassigned);
  // The field is on the wire for it: read without the capability, the
  // same answer has a byte too many.
  EXPECT_FALSE(sync::decode_sync_response(*opened, v3_no_caps).is_ok());

  // Release 2: a refusal before login comes in version 2, so it can read it.
  auto old = connected();
  ASSERT_NE(old, nullptr);
  auto early = roundtrip(*old, sync::encode_message(sync::SyncRequest{5, "dev-p1", "p1", 0, {}, sync::kMaxPayloadBytes},
                                                    release2));
  ASSERT_TRUE(early.is_ok()) << early.status().to_string();
  EXPECT_EQ(2u, envelope_version(*early));
  auto refusal = sync::decode_error_response(*early, release2);
  ASSERT_TRUE(refusal.is_ok()) << describe(*early);
  EXPECT_EQ(StatusCode::kPermissionDenied, refusal->code);
  EXPECT_EQ(5u, refusal->request_id);

  // Release 2 logs in and pushes a new form.
  auto old_login = roundtrip(*old, sync::encode_message(sync::LoginRequest{"p1", "dev-p1", password_of("p1"), "",
                                                                           "jixiao 0.1.0", {}},
                                                        release2));
  ASSERT_TRUE(old_login.is_ok()) << old_login.status().to_string();
  EXPECT_EQ(2u, envelope_version(*old_login));
  auto old_session = sync::decode_login_response(*old_login, release2);
  ASSERT_TRUE(old_session.is_ok()) << describe(*old_login);
  EXPECT_TRUE(old_session->capabilities.empty());
  EXPECT_EQ("p1", old_session->user.id);
  sync::Operation create{new_uuid_v4(), new_uuid_v4(), "p1", "dev-p1", hlc_.now(), 0,
                         sync::CreateForm{{"project_self_eval_row_points", 1}, "731101", "竞秀区科协", 2021,
                                          MoneyUnit::kWanYuan}};
  auto pushed = roundtrip(
      *old, sync::encode_message(sync::SyncRequest{6, "dev-p1", "p1", 0, {create}, sync::kMaxPayloadBytes}, release2));
  ASSERT_TRUE(pushed.is_ok()) << pushed.status().to_string();
  EXPECT_EQ(2u, envelope_version(*pushed));
  auto pushed_answer = sync::decode_sync_response(*pushed, release2);
  ASSERT_TRUE(pushed_answer.is_ok()) << describe(*pushed);
  ASSERT_EQ(1u, pushed_answer->results.size());
  EXPECT_GT(pushed_answer->results[0].seq, 0u) << pushed_answer->results[0].message;
  EXPECT_EQ(spec.round_id, sync_->replica(create.form_id)->workflow.round_id);

  // Release 2 of the finance bureau pulls the round report, in release 2's
  // layout: the form just created shows as a draft.
  auto old_bureau = connected();
  ASSERT_NE(old_bureau, nullptr);
  auto bureau_login = roundtrip(*old_bureau, sync::encode_message(sync::LoginRequest{"f1", "dev-f1-old",
                                                                                     password_of("f1"), "", "", {}},
                                                                  release2));
  ASSERT_TRUE(bureau_login.is_ok());
  ASSERT_TRUE(sync::decode_login_response(*bureau_login, release2).is_ok()) << describe(*bureau_login);
  auto pulled = roundtrip(*old_bureau, sync::encode_message(sync::SyncRequest{1, "dev-f1-old", "f1", 0, {},
                                                                              sync::kMaxPayloadBytes},
                                                            release2));
  ASSERT_TRUE(pulled.is_ok());
  EXPECT_EQ(2u, envelope_version(*pulled));
  auto old_report = sync::decode_sync_response(*pulled, release2);
  ASSERT_TRUE(old_report.is_ok()) << describe(*pulled);
  ASSERT_EQ(1u, old_report->rounds.size());
  EXPECT_EQ("保财预[2021]4号", old_report->rounds[0].round.spec.notice_number);
  ASSERT_EQ(1u, old_report->rounds[0].progress.size());
  EXPECT_EQ(workflow::ProgressKind::kDraft, old_report->rounds[0].progress[0].kind);

  // A version-3 client without the capability: version-3 envelopes, no field.
  auto plain3 = connected();
  ASSERT_NE(plain3, nullptr);
  auto plain_login = roundtrip(*plain3, login_offering("f1", "dev-f1-v3", password_of("f1"), {}));
  ASSERT_TRUE(plain_login.is_ok());
  EXPECT_EQ(3u, envelope_version(*plain_login));
  auto plain_session = sync::decode_login_response(*plain_login);
  ASSERT_TRUE(plain_session.is_ok()) << describe(*plain_login);
  EXPECT_TRUE(plain_session->capabilities.empty());
  auto plain_pull = roundtrip(
      *plain3, sync::encode_message(sync::SyncRequest{1, "dev-f1-v3", "f1", 0, {}, sync::kMaxPayloadBytes}, v3_no_caps));
  ASSERT_TRUE(plain_pull.is_ok());
  EXPECT_EQ(3u, envelope_version(*plain_pull));
  auto plain_report = sync::decode_sync_response(*plain_pull, v3_no_caps);
  ASSERT_TRUE(plain_report.is_ok()) << describe(*plain_pull);
  ASSERT_EQ(1u, plain_report->rounds.size());
  EXPECT_EQ(old_report->rounds, plain_report->rounds);
  EXPECT_FALSE(sync::decode_sync_response(*plain_pull, negotiated).is_ok());

  // The current client, still connected, sees the draft too, with the field.
  auto again = roundtrip(*current, sync::encode_message(sync::SyncRequest{2, "dev-f1", "f1", report->cursor, {},
                                                                          sync::kMaxPayloadBytes},
                                                        negotiated));
  ASSERT_TRUE(again.is_ok());
  auto current_report = sync::decode_sync_response(*again, negotiated);
  ASSERT_TRUE(current_report.is_ok()) << describe(*again);
  EXPECT_EQ(old_report->rounds, current_report->rounds);
  EXPECT_FALSE(sync::decode_sync_response(*again, v3_no_caps).is_ok());
}

// ---- load ---------------------------------------------------------------------------------

TEST_F(NetServerTest, TwentyClientsSyncingAtOnceAllSucceed) {
  NetConfig config = tls_config();
  start(config);
  std::atomic<int> succeeded{0};
  std::vector<std::thread> clients;
  for (int i = 1; i <= kUsers; ++i) {
    clients.emplace_back([&, i] {
      const std::string user = "p" + std::to_string(i);
      const std::string device = "dev-" + user;
      auto c = connect(/*tls=*/true);
      if (!c) return;
      auto login_answer = roundtrip(**c, login_message(user, device, password_of(user)));
      if (!login_answer || !sync::decode_login_response(*login_answer)) return;
      for (std::uint64_t request = 1; request <= 3; ++request) {
        auto answer = roundtrip(**c, create_form_request(user, device, request));
        if (!answer) return;
        auto response = sync::decode_sync_response(*answer);
        if (!response || response->request_id != request || response->results.size() != 1 ||
            response->results[0].seq == 0) {
          return;
        }
      }
      (*c)->close();
      ++succeeded;
    });
  }
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(succeeded.load(), kUsers);
  EXPECT_EQ(sync_->head(), static_cast<sync::ServerSeq>(3 * kUsers));
  EXPECT_GE(net_->status().messages_in, static_cast<std::uint64_t>(4 * kUsers));
}

}  // namespace
}  // namespace jixiao::server
