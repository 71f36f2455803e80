// A client's WebSocket connection to a jixiao server (Boost.Beast over TCP,
// with TLS for wss://). Blocking calls with explicit timeouts, for the office
// client's command line and background loop and for tests; one binary
// WebSocket message carries one protocol message (sync/protocol.h).
//
// Asio and Beast stay behind this header (compiled once in this library).
// Not thread-safe: one owner.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "jixiao/common/status.h"
#include "jixiao/net/endpoint.h"

namespace jixiao::net {

struct TlsClientOptions {
  std::string ca_file;   // PEM file of trusted CAs (or the server's self-signed certificate)
  bool verify = true;    // verify the peer's certificate and host name
};

struct ConnectionCounters {
  std::uint64_t messages_sent = 0;
  std::uint64_t messages_received = 0;
  std::uint64_t payload_bytes_sent = 0;      // protocol messages, before framing
  std::uint64_t payload_bytes_received = 0;
};

class WsConnection {
 public:
  // TCP connect, TLS handshake (wss), WebSocket upgrade at endpoint.path.
  // kUnavailable when the server cannot be reached in time (retry later);
  // kPermissionDenied when the certificate does not verify.
  static Result<std::unique_ptr<WsConnection>> connect(const Endpoint& endpoint, const TlsClientOptions& tls,
                                                       std::chrono::milliseconds timeout);
  ~WsConnection();
  WsConnection(const WsConnection&) = delete;
  WsConnection& operator=(const WsConnection&) = delete;

  Status send(std::string_view message, std::chrono::milliseconds timeout);
  // The next message; kUnavailable on timeout (detail "timeout") or when the
  // connection closed (detail "closed").
  Result<std::string> receive(std::chrono::milliseconds timeout);
  // A polite close (WebSocket close frame), bounded by `timeout`.
  void close(std::chrono::milliseconds timeout = std::chrono::milliseconds(1000));
  bool is_open() const;
  const ConnectionCounters& counters() const;
  // Bytes of the message being received that have arrived so far (0 when no
  // read is pending): lets a caller tell a slow answer from silence.
  std::size_t receiving_bytes() const;

 private:
  struct Impl;
  explicit WsConnection(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace jixiao::net
