// Merge rules (docs/sync.md): pure functions from a form's replica and one
// operation to the effects the server logs, and from effects to the next
// replica. No clock, no storage, no network.
//
// The server calls decide_content_effects() for content operations in the
// order it accepts them; the workflow decides workflow actions. Everyone —
// server, every client — calls apply_entry() with the logged effects, so all
// replicas end identical. Clients call apply_local() to show their own
// pending operations on top of the confirmed replica.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "jixiao/common/form_template.h"
#include "jixiao/common/status.h"
#include "jixiao/sync/model.h"
#include "jixiao/sync/protocol.h"

namespace jixiao::sync {

// The effects of a content operation (SetCell, InsertRow, DeleteRow,
// ResolveConflict) on `replica`, or a rejection (Status with a SyncReason)
// when the operation is malformed for this form: unknown cell, value of the
// wrong type, duplicate row id, unknown or closed conflict. `seq` is the
// ServerSeq the effects will be logged at.
Result<std::vector<Effect>> decide_content_effects(const FormReplica& replica, const Operation& op,
                                                   const FormTemplate& tmpl, ServerSeq seq);

// Applies a log entry's effects to a replica and advances last_seq. Entries
// at or below last_seq are skipped (idempotent). `replica` may be empty
// (default) when the entry creates the form.
void apply_entry(FormReplica& replica, const LogEntry& entry);

// Shows one of the client's own pending operations on a copy of the
// confirmed replica: the plain effect, no merging (the server decides later).
// Operations that no longer fit (a row deleted meanwhile) are skipped.
void apply_local(FormReplica& replica, const Operation& op);

// The effects an operation has when nothing concurrent touched what it
// changes: SetCell writes its value, InsertRow inserts its row, DeleteRow
// deletes its row. nullopt for every other kind (their effects depend on
// server state: workflow, creation, conflict resolution). The server leaves
// an entry out of its answer to the operation's author exactly when the
// logged effects equal these (protocol.h, SyncResponse::entries).
std::optional<std::vector<Effect>> plain_effects(const Operation& op);

// Three-way merge of long text by lines: `base` is what both sides started
// from. Returns the merged text when the two changes touch different lines
// (or make the same change), nullopt when they overlap.
std::optional<std::string> merge_text(const std::string& base, const std::string& mine, const std::string& theirs);

// "table[row]": the key of a row in FormReplica::deleted_rows.
std::string row_key(const std::string& table, const RowId& row);

}  // namespace jixiao::sync
