// The client service (client_service.h).
#include "jixiao/client/client_service.h"

#include <chrono>
#include <thread>

namespace jixiao::client {

ClientService::~ClientService() {
  client_.reset();  // closes the replica before the directory is let go
  dir_lock_.reset();
}

Result<std::unique_ptr<ClientService>> ClientService::open(ServiceOptions options) {
  std::error_code ec;
  std::filesystem::create_directories(options.client.data_dir, ec);
  auto dir_lock = lock_data_dir(options.client.data_dir, options.program);
  if (!dir_lock) return dir_lock.status();
  std::unique_ptr<ClientService> service(new ClientService());
  service->dir_lock_ = std::move(dir_lock).value();
  options.client.apply_batch_items = options.apply_batch_items;
  options.client.let_others_in = [raw = service.get()] {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
    while (raw->waiting_.load() > 0 && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  };
  ClientService* self = service.get();
  auto client = OfficeClient::open(std::move(options.client), [self] { return self->lock(); });
  if (!client) return client.status();
  service->client_ = std::move(client).value();
  return service;
}

Result<std::vector<FormListing>> ClientService::forms() const {
  return with_client([](OfficeClient& c) { return c.forms(); });
}
Result<sync::FormReplica> ClientService::view(const FormId& form) const {
  return with_client([&](OfficeClient& c) { return c.view(form); });
}
Status ClientService::set_cell(const FormId& form, std::string_view cell, std::string_view text) {
  return with_client([&](OfficeClient& c) { return c.set_cell(form, cell, text); });
}
Result<std::vector<TodoItem>> ClientService::todo() const {
  return with_client([](OfficeClient& c) { return c.todo(); });
}
Result<std::vector<HistoryItem>> ClientService::history(const FormId& form) const {
  return with_client([&](OfficeClient& c) { return c.history(form); });
}

Result<SyncSummary> ClientService::sync(const SyncOptions& options) {
  if (syncing_.exchange(true)) {
    return Status(StatusCode::kFailedPrecondition, "正在同步，请等这次同步结束", "sync running");
  }
  {
    std::lock_guard<std::mutex> g(status_mu_);
    status_.syncing = true;
    status_.pages_received = 0;
    status_.bytes_received = 0;
  }
  SyncOptions o = options;
  o.progress = [this, outer = options.progress](const SyncProgress& p) {
    {
      std::lock_guard<std::mutex> g(status_mu_);
      status_.pages_received = p.pages_received;
      status_.bytes_received = p.bytes_received;
    }
    if (outer) outer(p);
  };
  // Not under mu_: the sync loop takes it for each step itself.
  auto result = client_->sync(o);
  {
    std::lock_guard<std::mutex> g(status_mu_);
    status_.syncing = false;
    if (result) {
      status_.online = true;
      status_.last_error.clear();
    } else {
      status_.online = result.status().code() != StatusCode::kUnavailable;
      status_.last_error = result.status().message();
    }
  }
  syncing_ = false;
  return result;
}

ClientStatus ClientService::status() const {
  ClientStatus out;
  {
    std::lock_guard<std::mutex> g(status_mu_);
    out = status_;
  }
  auto g = caller_lock();
  out.changes_waiting = client_->changes_waiting();
  out.last_sync_ms = client_->meta().last_sync_ms;
  return out;
}

}  // namespace jixiao::client
