#include "jixiao/common/form_codec.h"

#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include <sstream>

namespace jixiao {

// Class versions start at 0 and go up when a type's fields change; load()
// must keep reading every older version.
template <class Archive>
void save(Archive& ar, const Decimal& d, std::uint32_t /*version*/) {
  ar(d.micros(), static_cast<std::uint8_t>(d.decimals()));
}
template <class Archive>
void load(Archive& ar, Decimal& d, std::uint32_t /*version*/) {
  std::int64_t micros = 0;
  std::uint8_t decimals = 0;
  ar(micros, decimals);
  if (decimals > Decimal::kMaxDecimals) throw cereal::Exception("decimal places out of range");
  d = Decimal::from_micros(micros, decimals);
}

template <class Archive>
void save(Archive& ar, const Money& m, std::uint32_t /*version*/) {
  ar(m.fen());
}
template <class Archive>
void load(Archive& ar, Money& m, std::uint32_t /*version*/) {
  std::int64_t fen = 0;
  ar(fen);
  m = Money::from_fen(fen);
}

template <class Archive>
void serialize(Archive& ar, CellValue& v, std::uint32_t /*version*/) {
  ar(v.kind, v.text, v.money, v.number);
}

template <class Archive>
void serialize(Archive& ar, Row& r, std::uint32_t /*version*/) {
  ar(r.id, r.cells);
}

template <class Archive>
void serialize(Archive& ar, Table& t, std::uint32_t /*version*/) {
  ar(t.rows);
}

template <class Archive>
void serialize(Archive& ar, TemplateRef& t, std::uint32_t /*version*/) {
  ar(t.id, t.version);
}

template <class Archive>
void serialize(Archive& ar, Form& f, std::uint32_t /*version*/) {
  ar(f.id, f.template_ref, f.unit_code, f.unit_name, f.fiscal_year, f.money_unit, f.source, f.fields, f.tables);
}

}  // namespace jixiao

CEREAL_CLASS_VERSION(jixiao::Decimal, 0)
CEREAL_CLASS_VERSION(jixiao::Money, 0)
CEREAL_CLASS_VERSION(jixiao::CellValue, 0)
CEREAL_CLASS_VERSION(jixiao::Row, 0)
CEREAL_CLASS_VERSION(jixiao::Table, 0)
CEREAL_CLASS_VERSION(jixiao::TemplateRef, 0)
CEREAL_CLASS_VERSION(jixiao::Form, 0)

namespace jixiao {

std::string encode_form(const Form& form) {
  std::ostringstream out(std::ios::binary);
  out.write("JXF", 3);
  out.put(static_cast<char>(kFormBlobVersion));
  {
    cereal::PortableBinaryOutputArchive ar(out);
    ar(form);
  }
  return std::move(out).str();
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
  std::istringstream in(std::string(bytes.substr(4)), std::ios::binary);
  Form form;
  try {
    cereal::PortableBinaryInputArchive ar(in);
    ar(form);
  } catch (const std::exception& e) {
    return Status::corruption("表单数据已损坏，无法读取", e.what());
  }
  if (in.peek() != std::char_traits<char>::eof()) {
    return Status::corruption("表单数据已损坏（末尾有多余字节）", "trailing bytes");
  }
  return form;
}

}  // namespace jixiao
