#include "jixiao/common/text.h"

namespace jixiao::text {

char32_t next_code_point(std::string_view s, std::size_t& pos) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char b0 = byte(pos);
  int len = 0;
  char32_t cp = 0;
  if (b0 < 0x80) {
    ++pos;
    return b0;
  } else if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    cp = b0 & 0x1Fu;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    cp = b0 & 0x0Fu;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    cp = b0 & 0x07u;
  } else {
    ++pos;
    return 0xFFFD;
  }
  if (pos + static_cast<std::size_t>(len) > s.size()) {
    ++pos;
    return 0xFFFD;
  }
  for (int i = 1; i < len; ++i) {
    const unsigned char b = byte(pos + static_cast<std::size_t>(i));
    if ((b & 0xC0) != 0x80) {
      ++pos;
      return 0xFFFD;
    }
    cp = (cp << 6) | (b & 0x3Fu);
  }
  pos += static_cast<std::size_t>(len);
  return cp;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::vector<char32_t> code_points(std::string_view s) {
  std::vector<char32_t> out;
  std::size_t pos = 0;
  while (pos < s.size()) out.push_back(next_code_point(s, pos));
  return out;
}

bool is_valid_utf8(std::string_view s) {
  std::size_t pos = 0;
  while (pos < s.size()) {
    const std::size_t before = pos;
    const char32_t cp = next_code_point(s, pos);
    if (cp == 0xFFFD && pos == before + 1 && static_cast<unsigned char>(s[before]) >= 0x80) {
      return false;
    }
  }
  return true;
}

std::string normalize_width(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t pos = 0;
  while (pos < s.size()) {
    char32_t cp = next_code_point(s, pos);
    if (cp >= 0xFF01 && cp <= 0xFF5E) cp = cp - 0xFF01 + 0x21;
    else if (cp == 0x3000) cp = ' ';
    else if (cp == 0x2267) cp = 0x2265;  // ≧ -> ≥
    else if (cp == 0x2266) cp = 0x2264;  // ≦ -> ≤
    append_utf8(out, cp);
  }
  return out;
}

std::string_view trim(std::string_view s) {
  auto is_space_at_front = [&](std::size_t& len) {
    if (s.empty()) return false;
    const unsigned char c = static_cast<unsigned char>(s[0]);
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
      len = 1;
      return true;
    }
    if (s.substr(0, 3) == "\xE3\x80\x80") {  // U+3000
      len = 3;
      return true;
    }
    if (s.substr(0, 2) == "\xC2\xA0") {  // U+00A0
      len = 2;
      return true;
    }
    return false;
  };
  auto is_space_at_back = [&](std::size_t& len) {
    if (s.empty()) return false;
    const unsigned char c = static_cast<unsigned char>(s.back());
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
      len = 1;
      return true;
    }
    if (s.size() >= 3 && s.substr(s.size() - 3) == "\xE3\x80\x80") {
      len = 3;
      return true;
    }
    if (s.size() >= 2 && s.substr(s.size() - 2) == "\xC2\xA0") {
      len = 2;
      return true;
    }
    return false;
  };
  std::size_t len = 0;
  while (is_space_at_front(len)) s.remove_prefix(len);
  while (is_space_at_back(len)) s.remove_suffix(len);
  return s;
}

bool is_cjk(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0xF900 && cp <= 0xFAFF);
}

bool contains_cjk(std::string_view s) {
  std::size_t pos = 0;
  while (pos < s.size()) {
    if (is_cjk(next_code_point(s, pos))) return true;
  }
  return false;
}

bool contains_ascii_digit(std::string_view s) {
  for (char c : s) {
    if (c >= '0' && c <= '9') return true;
  }
  return false;
}

std::string group_thousands(std::string_view n) {
  std::string sign;
  if (!n.empty() && n[0] == '-') {
    sign = "-";
    n.remove_prefix(1);
  }
  const std::size_t dot = n.find('.');
  const std::string_view int_part = n.substr(0, dot);
  const std::string_view frac_part = dot == std::string_view::npos ? std::string_view{} : n.substr(dot);
  std::string grouped;
  for (std::size_t i = 0; i < int_part.size(); ++i) {
    if (i > 0 && (int_part.size() - i) % 3 == 0) grouped += ',';
    grouped += int_part[i];
  }
  return sign + grouped + std::string(frac_part);
}

}  // namespace jixiao::text
