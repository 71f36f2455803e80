// UUIDs for forms and table rows, as canonical lower-case text
// ("3f2b8c1e-…"). Random ones come from OpenSSL's CSPRNG; derived ones are
// name-based (RFC 4122 version 5, SHA-1) so the same inputs give the same id
// on every machine.
#pragma once

#include <string>
#include <string_view>

namespace jixiao {

std::string new_uuid_v4();
std::string uuid_v5(std::string_view namespace_uuid, std::string_view name);
bool is_uuid(std::string_view s);

// The namespace for ids jixiao derives (rows of hand-written forms).
inline constexpr std::string_view kJixiaoUuidNamespace = "1b4e28ba-2fa1-4c2e-9d1f-6a1d0c7b2e51";

}  // namespace jixiao
