// The client's view of a server address (Endpoint) and what WsConnection
// says when nobody answers. Talks only to 127.0.0.1.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "jixiao/net/endpoint.h"
#include "jixiao/net/ws_connection.h"

namespace jixiao::net {
namespace {

using namespace std::chrono_literals;

std::string parsed(std::string_view url) {
  auto e = Endpoint::parse(url);
  if (!e) return "error: " + e.status().message();
  return std::string(e->tls ? "tls " : "plain ") + e->host + " " + std::to_string(e->port) + " " + e->path;
}

TEST(Endpoint, ParsesTheAddressesPeopleWrite) {
  EXPECT_EQ(parsed("wss://jixiao.example.cn:8443/sync"), "tls jixiao.example.cn 8443 /sync");
  EXPECT_EQ(parsed("wss://jixiao.example.cn"), "tls jixiao.example.cn 443 /sync");
  EXPECT_EQ(parsed("ws://127.0.0.1:8080/sync"), "plain 127.0.0.1 8080 /sync");
  EXPECT_EQ(parsed("ws://127.0.0.1"), "plain 127.0.0.1 80 /sync");
  EXPECT_EQ(parsed("wss://[::1]:9443/jixiao/sync"), "tls ::1 9443 /jixiao/sync");
}

TEST(Endpoint, RoundTripsThroughToString) {
  for (const char* url : {"wss://jixiao.example.cn:8443/sync", "ws://127.0.0.1:8080/sync", "wss://[::1]:9443/sync"}) {
    auto e = Endpoint::parse(url);
    ASSERT_TRUE(e.is_ok()) << url;
    EXPECT_EQ(e->to_string(), url);
  }
}

TEST(Endpoint, RefusesWhatIsNotAServerAddressInChinese) {
  const struct {
    const char* url;
    const char* why;
  } cases[] = {
      {"https://jixiao.example.cn", "应以 wss:// 或 ws:// 开头"},
      {"jixiao.example.cn:8443", "应以 wss:// 或 ws:// 开头"},
      {"wss://:8443/sync", "缺少主机名"},
      {"wss://jixiao.example.cn:0/sync", "端口号不正确"},
      {"wss://jixiao.example.cn:65536", "端口号不正确"},
      {"wss://jixiao.example.cn:84a3", "端口号不正确"},
      {"wss://[::1:8443", "IPv6 地址缺少 ]"},
  };
  for (const auto& c : cases) {
    auto e = Endpoint::parse(c.url);
    ASSERT_FALSE(e.is_ok()) << c.url;
    EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(e.status().message().find(c.why), std::string::npos) << c.url << ": " << e.status().message();
    EXPECT_NE(e.status().message().find("例如 wss://"), std::string::npos) << e.status().message();
  }
}

// A port on 127.0.0.1 that nothing listens on: bound, then released.
std::uint16_t unused_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST(WsConnection, NobodyListeningIsUnavailableSoon) {
  const auto started = std::chrono::steady_clock::now();
  auto c = WsConnection::connect({false, "127.0.0.1", unused_port(), "/sync"}, {}, 2000ms);
  ASSERT_FALSE(c.is_ok());
  EXPECT_EQ(c.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(c.status().message().find("无法连接服务器"), std::string::npos) << c.status().message();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2000ms);
}

TEST(WsConnection, AServerThatNeverAnswersTimesOut) {
  // Listening, but never accepting: the TCP connect succeeds (backlog), the
  // WebSocket upgrade never does.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const auto started = std::chrono::steady_clock::now();
  auto c = WsConnection::connect({false, "127.0.0.1", ntohs(addr.sin_port), "/sync"}, {}, 300ms);
  const auto took = std::chrono::steady_clock::now() - started;
  ::close(fd);
  ASSERT_FALSE(c.is_ok());
  EXPECT_EQ(c.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(c.status().detail().find("timeout"), std::string::npos) << c.status().detail();
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 1500ms);
}

}  // namespace
}  // namespace jixiao::net
