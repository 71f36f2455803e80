// WsConnection: a blocking facade over Beast's asynchronous WebSocket.
//
// Every call starts asynchronous operations on a private io_context and runs
// it (run_one_until) until the operation completes or the call's deadline
// passes. The io_context runs only inside calls, on the caller's thread, so
// no locking is needed.
//
// Timeouts, by operation:
// - connect, send, close: when the deadline passes the socket is closed and
//   the connection is over (a half-written frame leaves the stream unusable);
// - receive: the read stays pending and the next receive() continues it, so a
//   slow answer is not lost and the connection stays usable.
// Completion state lives in the Impl (never on a caller's stack), so a handler
// that runs late, or never, cannot touch freed memory.
//
// Control frames (the server's keep-alive pings) are answered only while a
// read is pending, i.e. inside receive(); a connection left alone longer than
// the server's idle timeout is closed by the server, and the next call reports
// "closed".
#include "jixiao/net/ws_connection.h"

// GCC 12 reports "potential null pointer dereference" inside Asio's any_executor
// comparisons once they are inlined here; the location is Boost's, not ours.
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include <optional>
#include <string>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "jixiao/sync/protocol.h"

namespace jixiao::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

// One protocol message: its envelope plus the largest payload it may carry.
constexpr std::size_t kMaxFrameBytes = sync::kMaxPayloadBytes + sync::kEnvelopeBytes;

// No permessage-deflate (false): the server never negotiates it.
using PlainWs = websocket::stream<beast::tcp_stream, false>;
using SecureWs = websocket::stream<ssl::stream<beast::tcp_stream>, false>;

// The completion of one asynchronous operation.
struct OpState {
  bool done = false;
  beast::error_code ec;
  void reset() {
    done = false;
    ec = {};
  }
};

Status unavailable(std::string message, std::string detail) {
  return {StatusCode::kUnavailable, std::move(message), std::move(detail)};
}

bool is_ip_literal(const std::string& host) {
  beast::error_code ec;
  (void)asio::ip::make_address(host, ec);
  return !ec;
}

bool is_closed_error(const beast::error_code& ec) {
  return ec == websocket::error::closed || ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor ||
         ec == asio::error::broken_pipe || ec == asio::error::not_connected ||
         ec == asio::error::connection_aborted || ec == ssl::error::stream_truncated;
}

}  // namespace

struct WsConnection::Impl {
  // Constant after connect().
  Endpoint endpoint;
  // Declared first: destroyed last, after the streams registered with it.
  asio::io_context ioc{1};
  ssl::context tls{ssl::context::tls_client};
  std::unique_ptr<PlainWs> plain;    // ws://
  std::unique_ptr<SecureWs> secure;  // wss://

  bool open = false;
  beast::flat_buffer read_buffer;
  bool read_pending = false;  // a read survives a receive() timeout
  OpState read_op;
  OpState write_op;
  OpState close_op;
  OpState setup_op;  // resolve, connect, TLS and WebSocket handshakes
  ConnectionCounters counters;

  beast::tcp_stream& tcp() { return secure ? beast::get_lowest_layer(*secure) : beast::get_lowest_layer(*plain); }

  template <typename F>
  void with_ws(F&& f) {
    if (secure) {
      f(*secure);
    } else {
      f(*plain);
    }
  }

  auto completion(OpState& op) {
    return [&op](beast::error_code ec, auto&&...) {
      op.done = true;
      op.ec = ec;
    };
  }

  // Runs the io_context on this thread until `op` completes or `deadline`.
  bool run_until(const OpState& op, Clock::time_point deadline) {
    while (!op.done) {
      if (Clock::now() >= deadline) return false;
      if (ioc.stopped()) ioc.restart();
      if (ioc.run_one_until(deadline) == 0 && ioc.stopped() && !op.done) {
        return false;  // nothing left that could complete it
      }
    }
    return true;
  }

  // Ends the connection at once: closes the socket so every pending
  // operation completes (with operation_aborted), and lets them finish.
  void abort() {
    open = false;
    if (!plain && !secure) return;
    beast::error_code ignored;
    tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp().socket().close(ignored);
    ioc.restart();
    ioc.run_for(std::chrono::milliseconds(500));
    read_pending = false;
  }
};

WsConnection::WsConnection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

WsConnection::~WsConnection() {
  if (impl_) impl_->abort();
}

Result<std::unique_ptr<WsConnection>> WsConnection::connect(const Endpoint& endpoint, const TlsClientOptions& tls,
                                                            std::chrono::milliseconds timeout) {
  auto impl = std::make_unique<Impl>();
  Impl& m = *impl;
  m.endpoint = endpoint;
  const auto deadline = Clock::now() + timeout;
  const std::string where = endpoint.to_string();
  const auto timed_out = [&](const char* step) {
    m.abort();
    return unavailable("连接服务器 " + where + " 超时，请检查网络后重试", std::string("timeout (") + step + ")");
  };
  const auto failed = [&](const char* step, const beast::error_code& ec) {
    m.abort();
    return unavailable("无法连接服务器 " + where + "：" + ec.message(), std::string(step) + ": " + ec.message());
  };

  // Resolve.
  tcp::resolver resolver(m.ioc);
  tcp::resolver::results_type addresses;
  m.setup_op.reset();
  resolver.async_resolve(endpoint.host, std::to_string(endpoint.port),
                         [&m, &addresses](beast::error_code ec, tcp::resolver::results_type results) {
                           m.setup_op.done = true;
                           m.setup_op.ec = ec;
                           addresses = std::move(results);
                         });
  if (!m.run_until(m.setup_op, deadline)) {
    resolver.cancel();
    m.ioc.restart();
    m.ioc.run_for(std::chrono::milliseconds(100));
    return timed_out("resolve");
  }
  if (m.setup_op.ec) return failed("resolve", m.setup_op.ec);

  // The streams, with TLS configured before any byte is sent.
  if (endpoint.tls) {
    beast::error_code ec;
    if (tls.verify) {
      m.tls.set_verify_mode(ssl::verify_peer, ec);
      if (!ec) {
        if (tls.ca_file.empty()) {
          m.tls.set_default_verify_paths(ec);
        } else {
          m.tls.load_verify_file(tls.ca_file, ec);
        }
      }
      if (ec) {
        return Status(StatusCode::kInvalidArgument, "无法读取受信任的证书文件“" + tls.ca_file + "”", ec.message());
      }
    } else {
      m.tls.set_verify_mode(ssl::verify_none, ec);
    }
    SSL_CTX_set_min_proto_version(m.tls.native_handle(), TLS1_2_VERSION);
    m.secure = std::make_unique<SecureWs>(m.ioc, m.tls);
    SSL* native = m.secure->next_layer().native_handle();
    const bool ip = is_ip_literal(endpoint.host);
    // SNI carries host names only (RFC 6066 forbids address literals).
    // (SSL_set_tlsext_host_name spelled out: the macro casts in C style.)
    if (!ip && SSL_ctrl(native, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                        const_cast<char*>(endpoint.host.c_str())) != 1) {
      return Status::internal("TLS 初始化失败", "SSL_set_tlsext_host_name");
    }
    if (tls.verify) {
      // The certificate must name the host we asked for: a DNS name against
      // its DNS subjectAltNames, an address against its IP subjectAltNames.
      X509_VERIFY_PARAM* param = SSL_get0_param(native);
      const int set = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, endpoint.host.c_str())
                         : X509_VERIFY_PARAM_set1_host(param, endpoint.host.c_str(), endpoint.host.size());
      if (set != 1) return Status::internal("TLS 初始化失败", "X509_VERIFY_PARAM_set1_host/ip");
    }
  } else {
    m.plain = std::make_unique<PlainWs>(m.ioc);
  }

  // TCP.
  m.setup_op.reset();
  m.tcp().async_connect(addresses, m.completion(m.setup_op));
  if (!m.run_until(m.setup_op, deadline)) return timed_out("connect");
  if (m.setup_op.ec) return failed("connect", m.setup_op.ec);
  m.tcp().socket().set_option(tcp::no_delay(true));

  // TLS.
  if (m.secure) {
    m.setup_op.reset();
    m.secure->next_layer().async_handshake(ssl::stream_base::client, m.completion(m.setup_op));
    if (!m.run_until(m.setup_op, deadline)) return timed_out("tls handshake");
    if (m.setup_op.ec) {
      const long verify = SSL_get_verify_result(m.secure->next_layer().native_handle());
      const bool cert_refused =
          verify != X509_V_OK || (m.setup_op.ec.category() == asio::error::get_ssl_category() &&
                                  ERR_GET_REASON(static_cast<unsigned long>(m.setup_op.ec.value())) ==
                                      SSL_R_CERTIFICATE_VERIFY_FAILED);
      if (cert_refused) {
        const std::string why = verify != X509_V_OK ? X509_verify_cert_error_string(verify) : m.setup_op.ec.message();
        m.abort();
        return Status(StatusCode::kPermissionDenied,
                      "服务器 " + where + " 的证书验证失败，连接已中止（请确认服务器地址和受信任的证书）",
                      "certificate: " + why);
      }
      return failed("tls handshake", m.setup_op.ec);
    }
  }

  // WebSocket upgrade.
  const bool v6 = endpoint.host.find(':') != std::string::npos;
  const std::string host_header =
      (v6 ? "[" + endpoint.host + "]" : endpoint.host) + ":" + std::to_string(endpoint.port);
  m.setup_op.reset();
  m.with_ws([&](auto& ws) {
    ws.read_message_max(kMaxFrameBytes);
    ws.binary(true);
    ws.set_option(websocket::stream_base::decorator(
        [](websocket::request_type& req) { req.set(beast::http::field::user_agent, "jixiao-client"); }));
    ws.async_handshake(host_header, endpoint.path, m.completion(m.setup_op));
  });
  if (!m.run_until(m.setup_op, deadline)) return timed_out("websocket handshake");
  if (m.setup_op.ec) return failed("websocket handshake", m.setup_op.ec);

  m.open = true;
  return std::unique_ptr<WsConnection>(new WsConnection(std::move(impl)));
}

Status WsConnection::send(std::string_view message, std::chrono::milliseconds timeout) {
  Impl& m = *impl_;
  if (!m.open) return unavailable("与服务器的连接已断开", "closed");
  if (message.size() > kMaxFrameBytes) {
    return {StatusCode::kResourceExhausted, "消息过大，无法发送", "message of " + std::to_string(message.size()) + " bytes"};
  }
  const auto deadline = Clock::now() + timeout;
  m.write_op.reset();
  m.with_ws([&](auto& ws) { ws.async_write(asio::buffer(message.data(), message.size()), m.completion(m.write_op)); });
  if (!m.run_until(m.write_op, deadline)) {
    m.abort();  // a partly written frame: the stream cannot continue
    return unavailable("发送超时，连接已断开", "timeout");
  }
  if (m.write_op.ec) {
    const bool closed = is_closed_error(m.write_op.ec);
    m.abort();
    return unavailable("与服务器的连接已断开", closed ? "closed" : "write: " + m.write_op.ec.message());
  }
  ++m.counters.messages_sent;
  m.counters.payload_bytes_sent += message.size();
  return Status::ok();
}

Result<std::string> WsConnection::receive(std::chrono::milliseconds timeout) {
  Impl& m = *impl_;
  if (!m.open && !m.read_op.done) return unavailable("与服务器的连接已断开", "closed");
  const auto deadline = Clock::now() + timeout;
  if (!m.read_pending && !m.read_op.done) {
    m.read_pending = true;
    m.with_ws([&](auto& ws) {
      ws.async_read(m.read_buffer, [&m](beast::error_code ec, std::size_t) {
        m.read_pending = false;
        m.read_op.done = true;
        m.read_op.ec = ec;
      });
    });
  }
  if (!m.run_until(m.read_op, deadline)) return unavailable("等待服务器回复超时", "timeout");
  const beast::error_code ec = m.read_op.ec;
  m.read_op.reset();
  if (ec) {
    m.abort();
    if (ec == websocket::error::message_too_big) {
      return Status(StatusCode::kResourceExhausted, "服务器的回复过大", "message too big");
    }
    return unavailable("与服务器的连接已断开", is_closed_error(ec) ? "closed" : "read: " + ec.message());
  }
  std::string message = beast::buffers_to_string(m.read_buffer.data());
  m.read_buffer.consume(m.read_buffer.size());
  ++m.counters.messages_received;
  m.counters.payload_bytes_received += message.size();
  return message;
}

std::size_t WsConnection::receiving_bytes() const { return impl_->read_pending ? impl_->read_buffer.size() : 0; }

void WsConnection::close(std::chrono::milliseconds timeout) {
  Impl& m = *impl_;
  if (!m.open) return;
  const auto deadline = Clock::now() + timeout;
  m.close_op.reset();
  m.with_ws([&](auto& ws) { ws.async_close(websocket::close_code::normal, m.completion(m.close_op)); });
  (void)m.run_until(m.close_op, deadline);
  m.abort();  // whatever is left (a pending read, a slow peer) ends here
}

bool WsConnection::is_open() const { return impl_->open; }

const ConnectionCounters& WsConnection::counters() const { return impl_->counters; }

}  // namespace jixiao::net
