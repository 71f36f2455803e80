// Signed tree heads: a signature over (tree size, Merkle root, time) of the
// audit log. A head held outside the log catches what the hash chain alone
// cannot (a deleted tail, a log rewritten and re-chained from some point on).
// This is the library (made and verified by its tests); the server does not
// sign or send heads yet and no client keeps one (planned: the hardening
// issue; docs/audit.md).
//
// Signature: SM2 with SM3 (GB/T 32918 / GM/T 0003, through OpenSSL 3's EVP),
// distinguishing identifier "1234567812345678" (GM/T 0009's default) set
// explicitly. See docs/audit.md for why SM2 and for the signed bytes.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "jixiao/common/status.h"
#include "jixiao/workflow/clock.h"
#include "jixiao/workflow/sm3.h"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY

namespace jixiao::workflow {

inline constexpr std::string_view kSm2Sm3Name = "SM2-SM3";

struct TreeHead {
  std::uint64_t tree_size = 0;
  Digest root{};  // merkle_root of the first tree_size records' leaf hashes
  TimePoint timestamp{};
  std::string hash_algorithm{kSm3Name};
  friend bool operator==(const TreeHead&, const TreeHead&) = default;
};

struct SignedTreeHead {
  TreeHead head;
  std::string signature_algorithm{kSm2Sm3Name};
  std::string key_id;  // hex SM3 of the signer's public key (DER SubjectPublicKeyInfo)
  std::vector<std::uint8_t> signature;  // DER SM2 signature
  friend bool operator==(const SignedTreeHead&, const SignedTreeHead&) = default;
};

// The exact bytes that are signed (docs/audit.md, "Tree head").
std::vector<std::uint8_t> tree_head_signing_bytes(const TreeHead& head,
                                                  std::string_view signature_algorithm,
                                                  std::string_view key_id);

// A self-contained byte form of a signed tree head, for clients to store and
// send back. decode checks every length against the bytes that remain.
std::vector<std::uint8_t> encode_signed_tree_head(const SignedTreeHead& sth);
Result<SignedTreeHead> decode_signed_tree_head(std::span<const std::uint8_t> bytes);

// The server's sealing key. Copies share the key; sign() is thread-safe.
class TreeHeadSigner {
 public:
  static Result<TreeHeadSigner> generate();
  // PKCS#8 PEM, unencrypted. Protecting the file is the deployment's job.
  static Result<TreeHeadSigner> from_private_pem(std::string_view pem);
  Result<std::string> private_pem() const;

  std::vector<std::uint8_t> public_key_der() const;
  const std::string& key_id() const { return key_id_; }

  Result<SignedTreeHead> sign(const TreeHead& head) const;

 private:
  explicit TreeHeadSigner(std::shared_ptr<evp_pkey_st> key);
  std::shared_ptr<evp_pkey_st> key_;
  std::string key_id_;
};

// What a client or the audit admin holds: the public key. verify() is
// thread-safe.
class TreeHeadVerifier {
 public:
  static Result<TreeHeadVerifier> from_public_der(std::span<const std::uint8_t> der);
  static Result<TreeHeadVerifier> from_public_pem(std::string_view pem);
  const std::string& key_id() const { return key_id_; }

  // kCorruption when the signature does not verify, kUnsupportedVersion for
  // an algorithm other than SM2-SM3 / SM3, kInvalidArgument for another key.
  Status verify(const SignedTreeHead& sth) const;

 private:
  explicit TreeHeadVerifier(std::shared_ptr<evp_pkey_st> key);
  std::shared_ptr<evp_pkey_st> key_;
  std::string key_id_;
};

// For whoever holds `older`: both heads are signed by `verifier`'s key and
// `newer` is an append-only extension of `older` (RFC 6962 consistency).
// kCorruption, naming both sizes, when not.
Status verify_tree_head_extends(const SignedTreeHead& older, const SignedTreeHead& newer,
                                std::span<const Digest> consistency_proof,
                                const TreeHeadVerifier& verifier);

}  // namespace jixiao::workflow
