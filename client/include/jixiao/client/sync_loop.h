// The sync loop: connects, logs in (token, else password), then runs a
// sync::ClientSyncSession over the transport until the server has nothing
// more. One job: talking to the server. It owns no state of its own beyond
// the server's wire options of the last login; the settings (token, user,
// last sync time) are in ClientSettings and the data in the replica.
//
// The replica is touched only through `ReplicaAccess`, which the owner may
// guard with a lock: the loop takes it for each step of the session
// (begin, an answer, a tick) and never while it waits for or sends bytes:
// requests the session produces are queued under the lock and sent after
// it is released.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "jixiao/client/client_settings.h"
#include "jixiao/client/transport.h"
#include "jixiao/common/status.h"
#include "jixiao/sync/client_replica.h"
#include "jixiao/workflow/clock.h"

namespace jixiao::client {

// Asks the person for the password (a prompt, a file); nullopt: none given.
using PasswordSource = std::function<std::optional<std::string>()>;

struct SyncProgress {
  std::size_t ops_to_send = 0;    // in the outbox when the sync began (plus any made meanwhile)
  std::size_t ops_sent = 0;       // answered by the server
  std::size_t records_received = 0;  // log entries and snapshots
  std::size_t pages_received = 0;    // answers applied
  std::uint64_t bytes_received = 0;  // of answers, as they arrived
  bool done = false;
};

struct SyncOptions {
  PasswordSource password;  // used when the session token is missing or refused
  std::function<void(const SyncProgress&)> progress;
};

struct SyncSummary {
  std::size_t ops_sent = 0;
  std::size_t accepted = 0;
  std::size_t rejected = 0;        // new rejected changes
  std::size_t records_received = 0;
  bool logged_in_with_password = false;
};

struct SyncLoopOptions {
  TransportFactory connect;  // nullptr: connect_websocket
  const workflow::Clock* clock = nullptr;  // nullptr: the system clock
  std::chrono::milliseconds connect_timeout{15000};
  std::chrono::milliseconds request_timeout{30000};  // one answer
  std::chrono::milliseconds sync_deadline{600000};   // a whole sync
  std::string client_version = "jixiao 0.1.0";
  // Snapshots and entries per transaction when an answer is applied (0: one
  // transaction per answer); the lock is let go between batches.
  std::size_t apply_batch_items = 0;
  // Called between batches with the lock let go (nullptr: a yield): the
  // owner lets the callers waiting for the lock in first.
  std::function<void()> let_others_in;
};

class SyncLoop {
 public:
  // Opens (or returns) the replica; called with the lock held, after a login.
  using OpenReplica = std::function<Result<sync::ClientReplica*>()>;
  // Returns a lock that keeps other users of the replica and the settings
  // out (nullptr: no locking, a single owner).
  using Lock = std::function<std::unique_lock<std::mutex>()>;

  // `settings` borrowed.
  SyncLoop(ClientSettings& settings, SyncLoopOptions options, OpenReplica open_replica, Lock lock = nullptr);

  // Online password login on a fresh connection: a new token, the user as
  // the server knows them, a new unlock verifier; saved.
  Status login(const std::string& password);
  // Connects, logs in, syncs until idle. Errors say what is wrong in Chinese
  // (kUnavailable: the link; kPermissionDenied: a login is needed, detail
  // "no token, no password" or "reauthenticate").
  Result<SyncSummary> sync(const SyncOptions& options);

 private:
  std::unique_lock<std::mutex> guard() const;
  Result<std::unique_ptr<Transport>> connect() const;
  Status login_exchange(Transport& t, const std::string& password, const std::string& token);
  Result<bool> login_on(Transport& t, const PasswordSource& password);
  std::int64_t now_ms() const;

  ClientSettings& settings_;
  SyncLoopOptions options_;
  OpenReplica open_replica_;
  Lock lock_;
  workflow::SystemClock system_clock_;
  sync::WireOptions peer_;  // the server's, as the last LoginResponse said
  // The lock the loop holds while the session applies an answer: released
  // and taken again between the answer's batches.
  std::unique_lock<std::mutex>* held_ = nullptr;
};

}  // namespace jixiao::client
