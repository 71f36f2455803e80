// Internal: JSON parsing that keeps numbers exact.
//
// nlohmann::json turns 8086475.64 into a double. Money must never pass
// through floating point, so this SAX handler stores every non-integer
// number as the exact text it was written with (a JSON string); integers stay
// integers. Parse errors come back with line and column.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

#include "jixiao/common/status.h"

namespace jixiao::detail {

// `what` names the input in messages ("表单文件 000.json").
Result<nlohmann::json> parse_json_exact(std::string_view text, std::string_view what);

// The JSON value as text for a cell: strings as is, integers printed, others
// an error. `where` is a JSON pointer for the detail.
Result<std::string> json_scalar_text(const nlohmann::json& v, std::string_view where, std::string_view label);

}  // namespace jixiao::detail
