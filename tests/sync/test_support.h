// Helpers shared by the sync tests: the shipped templates and readable
// renderings of replicas and conflicts, so expectations read like prose.
#pragma once

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "jixiao/common/form_template.h"
#include "jixiao/sync/model.h"

namespace jixiao::sync::testing {

inline const TemplateRegistry& shipped_templates() {
  static const TemplateRegistry registry = [] {
    TemplateRegistry r;
    const Status s = r.load_directory(JIXIAO_TEMPLATE_DIR);
    if (!s) throw std::runtime_error("cannot load templates: " + s.to_string());
    return r;
  }();
  return registry;
}

inline const FormTemplate& shipped_template(const std::string& id) {
  const FormTemplate* t = shipped_templates().latest(id);
  if (t == nullptr) throw std::runtime_error("no template " + id);
  return *t;
}

inline std::string_view conflict_kind_key(ConflictKind k) {
  switch (k) {
    case ConflictKind::kSameCell: return "same_cell";
    case ConflictKind::kTextOverlap: return "text_overlap";
    case ConflictKind::kEditOfDeletedRow: return "edit_of_deleted_row";
    case ConflictKind::kDeleteOfEditedRow: return "delete_of_edited_row";
  }
  return "?";
}

// "text:xyz", "money:12345", "number:5", "empty", "dash".
inline std::string show(const CellValue& v) {
  switch (v.kind) {
    case CellValue::Kind::kEmpty: return "empty";
    case CellValue::Kind::kDash: return "dash";
    case CellValue::Kind::kText: return "text:" + v.text;
    case CellValue::Kind::kMoney: return "money:" + std::to_string(v.money.fen());
    case CellValue::Kind::kNumber: return "number:" + v.number.to_string();
  }
  return "?";
}

// "same_cell fields.project_name winner=p2@dev-b:text:B loser=p1@dev-a:text:A open"
inline std::string show(const ConflictRecord& c) {
  std::string out = std::string(conflict_kind_key(c.kind)) + " " + c.cell.to_string();
  out += " winner=" + c.winner.author + "@" + c.winner.device + ":" + show(c.winner.value);
  out += " loser=" + c.loser.author + "@" + c.loser.device + ":" + show(c.loser.value);
  out += c.resolved ? " resolved" : " open";
  return out;
}

}  // namespace jixiao::sync::testing
