// The audit history: a pinned canonical encoding, a hash chain that reports
// the first broken record, and signed tree heads held outside the log that
// catch what the chain alone cannot. Each way of tampering the issue lists
// is tried and caught, with the record reported.
#include <gtest/gtest.h>

#include <algorithm>

#include "jixiao/workflow/audit_log.h"
#include "jixiao/workflow/merkle.h"
#include "test_support.h"

namespace jixiao::workflow {
namespace {

AuditEvent event(int i) {
  AuditEvent e = content_change_event(utc_time(2021, 3, 1, 9, i), "d_prep", "laptop-7", "form-1",
                                      "/indicators/" + std::to_string(i) + "/actual", std::to_string(i),
                                      std::to_string(i + 1));
  return e;
}

std::vector<AuditRecord> rechain(const std::vector<AuditEvent>& events) {
  std::vector<AuditRecord> out;
  Digest prev = kGenesisHash;
  for (std::size_t i = 0; i < events.size(); ++i) {
    out.push_back(make_audit_record(i, prev, events[i]));
    prev = out.back().hash;
  }
  return out;
}

std::vector<AuditEvent> events_of(const std::vector<AuditRecord>& records) {
  std::vector<AuditEvent> out;
  for (const auto& r : records) out.push_back(r.event);
  return out;
}

class AuditHistory : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 10; ++i) log.append(event(i));
    records.assign(log.records().begin(), log.records().end());
  }

  // A head over the first `size` records of the honest log, as a client or
  // the audit admin would have kept it.
  SignedTreeHead held_head(std::uint64_t size) {
    auto sth = signer.sign(log.tree_head(clock.now(), size));
    EXPECT_TRUE(sth.is_ok());
    return *sth;
  }
  std::vector<SignedTreeHead> held_heads_every(std::uint64_t step) {
    std::vector<SignedTreeHead> heads;
    for (std::uint64_t size = step; size <= log.size(); size += step) heads.push_back(held_head(size));
    if (log.size() % step != 0) heads.push_back(held_head(log.size()));
    return heads;
  }

  ManualClock clock{utc_time(2021, 3, 1, 18, 0)};
  TreeHeadSigner signer = *TreeHeadSigner::generate();
  TreeHeadVerifier verifier = *TreeHeadVerifier::from_public_der(signer.public_key_der());
  AuditLog log;
  std::vector<AuditRecord> records;  // a copy to tamper with
};

TEST(AuditRecordEncoding, FollowsTheGrammarInDocsAuditMd) {
  AuditEvent e;
  e.kind = AuditKind::kContentChange;
  e.at = TimePoint(std::chrono::milliseconds(0x0102030405060708));
  e.actor = "u";
  e.device = "d";
  e.subject = "f";
  e.action = "a";
  e.fields = {{"b", "2"}, {"a", "1"}};  // given out of order
  Digest prev;
  prev.fill(0x11);
  const AuditRecord r = make_audit_record(3, prev, e);

  std::vector<std::uint8_t> want = {'J', 'X', 'A', 'R', 1,          // magic, encoding version
                                    0, 0, 0, 3, 'S', 'M', '3',      // algorithm
                                    0, 0, 0, 0, 0, 0, 0, 3,         // seq
                                    0, 0, 0, 32};                   // prev_hash length
  want.insert(want.end(), 32, 0x11);
  const std::vector<std::uint8_t> rest = {1,                                  // kind
                                          1, 2, 3, 4, 5, 6, 7, 8,             // at (ms)
                                          0, 0, 0, 1, 'u', 0, 0, 0, 1, 'd',   // actor, device
                                          0, 0, 0, 1, 'f', 0, 0, 0, 1, 'a',   // subject, action
                                          0, 0, 0, 2,                         // field count
                                          0, 0, 0, 1, 'a', 0, 0, 0, 1, '1',   // sorted by key
                                          0, 0, 0, 1, 'b', 0, 0, 0, 1, '2'};
  want.insert(want.end(), rest.begin(), rest.end());
  EXPECT_EQ(encode_audit_record(r), want);
  EXPECT_EQ(r.hash, sm3(want));
  EXPECT_EQ(r.algorithm, "SM3");
  EXPECT_EQ(record_leaf_hash(r), merkle_leaf_hash(want));
}

TEST(AuditRecordEncoding, FieldOrderDoesNotChangeTheHashButEveryPartDoes) {
  const AuditRecord base = make_audit_record(0, kGenesisHash, event(1));
  AuditEvent reordered = base.event;
  std::reverse(reordered.fields.begin(), reordered.fields.end());
  EXPECT_EQ(make_audit_record(0, kGenesisHash, reordered).hash, base.hash);

  std::vector<std::pair<std::string, AuditRecord>> variants;
  auto vary = [&](const std::string& what, auto&& change) {
    AuditRecord r = base;
    change(r);
    variants.emplace_back(what, r);
  };
  vary("seq", [](AuditRecord& r) { r.seq = 1; });
  vary("prev", [](AuditRecord& r) { r.prev_hash[0] = 1; });
  vary("kind", [](AuditRecord& r) { r.event.kind = AuditKind::kLogin; });
  vary("at", [](AuditRecord& r) { r.event.at += std::chrono::milliseconds(1); });
  vary("actor", [](AuditRecord& r) { r.event.actor = "x"; });
  vary("device", [](AuditRecord& r) { r.event.device = "x"; });
  vary("subject", [](AuditRecord& r) { r.event.subject = "x"; });
  vary("action", [](AuditRecord& r) { r.event.action = "x"; });
  vary("field value", [](AuditRecord& r) { r.event.set("new", "x"); });
  vary("field added", [](AuditRecord& r) { r.event.set("z", ""); });
  // Length prefixes keep "ab"+"c" apart from "a"+"bc".
  vary("boundary", [](AuditRecord& r) {
    r.event.actor += r.event.device.substr(0, 1);
    r.event.device = r.event.device.substr(1);
  });
  for (const auto& [what, r] : variants) EXPECT_NE(sm3(encode_audit_record(r)), base.hash) << what;
}

TEST_F(AuditHistory, AnUntouchedLogVerifies) {
  EXPECT_TRUE(verify_audit_chain(records).ok());
  const auto heads = held_heads_every(3);
  const ChainVerdict v = verify_audit_log(records, heads, verifier);
  EXPECT_TRUE(v.ok()) << v.status.to_string();
  EXPECT_TRUE(AuditLog::from_records(records).is_ok());
}

TEST_F(AuditHistory, ChangedRecordIsReported) {
  records[4].event.set("new", "999");
  const ChainVerdict v = verify_audit_chain(records);
  EXPECT_EQ(v.problem, ChainProblem::kRecordAltered);
  EXPECT_EQ(v.first_broken, 4U);
  EXPECT_EQ(v.status.code(), StatusCode::kCorruption);
  EXPECT_EQ(v.status.message(), "第4号审计记录已被篡改（内容与其哈希不符）");
}

TEST_F(AuditHistory, ChangedRecordWithItsOwnHashRecomputedBreaksTheNextLink) {
  records[4].event.set("new", "999");
  records[4].hash = *compute_record_hash(records[4]);
  const ChainVerdict v = verify_audit_chain(records);
  EXPECT_EQ(v.problem, ChainProblem::kLinkBroken);
  EXPECT_EQ(v.first_broken, 5U);
}

TEST_F(AuditHistory, DeletedRecordInTheMiddleIsReported) {
  records.erase(records.begin() + 4);
  const ChainVerdict v = verify_audit_chain(records);
  EXPECT_EQ(v.problem, ChainProblem::kSequenceBroken);
  EXPECT_EQ(v.first_broken, 4U);
  EXPECT_EQ(v.status.message(), "第4号审计记录缺失或顺序被打乱（该位置上是第5号记录）");
}

TEST_F(AuditHistory, DeletedRecordInTheMiddleWithLaterRecordsRenumberedIsReported) {
  records.erase(records.begin() + 4);
  for (std::size_t i = 4; i < records.size(); ++i) records[i].seq = i;
  const ChainVerdict v = verify_audit_chain(records);
  EXPECT_EQ(v.problem, ChainProblem::kRecordAltered);
  EXPECT_EQ(v.first_broken, 4U);
}

TEST_F(AuditHistory, DeletedTailIsCaughtByAHeldTreeHead) {
  const SignedTreeHead held = held_head(10);
  records.resize(7);
  // The chain alone cannot tell a shortened log from a young one …
  EXPECT_TRUE(verify_audit_chain(records).ok());
  // … a tree head kept outside the log can.
  const ChainVerdict v = verify_audit_log(records, std::span(&held, 1), verifier);
  EXPECT_EQ(v.problem, ChainProblem::kTruncated);
  EXPECT_EQ(v.first_broken, 7U);
  EXPECT_EQ(v.broken_until, 10U);
  EXPECT_EQ(v.status.message(), "审计日志只有7条记录，但签名树头覆盖10条：第7号及以后的记录被删除");
}

TEST_F(AuditHistory, ReorderedRecordsAreReported) {
  std::swap(records[4], records[5]);
  const ChainVerdict v = verify_audit_chain(records);
  EXPECT_EQ(v.problem, ChainProblem::kSequenceBroken);
  EXPECT_EQ(v.first_broken, 4U);
}

TEST_F(AuditHistory, ReorderedAndRechainedIsCaughtByAHeldTreeHead) {
  auto events = events_of(records);
  std::swap(events[4], events[5]);
  const auto forged = rechain(events);
  ASSERT_TRUE(verify_audit_chain(forged).ok());  // a consistent-looking chain

  // One head over everything: the log is caught, somewhere in [0, 10).
  const SignedTreeHead one = held_head(10);
  ChainVerdict v = verify_audit_log(forged, std::span(&one, 1), verifier);
  EXPECT_EQ(v.problem, ChainProblem::kTreeHeadMismatch);
  EXPECT_EQ(v.first_broken, 0U);
  EXPECT_EQ(v.broken_until, 10U);
  // Heads kept after every record pin the first rewritten record exactly.
  v = verify_audit_log(forged, held_heads_every(1), verifier);
  EXPECT_EQ(v.problem, ChainProblem::kTreeHeadMismatch);
  EXPECT_EQ(v.first_broken, 4U);
  EXPECT_EQ(v.broken_until, 5U);
  EXPECT_EQ(v.status.message(), "第4至4号审计记录与签名树头不符：记录被改写并重新计算了哈希链");
}

TEST_F(AuditHistory, InsertedForgedRecordWithTheWholeChainRecomputedIsCaughtByHeldTreeHeads) {
  auto events = events_of(records);
  AuditEvent forged_event = event(99);
  forged_event.actor = "d_rev";
  events.insert(events.begin() + 6, forged_event);
  const auto forged = rechain(events);
  ASSERT_TRUE(verify_audit_chain(forged).ok());

  // Heads sealed every 3 records: 3 and 6 still hold, 9 does not.
  ChainVerdict v = verify_audit_log(forged, held_heads_every(3), verifier);
  EXPECT_EQ(v.problem, ChainProblem::kTreeHeadMismatch);
  EXPECT_EQ(v.first_broken, 6U);
  EXPECT_EQ(v.broken_until, 9U);
  v = verify_audit_log(forged, held_heads_every(1), verifier);
  EXPECT_EQ(v.first_broken, 6U);
}

TEST_F(AuditHistory, DeletedRecordWithTheChainRecomputedIsCaughtByHeldTreeHeads) {
  auto events = events_of(records);
  events.erase(events.begin() + 2);
  const auto forged = rechain(events);
  ASSERT_TRUE(verify_audit_chain(forged).ok());
  const ChainVerdict v = verify_audit_log(forged, held_heads_every(1), verifier);
  EXPECT_EQ(v.problem, ChainProblem::kTreeHeadMismatch);
  EXPECT_EQ(v.first_broken, 2U);
}

TEST_F(AuditHistory, TreeHeadsThatDoNotVerifyAreRejected) {
  SignedTreeHead altered = held_head(10);
  altered.head.tree_size = 9;
  ChainVerdict v = verify_audit_log(records, std::span(&altered, 1), verifier);
  EXPECT_EQ(v.problem, ChainProblem::kBadTreeHead);
  EXPECT_EQ(v.status.code(), StatusCode::kCorruption);

  const TreeHeadSigner impostor = *TreeHeadSigner::generate();
  const SignedTreeHead foreign = *impostor.sign(log.tree_head(clock.now()));
  v = verify_audit_log(records, std::span(&foreign, 1), verifier);
  EXPECT_EQ(v.problem, ChainProblem::kBadTreeHead);
  EXPECT_EQ(verifier.verify(foreign).code(), StatusCode::kInvalidArgument);

  SignedTreeHead bad_sig = held_head(10);
  bad_sig.signature.back() ^= 1;
  EXPECT_EQ(verifier.verify(bad_sig).code(), StatusCode::kCorruption);
  EXPECT_EQ(verifier.verify(bad_sig).message(), "签名树头的签名无效");
}

TEST_F(AuditHistory, UnknownHashAlgorithmIsReportedAsUnsupported) {
  records[2].algorithm = "MD5";
  const ChainVerdict v = verify_audit_chain(records);
  EXPECT_EQ(v.problem, ChainProblem::kUnsupportedAlgorithm);
  EXPECT_EQ(v.first_broken, 2U);
  EXPECT_EQ(v.status.code(), StatusCode::kUnsupportedVersion);
}

TEST_F(AuditHistory, AuditAdminHoldingAnEarlierHeadChecksTheLogOnlyGrew) {
  const SignedTreeHead held = *log.seal(signer, clock);  // size 10
  for (int i = 10; i < 17; ++i) log.append(event(i));
  clock.advance(std::chrono::hours(1));
  const SignedTreeHead now = *log.seal(signer, clock);  // size 17
  EXPECT_TRUE(verify_tree_head_extends(held, now, log.consistency_proof(10, 17), verifier).is_ok());
  EXPECT_EQ(log.tree_heads().size(), 2U);

  // The operator rewrites record 3 and re-chains and re-seals everything.
  auto events = events_of({log.records().begin(), log.records().end()});
  events[3].set("new", "forged");
  const auto rewritten = AuditLog::from_records(rechain(events));
  ASSERT_TRUE(rewritten.is_ok());
  const SignedTreeHead resealed = *signer.sign(rewritten->tree_head(clock.now()));
  const Status s = verify_tree_head_extends(held, resealed, rewritten->consistency_proof(10, 17), verifier);
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_EQ(s.message(), "审计日志的前10条记录与您保存的签名树头不一致，日志已被改写");
  // And a head smaller than the one held means the tail went missing.
  const SignedTreeHead shorter = held_head(5);
  EXPECT_EQ(verify_tree_head_extends(held, shorter, {}, verifier).code(), StatusCode::kCorruption);
}

TEST_F(AuditHistory, ClientChecksThatARecordIsInASealedLog) {
  const SignedTreeHead sth = *log.seal(signer, clock);
  for (std::uint64_t i = 0; i < log.size(); ++i) {
    EXPECT_TRUE(verify_record_included(log.records()[i], sth, log.inclusion_proof(i, 10), verifier).is_ok()) << i;
  }
  AuditRecord changed = log.records()[6];
  changed.event.set("new", "999");
  changed.hash = *compute_record_hash(changed);
  const Status s = verify_record_included(changed, sth, log.inclusion_proof(6, 10), verifier);
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_EQ(s.message(), "第6号审计记录不在签名树头覆盖的日志中");
}

TEST_F(AuditHistory, ALogResumedFromStorageMustVerify) {
  records[1].event.actor = "someone_else";
  const auto resumed = AuditLog::from_records(records);
  EXPECT_EQ(resumed.status().code(), StatusCode::kCorruption);
  EXPECT_EQ(resumed.status().message(), "第1号审计记录已被篡改（内容与其哈希不符）");
}

TEST_F(AuditHistory, VerificationCanStartFromAKnownRecord) {
  const ChainAnchor anchor{5, records[4].hash};
  EXPECT_TRUE(verify_audit_chain(std::span(records).subspan(5), anchor).ok());
  const ChainAnchor wrong{5, records[3].hash};
  const ChainVerdict v = verify_audit_chain(std::span(records).subspan(5), wrong);
  EXPECT_EQ(v.problem, ChainProblem::kLinkBroken);
  EXPECT_EQ(v.first_broken, 5U);
}

TEST(TreeHeadSigning, SignedHeadsSurviveEncodingAndKeysSurvivePem) {
  const TreeHeadSigner signer = *TreeHeadSigner::generate();
  const auto pem = signer.private_pem();
  ASSERT_TRUE(pem.is_ok());
  const auto reloaded = TreeHeadSigner::from_private_pem(*pem);
  ASSERT_TRUE(reloaded.is_ok()) << reloaded.status().to_string();
  EXPECT_EQ(reloaded->key_id(), signer.key_id());
  EXPECT_EQ(signer.key_id().size(), 64U);

  TreeHead head;
  head.tree_size = 42;
  head.root = sm3("root");
  head.timestamp = utc_time(2021, 3, 31, 16, 0);
  const SignedTreeHead sth = *reloaded->sign(head);
  EXPECT_EQ(sth.signature_algorithm, "SM2-SM3");
  const TreeHeadVerifier verifier = *TreeHeadVerifier::from_public_der(signer.public_key_der());
  EXPECT_TRUE(verifier.verify(sth).is_ok());

  const auto bytes = encode_signed_tree_head(sth);
  const auto decoded = decode_signed_tree_head(bytes);
  ASSERT_TRUE(decoded.is_ok());
  EXPECT_EQ(*decoded, sth);
  EXPECT_TRUE(verifier.verify(*decoded).is_ok());
  // Every truncation and any trailing byte are refused, never misread.
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_EQ(decode_signed_tree_head(std::span(bytes).first(n)).status().code(), StatusCode::kCorruption) << n;
  }
  auto longer = bytes;
  longer.push_back(0);
  EXPECT_EQ(decode_signed_tree_head(longer).status().code(), StatusCode::kCorruption);
  auto future = bytes;
  future[4] = 2;
  EXPECT_EQ(decode_signed_tree_head(future).status().code(), StatusCode::kUnsupportedVersion);
}

TEST(TreeHeadSigning, NonSm2KeysAreRefused) {
  const char* ed25519_pem =
      "-----BEGIN PRIVATE KEY-----\n"
      "MC4CAQAwBQYDK2VwBCIEIJ+ZNvE0bqTqXoUbWHHVF1IYQaYl1UhGSgqVRT3LbqMS\n"
      "-----END PRIVATE KEY-----\n";
  const auto r = TreeHeadSigner::from_private_pem(ed25519_pem);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "签名私钥不是SM2密钥");
  EXPECT_EQ(TreeHeadSigner::from_private_pem("not a key").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace jixiao::workflow
