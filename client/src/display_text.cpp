// Text for people (display_text.h).
#include "jixiao/client/display_text.h"

#include <type_traits>
#include <variant>

namespace jixiao::client {

std::string shorten(std::string_view text, std::size_t max_chars) {
  // Counts UTF-8 code points, cuts at a boundary.
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      if (chars == max_chars) return std::string(text.substr(0, i)) + "…";
      ++chars;
    }
  }
  return std::string(text);
}

std::string one_line(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return text;
}

std::string resolution_name(sync::Resolution r) {
  switch (r) {
    case sync::Resolution::kKeepWinner: return "保留现值";
    case sync::Resolution::kTakeLoser: return "采用被覆盖的值";
    case sync::Resolution::kNewValue: return "写入新值";
  }
  return "?";
}

const FormTemplate* DisplayText::template_of(const Form& form) const {
  auto t = templates_.find(form.template_ref.id, form.template_ref.version);
  return t ? *t : nullptr;
}

std::string DisplayText::stage_name(const workflow::SubmissionState& state) const {
  for (const auto& def : workflows_) {
    if (def.id != state.definition_id) continue;
    if (const auto* st = def.find_stage(state.stage_id)) return st->name;
  }
  return state.stage_id;
}

const workflow::StageDefinition* DisplayText::find_stage(const workflow::SubmissionState& s) const {
  for (const auto& def : workflows_) {
    if (def.id == s.definition_id) return def.find_stage(s.stage_id);
  }
  // A definition this installation does not ship: match the stage by id.
  for (const auto& def : workflows_) {
    if (const auto* st = def.find_stage(s.stage_id)) return st;
  }
  return nullptr;
}

std::string DisplayText::describe_cell(const Form& form, const CellRef& cell) const {
  const FormTemplate* t = template_of(form);
  if (t == nullptr) return cell.to_string();
  if (cell.is_field()) {
    const CellDef* d = t->field(cell.column);
    return d ? d->label : cell.to_string();
  }
  const TableDef* td = t->table(cell.table);
  if (td == nullptr) return cell.to_string();
  std::string row_text;
  if (const RowDef* rd = td->row(cell.row)) {
    row_text = rd->label;
  } else if (const Table* tab = form.table(cell.table)) {
    for (std::size_t i = 0; i < tab->rows.size(); ++i) {
      if (tab->rows[i].id == cell.row) {
        row_text = "第" + std::to_string(i + 1) + "行";
        const std::string& l3 = tab->rows[i].cell("level3").text;
        if (!l3.empty()) row_text += "（" + shorten(l3, 16) + "）";
      }
    }
    if (row_text.empty()) row_text = "已删除的行";
  }
  std::string out = td->label + "·" + row_text;
  if (!cell.column.empty()) {
    const CellDef* c = td->column(cell.column);
    out += "·" + (c ? c->label : cell.column);
  }
  return out;
}

std::string DisplayText::describe_op(const sync::Operation& op, const Form* v) const {
  return std::visit(
      [&](const auto& p) -> std::string {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, sync::CreateForm>) {
          auto t = templates_.find(p.template_ref.id, p.template_ref.version);
          return "创建表单（" + (t ? (*t)->title : p.template_ref.id) + "，" + std::to_string(p.fiscal_year) + "年度）";
        } else if constexpr (std::is_same_v<T, sync::SetCell>) {
          const std::string where = v ? describe_cell(*v, p.cell) : p.cell.to_string();
          const MoneyUnit mu = v ? v->money_unit : MoneyUnit::kYuan;
          return "修改 " + where + " 为“" + shorten(one_line(p.value.display(mu))) + "”";
        } else if constexpr (std::is_same_v<T, sync::InsertRow>) {
          const FormTemplate* t = v ? template_of(*v) : nullptr;
          const TableDef* td = t ? t->table(p.table) : nullptr;
          std::string line = "在“" + (td ? td->label : p.table) + "”添加一行";
          auto l3 = p.cells.find("level3");
          if (l3 != p.cells.end() && !l3->second.text.empty()) line += "（" + shorten(l3->second.text) + "）";
          return line;
        } else if constexpr (std::is_same_v<T, sync::DeleteRow>) {
          const FormTemplate* t = v ? template_of(*v) : nullptr;
          const TableDef* td = t ? t->table(p.table) : nullptr;
          return "删除“" + (td ? td->label : p.table) + "”的一行";
        } else if constexpr (std::is_same_v<T, sync::WorkflowAction>) {
          return std::string(workflow::action_name(p.action));
        } else if constexpr (std::is_same_v<T, sync::ResolveConflict>) {
          return "处理冲突（" + resolution_name(p.resolution) + "）";
        } else {
          return std::string(sync::op_kind_name(op.payload));
        }
      },
      op.payload);
}

std::string DisplayText::describe_effect(const sync::Effect& e, const Form& view) const {
  if (const auto* c = std::get_if<sync::FormCreated>(&e)) {
    const FormTemplate* t = template_of(c->form);
    return "创建表单（" + (t ? t->title : c->form.template_ref.id) + "，" + std::to_string(c->form.fiscal_year) + "年度）";
  }
  if (const auto* w = std::get_if<sync::CellWritten>(&e)) {
    return describe_cell(view, w->cell) + "：" +
           (w->value.kind == CellValue::Kind::kEmpty ? std::string("清空")
                                                    : "“" + shorten(one_line(w->value.display(view.money_unit))) + "”");
  }
  if (const auto* ri = std::get_if<sync::RowInserted>(&e)) {
    const FormTemplate* t = template_of(view);
    const TableDef* td = t ? t->table(ri->table) : nullptr;
    std::string line = (td ? td->label : ri->table) + "：添加一行";
    auto l3 = ri->cells.find("level3");
    if (l3 != ri->cells.end() && !l3->second.text.empty()) line += "（" + shorten(l3->second.text) + "）";
    return line;
  }
  if (const auto* rd = std::get_if<sync::RowDeleted>(&e)) {
    const FormTemplate* t = template_of(view);
    const TableDef* td = t ? t->table(rd->table) : nullptr;
    return (td ? td->label : rd->table) + "：删除一行";
  }
  if (const auto* wc = std::get_if<sync::WorkflowChanged>(&e)) {
    const auto& st = wc->state;
    std::string line = "流程：" + std::string(workflow::phase_name(st.phase));
    if (st.phase == workflow::Phase::kInReview) line += "·" + stage_name(st);
    if (st.phase == workflow::Phase::kReturned && !st.last_return_reason.empty()) {
      line += "，退回原因：" + st.last_return_reason;
    }
    return line;
  }
  if (const auto* co = std::get_if<sync::ConflictOpened>(&e)) return "出现冲突：" + describe_cell(view, co->conflict.cell);
  if (const auto* cc = std::get_if<sync::ConflictClosed>(&e)) {
    return "冲突已处理（" + resolution_name(cc->resolution) + "，处理人 " + cc->resolved_by + "）";
  }
  return {};
}

}  // namespace jixiao::client
