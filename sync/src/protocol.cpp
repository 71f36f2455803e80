#include "jixiao/sync/protocol.h"

#include "protocol_cereal.h"
#include "jixiao/common/bounded_archive.h"

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

template <typename T>
std::string encode(MessageType type, const T& message) {
  std::string payload;
  {
    WireOutputArchive ar(payload);
    ar(message);
  }
  std::string out;
  out.reserve(kEnvelopeBytes + payload.size());
  out += "JXS";
  out += static_cast<char>(kProtocolVersion);
  put_u16(out, static_cast<std::uint16_t>(type));
  put_u16(out, 0);
  put_u32(out, static_cast<std::uint32_t>(payload.size()));
  out += payload;
  return out;
}

// The envelope, checked before anything else: magic, version, type, length.
Result<std::string_view> open_envelope(std::string_view bytes, MessageType expected) {
  if (bytes.size() < kEnvelopeBytes) return malformed("shorter than the envelope");
  if (bytes.substr(0, 3) != "JXS") return malformed("bad magic");
  const auto version = static_cast<unsigned char>(bytes[3]);
  if (version != kProtocolVersion) {
    return Status(StatusCode::kUnsupportedVersion, static_cast<std::uint16_t>(SyncReason::kUnsupportedProtocol),
                  "客户端与服务器的同步协议版本不一致（对方为第 " + std::to_string(version) + " 版，本机为第 " +
                      std::to_string(kProtocolVersion) + " 版），请升级",
                  "protocol version " + std::to_string(version));
  }
  const std::uint16_t type = get_u16(bytes, 4);
  if (type != static_cast<std::uint16_t>(expected)) return malformed("unexpected message type " + std::to_string(type));
  if (get_u16(bytes, 6) != 0) return malformed("unknown flags");
  const std::uint32_t length = get_u32(bytes, 8);
  if (length > kMaxPayloadBytes) {
    return Status(StatusCode::kResourceExhausted, static_cast<std::uint16_t>(SyncReason::kMessageTooLarge),
                  "同步消息过大", "payload length " + std::to_string(length));
  }
  if (length != bytes.size() - kEnvelopeBytes) return malformed("payload length does not match the bytes");
  return bytes.substr(kEnvelopeBytes);
}

template <typename T>
Result<T> decode(std::string_view bytes, MessageType type) {
  auto payload = open_envelope(bytes, type);
  if (!payload) return payload.status();
  T message;
  try {
    WireInputArchive ar(*payload);
    ar(message);
    if (ar.remaining() != 0) return malformed("trailing bytes after the message");
  } catch (const std::exception& e) {
    return malformed(e.what());
  }
  return message;
}

}  // namespace

std::string encode_message(const SyncRequest& m) { return encode(MessageType::kSyncRequest, m); }
std::string encode_message(const SyncResponse& m) { return encode(MessageType::kSyncResponse, m); }
std::string encode_message(const ErrorResponse& m) { return encode(MessageType::kErrorResponse, m); }
std::string encode_message(const LoginRequest& m) { return encode(MessageType::kLoginRequest, m); }
std::string encode_message(const LoginResponse& m) { return encode(MessageType::kLoginResponse, m); }

Result<MessageType> peek_message_type(std::string_view bytes) {
  if (bytes.size() < kEnvelopeBytes || bytes.substr(0, 3) != "JXS") return malformed("bad envelope");
  const std::uint16_t type = get_u16(bytes, 4);
  if (type < 1 || type > 5) return malformed("unknown message type " + std::to_string(type));
  return static_cast<MessageType>(type);
}

Result<SyncRequest> decode_sync_request(std::string_view b) { return decode<SyncRequest>(b, MessageType::kSyncRequest); }
Result<SyncResponse> decode_sync_response(std::string_view b) {
  return decode<SyncResponse>(b, MessageType::kSyncResponse);
}
Result<ErrorResponse> decode_error_response(std::string_view b) {
  return decode<ErrorResponse>(b, MessageType::kErrorResponse);
}
Result<LoginRequest> decode_login_request(std::string_view b) { return decode<LoginRequest>(b, MessageType::kLoginRequest); }
Result<LoginResponse> decode_login_response(std::string_view b) {
  return decode<LoginResponse>(b, MessageType::kLoginResponse);
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
