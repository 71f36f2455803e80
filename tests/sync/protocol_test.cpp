// The wire protocol (docs/protocol.md): messages survive a round trip
// unchanged, and hostile bytes are refused with a Status — never a crash,
// never an allocation sized by a number read from the wire.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <new>
#include <random>
#include <string>

#include <zlib.h>

#include "jixiao/common/form_json.h"
#include "jixiao/sync/merge.h"
#include "jixiao/sync/protocol.h"
#include "test_support.h"

// ---- allocation probe ------------------------------------------------------------------
// The largest single allocation made while `tracking` is on. Replacing the
// global operator new is the portable way to see what the decoder asks the
// heap for; it only records, and otherwise behaves like the default.
namespace {
std::atomic<bool> g_tracking{false};
std::atomic<std::size_t> g_largest_allocation{0};
}  // namespace

// GCC cannot see that these replace each other and warns about free() on
// memory from operator new; they are a matched pair.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t size) {
  if (g_tracking.load(std::memory_order_relaxed)) {
    std::size_t seen = g_largest_allocation.load(std::memory_order_relaxed);
    while (size > seen && !g_largest_allocation.compare_exchange_weak(seen, size, std::memory_order_relaxed)) {
    }
  }
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t size, const std::nothrow_t& /*tag*/) noexcept {
  try {
    return ::operator new(size);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t /*size*/) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace jixiao::sync {
namespace {

// Records the largest allocation made during its lifetime.
class AllocationProbe {
 public:
  AllocationProbe() {
    g_largest_allocation.store(0);
    g_tracking.store(true);
  }
  ~AllocationProbe() { g_tracking.store(false); }
  std::size_t largest() const { return g_largest_allocation.load(); }
};

std::uint16_t reason(SyncReason r) { return static_cast<std::uint16_t>(r); }

CellValue text(std::string s) { return CellValue::of_text(std::move(s)); }

Operation make_op(std::string id, OpPayload payload) {
  Operation op;
  op.id = std::move(id);
  op.form_id = "3f2b6c1e-0d4a-4e8b-9a51-7c2d9e0f1a23";
  op.author = "p1";
  op.device = "dev-p1";
  op.hlc = HybridTimestamp{1'637'560'000'000, 3};
  op.base_seq = 41;
  op.payload = std::move(payload);
  return op;
}

// A week of offline work: one operation of every kind.
SyncRequest sample_request() {
  SyncRequest m;
  m.request_id = 7;
  m.device = "dev-p1";
  m.user = "p1";
  m.cursor = 41;
  m.ops.push_back(make_op("op-1", CreateForm{{"project_self_eval_row_points", 1}, "731101", "保定市竞秀区科学技术协会",
                                             2021, MoneyUnit::kWanYuan}));
  m.ops.push_back(make_op("op-2", SetCell{CellRef::field("project_name"), text("科普日活动经费"), {}}));
  m.ops.push_back(make_op("op-3", SetCell{CellRef{"funds", "total", "executed"},
                                          CellValue::of_money(Money::from_fen(808'647'564)), CellValue::dash()}));
  m.ops.push_back(make_op("op-4", InsertRow{"indicators", "row-9", "row-8",
                                            {{"level1", text("产出指标")},
                                             {"target", text("≥90%")},
                                             {"points", CellValue::of_number(Decimal::from_int(10))}}}));
  m.ops.push_back(make_op("op-5", DeleteRow{"indicators", "row-3"}));
  WorkflowAction approve;
  approve.action = workflow::Action::kApprove;
  approve.expected_version = 3;
  approve.content_hash = "9c1e…";
  approve.evidence = workflow::MeetingEvidence{"主席会", "2021-03-15", "第15次主席会", "保科协纪〔2021〕3号",
                                               "同意", {"sha256:ab12"}};
  m.ops.push_back(make_op("op-6", approve));
  m.ops.push_back(make_op("op-7", ResolveConflict{"op-2", Resolution::kNewValue, text("商定后的名称")}));
  m.max_response_bytes = 65'536;
  return m;
}

FormReplica sample_replica() {
  const FormTemplate& tmpl = testing::shipped_template("project_self_eval_row_points");
  FormReplica r;
  r.form = new_blank_form(tmpl, "731101", "保定市竞秀区科学技术协会", 2021);
  r.form.id = "3f2b6c1e-0d4a-4e8b-9a51-7c2d9e0f1a23";
  r.form.fields["goal_expected"] = text("1.举办科普日活动\n2.开展科技培训");
  r.form.tables["indicators"].rows.push_back(Row{"row-1", {{"target", text("≥500人次")}}});
  r.workflow.submission_id = r.form.id;
  r.workflow.unit = "731101";
  r.workflow.form_kind = tmpl.id;
  r.workflow.definition_id = "district-default";
  r.workflow.definition_version = 1;
  r.workflow.version = 2;
  r.workflow.phase = workflow::Phase::kInReview;
  r.workflow.stage_id = "unit_review";
  r.workflow.signoffs.push_back({"unit_review", "r1"});
  r.workflow.updated_at = workflow::utc_time(2021, 3, 1, 9, 0);
  r.workflow.first_submitted_at = workflow::utc_time(2021, 3, 1, 8, 0);
  r.stamps["fields.goal_expected"] = CellStamp{12, {1'637'560'000'000, 0}, "dev-p1", "p1"};
  r.deleted_rows["indicators[row-0]"] = 9;
  ConflictRecord c;
  c.id = "op-2";
  c.form_id = r.form.id;
  c.cell = CellRef::field("project_name");
  c.winner = ConflictSide{text("李四的名称"), "p2", "dev-p2", {2, 0}, "op-x"};
  c.loser = ConflictSide{text("张三的名称"), "p1", "dev-p1", {1, 0}, "op-2"};
  r.conflicts[c.id] = c;
  r.last_seq = 44;
  return r;
}

SyncResponse sample_response() {
  SyncResponse m;
  m.request_id = 7;
  m.results.push_back(OpResult{"op-1", 42, StatusCode::kOk, 0, {}});
  m.results.push_back(OpResult{"op-2", 0, StatusCode::kFailedPrecondition, 203,
                               "表单已提交审核，只有草稿或被退回的表单可以修改"});
  m.snapshots.push_back(FormSnapshot{sample_replica()});
  LogEntry e;
  e.seq = 45;
  e.form_id = "3f2b6c1e-0d4a-4e8b-9a51-7c2d9e0f1a23";
  e.op_id = "op-9";
  e.author = "p2";
  e.device = "dev-p2";
  e.hlc = {1'637'560'000'500, 0};
  e.effects.emplace_back(CellWritten{CellRef::field("project_name"), text("李四的名称")});
  e.effects.emplace_back(RowInserted{"indicators", "row-2", "row-1", {{"actual", text("620人次")}}});
  e.effects.emplace_back(RowDeleted{"indicators", "row-1"});
  e.effects.emplace_back(WorkflowChanged{sample_replica().workflow});
  e.effects.emplace_back(ConflictOpened{sample_replica().conflicts.begin()->second});
  e.effects.emplace_back(ConflictClosed{"op-2", Resolution::kTakeLoser, "p1"});
  m.entries.push_back(e);
  m.cursor = 45;
  m.more = true;
  return m;
}

ErrorResponse sample_error() {
  return ErrorResponse{7, StatusCode::kUnavailable, 0, NextStep::kRetry, "服务器繁忙，请稍后重试"};
}

void put_u32(std::string& bytes, std::size_t at, std::uint32_t v) {
  for (std::size_t i = 0; i < 4; ++i) bytes[at + i] = static_cast<char>((v >> (8 * i)) & 0xFFu);
}
void put_u64(std::string& bytes, std::size_t at, std::uint64_t v) {
  for (std::size_t i = 0; i < 8; ++i) bytes[at + i] = static_cast<char>((v >> (8 * i)) & 0xFFu);
}
// Rewrites the envelope's payload length to match the bytes that follow.
void fix_length(std::string& bytes) {
  put_u32(bytes, 8, static_cast<std::uint32_t>(bytes.size() - kEnvelopeBytes));
}

// Decodes `bytes` as every message type; true when nothing crashed (the
// result itself may be anything).
void decode_all(std::string_view bytes) {
  if (auto r = decode_sync_request(bytes)) (void)encode_message(*r);
  if (auto r = decode_sync_response(bytes)) (void)encode_message(*r);
  if (auto r = decode_error_response(bytes)) (void)encode_message(*r);
  (void)peek_message_type(bytes);
}

std::uint64_t seed_from_env() {
  if (const char* s = std::getenv("JIXIAO_SYNC_SEED")) return std::strtoull(s, nullptr, 10);
  return std::random_device{}();
}

// ---- round trips --------------------------------------------------------------------------

TEST(Protocol, SyncRequestRoundTripsWithEveryOperationKind) {
  const SyncRequest m = sample_request();
  const std::string bytes = encode_message(m);
  EXPECT_EQ(bytes.substr(0, 3), "JXS");
  EXPECT_EQ(static_cast<unsigned char>(bytes[3]), kProtocolVersion);
  EXPECT_EQ(peek_message_type(bytes).value(), MessageType::kSyncRequest);
  auto back = decode_sync_request(bytes);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(*back, m);
}

TEST(Protocol, SyncResponseRoundTripsWithSnapshotsEntriesAndEveryEffectKind) {
  SyncResponse m = sample_response();
  // Result ids do not travel (pair_results puts them back), nor do a
  // snapshot's cell stamps (the server's merge bookkeeping).
  for (OpResult& r : m.results) r.op_id.clear();
  ASSERT_FALSE(m.snapshots.at(0).replica.stamps.empty());
  const std::string with_stamps = replica_hash(m.snapshots.at(0).replica);
  m.snapshots.at(0).replica.stamps.clear();
  EXPECT_EQ(replica_hash(m.snapshots.at(0).replica), with_stamps);
  const std::string bytes = encode_message(m);
  EXPECT_EQ(peek_message_type(bytes).value(), MessageType::kSyncResponse);
  auto back = decode_sync_response(bytes);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(*back, m);
  EXPECT_EQ(replica_hash(back->snapshots.at(0).replica), replica_hash(sample_replica()));
}

TEST(Protocol, ErrorResponseRoundTrips) {
  const ErrorResponse m = sample_error();
  const std::string bytes = encode_message(m);
  EXPECT_EQ(peek_message_type(bytes).value(), MessageType::kErrorResponse);
  auto back = decode_error_response(bytes);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(*back, m);
}

TEST(Protocol, EmptyMessagesRoundTrip) {
  EXPECT_EQ(decode_sync_request(encode_message(SyncRequest{})).value(), SyncRequest{});
  EXPECT_EQ(decode_sync_response(encode_message(SyncResponse{})).value(), SyncResponse{});
  EXPECT_EQ(decode_error_response(encode_message(ErrorResponse{})).value(), ErrorResponse{});
}

// encoded_size() is what the server fills a response with up to its byte
// budget: never less than what the entry adds (it may count cereal's class
// version tags, written once per type per message, a few bytes more).
TEST(Protocol, EncodedSizeOfAnEntryBoundsWhatItAddsToAResponse) {
  const SyncResponse with = sample_response();
  SyncResponse without = with;
  without.entries.clear();
  without.snapshots.clear();
  const std::size_t added =
      encode_message(with, Compression::kNone).size() - encode_message(without, Compression::kNone).size();
  const std::size_t estimated = encoded_size(with.entries.at(0)) + encoded_size(with.snapshots.at(0));
  EXPECT_GE(estimated, added);
  EXPECT_LE(estimated - added, 128U);
}

// ---- compression ----------------------------------------------------------------------------

std::uint16_t flags_of(const std::string& bytes) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(bytes[6]) | (static_cast<unsigned char>(bytes[7]) << 8));
}

// An envelope around an arbitrary payload, flagged as deflated.
std::string deflated_message(MessageType type, const std::string& raw_payload) {
  uLongf size = compressBound(static_cast<uLong>(raw_payload.size()));
  std::string packed(size, '\0');
  EXPECT_EQ(Z_OK, compress2(reinterpret_cast<Bytef*>(packed.data()), &size,
                            reinterpret_cast<const Bytef*>(raw_payload.data()), static_cast<uLong>(raw_payload.size()), 9));
  packed.resize(size);
  std::string out = encode_message(SyncRequest{}, Compression::kNone).substr(0, kEnvelopeBytes);
  out[4] = static_cast<char>(static_cast<std::uint16_t>(type) & 0xFF);
  out[6] = static_cast<char>(kFlagDeflate);
  out += packed;
  fix_length(out);
  return out;
}

TEST(Protocol, ALargeMessageTravelsDeflatedAndComesBackEqual) {
  SyncRequest m = sample_request();
  for (int i = 0; i < 40; ++i) {
    m.ops.push_back(make_op("op-text-" + std::to_string(i),
                            SetCell{CellRef::field("goal_expected"), text("举办科普日活动，覆盖全区各街道社区。"), {}}));
  }
  const std::string plain = encode_message(m, Compression::kNone);
  const std::string packed = encode_message(m);
  EXPECT_EQ(flags_of(plain), 0);
  EXPECT_EQ(flags_of(packed), kFlagDeflate);
  EXPECT_LT(packed.size() * 4, plain.size()) << packed.size() << " vs " << plain.size();
  EXPECT_EQ(decode_sync_request(packed).value(), m);
  EXPECT_EQ(decode_sync_request(plain).value(), m);
}

TEST(Protocol, ASmallMessageIsSentPlain) {
  const std::string bytes = encode_message(ErrorResponse{1, StatusCode::kUnavailable, 0, NextStep::kRetry, "稍后"});
  EXPECT_LT(bytes.size(), kEnvelopeBytes + kCompressFromBytes);
  EXPECT_EQ(flags_of(bytes), 0);
}

TEST(Protocol, ADeflatedPayloadThatInflatesBeyondTheLimitIsRefused) {
  // 8 MiB + 1 of zeros deflate to a few kilobytes.
  const std::string bomb = deflated_message(MessageType::kSyncRequest, std::string(kMaxPayloadBytes + 1, '\0'));
  ASSERT_LT(bomb.size(), 64u * 1024u);
  const Status s = decode_sync_request(bomb).status();
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(s.reason(), reason(SyncReason::kMessageTooLarge));
}

TEST(Protocol, ADamagedOrPaddedDeflatedPayloadIsRefused) {
  const std::string raw = encode_message(sample_request(), Compression::kNone).substr(kEnvelopeBytes);
  const std::string good = deflated_message(MessageType::kSyncRequest, raw);
  ASSERT_EQ(decode_sync_request(good).value(), sample_request());

  std::string cut = good.substr(0, good.size() - 6);  // the stream ends early
  fix_length(cut);
  Status s = decode_sync_request(cut).status();
  EXPECT_EQ(s.reason(), reason(SyncReason::kMalformedMessage));
  EXPECT_NE(s.detail().find("damaged"), std::string::npos) << s.detail();

  std::string padded = good + "xy";  // bytes after the stream
  fix_length(padded);
  s = decode_sync_request(padded).status();
  EXPECT_EQ(s.reason(), reason(SyncReason::kMalformedMessage));
  EXPECT_NE(s.detail().find("after the compressed stream"), std::string::npos) << s.detail();

  std::string flipped = good;
  flipped[kEnvelopeBytes + 1] = static_cast<char>(flipped[kEnvelopeBytes + 1] ^ 0x5A);  // zlib header check
  fix_length(flipped);
  EXPECT_EQ(decode_sync_request(flipped).status().reason(), reason(SyncReason::kMalformedMessage));
}

TEST(Protocol, ResultIdsArePairedWithTheRequestByPosition) {
  const SyncRequest sent = sample_request();
  SyncResponse answer;
  for (std::size_t i = 0; i < sent.ops.size(); ++i) answer.results.push_back(OpResult{{}, 50 + i, StatusCode::kOk, 0, {}});
  auto back = decode_sync_response(encode_message(answer)).value();
  for (const OpResult& r : back.results) EXPECT_TRUE(r.op_id.empty());
  ASSERT_TRUE(pair_results(sent, back).is_ok());
  for (std::size_t i = 0; i < sent.ops.size(); ++i) EXPECT_EQ(back.results[i].op_id, sent.ops[i].id);

  back.results.pop_back();
  const Status s = pair_results(sent, back);
  EXPECT_EQ(s.reason(), reason(SyncReason::kMalformedMessage));
}

// The entries the server leaves out of its answer to the author are rebuilt
// from the request: plain content operations only, within (cursor, answer's
// cursor], not already present, in seq order.
TEST(Protocol, OwnEntriesRebuildExactlyTheElidedPlainOperations) {
  const SyncRequest sent = sample_request();  // cursor 41; op-1 create … op-7 resolve
  SyncResponse answer;
  answer.results = {OpResult{"op-1", 42, StatusCode::kOk, 0, {}},  // create: never rebuilt
                    OpResult{"op-2", 46, StatusCode::kOk, 0, {}},  // set: sent in full below
                    OpResult{"op-3", 44, StatusCode::kOk, 0, {}},  // set: rebuilt
                    OpResult{"op-4", 43, StatusCode::kOk, 0, {}},  // insert: rebuilt
                    OpResult{"op-5", 0, StatusCode::kNotFound, 1005, "行不存在"},  // rejected
                    OpResult{"op-6", 47, StatusCode::kOk, 0, {}},  // workflow: never rebuilt
                    OpResult{"op-7", 49, StatusCode::kOk, 0, {}}};  // beyond the answer's cursor
  LogEntry merged;
  merged.seq = 46;
  merged.form_id = sent.ops[1].form_id;
  merged.op_id = "op-2";
  merged.effects.emplace_back(CellWritten{CellRef::field("project_name"), text("合并后的名称")});
  answer.entries.push_back(merged);
  answer.cursor = 48;

  const std::vector<LogEntry> own = own_entries(sent, answer);
  ASSERT_EQ(own.size(), 2u);
  EXPECT_EQ(own[0].seq, 43u);
  EXPECT_EQ(own[0].op_id, "op-4");
  EXPECT_EQ(own[0].effects, plain_effects(sent.ops[3]).value());
  EXPECT_EQ(own[1].seq, 44u);
  EXPECT_EQ(own[1].op_id, "op-3");
  EXPECT_EQ(own[1].author, "p1");
  EXPECT_EQ(own[1].device, "dev-p1");
  EXPECT_EQ(own[1].hlc, sent.ops[2].hlc);
  ASSERT_EQ(own[1].effects.size(), 1u);
  EXPECT_EQ(std::get<CellWritten>(own[1].effects[0]).value, CellValue::of_money(Money::from_fen(808'647'564)));

  // At or below the request's cursor the replica has them already.
  SyncRequest later = sent;
  later.cursor = 44;
  EXPECT_TRUE(own_entries(later, answer).empty());
}

// ---- the envelope ---------------------------------------------------------------------------

TEST(Protocol, EveryTruncationOfAValidMessageIsRefused) {
  for (const std::string& bytes : {encode_message(sample_request()), encode_message(sample_response()),
                                   encode_message(sample_error())}) {
    for (std::size_t n = 0; n < bytes.size(); ++n) {
      const std::string cut = bytes.substr(0, n);
      // As sent: the envelope's length no longer matches.
      EXPECT_FALSE(decode_sync_request(cut).is_ok()) << n;
      EXPECT_FALSE(decode_sync_response(cut).is_ok()) << n;
      EXPECT_FALSE(decode_error_response(cut).is_ok()) << n;
      // With a forged length that matches: the payload itself ends early.
      if (n < kEnvelopeBytes) continue;
      std::string forged = cut;
      fix_length(forged);
      const auto type = peek_message_type(forged).value();
      Status s = type == MessageType::kSyncRequest    ? decode_sync_request(forged).status()
                 : type == MessageType::kSyncResponse ? decode_sync_response(forged).status()
                                                      : decode_error_response(forged).status();
      EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << n;
      EXPECT_EQ(s.reason(), reason(SyncReason::kMalformedMessage)) << n;
    }
  }
}

TEST(Protocol, BadMagicIsRefused) {
  std::string bytes = encode_message(sample_request());
  bytes[0] = 'X';
  const Status s = decode_sync_request(bytes).status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.reason(), reason(SyncReason::kMalformedMessage));
  EXPECT_FALSE(peek_message_type(bytes).is_ok());
}

TEST(Protocol, AnotherProtocolVersionIsUnsupportedAndSaysSoInChinese) {
  std::string bytes = encode_message(sample_request());
  bytes[3] = static_cast<char>(kProtocolVersion + 1);
  const Status s = decode_sync_request(bytes).status();
  EXPECT_EQ(s.code(), StatusCode::kUnsupportedVersion);
  EXPECT_EQ(s.reason(), reason(SyncReason::kUnsupportedProtocol));
  EXPECT_NE(s.message().find("协议版本"), std::string::npos) << s.message();
  bytes[3] = 0;
  EXPECT_EQ(decode_sync_request(bytes).status().code(), StatusCode::kUnsupportedVersion);
}

TEST(Protocol, UnknownOrUnexpectedMessageTypeIsRefused) {
  std::string bytes = encode_message(sample_request());
  bytes[4] = 99;
  EXPECT_FALSE(peek_message_type(bytes).is_ok());
  EXPECT_EQ(decode_sync_request(bytes).status().reason(), reason(SyncReason::kMalformedMessage));
  bytes[4] = 0;
  EXPECT_FALSE(peek_message_type(bytes).is_ok());
  // A sound message of another type than the one expected.
  const std::string response = encode_message(sample_response());
  EXPECT_EQ(decode_sync_request(response).status().reason(), reason(SyncReason::kMalformedMessage));
  EXPECT_EQ(decode_error_response(response).status().reason(), reason(SyncReason::kMalformedMessage));
}

TEST(Protocol, UnknownFlagsAreRefused) {
  for (const std::uint16_t flags : {std::uint16_t{2}, std::uint16_t{3}, std::uint16_t{0x8000}}) {
    std::string bytes = encode_message(sample_request());
    bytes[6] = static_cast<char>(flags & 0xFF);
    bytes[7] = static_cast<char>(flags >> 8);
    const Status s = decode_sync_request(bytes).status();
    EXPECT_EQ(s.reason(), reason(SyncReason::kMalformedMessage)) << flags;
    EXPECT_NE(s.detail().find("unknown flags"), std::string::npos) << s.detail();
  }
}

TEST(Protocol, PayloadLongerThanOneMebibyteIsRefusedBeforeItArrives) {
  // Only the envelope is there: the length alone decides.
  std::string bytes = encode_message(SyncRequest{}).substr(0, kEnvelopeBytes);
  put_u32(bytes, 8, kMaxPayloadBytes + 1);
  Status s = decode_sync_request(bytes).status();
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(s.reason(), reason(SyncReason::kMessageTooLarge));
  put_u32(bytes, 8, 0xFFFFFFFFu);
  EXPECT_EQ(decode_sync_request(bytes).status().code(), StatusCode::kResourceExhausted);
}

TEST(Protocol, PayloadLengthThatDoesNotMatchTheBytesIsRefused) {
  std::string bytes = encode_message(sample_request());
  put_u32(bytes, 8, static_cast<std::uint32_t>(bytes.size() - kEnvelopeBytes - 1));
  EXPECT_EQ(decode_sync_request(bytes).status().reason(), reason(SyncReason::kMalformedMessage));
  put_u32(bytes, 8, static_cast<std::uint32_t>(bytes.size() - kEnvelopeBytes + 1));
  EXPECT_EQ(decode_sync_request(bytes).status().reason(), reason(SyncReason::kMalformedMessage));
}

TEST(Protocol, TrailingBytesAfterTheMessageAreRefused) {
  std::string bytes = encode_message(sample_request(), Compression::kNone);
  bytes += '\0';
  fix_length(bytes);
  const Status s = decode_sync_request(bytes).status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.reason(), reason(SyncReason::kMalformedMessage));
  EXPECT_NE(s.detail().find("trailing"), std::string::npos) << s.detail();
}

// ---- container sizes from the wire ------------------------------------------------------------

// The payload of a SyncRequest without operations, in cereal's layout:
//   u32 class version, u64 request_id, u64+bytes device, u64+bytes user,
//   u64 cursor, u64 ops count, u32 max_response_bytes.
struct RequestLayout {
  SyncRequest m;
  std::string bytes;
  std::size_t device_size_at = 0;
  std::size_t ops_count_at = 0;
};
RequestLayout request_layout() {
  RequestLayout l;
  l.m.request_id = 1;
  l.m.device = "dev-p1";
  l.m.user = "p1";
  l.m.cursor = 5;
  l.bytes = encode_message(l.m, Compression::kNone);
  l.device_size_at = kEnvelopeBytes + 4 + 8;
  l.ops_count_at = l.device_size_at + 8 + l.m.device.size() + 8 + l.m.user.size() + 8;
  return l;
}

TEST(Protocol, TheCraftedLayoutIsTheRealOne) {
  const RequestLayout l = request_layout();
  ASSERT_EQ(l.bytes.size(), l.ops_count_at + 8 + 4);
  std::string one = l.bytes;
  put_u64(one, l.ops_count_at, 0);
  EXPECT_TRUE(decode_sync_request(one).is_ok());
}

TEST(Protocol, AnOperationsCountOfTenToTheTwelveIsRefusedWithoutAllocating) {
  RequestLayout l = request_layout();
  put_u64(l.bytes, l.ops_count_at, 1'000'000'000'000ULL);
  AllocationProbe probe;
  const auto started = std::chrono::steady_clock::now();
  const Status s = decode_sync_request(l.bytes).status();
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.reason(), reason(SyncReason::kMalformedMessage));
  EXPECT_LT(probe.largest(), 4096U);
  EXPECT_LT(took, std::chrono::seconds(1));
}

TEST(Protocol, AStringLengthOfTwoToTheSixtyIsRefusedWithoutAllocating) {
  RequestLayout l = request_layout();
  put_u64(l.bytes, l.device_size_at, 1ULL << 60);
  AllocationProbe probe;
  const Status s = decode_sync_request(l.bytes).status();
  EXPECT_EQ(s.reason(), reason(SyncReason::kMalformedMessage));
  EXPECT_LT(probe.largest(), 4096U);
}

// Every 8-byte window of a rich response is overwritten with a huge count
// (2^60 and 10^12): wherever a container size sits, it is refused, and no
// allocation is ever larger than a small multiple of the message itself.
TEST(Protocol, AHugeCountAnywhereInAResponseNeverAllocatesMoreThanTheMessage) {
  const std::string valid = encode_message(sample_response(), Compression::kNone);
  std::size_t largest = 0;
  const auto started = std::chrono::steady_clock::now();
  for (const std::uint64_t huge : {1ULL << 60, 1'000'000'000'000ULL}) {
    for (std::size_t at = kEnvelopeBytes; at + 8 <= valid.size(); ++at) {
      std::string bytes = valid;
      put_u64(bytes, at, huge);
      AllocationProbe probe;
      auto r = decode_sync_response(bytes);
      largest = std::max(largest, probe.largest());
    }
  }
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_LT(largest, 64 * valid.size()) << "message of " << valid.size() << " bytes";
  EXPECT_LT(took, std::chrono::seconds(20));
}

// ---- random damage ----------------------------------------------------------------------------

// Bytes flipped at random, seeded: decoding returns a Status or a message,
// never crashes or reads out of bounds (run under ASan/UBSan:
// -DJIXIAO_SANITIZE=ON). JIXIAO_SYNC_SEED reproduces a run.
TEST(Protocol, RandomlyDamagedMessagesNeverCrashTheDecoder) {
  const std::uint64_t seed = seed_from_env();
  std::cout << "[ seed     ] JIXIAO_SYNC_SEED=" << seed << std::endl;
  RecordProperty("seed", std::to_string(seed));
  std::mt19937_64 rng(seed);
  const std::string messages[] = {encode_message(sample_request()), encode_message(sample_response()),
                                  encode_message(sample_error()),
                                  encode_message(sample_request(), Compression::kNone),
                                  encode_message(sample_response(), Compression::kNone)};
  int decoded_anyway = 0;
  for (int i = 0; i < 20'000; ++i) {
    std::string bytes = messages[rng() % std::size(messages)];
    const std::size_t flips = 1 + rng() % 4;
    // Mostly inside the payload, so the damage reaches the decoder.
    const bool keep_envelope = rng() % 4 != 0;
    for (std::size_t f = 0; f < flips; ++f) {
      const std::size_t lo = keep_envelope ? kEnvelopeBytes : 0;
      const std::size_t at = lo + static_cast<std::size_t>(rng() % (bytes.size() - lo));
      bytes[at] = static_cast<char>(static_cast<unsigned char>(bytes[at]) ^ static_cast<unsigned char>(1 + rng() % 255));
    }
    if (rng() % 8 == 0) bytes.resize(static_cast<std::size_t>(rng() % bytes.size()));
    if (rng() % 2 == 0 && bytes.size() >= kEnvelopeBytes) fix_length(bytes);
    decode_all(bytes);
    if (decode_sync_request(bytes).is_ok() || decode_sync_response(bytes).is_ok()) ++decoded_anyway;
  }
  // Some damage hits string bytes and still decodes: that is fine; the
  // server checks every field it uses.
  RecordProperty("decoded_anyway", decoded_anyway);
}

}  // namespace
}  // namespace jixiao::sync
