// jixiao::http — the HTTP layer both programs link: requests and answers,
// a router by method and path pattern with per-route limits, the bounded
// handler pool, JSON in and out, static files and the client address behind
// a trusted proxy. No Asio or Beast here: the connection loop that feeds a
// Router is in jixiao/http/beast/session.h (for code that already speaks
// Beast, like server/src/net_server.cpp) and behind HttpServer (server.h).
//
// Everything a user reads (error messages in JSON answers) is Simplified
// Chinese; codes ("not_found", "body_too_large", ...) are stable English.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "jixiao/common/status.h"

namespace jixiao::http {

// Limits of the HTTP side, from the server's configuration (config.h keys
// http_*; defaults written down there and in docs/server-admin.md).
struct HttpConfig {
  std::size_t max_body_bytes = 1u << 20;        // a route's body limit unless it sets its own
  std::size_t max_header_bytes = 8u * 1024u;    // request line and headers
  std::chrono::seconds keepalive_idle{15};      // waiting for the next request on a kept-alive connection
  std::chrono::seconds default_deadline{30};    // a route's handler deadline unless it sets its own
  std::size_t handler_threads = 2;              // the handler pool (not the I/O threads, not the sync workers)
  std::size_t handler_queue = 64;               // requests waiting for a handler thread; beyond: 503
  // TCP peers whose X-Forwarded-For is believed (exact IP addresses).
  std::vector<std::string> trusted_proxies;
};

// Case-insensitive header names (stored lower-case).
using Headers = std::multimap<std::string, std::string>;

struct Request {
  std::string method;   // "GET", "POST", ... as sent
  std::string target;   // as sent: "/api/forms/12?x=1"
  std::string path;     // the target before '?', not decoded
  std::string query;    // after '?', not decoded
  Headers headers;      // lower-case names
  std::string body;
  // Path parameters of the matched route ("{id}" -> params["id"]), decoded.
  std::map<std::string, std::string, std::less<>> params;

  std::string peer_address;    // the TCP peer
  std::string client_address;  // the peer, or X-Forwarded-For's through a trusted proxy
  bool through_proxy = false;  // the peer is a configured trusted proxy
  bool peer_loopback = false;  // the TCP peer is 127.0.0.0/8 or ::1
  // Loopback and not through a proxy: someone on this machine, directly.
  bool local() const { return peer_loopback && !through_proxy; }
  // When the route's deadline passes; a long handler may look and give up.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();

  // The first value of a header (name in any case), or "".
  std::string header(std::string_view name) const;
};

struct Response {
  unsigned status = 200;
  Headers headers;  // lower-case names; content-length is set when written
  std::string body;
  bool close = false;  // close the connection after this answer

  void set(std::string_view name, std::string value);
  std::string header(std::string_view name) const;

  static Response json(unsigned status, const nlohmann::json& value);
  // {"error": message (Chinese), "code": code (English)}.
  static Response error(unsigned status, std::string_view code, std::string_view message);
  static Response text(unsigned status, std::string body, std::string content_type = "text/plain; charset=utf-8");
};

// The JSON body of `request` (Content-Type application/json, at most
// `max_bytes`): the value, or the answer to send instead (400/413/415 with
// a Chinese message).
struct JsonBody {
  std::optional<nlohmann::json> value;
  Response refusal;
  explicit operator bool() const { return value.has_value(); }
};
JsonBody parse_json_body(const Request& request, std::size_t max_bytes);

// The HTTP status for a Status (not_found -> 404, permission_denied -> 403,
// invalid_argument -> 400, ...) and the JSON error answer carrying its
// message and code name.
unsigned http_status_for(StatusCode code);
Response error_response(const Status& status);

using Handler = std::function<Response(Request&)>;

struct RouteLimits {
  std::optional<std::size_t> max_body_bytes;         // default: HttpConfig::max_body_bytes
  std::optional<std::chrono::milliseconds> deadline;  // default: HttpConfig::default_deadline
  // Run on the I/O thread instead of the handler pool: only for answers
  // that never block (/healthz). Deadlines do not apply.
  bool inline_handler = false;
};

// Routes by method and path pattern. A pattern is a path of segments:
// literal ("api"), a parameter ("{id}", one non-empty segment) or, as the
// last segment only, a rest parameter ("{path...}", zero or more segments,
// handed over raw — still percent-encoded — for StaticFiles to check).
// The first added route that matches wins.
class Router {
 public:
  Router& add(std::string method, std::string pattern, Handler handler, RouteLimits limits = {});
  Router& get(std::string pattern, Handler handler, RouteLimits limits = {}) {
    return add("GET", std::move(pattern), std::move(handler), limits);
  }
  Router& post(std::string pattern, Handler handler, RouteLimits limits = {}) {
    return add("POST", std::move(pattern), std::move(handler), limits);
  }

  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
    RouteLimits limits;
  };
  struct Match {
    const Route* route = nullptr;  // null: no route for this method
    std::map<std::string, std::string, std::less<>> params;
    unsigned status = 200;         // 404 (no such path), 405 (another method) or 200
    std::string allow;             // for 405: "GET, POST"
  };
  // `path` is the raw (percent-encoded) path; parameters come back decoded.
  // HEAD matches a GET route.
  Match match(std::string_view method, std::string_view path) const;
  bool empty() const { return routes_.empty(); }
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

// Percent-decoding of a path segment; nullopt for a bad escape or a NUL.
std::optional<std::string> percent_decode(std::string_view text);

// Who is asking: `peer` is the TCP peer's address. X-Forwarded-For is
// believed only when `peer` is one of `trusted_proxies`; then the client is
// the right-most address in it that is not itself a trusted proxy.
struct ClientAddress {
  std::string address;
  bool through_proxy = false;
};
ClientAddress resolve_client_address(std::string_view peer, std::string_view forwarded_for,
                                     const std::vector<std::string>& trusted_proxies);
// 127.0.0.0/8, ::1 and ::ffff:127.x.y.z.
bool is_loopback_ip(std::string_view address);
// A textual IPv4 or IPv6 address (no host names, no brackets).
bool is_ip_address(std::string_view text);

// The handler pool: `threads` threads and at most `queue` requests waiting.
// try_post() refuses (false) when the queue is full; the caller answers 503.
class HandlerPool {
 public:
  HandlerPool(std::size_t threads, std::size_t queue);
  ~HandlerPool();  // drops what is queued, lets the running handlers finish, joins
  HandlerPool(const HandlerPool&) = delete;
  HandlerPool& operator=(const HandlerPool&) = delete;

  bool try_post(std::function<void()> task);
  std::size_t queued() const;
  std::size_t busy() const;

 private:
  void run();
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;  // GUARDED_BY(mu_)
  std::size_t busy_ = 0;                     // GUARDED_BY(mu_)
  std::size_t max_queue_;
  bool stopping_ = false;                    // GUARDED_BY(mu_)
  std::vector<std::thread> threads_;
};

// Static files under `root` (served for GET and HEAD).
// - `/` and any directory answer its index.html;
// - Content-Type by extension (html, js, css, json, svg, png, woff2, ico,
//   map, txt; anything else application/octet-stream);
// - ETag from size and modification time, If-None-Match -> 304;
// - gzip on the fly for text types when the client accepts it, kept in a
//   bounded cache checked against size and modification time (ETag gets a
//   "-gz" suffix; Vary: Accept-Encoding);
// - refused (404): "..", encoded "%2e%2e", backslashes, NUL, dot files, and
//   any path whose real location (symlinks resolved) is outside the root.
class StaticFiles {
 public:
  explicit StaticFiles(std::filesystem::path root, std::size_t cache_bytes = 8u << 20);
  // `relative` is the raw (percent-encoded) path below the mount point.
  Response serve(const Request& request, std::string_view relative) const;
  // A handler for a route with a "{path...}" parameter.
  Handler handler() const;

  static std::string content_type_for(const std::filesystem::path& file);

 private:
  struct Cache;
  std::filesystem::path root_;  // canonical
  std::shared_ptr<Cache> cache_;
};

// gzip (RFC 1952) of `data`.
std::string gzip(std::string_view data);

}  // namespace jixiao::http
