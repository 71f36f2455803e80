// HttpServer: a plain-HTTP listener on a loopback address serving one
// Router — for the office client's local web app (a later issue) and the
// tests. jixiao-server does not use it: its NetServer keeps accept, TLS and
// the WebSocket upgrade and runs the same connection loop
// (jixiao/http/beast/session.h) on its own port.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "jixiao/common/status.h"
#include "jixiao/http/http.h"

namespace jixiao::http {

struct ListenOptions {
  std::string address = "127.0.0.1";  // loopback only (127.0.0.0/8, ::1)
  std::uint16_t port = 0;             // 0: any free port (see HttpServer::port())
  int io_threads = 1;
  std::chrono::seconds first_request_timeout{10};
  std::string server_name = "jixiao";
  std::function<void(const std::string&)> log;  // one line per answer; may be empty
};

class HttpServer {
 public:
  static Result<std::unique_ptr<HttpServer>> start(const ListenOptions& listen, const HttpConfig& config,
                                                   Router router);
  ~HttpServer();  // stop()s
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  std::uint16_t port() const;
  // Closes the listener and every connection; joins the threads.
  void stop();

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace jixiao::http
