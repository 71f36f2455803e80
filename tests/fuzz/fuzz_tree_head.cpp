// decode_signed_tree_head (workflow/tree_head.h) on hostile bytes. The
// encoding is canonical (fixed field order, explicit lengths, no padding),
// so whatever decodes must encode back to exactly the bytes it came from.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "fuzz_support.h"
#include "jixiao/workflow/tree_head.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace workflow = jixiao::workflow;
  const std::span<const std::uint8_t> bytes(data, size);
  const auto sth = workflow::decode_signed_tree_head(bytes);
  if (!sth) return 0;
  const std::vector<std::uint8_t> encoded = workflow::encode_signed_tree_head(*sth);
  JIXIAO_FUZZ_REQUIRE(encoded.size() == size && std::equal(encoded.begin(), encoded.end(), bytes.begin()));
  return 0;
}
