#include "jixiao/sync/protocol.h"

#include <zlib.h>

#include <algorithm>
#include <set>

#include "protocol_cereal.h"
#include "jixiao/common/bounded_archive.h"
#include "jixiao/sync/merge.h"

namespace jixiao::sync {
namespace {

using WireInputArchive = archive::BoundedInputArchive;
using WireOutputArchive = archive::BoundedOutputArchive;

void put_u16(std::string& out, std::uint16_t v) {
  out += static_cast<char>(v & 0xFF);
  out += static_cast<char>(v >> 8);
}
void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}
std::uint32_t get_u32(std::string_view b, std::size_t at) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + i])) << (8 * i);
  return v;
}
std::uint16_t get_u16(std::string_view b, std::size_t at) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(b[at]) |
                                    (static_cast<unsigned char>(b[at + 1]) << 8));
}

Status malformed(std::string detail) {
  return Status(StatusCode::kInvalidArgument, static_cast<std::uint16_t>(SyncReason::kMalformedMessage),
                "同步消息格式错误", std::move(detail));
}

// What a client sends is deflated at the best level (its CPU is idle, its
// link is slow); what the server sends at zlib's default level, which costs
// about 2% more bytes on these payloads but was a quarter of the server's
// CPU less under load (bench/RESULTS.md).
int deflate_level(MessageType type) {
  return type == MessageType::kSyncRequest || type == MessageType::kLoginRequest ? Z_BEST_COMPRESSION
                                                                                 : Z_DEFAULT_COMPRESSION;
}

// zlib stream of `in` at `level`; nullopt if zlib fails (it does not
// for in-memory buffers of this size, but the caller then sends it plain).
std::optional<std::string> deflate_bytes(std::string_view in, int level) {
  z_stream z{};
  if (deflateInit(&z, level) != Z_OK) return std::nullopt;
  std::string out(deflateBound(&z, static_cast<uLong>(in.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  const std::size_t produced = out.size() - z.avail_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) return std::nullopt;
  out.resize(produced);
  return out;
}

// Inflates a zlib stream, refusing output beyond `limit` bytes (read in
// chunks, so a small bomb never allocates more than the limit).
Result<std::string> inflate_bytes(std::string_view in, std::size_t limit) {
  z_stream z{};
  if (inflateInit(&z) != Z_OK) return malformed("inflateInit failed");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char chunk[16384];
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(chunk);
    z.avail_out = sizeof chunk;
    rc = inflate(&z, Z_NO_FLUSH);
    const std::size_t produced = sizeof chunk - z.avail_out;
    if (out.size() + produced > limit) {
      inflateEnd(&z);
      return Status(StatusCode::kResourceExhausted, static_cast<std::uint16_t>(SyncReason::kMessageTooLarge),
                    "同步消息过大", "inflated payload over " + std::to_string(limit) + " bytes");
    }
    out.append(chunk, produced);
    if (rc == Z_BUF_ERROR && z.avail_in == 0) break;  // input ended before the stream did
  }
  const bool complete = rc == Z_STREAM_END && z.avail_in == 0;
  inflateEnd(&z);
  if (!complete) return malformed(rc == Z_STREAM_END ? "bytes after the compressed stream" : "damaged compressed payload");
  return out;
}

// The options an encoder writes for: the peer's, with a version this build
// can write (a caller's slip must not produce an envelope nobody reads).
WireOptions writable(const WireOptions& peer) {
  WireOptions out = peer;
  out.version = std::clamp(peer.version, kMinProtocolVersion, kProtocolVersion);
  if (out.version < kFirstCapabilityVersion) out.caps = Capabilities{};
  return out;
}

template <typename T>
std::string encode(MessageType type, const T& message, const WireOptions& peer, Compression compression) {
  const WireOptions wire = writable(peer);
  std::string payload;
  {
    WireOutputArchive ar(payload, wire);
    ar(message);
  }
  std::uint16_t flags = 0;
  if (compression == Compression::kAuto && payload.size() >= kCompressFromBytes) {
    if (auto packed = deflate_bytes(payload, deflate_level(type)); packed && packed->size() < payload.size()) {
      payload = std::move(*packed);
      flags = kFlagDeflate;
    }
  }
  std::string out;
  out.reserve(kEnvelopeBytes + payload.size());
  out += "JXS";
  out += static_cast<char>(wire.version);
  put_u16(out, static_cast<std::uint16_t>(type));
  put_u16(out, flags);
  put_u32(out, static_cast<std::uint32_t>(payload.size()));
  out += payload;
  return out;
}

Status unsupported_version(unsigned version) {
  return Status(StatusCode::kUnsupportedVersion, static_cast<std::uint16_t>(SyncReason::kUnsupportedProtocol),
                "客户端与服务器的同步协议版本不一致（对方为第 " + std::to_string(version) + " 版，本机支持第 " +
                    std::to_string(kMinProtocolVersion) + "～" + std::to_string(kProtocolVersion) + " 版），请升级",
                "protocol version " + std::to_string(version));
}

// Magic and version: the first four bytes.
Result<std::uint8_t> envelope_version(std::string_view bytes) {
  if (bytes.size() < kEnvelopeBytes) return malformed("shorter than the envelope");
  if (bytes.substr(0, 3) != "JXS") return malformed("bad magic");
  const auto version = static_cast<std::uint8_t>(bytes[3]);
  if (version < kMinProtocolVersion || version > kProtocolVersion) return unsupported_version(version);
  return version;
}

struct Opened {
  std::string payload;
  std::uint8_t version = 0;
};

// The envelope, checked before anything else: magic, version, type, flags,
// length; then the payload, inflated when the flag says so.
Result<Opened> open_envelope(std::string_view bytes, MessageType expected) {
  auto version = envelope_version(bytes);
  if (!version) return version.status();
  const std::uint16_t type = get_u16(bytes, 4);
  if (type != static_cast<std::uint16_t>(expected)) return malformed("unexpected message type " + std::to_string(type));
  const std::uint16_t flags = get_u16(bytes, 6);
  if ((flags & ~kFlagDeflate) != 0) return malformed("unknown flags " + std::to_string(flags));
  const std::uint32_t length = get_u32(bytes, 8);
  if (length > kMaxPayloadBytes) {
    return Status(StatusCode::kResourceExhausted, static_cast<std::uint16_t>(SyncReason::kMessageTooLarge),
                  "同步消息过大", "payload length " + std::to_string(length));
  }
  if (length != bytes.size() - kEnvelopeBytes) return malformed("payload length does not match the bytes");
  if ((flags & kFlagDeflate) != 0) {
    auto inflated = inflate_bytes(bytes.substr(kEnvelopeBytes), kMaxPayloadBytes);
    if (!inflated) return inflated.status();
    return Opened{std::move(inflated).value(), *version};
  }
  return Opened{std::string(bytes.substr(kEnvelopeBytes)), *version};
}

// The payload is in the layout of the envelope's version, with the peer's
// capabilities (none before version 3).
template <typename T>
Result<T> decode(std::string_view bytes, MessageType type, const WireOptions& peer) {
  auto opened = open_envelope(bytes, type);
  if (!opened) return opened.status();
  WireOptions wire{opened->version, opened->version >= kFirstCapabilityVersion ? peer.caps : Capabilities{}};
  T message;
  try {
    WireInputArchive ar(opened->payload, wire);
    ar(message);
    if (ar.remaining() != 0) return malformed("trailing bytes after the message");
  } catch (const std::exception& e) {
    return malformed(e.what());
  }
  return message;
}

}  // namespace

WireOptions negotiate(std::uint8_t peer_version, const Capabilities& offered, const Capabilities& ours) {
  WireOptions out;
  out.version = std::clamp(peer_version, kMinProtocolVersion, kProtocolVersion);
  out.caps = out.version >= kFirstCapabilityVersion ? offered & ours & Capabilities::all() : Capabilities{};
  return out;
}

std::string encode_message(const SyncRequest& m, const WireOptions& peer, Compression c) {
  return encode(MessageType::kSyncRequest, m, peer, c);
}
std::string encode_message(const SyncResponse& m, const WireOptions& peer, Compression c) {
  return encode(MessageType::kSyncResponse, m, peer, c);
}
std::string encode_message(const ErrorResponse& m, const WireOptions& peer, Compression c) {
  return encode(MessageType::kErrorResponse, m, peer, c);
}
std::string encode_message(const LoginRequest& m, const WireOptions& peer, Compression c) {
  return encode(MessageType::kLoginRequest, m, peer, c);
}
std::string encode_message(const LoginResponse& m, const WireOptions& peer, Compression c) {
  return encode(MessageType::kLoginResponse, m, peer, c);
}
std::string encode_message(const SyncRequest& m, Compression c) { return encode_message(m, WireOptions{}, c); }
std::string encode_message(const SyncResponse& m, Compression c) { return encode_message(m, WireOptions{}, c); }
std::string encode_message(const ErrorResponse& m, Compression c) { return encode_message(m, WireOptions{}, c); }
std::string encode_message(const LoginRequest& m, Compression c) { return encode_message(m, WireOptions{}, c); }
std::string encode_message(const LoginResponse& m, Compression c) { return encode_message(m, WireOptions{}, c); }

Status pair_results(const SyncRequest& sent, SyncResponse& response) {
  if (response.results.size() != sent.ops.size()) {
    return malformed("answer has " + std::to_string(response.results.size()) + " results for " +
                     std::to_string(sent.ops.size()) + " operations");
  }
  for (std::size_t i = 0; i < sent.ops.size(); ++i) response.results[i].op_id = sent.ops[i].id;
  return Status::ok();
}

std::vector<LogEntry> own_entries(const SyncRequest& sent, const SyncResponse& response) {
  std::set<ServerSeq> present;
  for (const LogEntry& e : response.entries) present.insert(e.seq);
  std::vector<LogEntry> out;
  const std::size_t n = std::min(sent.ops.size(), response.results.size());
  for (std::size_t i = 0; i < n; ++i) {
    const ServerSeq seq = response.results[i].seq;
    if (seq == 0 || seq <= sent.cursor || seq > response.cursor || present.count(seq) != 0) continue;
    const Operation& op = sent.ops[i];
    auto effects = plain_effects(op);
    if (!effects) continue;
    present.insert(seq);  // the same operation twice in one request: once
    out.push_back(LogEntry{seq, op.form_id, op.id, op.author, op.device, op.hlc, std::move(*effects)});
  }
  std::sort(out.begin(), out.end(), [](const LogEntry& a, const LogEntry& b) { return a.seq < b.seq; });
  return out;
}

Result<MessageType> peek_message_type(std::string_view bytes) {
  if (bytes.size() < kEnvelopeBytes || bytes.substr(0, 3) != "JXS") return malformed("bad envelope");
  const std::uint16_t type = get_u16(bytes, 4);
  if (type < 1 || type > 5) return malformed("unknown message type " + std::to_string(type));
  return static_cast<MessageType>(type);
}

Result<std::uint8_t> peek_protocol_version(std::string_view bytes) { return envelope_version(bytes); }

Result<SyncRequest> decode_sync_request(std::string_view b, const WireOptions& peer) {
  return decode<SyncRequest>(b, MessageType::kSyncRequest, peer);
}
Result<SyncResponse> decode_sync_response(std::string_view b, const WireOptions& peer) {
  return decode<SyncResponse>(b, MessageType::kSyncResponse, peer);
}
Result<ErrorResponse> decode_error_response(std::string_view b, const WireOptions& peer) {
  return decode<ErrorResponse>(b, MessageType::kErrorResponse, peer);
}
Result<LoginRequest> decode_login_request(std::string_view b, const WireOptions& peer) {
  return decode<LoginRequest>(b, MessageType::kLoginRequest, peer);
}
Result<LoginResponse> decode_login_response(std::string_view b, const WireOptions& peer) {
  return decode<LoginResponse>(b, MessageType::kLoginResponse, peer);
}
Result<SyncRequest> decode_sync_request(std::string_view b) { return decode_sync_request(b, WireOptions{}); }
Result<SyncResponse> decode_sync_response(std::string_view b) { return decode_sync_response(b, WireOptions{}); }
Result<ErrorResponse> decode_error_response(std::string_view b) { return decode_error_response(b, WireOptions{}); }
Result<LoginRequest> decode_login_request(std::string_view b) { return decode_login_request(b, WireOptions{}); }
Result<LoginResponse> decode_login_response(std::string_view b) { return decode_login_response(b, WireOptions{}); }

Status undecodable_answer(const Status& why) {
  const StatusCode code =
      why.code() == StatusCode::kUnsupportedVersion ? StatusCode::kUnsupportedVersion : StatusCode::kCorruption;
  return Status(code, why.reason(), "无法识别服务器的应答（协议版本或内容不兼容），请升级客户端或联系管理员",
                "undecodable answer: " + why.to_string());
}

std::size_t encoded_size(const LogEntry& entry) {
  std::string out;
  WireOutputArchive ar(out);
  ar(entry);
  return out.size();
}

std::size_t encoded_size(const Operation& op) {
  std::string out;
  WireOutputArchive ar(out);
  ar(op);
  return out.size();
}

std::size_t encoded_size(const FormSnapshot& snapshot) {
  std::string out;
  WireOutputArchive ar(out);
  ar(snapshot);
  return out.size();
}

}  // namespace jixiao::sync
