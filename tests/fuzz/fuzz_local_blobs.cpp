// The blobs this program keeps on its own disk (model.h: replica, outbox
// operation, log entry; form_codec.h: form). A damaged disk or file is still
// only a kCorruption Status: any bytes go through every decoder, and what a
// decoder accepts must be readable again after it is written back.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "jixiao/common/form_codec.h"
#include "jixiao/sync/model.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace sync = jixiao::sync;
  const std::string_view bytes = jixiao::fuzz::as_text(data, size);

  if (const auto replica = sync::decode_replica(bytes)) {
    JIXIAO_FUZZ_REQUIRE(sync::decode_replica(sync::encode_replica(*replica)).is_ok());
  }
  if (const auto op = sync::decode_operation(bytes)) {
    JIXIAO_FUZZ_REQUIRE(sync::decode_operation(sync::encode_operation(*op)).is_ok());
  }
  if (const auto entry = sync::decode_entry(bytes)) {
    JIXIAO_FUZZ_REQUIRE(sync::decode_entry(sync::encode_entry(*entry)).is_ok());
  }
  if (const auto form = jixiao::decode_form(bytes)) {
    JIXIAO_FUZZ_REQUIRE(jixiao::decode_form(jixiao::encode_form(*form)).is_ok());
  }
  return 0;
}
