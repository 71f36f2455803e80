#include "jixiao/sync/model.h"



#include "jixiao/common/bounded_archive.h"
#include "jixiao/common/digest.h"
#include "jixiao/sync/model_cereal.h"

namespace jixiao::sync {
namespace {

// Local blobs: a three-letter magic naming the type, a version byte, then
// cereal's portable binary archive.
constexpr unsigned char kBlobVersion = 1;

template <typename T>
std::string encode_blob(const char (&magic)[4], const T& value) {
  return archive::to_tagged_blob(magic, kBlobVersion, value);
}

template <typename T>
Result<T> decode_blob(const char (&magic)[4], std::string_view bytes, const char* what) {
  return archive::from_tagged_blob<T>(bytes, magic, kBlobVersion, what);
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
  std::string bytes;
  {
    archive::BoundedOutputArchive ar(bytes);
    ar(replica.form, replica.workflow, replica.deleted_rows, replica.conflicts, replica.last_seq);
  }
  return sha256_hex(bytes);
}

}  // namespace jixiao::sync
