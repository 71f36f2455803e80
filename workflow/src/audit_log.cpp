#include "jixiao/workflow/audit_log.h"

#include <algorithm>

#include "canonical.h"
#include "jixiao/workflow/merkle.h"

namespace jixiao::workflow {

namespace {
constexpr std::string_view kRecordMagic = "JXAR";
constexpr std::uint8_t kRecordEncodingVersion = 1;

std::string n(std::uint64_t v) { return std::to_string(v); }

ChainVerdict broken(ChainProblem problem, std::optional<std::uint64_t> first,
                    std::optional<std::uint64_t> until, Status status) {
  ChainVerdict v;
  v.problem = problem;
  v.first_broken = first;
  v.broken_until = until;
  v.status = std::move(status);
  return v;
}
}  // namespace

std::string_view chain_problem_key(ChainProblem p) {
  switch (p) {
    case ChainProblem::kNone: return "none";
    case ChainProblem::kUnsupportedAlgorithm: return "unsupported_algorithm";
    case ChainProblem::kSequenceBroken: return "sequence_broken";
    case ChainProblem::kRecordAltered: return "record_altered";
    case ChainProblem::kLinkBroken: return "link_broken";
    case ChainProblem::kBadTreeHead: return "bad_tree_head";
    case ChainProblem::kTruncated: return "truncated";
    case ChainProblem::kTreeHeadMismatch: return "tree_head_mismatch";
  }
  return "unknown";
}

std::vector<std::uint8_t> encode_audit_record(const AuditRecord& record) {
  const AuditEvent& e = record.event;
  std::vector<const AuditField*> fields;
  fields.reserve(e.fields.size());
  for (const auto& f : e.fields) fields.push_back(&f);
  // Sorted bytewise by key, then value, so field order never changes a hash.
  std::sort(fields.begin(), fields.end(), [](const AuditField* a, const AuditField* b) {
    return a->key != b->key ? a->key < b->key : a->value < b->value;
  });

  detail::ByteWriter w;
  w.raw(kRecordMagic);
  w.u8(kRecordEncodingVersion);
  w.str(record.algorithm);
  w.u64(record.seq);
  w.bytes(record.prev_hash);
  w.u8(static_cast<std::uint8_t>(e.kind));
  w.i64(e.at.time_since_epoch().count());
  w.str(e.actor);
  w.str(e.device);
  w.str(e.subject);
  w.str(e.action);
  w.u32(static_cast<std::uint32_t>(fields.size()));
  for (const AuditField* f : fields) {
    w.str(f->key);
    w.str(f->value);
  }
  return std::move(w).take();
}

Result<Digest> compute_record_hash(const AuditRecord& record) {
  if (record.algorithm != kSm3Name) {
    return Status::unsupported_version("审计记录使用了不支持的哈希算法“" + record.algorithm + "”",
                                       "record " + n(record.seq) + " algorithm " + record.algorithm);
  }
  return sm3(encode_audit_record(record));
}

Digest record_leaf_hash(const AuditRecord& record) { return merkle_leaf_hash(encode_audit_record(record)); }

AuditRecord make_audit_record(std::uint64_t seq, const Digest& prev_hash, AuditEvent event) {
  AuditRecord r;
  r.seq = seq;
  r.algorithm = std::string(kSm3Name);
  r.prev_hash = prev_hash;
  r.event = std::move(event);
  r.hash = sm3(encode_audit_record(r));
  return r;
}

ChainVerdict verify_audit_chain(std::span<const AuditRecord> records, const ChainAnchor& anchor) {
  Digest prev = anchor.prev_hash;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const AuditRecord& r = records[i];
    const std::uint64_t expected = anchor.first_seq + i;
    if (r.algorithm != kSm3Name) {
      return broken(ChainProblem::kUnsupportedAlgorithm, expected, std::nullopt,
                    Status::unsupported_version(
                        "第" + n(expected) + "号审计记录使用了不支持的哈希算法“" + r.algorithm + "”",
                        "record " + n(expected) + ": algorithm " + r.algorithm));
    }
    if (r.seq != expected) {
      return broken(ChainProblem::kSequenceBroken, expected, std::nullopt,
                    Status::corruption("第" + n(expected) + "号审计记录缺失或顺序被打乱（该位置上是第" +
                                           n(r.seq) + "号记录）",
                                       "position " + n(expected) + " holds seq " + n(r.seq)));
    }
    if (sm3(encode_audit_record(r)) != r.hash) {
      return broken(ChainProblem::kRecordAltered, expected, std::nullopt,
                    Status::corruption("第" + n(expected) + "号审计记录已被篡改（内容与其哈希不符）",
                                       "record " + n(expected) + ": content does not hash to stored " +
                                           to_hex(r.hash)));
    }
    if (r.prev_hash != prev) {
      return broken(ChainProblem::kLinkBroken, expected, std::nullopt,
                    Status::corruption("第" + n(expected) + "号审计记录与前一条记录的链接断开（前面的记录被改动、删除或插入）",
                                       "record " + n(expected) + ": prev_hash " + to_hex(r.prev_hash) +
                                           " != " + to_hex(prev)));
    }
    prev = r.hash;
  }
  return {};
}

ChainVerdict verify_audit_log(std::span<const AuditRecord> records,
                              std::span<const SignedTreeHead> held_heads,
                              const TreeHeadVerifier& verifier) {
  ChainVerdict chain = verify_audit_chain(records);
  if (!chain.ok()) return chain;

  std::vector<const SignedTreeHead*> heads;
  for (const auto& h : held_heads) heads.push_back(&h);
  std::stable_sort(heads.begin(), heads.end(), [](const SignedTreeHead* a, const SignedTreeHead* b) {
    return a->head.tree_size < b->head.tree_size;
  });

  std::vector<Digest> leaves;
  leaves.reserve(records.size());
  for (const auto& r : records) leaves.push_back(record_leaf_hash(r));

  std::uint64_t covered = 0;  // records proven by a head so far
  for (const SignedTreeHead* h : heads) {
    const std::uint64_t size = h->head.tree_size;
    if (Status s = verifier.verify(*h); !s) {
      return broken(ChainProblem::kBadTreeHead, std::nullopt, std::nullopt,
                    Status(s.code(), "覆盖" + n(size) + "条记录的签名树头无效：" + s.message(), s.detail()));
    }
    if (size > records.size()) {
      return broken(ChainProblem::kTruncated, records.size(), size,
                    Status::corruption("审计日志只有" + n(records.size()) + "条记录，但签名树头覆盖" + n(size) +
                                           "条：第" + n(records.size()) + "号及以后的记录被删除",
                                       "log size " + n(records.size()) + " < tree head size " + n(size)));
    }
    const auto prefix = std::span<const Digest>(leaves).first(static_cast<std::size_t>(size));
    if (merkle_root(prefix) != h->head.root) {
      return broken(ChainProblem::kTreeHeadMismatch, covered, size,
                    Status::corruption("第" + n(covered) + "至" + n(size - 1) +
                                           "号审计记录与签名树头不符：记录被改写并重新计算了哈希链",
                                       "records [" + n(covered) + ", " + n(size) +
                                           ") do not hash to the root of the tree head of size " + n(size)));
    }
    covered = size;
  }
  return {};
}

Status verify_record_included(const AuditRecord& record, const SignedTreeHead& sth,
                              std::span<const Digest> inclusion_proof, const TreeHeadVerifier& verifier) {
  if (Status s = verifier.verify(sth); !s) return s;
  const auto hash = compute_record_hash(record);
  if (!hash) return hash.status();
  if (*hash != record.hash) {
    return Status::corruption("第" + n(record.seq) + "号审计记录已被篡改（内容与其哈希不符）",
                              "record " + n(record.seq) + ": content does not hash to stored hash");
  }
  if (!verify_merkle_inclusion(record_leaf_hash(record), record.seq, sth.head.tree_size, inclusion_proof,
                               sth.head.root)) {
    return Status::corruption("第" + n(record.seq) + "号审计记录不在签名树头覆盖的日志中",
                              "inclusion proof for seq " + n(record.seq) + " in tree of size " +
                                  n(sth.head.tree_size) + " fails");
  }
  return Status::ok();
}

Result<AuditLog> AuditLog::from_records(std::vector<AuditRecord> records) {
  const ChainVerdict v = verify_audit_chain(records);
  if (!v.ok()) return v.status;
  AuditLog log;
  log.leaf_hashes_.reserve(records.size());
  for (const auto& r : records) log.leaf_hashes_.push_back(record_leaf_hash(r));
  log.records_ = std::move(records);
  return log;
}

const AuditRecord& AuditLog::append(AuditEvent event) {
  records_.push_back(make_audit_record(records_.size(), last_hash(), std::move(event)));
  leaf_hashes_.push_back(record_leaf_hash(records_.back()));
  return records_.back();
}

TreeHead AuditLog::tree_head(TimePoint at) const { return tree_head(at, records_.size()); }

TreeHead AuditLog::tree_head(TimePoint at, std::uint64_t tree_size) const {
  const std::size_t size = static_cast<std::size_t>(std::min<std::uint64_t>(tree_size, leaf_hashes_.size()));
  TreeHead h;
  h.tree_size = size;
  h.root = merkle_root(std::span<const Digest>(leaf_hashes_).first(size));
  h.timestamp = at;
  h.hash_algorithm = std::string(kSm3Name);
  return h;
}

Result<SignedTreeHead> AuditLog::seal(const TreeHeadSigner& signer, const Clock& clock) {
  auto sth = signer.sign(tree_head(clock.now()));
  if (sth) heads_.push_back(*sth);
  return sth;
}

std::vector<Digest> AuditLog::inclusion_proof(std::uint64_t seq, std::uint64_t tree_size) const {
  if (tree_size > leaf_hashes_.size() || seq >= tree_size) return {};
  return merkle_inclusion_proof(std::span<const Digest>(leaf_hashes_).first(static_cast<std::size_t>(tree_size)),
                                seq);
}

std::vector<Digest> AuditLog::consistency_proof(std::uint64_t old_size, std::uint64_t new_size) const {
  if (new_size > leaf_hashes_.size() || old_size > new_size) return {};
  return merkle_consistency_proof(
      std::span<const Digest>(leaf_hashes_).first(static_cast<std::size_t>(new_size)), old_size);
}

}  // namespace jixiao::workflow
