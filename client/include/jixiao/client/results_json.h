// JSON encodings of the client's results, for the local web page and
// `--json` on the command line. Each returns a JSON text (UTF-8, Chinese
// as is); the form view itself is the form file format (form_json.h) and a
// check report has its own (check_report.h: check_report_json).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "jixiao/client/form_history.h"
#include "jixiao/client/form_operations.h"

namespace jixiao::client {

// Where the client stands (ClientService::status()).
struct ClientStatus {
  bool online = false;     // the last attempt to reach the server succeeded
  bool syncing = false;    // a sync is running now
  std::size_t pages_received = 0;   // of the sync running (or the last one)
  std::uint64_t bytes_received = 0;
  std::size_t changes_waiting = 0;  // outbox operations not yet confirmed
  std::int64_t last_sync_ms = 0;    // the last successful sync (0: never)
  std::string last_error;           // Chinese; empty when the last sync succeeded
};

// [{"id", "template", "template_title", "project_name", "unit_code",
//   "unit_name", "fiscal_year", "phase", "stage", "state", "holder":
//   {"stage", "stage_name", "role", "unit"}|null, "pending_ops",
//   "open_conflicts", "waiting_rejected"}]
std::string forms_json(const std::vector<FormListing>& forms);
// [{"kind": "form"|"conflict"|"rejected", "form": <as in forms_json>, "what", "ref"}]
std::string todo_json(const std::vector<TodoItem>& items);
// [{"seq", "wall_ms", "author", "op_id", "changes": [..]}]
std::string history_json(const std::vector<HistoryItem>& items);
// {"form": <the form file JSON>, "phase", "stage", "version", "last_seq",
//  "open_conflicts": n}
std::string form_view_json(const sync::FormReplica& view, const FormTemplate& tmpl);
// {"online", "syncing", "pages_received", "bytes_received",
//  "changes_waiting", "last_sync_ms", "last_error"}
std::string status_json(const ClientStatus& status);

}  // namespace jixiao::client
