// Background sync (daemon.h).
#include "jixiao/client/daemon.h"

#include <algorithm>
#include <ostream>
#include <thread>

namespace jixiao::client {

using Millis = std::chrono::milliseconds;

Backoff::Backoff(Millis initial, Millis cap, std::uint64_t seed)
    : initial_(std::max(initial, Millis(1))), cap_(std::max(cap, std::max(initial, Millis(1)))), rng_(seed) {}

Millis Backoff::current_ceiling() const {
  // initial · 2^failures without overflow: stop doubling once past the cap.
  Millis ceiling = initial_;
  for (unsigned i = 0; i < failures_ && ceiling < cap_; ++i) ceiling *= 2;
  return std::min(ceiling, cap_);
}

Millis Backoff::floor() const { return std::min(std::max(initial_ / 10, Millis(1)), current_ceiling()); }

Millis Backoff::next_delay() {
  const Millis ceiling = current_ceiling();
  std::uniform_int_distribution<std::int64_t> pick(floor().count(), ceiling.count());
  const Millis delay(pick(rng_));
  if (failures_ < 64) ++failures_;
  return delay;
}

void Backoff::reset() { failures_ = 0; }

namespace {

std::string seconds_text(Millis d) {
  const auto ms = d.count();
  if (ms < 1000) return std::to_string(ms) + " 毫秒";
  if (ms < 120000) return std::to_string(ms / 1000) + "." + std::to_string((ms % 1000) / 100) + " 秒";
  return std::to_string(ms / 60000) + " 分 " + std::to_string((ms % 60000) / 1000) + " 秒";
}

}  // namespace

DaemonReport run_daemon(const ClientOptions& options, const DaemonOptions& daemon, std::ostream& log) {
  std::uint64_t seed = daemon.seed;
  if (seed == 0) seed = (static_cast<std::uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
  Backoff backoff(daemon.backoff_initial, daemon.backoff_cap, seed);
  auto sleep = daemon.sleep ? daemon.sleep : [](Millis d) { std::this_thread::sleep_for(d); };
  DaemonReport report;
  for (std::uint64_t cycle = 0; daemon.max_cycles == 0 || cycle < daemon.max_cycles; ++cycle) {
    DaemonCycle c;
    auto client = OfficeClient::open(options);
    if (client) {
      SyncOptions so;
      so.password = daemon.password;
      auto r = (*client)->sync(so);
      if (r) {
        c.ok = true;
        log << "同步完成：发送 " << r->ops_sent << " 项修改（接受 " << r->accepted << "，拒绝 " << r->rejected
            << "），接收 " << r->records_received << " 条记录\n";
      } else {
        c.status = r.status();
      }
    } else {
      c.status = client.status();
    }
    const bool last = daemon.max_cycles != 0 && cycle + 1 == daemon.max_cycles;
    if (c.ok) {
      backoff.reset();
      c.waited = daemon.interval;
    } else {
      c.waited = backoff.next_delay();
      log << "同步失败：" << c.status.message() << "；" << seconds_text(c.waited) << "后重试\n";
    }
    log.flush();
    report.cycles.push_back(c);
    if (!last) sleep(c.waited);
  }
  return report;
}

}  // namespace jixiao::client
