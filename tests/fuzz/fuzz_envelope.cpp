// The sync envelope (protocol.h): any bytes go through peek_message_type and
// every decode_*. Nothing may crash, and a message that decodes is of the
// type its envelope names: at most one decoder accepts a given input, the
// one peek_message_type points at.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.h"
#include "jixiao/sync/protocol.h"

using jixiao::sync::MessageType;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace sync = jixiao::sync;
  const std::string_view bytes = jixiao::fuzz::as_text(data, size);
  const auto peeked = sync::peek_message_type(bytes);
  const auto peeked_as = [&](MessageType type) { return peeked.is_ok() && *peeked == type; };

  if (auto m = sync::decode_sync_request(bytes)) {
    JIXIAO_FUZZ_REQUIRE(peeked_as(MessageType::kSyncRequest));
    (void)sync::encode_message(*m);
  }
  if (auto m = sync::decode_sync_response(bytes)) {
    JIXIAO_FUZZ_REQUIRE(peeked_as(MessageType::kSyncResponse));
    (void)sync::encode_message(*m);
  }
  if (auto m = sync::decode_error_response(bytes)) {
    JIXIAO_FUZZ_REQUIRE(peeked_as(MessageType::kErrorResponse));
    (void)sync::encode_message(*m);
  }
  if (auto m = sync::decode_login_request(bytes)) {
    JIXIAO_FUZZ_REQUIRE(peeked_as(MessageType::kLoginRequest));
    (void)sync::encode_message(*m);
  }
  if (auto m = sync::decode_login_response(bytes)) {
    JIXIAO_FUZZ_REQUIRE(peeked_as(MessageType::kLoginResponse));
    (void)sync::encode_message(*m);
  }
  return 0;
}
