// The two login messages on hostile bytes; whatever decodes round-trips
// (re-encode, decode, equal) like the sync messages do.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "jixiao/sync/protocol.h"

namespace {

// LoginResponse has no usable operator== (jixiao::User defines none), so
// the comparison is spelled out field by field.
bool same(const jixiao::sync::LoginResponse& a, const jixiao::sync::LoginResponse& b) {
  return a.token == b.token && a.unit_name == b.unit_name && a.server_time_ms == b.server_time_ms &&
         a.capabilities == b.capabilities && a.user.id == b.user.id && a.user.display_name == b.user.display_name && a.user.unit == b.user.unit &&
         a.user.roles == b.user.roles && a.user.disabled == b.user.disabled;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace sync = jixiao::sync;
  const std::string_view bytes = jixiao::fuzz::as_text(data, size);

  if (const auto first = sync::decode_login_request(bytes)) {
    const std::string encoded = sync::encode_message(*first);
    const auto second = sync::decode_login_request(encoded);
    JIXIAO_FUZZ_REQUIRE(second.is_ok());
    JIXIAO_FUZZ_REQUIRE(*second == *first);
    JIXIAO_FUZZ_REQUIRE(sync::encode_message(*second) == encoded);
  }
  if (const auto first = sync::decode_login_response(bytes)) {
    const std::string encoded = sync::encode_message(*first);
    const auto second = sync::decode_login_response(encoded);
    JIXIAO_FUZZ_REQUIRE(second.is_ok());
    JIXIAO_FUZZ_REQUIRE(same(*second, *first));
    JIXIAO_FUZZ_REQUIRE(sync::encode_message(*second) == encoded);
  }
  return 0;
}
