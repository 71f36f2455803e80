// jixiao-fault-proxy: a TCP proxy on 127.0.0.1 that makes bad links for tests
// and benchmarks (latency, jitter, bandwidth, cuts, stalls, resets). Usage and
// examples: README.md beside this file; the faults themselves: fault_model.h.
//
// Threading: one io_context run by the main thread. Every handler runs there,
// so sessions need no strand and the counters no lock.
//
// Shape (after Boost.Beast's async servers): one Session per accepted
// connection, owned by the Proxy while open and kept alive by
// shared_from_this() in its pending handlers. Each direction is a Pump: read
// a chunk, let the LinkShaper decide its fate, queue it (bounded: reading
// pauses when the queue is full, so TCP back-pressure reaches the sender), and
// write it with exactly one write in flight, after its release time and within
// the token bucket.
//
// Boost.Asio is compiled once, in asio_impl.cpp (BOOST_ASIO_SEPARATE_COMPILATION).
//
// GCC 12 reports -Wnull-dereference inside inlined Asio internals despite
// their being system headers (the warning is issued after inlining); the
// pragma covers those header lines only, not this file's code.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#pragma GCC diagnostic pop

#include <array>
#include <csignal>
#include <cstdio>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fault_model.h"

namespace jixiao::fault_proxy {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr std::size_t kReadChunkBytes = 16 * 1024;
// After a cut the proxy half-closes both peers and reads until they close,
// so that the bytes already written are delivered and not destroyed by the
// RST that closing a socket with unread input would send. Bounded by this.
constexpr std::chrono::seconds kCutLinger{1};
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};

struct Counters {
  std::uint64_t up_bytes = 0;     // delivered to the target
  std::uint64_t down_bytes = 0;   // delivered to clients
  std::uint64_t connections = 0;  // accepted
  std::uint64_t cuts_after_bytes = 0;
  std::uint64_t random_disconnects = 0;
  std::uint64_t manual_cuts = 0;  // connections reset while SIGUSR1 had the links cut
  std::uint64_t stalls = 0;       // directions that stalled
  std::uint64_t target_connect_failures = 0;

  // Connections the proxy ended on purpose, whatever the fault.
  std::uint64_t cuts() const { return cuts_after_bytes + random_disconnects + manual_cuts; }
};

std::string stats_line(const Counters& c) {
  return "STATS up=" + std::to_string(c.up_bytes) + " down=" + std::to_string(c.down_bytes) +
         " connections=" + std::to_string(c.connections) + " cuts=" + std::to_string(c.cuts());
}

std::string stats_json(const Counters& c, std::uint64_t seed) {
  const std::pair<const char*, std::uint64_t> fields[] = {
      {"up_bytes", c.up_bytes},
      {"down_bytes", c.down_bytes},
      {"connections", c.connections},
      {"cuts", c.cuts()},
      {"cuts_after_bytes", c.cuts_after_bytes},
      {"random_disconnects", c.random_disconnects},
      {"manual_cuts", c.manual_cuts},
      {"stalls", c.stalls},
      {"target_connect_failures", c.target_connect_failures},
      {"seed", seed},
  };
  std::string json = "{";
  for (const auto& [name, value] : fields) {
    json += json.size() > 1 ? ",\n  \"" : "\n  \"";
    json += name;
    json += "\": " + std::to_string(value);
  }
  return json + "\n}\n";
}

// Written beside the target and renamed over it, so a reader never sees half.
bool write_stats_file(const std::string& path, const std::string& json) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << json;
    if (!out.flush()) return false;
  }
  return std::rename(temporary.c_str(), path.c_str()) == 0;
}

// Resets rather than closes: the peer sees ECONNRESET, as after a link failure.
void reset_socket(tcp::socket& socket) {
  error_code ignored;
  if (!socket.is_open()) return;
  socket.set_option(asio::socket_base::linger(true, 0), ignored);
  socket.close(ignored);
}

class Session;

class Proxy {
 public:
  Proxy(asio::io_context& io, ProxyOptions options)
      : io_(io), options_(std::move(options)), acceptor_(io), accept_retry_(io), signals_(io) {}

  // Binds 127.0.0.1:listen_port and installs the signal handlers. Returns the
  // port, or the error that prevented listening.
  std::optional<std::uint16_t> open(error_code& ec);
  void start() { do_accept(); }

  const ProxyOptions& options() const { return options_; }
  Counters& counters() { return counters_; }
  asio::io_context& io() { return io_; }

  // A session has ended; it calls this exactly once.
  void forget(std::uint64_t index) {
    sessions_.erase(index);
    maybe_exit();
  }

 private:
  void do_accept();
  void on_accept(error_code ec, tcp::socket socket);
  void wait_for_signal();
  void on_signal(int signal_number);
  void maybe_exit() {
    if (options_.max_connections && accepted_ >= *options_.max_connections && sessions_.empty()) io_.stop();
  }

  asio::io_context& io_;
  const ProxyOptions options_;
  tcp::acceptor acceptor_;
  asio::steady_timer accept_retry_;
  asio::signal_set signals_;
  // Open sessions by accept index. Owning: a session whose directions have
  // both stalled has no operation pending, and must still keep its sockets open.
  std::map<std::uint64_t, std::shared_ptr<Session>> sessions_;
  std::uint64_t accepted_ = 0;
  bool links_cut_ = false;  // toggled by SIGUSR1
  Counters counters_;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Proxy& proxy, tcp::socket client, std::uint64_t index)
      : proxy_(proxy),
        index_(index),
        client_(std::move(client)),
        server_(proxy.io()),
        pumps_{Pump(proxy.io(), proxy.options(), index, Direction::up),
               Pump(proxy.io(), proxy.options(), index, Direction::down)},
        linger_(proxy.io()) {}

  void start() {
    const tcp::endpoint target(asio::ip::address_v4::loopback(), proxy_.options().target_port);
    server_.async_connect(target, [self = shared_from_this()](error_code ec) { self->on_connect(ec); });
  }

  // Links cut by SIGUSR1: both peers see a reset.
  void reset() {
    if (state_ == State::closed) return;
    ++proxy_.counters().manual_cuts;
    abort();
  }

 private:
  enum class State : std::uint8_t { connecting, open, draining, closed };

  struct Chunk {
    std::vector<char> bytes;
    std::size_t sent = 0;
    TimePoint release_at;
  };

  struct Pump {
    Pump(asio::io_context& io, const ProxyOptions& options, std::uint64_t index, Direction direction)
        : shaper(options.faults_of(direction), link_seed(options.seed, index, direction)),
          queue_limit(queue_limit_bytes(options.faults_of(direction))),
          timer(io) {
      if (const std::uint64_t rate = options.faults_of(direction).bandwidth_bytes_per_second; rate > 0) {
        bucket.emplace(rate, pacing_slice_bytes(rate));
      }
    }

    LinkShaper shaper;
    std::optional<TokenBucket> bucket;
    std::size_t queue_limit;
    std::deque<Chunk> queue;
    std::size_t queued_bytes = 0;
    std::array<char, kReadChunkBytes> read_buffer{};
    asio::steady_timer timer;  // release time and pacing
    bool reading = false;      // a read is in flight
    bool writing = false;      // a write, or the wait before one, is in flight
    bool source_done = false;  // nothing more will be read: EOF, stall or cut
    bool stalled = false;      // never send FIN: the link is silent, not closed
    bool cut_pending = false;  // cut once the queue is delivered
    bool sink_shut = false;    // FIN sent on
  };

  Pump& pump(Direction d) { return pumps_[static_cast<std::size_t>(d)]; }
  tcp::socket& source(Direction d) { return d == Direction::up ? client_ : server_; }
  tcp::socket& sink(Direction d) { return d == Direction::up ? server_ : client_; }
  std::uint64_t& delivered(Direction d) {
    return d == Direction::up ? proxy_.counters().up_bytes : proxy_.counters().down_bytes;
  }

  void on_connect(error_code ec) {
    if (state_ != State::connecting) return;
    if (ec) {
      // The target is down: the client sees a reset, as if its own connect had been refused late.
      ++proxy_.counters().target_connect_failures;
      std::cerr << "jixiao-fault-proxy: connect 127.0.0.1:" << proxy_.options().target_port << ": " << ec.message()
                << '\n';
      abort();
      return;
    }
    state_ = State::open;
    // The proxy adds only the delays it is told to: no Nagle on either leg.
    error_code ignored;
    client_.set_option(tcp::no_delay(true), ignored);
    server_.set_option(tcp::no_delay(true), ignored);
    for (const Direction d : {Direction::up, Direction::down}) do_read(d);
  }

  void do_read(Direction d) {
    Pump& p = pump(d);
    if (state_ != State::open || p.reading || p.source_done) return;
    p.reading = true;
    source(d).async_read_some(asio::buffer(p.read_buffer), [self = shared_from_this(), d](error_code ec, std::size_t n) {
      self->on_read(d, ec, n);
    });
  }

  void on_read(Direction d, error_code ec, std::size_t bytes) {
    Pump& p = pump(d);
    p.reading = false;
    if (state_ != State::open) return;
    if (ec == asio::error::eof) {
      p.source_done = true;  // FIN travels on once the queue is delivered
      do_write(d);
      return;
    }
    // Any other read error (reset, ...) is the peer's link failing: pass it on as a reset.
    if (ec) return abort();

    const ChunkPlan plan = p.shaper.on_chunk(Clock::now(), bytes);
    if (plan.then == ChunkPlan::Then::reset) {
      ++proxy_.counters().random_disconnects;
      return abort();
    }
    if (plan.forward_bytes > 0) {
      const auto* first = p.read_buffer.data();
      p.queue.push_back(Chunk{std::vector<char>(first, first + plan.forward_bytes), 0, plan.release_at});
      p.queued_bytes += plan.forward_bytes;
    }
    switch (plan.then) {
      case ChunkPlan::Then::keep_reading:
        if (p.queued_bytes < p.queue_limit) do_read(d);
        break;
      case ChunkPlan::Then::stall:
        ++proxy_.counters().stalls;
        p.source_done = true;
        p.stalled = true;
        break;
      case ChunkPlan::Then::cut:
        p.source_done = true;
        p.cut_pending = true;
        break;
      case ChunkPlan::Then::reset:
        break;  // handled above
    }
    do_write(d);
  }

  void do_write(Direction d) {
    Pump& p = pump(d);
    if (state_ != State::open || p.writing) return;
    if (p.queue.empty()) {
      if (p.cut_pending) return cut();
      if (p.source_done && !p.stalled && !p.sink_shut) {
        error_code ignored;
        sink(d).shutdown(tcp::socket::shutdown_send, ignored);
        p.sink_shut = true;
        if (pump(Direction::up).sink_shut && pump(Direction::down).sink_shut) close();
      }
      return;
    }

    Chunk& chunk = p.queue.front();
    const TimePoint now = Clock::now();
    std::size_t slice = chunk.bytes.size() - chunk.sent;
    TimePoint ready = chunk.release_at;
    if (p.bucket) {
      slice = static_cast<std::size_t>(std::min<std::uint64_t>(slice, p.bucket->capacity_bytes()));
      ready = std::max(ready, p.bucket->available_at(now, slice));
    }
    p.writing = true;
    if (ready > now) {
      p.timer.expires_at(ready);
      p.timer.async_wait([self = shared_from_this(), d](error_code ec) {
        self->pump(d).writing = false;
        if (!ec) self->do_write(d);
      });
      return;
    }
    if (p.bucket) p.bucket->take(now, slice);
    asio::async_write(sink(d), asio::buffer(chunk.bytes.data() + chunk.sent, slice),
                      [self = shared_from_this(), d](error_code ec, std::size_t n) { self->on_write(d, ec, n); });
  }

  void on_write(Direction d, error_code ec, std::size_t bytes) {
    Pump& p = pump(d);
    p.writing = false;
    if (state_ != State::open) return;
    if (ec) return abort();  // the receiving peer went away: reset the other
    delivered(d) += bytes;
    Chunk& chunk = p.queue.front();
    chunk.sent += bytes;
    if (chunk.sent == chunk.bytes.size()) {
      p.queued_bytes -= chunk.bytes.size();
      p.queue.pop_front();
      if (p.queued_bytes < p.queue_limit) do_read(d);
    }
    do_write(d);
  }

  // Cut after bytes: FIN to both peers right after the last byte, then read
  // and discard until they close (or kCutLinger), then close.
  void cut() {
    ++proxy_.counters().cuts_after_bytes;
    state_ = State::draining;
    for (const Direction d : {Direction::up, Direction::down}) {
      Pump& p = pump(d);
      p.timer.cancel();
      p.queue.clear();
      error_code ignored;
      source(d).cancel(ignored);  // pending reads and writes end with operation_aborted
      source(d).shutdown(tcp::socket::shutdown_send, ignored);
    }
    for (const Direction d : {Direction::up, Direction::down}) drain(d);
    linger_.expires_after(kCutLinger);
    linger_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec) self->close();
    });
  }

  void drain(Direction d) {
    Pump& p = pump(d);
    source(d).async_read_some(asio::buffer(p.read_buffer), [self = shared_from_this(), d](error_code ec, std::size_t) {
      if (self->state_ != State::draining) return;
      if (!ec) return self->drain(d);
      if (++self->drained_ == 2) self->close();
    });
  }

  // Ends the session with a plain close (both directions finished, or the cut's drain is over).
  void close() {
    if (state_ == State::closed) return;
    state_ = State::closed;
    error_code ignored;
    client_.close(ignored);
    server_.close(ignored);
    release();
  }

  // Ends the session with a reset to both peers.
  void abort() {
    if (state_ == State::closed) return;
    state_ = State::closed;
    reset_socket(client_);
    reset_socket(server_);
    release();
  }

  void release() {
    const auto keep_alive = shared_from_this();  // forget() drops the proxy's reference
    for (Pump& p : pumps_) p.timer.cancel();
    linger_.cancel();
    proxy_.forget(index_);
  }

  Proxy& proxy_;
  const std::uint64_t index_;
  State state_ = State::connecting;
  tcp::socket client_;
  tcp::socket server_;
  std::array<Pump, 2> pumps_;  // indexed by Direction
  asio::steady_timer linger_;  // bounds the drain after a cut
  int drained_ = 0;            // peers that closed during the drain
};

std::optional<std::uint16_t> Proxy::open(error_code& ec) {
  const tcp::endpoint endpoint(asio::ip::address_v4::loopback(), options_.listen_port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return std::nullopt;
  const std::uint16_t port = acceptor_.local_endpoint(ec).port();
  if (ec) return std::nullopt;
  // Installed before the port is announced, so a test may signal at once.
  for (const int signal_number : {SIGINT, SIGTERM, SIGUSR1}) {
    signals_.add(signal_number, ec);
    if (ec) return std::nullopt;
  }
  wait_for_signal();
  return port;
}

void Proxy::do_accept() {
  acceptor_.async_accept([this](error_code ec, tcp::socket socket) { on_accept(ec, std::move(socket)); });
}

void Proxy::on_accept(error_code ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted) return;  // the acceptor was closed
  if (ec) {
    // Out of descriptors and the like: wait a little instead of spinning.
    std::cerr << "jixiao-fault-proxy: accept: " << ec.message() << '\n';
    accept_retry_.expires_after(kAcceptRetryDelay);
    accept_retry_.async_wait([this](error_code wait_ec) {
      if (!wait_ec) do_accept();
    });
    return;
  }
  const std::uint64_t index = accepted_++;
  ++counters_.connections;
  if (options_.max_connections && accepted_ >= *options_.max_connections) {
    error_code ignored;
    acceptor_.close(ignored);
  } else {
    do_accept();
  }
  if (links_cut_) {
    ++counters_.manual_cuts;
    reset_socket(socket);
    maybe_exit();
    return;
  }
  auto session = std::make_shared<Session>(*this, std::move(socket), index);
  sessions_.emplace(index, session);
  session->start();
}

void Proxy::wait_for_signal() {
  signals_.async_wait([this](error_code ec, int signal_number) {
    if (!ec) on_signal(signal_number);
  });
}

void Proxy::on_signal(int signal_number) {
  if (signal_number != SIGUSR1) {
    io_.stop();  // main prints the counters; closing the sockets is left to destruction
    return;
  }
  links_cut_ = !links_cut_;
  std::cerr << "jixiao-fault-proxy: " << (links_cut_ ? "links cut (SIGUSR1)" : "links restored (SIGUSR1)") << '\n';
  if (links_cut_) {
    // Copy first: resetting a session removes it from sessions_.
    std::vector<std::shared_ptr<Session>> open;
    for (const auto& [index, session] : sessions_) open.push_back(session);
    for (const auto& session : open) session->reset();
  }
  wait_for_signal();
}

int run(const ProxyOptions& options) {
  asio::io_context io(1);
  Counters final_counters;
  {
    Proxy proxy(io, options);
    error_code ec;
    const auto port = proxy.open(ec);
    if (!port) {
      std::cerr << "jixiao-fault-proxy: 无法监听 127.0.0.1:" << options.listen_port << " / cannot listen on 127.0.0.1:"
                << options.listen_port << ": " << ec.message() << '\n';
      return 2;
    }
    std::cout << "LISTENING " << *port << std::endl;  // flushed: a test is waiting for it
    proxy.start();
    io.run();
    final_counters = proxy.counters();
  }
  std::cout << stats_line(final_counters) << std::endl;
  if (!options.stats_file.empty() && !write_stats_file(options.stats_file, stats_json(final_counters, options.seed))) {
    std::cerr << "jixiao-fault-proxy: 无法写入统计文件 / cannot write the stats file " << options.stats_file << '\n';
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace jixiao::fault_proxy

int main(int argc, char** argv) {
  using namespace jixiao::fault_proxy;
  const std::vector<std::string_view> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  auto parsed = parse_command_line(args);
  if (!parsed) {
    std::cerr << "jixiao-fault-proxy: " << parsed.status().message() << "\n  " << parsed.status().detail() << '\n';
    return 2;
  }
  if (parsed->action == CommandLine::Action::help) {
    std::cout << usage_text();
    return 0;
  }
  return run(parsed->options);
}
