#include "jixiao/server/admin.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "jixiao/store/sqlite_store.h"

#ifndef JIXIAO_WORKFLOW_SOURCE_DIR
#define JIXIAO_WORKFLOW_SOURCE_DIR ""
#endif

namespace jixiao::server {
namespace {

namespace fs = std::filesystem;

fs::path with_suffix(const fs::path& p, std::string_view suffix) { return fs::path(p.string() + std::string(suffix)); }

Status precondition(std::string message, std::string detail = {}) {
  return Status(StatusCode::kFailedPrecondition, std::move(message), std::move(detail));
}

Status io_error(const std::string& what, const fs::path& p, int err) {
  return Status(StatusCode::kUnavailable, what + " " + p.string() + " 失败：" + std::strerror(err),
                what + " " + p.string() + ": errno " + std::to_string(err));
}

// Writes `bytes` to a new file (O_EXCL) with `mode`, fsynced.
Status write_new_file(const fs::path& p, std::string_view bytes, mode_t mode) {
  const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return io_error("创建文件", p, errno);
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      return io_error("写入文件", p, err);
    }
    done += static_cast<std::size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!synced) return io_error("写入文件", p, err);
  return Status::ok();
}

void remove_quietly(const fs::path& p) {
  std::error_code ec;
  fs::remove(p, ec);
}

void remove_database_files(const fs::path& db) {
  remove_quietly(db);
  remove_quietly(with_suffix(db, "-wal"));
  remove_quietly(with_suffix(db, "-shm"));
  remove_quietly(with_suffix(db, "-journal"));
}

std::uintmax_t size_or_zero(const fs::path& p) {
  std::error_code ec;
  const std::uintmax_t n = fs::file_size(p, ec);
  return ec ? 0 : n;
}

bool process_alive(pid_t pid) {
  if (pid <= 0) return false;
  return ::kill(pid, 0) == 0 || errno == EPERM;
}

}  // namespace

// ---- resources ----------------------------------------------------------------------

fs::path templates_directory(const ServerConfig& config, const std::string& exe_path) {
  if (!config.templates_dir.empty()) return config.templates_dir;
  return TemplateRegistry::default_directory(exe_path);
}

fs::path workflows_directory(const ServerConfig& config, const std::string& exe_path) {
  if (!config.workflows_dir.empty()) return config.workflows_dir;
  if (const char* env = std::getenv("JIXIAO_WORKFLOWS"); env != nullptr && *env != '\0') return env;
  std::error_code ec;
  if (!exe_path.empty()) {
    const fs::path exe = fs::weakly_canonical(fs::path(exe_path), ec);
    const fs::path beside = exe.parent_path().parent_path() / "share" / "jixiao" / "workflow";
    if (fs::is_directory(beside, ec)) return beside;
  }
  return JIXIAO_WORKFLOW_SOURCE_DIR;
}

Result<std::vector<workflow::WorkflowDefinition>> load_workflow_directory(const fs::path& dir) {
  std::error_code ec;
  std::vector<fs::path> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".json") files.push_back(it->path());
  }
  if (ec) {
    return Status::not_found("无法读取审批流程定义目录 " + dir.string() + "（" + ec.message() + "）",
                             "workflows dir " + dir.string());
  }
  if (files.empty()) {
    return Status::not_found("审批流程定义目录 " + dir.string() + " 中没有 .json 文件", "workflows dir " + dir.string());
  }
  std::sort(files.begin(), files.end());
  std::vector<workflow::WorkflowDefinition> out;
  for (const fs::path& f : files) {
    auto def = workflow::load_workflow_definition(f);
    if (!def) return def.status();
    out.push_back(std::move(*def));
  }
  return out;
}

// ---- the open store -----------------------------------------------------------------

ServerComponents::~ServerComponents() = default;

Result<std::unique_ptr<ServerComponents>> ServerComponents::open(const ServerConfig& config, const std::string& exe_path,
                                                                const workflow::Clock& clock, Mode mode) {
  const fs::path db = config.database();
  std::error_code ec;
  if (mode == Mode::kExisting && !fs::exists(db, ec)) {
    return Status::not_found("数据库 " + db.string() + " 不存在：请确认数据目录，或先运行 jixiao-server init",
                             "missing " + db.string());
  }
  std::unique_ptr<ServerComponents> parts(new ServerComponents());
  const fs::path templates_dir = templates_directory(config, exe_path);
  if (auto s = parts->templates_.load_directory(templates_dir.string()); !s) {
    return Status(s.code(), s.reason(), "表单模板目录 " + templates_dir.string() + "：" + s.message(), s.detail());
  }
  auto definitions = load_workflow_directory(workflows_directory(config, exe_path));
  if (!definitions) return definitions.status();

  store::SqliteStoreOptions options;
  options.create = mode == Mode::kCreate;
  options.indexer = form_indexer(parts->templates_, *definitions, clock);
  auto store = store::open_sqlite_store(db, std::move(options));
  if (!store) return store.status();
  parts->store_ = std::move(*store);
  auto accounts = AccountStore::open(*parts->store_, clock, config.accounts, nullptr);
  if (!accounts) return accounts.status();
  parts->accounts_ = std::move(*accounts);
  const char* os_user = std::getenv("USER");
  parts->accounts_->set_admin_actor(std::string("cli:") + (os_user != nullptr && *os_user != '\0' ? os_user : "unknown"));
  auto sync_service = SyncService::open(*parts->store_, parts->templates_, std::move(*definitions), clock);
  if (!sync_service) return sync_service.status();
  parts->sync_ = std::move(*sync_service);
  ::chmod(db.c_str(), S_IRUSR | S_IWUSR);
  return parts;
}

// ---- init ---------------------------------------------------------------------------

Result<InitResult> init_data_dir(const InitOptions& options, const std::string& exe_path, const workflow::Clock& clock) {
  if (options.data_dir.empty()) return Status::invalid_argument("未指定数据目录（--data）");
  std::error_code ec;
  const fs::path dir = fs::absolute(options.data_dir, ec).lexically_normal();
  const fs::path config_file = dir / kConfigFileName;
  if (fs::exists(config_file, ec)) {
    return precondition("配置文件 " + config_file.string() + " 已存在，不会覆盖；如需重新初始化，请先移走它",
                        "exists " + config_file.string());
  }
  if (fs::exists(dir / "server.db", ec)) {
    return precondition("数据目录 " + dir.string() + " 中已有数据库 server.db，不会覆盖", "exists server.db");
  }
  ServerConfig values;
  values.data_dir = ".";
  values.net.cert_file = "tls/server.crt";
  values.net.key_file = "tls/server.key";
  if (options.port) values.net.port = *options.port;
  if (options.listen_address) values.net.listen_address = *options.listen_address;
  if (options.plain) {
    if (!is_loopback_address(values.net.listen_address)) {
      return Status::invalid_argument("--plain（未加密）只能监听本机回环地址（127.0.0.1 或 ::1），不能监听“" +
                                      values.net.listen_address + "”");
    }
    values.net.tls = false;
    values.net.allow_plain = true;
  }
  const std::string text = config_text(values);
  auto parsed = parse_config(text, dir);
  if (!parsed) return parsed.status();

  const bool created = fs::create_directories(dir, ec);
  if (ec) return io_error("创建数据目录", dir, ec.value());
  if (created) fs::permissions(dir, fs::perms::owner_all, ec);
  if (auto s = write_new_file(config_file, text, S_IRUSR | S_IWUSR | S_IRGRP); !s) return s;
  auto store = ServerComponents::open(*parsed, exe_path, clock, ServerComponents::Mode::kCreate);
  if (!store) {
    remove_quietly(config_file);
    remove_database_files(parsed->database());
    return store.status();
  }
  return InitResult{config_file, parsed->database(), std::move(*parsed)};
}

// ---- lock file ----------------------------------------------------------------------

fs::path lock_file_path(const fs::path& data_dir) { return data_dir / "server.lock"; }

std::optional<LockInfo> read_lock(const fs::path& data_dir) {
  std::ifstream in(lock_file_path(data_dir));
  if (!in) return std::nullopt;
  long long pid = 0;
  unsigned port = 0;
  in >> pid;
  if (!in || pid <= 0 || pid > 0x3fffffff) return LockInfo{};  // unreadable: not alive
  if (!(in >> port) || port > 65535) port = 0;
  LockInfo info;
  info.pid = static_cast<pid_t>(pid);
  info.port = static_cast<std::uint16_t>(port);
  info.alive = process_alive(info.pid);
  return info;
}

namespace {
std::string lock_text(std::uint16_t port) { return std::to_string(::getpid()) + " " + std::to_string(port) + "\n"; }
}  // namespace

Status acquire_lock(const fs::path& data_dir, std::uint16_t port) {
  const fs::path file = lock_file_path(data_dir);
  for (int attempt = 0; attempt < 2; ++attempt) {
    const Status s = write_new_file(file, lock_text(port), S_IRUSR | S_IWUSR | S_IRGRP | S_IROTH);
    if (s) return s;
    if (s.code() != StatusCode::kUnavailable || !fs::exists(file)) return s;
    const auto lock = read_lock(data_dir);
    if (lock && lock->alive) {
      return precondition("服务正在运行（进程 " + std::to_string(lock->pid) + "，锁文件 " + file.string() + "）",
                          "lock held by pid " + std::to_string(lock->pid));
    }
    remove_quietly(file);  // stale: its process is gone
  }
  return precondition("无法取得锁文件 " + file.string() + "（另一进程同时在取）", "lock race");
}

Status update_lock_port(const fs::path& data_dir, std::uint16_t port) {
  const fs::path file = lock_file_path(data_dir);
  const fs::path tmp = with_suffix(file, ".tmp");
  remove_quietly(tmp);
  if (auto s = write_new_file(tmp, lock_text(port), S_IRUSR | S_IWUSR | S_IRGRP | S_IROTH); !s) return s;
  std::error_code ec;
  fs::rename(tmp, file, ec);
  if (ec) return io_error("更新锁文件", file, ec.value());
  return Status::ok();
}

void release_lock(const fs::path& data_dir) {
  const auto lock = read_lock(data_dir);
  if (lock && lock->pid == ::getpid()) remove_quietly(lock_file_path(data_dir));
}

// ---- backup, restore, verification ---------------------------------------------------

Result<DatabaseCheck> check_database_file(const fs::path& file) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return Status::not_found("数据库文件 " + file.string() + " 不存在", file.string());
  store::SqliteStoreOptions options;
  options.read_only = true;
  auto store = store::open_sqlite_store(file, std::move(options));
  if (!store) {
    if (store.status().code() == StatusCode::kInvalidArgument || store.status().code() == StatusCode::kUnsupportedVersion) {
      return store.status();
    }
    return Status::corruption("文件 " + file.string() + " 不是有效的数据库：" + store.status().message(),
                              store.status().detail());
  }
  if (auto s = (*store)->check_integrity(); !s) {
    return Status::corruption("数据库 " + file.string() + " 未通过完整性检查（integrity_check）：" + s.message(), s.detail());
  }
  DatabaseCheck out;
  {
    auto tx = (*store)->begin_read();
    if (!tx) return tx.status();
    auto records = (*tx)->audit_records();
    if (!records) return records.status();
    out.audit_records = records->size();
    out.audit = workflow::verify_audit_chain(*records);
  }
  out.bytes = size_or_zero(file);
  return out;
}

Result<DatabaseCheck> verify_backup_file(const fs::path& file) {
  auto check = check_database_file(file);
  if (!check) return check;
  if (!check->audit.ok()) {
    return Status::corruption("数据库 " + file.string() + " 的审计日志链校验失败：" + check->audit.status.message(),
                              check->audit.status.detail());
  }
  return check;
}

Result<DatabaseCheck> backup_database(const fs::path& database, const fs::path& to) {
  std::error_code ec;
  if (!fs::is_regular_file(database, ec)) {
    return Status::not_found("数据库 " + database.string() + " 不存在", database.string());
  }
  if (fs::exists(to, ec)) return precondition("备份文件 " + to.string() + " 已存在，不会覆盖", to.string());
  const fs::path partial = with_suffix(to, ".partial");
  remove_database_files(partial);

  {
    // Through the store: SQLite's online backup, a few pages per step.
    store::SqliteStoreOptions options;
    options.read_only = true;
    auto store = store::open_sqlite_store(database, std::move(options));
    if (!store) return Status(store.status().code(), "备份失败：" + store.status().message(), store.status().detail());
    if (auto s = (*store)->backup_to(partial); !s) {
      remove_database_files(partial);
      return Status(s.code(), s.reason(), "备份失败：" + s.message(), s.detail());
    }
  }
  ::chmod(partial.c_str(), S_IRUSR | S_IWUSR);

  auto check = verify_backup_file(partial);
  if (!check) {
    remove_database_files(partial);
    return Status(check.status().code(), "备份副本未通过校验，已删除：" + check.status().message(), check.status().detail());
  }
  fs::rename(partial, to, ec);
  if (ec) {
    remove_database_files(partial);
    return io_error("重命名备份文件", to, ec.value());
  }
  return check;
}

std::string compact_utc_time(workflow::TimePoint t) {
  const std::time_t secs =
      static_cast<std::time_t>(std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return std::string(buf, n);
}

Result<RestoreResult> restore_database(const ServerConfig& config, const fs::path& from, const workflow::Clock& clock) {
  const fs::path db = config.database();
  std::error_code ec;
  if (const auto lock = read_lock(config.data_dir); lock && lock->alive) {
    return precondition("服务正在运行（进程 " + std::to_string(lock->pid) + "），请先停止服务再恢复",
                        "lock held by pid " + std::to_string(lock->pid));
  }
  if (!fs::is_regular_file(from, ec)) return Status::not_found("备份文件 " + from.string() + " 不存在", from.string());
  // Hold the lock ourselves so `serve` cannot start halfway.
  if (auto s = acquire_lock(config.data_dir, 0); !s) return s;
  struct Release {
    const fs::path& dir;
    ~Release() { release_lock(dir); }
  } release{config.data_dir};

  // Verify a copy, never the backup itself (opening it would touch it) and
  // never after the current database is moved.
  const fs::path staging = with_suffix(db, ".restoring");
  remove_database_files(staging);
  fs::copy_file(from, staging, ec);
  if (ec) return io_error("复制备份文件", staging, ec.value());
  ::chmod(staging.c_str(), S_IRUSR | S_IWUSR);
  auto check = verify_backup_file(staging);
  if (!check) {
    remove_database_files(staging);
    return Status(check.status().code(), "备份文件未通过校验，当前数据库未做任何改动：" + check.status().message(),
                  check.status().detail());
  }

  RestoreResult result;
  result.restored = *check;
  if (fs::exists(db, ec)) {
    fs::path kept = with_suffix(db, ".before-restore-" + compact_utc_time(clock.now()));
    for (int n = 1; fs::exists(kept, ec) && n < 100; ++n) {
      kept = with_suffix(db, ".before-restore-" + compact_utc_time(clock.now()) + "-" + std::to_string(n));
    }
    // The database and its WAL move together: "<name>-wal" belongs to
    // "<name>", so the kept copy opens with everything it had committed.
    fs::rename(db, kept, ec);
    if (ec) {
      remove_database_files(staging);
      return io_error("保留原数据库", kept, ec.value());
    }
    if (fs::exists(with_suffix(db, "-wal"), ec)) fs::rename(with_suffix(db, "-wal"), with_suffix(kept, "-wal"), ec);
    remove_quietly(with_suffix(db, "-shm"));
    remove_quietly(with_suffix(db, "-wal"));
    result.kept_as = kept;
  }
  fs::rename(staging, db, ec);
  if (ec) return io_error("启用恢复的数据库", db, ec.value());
  return result;
}

// ---- audit and status ---------------------------------------------------------------

AuditVerification verify_audit(const SyncService& server) {
  const auto records = server.audit_records();
  AuditVerification out;
  out.records = records.size();
  out.verdict = workflow::verify_audit_chain(records);
  return out;
}

Result<StoreStatus> store_status(ServerComponents& store, const ServerConfig& config) {
  StoreStatus out;
  (void)config;
  const store::StoreFiles files = store.store().files();
  out.store_bytes = files.bytes;
  out.head = store.sync().head();
  {
    auto tx = store.store().begin_read();
    if (!tx) return tx.status();
    auto counts = (*tx)->counts(workflow::SystemClock().now().time_since_epoch().count());
    if (!counts) return counts.status();
    out.forms = counts->forms;
    out.audit_records = counts->audit_records;
    out.rounds = counts->rounds;
    out.open_rounds = counts->open_rounds;
  }
  const Directory now = store.accounts().directory();
  out.units = now.organisation.units().size();
  out.users = now.users.size();
  out.disabled_users = static_cast<std::size_t>(
      std::count_if(now.users.begin(), now.users.end(), [](const auto& u) { return u.second.disabled; }));
  out.active_sessions = store.accounts().active_sessions();
  return out;
}

namespace {

// A connected socket, closed on destruction.
struct Socket {
  int fd = -1;
  ~Socket() {
    if (fd >= 0) ::close(fd);
  }
};

struct SslHandles {
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  ~SslHandles() {
    if (ssl != nullptr) SSL_free(ssl);
    if (ctx != nullptr) SSL_CTX_free(ctx);
  }
};

// The body of an HTTP/1.1 response (Content-Length, chunked or until close).
Result<std::string> http_body(const std::string& response) {
  const std::size_t head_end = response.find("\r\n\r\n");
  if (head_end == std::string::npos || response.compare(0, 5, "HTTP/") != 0) {
    return Status(StatusCode::kUnavailable, "服务的状态应答格式不正确", "no HTTP header");
  }
  const std::size_t sp = response.find(' ');
  if (sp == std::string::npos || response.compare(sp + 1, 3, "200") != 0) {
    return Status(StatusCode::kUnavailable, "服务拒绝了状态查询",
                  response.substr(0, std::min(response.find("\r\n"), std::size_t{80})));
  }
  std::string head = response.substr(0, head_end);
  std::transform(head.begin(), head.end(), head.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string body = response.substr(head_end + 4);
  if (head.find("transfer-encoding: chunked") == std::string::npos) return body;
  std::string out;
  std::size_t pos = 0;
  while (pos < body.size()) {
    const std::size_t eol = body.find("\r\n", pos);
    if (eol == std::string::npos) break;
    const std::size_t len = std::strtoul(body.substr(pos, eol - pos).c_str(), nullptr, 16);
    if (len == 0 || eol + 2 + len > body.size()) break;
    out.append(body, eol + 2, len);
    pos = eol + 2 + len + 2;
  }
  return out;
}

}  // namespace

Result<std::string> fetch_local_status(std::uint16_t port, bool tls, std::chrono::milliseconds timeout) {
  auto unavailable = [](const std::string& why) {
    return Status(StatusCode::kUnavailable, "无法从运行中的服务取得状态", why);
  };
  Socket sock;
  sock.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock.fd < 0) return unavailable("socket: " + std::string(std::strerror(errno)));
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(sock.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(sock.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(sock.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    return unavailable("connect 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(errno));
  }
  const std::string request = "GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  constexpr std::size_t kMaxResponse = 1u << 20;
  std::string response;
  char buf[4096];
  if (tls) {
    SslHandles h;
    h.ctx = SSL_CTX_new(TLS_client_method());
    if (h.ctx == nullptr) return unavailable("SSL_CTX_new");
    SSL_CTX_set_min_proto_version(h.ctx, TLS1_2_VERSION);
    h.ssl = SSL_new(h.ctx);
    if (h.ssl == nullptr || SSL_set_fd(h.ssl, sock.fd) != 1 || SSL_connect(h.ssl) != 1) {
      return unavailable("TLS handshake with 127.0.0.1:" + std::to_string(port));
    }
    if (SSL_write(h.ssl, request.data(), static_cast<int>(request.size())) <= 0) return unavailable("TLS write");
    while (response.size() < kMaxResponse) {
      const int n = SSL_read(h.ssl, buf, static_cast<int>(sizeof buf));
      if (n <= 0) break;
      response.append(buf, static_cast<std::size_t>(n));
    }
  } else {
    if (::send(sock.fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
      return unavailable("send: " + std::string(std::strerror(errno)));
    }
    while (response.size() < kMaxResponse) {
      const ssize_t n = ::recv(sock.fd, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      response.append(buf, static_cast<std::size_t>(n));
    }
  }
  if (response.empty()) return unavailable("no response from 127.0.0.1:" + std::to_string(port));
  return http_body(response);
}

}  // namespace jixiao::server
