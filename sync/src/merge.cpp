#include "jixiao/sync/merge.h"

#include <algorithm>

namespace jixiao::sync {
namespace {

Status reject(SyncReason reason, std::string message, std::string detail) {
  StatusCode code = StatusCode::kInvalidArgument;
  if (reason == SyncReason::kConflictClosed) code = StatusCode::kConflict;
  if (reason == SyncReason::kUnknownForm || reason == SyncReason::kRowMissing || reason == SyncReason::kConflictMissing) {
    code = StatusCode::kNotFound;
  }
  return Status(code, static_cast<std::uint16_t>(reason), std::move(message), std::move(detail));
}

ConflictSide side_of(const Operation& op, CellValue value) {
  return ConflictSide{std::move(value), op.author, op.device, op.hlc, op.id};
}

ConflictSide side_of(const CellStamp& stamp, CellValue value) {
  return ConflictSide{std::move(value), stamp.author, stamp.device, stamp.hlc, {}};
}

const CellStamp* stamp_of(const FormReplica& r, const std::string& cell_id) {
  auto it = r.stamps.find(cell_id);
  return it == r.stamps.end() ? nullptr : &it->second;
}

// Written after `base_seq` by another device: concurrent with the operation.
bool concurrent(const CellStamp* stamp, const Operation& op) {
  return stamp != nullptr && stamp->seq > op.base_seq && stamp->device != op.device;
}

bool row_exists(const FormReplica& r, const std::string& table, const RowId& row) {
  const Table* t = r.form.table(table);
  return t != nullptr && t->find(row) != nullptr;
}

bool row_deleted(const FormReplica& r, const std::string& table, const RowId& row) {
  return r.deleted_rows.count(row_key(table, row)) > 0;
}

std::string row_prefix(const std::string& table, const RowId& row) { return row_key(table, row) + "."; }

Result<std::vector<Effect>> decide_set_cell(const FormReplica& r, const Operation& op, const SetCell& p,
                                            const FormTemplate& tmpl) {
  auto def = find_cell_def(tmpl, p.cell);
  if (!def) return reject(SyncReason::kBadCell, def.status().message(), def.status().detail());
  if (auto s = validate_cell_value(**def, p.value); !s) return reject(SyncReason::kBadCell, s.message(), s.detail());
  const std::string cell_id = p.cell.to_string();
  if (!p.cell.is_field()) {
    const TableDef* td = tmpl.table(p.cell.table);
    if (td->dynamic_rows && row_deleted(r, p.cell.table, p.cell.row)) {
      // CONFLICT: an edit reaches a row deleted elsewhere.
      // RESOLUTION: the delete stands; the edit is kept as a conflict record
      // (kEditOfDeletedRow) that its author sees and can act on. Never lost.
      ConflictRecord c;
      c.id = op.id;
      c.form_id = op.form_id;
      c.kind = ConflictKind::kEditOfDeletedRow;
      c.cell = p.cell;
      c.loser = side_of(op, p.value);
      return std::vector<Effect>{ConflictOpened{std::move(c)}};
    }
    if (!row_exists(r, p.cell.table, p.cell.row)) {
      return reject(SyncReason::kRowMissing, "要修改的行不存在", cell_id);
    }
  }
  const CellValue* current_ptr = find_cell(r.form, p.cell);
  const CellValue current = current_ptr != nullptr ? *current_ptr : CellValue{};
  const CellStamp* stamp = stamp_of(r, cell_id);
  const bool text_like = current.kind != CellValue::Kind::kMoney && current.kind != CellValue::Kind::kNumber &&
                         p.value.kind != CellValue::Kind::kMoney && p.value.kind != CellValue::Kind::kNumber &&
                         p.base_value.kind != CellValue::Kind::kMoney && p.base_value.kind != CellValue::Kind::kNumber;
  const bool long_text = (*def)->type == CellType::kLongText && text_like;
  // CONFLICT: a device edits one long text twice while offline, and the
  // server merged the first edit with a colleague's concurrent change; the
  // second edit's base is the first edit's value, not the merged text.
  // RESOLUTION: a text written after the author's base_seq that differs from
  // the author's base_value is merged three-way like a concurrent edit, even
  // when that write came from the author's own device: otherwise the second
  // edit would silently overwrite the colleague's merged-in lines.
  const bool text_moved_under_author =
      long_text && stamp != nullptr && stamp->seq > op.base_seq && current != p.base_value;
  // CONFLICT: none: edits of different cells of one form, or an edit of a
  // cell whose last write the author had seen (base_seq covers it) or made
  // (same device).
  // RESOLUTION: edits of different cells, or of a cell nobody else changed
  // since the author last synced, simply apply.
  if ((!concurrent(stamp, op) && !text_moved_under_author) || current == p.value) {
    return std::vector<Effect>{CellWritten{p.cell, p.value}};
  }
  // CONFLICT: two devices changed one long text concurrently.
  // RESOLUTION: a three-way merge by lines against what the author started
  // from; if the changes touch different lines both are kept, silently.
  if (long_text) {
    if (auto merged = merge_text(p.base_value.text, p.value.text, current.text)) {
      return std::vector<Effect>{CellWritten{p.cell, merged->empty() ? CellValue{} : CellValue::of_text(*merged)}};
    }
  }
  // CONFLICT: two devices set one cell (or overlapping lines of a text).
  // RESOLUTION: the later (hybrid timestamp, then device id) wins on every
  // replica because the server decides once and logs the effect; the other
  // value is kept in a conflict record both authors see and can resolve.
  ConflictRecord c;
  c.id = op.id;
  c.form_id = op.form_id;
  c.kind = (*def)->type == CellType::kLongText ? ConflictKind::kTextOverlap : ConflictKind::kSameCell;
  c.cell = p.cell;
  const bool incoming_wins = std::tie(op.hlc, op.device) > std::tie(stamp->hlc, stamp->device);
  std::vector<Effect> effects;
  if (incoming_wins) {
    c.winner = side_of(op, p.value);
    c.loser = side_of(*stamp, current);
    effects.emplace_back(CellWritten{p.cell, p.value});
  } else {
    c.winner = side_of(*stamp, current);
    c.loser = side_of(op, p.value);
  }
  effects.emplace_back(ConflictOpened{std::move(c)});
  return effects;
}

Result<std::vector<Effect>> decide_insert_row(const FormReplica& r, const Operation& op, const InsertRow& p,
                                              const FormTemplate& tmpl) {
  const TableDef* td = tmpl.table(p.table);
  if (td == nullptr || !td->dynamic_rows) {
    return reject(SyncReason::kBadCell, "表格“" + p.table + "”不能添加行", p.table);
  }
  if (p.row_id.empty()) return reject(SyncReason::kBadCell, "新行缺少行编号", p.table);
  // CONFLICT: two machines add rows to one table at the same time.
  // RESOLUTION: rows carry their own ids, so rows added on two machines at
  // once both survive; a repeated id is a bug, not a merge.
  if (row_exists(r, p.table, p.row_id) || row_deleted(r, p.table, p.row_id)) {
    return reject(SyncReason::kRowExists, "行编号已存在", row_key(p.table, p.row_id));
  }
  for (const auto& [key, value] : p.cells) {
    const CellDef* col = td->column(key);
    if (col == nullptr) return reject(SyncReason::kBadCell, "表格“" + td->label + "”中没有列“" + key + "”", key);
    if (auto s = validate_cell_value(*col, value); !s) return reject(SyncReason::kBadCell, s.message(), s.detail());
  }
  (void)op;
  return std::vector<Effect>{RowInserted{p.table, p.row_id, p.after_row, p.cells}};
}

Result<std::vector<Effect>> decide_delete_row(const FormReplica& r, const Operation& op, const DeleteRow& p,
                                              const FormTemplate& tmpl) {
  const TableDef* td = tmpl.table(p.table);
  if (td == nullptr || !td->dynamic_rows) {
    return reject(SyncReason::kBadCell, "表格“" + p.table + "”不能删除行", p.table);
  }
  // CONFLICT: two machines delete the same row.
  // RESOLUTION: deleting a row that is already gone changes nothing.
  if (row_deleted(r, p.table, p.row_id)) return std::vector<Effect>{};
  if (!row_exists(r, p.table, p.row_id)) return reject(SyncReason::kRowMissing, "要删除的行不存在", p.row_id);
  std::vector<Effect> effects{RowDeleted{p.table, p.row_id}};
  // CONFLICT: the row was edited elsewhere after the deleter last synced.
  // RESOLUTION: the delete stands, and the row's last values go into a
  // conflict record (kDeleteOfEditedRow) so the edits are not lost; resolving
  // it with kTakeLoser restores the row.
  const std::string prefix = row_prefix(p.table, p.row_id);
  const CellStamp* latest = nullptr;
  for (auto it = r.stamps.lower_bound(prefix); it != r.stamps.end() && it->first.rfind(prefix, 0) == 0; ++it) {
    if (concurrent(&it->second, op) && (latest == nullptr || it->second.seq > latest->seq)) latest = &it->second;
  }
  if (latest != nullptr) {
    ConflictRecord c;
    c.id = op.id;
    c.form_id = op.form_id;
    c.kind = ConflictKind::kDeleteOfEditedRow;
    c.cell = CellRef{p.table, p.row_id, {}};
    c.winner = side_of(op, CellValue{});
    c.loser = side_of(*latest, CellValue{});
    c.row_cells = r.form.table(p.table)->find(p.row_id)->cells;
    effects.emplace_back(ConflictOpened{std::move(c)});
  }
  return effects;
}

Result<std::vector<Effect>> decide_resolve(const FormReplica& r, const Operation& op, const ResolveConflict& p,
                                           const FormTemplate& tmpl) {
  auto it = r.conflicts.find(p.conflict_id);
  if (it == r.conflicts.end()) return reject(SyncReason::kConflictMissing, "冲突记录不存在", p.conflict_id);
  const ConflictRecord& c = it->second;
  // CONFLICT: two people resolve the same conflict.
  // RESOLUTION: the first resolution the server receives stands; the second
  // is refused (kConflictClosed) and kept on its author's machine.
  if (c.resolved) return reject(SyncReason::kConflictClosed, "该冲突已由他人处理", p.conflict_id);
  std::vector<Effect> effects;
  const bool row_kind = c.kind == ConflictKind::kEditOfDeletedRow || c.kind == ConflictKind::kDeleteOfEditedRow;
  switch (p.resolution) {
    case Resolution::kKeepWinner:
      break;
    case Resolution::kTakeLoser:
      if (c.kind == ConflictKind::kDeleteOfEditedRow) {
        effects.emplace_back(RowInserted{c.cell.table, c.cell.row, {}, c.row_cells});
      } else if (c.kind == ConflictKind::kEditOfDeletedRow) {
        return reject(SyncReason::kRowMissing, "该行已被删除，不能采用被覆盖的值；请写入新值或保留现状", p.conflict_id);
      } else {
        effects.emplace_back(CellWritten{c.cell, c.loser.value});
      }
      break;
    case Resolution::kNewValue: {
      if (row_kind) return reject(SyncReason::kBadCell, "整行冲突不能写入单个新值", p.conflict_id);
      auto def = find_cell_def(tmpl, c.cell);
      if (!def) return reject(SyncReason::kBadCell, def.status().message(), def.status().detail());
      if (auto s = validate_cell_value(**def, p.value); !s) return reject(SyncReason::kBadCell, s.message(), s.detail());
      if (!c.cell.is_field() && !row_exists(r, c.cell.table, c.cell.row)) {
        return reject(SyncReason::kRowMissing, "该行已被删除", p.conflict_id);
      }
      effects.emplace_back(CellWritten{c.cell, p.value});
      break;
    }
  }
  effects.emplace_back(ConflictClosed{p.conflict_id, p.resolution, op.author});
  return effects;
}

// ---- applying effects ---------------------------------------------------------

void insert_row(Form& form, const std::string& table, const RowId& id, const RowId& after,
                const std::map<std::string, CellValue>& cells) {
  auto& rows = form.tables[table].rows;
  Row row;
  row.id = id;
  row.cells = cells;
  auto pos = rows.end();
  if (!after.empty()) {
    auto found = std::find_if(rows.begin(), rows.end(), [&](const Row& x) { return x.id == after; });
    if (found != rows.end()) pos = found + 1;
  }
  rows.insert(pos, std::move(row));
}

void erase_row(Form& form, const std::string& table, const RowId& id) {
  auto t = form.tables.find(table);
  if (t == form.tables.end()) return;
  auto& rows = t->second.rows;
  rows.erase(std::remove_if(rows.begin(), rows.end(), [&](const Row& x) { return x.id == id; }), rows.end());
}

struct EffectApplier {
  FormReplica& r;
  const LogEntry& e;

  CellStamp stamp() const { return CellStamp{e.seq, e.hlc, e.device, e.author}; }

  void operator()(const FormCreated& x) const {
    r.form = x.form;
    r.workflow = x.workflow;
  }
  void operator()(const CellWritten& x) const {
    if (CellValue* cell = find_cell_mutable(r.form, x.cell)) {
      *cell = x.value;
      r.stamps[x.cell.to_string()] = stamp();
    }
  }
  void operator()(const RowInserted& x) const {
    r.deleted_rows.erase(row_key(x.table, x.row_id));
    insert_row(r.form, x.table, x.row_id, x.after_row, x.cells);
    for (const auto& [key, _] : x.cells) r.stamps[CellRef{x.table, x.row_id, key}.to_string()] = stamp();
  }
  void operator()(const RowDeleted& x) const {
    erase_row(r.form, x.table, x.row_id);
    r.deleted_rows[row_key(x.table, x.row_id)] = e.seq;
    const std::string prefix = row_prefix(x.table, x.row_id);
    for (auto it = r.stamps.lower_bound(prefix); it != r.stamps.end() && it->first.rfind(prefix, 0) == 0;) {
      it = r.stamps.erase(it);
    }
  }
  void operator()(const WorkflowChanged& x) const { r.workflow = x.state; }
  void operator()(const ConflictOpened& x) const { r.conflicts[x.conflict.id] = x.conflict; }
  void operator()(const ConflictClosed& x) const {
    auto it = r.conflicts.find(x.conflict_id);
    if (it == r.conflicts.end()) return;
    it->second.resolved = true;
    it->second.resolution = x.resolution;
    it->second.resolved_by = x.resolved_by;
  }
};

// ---- three-way text merge -------------------------------------------------------

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '\n') {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

// A change against the base: base lines [begin, end) become `lines`.
struct Hunk {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::vector<std::string> lines;
  friend bool operator==(const Hunk&, const Hunk&) = default;
};

// The hunks that turn `base` into `other`, from a longest common subsequence.
std::vector<Hunk> diff(const std::vector<std::string>& base, const std::vector<std::string>& other) {
  const std::size_t n = base.size();
  const std::size_t m = other.size();
  std::vector<std::vector<std::uint32_t>> lcs(n + 1, std::vector<std::uint32_t>(m + 1, 0));
  for (std::size_t i = n; i-- > 0;) {
    for (std::size_t j = m; j-- > 0;) {
      lcs[i][j] = base[i] == other[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  std::vector<Hunk> hunks;
  std::size_t i = 0;
  std::size_t j = 0;
  Hunk open;
  bool is_open = false;
  auto flush = [&] {
    if (is_open) hunks.push_back(open);
    is_open = false;
  };
  while (i < n || j < m) {
    if (i < n && j < m && base[i] == other[j]) {
      flush();
      ++i;
      ++j;
      continue;
    }
    if (!is_open) {
      open = Hunk{i, i, {}};
      is_open = true;
    }
    if (j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j])) {
      open.lines.push_back(other[j++]);
    } else {
      ++i;
      open.end = i;
    }
  }
  flush();
  return hunks;
}

bool overlaps(const Hunk& a, const Hunk& b) {
  if (a.begin < b.end && b.begin < a.end) return true;
  // Insertions (empty ranges) at, or touching, the other's range: the order
  // of the two changes would be a guess.
  const bool a_empty = a.begin == a.end;
  const bool b_empty = b.begin == b.end;
  return (a_empty || b_empty) && a.begin <= b.end && b.begin <= a.end;
}

}  // namespace

std::string row_key(const std::string& table, const RowId& row) { return table + "[" + row + "]"; }

Result<std::vector<Effect>> decide_content_effects(const FormReplica& replica, const Operation& op,
                                                   const FormTemplate& tmpl, ServerSeq /*seq*/) {
  if (const auto* set = std::get_if<SetCell>(&op.payload)) return decide_set_cell(replica, op, *set, tmpl);
  if (const auto* ins = std::get_if<InsertRow>(&op.payload)) return decide_insert_row(replica, op, *ins, tmpl);
  if (const auto* del = std::get_if<DeleteRow>(&op.payload)) return decide_delete_row(replica, op, *del, tmpl);
  if (const auto* res = std::get_if<ResolveConflict>(&op.payload)) return decide_resolve(replica, op, *res, tmpl);
  return Status::internal("不是内容操作", std::string(op_kind_name(op.payload)));
}

void apply_entry(FormReplica& replica, const LogEntry& entry) {
  if (entry.seq <= replica.last_seq) return;
  const EffectApplier applier{replica, entry};
  for (const Effect& effect : entry.effects) std::visit(applier, effect);
  replica.last_seq = entry.seq;
}

std::optional<std::vector<Effect>> plain_effects(const Operation& op) {
  if (const auto* set = std::get_if<SetCell>(&op.payload)) return std::vector<Effect>{CellWritten{set->cell, set->value}};
  if (const auto* ins = std::get_if<InsertRow>(&op.payload)) {
    return std::vector<Effect>{RowInserted{ins->table, ins->row_id, ins->after_row, ins->cells}};
  }
  if (const auto* del = std::get_if<DeleteRow>(&op.payload)) return std::vector<Effect>{RowDeleted{del->table, del->row_id}};
  return std::nullopt;
}

void apply_local(FormReplica& replica, const Operation& op) {
  if (const auto* set = std::get_if<SetCell>(&op.payload)) {
    if (CellValue* cell = find_cell_mutable(replica.form, set->cell)) *cell = set->value;
  } else if (const auto* ins = std::get_if<InsertRow>(&op.payload)) {
    if (!row_exists(replica, ins->table, ins->row_id)) {
      insert_row(replica.form, ins->table, ins->row_id, ins->after_row, ins->cells);
    }
  } else if (const auto* del = std::get_if<DeleteRow>(&op.payload)) {
    erase_row(replica.form, del->table, del->row_id);
  } else if (const auto* p = std::get_if<ResolveConflict>(&op.payload)) {
    auto it = replica.conflicts.find(p->conflict_id);
    if (it == replica.conflicts.end() || it->second.resolved) return;
    ConflictRecord& c = it->second;
    if (p->resolution == Resolution::kTakeLoser && c.kind != ConflictKind::kDeleteOfEditedRow &&
        c.kind != ConflictKind::kEditOfDeletedRow) {
      if (CellValue* cell = find_cell_mutable(replica.form, c.cell)) *cell = c.loser.value;
    } else if (p->resolution == Resolution::kTakeLoser && c.kind == ConflictKind::kDeleteOfEditedRow) {
      if (!row_exists(replica, c.cell.table, c.cell.row)) insert_row(replica.form, c.cell.table, c.cell.row, {}, c.row_cells);
    } else if (p->resolution == Resolution::kNewValue) {
      if (CellValue* cell = find_cell_mutable(replica.form, c.cell)) *cell = p->value;
    }
    c.resolved = true;
    c.resolution = p->resolution;
    c.resolved_by = op.author;
  }
  // CreateForm and WorkflowAction change nothing locally until the server
  // answers: a new form is shown from its own pending create (client), and
  // workflow state is the server's to decide.
}

std::optional<std::string> merge_text(const std::string& base, const std::string& mine, const std::string& theirs) {
  if (mine == theirs) return mine;
  if (mine == base) return theirs;
  if (theirs == base) return mine;
  const auto base_lines = split_lines(base);
  const auto a = diff(base_lines, split_lines(mine));
  const auto b = diff(base_lines, split_lines(theirs));
  std::vector<Hunk> all;
  for (const Hunk& x : a) {
    for (const Hunk& y : b) {
      if (overlaps(x, y) && !(x == y)) return std::nullopt;
    }
    all.push_back(x);
  }
  for (const Hunk& y : b) {
    if (std::find(a.begin(), a.end(), y) == a.end()) all.push_back(y);
  }
  std::sort(all.begin(), all.end(), [](const Hunk& x, const Hunk& y) { return x.begin < y.begin; });
  std::vector<std::string> out;
  std::size_t at = 0;
  for (const Hunk& h : all) {
    for (; at < h.begin; ++at) out.push_back(base_lines[at]);
    out.insert(out.end(), h.lines.begin(), h.lines.end());
    at = h.end;
  }
  for (; at < base_lines.size(); ++at) out.push_back(base_lines[at]);
  std::string merged;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (i > 0) merged += '\n';
    merged += out[i];
  }
  return merged;
}

}  // namespace jixiao::sync
