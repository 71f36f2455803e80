// Small UTF-8 text helpers for what people type into forms: full-width
// digits and punctuation, stray spaces, thousands separators.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace jixiao::text {

// Decodes one code point at `pos`, advancing it. Invalid bytes decode as
// U+FFFD and advance by one, so scanning never stalls.
char32_t next_code_point(std::string_view s, std::size_t& pos);
void append_utf8(std::string& out, char32_t cp);
std::vector<char32_t> code_points(std::string_view s);
bool is_valid_utf8(std::string_view s);

// Full-width ASCII (U+FF01..U+FF5E) and the ideographic space become ASCII;
// "≧"/"≦" become "≥"/"≤". Everything else is kept.
std::string normalize_width(std::string_view s);

// Trims ASCII white space, U+3000 and U+00A0 at both ends.
std::string_view trim(std::string_view s);

bool is_cjk(char32_t cp);
bool contains_cjk(std::string_view s);
bool contains_ascii_digit(std::string_view s);

// "8086475.64" -> "8,086,475.64" (a leading '-' is kept).
std::string group_thousands(std::string_view plain_number);

}  // namespace jixiao::text
