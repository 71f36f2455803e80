// decode_sync_request on hostile bytes. Whatever it accepts must survive the
// way back: re-encoding it and decoding that gives an equal message, and
// encoding is then stable (the same bytes again).
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "jixiao/sync/protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace sync = jixiao::sync;
  const auto first = sync::decode_sync_request(jixiao::fuzz::as_text(data, size));
  if (!first) return 0;
  const std::string encoded = sync::encode_message(*first);
  const auto second = sync::decode_sync_request(encoded);
  JIXIAO_FUZZ_REQUIRE(second.is_ok());
  JIXIAO_FUZZ_REQUIRE(*second == *first);
  JIXIAO_FUZZ_REQUIRE(sync::encode_message(*second) == encoded);
  return 0;
}
