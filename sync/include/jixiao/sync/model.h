// The sync engine's vocabulary: operations clients make, the server's log of
// what it applied, conflict records, and the per-form replica state that
// every machine holding a form keeps identical.
//
// The server is the only place where concurrent operations are ordered: it
// gives each accepted operation a ServerSeq and decides its effect (merge.h).
// What it logs are the *effects*, so every replica that applies the log in
// order ends in the same state without re-deciding anything.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "jixiao/common/cell_ref.h"
#include "jixiao/common/form.h"
#include "jixiao/common/status.h"
#include "jixiao/sync/hlc.h"
#include "jixiao/workflow/engine.h"
#include "jixiao/workflow/round.h"

namespace jixiao::sync {

using OpId = std::string;      // UUID, made by the client
using DeviceId = std::string;  // UUID of a client installation
using ServerSeq = std::uint64_t;

// ---------------------------------------------------------------------------
// Operations: what a person did, at cell granularity.

// A new form of a template. The client chooses the FormId (a UUID).
struct CreateForm {
  TemplateRef template_ref;
  UnitCode unit_code;
  std::string unit_name;
  int fiscal_year = 0;
  MoneyUnit money_unit = MoneyUnit::kYuan;
  friend bool operator==(const CreateForm&, const CreateForm&) = default;
};

// Sets one cell — a header field, a narrative section (a long-text field) or
// a table cell.
struct SetCell {
  CellRef cell;
  CellValue value;
  // What the author's replica showed before this edit: the base of the
  // three-way merge of long text.
  CellValue base_value;
  friend bool operator==(const SetCell&, const SetCell&) = default;
};

// Adds a row with its own id to a dynamic table, after `after_row` (empty:
// at the end; a row that is gone: at the end).
struct InsertRow {
  std::string table;
  RowId row_id;
  RowId after_row;
  std::map<std::string, CellValue> cells;
  friend bool operator==(const InsertRow&, const InsertRow&) = default;
};

struct DeleteRow {
  std::string table;
  RowId row_id;
  friend bool operator==(const DeleteRow&, const DeleteRow&) = default;
};

// 提交 / 通过 / 退回 / 撤回 / 重新提交 / 受理, checked by the workflow engine.
struct WorkflowAction {
  workflow::Action action = workflow::Action::kSubmit;
  std::uint64_t expected_version = 0;  // the workflow state version the actor saw
  std::string content_hash;            // form_content_hash() of what the actor saw
  std::string reason;
  std::string return_to_stage;
  std::optional<workflow::MeetingEvidence> evidence;
  friend bool operator==(const WorkflowAction&, const WorkflowAction&) = default;
};

enum class Resolution : std::uint8_t {
  kKeepWinner = 0,  // the value the merge chose stays
  kTakeLoser = 1,   // the value that lost replaces it
  kNewValue = 2,    // a value written while resolving
};

struct ResolveConflict {
  std::string conflict_id;
  Resolution resolution = Resolution::kKeepWinner;
  CellValue value;  // kNewValue only
  friend bool operator==(const ResolveConflict&, const ResolveConflict&) = default;
};

// The finance bureau opens a self-evaluation round (通知文号, deadline, the
// forms each unit must hand in). The operation's form_id is the round id.
struct OpenRound {
  workflow::RoundSpec spec;
  friend bool operator==(const OpenRound&, const OpenRound&) = default;
};

// New kinds are appended, never reordered: the index travels on the wire.
using OpPayload = std::variant<CreateForm, SetCell, InsertRow, DeleteRow, WorkflowAction, ResolveConflict, OpenRound>;

struct Operation {
  OpId id;
  FormId form_id;
  UserId author;
  DeviceId device;
  HybridTimestamp hlc;
  // The last ServerSeq of this form the author's replica had applied when the
  // operation was made: anything the server applied to the form after it is
  // concurrent with this operation.
  ServerSeq base_seq = 0;
  OpPayload payload;

  friend bool operator==(const Operation&, const Operation&) = default;
};

std::string_view op_kind_name(const OpPayload& p);  // "set_cell" …

// ---------------------------------------------------------------------------
// Conflicts: the value that lost a merge, kept until someone resolves it.

enum class ConflictKind : std::uint8_t {
  kSameCell = 0,          // two edits of one cell; one won by (timestamp, device)
  kTextOverlap = 1,       // two edits of one long text that touch the same lines
  kEditOfDeletedRow = 2,  // an edit reached a row deleted elsewhere
  kDeleteOfEditedRow = 3, // a row deleted while edited elsewhere: its last values kept
};

// One side of a conflict: who wrote what, when.
struct ConflictSide {
  CellValue value;
  UserId author;
  DeviceId device;
  HybridTimestamp hlc;
  OpId op_id;
  friend bool operator==(const ConflictSide&, const ConflictSide&) = default;
};

struct ConflictRecord {
  std::string id;  // the id of the operation that caused it
  FormId form_id;
  ConflictKind kind = ConflictKind::kSameCell;
  CellRef cell;  // for row kinds: the table and row, column empty
  ConflictSide winner;  // what the form holds now (empty for a deleted row)
  ConflictSide loser;   // what did not make it in
  std::map<std::string, CellValue> row_cells;  // kDeleteOfEditedRow: the row as it was
  bool resolved = false;
  Resolution resolution = Resolution::kKeepWinner;
  UserId resolved_by;
  friend bool operator==(const ConflictRecord&, const ConflictRecord&) = default;
};

// ---------------------------------------------------------------------------
// Effects and the server's log.

struct FormCreated {
  Form form;  // blank, as new_blank_form() makes it, with the client's id
  workflow::SubmissionState workflow;
  friend bool operator==(const FormCreated&, const FormCreated&) = default;
};
struct CellWritten {
  CellRef cell;
  CellValue value;
  friend bool operator==(const CellWritten&, const CellWritten&) = default;
};
struct RowInserted {
  std::string table;
  RowId row_id;
  RowId after_row;
  std::map<std::string, CellValue> cells;
  friend bool operator==(const RowInserted&, const RowInserted&) = default;
};
struct RowDeleted {
  std::string table;
  RowId row_id;
  friend bool operator==(const RowDeleted&, const RowDeleted&) = default;
};
struct WorkflowChanged {
  workflow::SubmissionState state;
  friend bool operator==(const WorkflowChanged&, const WorkflowChanged&) = default;
};
struct ConflictOpened {
  ConflictRecord conflict;
  friend bool operator==(const ConflictOpened&, const ConflictOpened&) = default;
};
struct ConflictClosed {
  std::string conflict_id;
  Resolution resolution = Resolution::kKeepWinner;
  UserId resolved_by;
  friend bool operator==(const ConflictClosed&, const ConflictClosed&) = default;
};

using Effect = std::variant<FormCreated, CellWritten, RowInserted, RowDeleted, WorkflowChanged, ConflictOpened,
                            ConflictClosed>;

// One accepted operation as the server logged it. Applying `effects` in order
// to the form's replica is all a receiver does.
struct LogEntry {
  ServerSeq seq = 0;
  FormId form_id;
  OpId op_id;
  UserId author;
  DeviceId device;
  HybridTimestamp hlc;
  std::vector<Effect> effects;
  friend bool operator==(const LogEntry&, const LogEntry&) = default;
};

// ---------------------------------------------------------------------------
// The replica of one form: identical on the server and on every machine that
// holds the form once they have applied the same log.

// The last accepted write of a cell.
struct CellStamp {
  ServerSeq seq = 0;
  HybridTimestamp hlc;
  DeviceId device;
  UserId author;
  friend bool operator==(const CellStamp&, const CellStamp&) = default;
};

struct FormReplica {
  Form form;
  workflow::SubmissionState workflow;
  std::map<std::string, CellStamp> stamps;   // by CellRef::to_string()
  std::map<std::string, ServerSeq> deleted_rows;  // "table[row]" -> seq of the delete
  std::map<std::string, ConflictRecord> conflicts;  // by conflict id
  ServerSeq last_seq = 0;  // the last log entry applied
  friend bool operator==(const FormReplica&, const FormReplica&) = default;
};

// SHA-256 (hex) of a canonical encoding of what every holder of the form
// has: the form, its workflow state, deleted rows, conflicts and last_seq.
// Equal replicas, equal hashes, on every machine; used to prove convergence.
// Cell stamps are left out: they are the server's merge bookkeeping, and a
// client that received a snapshot holds only those of later entries.
std::string replica_hash(const FormReplica& replica);

// Encodes / decodes a replica for local storage (the client's and server's own
// disks; never network input).
std::string encode_replica(const FormReplica& replica);
Result<FormReplica> decode_replica(std::string_view bytes);
std::string encode_operation(const Operation& op);
Result<Operation> decode_operation(std::string_view bytes);
std::string encode_entry(const LogEntry& entry);
Result<LogEntry> decode_entry(std::string_view bytes);

}  // namespace jixiao::sync
