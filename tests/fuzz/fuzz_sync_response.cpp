// decode_sync_response on hostile bytes. Whatever it accepts must survive the
// way back: re-encoding it and decoding that gives an equal message, and
// encoding is then stable (the same bytes again). Both as this build reads
// and as a peer without capabilities does.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "jixiao/sync/protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace sync = jixiao::sync;
  const std::string_view bytes = jixiao::fuzz::as_text(data, size);
  const sync::WireOptions plain{3, {}};
  if (const auto old = sync::decode_sync_response(bytes, plain)) {
    const std::string encoded = sync::encode_message(*old, plain);
    const auto again = sync::decode_sync_response(encoded, plain);
    JIXIAO_FUZZ_REQUIRE(again.is_ok());
    JIXIAO_FUZZ_REQUIRE(*again == *old);
  }
  const auto first = sync::decode_sync_response(bytes);
  if (!first) return 0;
  const std::string encoded = sync::encode_message(*first);
  const auto second = sync::decode_sync_response(encoded);
  JIXIAO_FUZZ_REQUIRE(second.is_ok());
  JIXIAO_FUZZ_REQUIRE(*second == *first);
  JIXIAO_FUZZ_REQUIRE(sync::encode_message(*second) == encoded);
  return 0;
}
