// The client as a service several callers use at once (the local web page's
// requests, the command line through it later, a background sync), one
// process per data directory.
//
// Thread-safe. One mutex guards the settings and the replica; every read
// and edit holds it for its own duration only. A sync holds it only for
// each step of the session (building a request, applying a batch of an
// answer), never while it waits for the network or sends: so reads and
// edits go on while a sync of ten minutes runs. A large answer is applied
// in bounded transactions (`apply_batch_items` snapshots and entries each,
// the cursor stored with the last), and the lock is let go between them
// until the callers waiting for it have had it (at most 50 ms per pause).
//
// The data directory is locked for the service's lifetime (directory_lock.h):
// a second process that opens it is told which process holds it.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "jixiao/client/directory_lock.h"
#include "jixiao/client/office_client.h"
#include "jixiao/client/results_json.h"

namespace jixiao::client {

struct ServiceOptions {
  ClientOptions client;
  std::string program = "jixiao";  // written in the lock file ("jixiao daemon")
  std::size_t apply_batch_items = 16;  // measured: bench/RESULTS.md, client service
};

class ClientService {
 public:
  static Result<std::unique_ptr<ClientService>> open(ServiceOptions options);
  ~ClientService();
  ClientService(const ClientService&) = delete;
  ClientService& operator=(const ClientService&) = delete;

  // Runs `f(OfficeClient&)` under the lock: any read or edit of
  // office_client.h. `f` must not call sync() (use sync() below).
  template <class F>
  auto with_client(F&& f) const {
    auto g = caller_lock();
    return std::forward<F>(f)(*client_);
  }

  // The common ones.
  Result<std::vector<FormListing>> forms() const;
  Result<sync::FormReplica> view(const FormId& form) const;
  Status set_cell(const FormId& form, std::string_view cell, std::string_view text);
  Result<std::vector<TodoItem>> todo() const;
  Result<std::vector<HistoryItem>> history(const FormId& form) const;

  // One sync at a time: a second call while one runs is refused
  // (kFailedPrecondition, "正在同步"). Reads and edits go on meanwhile.
  Result<SyncSummary> sync(const SyncOptions& options = {});

  // online/offline, syncing with progress, changes waiting, the last
  // successful sync, the last error (Chinese).
  ClientStatus status() const;

 private:
  ClientService() = default;
  std::unique_lock<std::mutex> lock() const { return std::unique_lock<std::mutex>(mu_); }
  // A caller's lock: counted while it waits, so that a sync pausing between
  // batches lets it in first (std::mutex is not fair: a sync that unlocks
  // and locks again at once would otherwise keep it out).
  std::unique_lock<std::mutex> caller_lock() const {
    ++waiting_;
    std::unique_lock<std::mutex> g(mu_);
    --waiting_;
    return g;
  }
  mutable std::atomic<int> waiting_{0};

  mutable std::mutex mu_;  // settings and replica
  std::unique_ptr<DirectoryLock> dir_lock_;
  std::unique_ptr<OfficeClient> client_;
  std::atomic<bool> syncing_{false};
  mutable std::mutex status_mu_;  // status_ only
  ClientStatus status_;
};

}  // namespace jixiao::client
