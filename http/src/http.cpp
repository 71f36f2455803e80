// Requests, answers, routing, JSON, client addresses and the handler pool.
#include "jixiao/http/http.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace jixiao::http {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  if (path.empty()) return out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t slash = path.find('/', start);
    out.push_back(path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

bool is_param(std::string_view seg) { return seg.size() > 2 && seg.front() == '{' && seg.back() == '}'; }
bool is_rest(std::string_view seg) { return is_param(seg) && seg.size() > 5 && seg.substr(seg.size() - 4) == "...}"; }

// Matches `path` against `route`'s segments; fills params on success.
bool matches(const Router::Route& route, const std::vector<std::string_view>& path,
             std::map<std::string, std::string, std::less<>>& params) {
  params.clear();
  const auto& pat = route.segments;
  for (std::size_t i = 0; i < pat.size(); ++i) {
    const std::string& seg = pat[i];
    if (is_rest(seg)) {  // the rest of the path, raw (StaticFiles decodes itself)
      std::string rest;
      for (std::size_t j = i; j < path.size(); ++j) {
        if (j > i) rest += '/';
        rest += path[j];
      }
      params[seg.substr(1, seg.size() - 5)] = std::move(rest);
      return true;
    }
    if (i >= path.size()) return false;
    if (is_param(seg)) {
      if (path[i].empty()) return false;
      auto decoded = percent_decode(path[i]);
      if (!decoded || decoded->find('/') != std::string::npos) return false;
      params[seg.substr(1, seg.size() - 2)] = std::move(*decoded);
    } else if (path[i] != seg) {
      return false;
    }
  }
  return pat.size() == path.size();
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string Request::header(std::string_view name) const {
  auto it = headers.find(lower(name));
  return it == headers.end() ? std::string() : it->second;
}

void Response::set(std::string_view name, std::string value) {
  const std::string key = lower(name);
  headers.erase(key);
  headers.emplace(key, std::move(value));
}

std::string Response::header(std::string_view name) const {
  auto it = headers.find(lower(name));
  return it == headers.end() ? std::string() : it->second;
}

Response Response::json(unsigned status, const nlohmann::json& value) {
  Response r;
  r.status = status;
  r.set("content-type", "application/json; charset=utf-8");
  r.set("cache-control", "no-store");
  r.body = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

Response Response::error(unsigned status, std::string_view code, std::string_view message) {
  return json(status, nlohmann::json{{"error", std::string(message)}, {"code", std::string(code)}});
}

Response Response::text(unsigned status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.set("content-type", std::move(content_type));
  r.body = std::move(body);
  return r;
}

JsonBody parse_json_body(const Request& request, std::size_t max_bytes) {
  JsonBody out;
  if (request.body.size() > max_bytes) {
    out.refusal = Response::error(413, "body_too_large",
                                  "请求内容过大（上限 " + std::to_string(max_bytes) + " 字节）");
    return out;
  }
  const std::string type = lower(request.header("content-type"));
  if (type.rfind("application/json", 0) != 0) {
    out.refusal = Response::error(415, "unsupported_media_type", "请求内容须为 JSON（Content-Type: application/json）");
    return out;
  }
  nlohmann::json value = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    out.refusal = Response::error(400, "bad_json", "请求内容不是有效的 JSON");
    return out;
  }
  out.value = std::move(value);
  return out;
}

unsigned http_status_for(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kPermissionDenied: return 403;
    case StatusCode::kConflict: return 409;
    case StatusCode::kFailedPrecondition: return 409;
    case StatusCode::kResourceExhausted: return 429;
    case StatusCode::kUnavailable: return 503;
    default: return 500;
  }
}

Response error_response(const Status& status) {
  return Response::error(http_status_for(status.code()), status_code_name(status.code()), status.message());
}

Router& Router::add(std::string method, std::string pattern, Handler handler, RouteLimits limits) {
  Route route{std::move(method), std::move(pattern), {}, std::move(handler), limits};
  for (std::string_view seg : split_path(route.pattern)) route.segments.emplace_back(seg);
  routes_.push_back(std::move(route));
  return *this;
}

Router::Match Router::match(std::string_view method, std::string_view path) const {
  Match out;
  out.status = 404;
  const auto segments = split_path(path);
  std::vector<std::string> allowed;
  std::map<std::string, std::string, std::less<>> params;
  for (const Route& route : routes_) {
    if (!matches(route, segments, params)) continue;
    if (route.method == method || (method == "HEAD" && route.method == "GET")) {
      out.route = &route;
      out.params = std::move(params);
      out.status = 200;
      out.allow.clear();
      return out;
    }
    if (std::find(allowed.begin(), allowed.end(), route.method) == allowed.end()) allowed.push_back(route.method);
    if (route.method == "GET" && std::find(allowed.begin(), allowed.end(), "HEAD") == allowed.end()) {
      allowed.emplace_back("HEAD");
    }
  }
  if (!allowed.empty()) {
    out.status = 405;
    for (const std::string& m : allowed) out.allow += (out.allow.empty() ? "" : ", ") + m;
  }
  return out;
}

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = hex_value(text[i + 1]);
      const int lo = hex_value(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (c == '\0') return std::nullopt;
    out += c;
  }
  return out;
}

bool is_ip_address(std::string_view text) {
  if (text.empty() || text.size() > 45) return false;
  const std::string s(text);
  unsigned char buf[16];
  return ::inet_pton(AF_INET, s.c_str(), buf) == 1 || ::inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

bool is_loopback_ip(std::string_view address) {
  if (address == "::1") return true;
  if (address.rfind("::ffff:", 0) == 0) address.remove_prefix(7);
  const std::string s(address);
  in_addr v4{};
  if (::inet_pton(AF_INET, s.c_str(), &v4) != 1) return false;
  return (ntohl(v4.s_addr) >> 24) == 127;
}

ClientAddress resolve_client_address(std::string_view peer, std::string_view forwarded_for,
                                     const std::vector<std::string>& trusted_proxies) {
  const auto trusted = [&](std::string_view a) {
    return std::find(trusted_proxies.begin(), trusted_proxies.end(), a) != trusted_proxies.end();
  };
  ClientAddress out{std::string(peer), false};
  if (!trusted(peer)) return out;
  out.through_proxy = true;
  // Right to left: each trusted proxy appended the address it saw; the
  // first one that is not a trusted proxy is the client. Anything left of
  // it was written by the client and proves nothing.
  std::size_t end = forwarded_for.size();
  while (end > 0) {
    const std::size_t comma = forwarded_for.rfind(',', end - 1);
    const std::size_t start = comma == std::string_view::npos ? 0 : comma + 1;
    const std::string_view item = trim(forwarded_for.substr(start, end - start));
    if (!is_ip_address(item)) break;  // garbage: keep the last good answer
    out.address = std::string(item);
    if (!trusted(item)) break;
    if (comma == std::string_view::npos) break;
    end = comma;
  }
  return out;
}

HandlerPool::HandlerPool(std::size_t threads, std::size_t queue) : max_queue_(std::max<std::size_t>(1, queue)) {
  for (std::size_t i = 0; i < std::max<std::size_t>(1, threads); ++i) threads_.emplace_back([this] { run(); });
}

HandlerPool::~HandlerPool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    tasks_.clear();  // their connections are being closed anyway
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
}

bool HandlerPool::try_post(std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || tasks_.size() >= max_queue_) return false;
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
  return true;
}

std::size_t HandlerPool::queued() const {
  std::lock_guard lock(mu_);
  return tasks_.size();
}

std::size_t HandlerPool::busy() const {
  std::lock_guard lock(mu_);
  return busy_;
}

void HandlerPool::run() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;  // stopping and drained
      task = std::move(tasks_.front());
      tasks_.pop_front();
      ++busy_;
    }
    task();  // tasks catch their own exceptions (the session wraps handlers)
    std::lock_guard lock(mu_);
    --busy_;
  }
}

}  // namespace jixiao::http
