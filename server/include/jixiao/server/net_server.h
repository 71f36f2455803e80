// jixiao-server's network front: Boost.Beast WebSocket and HTTP on one port,
// TLS (wss/https) with OpenSSL, plain ws only when explicitly allowed on a
// loopback address.
//
// One session per connection on its own strand; exactly one write in flight
// behind a bounded queue; explicit limits (message size, queue length,
// handshake and idle timeouts, pings). The first WebSocket message must be a
// LoginRequest (accounts.h); every later message is authorized again against
// the session (expiry, revocation, disable, device binding) before the sync
// service sees it. A bad message gets an ErrorResponse and is logged; the
// connection or the server stays up for everyone else.
//
// HTTP on the same port (jixiao::http: keep-alive, per-route limits, its own
// bounded handler pool): GET /healthz (liveness) and GET /status (JSON:
// connections, sessions, head seq) for a loopback peer that is not a
// trusted proxy, 403 otherwise; plus whatever routes the caller mounts.
//
// Asio and Beast stay behind this header.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "jixiao/common/status.h"
#include "jixiao/http/http.h"
#include "jixiao/server/accounts.h"
#include "jixiao/server/config.h"
#include "jixiao/service/sync_service.h"

namespace jixiao::server {

struct NetStatus {
  std::size_t connections = 0;
  std::size_t authenticated = 0;
  std::uint64_t messages_in = 0;
  std::uint64_t messages_out = 0;
  std::uint64_t refused = 0;  // messages answered with an ErrorResponse
};

class NetServer {
 public:
  // Binds, listens and starts `config.threads` I/O threads. Port 0 picks a
  // free port (see port()). `sync` and `accounts` are borrowed. `routes`
  // are served over HTTP after /healthz and /status (which they cannot
  // shadow); their handlers run on the HTTP handler pool.
  static Result<std::unique_ptr<NetServer>> start(const NetConfig& config, SyncService& sync,
                                                  AccountStore& accounts, http::Router routes = {});
  ~NetServer();  // stop()s
  NetServer(const NetServer&) = delete;
  NetServer& operator=(const NetServer&) = delete;

  std::uint16_t port() const;
  NetStatus status() const;
  // Closes the listener and every connection; joins the threads.
  void stop();

 private:
  struct Impl;
  explicit NetServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace jixiao::server
