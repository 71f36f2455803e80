// The project's one error vocabulary.
//
// A Status carries a code chosen by what the caller should do next, a message
// for people (Simplified Chinese, shown to users as is) and an optional detail
// for logs (precise, English or data: a JSON pointer, a byte offset, an errno).
//
// Codes travel on the wire and into the audit log: never renumber them, only
// append. Result<T> holds either a value or a non-OK Status.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace jixiao {

enum class StatusCode : std::uint16_t {
  kOk = 0,
  // The input is wrong; do not retry until it is fixed.
  kInvalidArgument = 1,
  // The thing asked for does not exist.
  kNotFound = 2,
  // The caller may not do this; do not retry with the same credentials.
  kPermissionDenied = 3,
  // The state changed under the caller; refresh and retry at a higher level.
  kConflict = 4,
  // A transient failure (network, busy database); retry the same call later.
  kUnavailable = 5,
  // Stored or received bytes are damaged; do not retry, report.
  kCorruption = 6,
  // The data is of a version this build does not understand.
  kUnsupportedVersion = 7,
  // The operation is valid but the system is not in a state that allows it.
  kFailedPrecondition = 8,
  // A bug: an invariant of this program did not hold.
  kInternal = 9,
  // A limit was exceeded (size, count, rate).
  kResourceExhausted = 10,
};

// Stable English name of a code, for logs and JSON ("invalid_argument").
std::string_view status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message, std::string detail = {})
      : code_(code), message_(std::move(message)), detail_(std::move(detail)) {}
  // With a domain reason code: a stable number saying exactly why, owned by
  // the module that sets it (workflow refusals 1xx–4xx, see their headers).
  Status(StatusCode code, std::uint16_t reason, std::string message, std::string detail)
      : code_(code), reason_(reason), message_(std::move(message)), detail_(std::move(detail)) {}

  static Status ok() { return {}; }
  static Status invalid_argument(std::string message, std::string detail = {}) {
    return {StatusCode::kInvalidArgument, std::move(message), std::move(detail)};
  }
  static Status not_found(std::string message, std::string detail = {}) {
    return {StatusCode::kNotFound, std::move(message), std::move(detail)};
  }
  static Status unsupported_version(std::string message, std::string detail = {}) {
    return {StatusCode::kUnsupportedVersion, std::move(message), std::move(detail)};
  }
  static Status corruption(std::string message, std::string detail = {}) {
    return {StatusCode::kCorruption, std::move(message), std::move(detail)};
  }
  static Status internal(std::string message, std::string detail = {}) {
    return {StatusCode::kInternal, std::move(message), std::move(detail)};
  }

  bool is_ok() const { return code_ == StatusCode::kOk; }
  explicit operator bool() const { return is_ok(); }
  StatusCode code() const { return code_; }
  // The domain reason code, 0 when none was given. Stable: sent and stored.
  std::uint16_t reason() const { return reason_; }
  // For people: Simplified Chinese.
  const std::string& message() const { return message_; }
  // For logs: where and why, precisely. May be empty.
  const std::string& detail() const { return detail_; }

  // "invalid_argument: 金额不能为负 [/tables/funds/rows/0/cells/executed]"
  std::string to_string() const;

  // Returns a copy whose detail is prefixed with `where` (e.g. a JSON pointer).
  Status with_location(std::string_view where) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::uint16_t reason_ = 0;
  std::string message_;
  std::string detail_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}            // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}     // NOLINT: must not be OK

  bool is_ok() const { return v_.index() == 0; }
  explicit operator bool() const { return is_ok(); }

  const T& value() const& { return std::get<0>(v_); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

  Status status() const { return is_ok() ? Status() : std::get<1>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace jixiao
