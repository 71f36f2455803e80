// jixiao-fault-proxy, specified from two sides: the fault model's pure parts
// directly, then the built proxy as a real process between a client socket and
// an echo server in this test, each fault checked from the outside.
//
// Timing checks are lower bounds only (a slow machine makes a delay longer,
// never shorter), and every wait is bounded by a deadline. Each test kills
// only the proxy it started, by PID, and always reaps it.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "fault_model.h"

extern char** environ;

namespace jixiao::fault_proxy {
namespace {

using namespace std::chrono_literals;
using Deadline = Clock::time_point;

// ---------------------------------------------------------------- fault model

TEST(TokenBucket, StartsFullThenRefillsAtItsRate) {
  const TimePoint t0 = Clock::now();
  TokenBucket bucket(8000, 400);  // 50 ms of tokens
  EXPECT_EQ(bucket.available_at(t0, 400), t0);
  bucket.take(t0, 400);
  EXPECT_EQ(bucket.available_at(t0, 400), t0 + 50ms);
  EXPECT_EQ(bucket.available_at(t0, 200), t0 + 25ms);
  bucket.take(t0 + 50ms, 400);
  EXPECT_EQ(bucket.available_at(t0 + 50ms, 400), t0 + 100ms);
}

TEST(TokenBucket, NeverLetsMoreThanRateTimesTimePlusCapacity) {
  const TimePoint t0 = Clock::now();
  TokenBucket bucket(8000, pacing_slice_bytes(8000));
  TimePoint now = t0;
  std::uint64_t sent = 0;
  while (sent < 16 * 1024) {
    now = bucket.available_at(now, bucket.capacity_bytes());
    bucket.take(now, bucket.capacity_bytes());
    sent += bucket.capacity_bytes();
    const double seconds = std::chrono::duration<double>(now - t0).count();
    ASSERT_LE(static_cast<double>(sent), 8000.0 * seconds + static_cast<double>(bucket.capacity_bytes()));
  }
  EXPECT_GE(now - t0, 1900ms);
}

TEST(LinkShaper, CutForwardsExactlyTheBudgetAcrossChunks) {
  LinkFaults faults;
  faults.cut_after_bytes = 10;
  LinkShaper shaper(faults, 1);
  const TimePoint now = Clock::now();
  const ChunkPlan a = shaper.on_chunk(now, 4);
  const ChunkPlan b = shaper.on_chunk(now, 4);
  const ChunkPlan c = shaper.on_chunk(now, 4);
  EXPECT_EQ(a.forward_bytes, 4u);
  EXPECT_EQ(a.then, ChunkPlan::Then::keep_reading);
  EXPECT_EQ(b.forward_bytes, 4u);
  EXPECT_EQ(c.forward_bytes, 2u);
  EXPECT_EQ(c.then, ChunkPlan::Then::cut);
  EXPECT_EQ(shaper.forwarded_bytes(), 10u);
  EXPECT_EQ(shaper.on_chunk(now, 4).forward_bytes, 0u);
}

TEST(LinkShaper, CutOnTheLastByteOfAChunkDoesNotWaitForMore) {
  LinkFaults faults;
  faults.cut_after_bytes = 8;
  LinkShaper shaper(faults, 1);
  EXPECT_EQ(shaper.on_chunk(Clock::now(), 4).then, ChunkPlan::Then::keep_reading);
  EXPECT_EQ(shaper.on_chunk(Clock::now(), 4).then, ChunkPlan::Then::cut);
}

TEST(LinkShaper, StallStopsAtTheNearerLimitAndCutWinsATie) {
  LinkFaults stall_first;
  stall_first.stall_after_bytes = 5;
  stall_first.cut_after_bytes = 100;
  const ChunkPlan stalled = LinkShaper(stall_first, 1).on_chunk(Clock::now(), 64);
  EXPECT_EQ(stalled.forward_bytes, 5u);
  EXPECT_EQ(stalled.then, ChunkPlan::Then::stall);

  LinkFaults tie;
  tie.stall_after_bytes = 5;
  tie.cut_after_bytes = 5;
  EXPECT_EQ(LinkShaper(tie, 1).on_chunk(Clock::now(), 64).then, ChunkPlan::Then::cut);
}

TEST(LinkShaper, LatencyAndJitterDelayEveryChunkAndNeverReorder) {
  LinkFaults faults;
  faults.latency = 100ms;
  faults.jitter = 50ms;
  const std::uint64_t seed = 20240605;
  SCOPED_TRACE("seed " + std::to_string(seed));
  LinkShaper shaper(faults, seed);
  const TimePoint t0 = Clock::now();
  TimePoint previous = t0;
  bool saw_jitter = false;
  for (int i = 0; i < 200; ++i) {
    const TimePoint now = t0 + std::chrono::milliseconds(i);
    const ChunkPlan plan = shaper.on_chunk(now, 10);
    ASSERT_GE(plan.release_at, now + 100ms);
    ASSERT_GE(plan.release_at, previous);
    saw_jitter = saw_jitter || plan.release_at > now + 100ms;
    previous = plan.release_at;
  }
  EXPECT_TRUE(saw_jitter);
}

TEST(LinkShaper, DisconnectProbabilityIsSeededAndBounded) {
  LinkFaults always;
  always.disconnect_probability = 1.0;
  EXPECT_EQ(LinkShaper(always, 1).on_chunk(Clock::now(), 10).then, ChunkPlan::Then::reset);

  LinkFaults half;
  half.disconnect_probability = 0.5;
  const auto first_reset = [&](std::uint64_t seed) {
    LinkShaper shaper(half, seed);
    int chunk = 0;
    while (chunk < 1000 && shaper.on_chunk(Clock::now(), 1).then != ChunkPlan::Then::reset) ++chunk;
    return chunk;
  };
  EXPECT_EQ(first_reset(42), first_reset(42));
  EXPECT_LT(first_reset(42), 1000);

  LinkShaper never(LinkFaults{}, 1);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(never.on_chunk(Clock::now(), 1).then, ChunkPlan::Then::keep_reading);
}

TEST(LinkSeed, DiffersPerConnectionAndDirection) {
  EXPECT_NE(link_seed(1, 0, Direction::up), link_seed(1, 0, Direction::down));
  EXPECT_NE(link_seed(1, 0, Direction::up), link_seed(1, 1, Direction::up));
  EXPECT_EQ(link_seed(1, 3, Direction::down), link_seed(1, 3, Direction::down));
}

TEST(QueueLimit, HoldsWhatTheLinkCarriesInItsDelayPlusASecond) {
  LinkFaults faults;
  EXPECT_EQ(queue_limit_bytes(faults), 1024u * 1024u);
  faults.bandwidth_bytes_per_second = 8000;
  EXPECT_EQ(queue_limit_bytes(faults), 16u * 1024u);
  faults.latency = 9000ms;
  EXPECT_EQ(queue_limit_bytes(faults), 80000u);
  faults.bandwidth_bytes_per_second = 10'000'000'000;
  EXPECT_EQ(queue_limit_bytes(faults), 1024u * 1024u);
}

Result<CommandLine> parse(std::vector<std::string_view> args) { return parse_command_line(args); }

TEST(CommandLine, FaultsApplyToTheDirectionsNamed) {
  const auto line = parse({"--target-port", "8443", "--latency-ms", "250", "--bandwidth-bps=down:8000",
                           "--cut-after-bytes", "up:100", "--stall-after-bytes", "both:7", "--disconnect-probability",
                           "down:0.25", "--jitter-ms", "up:5", "--seed", "9", "--max-connections", "3", "--stats-file",
                           "/tmp/s.json", "--listen-port", "0"});
  ASSERT_TRUE(line) << line.status().to_string();
  const ProxyOptions& o = line->options;
  EXPECT_EQ(o.target_port, 8443);
  EXPECT_EQ(o.listen_port, 0);
  EXPECT_EQ(o.seed, 9u);
  EXPECT_EQ(o.max_connections, 3u);
  EXPECT_EQ(o.stats_file, "/tmp/s.json");
  const LinkFaults& up = o.faults_of(Direction::up);
  const LinkFaults& down = o.faults_of(Direction::down);
  EXPECT_EQ(up.latency, 250ms);
  EXPECT_EQ(down.latency, 250ms);
  EXPECT_EQ(up.jitter, 5ms);
  EXPECT_EQ(down.jitter, 0ms);
  EXPECT_EQ(up.bandwidth_bytes_per_second, 0u);
  EXPECT_EQ(down.bandwidth_bytes_per_second, 8000u);
  EXPECT_EQ(up.cut_after_bytes, 100u);
  EXPECT_EQ(down.cut_after_bytes, std::nullopt);
  EXPECT_EQ(up.stall_after_bytes, 7u);
  EXPECT_EQ(down.stall_after_bytes, 7u);
  EXPECT_EQ(up.disconnect_probability, 0.0);
  EXPECT_EQ(down.disconnect_probability, 0.25);
}

TEST(CommandLine, RejectsWhatItCannotHonour) {
  for (const std::vector<std::string_view>& args : std::vector<std::vector<std::string_view>>{
           {},                                                // no target
           {"--target-port", "0"},                            // not a port to connect to
           {"--target-port", "70000"},                        //
           {"--target-port", "80", "--latency-ms", "fast"},   //
           {"--target-port", "80", "--latency-ms", "sideways:5"},
           {"--target-port", "80", "--bandwidth-bps", "0"},   // would never deliver
           {"--target-port", "80", "--disconnect-probability", "1.5"},
           {"--target-port", "80", "--max-connections", "0"},
           {"--target-port", "80", "--latency-ms"},           // missing value
           {"--target-port", "80", "--frobnicate", "1"},      // unknown
       }) {
    const auto line = parse(args);
    ASSERT_FALSE(line) << "accepted: " << ::testing::PrintToString(args);
    EXPECT_EQ(line.status().code(), StatusCode::kInvalidArgument);
  }
  const auto help = parse({"--help"});
  ASSERT_TRUE(help);
  EXPECT_EQ(help->action, CommandLine::Action::help);
}

// ---------------------------------------------------------- process helpers

const std::string kProxyPath = std::string(JIXIAO_BIN_DIR) + "/jixiao-fault-proxy";

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    reset();
    fd_ = std::exchange(other.fd_, -1);
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

int remaining_ms(Deadline deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1000));
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

// A connected, non-blocking socket to 127.0.0.1:port, or an invalid Fd.
Fd connect_to(std::uint16_t port) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const sockaddr_in address = loopback(port);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) return Fd();
  set_nonblocking(fd.get());
  return fd;
}

struct Exchanged {
  std::string received;
  std::size_t sent = 0;
  bool closed = false;  // the peer closed (EOF) or reset the connection
};

// Sends `data` and reads until `want` bytes arrived, the connection closed or
// the deadline passed, whichever is first. Sends and reads together, so an
// echo never deadlocks on full buffers.
Exchanged exchange(int fd, std::string_view data, std::size_t want, Deadline deadline) {
  Exchanged result;
  std::array<char, 16 * 1024> buffer{};
  while (result.received.size() < want && !result.closed && Clock::now() < deadline) {
    pollfd p{fd, static_cast<short>(POLLIN | (result.sent < data.size() ? POLLOUT : 0)), 0};
    if (::poll(&p, 1, remaining_ms(deadline)) <= 0) continue;
    if ((p.revents & POLLOUT) != 0) {
      const ssize_t n = ::send(fd, data.data() + result.sent, data.size() - result.sent, MSG_NOSIGNAL);
      if (n > 0) result.sent += static_cast<std::size_t>(n);
    }
    if ((p.revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
      if (n > 0) {
        result.received.append(buffer.data(), static_cast<std::size_t>(n));
      } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        result.closed = true;
      }
    }
  }
  return result;
}

// Sends all of `data` (bounded by the deadline); returns whether it did.
bool send_all(int fd, std::string_view data, Deadline deadline) {
  std::size_t sent = 0;
  while (sent < data.size() && Clock::now() < deadline) {
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) <= 0) continue;
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return false;
    if (n > 0) sent += static_cast<std::size_t>(n);
  }
  return sent == data.size();
}

Exchanged read_until_closed(int fd, Deadline deadline) {
  return exchange(fd, {}, std::numeric_limits<std::size_t>::max(), deadline);
}

std::string pattern(std::size_t size, std::uint32_t seed) {
  std::string bytes(size, '\0');
  std::uint32_t state = seed;
  for (char& c : bytes) {
    state = state * 1664525u + 1013904223u;
    c = static_cast<char>(state >> 24);
  }
  return bytes;
}

// An echo server on 127.0.0.1, one thread per connection, which records what
// each connection received and whether it saw the proxy close it.
class EchoServer {
 public:
  EchoServer() : listener_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in address = loopback(0);
    socklen_t length = sizeof address;
    if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        ::listen(listener_.get(), 16) != 0 ||
        ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      return;
    }
    port_ = ntohs(address.sin_port);
    set_nonblocking(listener_.get());
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;
  ~EchoServer() {
    stop_ = true;
    if (acceptor_.joinable()) acceptor_.join();
    for (std::thread& t : connections_) t.join();
  }

  std::uint16_t port() const { return port_; }

  struct Record {
    std::size_t received = 0;
    bool ended = false;  // EOF or error seen
  };
  // Waits until connection `index` (0-based) has ended; returns what it saw.
  std::optional<Record> wait_for_end(std::size_t index, Deadline deadline) {
    std::unique_lock lock(mutex_);
    changed_.wait_until(lock, deadline, [&] { return index < records_.size() && records_[index].ended; });
    if (index < records_.size() && records_[index].ended) return records_[index];
    return std::nullopt;
  }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{listener_.get(), POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      Fd connection(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
      if (!connection.valid()) continue;
      std::size_t index = 0;
      {
        std::lock_guard lock(mutex_);
        index = records_.size();
        records_.emplace_back();
      }
      connections_.emplace_back([this, index, fd = std::move(connection)]() mutable { echo(std::move(fd), index); });
    }
  }

  void echo(Fd fd, std::size_t index) {
    std::string pending;
    std::array<char, 16 * 1024> buffer{};
    bool ended = false;
    while (!stop_ && !ended) {
      pollfd p{fd.get(), static_cast<short>(POLLIN | (pending.empty() ? 0 : POLLOUT)), 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      if ((p.revents & POLLOUT) != 0) {
        const ssize_t n = ::send(fd.get(), pending.data(), pending.size(), MSG_NOSIGNAL);
        if (n > 0) pending.erase(0, static_cast<std::size_t>(n));
      }
      if ((p.revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        const ssize_t n = ::recv(fd.get(), buffer.data(), buffer.size(), 0);
        if (n > 0) {
          pending.append(buffer.data(), static_cast<std::size_t>(n));
        } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
          ended = true;
        }
        std::lock_guard lock(mutex_);
        if (n > 0) records_[index].received += static_cast<std::size_t>(n);
        records_[index].ended = ended;
      }
      if (ended) changed_.notify_all();
    }
  }

  Fd listener_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::vector<std::thread> connections_;  // touched by the acceptor thread, then by the destructor after join
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Record> records_;  // by accept order; guarded by mutex_
};

struct Exit {
  bool exited = false;  // by itself, with exit_code
  int exit_code = -1;
  std::string output;   // stdout after the LISTENING line
};

// The proxy as a child process, its stdout on a pipe.
class ProxyProcess {
 public:
  explicit ProxyProcess(const std::vector<std::string>& args) {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
      error_ = "pipe2 failed";
      return;
    }
    Fd write_end(pipe_fds[1]);
    stdout_ = Fd(pipe_fds[0]);
    std::vector<std::string> argv_strings{kProxyPath};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDOUT_FILENO);
    const int rc = ::posix_spawn(&pid_, kProxyPath.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      pid_ = -1;
      error_ = "cannot start " + kProxyPath + ": " + std::strerror(rc);
      return;
    }
    write_end.reset();  // so EOF on stdout_ means the proxy exited
    const std::string line = read_line(Clock::now() + 5s);
    if (std::sscanf(line.c_str(), "LISTENING %hu", &port_) != 1 || port_ == 0) {
      error_ = "expected 'LISTENING <port>', got '" + line + "'";
    }
  }
  ProxyProcess(const ProxyProcess&) = delete;
  ProxyProcess& operator=(const ProxyProcess&) = delete;
  ~ProxyProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      reap_blocking();
    }
  }

  bool ready() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  std::uint16_t port() const { return port_; }
  void signal(int signal_number) const {
    if (pid_ > 0) ::kill(pid_, signal_number);
  }

  // SIGTERM, then everything it prints until it exits (bounded; SIGKILL after).
  Exit terminate() {
    signal(SIGTERM);
    return wait_for_exit(Clock::now() + 5s);
  }

  Exit wait_for_exit(Deadline deadline) {
    Exit result;
    result.output = read_to_end(deadline);
    while (pid_ > 0 && Clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        result.exited = WIFEXITED(status);
        result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        return result;
      }
      std::this_thread::sleep_for(10ms);
    }
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      reap_blocking();
    }
    return result;
  }

 private:
  std::string read_line(Deadline deadline) {
    std::string line;
    char c = 0;
    while (Clock::now() < deadline) {
      pollfd p{stdout_.get(), POLLIN, 0};
      if (::poll(&p, 1, remaining_ms(deadline)) <= 0) continue;
      if (::read(stdout_.get(), &c, 1) != 1 || c == '\n') break;
      line += c;
    }
    return line;
  }

  std::string read_to_end(Deadline deadline) {
    std::string text;
    std::array<char, 4096> buffer{};
    while (Clock::now() < deadline) {
      pollfd p{stdout_.get(), POLLIN, 0};
      if (::poll(&p, 1, remaining_ms(deadline)) <= 0) continue;
      const ssize_t n = ::read(stdout_.get(), buffer.data(), buffer.size());
      if (n <= 0) break;
      text.append(buffer.data(), static_cast<std::size_t>(n));
    }
    return text;
  }

  void reap_blocking() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }

  pid_t pid_ = -1;
  Fd stdout_;
  std::uint16_t port_ = 0;
  std::string error_;
};

std::vector<std::string> proxy_args(const EchoServer& echo, std::vector<std::string> faults) {
  std::vector<std::string> args{"--listen-port", "0", "--target-port", std::to_string(echo.port())};
  args.insert(args.end(), faults.begin(), faults.end());
  return args;
}

#define START_PROXY(proxy_var, echo_var, ...)                          \
  ASSERT_NE((echo_var).port(), 0) << "echo server did not start";      \
  ProxyProcess proxy_var(proxy_args((echo_var), {__VA_ARGS__}));       \
  ASSERT_TRUE((proxy_var).ready()) << (proxy_var).error()

// ------------------------------------------------------------ proxy process

TEST(FaultProxy, PassesDataUnchangedBothWays) {
  EchoServer echo;
  START_PROXY(proxy, echo);
  const Fd client = connect_to(proxy.port());
  ASSERT_TRUE(client.valid());
  const std::string data = pattern(256 * 1024, 1);
  const Exchanged got = exchange(client.get(), data, data.size(), Clock::now() + 5s);
  ASSERT_EQ(got.received.size(), data.size());
  EXPECT_TRUE(got.received == data) << "echoed bytes differ";
}

TEST(FaultProxy, LatencyDelaysEachDirection) {
  EchoServer echo;
  START_PROXY(proxy, echo, "--latency-ms", "100");
  const Fd client = connect_to(proxy.port());
  ASSERT_TRUE(client.valid());
  for (int round = 0; round < 2; ++round) {
    const auto start = Clock::now();
    const Exchanged got = exchange(client.get(), "ping", 4, Clock::now() + 5s);
    const auto round_trip = Clock::now() - start;
    ASSERT_EQ(got.received, "ping");
    EXPECT_GE(round_trip, 200ms) << "round " << round;  // 100 ms up + 100 ms down
  }
}

TEST(FaultProxy, JitterKeepsByteOrder) {
  EchoServer echo;
  START_PROXY(proxy, echo, "--latency-ms", "10", "--jitter-ms", "40", "--seed", "7");
  const Fd client = connect_to(proxy.port());
  ASSERT_TRUE(client.valid());
  // Many small sends make many chunks, each with its own jitter draw.
  std::string sent;
  const Deadline deadline = Clock::now() + 5s;
  for (int i = 0; i < 40; ++i) {
    const std::string message = "message " + std::to_string(i) + ";";
    sent += message;
    ASSERT_TRUE(send_all(client.get(), message, deadline));
    std::this_thread::sleep_for(2ms);
  }
  EXPECT_EQ(exchange(client.get(), {}, sent.size(), deadline).received, sent);
}

TEST(FaultProxy, BandwidthCapsThroughput) {
  EchoServer echo;
  START_PROXY(proxy, echo, "--bandwidth-bps", "8000");  // 64 kbit/s each way
  const Fd client = connect_to(proxy.port());
  ASSERT_TRUE(client.valid());
  const std::string data = pattern(16 * 1024, 2);
  const auto start = Clock::now();
  const Exchanged got = exchange(client.get(), data, data.size(), Clock::now() + 10s);
  const auto elapsed = Clock::now() - start;
  ASSERT_EQ(got.received.size(), data.size());
  EXPECT_TRUE(got.received == data);
  EXPECT_GE(elapsed, 1500ms);  // 16384 B at 8000 B/s: ≥ 1.95 s after the first 400 B burst
}

TEST(FaultProxy, CutDownstreamDeliversExactlyNBytesThenCloses) {
  EchoServer echo;
  START_PROXY(proxy, echo, "--cut-after-bytes", "down:1000");
  const Fd client = connect_to(proxy.port());
  ASSERT_TRUE(client.valid());
  const std::string data = pattern(4000, 3);
  const Exchanged got = exchange(client.get(), data, std::numeric_limits<std::size_t>::max(), Clock::now() + 5s);
  EXPECT_TRUE(got.closed);
  ASSERT_EQ(got.received.size(), 1000u);
  EXPECT_TRUE(got.received == data.substr(0, 1000));
  const Exit finished = proxy.terminate();
  EXPECT_NE(finished.output.find("cuts=1"), std::string::npos) << finished.output;
}

TEST(FaultProxy, CutUpstreamDeliversExactlyNBytesToTheServer) {
  EchoServer echo;
  START_PROXY(proxy, echo, "--cut-after-bytes", "up:1500");
  const Fd client = connect_to(proxy.port());
  ASSERT_TRUE(client.valid());
  const std::string data = pattern(4000, 4);
  const Exchanged got = exchange(client.get(), data, std::numeric_limits<std::size_t>::max(), Clock::now() + 5s);
  EXPECT_TRUE(got.closed);
  EXPECT_LE(got.received.size(), 1500u);
  EXPECT_TRUE(got.received == data.substr(0, got.received.size()));
  const auto server_side = echo.wait_for_end(0, Clock::now() + 5s);
  ASSERT_TRUE(server_side.has_value()) << "the server's connection was not closed";
  EXPECT_EQ(server_side->received, 1500u);
}

TEST(FaultProxy, StallKeepsTheConnectionOpenAndSilent) {
  EchoServer echo;
  START_PROXY(proxy, echo, "--stall-after-bytes", "down:1000");
  const Fd client = connect_to(proxy.port());
  ASSERT_TRUE(client.valid());
  const std::string data = pattern(4000, 5);
  const Exchanged got = exchange(client.get(), data, 1000, Clock::now() + 5s);
  ASSERT_EQ(got.received.size(), 1000u);
  // Neither data nor EOF nor reset for a bounded wait: poll sees nothing.
  pollfd p{client.get(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 500), 0) << "revents " << p.revents;
  // Still open: the client can keep sending.
  EXPECT_GT(::send(client.get(), "more", 4, MSG_NOSIGNAL), 0);
  const Exit finished = proxy.terminate();
  EXPECT_NE(finished.output.find(" down=1000 connections=1 cuts=0"), std::string::npos) << finished.output;
}

// With both directions stalled the proxy has nothing in flight for the
// connection, and must still hold it open.
TEST(FaultProxy, StallInBothDirectionsStillKeepsTheConnectionOpen) {
  EchoServer echo;
  START_PROXY(proxy, echo, "--stall-after-bytes", "2");
  const Fd client = connect_to(proxy.port());
  ASSERT_TRUE(client.valid());
  ASSERT_EQ(exchange(client.get(), "abcd", 2, Clock::now() + 5s).received, "ab");
  pollfd p{client.get(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 300), 0) << "revents " << p.revents;
  const Exit finished = proxy.terminate();
  EXPECT_NE(finished.output.find("STATS up=2 down=2 connections=1 cuts=0"), std::string::npos) << finished.output;
}

TEST(FaultProxy, DisconnectProbabilityOneResetsOnTheFirstChunk) {
  EchoServer echo;
  START_PROXY(proxy, echo, "--disconnect-probability", "up:1", "--seed", "3");
  const Fd client = connect_to(proxy.port());
  ASSERT_TRUE(client.valid());
  const Exchanged got = exchange(client.get(), "hello", std::numeric_limits<std::size_t>::max(), Clock::now() + 5s);
  EXPECT_TRUE(got.closed);
  EXPECT_EQ(got.received, "");
  const Exit finished = proxy.terminate();
  EXPECT_NE(finished.output.find("STATS up=0 down=0 connections=1 cuts=1"), std::string::npos) << finished.output;
}

TEST(FaultProxy, SigtermPrintsStatsAndWritesTheStatsFile) {
  EchoServer echo;
  const std::string stats_file = ::testing::TempDir() + "fault_proxy_stats_" + std::to_string(::getpid()) + ".json";
  std::remove(stats_file.c_str());
  START_PROXY(proxy, echo, "--stats-file", stats_file);
  {
    const Fd client = connect_to(proxy.port());
    ASSERT_TRUE(client.valid());
    const std::string data = pattern(3000, 6);
    ASSERT_EQ(exchange(client.get(), data, data.size(), Clock::now() + 5s).received.size(), data.size());
  }  // closed: once the server sees EOF, every byte has passed the proxy
  ASSERT_TRUE(echo.wait_for_end(0, Clock::now() + 5s).has_value());
  const Exit finished = proxy.terminate();
  EXPECT_TRUE(finished.exited);
  EXPECT_EQ(finished.exit_code, 0);
  EXPECT_EQ(finished.output, "STATS up=3000 down=3000 connections=1 cuts=0\n");
  std::ifstream in(stats_file);
  std::stringstream json;
  json << in.rdbuf();
  EXPECT_NE(json.str().find("\"up_bytes\": 3000,"), std::string::npos) << json.str();
  EXPECT_NE(json.str().find("\"down_bytes\": 3000,"), std::string::npos) << json.str();
  EXPECT_NE(json.str().find("\"connections\": 1,"), std::string::npos) << json.str();
  std::remove(stats_file.c_str());
}

TEST(FaultProxy, MaxConnectionsExitsAfterTheLastOneEnds) {
  EchoServer echo;
  START_PROXY(proxy, echo, "--max-connections", "1");
  {
    const Fd client = connect_to(proxy.port());
    ASSERT_TRUE(client.valid());
    ASSERT_EQ(exchange(client.get(), "one", 3, Clock::now() + 5s).received, "one");
    ::shutdown(client.get(), SHUT_WR);
    EXPECT_TRUE(read_until_closed(client.get(), Clock::now() + 5s).closed);
  }
  const Exit finished = proxy.wait_for_exit(Clock::now() + 5s);
  EXPECT_TRUE(finished.exited);
  EXPECT_EQ(finished.exit_code, 0);
  EXPECT_EQ(finished.output, "STATS up=3 down=3 connections=1 cuts=0\n");
}

TEST(FaultProxy, Sigusr1CutsAllLinksUntilSentAgain) {
  EchoServer echo;
  START_PROXY(proxy, echo);
  const Fd before = connect_to(proxy.port());
  ASSERT_TRUE(before.valid());
  ASSERT_EQ(exchange(before.get(), "up", 2, Clock::now() + 5s).received, "up");

  proxy.signal(SIGUSR1);
  EXPECT_TRUE(read_until_closed(before.get(), Clock::now() + 5s).closed);
  {
    const Fd during = connect_to(proxy.port());  // accepted, then reset at once
    ASSERT_TRUE(during.valid());
    const Exchanged got = exchange(during.get(), "x", std::numeric_limits<std::size_t>::max(), Clock::now() + 5s);
    EXPECT_TRUE(got.closed);
    EXPECT_EQ(got.received, "");
  }

  proxy.signal(SIGUSR1);
  bool restored = false;  // the signal is handled asynchronously: retry, bounded
  for (int attempt = 0; attempt < 50 && !restored; ++attempt) {
    const Fd after = connect_to(proxy.port());
    restored = after.valid() && exchange(after.get(), "back", 4, Clock::now() + 1s).received == "back";
    if (!restored) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(restored);
}

TEST(FaultProxy, HelpIsBilingualAndBadOptionsExitWith2) {
  const auto run = [](const std::string& arguments) {
    std::string output;
    FILE* pipe = ::popen((kProxyPath + " " + arguments + " 2>&1").c_str(), "r");
    if (pipe == nullptr) return std::pair{-1, output};
    std::array<char, 4096> buffer{};
    while (std::fgets(buffer.data(), static_cast<int>(buffer.size()), pipe) != nullptr) output += buffer.data();
    const int status = ::pclose(pipe);
    return std::pair{WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
  };
  const auto [help_code, help] = run("--help");
  EXPECT_EQ(help_code, 0);
  EXPECT_NE(help.find("用法 Usage"), std::string::npos) << help;
  EXPECT_NE(help.find("--bandwidth-bps"), std::string::npos) << help;
  const auto [bad_code, bad] = run("--target-port 9 --latency-ms fast");
  EXPECT_EQ(bad_code, 2);
  EXPECT_NE(bad.find("--latency-ms"), std::string::npos) << bad;
  EXPECT_EQ(bad.find("LISTENING"), std::string::npos) << bad;
}

}  // namespace
}  // namespace jixiao::fault_proxy
