// SHA-256 through OpenSSL, for content hashes and replica hashes (the audit
// chain uses SM3: workflow/sm3.h).
#pragma once

#include <string>
#include <string_view>

namespace jixiao {

std::string sha256_raw(std::string_view bytes);  // 32 bytes
std::string sha256_hex(std::string_view bytes);  // 64 lower-case hex digits

}  // namespace jixiao
