// The sync protocol: messages and their wire encoding (docs/protocol.md).
//
//   message  := envelope payload
//   envelope := magic "JXS" (3 bytes)
//               protocol_version : u8        (kMinProtocolVersion..kProtocolVersion)
//               message_type     : u16 LE    (MessageType)
//               flags            : u16 LE    (kFlagDeflate or 0; other bits refused)
//               payload_length   : u32 LE    (≤ kMaxPayloadBytes, = bytes that follow)
//   payload  := cereal binary archive of the message struct (little-endian,
//               u64 container sizes, u32 class version on a type's first use),
//               or, with kFlagDeflate, that archive as a zlib stream (RFC 1950)
//               whose inflated size is again at most kMaxPayloadBytes
//
// Compression is per message and the sender's choice: encode_message deflates
// a payload of kCompressFromBytes or more and keeps the result only when it is
// smaller: requests at zlib's best level (office links run at 64 kbit/s; an
// office PC's CPU is idle), answers at the default level (the server's CPU is
// shared by every office).
//
// Evolving it (docs/protocol.md): every change of the wire after version 3 is
// a Capability (common/wire_options.h). The client lists what it
// understands in its LoginRequest; the server answers with what both
// understand and from then on encodes everything for that connection with
// the peer's WireOptions (its envelope version and those capabilities); the
// client decodes with what its LoginResponse said. A field added under a
// capability is written and read only when it was negotiated, so an older
// peer gets exactly the bytes it knows. A version-2 peer (no capabilities)
// is answered in version 2.
//
// Decoding is hostile-input safe: the envelope's magic, version, type and
// length are checked before any byte of the payload is decoded, and the
// payload is read by a bounded archive that refuses any container size
// larger than the bytes that remain and never allocates ahead of the bytes
// it has actually read. Every failure is a Status (kInvalidArgument for a
// malformed message, kUnsupportedVersion for another protocol version,
// kResourceExhausted for an oversized one); nothing throws out of decode.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "jixiao/common/status.h"
#include "jixiao/common/wire_options.h"
#include "jixiao/sync/model.h"
#include "jixiao/workflow/round.h"

namespace jixiao::sync {

// Version 3: capabilities negotiated at login. Version 2 (payload
// compression, OpResult without the operation id) is still read and
// answered in kind. Defined in common/wire_options.h with the capabilities,
// because the archive carries them.
using ::jixiao::kFirstCapabilityVersion;
using ::jixiao::kMinProtocolVersion;
using ::jixiao::kProtocolVersion;
using ::jixiao::Capabilities;
using ::jixiao::Capability;
using ::jixiao::capability_from_name;
using ::jixiao::capability_name;
using ::jixiao::WireOptions;
inline constexpr std::size_t kEnvelopeBytes = 12;
// The most one message may carry, on the wire and after inflating. Answers
// are filled up to this (less a margin) so that a finance bureau fetching a
// whole city needs few round trips; what a client sends is smaller still
// (kMaxRequestOpsBytes), and the server's own read limit is its
// max_message_bytes setting.
inline constexpr std::uint32_t kMaxPayloadBytes = 8u << 20;  // 8 MiB
// The encoded operations one request carries at most.
inline constexpr std::uint32_t kMaxRequestOpsBytes = 512u << 10;  // 512 KiB
inline constexpr std::uint16_t kFlagDeflate = 1;
inline constexpr std::size_t kCompressFromBytes = 256;

// Never renumbered; new types are appended.
enum class MessageType : std::uint16_t {
  kSyncRequest = 1,
  kSyncResponse = 2,
  kErrorResponse = 3,
  kLoginRequest = 4,
  kLoginResponse = 5,
};

// What the client should do about an error (realm-style: an instruction,
// not a string to parse).
enum class NextStep : std::uint8_t {
  kRetry = 0,       // transient: send the same request again later
  kReauthenticate = 1,
  // The replica cannot continue from where it is: e.g. the server was
  // restored from a backup and its log ends before this replica's cursor,
  // so "everything after the cursor" would skip what the server now has.
  // What the reset will do: fetch fresh snapshots of every visible form
  // (cursor 0), keep the outbox (the operations are idempotent by id) and
  // send it again. Until the restore issue implements that reset, the
  // client treats it like kGiveUp: it stops the cycle and reports the
  // server's message in last_error(); nothing local is dropped.
  kResetReplica = 2,
  kGiveUp = 3,        // a bug or a policy refusal: tell the user
};

// Client -> server: "here is what I did; send me what I have not seen".
// Carries the whole outbox (up to the size limit) and the cursor, so a week
// of offline work travels in one round trip.
struct SyncRequest {
  std::uint64_t request_id = 0;
  DeviceId device;
  UserId user;
  ServerSeq cursor = 0;  // the last ServerSeq this replica has applied
  std::vector<Operation> ops;
  std::uint32_t max_response_bytes = kMaxPayloadBytes;
  friend bool operator==(const SyncRequest&, const SyncRequest&) = default;
};

// The server's answer for one operation. Repeating an operation (same id)
// gets the same answer: replays change nothing.
//
// `op_id` does not travel: SyncResponse::results answers the request's
// operations one for one, in order, so the receiver fills it in with
// pair_results() (the request is what it sent).
struct OpResult {
  OpId op_id;
  ServerSeq seq = 0;  // > 0: applied as this log entry; 0: rejected
  StatusCode code = StatusCode::kOk;
  std::uint16_t reason = 0;  // workflow refusal or SyncReason
  std::string message;       // Chinese, for the author
  friend bool operator==(const OpResult&, const OpResult&) = default;
};

// A form the receiver could not see before (it just reached the receiver's
// unit): its whole replica as of `replica.last_seq`.
struct FormSnapshot {
  FormReplica replica;
  friend bool operator==(const FormSnapshot&, const FormSnapshot&) = default;
};

// Where a round stands, for the finance bureau that opened it (every unit)
// and for a city 科协 (itself and its districts). Computed by the server at
// answer time; replaces what the client had.
struct RoundReport {
  workflow::Round round;
  std::vector<workflow::FormProgress> progress;
  friend bool operator==(const RoundReport&, const RoundReport&) = default;
};

struct SyncResponse {
  std::uint64_t request_id = 0;
  std::vector<OpResult> results;      // one per operation of the request, in order
  std::vector<FormSnapshot> snapshots;
  // Ascending seq, only forms the user may see. The requester's own
  // operations of this request whose logged effects are exactly
  // plain_effects() of the operation are left out ("elided"): the requester
  // rebuilds those entries from what it sent (own_entries()). An entry the
  // server's merge changed is always sent.
  std::vector<LogEntry> entries;
  ServerSeq cursor = 0;               // apply everything, then store this cursor
  bool more = false;                  // more entries wait: ask again at once
  std::vector<RoundReport> rounds;    // for finance bureau and city users; empty otherwise
  friend bool operator==(const SyncResponse&, const SyncResponse&) = default;
};

struct ErrorResponse {
  std::uint64_t request_id = 0;
  StatusCode code = StatusCode::kInternal;
  std::uint16_t reason = 0;
  NextStep next = NextStep::kGiveUp;
  std::string message;  // Chinese
  friend bool operator==(const ErrorResponse&, const ErrorResponse&) = default;
};

// The first message on a connection (and again whenever a token expires):
// a password login, or the resumption of a session with its token. Every
// later message on the connection is checked against the session again.
//
// The envelope version of the LoginRequest is the client's; the server
// answers in it (negotiate()) when it supports it.
struct LoginRequest {
  UserId user;
  DeviceId device;
  std::string password;  // empty when resuming with `token`
  std::string token;
  std::string client_version;
  // Version 3 on: what the client understands, as wire names (names the
  // server does not know are dropped when read). A version-2 request has
  // none.
  Capabilities capabilities{};
  friend bool operator==(const LoginRequest&, const LoginRequest&) = default;
};

struct LoginResponse {
  std::string token;  // the session's token (the same one when resuming)
  User user;          // id, name, unit, roles as the server knows them
  std::string unit_name;
  std::int64_t server_time_ms = 0;
  // Version 3 on: the negotiated set, what both sides understand; every
  // later message on the connection is encoded with it.
  Capabilities capabilities{};
  friend bool operator==(const LoginResponse&, const LoginResponse&) = default;
};

// The server's side of the handshake: the options for a connection whose
// LoginRequest came in an envelope of `peer_version` offering `offered`.
// The version is the peer's (at most ours); the capabilities are those both
// understand, none below kFirstCapabilityVersion.
WireOptions negotiate(std::uint8_t peer_version, const Capabilities& offered,
                      const Capabilities& ours = Capabilities::all());

// Sync-level reasons (Status::reason()), never renumbered. Workflow refusals
// use 101–402 (workflow/refusal.h); these start at 1001.
enum class SyncReason : std::uint16_t {
  kUnknownForm = 1001,        // 表单不存在
  kFormExists = 1002,         // 表单编号已存在
  kBadCell = 1003,            // 单元格不存在或值的类型不对
  kRowExists = 1004,          // 行编号已存在
  kRowMissing = 1005,         // 行不存在
  kConflictMissing = 1006,    // 冲突记录不存在
  kConflictClosed = 1007,     // 冲突已被处理
  kOpIdReused = 1008,         // 操作编号已用于另一内容
  kNotAuthorOfDevice = 1009,  // 操作的作者或设备与会话不符
  kUnknownTemplate = 1010,    // 模板不存在
  kOutOfScope = 1011,         // 无权访问该单位的表单
  kMalformedMessage = 1012,   // 消息格式错误
  kUnsupportedProtocol = 1013,
  kMessageTooLarge = 1014,
};

// Message <-> bytes (envelope + payload).
enum class Compression : std::uint8_t {
  kAuto = 0,  // deflate when the payload is large enough and it pays
  kNone = 1,  // never (tests that look inside payloads)
};
// For a peer with `peer`: the envelope carries peer.version, and only the
// fields of its capabilities are written. A version outside
// kMinProtocolVersion..kProtocolVersion is a bug of the caller; it is
// clamped into that range.
std::string encode_message(const SyncRequest& m, const WireOptions& peer, Compression c = Compression::kAuto);
std::string encode_message(const SyncResponse& m, const WireOptions& peer, Compression c = Compression::kAuto);
std::string encode_message(const ErrorResponse& m, const WireOptions& peer, Compression c = Compression::kAuto);
std::string encode_message(const LoginRequest& m, const WireOptions& peer, Compression c = Compression::kAuto);
std::string encode_message(const LoginResponse& m, const WireOptions& peer, Compression c = Compression::kAuto);
// For a peer like this build: the current version, every capability.
std::string encode_message(const SyncRequest& m, Compression c = Compression::kAuto);
std::string encode_message(const SyncResponse& m, Compression c = Compression::kAuto);
std::string encode_message(const ErrorResponse& m, Compression c = Compression::kAuto);
std::string encode_message(const LoginRequest& m, Compression c = Compression::kAuto);
std::string encode_message(const LoginResponse& m, Compression c = Compression::kAuto);

// Fills results[i].op_id from sent.ops[i]. An answer with another number of
// results than the request had operations is malformed (kInvalidArgument).
Status pair_results(const SyncRequest& sent, SyncResponse& response);

// The log entries of the requester's own accepted operations that the
// response left out (see SyncResponse::entries): for each operation of
// `sent` with a result seq in (cursor_before, response.cursor] whose entry is
// not in the response and whose plain_effects() exist. Call after
// pair_results(). Merge them with response.entries by seq before applying.
std::vector<LogEntry> own_entries(const SyncRequest& sent, const SyncResponse& response);

// Reads only the envelope: the type of a message whose envelope is sound.
Result<MessageType> peek_message_type(std::string_view bytes);
// Reads only the envelope: its protocol version, refused (kUnsupportedVersion,
// in Chinese, naming the versions) outside kMinProtocolVersion..kProtocolVersion.
Result<std::uint8_t> peek_protocol_version(std::string_view bytes);

// Decoding for a connection with `peer`. The payload is read in the layout
// of the envelope's own version (any of kMinProtocolVersion..kProtocolVersion)
// with peer.caps from version 3 on (a version-2 envelope has none).
Result<SyncRequest> decode_sync_request(std::string_view bytes, const WireOptions& peer);
Result<SyncResponse> decode_sync_response(std::string_view bytes, const WireOptions& peer);
Result<ErrorResponse> decode_error_response(std::string_view bytes, const WireOptions& peer);
Result<LoginRequest> decode_login_request(std::string_view bytes, const WireOptions& peer);
Result<LoginResponse> decode_login_response(std::string_view bytes, const WireOptions& peer);
// With every capability of this build (a LoginRequest or LoginResponse,
// whose layout depends on the envelope's version alone, and tests).
Result<SyncRequest> decode_sync_request(std::string_view bytes);
Result<SyncResponse> decode_sync_response(std::string_view bytes);
Result<ErrorResponse> decode_error_response(std::string_view bytes);
Result<LoginRequest> decode_login_request(std::string_view bytes);
Result<LoginResponse> decode_login_response(std::string_view bytes);

// What a client reports for an answer it cannot decode (`why`, the decode
// failure, goes to the detail): kUnsupportedVersion when the envelope's
// version is not one it reads, kCorruption otherwise, with a Chinese
// message telling the person to upgrade the client or call the
// administrator. Resending would bring the same answer: the caller stops.
Status undecodable_answer(const Status& why);

// Size of an encoded log entry, for filling a response up to a byte budget
// (encoded for this build: never less than for an older peer).
std::size_t encoded_size(const LogEntry& entry);
std::size_t encoded_size(const FormSnapshot& snapshot);
std::size_t encoded_size(const Operation& op);

}  // namespace jixiao::sync
