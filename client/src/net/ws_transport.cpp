// The production transport: net::WsConnection (WebSocket, TLS for wss://).
// Kept in its own file (and CMake source group) so the client library builds
// and its tests run with an in-process transport while the network layer is
// being finished.
#include "jixiao/client/transport.h"
#include "jixiao/net/endpoint.h"
#include "jixiao/net/ws_connection.h"

namespace jixiao::client {
namespace {

class WsTransport final : public Transport {
 public:
  explicit WsTransport(std::unique_ptr<net::WsConnection> c, std::chrono::milliseconds send_timeout)
      : conn_(std::move(c)), send_timeout_(send_timeout) {}
  ~WsTransport() override { close(); }

  // A large message on a slow link meets TCP backpressure: the send may take
  // its bytes' time at half of 64 kbit/s on top of the base timeout.
  Status send(std::string_view message) override {
    return conn_->send(message, send_timeout_ + std::chrono::milliseconds(message.size() / 4));
  }
  Result<std::string> receive(std::chrono::milliseconds timeout) override { return conn_->receive(timeout); }
  bool connected() const override { return conn_->is_open(); }
  std::size_t receiving_bytes() const override { return conn_->receiving_bytes(); }
  void close() override {
    if (conn_->is_open()) conn_->close();
  }

 private:
  std::unique_ptr<net::WsConnection> conn_;
  std::chrono::milliseconds send_timeout_;
};

}  // namespace

Result<std::unique_ptr<Transport>> connect_websocket(const ConnectParams& params) {
  auto endpoint = net::Endpoint::parse(params.server_url);
  if (!endpoint) return endpoint.status();
  net::TlsClientOptions tls{params.ca_file, true};
  auto conn = net::WsConnection::connect(*endpoint, tls, params.timeout);
  if (!conn) return conn.status();
  return std::unique_ptr<Transport>(std::make_unique<WsTransport>(std::move(conn).value(), params.timeout));
}

}  // namespace jixiao::client
