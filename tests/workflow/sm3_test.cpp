// SM3 through OpenSSL's EVP: known answers from GB/T 32905-2016 Appendix A.
// If this fails, the libcrypto in use cannot keep the audit log.
#include <gtest/gtest.h>

#include "jixiao/workflow/sm3.h"

namespace jixiao::workflow {
namespace {

TEST(Sm3, KnownAnswerForAbc) {
  EXPECT_EQ(to_hex(sm3("abc")), "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
}

TEST(Sm3, KnownAnswerForTheSixtyFourByteMessage) {
  std::string m;
  for (int i = 0; i < 16; ++i) m += "abcd";
  EXPECT_EQ(to_hex(sm3(m)), "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732");
}

TEST(Sm3, IncrementalEqualsOneShotAndResetsAfterFinish) {
  Sm3 h;
  h.update("a").update("bc");
  EXPECT_EQ(h.finish(), sm3("abc"));
  EXPECT_EQ(h.update("abc").finish(), sm3("abc"));
}

TEST(Sm3, HexRoundTripsAndRejectsBadInput) {
  const Digest d = sm3("abc");
  EXPECT_EQ(*digest_from_hex(to_hex(d)), d);
  EXPECT_EQ(*digest_from_hex("66C7F0F462EEEDD9D1F2D46BDC10E4E24167C4875CF2F7A2297DA02B8F4BA8E0"), d);
  EXPECT_EQ(digest_from_hex("66c7").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(digest_from_hex(std::string(64, 'g')).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace jixiao::workflow
