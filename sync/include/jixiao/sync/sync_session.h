// The client's side of the protocol over any message transport: turns the
// replica's outbox and cursor into SyncRequests and the server's answers into
// replica updates. The transport is two callbacks — the session sends bytes
// through `send`; the owner hands it every message received — so the same
// session runs over the in-process fake network of the tests and over a
// WebSocket.
//
// Resilience: one request in flight at a time, matched to its answer by
// request_id; an answer to anything else (a duplicate, a late answer to a
// request given up on) is ignored; an answer that cannot be decoded (another
// protocol version, content this build does not understand) ends the cycle
// with an error in last_error(), since sending the request again would only
// bring the same answer; no answer within the timeout, or a lost
// connection, means the request is sent again (built afresh from the
// replica, which is safe because operations are idempotent on the server
// and entries on the client). A response with `more` is followed at once by
// the next request, so a dropped connection resumes at the stored cursor.
//
// Time is passed in (milliseconds on any monotonic scale), never read.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "jixiao/common/status.h"
#include "jixiao/common/wire_options.h"
#include "jixiao/sync/client_replica.h"

namespace jixiao::sync {

struct SyncSessionStats {
  std::uint64_t requests_sent = 0;
  std::uint64_t responses_applied = 0;
  std::uint64_t resends = 0;       // timeouts and lost connections
  std::uint64_t ignored = 0;       // duplicates, stale answers, messages that are no answer
  std::uint64_t undecodable = 0;   // answers that could not be decoded (each ends a cycle)
  std::uint64_t errors = 0;        // ErrorResponses received
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
};

class ClientSyncSession {
 public:
  using Send = std::function<void(std::string bytes)>;

  // `replica` is borrowed. `timeout`: how long to wait for an answer.
  ClientSyncSession(ClientReplica& replica, Send send, std::chrono::milliseconds timeout);

  // Starts a sync cycle now unless one is running.
  void begin(std::chrono::milliseconds now);
  // A message from the server.
  void on_message(std::string_view bytes, std::chrono::milliseconds now);
  // A SyncResponse the owner decoded itself (decode_sync_response with the
  // wire options given to set_wire_options), e.g. outside the lock that
  // guards the replica: the same as on_message with its `wire_bytes` bytes.
  void on_sync_response(SyncResponse response, std::size_t wire_bytes, std::chrono::milliseconds now);
  // Call regularly: resends after the timeout.
  void on_tick(std::chrono::milliseconds now);
  // Part of the answer has arrived (the transport saw bytes of it): the
  // timeout starts again from `now`. On a 64 kbit/s link a large answer
  // takes minutes; only silence means the request was lost.
  void on_progress(std::chrono::milliseconds now);
  // The server's wire options as its LoginResponse said (negotiate()):
  // requests are encoded, and answers decoded, with them. Default: this
  // build's own (a server of the same release).
  void set_wire_options(const WireOptions& peer);
  // Adds to each request's timeout the time its own bytes take at this
  // rate (0, the default: none). A request can take longer to upload than
  // the timeout allows for an answer.
  void set_uplink_bytes_per_second(std::uint32_t rate);
  // The transport lost its connection: whatever was in flight will be resent.
  void on_connection_lost(std::chrono::milliseconds now);

  // Called after each answer was applied to the replica (with the request
  // it answered, ids paired): the owner counts progress from it without
  // decoding the answer again.
  using Applied = std::function<void(const SyncRequest& sent, const SyncResponse& response)>;
  void set_applied_observer(Applied observer);
  // The `next` of the last ErrorResponse that ended a cycle or asked for a
  // retry (nullopt: none since the last applied answer).
  std::optional<NextStep> last_server_next() const;

  bool in_flight() const;
  // The request waiting for its answer, or nullptr.
  const SyncRequest* in_flight_request() const;
  // The last cycle finished: nothing left to send, no `more` pending.
  bool idle() const;
  const SyncSessionStats& stats() const;
  // The last error the server or the replica reported, or an answer that
  // could not be decoded (OK if none). Undecodable: kUnsupportedVersion for
  // another protocol version, kCorruption otherwise, with a Chinese message
  // telling the person to upgrade the client or call the administrator.
  const Status& last_error() const;

 private:
  void send_next(std::chrono::milliseconds now);
  void give_up_undecodable(const Status& why);
  void handle_response(std::string_view bytes, std::chrono::milliseconds now);
  void handle_decoded(const SyncResponse& response, std::chrono::milliseconds now);
  void handle_error(std::string_view bytes, std::chrono::milliseconds now);

  ClientReplica& replica_;
  Send send_;
  std::chrono::milliseconds timeout_;
  WireOptions peer_;
  std::uint64_t next_request_id_ = 1;
  bool in_flight_ = false;
  bool again_ = false;  // send another request after this one
  SyncRequest outstanding_;
  std::chrono::milliseconds sent_at_{0};
  std::chrono::milliseconds allowance_{0};  // timeout_ plus the request's upload time
  std::uint32_t uplink_bytes_per_second_ = 0;
  SyncSessionStats stats_;
  Status last_error_;
  std::optional<NextStep> last_server_next_;
  Applied applied_;
  // A request to send at the first tick at or after this time (a lost
  // connection: at once; a retryable error or a replica failure: after the
  // timeout).
  std::optional<std::chrono::milliseconds> retry_at_;
  // Inside send_: a transport that answers synchronously re-enters
  // on_message; the next request is then sent by the outer loop, not by
  // recursion.
  bool sending_ = false;
  bool send_requested_ = false;
};

}  // namespace jixiao::sync
