// Protocol version 3: capabilities negotiated at login (docs/protocol.md,
// "Evolving the protocol"). What an office client of release 2 sends and
// reads is pinned byte for byte: the golden messages below were encoded by
// release 2's encoder (commit dc03833, Compression::kNone), and encoding the
// same messages for a version-2 peer must still give exactly those bytes.
#include <gtest/gtest.h>

#include <string>

#include "jixiao/sync/protocol.h"

namespace jixiao::sync {
namespace {

std::string from_hex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    const auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
    out += static_cast<char>(nibble(hex[i]) * 16 + nibble(hex[i + 1]));
  }
  return out;
}

void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFFu);
}
void put_string(std::string& out, std::string_view s) {
  put_u64(out, s.size());
  out += s;
}
void fix_length(std::string& bytes) {
  const auto length = static_cast<std::uint32_t>(bytes.size() - kEnvelopeBytes);
  for (std::size_t i = 0; i < 4; ++i) bytes[8 + i] = static_cast<char>((length >> (8 * i)) & 0xFFu);
}
unsigned version_of(const std::string& bytes) { return static_cast<unsigned char>(bytes.at(3)); }

const WireOptions kRelease2{2, {}};
const WireOptions kV3NoCaps{3, {}};

// ---- the release-2 messages and their bytes ----------------------------------------------

LoginRequest golden_login_request() { return LoginRequest{"p1", "dev-p1", "pass2022word1", "", "jixiao 0.1.0", {}}; }

LoginResponse golden_login_response() {
  LoginResponse m;
  m.token = "tok-123";
  m.user = User{"f1", "财政局审核人", "F001", {Role::kFinanceReviewer}, false};
  m.unit_name = "保定市财政局";
  m.server_time_ms = 1'641'772'800'000;
  return m;
}

// A finance bureau's round report: one line in review (holder, a return,
// overdue), one not started.
SyncResponse golden_round_response() {
  SyncResponse m;
  m.request_id = 9;
  m.cursor = 3;
  RoundReport report;
  report.round.spec.round_id = "round-1";
  report.round.spec.fiscal_year = 2021;
  report.round.spec.notice_number = "保财预[2021]4号";
  report.round.spec.deadline = workflow::TimePoint(std::chrono::milliseconds(1'648'684'800'000));
  report.round.spec.requirements.push_back({"731101", {"project_self_eval_row_points"}});
  report.round.finance_bureau = "F001";
  report.round.opened_by = "f1";
  report.round.opened_at = workflow::TimePoint(std::chrono::milliseconds(1'641'772'800'000));
  workflow::FormProgress a;
  a.unit = "731101";
  a.form_kind = "project_self_eval_row_points";
  a.kind = workflow::ProgressKind::kInReview;
  a.submissions = 1;
  a.holder = workflow::Holder{"unit_review", "单位审核", Role::kUnitReviewer, "731101"};
  a.return_count = 1;
  a.overdue = true;
  workflow::FormProgress b;
  b.unit = "731102";
  b.form_kind = "project_self_eval_row_points";
  report.progress = {a, b};
  m.rounds.push_back(report);
  return m;
}

ErrorResponse golden_error() {
  return ErrorResponse{7, StatusCode::kUnavailable, 0, NextStep::kRetry, "服务器繁忙，请稍后重试"};
}

const std::string kGoldenLoginRequest = from_hex(
    "4a585302040000004d000000000000000200000000000000703106000000000000006465762d70310d00000000000000"
    "7061737332303232776f72643100000000000000000c000000000000006a697869616f20302e312e30");
const std::string kGoldenLoginResponse = from_hex(
    "4a5853020500000073000000000000000700000000000000746f6b2d3132330000000002000000000000006631120000"
    "0000000000e8b4a2e694bfe5b180e5aea1e6a0b8e4baba04000000000000004630303101000000000000000400120000"
    "0000000000e4bf9de5ae9ae5b882e8b4a2e694bfe5b18000d848417e010000");
const std::string kGoldenRoundResponse = from_hex(
    "4a58530202000000a3010000000000000900000000000000000000000000000000000000000000000000000000000000"
    "03000000000000000001000000000000000000000000000000000000000700000000000000726f756e642d31e5070000"
    "1300000000000000e4bf9de8b4a2e9a2845b323032315d34e58fb7009845dd7f01000001000000000000000000000006"
    "0000000000000037333131303101000000000000001c0000000000000070726f6a6563745f73656c665f6576616c5f72"
    "6f775f706f696e74730400000000000000463030310200000000000000663100d848417e010000020000000000000000"
    "00000006000000000000003733313130311c0000000000000070726f6a6563745f73656c665f6576616c5f726f775f70"
    "6f696e747303010000000000000000000000000b00000000000000756e69745f7265766965770c00000000000000e58d"
    "95e4bd8de5aea1e6a0b8010600000000000000373331313031010000000106000000000000003733313130321c000000"
    "0000000070726f6a6563745f73656c665f6576616c5f726f775f706f696e7473000000000000000000010000000000");
const std::string kGoldenError = from_hex(
    "4a585302030000003a00000000000000070000000000000005000000002100000000000000e69c8de58aa1e599a8e7b9"
    "81e5bf99efbc8ce8afb7e7a88de5908ee9878de8af95");

// ---- capabilities ------------------------------------------------------------------------------

TEST(Capabilities, NamesAndBitsAreStable) {
  EXPECT_EQ(0, static_cast<int>(Capability::kUnassignedHolder));
  EXPECT_EQ("unassigned-holder", capability_name(Capability::kUnassignedHolder));
  EXPECT_EQ(Capability::kUnassignedHolder, capability_from_name("unassigned-holder"));
  EXPECT_FALSE(capability_from_name("Unassigned-Holder").has_value());
  EXPECT_EQ(1u, Capabilities{Capability::kUnassignedHolder}.bits());
  EXPECT_TRUE(Capabilities::all().has(Capability::kUnassignedHolder));
  EXPECT_EQ(std::vector<std::string>{"unassigned-holder"}, Capabilities::all().names());
  EXPECT_TRUE(Capabilities{}.empty());
  EXPECT_TRUE(Capabilities{}.names().empty());
  EXPECT_EQ(Capabilities{}, Capabilities::all() & Capabilities{});
}

TEST(Capabilities, UnknownNamesFromAPeerAreIgnored) {
  const Capabilities caps =
      Capabilities::from_names({"row-comments", "unassigned-holder", "", "unassigned-holder", "x-9"});
  EXPECT_EQ(Capabilities{Capability::kUnassignedHolder}, caps);
  EXPECT_EQ(Capabilities{}, Capabilities::from_names({"row-comments"}));
}

TEST(Capabilities, TheServerNegotiatesWhatBothSidesUnderstand) {
  // A current client: everything it offered that the server knows.
  EXPECT_EQ((WireOptions{3, {Capability::kUnassignedHolder}}),
            negotiate(3, Capabilities{Capability::kUnassignedHolder}));
  // A version-3 client without the capability.
  EXPECT_EQ(kV3NoCaps, negotiate(3, Capabilities{}));
  // A server that does not have it (an older build, modelled by `ours`).
  EXPECT_EQ(kV3NoCaps, negotiate(3, Capabilities::all(), Capabilities{}));
  // Release 2: no capabilities whatever it carries, answered in version 2.
  EXPECT_EQ(kRelease2, negotiate(2, Capabilities::all()));
}

// ---- version 2 stays byte for byte ---------------------------------------------------------------

TEST(ProtocolVersions, EncodingForARelease2PeerGivesRelease2sBytes) {
  EXPECT_EQ(kGoldenLoginRequest, encode_message(golden_login_request(), kRelease2, Compression::kNone));
  EXPECT_EQ(kGoldenLoginResponse, encode_message(golden_login_response(), kRelease2, Compression::kNone));
  EXPECT_EQ(kGoldenRoundResponse, encode_message(golden_round_response(), kRelease2, Compression::kNone));
  EXPECT_EQ(kGoldenError, encode_message(golden_error(), kRelease2, Compression::kNone));
  // Capabilities a version-2 peer cannot have are not written either: the
  // same bytes when a caller passes some, and when unassigned is set.
  SyncResponse flagged = golden_round_response();
  flagged.rounds[0].progress[0].unassigned = true;
  EXPECT_EQ(kGoldenRoundResponse, encode_message(flagged, WireOptions{2, Capabilities::all()}, Compression::kNone));
  LoginRequest offering = golden_login_request();
  offering.capabilities = Capabilities::all();
  EXPECT_EQ(kGoldenLoginRequest, encode_message(offering, kRelease2, Compression::kNone));
}

TEST(ProtocolVersions, Release2sMessagesAreReadByTheCurrentDecoder) {
  auto login = decode_login_request(kGoldenLoginRequest);
  ASSERT_TRUE(login.is_ok()) << login.status().to_string();
  EXPECT_EQ(golden_login_request(), *login);
  EXPECT_TRUE(login->capabilities.empty());  // a version-2 peer has none
  EXPECT_EQ(2u, peek_protocol_version(kGoldenLoginRequest).value());
  EXPECT_EQ(golden_login_response(), decode_login_response(kGoldenLoginResponse).value());
  EXPECT_EQ(golden_error(), decode_error_response(kGoldenError).value());
  // A version-2 envelope is read without capabilities, whatever the
  // connection negotiated.
  auto rounds = decode_sync_response(kGoldenRoundResponse, WireOptions{});
  ASSERT_TRUE(rounds.is_ok()) << rounds.status().to_string();
  EXPECT_EQ(golden_round_response(), *rounds);
}

TEST(ProtocolVersions, AVersion3PeerWithoutCapabilitiesGetsRelease2sPayloads) {
  const std::string round_v3 = encode_message(golden_round_response(), kV3NoCaps, Compression::kNone);
  EXPECT_EQ(3u, version_of(round_v3));
  EXPECT_EQ(kGoldenRoundResponse.substr(4), round_v3.substr(4));  // all but the version byte
  EXPECT_EQ(golden_round_response(), decode_sync_response(round_v3, kV3NoCaps).value());
  // The login messages add the (empty) capability list at the end.
  std::string login_v3 = kGoldenLoginRequest;
  login_v3[3] = 3;
  put_u64(login_v3, 0);
  fix_length(login_v3);
  EXPECT_EQ(login_v3, encode_message(golden_login_request(), kV3NoCaps, Compression::kNone));
}

TEST(ProtocolVersions, CurrentMessagesRoundTripWithTheirCapabilities) {
  LoginRequest req = golden_login_request();
  req.capabilities = Capabilities::all();
  const std::string req_bytes = encode_message(req);
  EXPECT_EQ(kProtocolVersion, version_of(req_bytes));
  EXPECT_EQ(3u, kProtocolVersion);
  EXPECT_EQ(req, decode_login_request(req_bytes).value());

  LoginResponse resp = golden_login_response();
  resp.capabilities = Capabilities{Capability::kUnassignedHolder};
  const WireOptions negotiated{3, resp.capabilities};
  const std::string resp_bytes = encode_message(resp, negotiated);
  EXPECT_EQ(resp, decode_login_response(resp_bytes).value());

  SyncResponse rounds = golden_round_response();
  rounds.rounds[0].progress[1].unassigned = true;
  for (const Compression c : {Compression::kAuto, Compression::kNone}) {
    const std::string bytes = encode_message(rounds, negotiated, c);
    EXPECT_EQ(rounds, decode_sync_response(bytes, negotiated).value());
  }
  const SyncRequest sync_req{4, "dev-p1", "p1", 3, {}, 65'536};
  EXPECT_EQ(sync_req, decode_sync_request(encode_message(sync_req, kRelease2), kRelease2).value());
  EXPECT_EQ(sync_req, decode_sync_request(encode_message(sync_req, negotiated), negotiated).value());
}

TEST(ProtocolVersions, ACapabilityNameTheServerDoesNotKnowIsIgnored) {
  // A newer client's login: the known capability among names from the
  // future, crafted on the wire (the struct cannot hold unknown ones).
  std::string bytes = encode_message(golden_login_request(), kV3NoCaps, Compression::kNone);
  bytes.resize(bytes.size() - 8);  // the empty list's count
  put_u64(bytes, 3);
  put_string(bytes, "row-comments");
  put_string(bytes, "unassigned-holder");
  put_string(bytes, "attachments-v2");
  fix_length(bytes);
  auto req = decode_login_request(bytes);
  ASSERT_TRUE(req.is_ok()) << req.status().to_string();
  EXPECT_EQ(Capabilities{Capability::kUnassignedHolder}, req->capabilities);
  EXPECT_EQ("p1", req->user);
  EXPECT_EQ((WireOptions{3, {Capability::kUnassignedHolder}}), negotiate(3, req->capabilities));
  // Only unknown names: none negotiated, and no error.
  std::string only_future = encode_message(golden_login_request(), kV3NoCaps, Compression::kNone);
  only_future.resize(only_future.size() - 8);
  put_u64(only_future, 1);
  put_string(only_future, "row-comments");
  fix_length(only_future);
  EXPECT_TRUE(decode_login_request(only_future).value().capabilities.empty());
}

// ---- FormProgress.unassigned ("unassigned-holder") ------------------------------------------------

TEST(ProtocolVersions, UnassignedTravelsOnlyWhenNegotiated) {
  SyncResponse m = golden_round_response();
  m.rounds[0].progress[0].unassigned = true;
  const WireOptions with{3, {Capability::kUnassignedHolder}};
  const std::string on = encode_message(m, with, Compression::kNone);
  const std::string off = encode_message(m, kV3NoCaps, Compression::kNone);
  // One bool per FormProgress, and nothing else differs.
  EXPECT_EQ(off.size() + m.rounds[0].progress.size(), on.size());
  EXPECT_EQ(kGoldenRoundResponse.substr(4), off.substr(4));

  auto read_on = decode_sync_response(on, with);
  ASSERT_TRUE(read_on.is_ok()) << read_on.status().to_string();
  EXPECT_TRUE(read_on->rounds[0].progress[0].unassigned);
  EXPECT_FALSE(read_on->rounds[0].progress[1].unassigned);
  auto read_off = decode_sync_response(off, kV3NoCaps);
  ASSERT_TRUE(read_off.is_ok()) << read_off.status().to_string();
  EXPECT_FALSE(read_off->rounds[0].progress[0].unassigned);  // an older peer cannot know
  // Both sides must agree: bytes written with the field misread without it.
  EXPECT_FALSE(decode_sync_response(on, kV3NoCaps).is_ok());
  EXPECT_FALSE(decode_sync_response(off, with).is_ok());
}

// ---- the envelope's version ------------------------------------------------------------------------

TEST(ProtocolVersions, VersionsTwoAndThreeAreReadAndOthersRefusedNamingThem) {
  EXPECT_EQ(2u, kMinProtocolVersion);
  std::string bytes = encode_message(golden_error());
  for (const unsigned v : {2u, 3u}) {
    bytes[3] = static_cast<char>(v);
    EXPECT_EQ(v, peek_protocol_version(bytes).value());
    EXPECT_TRUE(decode_error_response(bytes).is_ok()) << v;
  }
  for (const unsigned v : {0u, 1u, 4u, 255u}) {
    bytes[3] = static_cast<char>(v);
    const Status s = decode_error_response(bytes).status();
    EXPECT_EQ(StatusCode::kUnsupportedVersion, s.code()) << v;
    EXPECT_EQ(static_cast<std::uint16_t>(SyncReason::kUnsupportedProtocol), s.reason());
    EXPECT_NE(std::string::npos, s.message().find("对方为第 " + std::to_string(v) + " 版")) << s.message();
    EXPECT_NE(std::string::npos, s.message().find("本机支持第 2～3 版")) << s.message();
    EXPECT_EQ(StatusCode::kUnsupportedVersion, peek_protocol_version(bytes).status().code());
  }
}

TEST(ProtocolVersions, AnEncoderNeverWritesAVersionItDoesNotSpeak) {
  EXPECT_EQ(2u, version_of(encode_message(golden_error(), WireOptions{1, {}})));
  EXPECT_EQ(3u, version_of(encode_message(golden_error(), WireOptions{9, Capabilities::all()})));
}

TEST(ProtocolVersions, AnUndecodableAnswerIsReportedAsSuch) {
  const Status version = undecodable_answer(Status(StatusCode::kUnsupportedVersion, 1013, "版本不一致", "v4"));
  EXPECT_EQ(StatusCode::kUnsupportedVersion, version.code());
  EXPECT_EQ("无法识别服务器的应答（协议版本或内容不兼容），请升级客户端或联系管理员", version.message());
  EXPECT_NE(std::string::npos, version.detail().find("版本不一致")) << version.detail();
  const Status content = undecodable_answer(Status::invalid_argument("同步消息格式错误", "trailing bytes"));
  EXPECT_EQ(StatusCode::kCorruption, content.code());
  EXPECT_EQ(version.message(), content.message());
}

}  // namespace
}  // namespace jixiao::sync
