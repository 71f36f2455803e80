// The sync loop (sync_loop.h).
//
// Decisions written down:
// - Login before any request on a connection: a workflow action queued
//   offline is sent only on a connection whose login the server accepted.
// - The login offers every capability this build knows, in a version-3
//   envelope; what the LoginResponse says (its envelope's version and the
//   negotiated capabilities) is how every later message on that connection
//   is encoded and decoded. An answer that cannot be decoded fails the
//   sync with a message that says to upgrade (sync::undecodable_answer).
// - The session's requests are queued while the lock is held and sent after
//   it is released; answers are received without the lock and applied with
//   it. Nothing is decoded twice: progress is counted in the session's
//   applied-observer, from the answer it decoded and applied.
#include "jixiao/client/sync_loop.h"

#include <algorithm>
#include <thread>
#include <utility>
#include <vector>

#include "jixiao/sync/protocol.h"
#include "jixiao/sync/sync_session.h"

namespace jixiao::client {
namespace {

using Millis = std::chrono::milliseconds;

Millis steady_now() {
  return std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now().time_since_epoch());
}

}  // namespace

SyncLoop::SyncLoop(ClientSettings& settings, SyncLoopOptions options, OpenReplica open_replica, Lock lock)
    : settings_(settings), options_(std::move(options)), open_replica_(std::move(open_replica)), lock_(std::move(lock)) {}

std::unique_lock<std::mutex> SyncLoop::guard() const { return lock_ ? lock_() : std::unique_lock<std::mutex>(); }

std::int64_t SyncLoop::now_ms() const {
  const workflow::Clock& c = options_.clock != nullptr ? *options_.clock : system_clock_;
  return c.now().time_since_epoch().count();
}

Result<std::unique_ptr<Transport>> SyncLoop::connect() const {
  ConnectParams p;
  {
    auto g = guard();
    const ClientMeta& meta = settings_.meta();
    if (meta.server_url.empty()) {
      return Status(StatusCode::kFailedPrecondition, "尚未设置服务器地址，请先注册本机", "no server_url");
    }
    p = ConnectParams{meta.server_url, meta.ca_file, options_.connect_timeout};
  }
  return options_.connect ? options_.connect(p) : connect_websocket(p);
}

// One login exchange on `t`. On success the meta holds the new token and
// the user as the server knows them (not yet saved).
Status SyncLoop::login_exchange(Transport& t, const std::string& password, const std::string& token) {
  sync::LoginRequest req;
  {
    auto g = guard();
    req = sync::LoginRequest{settings_.meta().login, settings_.meta().device_id, password, token,
                             options_.client_version, sync::Capabilities::all()};
  }
  if (auto s = t.send(sync::encode_message(req)); !s) return s;
  auto msg = t.receive(options_.request_timeout);
  if (!msg) {
    return Status(StatusCode::kUnavailable, "服务器没有回应登录请求", msg.status().to_string());
  }
  auto type = sync::peek_message_type(*msg);
  auto version = sync::peek_protocol_version(*msg);
  if (!type) return sync::undecodable_answer(type.status());
  if (!version) return sync::undecodable_answer(version.status());
  if (*type == sync::MessageType::kErrorResponse) {
    auto err = sync::decode_error_response(*msg);
    if (!err) return sync::undecodable_answer(err.status());
    const StatusCode code = err->code == StatusCode::kOk ? StatusCode::kPermissionDenied : err->code;
    return Status(code, err->reason, err->message.empty() ? "服务器拒绝登录" : err->message,
                  "login refused, next step " + std::to_string(static_cast<int>(err->next)));
  }
  if (*type != sync::MessageType::kLoginResponse) {
    return Status::corruption("服务器对登录请求的回应无法识别", "unexpected message type");
  }
  auto resp = sync::decode_login_response(*msg);
  if (!resp) return sync::undecodable_answer(resp.status());
  auto g = guard();
  ClientMeta& meta = settings_.meta();
  if (resp->user.id != meta.login) {
    return Status::corruption("服务器返回的用户与登录名不一致", resp->user.id);
  }
  // A version-2 answer carries no capabilities: the server is of release
  // 2 or older and is spoken to in version 2.
  peer_ = sync::WireOptions{*version, resp->capabilities & sync::Capabilities::all()};
  if (!resp->token.empty()) meta.token = resp->token;
  meta.user = resp->user;
  if (!resp->unit_name.empty()) meta.unit_name = resp->unit_name;
  meta.last_login_ms = now_ms();
  return Status::ok();
}

Status SyncLoop::login(const std::string& password) {
  auto t = connect();
  if (!t) return t.status();
  Status s = login_exchange(**t, password, "");
  (*t)->close();
  if (!s) return s;
  auto g = guard();
  if (auto r = settings_.remember_password(password); !r) return r;
  if (auto r = settings_.save(); !r) return r;
  auto rep = open_replica_();
  return rep ? Status::ok() : rep.status();
}

// Logs in on `t`: the token first, the password if the token is missing
// or refused and a password is to be had. Saves the settings.
Result<bool> SyncLoop::login_on(Transport& t, const PasswordSource& password) {
  std::string token;
  {
    auto g = guard();
    token = settings_.meta().token;
  }
  if (!token.empty()) {
    Status s = login_exchange(t, "", token);
    auto g = guard();
    if (s) {
      if (auto saved = settings_.save(); !saved) return saved;
      return false;
    }
    // Not a refusal of the token: the link, or an answer this client
    // cannot read (it needs an upgrade, the token is still good).
    if (s.code() == StatusCode::kUnavailable || s.code() == StatusCode::kCorruption ||
        s.code() == StatusCode::kUnsupportedVersion) {
      return s;
    }
    settings_.meta().token.clear();  // refused: expired, revoked, another device
    if (auto saved = settings_.save(); !saved) return saved;
    if (!password) return Status(StatusCode::kPermissionDenied, s.message() + "，请重新登录", "reauthenticate");
  }
  std::optional<std::string> pw = password ? password() : std::nullopt;
  if (!pw) return Status(StatusCode::kPermissionDenied, "需要登录：没有会话，也没有提供密码", "no token, no password");
  if (!t.connected()) return Status(StatusCode::kUnavailable, "与服务器的连接已断开", "closed after login refusal");
  if (auto s = login_exchange(t, *pw, ""); !s) return s;
  auto g = guard();
  if (auto s = settings_.remember_password(*pw); !s) return s;
  if (auto s = settings_.save(); !s) return s;
  return true;
}

Result<SyncSummary> SyncLoop::sync(const SyncOptions& o) {
  auto t = connect();
  if (!t) return t.status();
  Transport& transport = **t;
  struct Closer {
    Transport& t;
    ~Closer() { t.close(); }
  } closer{transport};

  SyncSummary summary;
  auto logged = login_on(transport, o.password);
  if (!logged) return logged.status();
  summary.logged_in_with_password = *logged;

  SyncProgress progress;
  auto report = [&] {
    if (o.progress) o.progress(progress);
  };
  // Requests the session made while the lock was held; sent after.
  std::vector<std::string> outgoing;
  std::unique_ptr<sync::ClientSyncSession> session;
  {
    auto g = guard();
    auto rep = open_replica_();
    if (!rep) return rep.status();
    progress.ops_to_send = (*rep)->outbox_size();
    (*rep)->set_apply_batching(options_.apply_batch_items, [this] {
      if (held_ != nullptr && held_->owns_lock()) {
        held_->unlock();  // readers and editors get their turn between batches
        if (options_.let_others_in) {
          options_.let_others_in();
        } else {
          std::this_thread::yield();
        }
        held_->lock();
      }
    });
    session = std::make_unique<sync::ClientSyncSession>(
        **rep, [&](std::string bytes) { outgoing.push_back(std::move(bytes)); }, options_.request_timeout);
  }
  // The batching hook refers to this loop: removed when the sync ends.
  struct Unhook {
    SyncLoop& loop;
    ~Unhook() {
      auto g = loop.guard();
      if (auto rep = loop.open_replica_()) (*rep)->set_apply_batching(0, nullptr);
    }
  } unhook{*this};
  session->set_wire_options(peer_);
  session->set_applied_observer([&](const sync::SyncRequest&, const sync::SyncResponse& response) {
    for (const sync::OpResult& r : response.results) {
      ++summary.ops_sent;
      if (r.seq > 0) {
        ++summary.accepted;
      } else {
        ++summary.rejected;
      }
    }
    summary.records_received += response.entries.size() + response.snapshots.size();
    progress.ops_sent = summary.ops_sent;
    progress.ops_to_send = std::max(progress.ops_to_send, progress.ops_sent);
    progress.records_received = summary.records_received;
    ++progress.pages_received;
  });
  // The slowest link an office has (64 kbit/s), halved: a request's own
  // upload time is added to its timeout.
  session->set_uplink_bytes_per_second(4000);

  Status send_status;
  auto flush = [&] {
    for (std::string& bytes : outgoing) {
      if (send_status) send_status = transport.send(bytes);
    }
    outgoing.clear();
  };
  std::size_t receiving = 0;  // of the answer on its way, at the last look
  const Millis started = steady_now();
  report();
  {
    auto g = guard();
    session->begin(steady_now());
  }
  flush();
  while (true) {
    if (!send_status) {
      return Status(StatusCode::kUnavailable, "与服务器的连接中断，已保存的内容不受影响，稍后再同步",
                    send_status.to_string());
    }
    if (session->idle()) break;
    if (steady_now() - started > options_.sync_deadline) {
      return Status(StatusCode::kUnavailable, "同步超时，已保存的内容不受影响，稍后再同步", "sync deadline");
    }
    auto msg = transport.receive(std::min<Millis>(Millis(500), options_.request_timeout));
    if (!msg) {
      if (msg.status().code() == StatusCode::kUnavailable && msg.status().detail() == "timeout") {
        {
          auto g = guard();
          if (const std::size_t now_receiving = transport.receiving_bytes(); now_receiving != receiving) {
            receiving = now_receiving;
            session->on_progress(steady_now());
          }
          session->on_tick(steady_now());
        }
        flush();
        continue;
      }
      return Status(StatusCode::kUnavailable, "与服务器的连接中断，已保存的内容不受影响，稍后再同步",
                    msg.status().to_string());
    }
    progress.bytes_received += msg->size();
    // An answer is decoded here, without the lock (inflating and decoding a
    // large one takes long); anything else goes to the session as bytes.
    std::optional<sync::SyncResponse> decoded;
    if (auto type = sync::peek_message_type(*msg); type && *type == sync::MessageType::kSyncResponse) {
      if (auto d = sync::decode_sync_response(*msg, peer_)) decoded = std::move(d).value();
    }
    {
      auto g = guard();
      held_ = &g;
      if (decoded) {
        session->on_sync_response(std::move(*decoded), msg->size(), steady_now());
      } else {
        session->on_message(*msg, steady_now());
      }
      held_ = nullptr;
      if (session->last_server_next() == sync::NextStep::kReauthenticate) {
        settings_.meta().token.clear();
        if (auto s = settings_.save(); !s) return s;
        const Status& why = session->last_error();
        return Status(StatusCode::kPermissionDenied,
                      (why.message().empty() ? std::string("会话已过期") : why.message()) + "，请重新登录",
                      "reauthenticate");
      }
    }
    report();
    flush();
  }
  if (const Status& last = session->last_error(); !last) return last;
  {
    auto g = guard();
    settings_.meta().last_sync_ms = now_ms();
    if (auto s = settings_.save(); !s) return s;
  }
  progress.done = true;
  report();
  return summary;
}

}  // namespace jixiao::client
