#include "jixiao/common/form_codec.h"

#include <openssl/evp.h>

#include <sstream>

#include "jixiao/common/bounded_archive.h"
#include "jixiao/common/form_cereal.h"

namespace jixiao {

std::string encode_form(const Form& form) {
  std::string out = "JXF";
  out += static_cast<char>(kFormBlobVersion);
  out += archive::to_bytes(form);
  return out;
}

Result<Form> decode_form(std::string_view bytes) {
  if (bytes.size() < 4 || bytes.substr(0, 3) != "JXF") {
    return Status::corruption("表单数据已损坏（文件头不正确）", "bad form blob magic");
  }
  const auto version = static_cast<unsigned char>(bytes[3]);
  if (version != kFormBlobVersion) {
    return Status::unsupported_version("表单数据的格式版本为 " + std::to_string(version) + "，本程序不支持",
                                       "form blob version " + std::to_string(version));
  }
  return archive::from_bytes<Form>(bytes.substr(4), "表单");
}

}  // namespace jixiao

namespace jixiao {

std::string form_content_hash(const Form& form) {
  const std::string blob = encode_form(form);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(blob.data(), blob.size(), digest, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0x0F];
  }
  return out;
}

}  // namespace jixiao
