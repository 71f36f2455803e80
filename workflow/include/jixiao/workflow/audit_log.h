// The tamper-evident audit history.
//
// Each AuditRecord is an AuditEvent plus its place in the chain: a sequence
// number (0, 1, 2 … with no gaps), the hash of the previous record (32 zero
// bytes before record 0), the hash algorithm's name ("SM3"), and its own hash
// SM3(canonical bytes). The canonical byte encoding is the grammar in
// docs/audit.md; make_audit_record() is the one place that writes it.
//
// The chain catches a changed, deleted, inserted or reordered record unless
// the whole chain after it was recomputed. Signed tree heads (tree_head.h),
// kept outside the log, catch that and a deleted tail: verify_audit_log().
//
// Persistence belongs to the server: it reads the last record's (seq, hash)
// and writes make_audit_record(seq + 1, hash, event) in the same transaction
// as the change the event records. AuditLog below is the same logic kept in
// memory, for tests and tools.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "jixiao/common/status.h"
#include "jixiao/workflow/audit_event.h"
#include "jixiao/workflow/sm3.h"
#include "jixiao/workflow/tree_head.h"

namespace jixiao::workflow {

struct AuditRecord {
  std::uint64_t seq = 0;
  std::string algorithm{kSm3Name};
  Digest prev_hash{};
  AuditEvent event;
  Digest hash{};  // SM3(encode_audit_record(*this)); stored, checked by the verifier

  friend bool operator==(const AuditRecord&, const AuditRecord&) = default;
};

// The all-zero hash that record 0 points back to.
inline constexpr Digest kGenesisHash{};

// The canonical bytes of a record: everything but `hash` (docs/audit.md).
std::vector<std::uint8_t> encode_audit_record(const AuditRecord& record);
// SM3 of the canonical bytes. kUnsupportedVersion for another algorithm.
Result<Digest> compute_record_hash(const AuditRecord& record);
// The Merkle leaf hash of a record: SM3(0x00 || canonical bytes).
Digest record_leaf_hash(const AuditRecord& record);

// The next record of a chain whose last record has `prev_hash`. Pure.
AuditRecord make_audit_record(std::uint64_t seq, const Digest& prev_hash, AuditEvent event);

// Where a slice of the log starts: record `first_seq`, whose prev_hash must be
// `prev_hash`. The default is the start of the log.
struct ChainAnchor {
  std::uint64_t first_seq = 0;
  Digest prev_hash = kGenesisHash;
};

enum class ChainProblem : std::uint8_t {
  kNone = 0,
  kUnsupportedAlgorithm = 1,  // a record names a hash this build does not know
  kSequenceBroken = 2,        // a record is not where its number says: deleted, inserted, reordered
  kRecordAltered = 3,         // a record's content does not match its own hash
  kLinkBroken = 4,            // a record does not point at the hash of the one before it
  kBadTreeHead = 5,           // a tree head's signature does not verify
  kTruncated = 6,             // the log is shorter than a signed tree head covers
  kTreeHeadMismatch = 7,      // the records do not hash to a signed tree head's root
};
std::string_view chain_problem_key(ChainProblem p);

// The verifier's answer. When not ok(), `first_broken` is the sequence number
// of the first record that cannot be trusted (for kTreeHeadMismatch: the
// first record after the last tree head that still verifies, with
// `broken_until` the size of the head that failed), and `status` says so in
// Chinese (kCorruption; kUnsupportedVersion for an unknown algorithm).
struct ChainVerdict {
  ChainProblem problem = ChainProblem::kNone;
  std::optional<std::uint64_t> first_broken;
  std::optional<std::uint64_t> broken_until;
  Status status;
  bool ok() const { return problem == ChainProblem::kNone; }
};

// Checks numbering, each record's hash and each link, in order, and reports
// the first record where one fails.
ChainVerdict verify_audit_chain(std::span<const AuditRecord> records, const ChainAnchor& anchor = {});

// verify_audit_chain(records), then every tree head in `held_heads` (any
// order): its signature, that the log reaches its size, and that the first
// tree_size records hash to its root. The smallest failing head decides.
ChainVerdict verify_audit_log(std::span<const AuditRecord> records,
                              std::span<const SignedTreeHead> held_heads,
                              const TreeHeadVerifier& verifier);

// For a client holding a signed head: `record` is the record numbered
// record.seq in the tree that head seals.
Status verify_record_included(const AuditRecord& record, const SignedTreeHead& sth,
                              std::span<const Digest> inclusion_proof, const TreeHeadVerifier& verifier);

// The whole log in memory. Not thread-safe: guard it (WorkflowService does).
class AuditLog {
 public:
  AuditLog() = default;
  // Adopts persisted records after verify_audit_chain() accepts them.
  static Result<AuditLog> from_records(std::vector<AuditRecord> records);

  const AuditRecord& append(AuditEvent event);

  std::span<const AuditRecord> records() const { return records_; }
  std::uint64_t size() const { return records_.size(); }
  Digest last_hash() const { return records_.empty() ? kGenesisHash : records_.back().hash; }

  // The unsigned head over the first `tree_size` records (all by default).
  TreeHead tree_head(TimePoint at) const;
  TreeHead tree_head(TimePoint at, std::uint64_t tree_size) const;
  // Signs a head over every record so far and keeps it in tree_heads().
  Result<SignedTreeHead> seal(const TreeHeadSigner& signer, const Clock& clock);
  const std::vector<SignedTreeHead>& tree_heads() const { return heads_; }

  // Proofs for clients; sizes and indexes out of range give empty proofs.
  std::vector<Digest> inclusion_proof(std::uint64_t seq, std::uint64_t tree_size) const;
  std::vector<Digest> consistency_proof(std::uint64_t old_size, std::uint64_t new_size) const;

 private:
  std::vector<AuditRecord> records_;
  std::vector<Digest> leaf_hashes_;
  std::vector<SignedTreeHead> heads_;
};

}  // namespace jixiao::workflow
