// A form's history for people (form_history.h).
#include "jixiao/client/form_history.h"

#include <set>

namespace jixiao::client {

Result<std::vector<HistoryItem>> FormHistory::history(const sync::ClientReplica& replica, const FormId& form) const {
  auto v = replica.view(form);
  if (!v) return v.status();
  auto records = replica.history(form);
  if (!records) return records.status();
  std::vector<HistoryItem> out;
  std::set<sync::ServerSeq> seen;
  for (const sync::HistoryRecord& rec : *records) {
    if (seen.count(rec.seq) != 0) continue;
    HistoryItem item;
    item.seq = rec.seq;
    item.op_id = rec.op_id;
    item.author = rec.author;
    item.wall_ms = rec.wall_ms;
    if (rec.kind == sync::HistoryRecord::Kind::kSnapshot) {
      // Redundant when what it covers was recorded before.
      if (!seen.empty() && *seen.begin() <= item.seq) continue;
      seen.insert(item.seq);
      item.changes.push_back("收到该表单截至第 " + std::to_string(item.seq) + " 号记录的完整内容（此前的记录未下载到本机）");
    } else if (rec.kind == sync::HistoryRecord::Kind::kOwn) {
      seen.insert(item.seq);
      if (rec.op) item.changes.push_back(text_.describe_op(*rec.op, &v->form));
    } else {
      seen.insert(item.seq);
      if (rec.entry) {
        for (const sync::Effect& e : rec.entry->effects) item.changes.push_back(text_.describe_effect(e, v->form));
      }
    }
    out.push_back(std::move(item));
  }
  return out;
}

}  // namespace jixiao::client
