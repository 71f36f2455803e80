#include "fault_model.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <system_error>

namespace jixiao::fault_proxy {
namespace {

constexpr std::string_view kUsage =
    "jixiao-fault-proxy — 故障注入 TCP 代理，只用于测试与基准 (fault-injecting TCP proxy, tests and benchmarks only)\n"
    "\n"
    "用法 Usage:\n"
    "  jixiao-fault-proxy --target-port 端口 [--listen-port 端口] [故障选项 fault options...]\n"
    "\n"
    "  在 127.0.0.1:<listen-port> 上监听（0 为临时端口），把每个连接转发到 127.0.0.1:<target-port>。\n"
    "  就绪后在标准输出打印一行 \"LISTENING <端口>\"。\n"
    "  Listens on 127.0.0.1:<listen-port> (0: an ephemeral port) and forwards every connection to\n"
    "  127.0.0.1:<target-port>. When ready it prints one line \"LISTENING <port>\" on stdout.\n"
    "\n"
    "故障选项 Fault options — 值前可加方向 up:（客户端→服务端）、down:（服务端→客户端）或 both:（默认）\n"
    "  each value may carry a direction: up: (client→server), down: (server→client) or both: (default)\n"
    "  --latency-ms [方向:]N              每个数据块单向延迟 N 毫秒，保持顺序\n"
    "                                     one-way delay added to every chunk, order kept\n"
    "  --jitter-ms [方向:]N               每块另加 [0, N] 毫秒随机延迟（由 --seed 决定），不乱序\n"
    "                                     a further uniform [0, N] ms per chunk (seeded), never reordered\n"
    "  --bandwidth-bps [方向:]N           令牌桶限速，每秒 N 字节（64 kbit/s = 8000）\n"
    "                                     token-bucket cap, N bytes per second (64 kbit/s = 8000)\n"
    "  --cut-after-bytes [方向:]N         该方向恰好送达 N 字节后关闭连接两端（每个连接计）\n"
    "                                     after exactly N bytes in that direction, close both sides (per connection)\n"
    "  --stall-after-bytes [方向:]N       恰好 N 字节后停止转发，但不关闭套接字\n"
    "                                     after exactly N bytes forward nothing more, sockets stay open\n"
    "  --disconnect-probability [方向:]P  每个数据块以概率 P（0..1）使连接被强行复位（RST）\n"
    "                                     each chunk, with probability P (0..1), resets the connection (RST)\n"
    "\n"
    "其他选项 Other options:\n"
    "  --seed S                  随机数种子，默认 1 (random seed, default 1)\n"
    "  --max-connections N       接受 N 个连接后不再接受，它们结束后退出\n"
    "                            accept N connections, then exit when they have ended\n"
    "  --stats-file 路径         退出时把计数写成 JSON (write the counters as JSON on exit)\n"
    "  -h, --help                显示本说明 (show this help)\n"
    "\n"
    "信号 Signals:\n"
    "  SIGTERM, SIGINT  关闭所有连接，打印 \"STATS up=<字节> down=<字节> connections=<n> cuts=<n>\" 后退出（退出码 0）\n"
    "                   close every connection, print \"STATS up=<bytes> down=<bytes> connections=<n> cuts=<n>\", exit 0\n"
    "  SIGUSR1          切换“全部链路中断”：现有连接被复位，新连接一经接受即被复位；再发一次恢复\n"
    "                   toggles \"all links cut\": open connections are reset, new ones are reset on accept;\n"
    "                   send it again to restore the links\n"
    "\n"
    "示例 Example — 64 kbit/s、往返 500 ms (64 kbit/s with a 500 ms round trip):\n"
    "  jixiao-fault-proxy --target-port 8443 --latency-ms 250 --bandwidth-bps 8000\n"
    "\n"
    "退出码 Exit status: 0 正常 (normal), 1 无法写统计文件 (cannot write the stats file),\n"
    "                   2 用法错误或无法监听 (usage error or cannot listen)\n";

struct DirectedValue {
  bool up = true;
  bool down = true;
  std::string_view value;
};

DirectedValue split_direction(std::string_view text) {
  DirectedValue d;
  d.value = text;
  if (text.starts_with("up:")) {
    d = {true, false, text.substr(3)};
  } else if (text.starts_with("down:")) {
    d = {false, true, text.substr(5)};
  } else if (text.starts_with("both:")) {
    d.value = text.substr(5);
  }
  return d;
}

constexpr std::array<std::string_view, 11> kValueOptions = {
    "--listen-port",     "--target-port",       "--seed",          "--max-connections",
    "--stats-file",      "--latency-ms",        "--jitter-ms",     "--bandwidth-bps",
    "--cut-after-bytes", "--stall-after-bytes", "--disconnect-probability"};

Status bad_value(std::string_view option, std::string_view value, std::string_view expected) {
  return Status::invalid_argument("选项 " + std::string(option) + " 的值“" + std::string(value) + "”无效，应为" +
                                      std::string(expected.substr(0, expected.find('|'))),
                                  "invalid value '" + std::string(value) + "' for " + std::string(option) +
                                      ": expected " + std::string(expected.substr(expected.find('|') + 1)));
}

// Parses a whole decimal unsigned integer in [min, max].
std::optional<std::uint64_t> parse_unsigned(std::string_view text, std::uint64_t min, std::uint64_t max) {
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value < min || value > max) return std::nullopt;
  return value;
}

std::optional<double> parse_probability(std::string_view text) {
  double value = 0.0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || !(value >= 0.0 && value <= 1.0)) return std::nullopt;
  return value;
}

constexpr std::uint64_t kMaxMilliseconds = 3'600'000;         // one hour
constexpr std::uint64_t kMaxBytesPerSecond = 10'000'000'000;  // 10 GB/s
constexpr std::uint64_t kMaxPort = 65535;

// splitmix64: spreads nearby seeds (connection 0, 1, 2...) far apart.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

std::string_view to_string(Direction direction) { return direction == Direction::up ? "up" : "down"; }

std::string_view usage_text() { return kUsage; }

Result<CommandLine> parse_command_line(std::span<const std::string_view> args) {
  CommandLine line;
  ProxyOptions& options = line.options;
  bool have_target = false;

  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view option = args[i];
    std::optional<std::string_view> inline_value;
    if (const auto eq = option.find('='); option.starts_with("--") && eq != std::string_view::npos) {
      inline_value = option.substr(eq + 1);
      option = option.substr(0, eq);
    }
    if (option == "-h" || option == "--help") {
      line.action = CommandLine::Action::help;
      return line;
    }
    if (std::find(kValueOptions.begin(), kValueOptions.end(), option) == kValueOptions.end()) {
      return Status::invalid_argument("未知选项 " + std::string(option) + "（见 --help）",
                                      "unknown option: " + std::string(option));
    }
    std::string_view value;
    if (inline_value) {
      value = *inline_value;
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return Status::invalid_argument("选项 " + std::string(option) + " 缺少值（见 --help）",
                                      "missing value for " + std::string(option));
    }

    // Options that take one value for the whole proxy.
    if (option == "--listen-port" || option == "--target-port") {
      const auto port = parse_unsigned(value, option == "--listen-port" ? 0 : 1, kMaxPort);
      if (!port) return bad_value(option, value, "端口号|a port number");
      (option == "--listen-port" ? options.listen_port : options.target_port) = static_cast<std::uint16_t>(*port);
      have_target = have_target || option == "--target-port";
      continue;
    }
    if (option == "--seed") {
      const auto seed = parse_unsigned(value, 0, std::numeric_limits<std::uint64_t>::max());
      if (!seed) return bad_value(option, value, "非负整数|a non-negative integer");
      options.seed = *seed;
      continue;
    }
    if (option == "--max-connections") {
      const auto count = parse_unsigned(value, 1, std::numeric_limits<std::uint32_t>::max());
      if (!count) return bad_value(option, value, "正整数|a positive integer");
      options.max_connections = *count;
      continue;
    }
    if (option == "--stats-file") {
      if (value.empty()) return bad_value(option, value, "文件路径|a file path");
      options.stats_file = std::string(value);
      continue;
    }

    // Fault options: [up:|down:|both:]VALUE, applied to the directions named.
    const DirectedValue directed = split_direction(value);
    const auto set = [&](auto&& assign) {
      if (directed.up) assign(options.faults[static_cast<std::size_t>(Direction::up)]);
      if (directed.down) assign(options.faults[static_cast<std::size_t>(Direction::down)]);
    };
    if (option == "--latency-ms" || option == "--jitter-ms") {
      const auto ms = parse_unsigned(directed.value, 0, kMaxMilliseconds);
      if (!ms) return bad_value(option, value, "0 到 3600000 的毫秒数|milliseconds, 0 to 3600000");
      const std::chrono::milliseconds delay(*ms);
      if (option == "--latency-ms") {
        set([&](LinkFaults& f) { f.latency = delay; });
      } else {
        set([&](LinkFaults& f) { f.jitter = delay; });
      }
    } else if (option == "--bandwidth-bps") {
      const auto rate = parse_unsigned(directed.value, 1, kMaxBytesPerSecond);
      if (!rate) return bad_value(option, value, "每秒字节数（≥ 1）|bytes per second, at least 1");
      set([&](LinkFaults& f) { f.bandwidth_bytes_per_second = *rate; });
    } else if (option == "--cut-after-bytes" || option == "--stall-after-bytes") {
      const auto bytes = parse_unsigned(directed.value, 0, std::numeric_limits<std::uint64_t>::max());
      if (!bytes) return bad_value(option, value, "字节数|a byte count");
      if (option == "--cut-after-bytes") {
        set([&](LinkFaults& f) { f.cut_after_bytes = *bytes; });
      } else {
        set([&](LinkFaults& f) { f.stall_after_bytes = *bytes; });
      }
    } else if (option == "--disconnect-probability") {
      const auto p = parse_probability(directed.value);
      if (!p) return bad_value(option, value, "0 到 1 之间的概率|a probability from 0 to 1");
      set([&](LinkFaults& f) { f.disconnect_probability = *p; });
    }
  }

  if (!have_target) {
    return Status::invalid_argument("必须给出 --target-port（见 --help）", "--target-port is required");
  }
  return line;
}

TokenBucket::TokenBucket(std::uint64_t bytes_per_second, std::uint64_t capacity_bytes)
    : rate_(std::max<std::uint64_t>(bytes_per_second, 1)),
      capacity_(std::clamp<std::uint64_t>(capacity_bytes, 1, kMaxCapacity)) {}

std::chrono::nanoseconds TokenBucket::cost(std::uint64_t bytes) const {
  // bytes ≤ kMaxCapacity (2^24), so bytes·10^9 < 2^54: no overflow. Rounded up,
  // so the cap is never exceeded.
  constexpr std::uint64_t kNanosPerSecond = 1'000'000'000;
  const std::uint64_t nanos = (std::min(bytes, kMaxCapacity) * kNanosPerSecond + rate_ - 1) / rate_;
  return std::chrono::nanoseconds(static_cast<std::chrono::nanoseconds::rep>(nanos));
}

TimePoint TokenBucket::available_at(TimePoint now, std::uint64_t bytes) const {
  // The bucket holds `bytes` tokens once it lacks no more than capacity - bytes.
  const std::uint64_t wanted = std::min(bytes, capacity_);
  return std::max(now, full_at_ - cost(capacity_ - wanted));
}

void TokenBucket::take(TimePoint now, std::uint64_t bytes) { full_at_ = std::max(full_at_, now) + cost(bytes); }

std::uint64_t pacing_slice_bytes(std::uint64_t bytes_per_second) {
  return std::clamp<std::uint64_t>(bytes_per_second / 20, 1, 16 * 1024);
}

std::size_t queue_limit_bytes(const LinkFaults& faults) {
  constexpr std::uint64_t kMin = 16 * 1024;
  constexpr std::uint64_t kMax = 1024 * 1024;
  const std::uint64_t rate = faults.bandwidth_bytes_per_second;
  if (rate == 0) return static_cast<std::size_t>(kMax);
  const auto window_ms = static_cast<std::uint64_t>((faults.latency + faults.jitter).count()) + 1000;
  // rate ≤ 10^10 and window_ms ≤ 7.2·10^6 + 1000: compare before multiplying.
  if (rate > kMax * 1000 / window_ms) return static_cast<std::size_t>(kMax);
  return static_cast<std::size_t>(std::clamp<std::uint64_t>(rate * window_ms / 1000, kMin, kMax));
}

LinkShaper::LinkShaper(const LinkFaults& faults, std::uint64_t seed) : faults_(faults), random_(seed) {}

ChunkPlan LinkShaper::on_chunk(TimePoint now, std::size_t chunk_bytes) {
  ChunkPlan plan;
  plan.release_at = std::max(now, last_release_);
  if (finished_) {
    plan.then = ChunkPlan::Then::stall;
    return plan;
  }

  // Each random draw happens only when its fault is on, so turning on jitter
  // does not change which chunks a given seed disconnects, and vice versa.
  if (faults_.disconnect_probability > 0.0) {
    // 53 random bits → [0, 1), the same on every standard library.
    const double draw = static_cast<double>(random_() >> 11) * 0x1.0p-53;
    if (draw < faults_.disconnect_probability) {
      finished_ = true;
      plan.then = ChunkPlan::Then::reset;
      return plan;
    }
  }

  // Cut and stall: forward up to the nearer limit; reaching it ends this
  // direction. When both limits fall on the same byte the cut wins.
  constexpr std::uint64_t kNoLimit = std::numeric_limits<std::uint64_t>::max();
  const std::uint64_t cut_at = faults_.cut_after_bytes.value_or(kNoLimit);
  const std::uint64_t stall_at = faults_.stall_after_bytes.value_or(kNoLimit);
  const std::uint64_t limit = std::min(cut_at, stall_at);
  const std::uint64_t room = limit - std::min(limit, forwarded_);
  plan.forward_bytes = static_cast<std::size_t>(std::min<std::uint64_t>(chunk_bytes, room));
  forwarded_ += plan.forward_bytes;
  if (limit != kNoLimit && forwarded_ == limit) {
    finished_ = true;
    plan.then = cut_at <= stall_at ? ChunkPlan::Then::cut : ChunkPlan::Then::stall;
  }

  auto delay = std::chrono::duration_cast<Clock::duration>(faults_.latency);
  if (faults_.jitter.count() > 0) {
    const auto span = static_cast<std::uint64_t>(std::chrono::duration_cast<Clock::duration>(faults_.jitter).count());
    delay += Clock::duration(static_cast<Clock::duration::rep>(random_() % (span + 1)));
  }
  plan.release_at = std::max(now + delay, last_release_);
  last_release_ = plan.release_at;
  return plan;
}

std::uint64_t link_seed(std::uint64_t proxy_seed, std::uint64_t connection_index, Direction direction) {
  return mix(mix(proxy_seed) ^ (connection_index * 2 + static_cast<std::uint64_t>(direction)));
}

}  // namespace jixiao::fault_proxy
