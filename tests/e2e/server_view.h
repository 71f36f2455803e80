// What the server holds, read from its data directory with the server's own
// library (while `serve` is stopped): a form as JSON (the same text the
// client's `show --json` prints), its workflow phase, and the audit chain.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "process.h"

namespace jixiao::e2e {

struct ServerAuditEntry {
  std::string actor, subject, action;
  std::vector<std::pair<std::string, std::string>> fields;
};

struct ServerView {
  std::string error;             // non-empty: the store could not be read
  std::string form_json;         // form_to_json of the server's replica
  std::string phase;             // "草稿", "审核中", "已退回", "已受理"
  std::string last_return_reason;
  std::vector<ServerAuditEntry> audit;
};

ServerView read_server_view(const fs::path& data_dir, const std::string& form_id);

}  // namespace jixiao::e2e
