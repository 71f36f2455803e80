#include "jixiao/common/status.h"

namespace jixiao {

std::string_view status_code_name(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kInvalidArgument: return "invalid_argument";
    case StatusCode::kNotFound: return "not_found";
    case StatusCode::kPermissionDenied: return "permission_denied";
    case StatusCode::kConflict: return "conflict";
    case StatusCode::kUnavailable: return "unavailable";
    case StatusCode::kCorruption: return "corruption";
    case StatusCode::kUnsupportedVersion: return "unsupported_version";
    case StatusCode::kFailedPrecondition: return "failed_precondition";
    case StatusCode::kInternal: return "internal";
    case StatusCode::kResourceExhausted: return "resource_exhausted";
  }
  return "unknown";
}

std::string Status::to_string() const {
  if (is_ok()) return "ok";
  std::string out(status_code_name(code_));
  if (reason_ != 0) out += "/" + std::to_string(reason_);
  out += ": ";
  out += message_;
  if (!detail_.empty()) {
    out += " [";
    out += detail_;
    out += "]";
  }
  return out;
}

Status Status::with_location(std::string_view where) const {
  if (is_ok() || where.empty()) return *this;
  std::string d(where);
  if (!detail_.empty()) {
    d += ": ";
    d += detail_;
  }
  return Status(code_, reason_, message_, std::move(d));
}

}  // namespace jixiao
