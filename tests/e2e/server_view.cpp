#include "server_view.h"

#include "jixiao/common/form_json.h"
#include "jixiao/server/admin.h"
#include "jixiao/server/config.h"
#include "jixiao/workflow/clock.h"
#include "system.h"

namespace jixiao::e2e {

ServerView read_server_view(const fs::path& data_dir, const std::string& form_id) {
  ServerView v;
  auto config = server::load_config(data_dir / std::string(server::kConfigFileName));
  if (!config) {
    v.error = config.status().to_string();
    return v;
  }
  workflow::SystemClock clock;
  auto store = server::ServerComponents::open(*config, bin("jixiao-server"), clock);
  if (!store) {
    v.error = store.status().to_string();
    return v;
  }
  auto replica = (*store)->sync().replica(form_id);
  if (!replica) {
    v.error = replica.status().to_string();
    return v;
  }
  auto tmpl = (*store)->templates().find(replica->form.template_ref.id, replica->form.template_ref.version);
  if (!tmpl) {
    v.error = tmpl.status().to_string();
    return v;
  }
  v.form_json = form_to_json(replica->form, **tmpl);
  v.phase = std::string(workflow::phase_name(replica->workflow.phase));
  v.last_return_reason = replica->workflow.last_return_reason;
  for (const auto& r : (*store)->sync().audit_records()) {
    ServerAuditEntry e{r.event.actor, r.event.subject, r.event.action, {}};
    for (const auto& f : r.event.fields) e.fields.emplace_back(f.key, f.value);
    v.audit.push_back(std::move(e));
  }
  return v;
}

}  // namespace jixiao::e2e
