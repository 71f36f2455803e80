#include "jixiao/sync/model.h"

#include <openssl/evp.h>


#include "jixiao/common/bounded_archive.h"
#include "jixiao/sync/model_cereal.h"

namespace jixiao::sync {
namespace {

// Local blobs: a three-letter magic naming the type, a version byte, then
// cereal's portable binary archive.
constexpr unsigned char kBlobVersion = 1;

template <typename T>
std::string encode_blob(const char (&magic)[4], const T& value) {
  std::string out(magic, 3);
  out += static_cast<char>(kBlobVersion);
  out += archive::to_bytes(value);
  return out;
}

template <typename T>
Result<T> decode_blob(const char (&magic)[4], std::string_view bytes, const char* what) {
  if (bytes.size() < 4 || bytes.substr(0, 3) != std::string_view(magic, 3)) {
    return Status::corruption(std::string(what) + "数据已损坏（文件头不正确）", "bad magic");
  }
  if (static_cast<unsigned char>(bytes[3]) != kBlobVersion) {
    return Status::unsupported_version(std::string(what) + "数据的格式版本不受支持",
                                       "blob version " + std::to_string(static_cast<int>(bytes[3])));
  }
  return archive::from_bytes<T>(bytes.substr(4), what);
}

}  // namespace

std::string_view op_kind_name(const OpPayload& p) {
  switch (p.index()) {
    case 0: return "create_form";
    case 1: return "set_cell";
    case 2: return "insert_row";
    case 3: return "delete_row";
    case 4: return "workflow_action";
    case 5: return "resolve_conflict";
    case 6: return "open_round";
  }
  return "unknown";
}

std::string encode_replica(const FormReplica& r) { return encode_blob("JXR", r); }
Result<FormReplica> decode_replica(std::string_view b) { return decode_blob<FormReplica>("JXR", b, "表单副本"); }
std::string encode_operation(const Operation& op) { return encode_blob("JXO", op); }
Result<Operation> decode_operation(std::string_view b) { return decode_blob<Operation>("JXO", b, "待同步操作"); }
std::string encode_entry(const LogEntry& e) { return encode_blob("JXL", e); }
Result<LogEntry> decode_entry(std::string_view b) { return decode_blob<LogEntry>("JXL", b, "同步日志"); }

std::string replica_hash(const FormReplica& replica) {
  const std::string blob = encode_replica(replica);
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

}  // namespace jixiao::sync
