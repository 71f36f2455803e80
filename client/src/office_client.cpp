// The office client (office_client.h): a facade over ClientSettings,
// SyncLoop, FormOperations, FormHistory and DisplayText.
#include "jixiao/client/office_client.h"

#include <sodium.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "jixiao/common/uuid.h"

namespace jixiao::client {
namespace fs = std::filesystem;
using sync::ClientReplica;
using sync::FormReplica;

struct OfficeClient::Impl {
  Impl(ClientOptions o, ClientSettings s, SyncLoop::Lock lock)
      : options(std::move(o)),
        settings(std::move(s)),
        text(*options.templates, options.workflows),
        forms(settings, text, [this] { return rep(); }),
        history(text),
        loop(settings,
             SyncLoopOptions{options.connect, options.clock, options.connect_timeout, options.request_timeout,
                             options.sync_deadline, options.client_version, options.apply_batch_items,
                             options.let_others_in},
             [this] { return rep(); }, std::move(lock)) {}

  ClientOptions options;
  workflow::SystemClock system_clock;
  ClientSettings settings;
  std::unique_ptr<ClientReplica> replica;  // once a user is known
  DisplayText text;
  FormOperations forms;
  FormHistory history;
  SyncLoop loop;

  const workflow::Clock& clock() const { return options.clock != nullptr ? *options.clock : system_clock; }

  // Opens the replica the first time a user is known.
  Result<ClientReplica*> rep() {
    if (replica) return replica.get();
    if (auto s = settings.require_user(); !s) return s;
    const ClientMeta& meta = settings.meta();
    sync::ClientIdentity who{*meta.user, meta.device_id, meta.unit_name};
    auto r = ClientReplica::open((options.data_dir / "replica.db").string(), std::move(who), *options.templates,
                                 clock());
    if (!r) return r.status();
    replica = std::move(r).value();
    return replica.get();
  }
};

OfficeClient::OfficeClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
OfficeClient::~OfficeClient() = default;

Result<std::unique_ptr<OfficeClient>> OfficeClient::open(ClientOptions options, SyncLoop::Lock lock) {
  if (options.templates == nullptr) return Status::internal("没有表单模板", "ClientOptions.templates is null");
  std::error_code ec;
  fs::create_directories(options.data_dir, ec);
  if (ec || !fs::is_directory(options.data_dir, ec)) {
    return Status::invalid_argument("无法创建数据目录 " + options.data_dir.string(), ec.message());
  }
  fs::permissions(options.data_dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  auto settings = ClientSettings::load(options.data_dir, options.hashing);
  if (!settings) return settings.status();
  auto impl = std::make_unique<Impl>(std::move(options), std::move(settings).value(), std::move(lock));
  if (impl->settings.meta().user) {
    if (auto r = impl->rep(); !r) return r.status();
  }
  return std::unique_ptr<OfficeClient>(new OfficeClient(std::move(impl)));
}

const ClientMeta& OfficeClient::meta() const { return impl_->settings.meta(); }
const fs::path& OfficeClient::data_dir() const { return impl_->options.data_dir; }

// ---- accounts ----------------------------------------------------------------------------

Status OfficeClient::register_device(const std::string& server_url, const UserId& login_name, const std::string& ca_file,
                                     const std::string& password, const SyncOptions& first_sync) {
  ClientMeta& m = impl_->settings.meta();
  if (!m.login.empty() && m.login != login_name && m.user) {
    return Status(StatusCode::kFailedPrecondition,
                  "数据目录 " + data_dir().string() + " 已属于用户 " + m.login + "，不能再注册另一个用户",
                  "login mismatch");
  }
  if (server_url.empty() || login_name.empty()) return Status::invalid_argument("需要服务器地址和用户名");
  if (m.device_id.empty() || m.login != login_name) m.device_id = new_uuid_v4();
  if (m.server_url != server_url || m.login != login_name) m.token.clear();
  m.server_url = server_url;
  m.login = login_name;
  m.ca_file = ca_file.empty() ? std::string() : fs::absolute(ca_file).string();
  if (auto s = impl_->settings.save(); !s) return s;
  if (auto s = login(password); !s) return s;
  auto synced = sync(first_sync);
  return synced ? Status::ok() : synced.status();
}

Status OfficeClient::login(const std::string& password) { return impl_->loop.login(password); }

Status OfficeClient::logout() {
  impl_->settings.meta().token.clear();
  return impl_->settings.save();
}

Status OfficeClient::unlock(const std::string& password) const { return impl_->settings.verify_password(password); }

Result<SyncSummary> OfficeClient::sync(const SyncOptions& options) { return impl_->loop.sync(options); }

// ---- forms: FormOperations -----------------------------------------------------------------

Result<FormId> OfficeClient::resolve_form(std::string_view id) const { return impl_->forms.resolve_form(id); }
Result<std::vector<FormListing>> OfficeClient::forms() const { return impl_->forms.forms(); }
Result<std::vector<TodoItem>> OfficeClient::todo() const { return impl_->forms.todo(); }
Result<FormId> OfficeClient::create_form(const std::string& template_id, std::optional<int> fiscal_year,
                                         const std::optional<FormId>& from_target) {
  return impl_->forms.create_form(template_id, fiscal_year, from_target);
}
Result<FormReplica> OfficeClient::view(const FormId& form) const { return impl_->forms.view(form); }
Result<std::string> OfficeClient::form_json(const FormId& form) const { return impl_->forms.form_json(form); }
const FormTemplate* OfficeClient::template_of(const Form& form) const { return impl_->text.template_of(form); }
Status OfficeClient::set_cell(const FormId& form, std::string_view cell, std::string_view text) {
  return impl_->forms.set_cell(form, cell, text);
}
Result<RowId> OfficeClient::add_row(const FormId& form, const std::string& table,
                                    const std::vector<std::pair<std::string, std::string>>& cells) {
  return impl_->forms.add_row(form, table, cells);
}
Status OfficeClient::delete_row(const FormId& form, const std::string& table, const RowId& row) {
  return impl_->forms.delete_row(form, table, row);
}
Result<CheckOutcome> OfficeClient::check(const FormId& form) const { return impl_->forms.check(form); }
Status OfficeClient::submit(const FormId& form) { return impl_->forms.submit(form); }
Status OfficeClient::approve(const FormId& form, const ApproveParams& params) {
  return impl_->forms.approve(form, params);
}
Status OfficeClient::return_form(const FormId& form, const std::string& reason, const std::string& to_stage) {
  return impl_->forms.return_form(form, reason, to_stage);
}
Status OfficeClient::withdraw(const FormId& form) { return impl_->forms.withdraw(form); }
Status OfficeClient::resubmit(const FormId& form) { return impl_->forms.resubmit(form); }
Status OfficeClient::accept(const FormId& form, const std::string& comment) {
  return impl_->forms.accept(form, comment);
}

// ---- history, conflicts, rejected ---------------------------------------------------------

Result<std::vector<HistoryItem>> OfficeClient::history(const FormId& form) const {
  auto r = impl_->rep();
  if (!r) return r.status();
  return impl_->history.history(**r, form);
}
Result<std::vector<sync::ConflictRecord>> OfficeClient::conflicts(const std::optional<FormId>& form) const {
  return impl_->forms.conflicts(form);
}
Status OfficeClient::resolve(const FormId& form, const std::string& conflict_id, sync::Resolution resolution,
                             std::string_view new_value) {
  return impl_->forms.resolve(form, conflict_id, resolution, new_value);
}
Result<std::vector<sync::RejectedChange>> OfficeClient::rejected(const std::optional<FormId>& form) const {
  return impl_->forms.rejected(form);
}
Result<std::size_t> OfficeClient::reapply(const FormId& form) { return impl_->forms.reapply(form); }
Status OfficeClient::discard(std::string_view op_id) { return impl_->forms.discard(op_id); }

// ---- descriptions ------------------------------------------------------------------------

std::string OfficeClient::describe_cell(const Form& form, const CellRef& cell) const {
  return impl_->text.describe_cell(form, cell);
}
std::string OfficeClient::describe_op(const sync::Operation& op) const { return impl_->forms.describe_op(op); }
std::string OfficeClient::stage_name(const workflow::SubmissionState& state) const {
  return impl_->text.stage_name(state);
}

std::size_t OfficeClient::changes_waiting() const { return impl_->replica ? impl_->replica->outbox_size() : 0; }

// ---- free functions ----------------------------------------------------------------------

fs::path default_data_dir() {
  if (const char* env = std::getenv("JIXIAO_HOME"); env != nullptr && *env != '\0') return env;
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return fs::path(home) / ".local" / "share" / "jixiao";
  }
  return fs::path(".jixiao");
}

std::string default_workflows_dir(const std::string& exe_path) {
  if (const char* env = std::getenv("JIXIAO_WORKFLOWS"); env != nullptr && *env != '\0') return env;
  std::error_code ec;
  if (!exe_path.empty()) {
    const fs::path exe = fs::weakly_canonical(fs::path(exe_path), ec);
    const fs::path beside = exe.parent_path().parent_path() / "share" / "jixiao" / "workflow";
    if (fs::is_directory(beside, ec)) return beside.string();
  }
  return JIXIAO_CLIENT_WORKFLOW_DIR;
}

Result<std::vector<workflow::WorkflowDefinition>> load_workflows(const std::string& dir) {
  std::vector<workflow::WorkflowDefinition> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;  // stage names fall back to ids
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& f : files) {
    auto def = workflow::load_workflow_definition(f);
    if (!def) return def.status();
    out.push_back(std::move(def).value());
  }
  return out;
}

Result<std::string> sha256_file(const fs::path& file) {
  if (auto s = init_sodium(); !s) return s;
  std::ifstream in(file, std::ios::binary);
  if (!in) return Status::not_found("无法读取附件 " + file.string(), "open");
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    crypto_hash_sha256_update(&st, reinterpret_cast<const unsigned char*>(buf),
                              static_cast<unsigned long long>(in.gcount()));
  }
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&st, digest);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : digest) {
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 15]);
  }
  return out;
}

}  // namespace jixiao::client
