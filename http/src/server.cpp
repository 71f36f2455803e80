// HttpServer: accept loop and I/O threads around beast_session::Session.
#include "jixiao/http/server.h"

#include "jixiao/http/beast/session.h"

#pragma GCC diagnostic ignored "-Wnull-dereference"

#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

namespace jixiao::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using Session = beast_session::Session<beast_session::PlainStream>;

struct HttpServer::Impl {
  Impl(const ListenOptions& l, const HttpConfig& config)
      : listen(l), pool(std::make_unique<HandlerPool>(config.handler_threads, config.handler_queue)), ioc(std::max(1, l.io_threads)),
        acceptor(asio::make_strand(ioc)) {}

  void do_accept() {
    acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || stopping) return;
      if (!ec) {
        beast::error_code peer_ec;
        const tcp::endpoint peer = socket.remote_endpoint(peer_ec);
        if (!peer_ec) {
          auto session = std::make_shared<Session>(shared, peer, listen.first_request_timeout, Session::Upgrade{},
                                                   std::move(socket));
          std::lock_guard lock(mu);
          for (auto it = sessions.begin(); it != sessions.end();) {
            it = it->expired() ? sessions.erase(it) : std::next(it);
          }
          sessions.push_back(session);
          session->run();
        }
      }
      do_accept();
    });
  }

  ListenOptions listen;
  // Reset by stop() once the I/O threads are joined, while the io_context
  // its finishing handlers post to still exists.
  std::unique_ptr<HandlerPool> pool;
  std::shared_ptr<const beast_session::Shared> shared;
  asio::io_context ioc;
  tcp::acceptor acceptor;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::vector<std::weak_ptr<Session>> sessions;  // GUARDED_BY(mu)
  std::atomic<bool> stopping{false};
  bool stopped = false;
  std::uint16_t port = 0;
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() {
  if (impl_) stop();
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(const ListenOptions& listen, const HttpConfig& config,
                                                      Router router) {
  beast::error_code ec;
  std::string host = listen.address == "localhost" ? "127.0.0.1" : listen.address;
  const asio::ip::address address = asio::ip::make_address(host, ec);
  if (ec) return Status::invalid_argument("监听地址“" + listen.address + "”不是有效的 IP 地址", ec.message());
  if (!address.is_loopback()) {
    return Status(StatusCode::kFailedPrecondition, "本地网页服务只能监听本机回环地址（127.0.0.1 或 ::1）",
                  "not loopback: " + listen.address);
  }
  auto impl = std::make_unique<Impl>(listen, config);
  impl->shared = std::make_shared<const beast_session::Shared>(config, std::move(router), impl->pool.get(),
                                                                listen.server_name, listen.log);
  const tcp::endpoint endpoint(address, listen.port);
  const auto cannot_listen = [&](const beast::error_code& why) {
    return Status(StatusCode::kUnavailable,
                  "无法在 " + listen.address + ":" + std::to_string(listen.port) + " 上监听：" + why.message(),
                  why.message());
  };
  if (impl->acceptor.open(endpoint.protocol(), ec); ec) return cannot_listen(ec);
  if (impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec); ec) return cannot_listen(ec);
  if (impl->acceptor.bind(endpoint, ec); ec) return cannot_listen(ec);
  if (impl->acceptor.listen(asio::socket_base::max_listen_connections, ec); ec) return cannot_listen(ec);
  impl->port = impl->acceptor.local_endpoint(ec).port();
  impl->work.emplace(impl->ioc.get_executor());
  Impl* raw = impl.get();
  asio::dispatch(impl->acceptor.get_executor(), [raw] { raw->do_accept(); });
  for (int i = 0; i < std::max(1, listen.io_threads); ++i) {
    impl->threads.emplace_back([raw] {
      for (;;) {
        try {
          raw->ioc.run();
          return;
        } catch (const std::exception& e) {
          if (raw->listen.log) raw->listen.log(std::string("handler threw: ") + e.what());
        }
      }
    });
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

std::uint16_t HttpServer::port() const { return impl_->port; }

void HttpServer::stop() {
  Impl& s = *impl_;
  if (s.stopped) return;
  s.stopped = true;
  s.stopping = true;
  asio::post(s.acceptor.get_executor(), [&s] {
    beast::error_code ignored;
    s.acceptor.close(ignored);
  });
  {
    std::lock_guard lock(s.mu);
    for (auto& weak : s.sessions) {
      if (auto session = weak.lock()) session->close();
    }
  }
  s.work.reset();
  // Let the closes run, then stop whatever is still waiting.
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
  while (std::chrono::steady_clock::now() < until && !s.ioc.stopped()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  s.ioc.stop();
  for (std::thread& t : s.threads) t.join();
  s.threads.clear();
  s.pool.reset();
}

}  // namespace jixiao::http
