#include "jixiao/net/endpoint.h"

#include <charconv>

namespace jixiao::net {

Result<Endpoint> Endpoint::parse(std::string_view url) {
  auto bad = [&](const char* why) {
    return Status::invalid_argument("服务器地址“" + std::string(url) + "”不正确：" + why +
                                        "（例如 wss://jixiao.example.cn:8443/sync）",
                                    "bad url");
  };
  Endpoint e;
  std::string_view rest = url;
  if (rest.substr(0, 6) == "wss://") {
    e.tls = true;
    rest.remove_prefix(6);
  } else if (rest.substr(0, 5) == "ws://") {
    e.tls = false;
    rest.remove_prefix(5);
  } else {
    return bad("应以 wss:// 或 ws:// 开头");
  }
  const std::size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  e.path = slash == std::string_view::npos ? "/sync" : std::string(rest.substr(slash));
  std::string_view host = authority;
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {  // [::1]:8443
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("IPv6 地址缺少 ]");
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') port_text = authority.substr(close + 2);
  } else if (const std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port_text = authority.substr(colon + 1);
  }
  if (host.empty()) return bad("缺少主机名");
  e.host = std::string(host);
  if (port_text.empty()) {
    e.port = e.tls ? 443 : 80;
  } else {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || value == 0 || value > 65535) {
      return bad("端口号不正确");
    }
    e.port = static_cast<std::uint16_t>(value);
  }
  return e;
}

std::string Endpoint::to_string() const {
  const bool v6 = host.find(':') != std::string::npos;
  return std::string(tls ? "wss://" : "ws://") + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + path;
}

}  // namespace jixiao::net
