#include "json_exact.h"

#include <vector>

#include "jixiao/common/text.h"

namespace jixiao::detail {
namespace {

using json = nlohmann::json;

class ExactBuilder {
 public:
  bool null() { return put(json(nullptr)); }
  bool boolean(bool v) { return put(json(v)); }
  bool number_integer(json::number_integer_t v) { return put(json(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return put(json(v)); }
  bool number_float(json::number_float_t, const json::string_t& s) { return put(json(s)); }
  bool string(json::string_t& s) { return put(json(std::move(s))); }
  bool binary(json::binary_t&) { return put(json(nullptr)); }
  bool start_object(std::size_t) {
    stack_.push_back(put_container(json::object()));
    return true;
  }
  bool key(json::string_t& k) {
    if (stack_.back()->contains(k)) {
      duplicate_key_ = k;
      return false;  // a repeated key would silently drop a value
    }
    key_ = k;
    return true;
  }
  bool end_object() {
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t) {
    stack_.push_back(put_container(json::array()));
    return true;
  }
  bool end_array() {
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) {
    error_position_ = position;
    error_ = ex.what();
    return false;
  }

  json root;
  std::size_t error_position_ = 0;
  std::string error_;
  std::string duplicate_key_;

 private:
  json* put_container(json v) {
    if (stack_.empty()) {
      root = std::move(v);
      return &root;
    }
    json& parent = *stack_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(v));
      return &parent.back();
    }
    json& slot = parent[key_];
    slot = std::move(v);
    return &slot;
  }
  bool put(json v) {
    put_container(std::move(v));
    return true;
  }

  std::vector<json*> stack_;
  std::string key_;
};

}  // namespace

Result<json> parse_json_exact(std::string_view text, std::string_view what) {
  if (!text::is_valid_utf8(text)) {
    return Status::invalid_argument(std::string(what) + "不是有效的 UTF-8 文本（请用 UTF-8 编码保存）",
                                    "invalid UTF-8");
  }
  ExactBuilder builder;
  const bool ok = json::sax_parse(text, &builder, json::input_format_t::json, true, true);
  if (!ok && !builder.duplicate_key_.empty()) {
    return Status::invalid_argument(std::string(what) + "中有重复的键“" + builder.duplicate_key_ +
                                        "”：同一对象中每个键只能出现一次",
                                    "duplicate key " + builder.duplicate_key_);
  }
  if (!ok) {
    // Line and column of the byte where parsing stopped (1-based).
    std::size_t line = 1;
    std::size_t column = 1;
    const std::size_t stop = builder.error_position_ > 0 ? builder.error_position_ - 1 : 0;
    for (std::size_t i = 0; i < stop && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
        ++column;
      }
    }
    return Status::invalid_argument(std::string(what) + "不是有效的 JSON：第 " + std::to_string(line) +
                                        " 行第 " + std::to_string(column) + " 列附近有格式错误",
                                    builder.error_);
  }
  return std::move(builder.root);
}

Result<std::string> json_scalar_text(const json& v, std::string_view where, std::string_view label) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>());
  if (v.is_number_unsigned()) return std::to_string(v.get<std::uint64_t>());
  if (v.is_null()) return std::string();
  return Status::invalid_argument(std::string(label) + "应为文字或数字，表中为 " + std::string(v.type_name()),
                                  std::string(where));
}

}  // namespace jixiao::detail
