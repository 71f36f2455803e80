// The office client's view of the network: a message transport that sends
// and receives whole protocol messages (sync/protocol.h). The WebSocket
// connection (net/ws_connection.h) is one implementation; tests inject an
// in-process one that hands the bytes to a real SyncService.
//
// Blocking, one owner, not thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "jixiao/common/status.h"

namespace jixiao::client {

class Transport {
 public:
  virtual ~Transport() = default;
  // Sends one message. kUnavailable when the connection is gone.
  virtual Status send(std::string_view message) = 0;
  // The next message. kUnavailable with detail "timeout" when nothing came
  // within `timeout`; any other error means the connection is lost.
  virtual Result<std::string> receive(std::chrono::milliseconds timeout) = 0;
  virtual bool connected() const = 0;
  // Bytes of a message still arriving (0 if unknown or none): growth means
  // the server is answering, however slowly.
  virtual std::size_t receiving_bytes() const { return 0; }
  virtual void close() = 0;
};

// What a transport needs to reach the server.
struct ConnectParams {
  std::string server_url;  // "wss://host:8443/sync"
  std::string ca_file;     // PEM of trusted CAs; empty: the system's
  std::chrono::milliseconds timeout{15000};
};

// Opens a connection. kUnavailable when the server cannot be reached (retry
// later), kPermissionDenied when its certificate does not verify,
// kInvalidArgument for a malformed URL.
using TransportFactory = std::function<Result<std::unique_ptr<Transport>>(const ConnectParams&)>;

// The production factory: a WebSocket (TLS for wss://) via net::WsConnection.
Result<std::unique_ptr<Transport>> connect_websocket(const ConnectParams& params);

}  // namespace jixiao::client
