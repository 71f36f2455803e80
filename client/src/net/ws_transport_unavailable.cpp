// Built instead of ws_transport.cpp while net::WsConnection has no
// implementation in this tree (see client/CMakeLists.txt): every connection
// attempt fails as "unavailable", so every local command still works.
#include "jixiao/client/transport.h"

namespace jixiao::client {

Result<std::unique_ptr<Transport>> connect_websocket(const ConnectParams& params) {
  return Status(StatusCode::kUnavailable, "本程序未包含网络模块，无法连接服务器 " + params.server_url,
                "built without net::WsConnection");
}

}  // namespace jixiao::client
