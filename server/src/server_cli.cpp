#include "jixiao/server/server_cli.h"

#include <pthread.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "jixiao/common/form_template.h"
#include "jixiao/server/admin.h"
#include "jixiao/server/config.h"
#include "jixiao/server/net_server.h"
#include "jixiao/workflow/clock.h"

namespace jixiao::server {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kVersion = "jixiao-server 0.1.0";

const char* kUsage =
    "jixiao-server — 科协预算绩效自评 · 服务端 (server)\n"
    "\n"
    "用法 Usage:  jixiao-server <命令 command> [参数 arguments] (--data 目录 | --config 文件)\n"
    "\n"
    "  --data 目录      数据目录，其中的 jixiao-server.conf 为配置文件\n"
    "                   data directory; its jixiao-server.conf is the configuration\n"
    "  --config 文件    配置文件（数据目录默认为其所在目录）\n"
    "                   configuration file (the data directory defaults to its folder)\n"
    "\n"
    "命令 Commands:\n"
    "  init --data 目录 [--port 端口] [--listen 地址] [--plain]\n"
    "      创建数据目录、带注释的配置文件与空数据库；不创建任何默认账号。\n"
    "      --plain：不加密（tls = false），仅限本机回环地址。\n"
    "      create the data directory, a commented configuration and an empty database;\n"
    "      no default accounts. --plain: no TLS, loopback addresses only.\n"
    "  import-units 单位.csv      导入单位：编码,名称,级别,上级单位,财政局（全部或全不）\n"
    "                             import units: code,name,level,parent,finance_bureau (all or nothing)\n"
    "  import-users 用户.csv      导入用户：登录名,姓名,单位,角色(以;分隔),初始密码\n"
    "                             import users: login,display_name,unit,roles(;-separated),initial_password\n"
    "  user add 登录名 --name 姓名 --unit 单位编码 --roles 角色1;角色2 [--password-file 文件]\n"
    "      新增用户；密码取自文件首行，否则从标准输入读取（终端上不回显）。\n"
    "      add a user; the password is the file's first line, else read from stdin (no echo on a terminal).\n"
    "  user disable 登录名 | user enable 登录名\n"
    "      停用（同时注销其会话）/ 启用用户   disable (revoking its sessions) / enable a user\n"
    "  user reset-password 登录名 [--password-file 文件]\n"
    "      重置密码（注销其会话）   reset a password (revokes its sessions)\n"
    "  user list                  列出用户（登录名、姓名、单位、角色、状态）   list users\n"
    "  backup --to 文件           在线备份数据库并校验副本（完整性与审计链）\n"
    "                             online backup, then verify the copy (integrity and audit chain)\n"
    "  restore --from 文件        从备份恢复（服务须已停止；先校验备份，原库保留为\n"
    "                             server.db.before-restore-<时间>）\n"
    "                             restore a backup (server stopped; verified first; the old\n"
    "                             database is kept as server.db.before-restore-<time>)\n"
    "  verify-audit               校验审计日志哈希链   verify the audit log's hash chain\n"
    "  status                     存储与账户概况；服务运行时含连接数\n"
    "                             store and account summary; connections when the server runs\n"
    "  serve                      启动同步服务，直到收到 SIGTERM/SIGINT；就绪时输出 LISTENING <端口>\n"
    "                             run the sync service until SIGTERM/SIGINT; prints LISTENING <port> when ready\n"
    "  templates [--templates 目录]   校验并列出本部署提供的表单模板\n"
    "                                 validate and list the templates this deployment serves\n"
    "  --version | --help | -h\n"
    "\n"
    "角色 Roles: preparer 填报人, unit_reviewer 单位审核人, meeting_secretary 会议秘书,\n"
    "  supervisor 上级审核人, finance_reviewer 财政局审核人, system_admin 系统管理员,\n"
    "  security_admin 安全管理员, audit_admin 审计管理员（三员互斥，且不兼任业务角色）\n"
    "\n"
    "退出码 Exit codes: 0 成功 success; 1 操作被拒绝或失败 refused or failed; 2 用法错误 usage error\n";

// ---- arguments ------------------------------------------------------------------------

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> values;
  std::set<std::string> flags;

  const std::string* value(const std::string& key) const {
    auto it = values.find(key);
    return it == values.end() ? nullptr : &it->second;
  }
  bool flag(const std::string& key) const { return flags.count(key) != 0; }
};

// Splits `args[from..]` into positionals, "--key value" / "--key=value"
// options and flags. Returns the usage problem, or nothing.
std::optional<std::string> parse_args(const std::vector<std::string>& args, std::size_t from,
                                      const std::set<std::string>& value_options,
                                      const std::set<std::string>& flag_options, Args& out) {
  for (std::size_t i = from; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.size() < 2 || a.compare(0, 2, "--") != 0) {
      out.positional.push_back(a);
      continue;
    }
    std::string key = a;
    std::optional<std::string> inline_value;
    if (const std::size_t eq = a.find('='); eq != std::string::npos) {
      key = a.substr(0, eq);
      inline_value = a.substr(eq + 1);
    }
    if (flag_options.count(key) != 0 && !inline_value) {
      out.flags.insert(key);
    } else if (value_options.count(key) != 0) {
      if (out.values.count(key) != 0) return "选项 " + key + " 重复";
      if (inline_value) {
        out.values[key] = *inline_value;
      } else if (i + 1 < args.size()) {
        out.values[key] = args[++i];
      } else {
        return "选项 " + key + " 缺少取值";
      }
    } else {
      return "未知选项“" + a + "”";
    }
  }
  return std::nullopt;
}

struct Io {
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
  const std::string& exe_path;
};

int usage_error(const Io& io, const std::string& problem) {
  io.err << "jixiao-server: " << problem << "\n运行 jixiao-server --help 查看用法（see --help）。\n";
  return 2;
}

int failed(const Io& io, const Status& s) {
  io.err << "jixiao-server: " << s.message() << "\n";
  if (!s.detail().empty()) io.err << "  详情 detail: " << s.detail() << "\n";
  return 1;
}

std::optional<std::uint16_t> parse_port(const std::string& s) {
  unsigned v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty() || v > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

const std::set<std::string> kConfigOptions = {"--config", "--data"};

std::set<std::string> with_config(std::set<std::string> more) {
  more.insert(kConfigOptions.begin(), kConfigOptions.end());
  return more;
}

// The configuration named by --config or --data. Returns the exit code on
// failure (2: neither or both given; 1: the file is missing or wrong).
std::optional<ServerConfig> config_from(const Io& io, const Args& args, int& exit_code) {
  const std::string* file = args.value("--config");
  const std::string* data = args.value("--data");
  if ((file == nullptr) == (data == nullptr)) {
    exit_code = usage_error(io, "请用 --data 目录 或 --config 文件 指定服务器（二者取一）");
    return std::nullopt;
  }
  const fs::path path = file != nullptr ? fs::path(*file) : fs::path(*data) / kConfigFileName;
  auto config = load_config(path);
  if (!config) {
    exit_code = failed(io, config.status());
    return std::nullopt;
  }
  return std::move(*config);
}

Result<std::string> read_text_file(const fs::path& p, std::string_view what) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return Status::not_found("无法读取" + std::string(what) + " " + p.string(), p.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string first_line(std::string_view text) {
  std::string line(text.substr(0, text.find('\n')));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// A password from --password-file, else from the terminal without echo
// (asked twice), else the first line of `in`. Never printed.
Result<std::string> read_password(const Io& io, const Args& args) {
  if (const std::string* file = args.value("--password-file")) {
    auto text = read_text_file(*file, "密码文件");
    if (!text) return text.status();
    std::string pw = first_line(*text);
    if (pw.empty()) return Status::invalid_argument("密码文件 " + *file + " 的第一行为空");
    return pw;
  }
  if (&io.in == &std::cin && ::isatty(STDIN_FILENO) == 1) {
    auto ask = [&](const char* prompt) -> std::string {
      io.err << prompt << std::flush;
      termios old{};
      const bool have = ::tcgetattr(STDIN_FILENO, &old) == 0;
      if (have) {
        termios quiet = old;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
      }
      std::string line;
      std::getline(std::cin, line);
      if (have) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
      io.err << "\n";
      return line;
    };
    const std::string pw = ask("请输入密码 Password: ");
    if (pw.empty()) return Status::invalid_argument("密码不能为空");
    if (ask("请再次输入 Repeat: ") != pw) return Status::invalid_argument("两次输入的密码不一致");
    return pw;
  }
  std::string line;
  if (!std::getline(io.in, line)) return Status::invalid_argument("未从标准输入读到密码（或用 --password-file 文件）");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) return Status::invalid_argument("密码不能为空");
  return line;
}

std::string roles_chinese(const std::vector<Role>& roles) {
  std::string out;
  for (Role r : roles) out += (out.empty() ? "" : "、") + std::string(role_name(r));
  return out;
}

// ---- commands -------------------------------------------------------------------------

int cmd_init(const Io& io, const std::vector<std::string>& argv) {
  Args args;
  if (auto bad = parse_args(argv, 1, {"--data", "--port", "--listen"}, {"--plain"}, args)) return usage_error(io, *bad);
  if (!args.positional.empty()) return usage_error(io, "init 不接受参数“" + args.positional[0] + "”");
  const std::string* data = args.value("--data");
  if (data == nullptr) return usage_error(io, "init 需要 --data 目录");
  InitOptions options;
  options.data_dir = *data;
  options.plain = args.flag("--plain");
  if (const std::string* port = args.value("--port")) {
    options.port = parse_port(*port);
    if (!options.port) return usage_error(io, "端口“" + *port + "”应为 0 到 65535 之间的整数");
  }
  if (const std::string* listen = args.value("--listen")) options.listen_address = *listen;
  const workflow::SystemClock clock;
  auto result = init_data_dir(options, io.exe_path, clock);
  if (!result) return failed(io, result.status());
  const ServerConfig& c = result->config;
  io.out << "已初始化数据目录 " << c.data_dir.string() << "\n"
         << "  配置文件：" << result->config_file.string() << "\n"
         << "  数据库：  " << result->database.string() << "\n"
         << "  监听：    " << c.net.listen_address << ":" << c.net.port << (c.net.tls ? "（TLS）" : "（未加密，仅本机）")
         << "\n"
         << "未创建任何账号（系统不设默认账号）。下一步 Next steps:\n"
         << "  1. jixiao-server import-units 单位.csv --data " << *data << "\n"
         << "  2. jixiao-server import-users 用户.csv --data " << *data << "\n"
         << "     或 jixiao-server user add 登录名 --name 姓名 --unit 单位编码 --roles 角色 --data " << *data << "\n";
  if (c.net.tls) {
    io.out << "  3. 将 PEM 证书与私钥放到 " << c.net.cert_file << " 与 " << c.net.key_file << "\n"
           << "  4. jixiao-server serve --data " << *data << "\n";
  } else {
    io.out << "  3. jixiao-server serve --data " << *data << "\n";
  }
  return 0;
}

int cmd_import(const Io& io, const std::vector<std::string>& argv, bool units) {
  Args args;
  if (auto bad = parse_args(argv, 1, kConfigOptions, {}, args)) return usage_error(io, *bad);
  if (args.positional.size() != 1) return usage_error(io, argv[0] + " 需要一个 CSV 文件");
  int code = 0;
  auto config = config_from(io, args, code);
  if (!config) return code;
  auto csv = read_text_file(args.positional[0], units ? "单位文件" : "用户文件");
  if (!csv) return failed(io, csv.status());
  const workflow::SystemClock clock;
  auto store = ServerComponents::open(*config, io.exe_path, clock);
  if (!store) return failed(io, store.status());
  auto added = units ? (*store)->accounts().import_units_csv(*csv) : (*store)->accounts().import_users_csv(*csv);
  if (!added) {
    const Status& s = added.status();
    return failed(io, Status(s.code(), s.reason(),
                             args.positional[0] + "：" + s.message() + "（整个文件未导入，请修正后重试）", s.detail()));
  }
  io.out << "已从 " << args.positional[0] << " 导入 " << *added << (units ? " 个单位" : " 个用户") << "。\n";
  return 0;
}

int cmd_user(const Io& io, const std::vector<std::string>& argv) {
  if (argv.size() < 2) return usage_error(io, "user 需要子命令：add、disable、enable、reset-password 或 list");
  const std::string& sub = argv[1];
  Args args;
  std::set<std::string> options = kConfigOptions;
  if (sub == "add") options = with_config({"--name", "--unit", "--roles", "--password-file"});
  if (sub == "reset-password") options = with_config({"--password-file"});
  if (sub != "add" && sub != "disable" && sub != "enable" && sub != "reset-password" && sub != "list") {
    return usage_error(io, "未知的 user 子命令“" + sub + "”");
  }
  if (auto bad = parse_args(argv, 2, options, {}, args)) return usage_error(io, *bad);
  const std::size_t want = sub == "list" ? 0 : 1;
  if (args.positional.size() != want) {
    return usage_error(io, want == 0 ? "user list 不接受参数" : "user " + sub + " 需要一个登录名");
  }
  std::vector<Role> roles;
  User user;
  if (sub == "add") {
    const std::string* name = args.value("--name");
    const std::string* unit = args.value("--unit");
    const std::string* role_list = args.value("--roles");
    if (name == nullptr || unit == nullptr || role_list == nullptr) {
      return usage_error(io, "user add 需要 --name、--unit 和 --roles");
    }
    std::string_view rest = *role_list;
    while (!rest.empty()) {
      const std::size_t end = std::min(rest.find_first_of(";,"), rest.size());
      if (const std::string_view item = rest.substr(0, end); !item.empty()) {
        auto role = parse_role(item);
        if (!role) return failed(io, role.status());
        roles.push_back(*role);
      }
      rest = end == rest.size() ? std::string_view() : rest.substr(end + 1);
    }
    user = User{args.positional[0], *name, *unit, roles, false};
    if (auto s = validate_roles(user); !s) return failed(io, s);
  }
  int code = 0;
  auto config = config_from(io, args, code);
  if (!config) return code;
  const workflow::SystemClock clock;
  auto store = ServerComponents::open(*config, io.exe_path, clock);
  if (!store) return failed(io, store.status());
  AccountStore& accounts = (*store)->accounts();

  if (sub == "list") {
    const Directory directory = accounts.directory();
    io.out << "登录名\t姓名\t单位\t角色\t状态\n";
    for (const auto& [id, u] : directory.users) {
      const Unit* unit = directory.organisation.find(u.unit);
      io.out << id << "\t" << u.display_name << "\t" << u.unit << (unit != nullptr ? " " + unit->name : "") << "\t"
             << roles_chinese(u.roles) << "\t" << (u.disabled ? "已停用" : "正常") << "\n";
    }
    io.out << "共 " << directory.users.size() << " 个用户。\n";
    return 0;
  }
  const std::string& login = args.positional[0];
  if (sub == "add" || sub == "reset-password") {
    auto password = read_password(io, args);
    if (!password) return failed(io, password.status());
    const Status s = sub == "add" ? accounts.add_user(user, *password) : accounts.reset_password(login, *password);
    if (!s) return failed(io, s);
    if (sub == "add") {
      io.out << "已新增用户 " << login << "（" << user.display_name << "，单位 " << user.unit << "，角色 "
             << roles_chinese(user.roles) << "）。\n";
    } else {
      io.out << "已重置用户 " << login << " 的密码，其现有会话已全部注销。\n";
    }
  } else {
    const bool disable = sub == "disable";
    if (auto s = accounts.set_disabled(login, disable); !s) return failed(io, s);
    io.out << (disable ? "已停用用户 " : "已启用用户 ") << login << (disable ? "，其现有会话已全部注销。\n" : "。\n");
  }
  return 0;
}

int cmd_backup(const Io& io, const std::vector<std::string>& argv) {
  Args args;
  if (auto bad = parse_args(argv, 1, with_config({"--to"}), {}, args)) return usage_error(io, *bad);
  const std::string* to = args.value("--to");
  if (to == nullptr || !args.positional.empty()) return usage_error(io, "用法：backup --to 文件");
  int code = 0;
  auto config = config_from(io, args, code);
  if (!config) return code;
  auto check = backup_database(config->database(), *to);
  if (!check) return failed(io, check.status());
  io.out << "备份完成：" << *to << "（" << check->bytes << " 字节；完整性检查通过；审计记录 " << check->audit_records
         << " 条，哈希链校验通过）。\n";
  return 0;
}

int cmd_restore(const Io& io, const std::vector<std::string>& argv) {
  Args args;
  if (auto bad = parse_args(argv, 1, with_config({"--from"}), {}, args)) return usage_error(io, *bad);
  const std::string* from = args.value("--from");
  if (from == nullptr || !args.positional.empty()) return usage_error(io, "用法：restore --from 文件");
  int code = 0;
  auto config = config_from(io, args, code);
  if (!config) return code;
  const workflow::SystemClock clock;
  auto result = restore_database(*config, *from, clock);
  if (!result) return failed(io, result.status());
  io.out << "已从 " << *from << " 恢复数据库（" << result->restored.bytes << " 字节；审计记录 "
         << result->restored.audit_records << " 条，校验通过）。\n";
  if (result->kept_as) io.out << "原数据库保留为 " << result->kept_as->string() << "\n";
  return 0;
}

int cmd_verify_audit(const Io& io, const std::vector<std::string>& argv) {
  Args args;
  if (auto bad = parse_args(argv, 1, kConfigOptions, {}, args)) return usage_error(io, *bad);
  if (!args.positional.empty()) return usage_error(io, "verify-audit 不接受参数");
  int code = 0;
  auto config = config_from(io, args, code);
  if (!config) return code;
  const workflow::SystemClock clock;
  auto store = ServerComponents::open(*config, io.exe_path, clock);
  if (!store) return failed(io, store.status());
  const AuditVerification v = verify_audit((*store)->sync());
  if (v.verdict.ok()) {
    io.out << "审计日志共 " << v.records << " 条记录，哈希链校验通过 OK\n";
    return 0;
  }
  io.err << "审计日志校验失败 FAILED（共 " << v.records << " 条记录）：" << v.verdict.status.message() << "\n";
  if (v.verdict.first_broken) io.err << "  第一条不可信的记录：第 " << *v.verdict.first_broken << " 号\n";
  io.err << "  问题类型 problem: " << workflow::chain_problem_key(v.verdict.problem) << "\n";
  return 1;
}

// The number after "key": in a flat JSON object, or nullopt.
std::optional<std::uint64_t> json_number(const std::string& json, const std::string& key) {
  const std::size_t at = json.find("\"" + key + "\"");
  if (at == std::string::npos) return std::nullopt;
  std::size_t pos = json.find(':', at);
  if (pos == std::string::npos) return std::nullopt;
  ++pos;
  while (pos < json.size() && (json[pos] == ' ' || json[pos] == '\t')) ++pos;
  std::uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(json.data() + pos, json.data() + json.size(), v);
  if (ec != std::errc() || ptr == json.data() + pos) return std::nullopt;
  return v;
}

int cmd_status(const Io& io, const std::vector<std::string>& argv) {
  Args args;
  if (auto bad = parse_args(argv, 1, kConfigOptions, {}, args)) return usage_error(io, *bad);
  if (!args.positional.empty()) return usage_error(io, "status 不接受参数");
  int code = 0;
  auto config = config_from(io, args, code);
  if (!config) return code;
  const workflow::SystemClock clock;
  auto store = ServerComponents::open(*config, io.exe_path, clock);
  if (!store) return failed(io, store.status());
  auto st = store_status(**store, *config);
  if (!st) return failed(io, st.status());
  io.out << "数据目录：" << config->data_dir.string() << "\n"
         << "存储大小：" << st->store_bytes << " 字节（数据库与 WAL 文件）\n"
         << "同步序号（head）：" << st->head << "\n"
         << "表单：" << st->forms << " 份\n"
         << "单位：" << st->units << " 个；用户：" << st->users << " 个（停用 " << st->disabled_users << " 个）\n"
         << "未注销的会话：" << st->active_sessions << " 个\n"
         << "审计记录：" << st->audit_records << " 条\n"
         << "评价批次：" << st->rounds << " 个（未到截止日期 " << st->open_rounds << " 个）\n";
  const auto lock = read_lock(config->data_dir);
  if (!lock || !lock->alive) {
    io.out << "服务：未运行\n";
    return 0;
  }
  const std::uint16_t port = lock->port != 0 ? lock->port : config->net.port;
  io.out << "服务：运行中（进程 " << lock->pid << "，端口 " << port << "）\n";
  auto body = fetch_local_status(port, config->net.tls, std::chrono::milliseconds(3000));
  if (!body) {
    io.out << "连接的客户端：未知（" << body.status().message() << "：" << body.status().detail() << "）\n";
    return 0;
  }
  const auto connections = json_number(*body, "connections");
  const auto authenticated = json_number(*body, "authenticated");
  if (connections) {
    // The server counts the connection this query came on.
    io.out << "连接的客户端：" << (*connections > 0 ? *connections - 1 : 0) << " 个";
    if (authenticated) io.out << "（已登录 " << *authenticated << " 个）";
    io.out << "\n";
  } else {
    io.out << "服务状态 /status：" << *body << "\n";
  }
  return 0;
}

int cmd_serve(const Io& io, const std::vector<std::string>& argv) {
  Args args;
  if (auto bad = parse_args(argv, 1, kConfigOptions, {}, args)) return usage_error(io, *bad);
  if (!args.positional.empty()) return usage_error(io, "serve 不接受参数");
  int code = 0;
  auto config = config_from(io, args, code);
  if (!config) return code;
  if (config->net.tls) {
    for (const std::string& f : {config->net.cert_file, config->net.key_file}) {
      if (::access(f.c_str(), R_OK) != 0) {
        return failed(io, Status(StatusCode::kFailedPrecondition,
                                 "无法读取 TLS 证书或私钥文件 " + f + "（见配置项 cert_file、key_file）", f));
      }
    }
  }
  // The lock first: a restore must not swap the database under us.
  if (auto s = acquire_lock(config->data_dir, 0); !s) return failed(io, s);
  struct Release {
    const fs::path& dir;
    ~Release() { release_lock(dir); }
  } release{config->data_dir};

  const workflow::SystemClock clock;
  auto store = ServerComponents::open(*config, io.exe_path, clock);
  if (!store) return failed(io, store.status());

  // Block SIGINT/SIGTERM before the I/O threads start, so they inherit the
  // mask and only sigwait() below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigset_t old_mask;
  pthread_sigmask(SIG_BLOCK, &stop_signals, &old_mask);
  struct RestoreMask {
    sigset_t mask;
    ~RestoreMask() { pthread_sigmask(SIG_SETMASK, &mask, nullptr); }
  } restore_mask{old_mask};
  ::signal(SIGPIPE, SIG_IGN);

  auto net = NetServer::start(config->net, (*store)->sync(), (*store)->accounts());
  if (!net) return failed(io, net.status());
  const std::uint16_t port = (*net)->port();
  if (auto s = update_lock_port(config->data_dir, port); !s) {
    (*net)->stop();
    return failed(io, s);
  }
  io.out << "LISTENING " << port << std::endl;
  io.out << "jixiao-server 已启动：" << (config->net.tls ? "wss://" : "ws://") << config->net.listen_address << ":"
         << port << "（数据目录 " << config->data_dir.string() << "，单位 "
         << (*store)->directory().organisation.units().size() << " 个，用户 " << (*store)->directory().users.size()
         << " 个）。按 Ctrl+C 或发送 SIGTERM 停止。" << std::endl;
  int signal_number = 0;
  while (sigwait(&stop_signals, &signal_number) != 0) {
  }
  io.out << "收到信号 " << (signal_number == SIGTERM ? "SIGTERM" : "SIGINT") << "，正在停止……" << std::endl;
  (*net)->stop();
  net->reset();
  io.out << "jixiao-server 已停止。" << std::endl;
  return 0;
}

int cmd_templates(const Io& io, const std::vector<std::string>& argv) {
  Args args;
  if (auto bad = parse_args(argv, 1, {"--templates"}, {}, args)) return usage_error(io, *bad);
  if (!args.positional.empty()) return usage_error(io, "templates 不接受参数");
  std::string dir = TemplateRegistry::default_directory(io.exe_path);
  if (const std::string* d = args.value("--templates")) dir = *d;
  TemplateRegistry reg;
  if (auto s = reg.load_directory(dir); !s) {
    io.err << "jixiao-server: " << s.message() << "\n  位置/详情: " << s.detail() << "\n";
    return 1;
  }
  io.out << "模板目录 " << dir << "：\n";
  for (const FormTemplate* t : reg.all()) {
    io.out << "  " << t->id << " 第" << t->version << "版  " << t->title << "（" << t->kind << "）\n";
  }
  return 0;
}

}  // namespace

int run_server_cli(const std::vector<std::string>& args, const std::string& exe_path, std::istream& in,
                   std::ostream& out, std::ostream& err) {
  const Io io{in, out, err, exe_path};
  if (args.empty()) {
    err << kUsage;
    return 2;
  }
  const std::string& cmd = args[0];
  const bool wants_help =
      std::any_of(args.begin(), args.end(), [](const std::string& a) { return a == "--help" || a == "-h"; });
  if (wants_help || cmd == "help") {
    out << kUsage;
    return 0;
  }
  if (cmd == "--version") {
    out << kVersion << "\n";
    return 0;
  }
  if (cmd == "init") return cmd_init(io, args);
  if (cmd == "import-units") return cmd_import(io, args, true);
  if (cmd == "import-users") return cmd_import(io, args, false);
  if (cmd == "user") return cmd_user(io, args);
  if (cmd == "backup") return cmd_backup(io, args);
  if (cmd == "restore") return cmd_restore(io, args);
  if (cmd == "verify-audit") return cmd_verify_audit(io, args);
  if (cmd == "status") return cmd_status(io, args);
  if (cmd == "serve") return cmd_serve(io, args);
  if (cmd == "templates") return cmd_templates(io, args);
  err << "jixiao-server: 未知命令“" << cmd << "”\n\n" << kUsage;
  return 2;
}

int run_server_cli(const std::vector<std::string>& args, const std::string& exe_path, std::ostream& out,
                   std::ostream& err) {
  return run_server_cli(args, exe_path, std::cin, out, err);
}

}  // namespace jixiao::server
