#include "jixiao/workflow/merkle.h"

namespace jixiao::workflow {

namespace {
constexpr std::uint8_t kLeafPrefix = 0x00;
constexpr std::uint8_t kNodePrefix = 0x01;

// The largest power of two strictly smaller than n (n >= 2).
std::size_t split_point(std::size_t n) {
  std::size_t k = 1;
  while ((k << 1) < n) k <<= 1;
  return k;
}

void inclusion_path(std::size_t index, std::span<const Digest> d, std::vector<Digest>& out) {
  if (d.size() <= 1) return;
  const std::size_t k = split_point(d.size());
  if (index < k) {
    inclusion_path(index, d.first(k), out);
    out.push_back(merkle_root(d.subspan(k)));
  } else {
    inclusion_path(index - k, d.subspan(k), out);
    out.push_back(merkle_root(d.first(k)));
  }
}

// SUBPROOF(m, D[n], complete) of RFC 6962 §2.1.2.
void subproof(std::size_t m, std::span<const Digest> d, bool complete, std::vector<Digest>& out) {
  if (m == d.size()) {
    if (!complete) out.push_back(merkle_root(d));
    return;
  }
  const std::size_t k = split_point(d.size());
  if (m <= k) {
    subproof(m, d.first(k), complete, out);
    out.push_back(merkle_root(d.subspan(k)));
  } else {
    subproof(m - k, d.subspan(k), false, out);
    out.push_back(merkle_root(d.first(k)));
  }
}

bool lsb(std::uint64_t v) { return (v & 1U) != 0; }
}  // namespace

Digest merkle_leaf_hash(std::span<const std::uint8_t> leaf) {
  Sm3 h;
  const std::uint8_t prefix[1] = {kLeafPrefix};
  return h.update(prefix).update(leaf).finish();
}

Digest merkle_node_hash(const Digest& left, const Digest& right) {
  Sm3 h;
  const std::uint8_t prefix[1] = {kNodePrefix};
  return h.update(prefix).update(left).update(right).finish();
}

Digest merkle_root(std::span<const Digest> leaf_hashes) {
  if (leaf_hashes.empty()) return sm3(std::string_view());
  if (leaf_hashes.size() == 1) return leaf_hashes[0];
  const std::size_t k = split_point(leaf_hashes.size());
  return merkle_node_hash(merkle_root(leaf_hashes.first(k)), merkle_root(leaf_hashes.subspan(k)));
}

std::vector<Digest> merkle_inclusion_proof(std::span<const Digest> leaf_hashes, std::uint64_t index) {
  std::vector<Digest> out;
  if (index < leaf_hashes.size()) inclusion_path(static_cast<std::size_t>(index), leaf_hashes, out);
  return out;
}

std::vector<Digest> merkle_consistency_proof(std::span<const Digest> leaf_hashes,
                                             std::uint64_t old_size) {
  std::vector<Digest> out;
  if (old_size == 0 || old_size >= leaf_hashes.size()) return out;
  subproof(static_cast<std::size_t>(old_size), leaf_hashes, true, out);
  return out;
}

bool verify_merkle_inclusion(const Digest& leaf_hash, std::uint64_t index, std::uint64_t tree_size,
                             std::span<const Digest> proof, const Digest& root) {
  if (index >= tree_size) return false;
  std::uint64_t fn = index;
  std::uint64_t sn = tree_size - 1;
  Digest r = leaf_hash;
  for (const Digest& p : proof) {
    if (sn == 0) return false;
    if (lsb(fn) || fn == sn) {
      r = merkle_node_hash(p, r);
      while (!lsb(fn) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = merkle_node_hash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

bool verify_merkle_consistency(std::uint64_t old_size, std::uint64_t new_size, const Digest& old_root,
                               const Digest& new_root, std::span<const Digest> proof) {
  if (old_size > new_size) return false;
  if (old_size == new_size) return proof.empty() && old_root == new_root;
  if (old_size == 0) return proof.empty() && old_root == merkle_root({});
  if (proof.empty()) return false;

  std::vector<Digest> path;
  // When the old tree is a complete subtree its root is the proof's implied
  // first node.
  if ((old_size & (old_size - 1)) == 0) path.push_back(old_root);
  path.insert(path.end(), proof.begin(), proof.end());

  std::uint64_t fn = old_size - 1;
  std::uint64_t sn = new_size - 1;
  while (lsb(fn)) {
    fn >>= 1;
    sn >>= 1;
  }
  Digest fr = path[0];
  Digest sr = path[0];
  for (std::size_t i = 1; i < path.size(); ++i) {
    const Digest& c = path[i];
    if (sn == 0) return false;
    if (lsb(fn) || fn == sn) {
      fr = merkle_node_hash(c, fr);
      sr = merkle_node_hash(c, sr);
      while (!lsb(fn) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = merkle_node_hash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr == old_root && sr == new_root && sn == 0;
}

}  // namespace jixiao::workflow
