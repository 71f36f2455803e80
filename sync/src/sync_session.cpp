// The client's sync loop (sync_session.h): one request in flight, matched to
// its answer by request_id.
//
// Decisions written down:
// - A request is always built afresh from the replica (outbox + cursor), on
//   timeouts and retries too, with a new request_id: an answer to an older
//   request is then ignored, which is safe because the server answers a
//   repeated operation with its first result and entries are idempotent.
// - After an applied response the next request goes out at once when the
//   server said `more`, when begin() was called meanwhile, or when the outbox
//   holds operations the last request did not carry (it was cut at the byte
//   cap, or they were made meanwhile). Operations the server left unanswered
//   are not resent in a loop; the next begin() carries them.
// - The timeout counts silence: on_progress() (bytes of the answer arrived)
//   starts it again, and set_uplink_bytes_per_second() adds the request's
//   own upload time. On a slow link a large exchange is not a lost one.
// - A lost connection: the request is resent at the next on_tick() (the
//   owner reconnects first), not from inside on_connection_lost().
// - ErrorResponse with NextStep::kRetry, or a transient replica failure
//   (kUnavailable): resent at the first tick one timeout later. Any other
//   error ends the cycle: idle() is true and last_error() says why. That
//   includes kResetReplica until the reset is implemented (protocol.h).
// - An answer that cannot be decoded while a request is in flight (an
//   envelope of another version, a payload this build misreads, an unknown
//   message type) ends the cycle with an error, never silently: the server
//   would answer a resend the same way, and the person must learn that the
//   client needs an upgrade. With nothing in flight it is ignored (no cycle
//   to end). Messages of a known type that are no answer (a request, a
//   login message) are ignored as before.
// - An ErrorResponse with request_id 0 (the server could not decode the
//   request, so it has no id to echo) answers the request in flight: left
//   unmatched, it would be resent until the sync deadline.
// - A transport that delivers the answer synchronously inside send_ is
//   handled without recursion (sending_ / send_requested_).
#include "jixiao/sync/sync_session.h"

#include <algorithm>
#include <set>
#include <utility>

#include "jixiao/sync/protocol.h"

namespace jixiao::sync {

ClientSyncSession::ClientSyncSession(ClientReplica& replica, Send send, std::chrono::milliseconds timeout)
    : replica_(replica), send_(std::move(send)), timeout_(timeout) {}

void ClientSyncSession::begin(std::chrono::milliseconds now) {
  if (in_flight_) {
    again_ = true;  // another cycle once this answer is in
    return;
  }
  send_next(now);
}

void ClientSyncSession::send_next(std::chrono::milliseconds now) {
  if (sending_) {
    send_requested_ = true;
    return;
  }
  sending_ = true;
  struct Reset {
    bool& flag;
    ~Reset() { flag = false; }
  } reset{sending_};
  do {
    send_requested_ = false;
    outstanding_ = replica_.next_request(next_request_id_++);
    in_flight_ = true;
    again_ = false;
    retry_at_.reset();
    sent_at_ = now;
    std::string bytes = encode_message(outstanding_, peer_);
    allowance_ = timeout_;
    if (uplink_bytes_per_second_ > 0) {
      allowance_ += std::chrono::milliseconds(bytes.size() * 1000 / uplink_bytes_per_second_);
    }
    ++stats_.requests_sent;
    stats_.bytes_sent += bytes.size();
    send_(std::move(bytes));
  } while (send_requested_);
}

void ClientSyncSession::on_message(std::string_view bytes, std::chrono::milliseconds now) {
  stats_.bytes_received += bytes.size();
  auto type = peek_message_type(bytes);
  if (!type) {
    give_up_undecodable(type.status());
    return;
  }
  switch (*type) {
    case MessageType::kSyncResponse:
      handle_response(bytes, now);
      return;
    case MessageType::kErrorResponse:
      handle_error(bytes, now);
      return;
    case MessageType::kSyncRequest:
    case MessageType::kLoginRequest:
    case MessageType::kLoginResponse:  // login is the transport's business
      break;
  }
  ++stats_.ignored;
}

void ClientSyncSession::give_up_undecodable(const Status& why) {
  if (!in_flight_) {
    ++stats_.ignored;  // no cycle to end
    return;
  }
  ++stats_.undecodable;
  in_flight_ = false;
  again_ = false;
  retry_at_.reset();
  const Status reported = undecodable_answer(why);
  last_error_ = Status(reported.code(), reported.reason(), reported.message(),
                       "request " + std::to_string(outstanding_.request_id) + ": " + reported.detail());
}

void ClientSyncSession::handle_response(std::string_view bytes, std::chrono::milliseconds now) {
  auto response = decode_sync_response(bytes, peer_);
  if (!response) {
    give_up_undecodable(response.status());
    return;
  }
  handle_decoded(*response, now);
}

void ClientSyncSession::on_sync_response(SyncResponse response, std::size_t wire_bytes,
                                         std::chrono::milliseconds now) {
  stats_.bytes_received += wire_bytes;
  handle_decoded(response, now);
}

void ClientSyncSession::handle_decoded(const SyncResponse& decoded, std::chrono::milliseconds now) {
  const SyncResponse* response = &decoded;
  if (!in_flight_ || response->request_id != outstanding_.request_id) {
    ++stats_.ignored;  // a duplicate, or the answer to a request given up on
    return;
  }
  in_flight_ = false;
  if (Status s = replica_.apply_response(outstanding_, *response); !s) {
    last_error_ = s;
    if (s.code() == StatusCode::kUnavailable) {
      retry_at_ = now + timeout_;
    } else {
      again_ = false;
    }
    return;
  }
  ++stats_.responses_applied;
  last_error_ = Status::ok();
  last_server_next_.reset();
  if (applied_) applied_(outstanding_, *response);
  bool next = response->more || again_;
  if (!next) {
    std::set<OpId> carried;
    for (const Operation& op : outstanding_.ops) carried.insert(op.id);
    const SyncRequest candidate = replica_.peek_request(0);
    next = std::any_of(candidate.ops.begin(), candidate.ops.end(),
                       [&](const Operation& op) { return carried.count(op.id) == 0; });
  }
  if (next) send_next(now);
}

void ClientSyncSession::handle_error(std::string_view bytes, std::chrono::milliseconds now) {
  auto error = decode_error_response(bytes, peer_);
  if (!error) {
    give_up_undecodable(error.status());
    return;
  }
  // request_id 0: the server could not read the request at all (its
  // version, its content); with one request in flight, that is the one.
  if (!in_flight_ || (error->request_id != outstanding_.request_id && error->request_id != 0)) {
    ++stats_.ignored;
    return;
  }
  ++stats_.errors;
  in_flight_ = false;
  last_error_ = Status(error->code, error->reason, error->message,
                       "server error, next step " + std::to_string(static_cast<int>(error->next)));
  last_server_next_ = error->next;
  if (error->next == NextStep::kRetry) {
    retry_at_ = now + timeout_;
  } else {
    again_ = false;
    retry_at_.reset();
  }
}

void ClientSyncSession::on_progress(std::chrono::milliseconds now) {
  if (in_flight_) sent_at_ = std::max(sent_at_, now);
}

void ClientSyncSession::set_uplink_bytes_per_second(std::uint32_t rate) { uplink_bytes_per_second_ = rate; }
void ClientSyncSession::set_wire_options(const WireOptions& peer) { peer_ = peer; }

void ClientSyncSession::on_tick(std::chrono::milliseconds now) {
  if (in_flight_) {
    if (now - sent_at_ >= allowance_) {
      ++stats_.resends;
      send_next(now);
    }
    return;
  }
  if (retry_at_ && now >= *retry_at_) {
    ++stats_.resends;
    send_next(now);
  }
}

void ClientSyncSession::on_connection_lost(std::chrono::milliseconds now) {
  if (!in_flight_) return;
  in_flight_ = false;
  retry_at_ = now;  // the next tick resends
}

void ClientSyncSession::set_applied_observer(Applied observer) { applied_ = std::move(observer); }
std::optional<NextStep> ClientSyncSession::last_server_next() const { return last_server_next_; }
bool ClientSyncSession::in_flight() const { return in_flight_; }
const SyncRequest* ClientSyncSession::in_flight_request() const { return in_flight_ ? &outstanding_ : nullptr; }
bool ClientSyncSession::idle() const { return !in_flight_ && !retry_at_ && !again_; }
const SyncSessionStats& ClientSyncSession::stats() const { return stats_; }
const Status& ClientSyncSession::last_error() const { return last_error_; }

}  // namespace jixiao::sync
