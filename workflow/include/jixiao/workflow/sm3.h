// SM3 (GB/T 32905-2016) through OpenSSL 3's EVP interface: the hash of the
// audit chain and of its Merkle tree.
//
// SM3 is fetched once, on first use. A libcrypto without SM3 is a broken
// deployment, not a runtime condition: the configure step refuses it
// (workflow/CMakeLists.txt), the known-answer test in tests/workflow fails,
// and if such a library is swapped in later the first hash aborts the process
// with a message rather than writing an unverifiable log.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "jixiao/common/status.h"

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX

namespace jixiao::workflow {

using Digest = std::array<std::uint8_t, 32>;

// The algorithm name stored in every audit record and tree head.
inline constexpr std::string_view kSm3Name = "SM3";

Digest sm3(std::span<const std::uint8_t> data);
Digest sm3(std::string_view data);

// Incremental SM3. Not copyable; one per thread.
class Sm3 {
 public:
  Sm3();
  ~Sm3();
  Sm3(const Sm3&) = delete;
  Sm3& operator=(const Sm3&) = delete;

  Sm3& update(std::span<const std::uint8_t> data);
  Sm3& update(std::string_view data);
  // Returns the digest; the object is then reset for a new message.
  Digest finish();

 private:
  evp_md_ctx_st* ctx_;
};

// Lower-case hex.
std::string to_hex(std::span<const std::uint8_t> bytes);
// 64 hex digits (either case) to a digest.
Result<Digest> digest_from_hex(std::string_view hex);

}  // namespace jixiao::workflow
