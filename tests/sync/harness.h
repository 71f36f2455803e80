// An in-process world for sync tests: one server::SyncService and N client machines
// (ClientReplica + ClientSyncSession each) joined by a FakeNetwork that can
// delay, drop, duplicate and reorder every message and cut connections.
//
// Everything is driven by one seeded std::mt19937_64 and a virtual clock:
// step() advances virtual time by one tick, delivers the messages that are
// due (in the order of their delivery time, so delays reorder them), lets the
// server answer through the same faulty link, and ticks every session. No
// thread, no socket, no real time: a seed replays a run exactly (op, form
// and row ids are random UUIDs, but nothing the harness decides depends on
// them).
//
// Loops are bounded: run_until_idle() and sync_until_quiet() take a step or
// pass limit and report whether they got there.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "jixiao/sync/client_replica.h"
#include "jixiao/service/sync_service.h"
#include "jixiao/sync/sync_session.h"
#include "jixiao/workflow/clock.h"
#include "jixiao/workflow/definition.h"
#include "test_support.h"

namespace jixiao::sync::testing {

// ---- the organisation of the tests ------------------------------------------------------

inline constexpr char kBureau[] = "F001";
inline constexpr char kCity[] = "731002";
inline constexpr char kDistrictA[] = "731101";
inline constexpr char kDistrictB[] = "731102";

// 保定: a finance bureau, the city 科协 and two district 科协 under it; two
// preparers, a reviewer and two meeting secretaries (the 主席会 and 党组会
// stages need two different people) in 731101, a preparer in 731102, the
// city's supervisor and the bureau's reviewer.
inline server::Directory test_directory() {
  server::Directory d;
  Organisation& org = d.organisation;
  auto add = [&](Unit u) {
    const Status s = org.add_unit(std::move(u));
    if (!s) throw std::runtime_error(s.to_string());
  };
  add({kBureau, "保定市财政局", UnitLevel::kFinanceBureau, "", ""});
  add({kCity, "保定市科学技术协会", UnitLevel::kCity, "", kBureau});
  add({kDistrictA, "保定市竞秀区科学技术协会", UnitLevel::kDistrict, kCity, kBureau});
  add({kDistrictB, "保定市莲池区科学技术协会", UnitLevel::kDistrict, kCity, kBureau});
  auto user = [&](const UserId& id, const std::string& name, const UnitCode& unit, Role role) {
    d.users[id] = User{id, name, unit, {role}, false};
  };
  user("p1", "张三", kDistrictA, Role::kPreparer);
  user("p2", "李四", kDistrictA, Role::kPreparer);
  user("r1", "王审核", kDistrictA, Role::kUnitReviewer);
  user("m1", "赵秘书", kDistrictA, Role::kMeetingSecretary);
  user("m2", "钱秘书", kDistrictA, Role::kMeetingSecretary);
  user("p3", "孙填报", kDistrictB, Role::kPreparer);
  user("c1", "周主任", kCity, Role::kSupervisor);
  user("f1", "吴科长", kBureau, Role::kFinanceReviewer);
  return d;
}

inline std::vector<workflow::WorkflowDefinition> default_definitions() {
  std::vector<workflow::WorkflowDefinition> defs;
  for (const char* name : {"district-default.json", "city-default.json"}) {
    auto def = workflow::load_workflow_definition(std::string(JIXIAO_SOURCE_DIR) + "/workflow/definitions/" + name);
    if (!def) throw std::runtime_error(def.status().to_string());
    defs.push_back(std::move(def).value());
  }
  return defs;
}

// ---- faults -------------------------------------------------------------------------------

struct Faults {
  int drop_percent = 0;       // a message vanishes
  int duplicate_percent = 0;  // a message arrives twice
  int cut_per_mille = 0;      // per client and step: the connection drops
  std::int64_t max_delay_ms = 0;  // each message takes 1 tick + [0, max_delay_ms)
};
inline Faults no_faults() { return {}; }
inline Faults rough_network() { return Faults{15, 10, 3, 400}; }

// ---- one machine --------------------------------------------------------------------------

struct SimClient {
  UserId user;
  DeviceId device;
  std::unique_ptr<workflow::ManualClock> clock;  // its own wall clock, maybe skewed
  std::unique_ptr<ClientReplica> replica;
  std::unique_ptr<ClientSyncSession> session;
  std::uint64_t connection = 0;  // generation: messages of an older one are lost
};

struct NetworkStats {
  std::uint64_t delivered = 0;
  std::uint64_t dropped = 0;
  std::uint64_t duplicated = 0;
  std::uint64_t cuts = 0;
  std::uint64_t lost_in_cuts = 0;
  std::uint64_t server_requests = 0;
};

class FakeNetwork {
 public:
  static constexpr std::int64_t kTickMs = 20;
  static constexpr std::chrono::milliseconds kSessionTimeout{1500};

  // `rng` is borrowed: the test and the network draw from one seeded stream.
  FakeNetwork(std::mt19937_64& rng, workflow::TimePoint start = workflow::utc_time(2022, 3, 1, 9, 0),
              const std::string& server_db = ":memory:")
      : rng_(rng), directory_(test_directory()), server_clock_(start) {
    auto server = server::SyncService::open_seeded(server_db, directory_, shipped_templates(), default_definitions(), server_clock_);
    if (!server) throw std::runtime_error("server: " + server.status().to_string());
    server_ = std::move(server).value();
  }

  // A machine of `user`; its wall clock runs `skew_ms` off the server's.
  SimClient& add_client(const UserId& user, const DeviceId& device, std::int64_t skew_ms = 0) {
    auto c = std::make_unique<SimClient>();
    c->user = user;
    c->device = device;
    c->clock = std::make_unique<workflow::ManualClock>(server_clock_.now() + std::chrono::milliseconds(skew_ms));
    auto replica = ClientReplica::open(":memory:", ClientIdentity{directory_.users.at(user), device, directory_.organisation.find(directory_.users.at(user).unit)->name},
                                       shipped_templates(), *c->clock);
    if (!replica) throw std::runtime_error("replica " + device + ": " + replica.status().to_string());
    c->replica = std::move(replica).value();
    const std::size_t index = clients_.size();
    c->session = std::make_unique<ClientSyncSession>(
        *c->replica, [this, index](std::string bytes) { transmit(index, true, std::move(bytes)); },
        kSessionTimeout);
    clients_.push_back(std::move(c));
    return *clients_.back();
  }

  void set_faults(Faults f) { faults_ = f; }
  server::SyncService& server() { return *server_; }
  const server::Directory& directory() const { return directory_; }
  std::size_t size() const { return clients_.size(); }
  SimClient& client(std::size_t i) { return *clients_.at(i); }
  SimClient& client(const DeviceId& device) {
    for (auto& c : clients_) {
      if (c->device == device) return *c;
    }
    throw std::runtime_error("no client " + device);
  }
  std::size_t index_of(const DeviceId& device) const {
    for (std::size_t i = 0; i < clients_.size(); ++i) {
      if (clients_[i]->device == device) return i;
    }
    throw std::runtime_error("no client " + device);
  }
  std::chrono::milliseconds now() const { return now_; }
  const NetworkStats& stats() const { return stats_; }
  std::size_t in_flight() const { return queue_.size(); }

  // Moves every clock (server's and clients') forward without any delivery:
  // time spent offline.
  void advance(std::chrono::milliseconds by) {
    now_ += by;
    server_clock_.advance(by);
    for (auto& c : clients_) c->clock->advance(by);
  }

  void begin(std::size_t i) { clients_.at(i)->session->begin(now_); }
  void begin(const DeviceId& device) { begin(index_of(device)); }

  // The connection of client `i` drops: what it has in flight either way is lost.
  void cut(std::size_t i) {
    SimClient& c = *clients_.at(i);
    ++c.connection;
    ++stats_.cuts;
    c.session->on_connection_lost(now_);
  }

  // One tick of virtual time.
  void step() {
    advance(std::chrono::milliseconds(kTickMs));
    // Deliver what is due, earliest first; a later-sent message with a
    // shorter delay overtakes an earlier one.
    std::stable_sort(queue_.begin(), queue_.end(),
                     [](const Message& a, const Message& b) { return a.deliver_at < b.deliver_at; });
    std::vector<Message> due;
    while (!queue_.empty() && queue_.front().deliver_at <= now_.count()) {
      due.push_back(std::move(queue_.front()));
      queue_.erase(queue_.begin());
    }
    for (Message& m : due) deliver(m);
    for (std::size_t i = 0; i < clients_.size(); ++i) {
      if (faults_.cut_per_mille > 0 && static_cast<int>(rng_() % 1000) < faults_.cut_per_mille) cut(i);
      clients_[i]->session->on_tick(now_);
    }
  }

  bool quiet(std::size_t i) const {
    if (!clients_.at(i)->session->idle()) return false;
    return std::none_of(queue_.begin(), queue_.end(), [&](const Message& m) { return m.client == i; });
  }
  bool all_quiet() const {
    for (std::size_t i = 0; i < clients_.size(); ++i) {
      if (!quiet(i)) return false;
    }
    return true;
  }

  // Steps until every session is idle and nothing is in flight.
  bool run_until_idle(std::size_t max_steps = 20'000) {
    for (std::size_t n = 0; n < max_steps; ++n) {
      if (all_quiet()) return true;
      step();
    }
    return all_quiet();
  }

  // One client syncs alone until its cycle is over.
  bool sync(const DeviceId& device, std::size_t max_steps = 20'000) {
    begin(device);
    return run_until_idle(max_steps);
  }

  // Everyone syncs, again and again, until a pass in which the server's log
  // did not grow and no outbox holds anything: then every client has
  // received everything it may see.
  bool sync_until_quiet(std::size_t max_passes = 30) {
    for (std::size_t pass = 0; pass < max_passes; ++pass) {
      const ServerSeq head_before = server_->head();
      for (std::size_t i = 0; i < clients_.size(); ++i) begin(i);
      if (!run_until_idle()) continue;
      bool outboxes_empty = true;
      for (auto& c : clients_) outboxes_empty = outboxes_empty && c->replica->pending().empty();
      if (server_->head() == head_before && outboxes_empty) return true;
    }
    return false;
  }

 private:
  struct Message {
    std::int64_t deliver_at = 0;  // virtual ms
    std::size_t client = 0;
    std::uint64_t connection = 0;
    bool to_server = true;
    std::string bytes;
  };

  void transmit(std::size_t client, bool to_server, std::string bytes) {
    if (faults_.drop_percent > 0 && static_cast<int>(rng_() % 100) < faults_.drop_percent) {
      ++stats_.dropped;
      return;
    }
    int copies = 1;
    if (faults_.duplicate_percent > 0 && static_cast<int>(rng_() % 100) < faults_.duplicate_percent) {
      copies = 2;
      ++stats_.duplicated;
    }
    for (int k = 0; k < copies; ++k) {
      std::int64_t delay = kTickMs;
      if (faults_.max_delay_ms > 0) delay += static_cast<std::int64_t>(rng_() % static_cast<std::uint64_t>(faults_.max_delay_ms));
      queue_.push_back(Message{now_.count() + delay, client, clients_.at(client)->connection, to_server, bytes});
    }
  }

  void deliver(const Message& m) {
    SimClient& c = *clients_.at(m.client);
    if (m.connection != c.connection) {
      ++stats_.lost_in_cuts;  // sent on a connection that has since dropped
      return;
    }
    ++stats_.delivered;
    if (m.to_server) {
      ++stats_.server_requests;
      transmit(m.client, false, server_->handle_bytes(m.bytes, server::SessionIdentity{c.user, c.device}));
    } else {
      c.session->on_message(m.bytes, now_);
    }
  }

  std::mt19937_64& rng_;
  server::Directory directory_;
  workflow::ManualClock server_clock_;
  std::unique_ptr<server::SyncService> server_;
  std::vector<std::unique_ptr<SimClient>> clients_;
  std::vector<Message> queue_;
  Faults faults_;
  std::chrono::milliseconds now_{0};
  NetworkStats stats_;
};

}  // namespace jixiao::sync::testing
