// The Merkle tree of RFC 6962 with SM3: the tree's shape, and every
// inclusion and consistency proof for trees of up to 33 leaves, accepted when
// right and rejected when anything is off.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "jixiao/workflow/merkle.h"

namespace jixiao::workflow {
namespace {

std::vector<Digest> leaves(std::size_t n) {
  std::vector<Digest> out;
  for (std::size_t i = 0; i < n; ++i) {
    const std::string data = "leaf-" + std::to_string(i);
    out.push_back(merkle_leaf_hash({reinterpret_cast<const std::uint8_t*>(data.data()), data.size()}));
  }
  return out;
}

TEST(Merkle, HashesArePrefixedAsInRfc6962) {
  const std::uint8_t leaf[] = {'x'};
  const std::uint8_t prefixed[] = {0x00, 'x'};
  EXPECT_EQ(merkle_leaf_hash(leaf), sm3(prefixed));
  const Digest a = sm3("a");
  const Digest b = sm3("b");
  std::vector<std::uint8_t> node = {0x01};
  node.insert(node.end(), a.begin(), a.end());
  node.insert(node.end(), b.begin(), b.end());
  EXPECT_EQ(merkle_node_hash(a, b), sm3(node));
}

TEST(Merkle, RootSplitsAtTheLargestPowerOfTwo) {
  const auto d = leaves(5);
  EXPECT_EQ(merkle_root({}), sm3(""));
  EXPECT_EQ(merkle_root(std::span(d).first(1)), d[0]);
  EXPECT_EQ(merkle_root(std::span(d).first(3)), merkle_node_hash(merkle_node_hash(d[0], d[1]), d[2]));
  const Digest left4 = merkle_node_hash(merkle_node_hash(d[0], d[1]), merkle_node_hash(d[2], d[3]));
  EXPECT_EQ(merkle_root(d), merkle_node_hash(left4, d[4]));
}

TEST(Merkle, EveryInclusionProofVerifiesAndNothingElseDoes) {
  const auto all = leaves(33);
  for (std::size_t n = 1; n <= all.size(); ++n) {
    const auto d = std::span(all).first(n);
    const Digest root = merkle_root(d);
    for (std::size_t i = 0; i < n; ++i) {
      const auto proof = merkle_inclusion_proof(d, i);
      ASSERT_TRUE(verify_merkle_inclusion(d[i], i, n, proof, root)) << i << " of " << n;
      EXPECT_FALSE(verify_merkle_inclusion(d[(i + 1) % n], i, n, proof, root) && n > 1) << i << " of " << n;
      EXPECT_FALSE(verify_merkle_inclusion(d[i], i + n, n, proof, root));
      if (!proof.empty()) {
        auto bad = proof;
        bad.back()[0] ^= 1;
        EXPECT_FALSE(verify_merkle_inclusion(d[i], i, n, bad, root)) << i << " of " << n;
        bad = proof;
        bad.pop_back();
        EXPECT_FALSE(verify_merkle_inclusion(d[i], i, n, bad, root)) << i << " of " << n;
      }
    }
  }
}

TEST(Merkle, EveryConsistencyProofVerifiesAndNothingElseDoes) {
  const auto all = leaves(33);
  for (std::size_t n = 1; n <= all.size(); ++n) {
    const auto d = std::span(all).first(n);
    const Digest new_root = merkle_root(d);
    for (std::size_t m = 0; m <= n; ++m) {
      const Digest old_root = merkle_root(d.first(m));
      const auto proof = merkle_consistency_proof(d, m);
      ASSERT_TRUE(verify_merkle_consistency(m, n, old_root, new_root, proof)) << m << " -> " << n;
      if (m == 0 || m == n) {
        EXPECT_TRUE(proof.empty());
        continue;
      }
      Digest other_old = old_root;
      other_old[5] ^= 0x40;
      EXPECT_FALSE(verify_merkle_consistency(m, n, other_old, new_root, proof)) << m << " -> " << n;
      Digest other_new = new_root;
      other_new[0] ^= 1;
      EXPECT_FALSE(verify_merkle_consistency(m, n, old_root, other_new, proof)) << m << " -> " << n;
      for (std::size_t k = 0; k < proof.size(); ++k) {
        auto bad = proof;
        bad[k][31] ^= 1;
        EXPECT_FALSE(verify_merkle_consistency(m, n, old_root, new_root, bad)) << m << " -> " << n << " @" << k;
      }
      EXPECT_FALSE(verify_merkle_consistency(n, m, new_root, old_root, proof));
    }
  }
}

TEST(Merkle, ARewrittenPrefixIsNotConsistentWithTheOldRoot) {
  auto d = leaves(12);
  const Digest old_root = merkle_root(std::span(d).first(7));
  d[3] = sm3("forged");
  const auto proof = merkle_consistency_proof(d, 7);
  EXPECT_FALSE(verify_merkle_consistency(7, 12, old_root, merkle_root(d), proof));
}

}  // namespace
}  // namespace jixiao::workflow
