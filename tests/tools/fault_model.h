// The fault model of jixiao-fault-proxy: what a bad link does to the bytes of
// one direction of one connection, and the proxy's command line.
//
// Pure values (STYLE.md item 3): no sockets, no Asio, no clock is read here.
// Callers pass `now` in; randomness comes from a seed. The proxy
// (fault_proxy.cpp) drives these types from its Asio handlers; the tests
// (fault_proxy_test.cpp) drive them directly.
//
// Not thread-safe: each object belongs to one connection direction, which the
// proxy only touches from its single io_context thread.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>

#include "jixiao/common/status.h"

namespace jixiao::fault_proxy {

using Clock = std::chrono::steady_clock;  // the type only; never read in this file
using TimePoint = Clock::time_point;

// up: client → server (bytes the proxy accepted going to the target).
// down: server → client.
enum class Direction : std::uint8_t { up = 0, down = 1 };
std::string_view to_string(Direction direction);

// What a link does to one direction. The default is a perfect link.
struct LinkFaults {
  // Added to every chunk; chunks are never reordered.
  std::chrono::milliseconds latency{0};
  // Each chunk waits a further uniform [0, jitter] (seeded); order is kept, so
  // a chunk never leaves before the one read before it.
  std::chrono::milliseconds jitter{0};
  // Token-bucket cap in bytes per second; 0 means unlimited.
  std::uint64_t bandwidth_bytes_per_second = 0;
  // After exactly this many bytes have been delivered in this direction the
  // connection is closed on both sides (FIN after the last byte).
  std::optional<std::uint64_t> cut_after_bytes;
  // After exactly this many bytes nothing more is forwarded in this
  // direction, and nothing is closed: the sockets stay open and silent.
  std::optional<std::uint64_t> stall_after_bytes;
  // Each chunk read, with this probability, resets the connection (RST to
  // both peers) instead of being forwarded.
  double disconnect_probability = 0.0;

  bool operator==(const LinkFaults&) const = default;
};

inline constexpr std::uint64_t kDefaultSeed = 1;

struct ProxyOptions {
  std::uint16_t listen_port = 0;  // 0: an ephemeral port, reported on stdout
  std::uint16_t target_port = 0;  // required, 1..65535
  std::array<LinkFaults, 2> faults{};  // indexed by Direction
  std::uint64_t seed = kDefaultSeed;
  std::optional<std::uint64_t> max_connections;  // accept this many, then exit when they end
  std::string stats_file;  // empty: none

  const LinkFaults& faults_of(Direction direction) const { return faults[static_cast<std::size_t>(direction)]; }
};

struct CommandLine {
  enum class Action : std::uint8_t { run, help };
  Action action = Action::run;
  ProxyOptions options;
};

// Parses the arguments after argv[0]. Every fault option takes an optional
// direction prefix, `up:`, `down:` or `both:` (the default), e.g.
// `--latency-ms down:250`; a later option overrides an earlier one for the
// directions it names. Errors are kInvalidArgument with a bilingual message.
Result<CommandLine> parse_command_line(std::span<const std::string_view> args);

// The --help text, Chinese and English.
std::string_view usage_text();

// A token bucket: tokens accrue at `bytes_per_second` up to `capacity_bytes`;
// it starts full. Kept in integer nanoseconds, so pacing does not drift.
class TokenBucket {
 public:
  // bytes_per_second ≥ 1; 1 ≤ capacity_bytes ≤ kMaxCapacity.
  TokenBucket(std::uint64_t bytes_per_second, std::uint64_t capacity_bytes);

  static constexpr std::uint64_t kMaxCapacity = std::uint64_t{1} << 24;

  std::uint64_t capacity_bytes() const { return capacity_; }
  // The earliest instant at or after `now` when `bytes` (≤ capacity) tokens
  // are in the bucket.
  TimePoint available_at(TimePoint now, std::uint64_t bytes) const;
  // Removes `bytes` tokens at `now`. Precondition: now ≥ available_at(now, bytes).
  void take(TimePoint now, std::uint64_t bytes);

 private:
  std::chrono::nanoseconds cost(std::uint64_t bytes) const;  // time to accrue `bytes` tokens

  std::uint64_t rate_;
  std::uint64_t capacity_;
  TimePoint full_at_{};  // the bucket is full at and after this instant
};

// The largest write the proxy makes at once on a capped link: 50 ms worth of
// bytes, at least 1 and at most 16 KiB. It is also the bucket's capacity, so
// by any instant t at most rate·t + slice bytes have left.
std::uint64_t pacing_slice_bytes(std::uint64_t bytes_per_second);

// How many bytes the proxy holds for one direction before it stops reading
// (TCP back-pressure then reaches the sender, as on a real slow link):
// 1 MiB on an uncapped link; on a capped one, what the link carries in
// latency + jitter + 1 s, at least 16 KiB and at most 1 MiB.
std::size_t queue_limit_bytes(const LinkFaults& faults);

// The fate of one chunk read from a direction's source.
struct ChunkPlan {
  enum class Then : std::uint8_t {
    keep_reading,
    stall,  // forward `forward_bytes`, then read and forward nothing more
    cut,    // forward `forward_bytes`, then close both sides
    reset,  // forward nothing, reset the connection now
  };
  std::size_t forward_bytes = 0;  // a prefix of the chunk; the rest is dropped
  TimePoint release_at{};         // not written before this instant
  Then then = Then::keep_reading;
};

// Applies latency, jitter, cut, stall and disconnect faults to the chunks of
// one direction, in the order they are read. Bandwidth is applied by the
// writer with a TokenBucket.
class LinkShaper {
 public:
  LinkShaper(const LinkFaults& faults, std::uint64_t seed);

  // Plans the chunk of `chunk_bytes` (≥ 1) read at `now`. After a plan whose
  // `then` is not keep_reading, further calls forward nothing.
  ChunkPlan on_chunk(TimePoint now, std::size_t chunk_bytes);

  // Bytes planned for forwarding so far.
  std::uint64_t forwarded_bytes() const { return forwarded_; }

 private:
  LinkFaults faults_;
  std::mt19937_64 random_;  // output fixed by the standard; mapped by hand below
  std::uint64_t forwarded_ = 0;
  TimePoint last_release_{};
  bool finished_ = false;
};

// The seed of one direction of the connection accepted `connection_index`-th
// (0-based): distinct per connection and direction, the same on every run.
std::uint64_t link_seed(std::uint64_t proxy_seed, std::uint64_t connection_index, Direction direction);

}  // namespace jixiao::fault_proxy
