// The Merkle tree over the audit records, exactly as RFC 6962 §2.1 (and RFC
// 9162 §2.1) defines it, with SM3 as the hash:
//   MTH({})      = SM3()
//   leaf hash    = SM3(0x00 || leaf bytes)
//   MTH(D[n])    = SM3(0x01 || MTH(D[0:k]) || MTH(D[k:n])), k the largest
//                  power of two smaller than n.
// Proofs are the RFC's audit paths and consistency proofs, so a client or the
// audit admin holding a tree head can check that a record is in it and that
// a later tree head extends it, without trusting the server.
//
// Every function takes the leaf hashes (not the leaves). Pure and thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "jixiao/workflow/sm3.h"

namespace jixiao::workflow {

Digest merkle_leaf_hash(std::span<const std::uint8_t> leaf);
Digest merkle_node_hash(const Digest& left, const Digest& right);

// MTH over all of `leaf_hashes`.
Digest merkle_root(std::span<const Digest> leaf_hashes);

// PATH(index, D[n]) with n = leaf_hashes.size(). Requires index < n.
std::vector<Digest> merkle_inclusion_proof(std::span<const Digest> leaf_hashes, std::uint64_t index);

// PROOF(old_size, D[n]) with n = leaf_hashes.size(). Requires old_size <= n.
// Empty when old_size is 0 or n.
std::vector<Digest> merkle_consistency_proof(std::span<const Digest> leaf_hashes,
                                             std::uint64_t old_size);

// RFC 9162 §2.1.3.2.
bool verify_merkle_inclusion(const Digest& leaf_hash, std::uint64_t index, std::uint64_t tree_size,
                             std::span<const Digest> proof, const Digest& root);

// RFC 9162 §2.1.4.2. A tree of size 0 is consistent with any later tree; a
// tree is consistent with itself when the roots match and the proof is empty.
bool verify_merkle_consistency(std::uint64_t old_size, std::uint64_t new_size, const Digest& old_root,
                               const Digest& new_root, std::span<const Digest> proof);

}  // namespace jixiao::workflow
