#include "jixiao/workflow/sm3.h"

#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>

namespace jixiao::workflow {

namespace {
// Fetched once and kept for the life of the process (EVP_MD objects are
// reference counted and safe to share between threads).
const EVP_MD* sm3_md() {
  static const EVP_MD* const md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SM3", nullptr);
    if (fetched == nullptr) {
      std::fputs("jixiao: 当前 libcrypto 不支持 SM3，审计日志无法计算哈希 "
                 "(EVP_MD_fetch(\"SM3\") failed; OpenSSL built with no-sm3?)\n",
                 stderr);
      std::abort();
    }
    return fetched;
  }();
  return md;
}

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "jixiao: SM3 %s failed\n", what);
  std::abort();
}
}  // namespace

Sm3::Sm3() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr) die("EVP_MD_CTX_new");
  if (EVP_DigestInit_ex(ctx_, sm3_md(), nullptr) != 1) die("EVP_DigestInit_ex");
}

Sm3::~Sm3() { EVP_MD_CTX_free(ctx_); }

Sm3& Sm3::update(std::span<const std::uint8_t> data) {
  if (!data.empty() && EVP_DigestUpdate(ctx_, data.data(), data.size()) != 1) die("EVP_DigestUpdate");
  return *this;
}

Sm3& Sm3::update(std::string_view data) {
  if (!data.empty() && EVP_DigestUpdate(ctx_, data.data(), data.size()) != 1) die("EVP_DigestUpdate");
  return *this;
}

Digest Sm3::finish() {
  Digest out{};
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx_, out.data(), &len) != 1 || len != out.size()) die("EVP_DigestFinal_ex");
  if (EVP_DigestInit_ex(ctx_, sm3_md(), nullptr) != 1) die("EVP_DigestInit_ex");
  return out;
}

Digest sm3(std::span<const std::uint8_t> data) {
  Sm3 h;
  return h.update(data).finish();
}

Digest sm3(std::string_view data) {
  Sm3 h;
  return h.update(data).finish();
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (std::uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0x0F];
  }
  return out;
}

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

Result<Digest> digest_from_hex(std::string_view hex) {
  Digest out{};
  if (hex.size() != out.size() * 2) {
    return Status::invalid_argument("摘要格式不正确，应为64位十六进制数",
                                    "digest hex length " + std::to_string(hex.size()));
  }
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = hex_value(hex[2 * i]);
    const int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return Status::invalid_argument("摘要格式不正确，应为64位十六进制数",
                                      "non-hex digit at " + std::to_string(2 * i));
    }
    out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return out;
}

}  // namespace jixiao::workflow
