// Internal: the big-endian, length-prefixed byte writer behind every
// canonical encoding in docs/audit.md. Not a public header.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

namespace jixiao::workflow::detail {

class ByteWriter {
 public:
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u32(std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out_.push_back(static_cast<std::uint8_t>(v >> shift));
  }
  void u64(std::uint64_t v) {
    for (int shift = 56; shift >= 0; shift -= 8) out_.push_back(static_cast<std::uint8_t>(v >> shift));
  }
  // Two's complement, big-endian.
  void i64(std::int64_t v) { u64(static_cast<std::uint64_t>(v)); }
  // u32 length, then the bytes. Lengths above 2^32-1 cannot occur: audit
  // values are bounded long before that by the server's request limits.
  void str(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    out_.insert(out_.end(), s.begin(), s.end());
  }
  void bytes(std::span<const std::uint8_t> b) {
    u32(static_cast<std::uint32_t>(b.size()));
    out_.insert(out_.end(), b.begin(), b.end());
  }
  void raw(std::string_view s) { out_.insert(out_.end(), s.begin(), s.end()); }

  const std::vector<std::uint8_t>& data() const& { return out_; }
  std::vector<std::uint8_t> take() && { return std::move(out_); }

 private:
  std::vector<std::uint8_t> out_;
};

}  // namespace jixiao::workflow::detail
