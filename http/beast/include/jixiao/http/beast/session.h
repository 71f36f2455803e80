// The HTTP connection loop over Boost.Beast, for code that already compiles
// Beast (server/src/net_server.cpp, http/src/server.cpp). Not a public
// header of the http module: it lives in its own include directory
// (target jixiao::http_beast) so that Asio and Beast stay out of everything
// else.
//
// One Session per connection, on the connection's strand:
//   [TLS handshake] -> read header -> (WebSocket upgrade: hand the stream
//   and the request to `upgrade`) | (route: 404/405/413 at once, else read
//   the body within the route's limit and run the handler on the handler
//   pool, bounded by the route's deadline) -> write -> read the next
//   request (keep-alive, within keepalive_idle) or close.
// The first request (and the TLS handshake) must arrive within
// `first_request_timeout`.
#pragma once

// GCC 12 reports "potential null pointer dereference" inside Asio's
// any_executor comparisons once they are inlined; the location is Boost's.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "jixiao/http/http.h"

namespace jixiao::http::beast_session {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

using PlainStream = beast::tcp_stream;
using TlsStream = asio::ssl::stream<beast::tcp_stream>;
using BeastRequest = bhttp::request<bhttp::string_body>;

// What every connection of one server shares; constant while it runs.
struct Shared {
  HttpConfig config;
  Router router;
  HandlerPool* pool = nullptr;  // owned by the server; outlives the I/O threads
  std::string server_name = "jixiao";
  std::function<void(const std::string&)> log;  // one line per answer; may be empty
  std::size_t largest_body = 0;                 // the largest body any route accepts

  Shared(HttpConfig c, Router r, HandlerPool* p, std::string name, std::function<void(const std::string&)> l)
      : config(std::move(c)), router(std::move(r)), pool(p), server_name(std::move(name)), log(std::move(l)) {
    // Routes may allow more than the default: the parser's cap is the
    // largest; each route's own limit is checked once its header is read.
    largest_body = config.max_body_bytes;
    for (const Router::Route& route : router.routes()) {
      largest_body = std::max(largest_body, route.limits.max_body_bytes.value_or(0));
    }
  }
  std::size_t body_limit(const Router::Route& route) const {
    return route.limits.max_body_bytes.value_or(config.max_body_bytes);
  }
};

inline bool is_harmless(const beast::error_code& ec) {
  return ec == asio::error::operation_aborted || ec == asio::error::eof || ec == bhttp::error::end_of_stream ||
         ec == asio::ssl::error::stream_truncated || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == asio::error::not_connected ||
         ec == asio::error::connection_aborted || ec == asio::error::bad_descriptor || ec == beast::error::timeout;
}

template <typename Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;
  // Takes the stream and the request of a WebSocket upgrade; empty: upgrade
  // requests are routed like any other.
  using Upgrade = std::function<void(Stream&&, BeastRequest&&)>;

  template <typename... Args>
  Session(std::shared_ptr<const Shared> shared, const asio::ip::tcp::endpoint& peer,
          std::chrono::seconds first_request_timeout, Upgrade upgrade, Args&&... stream_args)
      : shared_(std::move(shared)),
        stream_(std::forward<Args>(stream_args)...),
        strand_(stream_.get_executor()),
        deadline_timer_(strand_),
        upgrade_(std::move(upgrade)),
        first_timeout_(first_request_timeout) {
    peer_address_ = peer.address().is_v6() && peer.address().to_v6().is_v4_mapped()
                        ? asio::ip::make_address_v4(asio::ip::v4_mapped, peer.address().to_v6()).to_string()
                        : peer.address().to_string();
  }

  // Something that lives as long as the session (a connection counter).
  void attach(std::shared_ptr<void> attachment) { attachment_ = std::move(attachment); }

  void run() { asio::dispatch(strand_, beast::bind_front_handler(&Session::start, this->shared_from_this())); }

  // Closes the socket at once, from any thread.
  void close() {
    asio::post(strand_, [self = this->shared_from_this()] {
      self->closed_ = true;
      self->deadline_timer_.cancel();
      beast::error_code ignored;
      beast::get_lowest_layer(self->stream_).socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
      beast::get_lowest_layer(self->stream_).close();
    });
  }

 private:
  void log(const std::string& line) const {
    if (shared_->log) shared_->log(peer_address_ + " " + line);
  }

  void start() {
    beast::get_lowest_layer(stream_).expires_after(first_timeout_);
    if constexpr (kTls) {
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->fail(ec, "tls handshake");
                                self->do_read(/*first=*/true);
                              });
    } else {
      do_read(/*first=*/true);
    }
  }

  void fail(const beast::error_code& ec, const char* what) {
    if (is_harmless(ec)) return;
    log(std::string(what) + ": " + ec.message());
  }

  void do_read(bool first) {
    if (closed_) return;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(shared_->config.max_header_bytes, 1u << 30)));
    parser_->body_limit(shared_->largest_body);
    if (!first) beast::get_lowest_layer(stream_).expires_after(shared_->config.keepalive_idle);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             beast::bind_front_handler(&Session::on_header, this->shared_from_this()));
  }

  void on_header(beast::error_code ec, std::size_t) {
    if (ec == bhttp::error::header_limit) {
      return respond_raw(11, 431, Response::error(431, "header_too_large", "请求头过大"), true, "-", "-");
    }
    if (ec == bhttp::error::body_limit) {
      return respond_raw(11, 413, too_large(shared_->largest_body), true, "-", "-");
    }
    if (ec) {
      if (ec == bhttp::error::end_of_stream || is_harmless(ec)) return fail(ec, "http read");
      // A malformed request: say so and close.
      return respond_raw(11, 400, Response::error(400, "bad_request", "请求格式错误"), true, "-", "-");
    }
    auto& head = parser_->get();
    method_ = std::string(head.method_string());
    target_ = std::string(head.target());
    version_ = head.version();
    keep_alive_ = head.keep_alive();
    if (upgrade_ && beast::websocket::is_upgrade(head)) {
      return bhttp::async_read(stream_, buffer_, *parser_,
                               [self = this->shared_from_this()](beast::error_code read_ec, std::size_t) {
                                 if (read_ec) return self->fail(read_ec, "http read");
                                 // The WebSocket's own timeouts take over.
                                 beast::get_lowest_layer(self->stream_).expires_never();
                                 self->upgrade_(std::move(self->stream_), self->parser_->release());
                               });
    }
    const std::string path = target_.substr(0, target_.find('?'));
    match_ = shared_->router.match(method_, path);
    const bool has_body = head.has_content_length() || head.chunked();
    const bool body_pending = has_body && !parser_->is_done();
    if (match_.status == 404) {
      return respond(Response::error(404, "not_found", "找不到请求的地址"), body_pending);
    }
    if (match_.status == 405) {
      Response r = Response::error(405, "method_not_allowed", "该地址不支持此请求方法");
      r.set("allow", match_.allow);
      return respond(std::move(r), body_pending);
    }
    const std::size_t limit = shared_->body_limit(*match_.route);
    if (auto length = parser_->content_length(); length && *length > limit) {
      // Refused before the body is read; the unread body means the
      // connection cannot carry another request.
      return respond(too_large(limit), body_pending);
    }
    parser_->body_limit(limit);  // for chunked bodies
    beast::get_lowest_layer(stream_).expires_after(shared_->config.keepalive_idle);
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&Session::on_body, this->shared_from_this()));
  }

  static Response too_large(std::size_t limit) {
    return Response::error(413, "body_too_large", "请求内容过大（上限 " + std::to_string(limit) + " 字节）");
  }

  void on_body(beast::error_code ec, std::size_t) {
    if (ec == bhttp::error::body_limit) return respond(too_large(shared_->body_limit(*match_.route)), true);
    if (ec) return fail(ec, "http read body");
    beast::get_lowest_layer(stream_).expires_never();  // the route's deadline now
    BeastRequest raw = parser_->release();
    Request request;
    request.method = method_;
    request.target = target_;
    const std::size_t q = target_.find('?');
    request.path = target_.substr(0, q);
    if (q != std::string::npos) request.query = target_.substr(q + 1);
    for (const auto& field : raw) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      request.headers.emplace(std::move(name), std::string(field.value()));
    }
    request.body = std::move(raw.body());
    request.params = std::move(match_.params);
    request.peer_address = peer_address_;
    request.peer_loopback = is_loopback_ip(peer_address_);
    ClientAddress client =
        resolve_client_address(peer_address_, request.header("x-forwarded-for"), shared_->config.trusted_proxies);
    request.client_address = std::move(client.address);
    request.through_proxy = client.through_proxy;
    client_ = request.client_address;
    run_handler(*match_.route, std::move(request));
  }

  static Response invoke(const Router::Route& route, Request& request) {
    try {
      return route.handler(request);
    } catch (const std::exception&) {
      return Response::error(500, "internal", "服务器内部错误");
    }
  }

  void run_handler(const Router::Route& route, Request request) {
    if (route.limits.inline_handler) return respond(invoke(route, request), false);
    const auto deadline = std::chrono::duration_cast<std::chrono::milliseconds>(
        route.limits.deadline.value_or(std::chrono::milliseconds(shared_->config.default_deadline)));
    request.deadline = std::chrono::steady_clock::now() + deadline;
    const std::uint64_t ticket = ++generation_;
    waiting_ = ticket;
    const bool posted = shared_->pool->try_post(
        [self = this->shared_from_this(), route = &route, request = std::move(request), ticket]() mutable {
          Response response = invoke(*route, request);
          asio::post(self->strand_, [self, ticket, response = std::move(response)]() mutable {
            self->on_handled(ticket, std::move(response));
          });
        });
    if (!posted) {
      waiting_ = 0;
      Response busy = Response::error(503, "busy", "服务器繁忙，请稍后再试");
      busy.set("retry-after", "1");
      return respond(std::move(busy), false);
    }
    deadline_timer_.expires_after(deadline);
    deadline_timer_.async_wait([weak = this->weak_from_this(), ticket](beast::error_code ec) {
      if (ec) return;
      if (auto self = weak.lock()) self->on_deadline(ticket);
    });
  }

  void on_handled(std::uint64_t ticket, Response response) {
    if (ticket != waiting_ || closed_) return;  // answered already (deadline)
    waiting_ = 0;
    deadline_timer_.cancel();
    respond(std::move(response), false);
  }

  void on_deadline(std::uint64_t ticket) {
    if (ticket != waiting_ || closed_) return;
    waiting_ = 0;  // the handler's late answer is dropped
    Response late = Response::error(503, "timeout", "处理超时，请稍后再试");
    late.set("retry-after", "5");
    respond(std::move(late), false);
  }

  void respond(Response response, bool must_close) {
    respond_raw(version_, response.status, std::move(response), must_close, method_, target_);
  }

  void respond_raw(unsigned version, unsigned status, Response response, bool must_close, const std::string& method,
                   const std::string& target) {
    if (closed_) return;
    const bool keep = keep_alive_ && !must_close && !response.close && version == 11;
    keep_alive_ = keep;
    log("http " + method + " " + target + " " + std::to_string(status) +
        (client_.empty() || client_ == peer_address_ ? "" : " client " + client_));
    client_.clear();
    response_.emplace(static_cast<bhttp::status>(status), version);
    response_->set(bhttp::field::server, shared_->server_name);
    for (const auto& [name, value] : response.headers) response_->set(name, value);
    response_->keep_alive(keep);
    if (method == "HEAD") {
      response_->content_length(response.body.size());
    } else if (status != 304 && status != 204) {
      response_->body() = std::move(response.body);
      response_->prepare_payload();
    }
    beast::get_lowest_layer(stream_).expires_after(shared_->config.keepalive_idle);
    bhttp::async_write(stream_, *response_, beast::bind_front_handler(&Session::on_write, this->shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec) return fail(ec, "http write");
    if (keep_alive_) return do_read(/*first=*/false);
    if constexpr (kTls) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        beast::get_lowest_layer(self->stream_).close();
      });
    } else {
      beast::error_code ignored;
      stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    }
  }

  std::shared_ptr<const Shared> shared_;
  Stream stream_;
  asio::any_io_executor strand_;
  asio::steady_timer deadline_timer_;
  Upgrade upgrade_;
  std::chrono::seconds first_timeout_;
  std::shared_ptr<void> attachment_;
  std::string peer_address_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::response<bhttp::string_body>> response_;
  Router::Match match_;
  std::string method_ = "-";
  std::string target_ = "-";
  std::string client_;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool closed_ = false;
  std::uint64_t generation_ = 0;
  std::uint64_t waiting_ = 0;  // the request whose handler runs, or 0
};

}  // namespace jixiao::http::beast_session

#pragma GCC diagnostic pop
