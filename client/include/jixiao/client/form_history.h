// A form's history for people: what the replica recorded it applied
// (ClientReplica::history), as Chinese lines. One job; reads only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "jixiao/client/display_text.h"
#include "jixiao/sync/client_replica.h"

namespace jixiao::client {

// One line of `history`.
struct HistoryItem {
  sync::ServerSeq seq = 0;
  std::int64_t wall_ms = 0;   // the author's time (hybrid clock, physical part)
  UserId author;
  std::string op_id;
  std::vector<std::string> changes;  // Chinese, one per effect
};

class FormHistory {
 public:
  explicit FormHistory(const DisplayText& text) : text_(text) {}
  // Entries older than a snapshot were never received and are not shown; a
  // line says so. An entry and this device's own record of one seq: the
  // entry (the server's effect) wins.
  Result<std::vector<HistoryItem>> history(const sync::ClientReplica& replica, const FormId& form) const;

 private:
  const DisplayText& text_;
};

}  // namespace jixiao::client
