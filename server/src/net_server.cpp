// NetServer: Boost.Beast HTTP and WebSocket on one port (after the Beast
// examples websocket/server/async and advanced/server-flex).
//
// Threads:
// - `config.threads` I/O threads run one io_context. The acceptor and every
//   connection have their own strand, so a connection's handlers never run
//   concurrently and need no locks.
// - a small worker pool runs what blocks: AccountStore (Argon2id, SQLite) and
//   SyncService::handle_bytes (the store, one write transaction a request). A session
//   posts a message to the pool with a copy of its session state and gets the
//   answer (and the new state) posted back to its strand; it reads the next
//   message only after that, so the messages of one connection are handled
//   in order and a slow database never stalls the I/O threads.
//
// - HTTP handlers run on their own bounded pool (jixiao::http::HandlerPool,
//   http_handler_threads / http_handler_queue), never on the workers above.
//
// A connection's life: accept (refused beyond max_connections) -> TLS
// handshake (wss) -> the first HTTP request, all within handshake_timeout ->
// jixiao::http's connection loop (jixiao/http/beast/session.h): a WebSocket
// upgrade goes to a WsSession with the stream; any other request is routed
// (/healthz, /status and the caller's routes) and the connection is kept
// alive for the next one (http_keepalive_idle_s). The ConnectionTicket
// travels from the one to the other and counts the connection until the
// last handler lets go of it.
#include "jixiao/server/net_server.h"

// GCC 12 reports "potential null pointer dereference" inside Asio's any_executor
// comparisons once they are inlined here; the location is Boost's, not ours.
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include <algorithm>
#include <atomic>
#include <deque>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <type_traits>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <openssl/ssl.h>

#include "jixiao/http/beast/session.h"
#include "jixiao/sync/protocol.h"
#include "jixiao/workflow/clock.h"

namespace jixiao::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
namespace http_loop = jixiao::http::beast_session;

namespace {

using PlainStream = beast::tcp_stream;
using TlsStream = ssl::stream<beast::tcp_stream>;
template <typename Stream>
constexpr bool kIsTls = std::is_same_v<Stream, TlsStream>;

// How long stop() lets connections finish their close handshakes, and then
// how long it waits for the sockets it closed to be let go.
constexpr auto kStopGrace = std::chrono::milliseconds(1000);
constexpr auto kStopAbortWait = std::chrono::milliseconds(500);

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A connection that stop() can close from any thread.
class Connection {
 public:
  virtual ~Connection() = default;
  // A polite close (a WebSocket close frame), on the connection's strand.
  virtual void shutdown() = 0;
  // Closes the socket at once, on the connection's strand.
  virtual void abort_now() = 0;
};

// The server's shared state, borrowed by every session.
struct Core {
  Core(NetConfig c, SyncService& s, AccountStore& a)
      : config(std::move(c)),
        sync(s),
        accounts(a),
        ioc(std::max(1, config.threads)),
        acceptor(asio::make_strand(ioc)),
        workers(static_cast<std::size_t>(std::max(2, config.threads))) {}

  void log(std::string_view text) {
    std::string line = workflow::format_iso8601(std::chrono::floor<std::chrono::milliseconds>(
        std::chrono::system_clock::now()));
    line += " jixiao-server net: ";
    line += text;
    line += '\n';
    std::lock_guard lock(log_mu);
    std::clog << line << std::flush;
  }

  void register_connection(std::uint64_t id, std::weak_ptr<Connection> connection) {
    std::lock_guard lock(registry_mu);
    registry[id] = std::move(connection);
  }
  void unregister_connection(std::uint64_t id) {
    std::lock_guard lock(registry_mu);
    registry.erase(id);
  }

  // Constant after start().
  const NetConfig config;
  SyncService& sync;
  AccountStore& accounts;
  std::uint16_t port = 0;

  // Counters, from any thread.
  std::atomic<std::size_t> connections{0};
  std::atomic<std::size_t> authenticated{0};
  std::atomic<std::uint64_t> messages_in{0};
  std::atomic<std::uint64_t> messages_out{0};
  std::atomic<std::uint64_t> refused{0};
  std::atomic<std::uint64_t> next_connection_id{1};
  std::atomic<bool> stopping{false};

  std::mutex registry_mu;
  std::map<std::uint64_t, std::weak_ptr<Connection>> registry;  // GUARDED_BY(registry_mu)
  std::mutex log_mu;

  // Declared before the io_context: sessions (destroyed with it) use them.
  std::optional<ssl::context> tls;
  asio::io_context ioc;
  tcp::acceptor acceptor;  // on its own strand
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  asio::thread_pool workers;
  // HTTP handlers run here, never on `workers`: a slow page cannot delay a
  // sync. Reset by stop() after the I/O threads are joined.
  std::unique_ptr<http::HandlerPool> http_pool;
  std::shared_ptr<const http_loop::Shared> http;  // the routes and limits
  std::vector<std::thread> io_threads;
  std::mutex stop_mu;
  bool stopped = false;  // GUARDED_BY(stop_mu)
};

// One accepted TCP connection: counted from accept until the last session
// object that holds it is gone. Its prefix names it in every log line.
class ConnectionTicket {
 public:
  ConnectionTicket(Core& core, std::uint64_t id, const tcp::endpoint& peer)
      : core_(core), id_(id), peer_loopback_(peer.address().is_loopback()) {
    std::ostringstream text;
    text << '#' << id << ' ' << peer;
    prefix_ = text.str();
  }
  ~ConnectionTicket() {
    core_.unregister_connection(id_);
    --core_.connections;
    log("closed");
  }
  ConnectionTicket(const ConnectionTicket&) = delete;
  ConnectionTicket& operator=(const ConnectionTicket&) = delete;

  std::uint64_t id() const { return id_; }
  bool peer_loopback() const { return peer_loopback_; }
  void log(std::string_view event) const { core_.log(prefix_ + " " + std::string(event)); }

 private:
  Core& core_;
  std::uint64_t id_;
  bool peer_loopback_;
  std::string prefix_;
};

// Errors that end a connection in the ordinary way: not worth a log line of
// their own (the ticket logs "closed").
bool is_harmless(const beast::error_code& ec) {
  return ec == asio::error::operation_aborted ||  // we cancelled it (stop, overflow)
         ec == websocket::error::closed ||         // the peer's close handshake
         ec == asio::error::eof ||                  // the peer went away between messages
         ec == bhttp::error::end_of_stream ||
         ec == ssl::error::stream_truncated ||     // TLS peer left without close_notify
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::not_connected || ec == asio::error::connection_aborted ||
         ec == asio::error::bad_descriptor;        // our own abort() closed the socket
}

// ---- messages (on the worker pool) ---------------------------------------------

// Who this connection has logged in as. Copied to the worker with each
// message and copied back with the answer, so it is owned by the strand.
struct SessionState {
  bool authenticated = false;
  std::string token;  // never logged
  UserId user;
  sync::DeviceId device;
  // How the peer reads (negotiated at login): every answer on the
  // connection is encoded with it. Meaningful once authenticated.
  sync::WireOptions wire = sync::WireOptions::oldest();
};

// The options to answer `bytes` with: the connection's negotiated ones after
// a login; before it, the version of the message's own envelope when this
// server speaks it (so a version-2 client can read its refusal), else the
// oldest it speaks; no capabilities.
sync::WireOptions reply_options(std::string_view bytes, const SessionState& state) {
  if (state.authenticated) return state.wire;
  sync::WireOptions out = sync::WireOptions::oldest();
  if (auto version = sync::peek_protocol_version(bytes)) out.version = *version;
  return out;
}

struct Outcome {
  std::string reply;   // one encoded protocol message
  SessionState state;  // the session after this message
  std::string event;   // a log line, or empty
  bool refused = false;
};

sync::NextStep next_step_for(StatusCode code) {
  switch (code) {
    case StatusCode::kPermissionDenied: return sync::NextStep::kReauthenticate;
    case StatusCode::kUnavailable: return sync::NextStep::kRetry;
    default: return sync::NextStep::kGiveUp;
  }
}

std::string error_reply(std::uint64_t request_id, const Status& status, sync::NextStep next,
                        const sync::WireOptions& wire) {
  return sync::encode_message(sync::ErrorResponse{request_id, status.code(), status.reason(), next, status.message()},
                              wire);
}

std::string reason_text(const Status& s) {
  return std::string(status_code_name(s.code())) + "/" + std::to_string(s.reason());
}

Outcome malformed(const Status& why, SessionState state, const sync::WireOptions& wire) {
  sync::SyncReason reason = sync::SyncReason::kMalformedMessage;
  StatusCode code = StatusCode::kInvalidArgument;
  if (why.code() == StatusCode::kUnsupportedVersion) {
    reason = sync::SyncReason::kUnsupportedProtocol;
    code = StatusCode::kUnsupportedVersion;
  } else if (why.code() == StatusCode::kResourceExhausted) {
    reason = sync::SyncReason::kMessageTooLarge;
    code = StatusCode::kResourceExhausted;
  }
  const Status refusal(code, static_cast<std::uint16_t>(reason), "消息格式错误，服务器无法处理：" + why.message(),
                       why.detail());
  return {error_reply(0, refusal, sync::NextStep::kGiveUp, wire), std::move(state),
          "malformed message refused: " + why.to_string(), true};
}

// The LoginRequest's envelope version and capabilities decide the
// connection's wire options (sync::negotiate): a version-2 client gets
// version-2 answers, a current one the capabilities both sides know.
Outcome handle_login(Core& core, std::string_view bytes, SessionState state) {
  const sync::WireOptions refusal_wire = reply_options(bytes, SessionState{});
  auto request = sync::decode_login_request(bytes);
  if (!request) return malformed(request.status(), std::move(state), refusal_wire);
  const sync::LoginRequest& req = *request;
  const sync::WireOptions wire = sync::negotiate(refusal_wire.version, req.capabilities);
  const char* method = req.password.empty() ? "token" : "password";
  Result<std::string> token = Status(StatusCode::kPermissionDenied, static_cast<std::uint16_t>(AccountReason::kBadCredentials),
                                     "用户名或密码错误", "neither password nor token");
  if (!req.password.empty()) {
    token = core.accounts.login(req.user, req.password, req.device);
  } else if (!req.token.empty()) {
    auto session = core.accounts.authenticate(req.token, req.device);
    if (!session) {
      token = session.status();
    } else if (session->user != req.user) {
      token = Status(StatusCode::kPermissionDenied, static_cast<std::uint16_t>(AccountReason::kSessionInvalid),
                     "会话无效或已过期，请重新登录", "token of another user");
    } else {
      token = req.token;
    }
  }
  if (!token) {
    // A failed login ends whatever session the connection had.
    return {error_reply(0, token.status(), next_step_for(token.status().code()), refusal_wire), SessionState{},
            "login refused user=" + req.user + " device=" + req.device + " via " + method + ": " +
                reason_text(token.status()),
            true};
  }
  const Directory directory = core.accounts.directory();
  sync::LoginResponse response;
  response.token = *token;
  if (auto it = directory.users.find(req.user); it != directory.users.end()) response.user = it->second;
  if (const Unit* unit = directory.organisation.find(response.user.unit)) response.unit_name = unit->name;
  response.server_time_ms = unix_ms_now();
  response.capabilities = wire.caps;
  std::string caps_text;
  for (const std::string& name : wire.caps.names()) caps_text += (caps_text.empty() ? "" : ",") + name;
  return {sync::encode_message(response, wire), SessionState{true, *token, req.user, req.device, wire},
          "login ok user=" + req.user + " device=" + req.device + " via " + method + " protocol " +
              std::to_string(wire.version) + (caps_text.empty() ? "" : " capabilities " + caps_text),
          false};
}

Outcome handle_sync(Core& core, std::string_view bytes, SessionState state) {
  // A refused session means log in again; a store that is busy for a moment
  // (kUnavailable) means retry, and the client keeps its token.
  const sync::WireOptions wire = reply_options(bytes, state);
  const auto refuse = [&](const Status& why, std::string event) {
    auto decoded = sync::decode_sync_request(bytes, wire);  // only for its request_id
    // Only a refusal ends the connection's login: after a transient failure
    // the retry the client is told to make must find it still logged in.
    const bool transient = next_step_for(why.code()) == sync::NextStep::kRetry;
    return Outcome{error_reply(decoded ? decoded->request_id : 0, why, next_step_for(why.code()), wire),
                   transient ? state : SessionState{}, std::move(event), true};
  };
  if (!state.authenticated) {
    return refuse(Status(StatusCode::kPermissionDenied, static_cast<std::uint16_t>(AccountReason::kSessionInvalid),
                         "请先登录", "sync request before login"),
                  "sync refused: not logged in");
  }
  // Every message is authorized afresh: expiry, revocation and a disabled
  // account take effect at the next message, not at the next connection.
  auto session = core.accounts.authenticate(state.token, state.device);
  if (!session || session->user != state.user) {
    const Status why = session ? Status(StatusCode::kPermissionDenied,
                                        static_cast<std::uint16_t>(AccountReason::kSessionInvalid),
                                        "会话无效或已过期，请重新登录", "session of another user")
                               : session.status();
    return refuse(why, "sync refused user=" + state.user + " device=" + state.device + ": " + reason_text(why));
  }
  Outcome out;
  out.reply = core.sync.handle_bytes(bytes, SessionIdentity{state.user, state.device}, state.wire);
  const auto type = sync::peek_message_type(out.reply);
  out.refused = type && *type == sync::MessageType::kErrorResponse;
  if (out.refused) {
    if (auto error = sync::decode_error_response(out.reply, state.wire)) {
      out.event = "sync error user=" + state.user + ": " + std::string(status_code_name(error->code)) + "/" +
                  std::to_string(error->reason);
    }
  }
  out.state = std::move(state);
  return out;
}

Outcome process_message(Core& core, std::string_view bytes, SessionState state) {
  const sync::WireOptions wire = reply_options(bytes, state);
  const auto type = sync::peek_message_type(bytes);
  if (!type) return malformed(type.status(), std::move(state), wire);
  switch (*type) {
    case sync::MessageType::kLoginRequest: return handle_login(core, bytes, std::move(state));
    case sync::MessageType::kSyncRequest: return handle_sync(core, bytes, std::move(state));
    default:
      return malformed(Status::invalid_argument("不支持的消息类型", "unexpected message type " +
                                                                 std::to_string(static_cast<int>(*type))),
                       std::move(state), wire);
  }
}

std::string status_json(Core& core) {
  std::ostringstream json;
  json << "{\"connections\":" << core.connections.load() << ",\"authenticated\":" << core.authenticated.load()
       << ",\"messages_in\":" << core.messages_in.load() << ",\"messages_out\":" << core.messages_out.load()
       << ",\"refused\":" << core.refused.load() << ",\"sessions\":" << core.accounts.active_sessions()
       << ",\"head_seq\":" << core.sync.head() << "}";
  return json.str();
}

// ---- WebSocket session ------------------------------------------------------------

template <typename Stream>
class WsSession final : public Connection, public std::enable_shared_from_this<WsSession<Stream>> {
 public:
  WsSession(Core& core, std::shared_ptr<ConnectionTicket> ticket, Stream&& stream)
      : core_(core), ticket_(std::move(ticket)), ws_(std::move(stream)), strand_(ws_.get_executor()),
        ping_timer_(strand_) {}
  ~WsSession() override {
    if (state_.authenticated) --core_.authenticated;
  }

  // On the strand, with the upgrade request the HTTP loop read.
  void run(const bhttp::request<bhttp::string_body>& upgrade) {
    core_.register_connection(ticket_->id(), this->weak_from_this());
    // Beast's own timers from here on: the handshake, then "nothing received
    // for idle_timeout, pongs included" (keep_alive_pings: Beast pings after
    // idle_timeout/2 of silence and closes after a further half without an
    // answer). Without keep_alive_pings Beast would close after idle_timeout
    // even when every ping was answered. Our timer adds a ping every
    // ping_interval for NATs and proxies with shorter memories.
    ws_.set_option(websocket::stream_base::timeout{core_.config.handshake_timeout, core_.config.idle_timeout, true});
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(bhttp::field::server, "jixiao-server"); }));
    ws_.read_message_max(core_.config.max_message_bytes + sync::kEnvelopeBytes);
    ws_.binary(true);
    ws_.async_accept(upgrade, beast::bind_front_handler(&WsSession::on_accept, this->shared_from_this()));
  }

  void shutdown() override {
    asio::post(strand_, [self = this->shared_from_this()] { self->start_close(websocket::close_code::going_away); });
  }
  void abort_now() override {
    asio::post(strand_, [self = this->shared_from_this()] { self->abort(); });
  }

 private:
  void fail(beast::error_code ec, const char* what) {
    if (is_harmless(ec)) return;
    ticket_->log(std::string(what) + ": " + ec.message());
  }

  void on_accept(beast::error_code ec) {
    if (ec) return fail(ec, "websocket accept");
    accepted_ = true;
    ticket_->log(std::string("websocket open") + (kIsTls<Stream> ? " (wss)" : " (ws)"));
    arm_ping_timer();
    do_read();
  }

  void do_read() {
    if (closing_) return;
    ws_.async_read(buffer_, beast::bind_front_handler(&WsSession::on_read, this->shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) {
      closing_ = true;
      ping_timer_.cancel();
      if (ec == websocket::error::message_too_big) {
        // Beast has answered with close code 1009 (too big) and torn down.
        return ticket_->log("message too big (limit " +
                            std::to_string(core_.config.max_message_bytes + sync::kEnvelopeBytes) +
                            " bytes): connection closed");
      }
      if (ec == beast::error::timeout) return ticket_->log("idle or handshake timeout: connection closed");
      return fail(ec, "read");
    }
    ++core_.messages_in;
    std::string bytes = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    // The next read starts when the answer is back: one message at a time.
    asio::post(core_.workers, [self = this->shared_from_this(), bytes = std::move(bytes), state = state_]() mutable {
      Outcome out = process_message(self->core_, bytes, std::move(state));
      asio::post(self->strand_, [self, out = std::move(out)]() mutable { self->on_processed(std::move(out)); });
    });
  }

  void on_processed(Outcome out) {
    if (state_.authenticated != out.state.authenticated) {
      if (out.state.authenticated) {
        ++core_.authenticated;
      } else {
        --core_.authenticated;
      }
    }
    state_ = std::move(out.state);
    if (!out.event.empty()) ticket_->log(out.event);
    if (closing_) return;
    if (out.refused) ++core_.refused;
    send(std::move(out.reply));
    do_read();
  }

  // Exactly one write in flight; the rest wait in a bounded queue.
  void send(std::string message) {
    if (queue_.size() >= core_.config.max_queue) {
      ticket_->log("outbound queue full (" + std::to_string(queue_.size()) +
                   " messages): the peer does not read; connection closed");
      return abort();
    }
    queue_.push_back(std::move(message));
    if (queue_.size() == 1) do_write();
  }

  void do_write() {
    ws_.async_write(asio::buffer(queue_.front()),
                    beast::bind_front_handler(&WsSession::on_write, this->shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec) return fail(ec, "write");
    ++core_.messages_out;
    queue_.pop_front();
    if (!queue_.empty()) do_write();
  }

  // Pings keep NAT and proxies awake and prove the peer alive; the timer
  // holds only a weak reference, so it never keeps a dead session around.
  void arm_ping_timer() {
    if (core_.config.ping_interval.count() <= 0 || closing_) return;
    ping_timer_.expires_after(core_.config.ping_interval);
    ping_timer_.async_wait([weak = this->weak_from_this()](beast::error_code ec) {
      if (ec) return;
      if (auto self = weak.lock()) self->on_ping_timer();
    });
  }

  void on_ping_timer() {
    if (closing_) return;
    if (!ping_in_flight_) {
      // Beast allows one ping beside a read and a write, but not beside a
      // close: start_close() waits for it (close_after_ping_).
      ping_in_flight_ = true;
      ws_.async_ping({}, [self = this->shared_from_this()](beast::error_code) {
        self->ping_in_flight_ = false;
        if (self->close_after_ping_) self->send_close();
      });
    }
    arm_ping_timer();
  }

  // A polite close (server stop): a close frame, bounded by Beast's
  // handshake timeout and by stop()'s grace period.
  void start_close(websocket::close_code code) {
    if (closing_) return;
    closing_ = true;
    close_code_ = code;
    ping_timer_.cancel();
    if (!accepted_) return abort();
    if (ping_in_flight_) {
      close_after_ping_ = true;
      return;
    }
    send_close();
  }

  void send_close() {
    close_after_ping_ = false;
    ws_.async_close(close_code_, [self = this->shared_from_this()](beast::error_code ec) {
      if (ec) self->fail(ec, "close");
    });
  }

  // Ends the connection at once (an abusive or stuck peer).
  void abort() {
    closing_ = true;
    ping_timer_.cancel();
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(ws_).close();
  }

  Core& core_;
  std::shared_ptr<ConnectionTicket> ticket_;
  // No permessage-deflate (false): never negotiated here; compression of
  // secrets under TLS invites CRIME-style attacks.
  websocket::stream<Stream, /*deflateSupported=*/false> ws_;
  asio::any_io_executor strand_;  // ws_'s executor: this connection's strand
  asio::steady_timer ping_timer_;
  beast::flat_buffer buffer_;
  std::deque<std::string> queue_;  // front() is being written
  SessionState state_;
  bool accepted_ = false;
  bool closing_ = false;
  bool ping_in_flight_ = false;
  bool close_after_ping_ = false;
  websocket::close_code close_code_ = websocket::close_code::normal;
};

// ---- HTTP (jixiao::http's connection loop) --------------------------------------------

// What stop() holds of an HTTP connection: it closes the socket. Owned by
// the session (attach), so it lives exactly as long as the connection.
template <typename Stream>
class HttpConnection final : public Connection {
 public:
  explicit HttpConnection(std::weak_ptr<http_loop::Session<Stream>> session) : session_(std::move(session)) {}
  void shutdown() override { abort_now(); }  // nothing polite to say mid-request
  void abort_now() override {
    if (auto session = session_.lock()) session->close();
  }

 private:
  std::weak_ptr<http_loop::Session<Stream>> session_;
};

// Serves HTTP on an accepted connection; a WebSocket upgrade request goes
// to a WsSession with the same stream and ticket.
template <typename Stream, typename... Args>
void serve_connection(Core& core, const std::shared_ptr<ConnectionTicket>& ticket, const tcp::endpoint& peer,
                      Args&&... stream_args) {
  auto upgrade = [&core, ticket](Stream&& stream, http_loop::BeastRequest&& request) {
    std::make_shared<WsSession<Stream>>(core, ticket, std::move(stream))->run(request);
  };
  auto session = std::make_shared<http_loop::Session<Stream>>(core.http, peer, core.config.handshake_timeout,
                                                              std::move(upgrade), std::forward<Args>(stream_args)...);
  auto handle = std::make_shared<HttpConnection<Stream>>(session);
  core.register_connection(ticket->id(), handle);
  session->attach(std::move(handle));
  session->run();
}

// The routes jixiao-server itself mounts beside the caller's.
// Mounted first, so the caller's routes (a catch-all for files, say) cannot
// shadow them.
http::Router server_routes(Core& core, const http::Router& extra) {
  http::Router routes;
  routes.get("/healthz", [](http::Request&) { return http::Response::json(200, {{"status", "ok"}}); },
             http::RouteLimits{std::nullopt, std::nullopt, /*inline_handler=*/true});
  // Counting sessions and reading the head seq touch SQLite: the handler
  // pool. Only someone on this machine, directly (not through a proxy,
  // even one on 127.0.0.1); a logged-in status comes with the console.
  routes.get("/status", [&core](http::Request& request) {
    if (!request.local()) {
      return http::Response::error(403, "forbidden", "服务器状态只能在服务器本机直接访问（不经代理）");
    }
    http::Response out = http::Response::json(200, nullptr);
    out.body = status_json(core);
    return out;
  });
  for (const http::Router::Route& route : extra.routes()) {
    routes.add(route.method, route.pattern, route.handler, route.limits);
  }
  return routes;
}

// ---- accepting ---------------------------------------------------------------------------

void do_accept(Core& core);

void on_accept(Core& core, beast::error_code ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted || core.stopping) return;
  if (ec) {
    // E.g. out of file descriptors: say so, and try again shortly rather
    // than spinning.
    core.log(std::string("accept failed: ") + ec.message());
    auto timer = std::make_shared<asio::steady_timer>(core.acceptor.get_executor(), std::chrono::milliseconds(100));
    timer->async_wait([&core, timer](beast::error_code) { do_accept(core); });
    return;
  }
  beast::error_code peer_ec;
  const tcp::endpoint peer = socket.remote_endpoint(peer_ec);
  if (peer_ec) {  // gone already
    do_accept(core);
    return;
  }
  if (core.connections.load() >= core.config.max_connections) {
    std::ostringstream text;
    text << "refused " << peer << ": " << core.config.max_connections << " connections (max_connections)";
    core.log(text.str());
    beast::error_code ignored;
    socket.close(ignored);
    do_accept(core);
    return;
  }
  ++core.connections;
  auto ticket = std::make_shared<ConnectionTicket>(core, core.next_connection_id++, peer);
  ticket->log("accepted");
  if (core.tls) {
    serve_connection<TlsStream>(core, ticket, peer, std::move(socket), *core.tls);
  } else {
    serve_connection<PlainStream>(core, ticket, peer, std::move(socket));
  }
  do_accept(core);
}

void do_accept(Core& core) {
  // Each connection gets its own strand.
  core.acceptor.async_accept(asio::make_strand(core.ioc), [&core](beast::error_code ec, tcp::socket socket) {
    on_accept(core, ec, std::move(socket));
  });
}

Status refuse_config(std::string message, std::string detail) {
  return {StatusCode::kFailedPrecondition, std::move(message), std::move(detail)};
}

}  // namespace

struct NetServer::Impl final : Core {
  using Core::Core;
};

NetServer::NetServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

NetServer::~NetServer() {
  if (impl_) stop();
}

Result<std::unique_ptr<NetServer>> NetServer::start(const NetConfig& config, SyncService& sync,
                                                    AccountStore& accounts, http::Router routes) {
  // ---- the configuration, checked before anything is bound -----------------------
  if (config.threads < 1) return Status::invalid_argument("网络线程数（threads）至少为 1", "threads < 1");
  if (config.max_message_bytes == 0 || config.max_message_bytes > sync::kMaxPayloadBytes) {
    return Status::invalid_argument("单条消息上限（max_message_bytes）须在 1 到 " + std::to_string(sync::kMaxPayloadBytes) +
                                        " 字节之间",
                                    "max_message_bytes");
  }
  if (config.max_queue == 0 || config.max_connections == 0) {
    return Status::invalid_argument("发送队列长度（max_queue）和最大连接数（max_connections）至少为 1", "limits");
  }
  if (config.http.handler_threads == 0 || config.http.handler_queue == 0) {
    return Status::invalid_argument("HTTP 处理线程数（http_handler_threads）和排队上限（http_handler_queue）至少为 1",
                                    "http limits");
  }
  for (const std::string& proxy : config.http.trusted_proxies) {
    if (!http::is_ip_address(proxy)) {
      return Status::invalid_argument("受信任代理（trusted_proxies）“" + proxy + "”不是有效的 IP 地址", "trusted_proxies");
    }
  }
  std::string host = config.listen_address;
  if (host == "localhost") host = "127.0.0.1";
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  beast::error_code ec;
  const asio::ip::address address = asio::ip::make_address(host, ec);
  if (ec) {
    return Status::invalid_argument("监听地址“" + config.listen_address + "”不是有效的 IP 地址", ec.message());
  }
  if (!config.tls && !(config.allow_plain && address.is_loopback())) {
    return refuse_config("拒绝启动：未加密的 ws 连接只允许在设置 allow_plain = true 且监听本机回环地址（127.0.0.1 或 ::1）时使用，"
                         "当前监听地址为“" +
                             config.listen_address + "”；请启用 TLS（tls = true，并配置 cert_file 和 key_file）",
                         "plain ws refused on " + config.listen_address);
  }

  auto impl = std::unique_ptr<Impl>(new Impl(config, sync, accounts));
  Core& core = *impl;
  core.http_pool = std::make_unique<http::HandlerPool>(config.http.handler_threads, config.http.handler_queue);
  core.http = std::make_shared<const http_loop::Shared>(config.http, server_routes(core, routes),
                                                         core.http_pool.get(), "jixiao-server",
                                                         [&core](const std::string& line) { core.log(line); });

  // ---- TLS ------------------------------------------------------------------------
  if (config.tls) {
    if (config.cert_file.empty() || config.key_file.empty()) {
      return refuse_config("启用 TLS 时必须配置证书文件（cert_file）和私钥文件（key_file）", "cert_file/key_file");
    }
    core.tls.emplace(ssl::context::tls_server);
    ssl::context& tls = *core.tls;
    tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                        ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use,
                    ec);
    SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_2_VERSION);
    tls.use_certificate_chain_file(config.cert_file, ec);
    if (ec) return refuse_config("无法读取证书文件“" + config.cert_file + "”（须为 PEM 格式）", ec.message());
    tls.use_private_key_file(config.key_file, ssl::context::pem, ec);
    if (ec) return refuse_config("无法读取私钥文件“" + config.key_file + "”（须为 PEM 格式）", ec.message());
    if (SSL_CTX_check_private_key(tls.native_handle()) != 1) {
      return refuse_config("证书与私钥不匹配：请检查 cert_file 和 key_file", "SSL_CTX_check_private_key");
    }
  }

  // ---- the listener -------------------------------------------------------------------
  const tcp::endpoint endpoint(address, config.port);
  const std::string where = config.listen_address + ":" + std::to_string(config.port);
  const auto cannot_listen = [&](const beast::error_code& why) {
    return Status(StatusCode::kUnavailable, "无法在 " + where + " 上监听：" + why.message(), why.message());
  };
  if (core.acceptor.open(endpoint.protocol(), ec); ec) return cannot_listen(ec);
  if (core.acceptor.set_option(asio::socket_base::reuse_address(true), ec); ec) return cannot_listen(ec);
  if (core.acceptor.bind(endpoint, ec); ec) return cannot_listen(ec);
  if (core.acceptor.listen(asio::socket_base::max_listen_connections, ec); ec) return cannot_listen(ec);
  core.port = core.acceptor.local_endpoint(ec).port();

  core.work.emplace(core.ioc.get_executor());
  asio::dispatch(core.acceptor.get_executor(), [&core] { do_accept(core); });
  for (int i = 0; i < config.threads; ++i) {
    core.io_threads.emplace_back([&core] {
      for (;;) {
        try {
          core.ioc.run();
          return;
        } catch (const std::exception& e) {
          // A handler threw: log it and keep serving everyone else.
          core.log(std::string("handler threw: ") + e.what());
        }
      }
    });
  }
  core.log("listening on " + std::string(config.tls ? "wss://" : "ws://") +
           (address.is_v6() ? "[" + address.to_string() + "]" : address.to_string()) + ":" +
           std::to_string(core.port) + " threads=" + std::to_string(config.threads) +
           " max_connections=" + std::to_string(config.max_connections));
  return std::unique_ptr<NetServer>(new NetServer(std::move(impl)));
}

std::uint16_t NetServer::port() const { return impl_->port; }

NetStatus NetServer::status() const {
  const Core& core = *impl_;
  return NetStatus{core.connections.load(), core.authenticated.load(), core.messages_in.load(),
                   core.messages_out.load(), core.refused.load()};
}

void NetServer::stop() {
  Core& core = *impl_;
  std::lock_guard lock(core.stop_mu);
  if (core.stopped) return;
  core.stopped = true;
  core.stopping = true;
  asio::post(core.acceptor.get_executor(), [&core] {
    beast::error_code ignored;
    core.acceptor.close(ignored);
  });
  const auto each_live_connection = [&core](void (Connection::*what)()) {
    std::vector<std::shared_ptr<Connection>> live;
    {
      std::lock_guard registry_lock(core.registry_mu);
      for (auto& [id, weak] : core.registry) {
        if (auto connection = weak.lock()) live.push_back(std::move(connection));
      }
    }
    for (auto& connection : live) (connection.get()->*what)();
  };
  const auto wait_for_no_connections = [&core](std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (core.connections.load() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  };
  // Close frames to everyone and a short grace period for the handshakes
  // (a client that is not reading never answers); then the sockets of the
  // rest are closed.
  each_live_connection(&Connection::shutdown);
  wait_for_no_connections(kStopGrace);
  each_live_connection(&Connection::abort_now);
  wait_for_no_connections(kStopAbortWait);
  // Handlers still queued are destroyed with the io_context.
  core.work.reset();
  core.ioc.stop();
  for (std::thread& t : core.io_threads) t.join();
  core.io_threads.clear();
  core.http_pool.reset();  // drops queued handlers, waits for running ones
  core.workers.join();
  core.log("stopped");
}

}  // namespace jixiao::server
