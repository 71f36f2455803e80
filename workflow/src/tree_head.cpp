#include "jixiao/workflow/tree_head.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>

#include "canonical.h"
#include "jixiao/workflow/merkle.h"

namespace jixiao::workflow {

namespace {
// GM/T 0009-2012's default user identity; set explicitly so signatures verify
// with any SM2 implementation that follows the standard.
constexpr char kSm2Id[] = "1234567812345678";
constexpr std::string_view kTreeHeadMagic = "JXTH";
constexpr std::uint8_t kTreeHeadEncodingVersion = 1;
constexpr std::string_view kSthMagic = "JXST";
constexpr std::uint8_t kSthEncodingVersion = 1;
// Far above a DER SM2 signature (about 72 bytes) and any key id.
constexpr std::size_t kMaxSthField = 1024;

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

std::shared_ptr<EVP_PKEY> own(EVP_PKEY* key) { return {key, EVP_PKEY_free}; }

std::vector<std::uint8_t> public_der(EVP_PKEY* key) {
  const int len = i2d_PUBKEY(key, nullptr);
  if (len <= 0) return {};
  std::vector<std::uint8_t> out(static_cast<std::size_t>(len));
  unsigned char* p = out.data();
  i2d_PUBKEY(key, &p);
  return out;
}

std::string key_id_of(EVP_PKEY* key) {
  const auto der = public_der(key);
  return to_hex(sm3(der));
}

bool is_sm2(EVP_PKEY* key) { return key != nullptr && EVP_PKEY_is_a(key, "SM2") == 1; }

Status crypto_failure(std::string what) {
  return Status::internal("签名组件出错，无法处理签名树头", "libcrypto: " + what + " failed");
}
}  // namespace

std::vector<std::uint8_t> tree_head_signing_bytes(const TreeHead& head,
                                                  std::string_view signature_algorithm,
                                                  std::string_view key_id) {
  detail::ByteWriter w;
  w.raw(kTreeHeadMagic);
  w.u8(kTreeHeadEncodingVersion);
  w.str(head.hash_algorithm);
  w.u64(head.tree_size);
  w.bytes(head.root);
  w.i64(head.timestamp.time_since_epoch().count());
  w.str(signature_algorithm);
  w.str(key_id);
  return std::move(w).take();
}

std::vector<std::uint8_t> encode_signed_tree_head(const SignedTreeHead& sth) {
  detail::ByteWriter w;
  w.raw(kSthMagic);
  w.u8(kSthEncodingVersion);
  w.str(sth.head.hash_algorithm);
  w.u64(sth.head.tree_size);
  w.bytes(sth.head.root);
  w.i64(sth.head.timestamp.time_since_epoch().count());
  w.str(sth.signature_algorithm);
  w.str(sth.key_id);
  w.bytes(sth.signature);
  return std::move(w).take();
}

namespace {
class ByteReader {
 public:
  explicit ByteReader(std::span<const std::uint8_t> in) : in_(in) {}
  bool ok() const { return ok_; }
  std::size_t remaining() const { return in_.size() - pos_; }
  std::uint64_t u64() {
    if (!need(8)) return 0;
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | in_[pos_++];
    return v;
  }
  std::uint8_t u8() { return need(1) ? in_[pos_++] : 0; }
  std::vector<std::uint8_t> bytes(std::size_t max) {
    if (!need(4)) return {};
    std::uint32_t len = 0;
    for (int i = 0; i < 4; ++i) len = (len << 8) | in_[pos_++];
    if (len > max || !need(len)) {
      ok_ = false;
      return {};
    }
    std::vector<std::uint8_t> out(in_.begin() + static_cast<std::ptrdiff_t>(pos_),
                                  in_.begin() + static_cast<std::ptrdiff_t>(pos_ + len));
    pos_ += len;
    return out;
  }
  std::string str(std::size_t max) {
    const auto b = bytes(max);
    return std::string(b.begin(), b.end());
  }
  std::string raw(std::size_t n) {
    if (!need(n)) return {};
    std::string out(in_.begin() + static_cast<std::ptrdiff_t>(pos_),
                    in_.begin() + static_cast<std::ptrdiff_t>(pos_ + n));
    pos_ += n;
    return out;
  }

 private:
  bool need(std::size_t n) {
    if (!ok_ || remaining() < n) ok_ = false;
    return ok_;
  }
  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};
}  // namespace

Result<SignedTreeHead> decode_signed_tree_head(std::span<const std::uint8_t> bytes) {
  ByteReader r(bytes);
  if (r.raw(kSthMagic.size()) != kSthMagic || !r.ok()) {
    return Status::corruption("签名树头数据已损坏", "bad signed tree head magic");
  }
  const std::uint8_t version = r.u8();
  if (r.ok() && version != kSthEncodingVersion) {
    return Status::unsupported_version("签名树头的格式版本不受支持",
                                       "signed tree head encoding version " + std::to_string(version));
  }
  SignedTreeHead sth;
  sth.head.hash_algorithm = r.str(kMaxSthField);
  sth.head.tree_size = r.u64();
  const auto root = r.bytes(sth.head.root.size());
  if (r.ok() && root.size() != sth.head.root.size()) {
    return Status::corruption("签名树头数据已损坏", "root of " + std::to_string(root.size()) + " bytes");
  }
  std::copy(root.begin(), root.end(), sth.head.root.begin());
  sth.head.timestamp = TimePoint(std::chrono::milliseconds(static_cast<std::int64_t>(r.u64())));
  sth.signature_algorithm = r.str(kMaxSthField);
  sth.key_id = r.str(kMaxSthField);
  sth.signature = r.bytes(kMaxSthField);
  if (!r.ok() || r.remaining() != 0) {
    return Status::corruption("签名树头数据已损坏", "truncated or trailing bytes in signed tree head");
  }
  return sth;
}

TreeHeadSigner::TreeHeadSigner(std::shared_ptr<evp_pkey_st> key)
    : key_(std::move(key)), key_id_(key_id_of(key_.get())) {}

Result<TreeHeadSigner> TreeHeadSigner::generate() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "SM2");
  if (key == nullptr) return crypto_failure("SM2 key generation");
  return TreeHeadSigner(own(key));
}

Result<TreeHeadSigner> TreeHeadSigner::from_private_pem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return crypto_failure("BIO_new_mem_buf");
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (key == nullptr) {
    return Status::invalid_argument("签名私钥文件无法读取", "PEM_read_bio_PrivateKey failed");
  }
  auto owned = own(key);
  if (!is_sm2(key)) return Status::invalid_argument("签名私钥不是SM2密钥", "key is not SM2");
  return TreeHeadSigner(std::move(owned));
}

Result<std::string> TreeHeadSigner::private_pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return crypto_failure("PEM_write_bio_PrivateKey");
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

std::vector<std::uint8_t> TreeHeadSigner::public_key_der() const { return public_der(key_.get()); }

Result<SignedTreeHead> TreeHeadSigner::sign(const TreeHead& head) const {
  SignedTreeHead sth;
  sth.head = head;
  sth.signature_algorithm = std::string(kSm2Sm3Name);
  sth.key_id = key_id_;
  const auto tbs = tree_head_signing_bytes(head, sth.signature_algorithm, sth.key_id);

  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (!ctx || EVP_DigestSignInit_ex(ctx.get(), &pctx, "SM3", nullptr, nullptr, key_.get(), nullptr) != 1) {
    return crypto_failure("EVP_DigestSignInit_ex(SM3)");
  }
  if (EVP_PKEY_CTX_set1_id(pctx, kSm2Id, static_cast<int>(sizeof kSm2Id - 1)) <= 0) {
    return crypto_failure("EVP_PKEY_CTX_set1_id");
  }
  std::size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, tbs.data(), tbs.size()) != 1) {
    return crypto_failure("EVP_DigestSign (size)");
  }
  sth.signature.resize(len);
  if (EVP_DigestSign(ctx.get(), sth.signature.data(), &len, tbs.data(), tbs.size()) != 1) {
    return crypto_failure("EVP_DigestSign");
  }
  sth.signature.resize(len);
  return sth;
}

TreeHeadVerifier::TreeHeadVerifier(std::shared_ptr<evp_pkey_st> key)
    : key_(std::move(key)), key_id_(key_id_of(key_.get())) {}

Result<TreeHeadVerifier> TreeHeadVerifier::from_public_der(std::span<const std::uint8_t> der) {
  const unsigned char* p = der.data();
  EVP_PKEY* key = d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));
  if (key == nullptr) return Status::invalid_argument("签名公钥无法读取", "d2i_PUBKEY failed");
  auto owned = own(key);
  if (!is_sm2(key)) return Status::invalid_argument("签名公钥不是SM2密钥", "key is not SM2");
  return TreeHeadVerifier(std::move(owned));
}

Result<TreeHeadVerifier> TreeHeadVerifier::from_public_pem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return crypto_failure("BIO_new_mem_buf");
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (key == nullptr) return Status::invalid_argument("签名公钥无法读取", "PEM_read_bio_PUBKEY failed");
  auto owned = own(key);
  if (!is_sm2(key)) return Status::invalid_argument("签名公钥不是SM2密钥", "key is not SM2");
  return TreeHeadVerifier(std::move(owned));
}

Status TreeHeadVerifier::verify(const SignedTreeHead& sth) const {
  if (sth.signature_algorithm != kSm2Sm3Name || sth.head.hash_algorithm != kSm3Name) {
    return Status::unsupported_version(
        "签名树头使用了不支持的算法",
        "signature " + sth.signature_algorithm + ", hash " + sth.head.hash_algorithm);
  }
  if (sth.key_id != key_id_) {
    return Status::invalid_argument("签名树头不是由该公钥签发的", "key id " + sth.key_id + " != " + key_id_);
  }
  const auto tbs = tree_head_signing_bytes(sth.head, sth.signature_algorithm, sth.key_id);
  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx ||
      EVP_DigestVerifyInit_ex(ctx.get(), &pctx, "SM3", nullptr, nullptr, key_.get(), nullptr) != 1) {
    return crypto_failure("EVP_DigestVerifyInit_ex(SM3)");
  }
  if (EVP_PKEY_CTX_set1_id(pctx, kSm2Id, static_cast<int>(sizeof kSm2Id - 1)) <= 0) {
    return crypto_failure("EVP_PKEY_CTX_set1_id");
  }
  if (EVP_DigestVerify(ctx.get(), sth.signature.data(), sth.signature.size(), tbs.data(), tbs.size()) != 1) {
    return Status::corruption("签名树头的签名无效",
                              "SM2 signature over tree head of size " + std::to_string(sth.head.tree_size) +
                                  " does not verify");
  }
  return Status::ok();
}

Status verify_tree_head_extends(const SignedTreeHead& older, const SignedTreeHead& newer,
                                std::span<const Digest> consistency_proof,
                                const TreeHeadVerifier& verifier) {
  if (Status s = verifier.verify(older); !s) return s;
  if (Status s = verifier.verify(newer); !s) return s;
  const std::uint64_t m = older.head.tree_size;
  const std::uint64_t n = newer.head.tree_size;
  if (m > n) {
    return Status::corruption("审计日志比您保存的签名树头还短，末尾记录可能已被删除",
                              "newer tree size " + std::to_string(n) + " < held size " + std::to_string(m));
  }
  if (!verify_merkle_consistency(m, n, older.head.root, newer.head.root, consistency_proof)) {
    return Status::corruption("审计日志的前" + std::to_string(m) + "条记录与您保存的签名树头不一致，日志已被改写",
                              "consistency proof " + std::to_string(m) + " -> " + std::to_string(n) +
                                  " fails");
  }
  return Status::ok();
}

}  // namespace jixiao::workflow
