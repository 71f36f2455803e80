// Where a jixiao server listens, as people write it: "wss://host:8443/sync",
// "ws://127.0.0.1:8080/sync". Plain ws:// is for loopback tests only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "jixiao/common/status.h"

namespace jixiao::net {

struct Endpoint {
  bool tls = true;
  std::string host;
  std::uint16_t port = 0;
  std::string path = "/sync";

  static Result<Endpoint> parse(std::string_view url);
  std::string to_string() const;
};

}  // namespace jixiao::net
