// cereal serialization of the form model, for every archive that carries
// forms: the blob codec (form_codec.h) and the sync protocol's bounded
// archive. Class versions start at 0 and go up when a type's fields change;
// load() must keep reading every older version.
#pragma once

#include <cereal/cereal.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include "jixiao/common/form.h"

namespace jixiao {

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
  if constexpr (Archive::is_loading::value) {
    if (v.kind > CellValue::Kind::kNumber) throw cereal::Exception("unknown cell value kind");
  }
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
  if constexpr (Archive::is_loading::value) {
    if (f.money_unit > MoneyUnit::kWanYuan) throw cereal::Exception("unknown money unit");
  }
}

}  // namespace jixiao

CEREAL_CLASS_VERSION(jixiao::Decimal, 0)
CEREAL_CLASS_VERSION(jixiao::Money, 0)
CEREAL_CLASS_VERSION(jixiao::CellValue, 0)
CEREAL_CLASS_VERSION(jixiao::Row, 0)
CEREAL_CLASS_VERSION(jixiao::Table, 0)
CEREAL_CLASS_VERSION(jixiao::TemplateRef, 0)
CEREAL_CLASS_VERSION(jixiao::Form, 0)
