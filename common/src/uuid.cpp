#include "jixiao/common/uuid.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <cstdint>
#include <stdexcept>

namespace jixiao {
namespace {

using Bytes16 = std::array<unsigned char, 16>;

std::string to_text(const Bytes16& b) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 0x0F];
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Bytes16 from_text(std::string_view s) {
  Bytes16 b{};
  std::size_t j = 0;
  for (std::size_t i = 0; i < s.size() && j < 16; ++i) {
    if (s[i] == '-') continue;
    const int hi = hex_value(s[i]);
    const int lo = i + 1 < s.size() ? hex_value(s[i + 1]) : -1;
    b[j++] = static_cast<unsigned char>((hi << 4) | lo);
    ++i;
  }
  return b;
}

}  // namespace

std::string new_uuid_v4() {
  Bytes16 b{};
  if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);
  return to_text(b);
}

std::string uuid_v5(std::string_view namespace_uuid, std::string_view name) {
  const Bytes16 ns = from_text(namespace_uuid);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha1(), nullptr);
  EVP_DigestUpdate(ctx, ns.data(), ns.size());
  EVP_DigestUpdate(ctx, name.data(), name.size());
  EVP_DigestFinal_ex(ctx, digest, &len);
  EVP_MD_CTX_free(ctx);
  Bytes16 b{};
  for (std::size_t i = 0; i < 16; ++i) b[i] = digest[i];
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x50);
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);
  return to_text(b);
}

bool is_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < 36; ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (hex_value(s[i]) < 0) {
      return false;
    }
  }
  return true;
}

}  // namespace jixiao
