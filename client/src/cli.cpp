#include "jixiao/client/cli.h"

#include <sodium.h>
#include <termios.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "jixiao/client/check_report.h"
#include "jixiao/client/daemon.h"
#include "jixiao/client/results_json.h"
#include "jixiao/common/checker.h"
#include "jixiao/common/form_json.h"

namespace jixiao::client {
namespace {

constexpr const char* kVersion = "0.1.0";

const char* kUsage =
    "jixiao — 科协预算绩效自评 · 办公室客户端 (office client)\n"
    "\n"
    "用法 Usage:\n"
    "  jixiao check 表单.json [--json]     校验表单中的计算与填写，列出错误、警告、提示及建议得分\n"
    "                                      check a form's arithmetic; --json prints rule codes and cell ids\n"
    "  jixiao check 表单编号 [--json]      校验本机表单（含未同步的修改）/ check a form of the local replica\n"
    "  jixiao new 模板ID [选项]            生成一张空白表单（JSON）/ write a blank form\n"
    "       --unit-code 编码  --unit-name 名称  --year 年度  -o 输出文件\n"
    "  jixiao templates                    列出可用的表单模板 / list form templates\n"
    "\n"
    "账号与同步 Account and sync:\n"
    "  jixiao register --server 地址 --user 用户名 [--ca 证书文件] [--password-file 文件]\n"
    "                                      注册本机、登录并首次同步 / set up this machine, log in, first sync\n"
    "  jixiao login [--password-file 文件] 联网登录 / log in online\n"
    "  jixiao logout                       退出登录（删除本机会话令牌）/ forget the session token\n"
    "  jixiao unlock [--password-file 文件] 离线核对密码 / verify the password offline\n"
    "  jixiao sync [--progress]            与服务器同步 / sync with the server\n"
    "  jixiao daemon [--interval 秒] [--max-cycles 次数]\n"
    "                                      后台定期同步，断线自动重连 / background sync with backoff\n"
    "\n"
    "表单 Forms（表单编号可只写前 8 位 / a form id may be abbreviated to 8+ characters）:\n"
    "  jixiao forms [--json]               列出本机表单 / list forms\n"
    "  jixiao status [--json]              待发送的修改与上次同步时间 / changes waiting, last sync\n"
    "  jixiao todo [--json]                等待我处理的事项 / what waits for me\n"
    "  jixiao create 模板ID [--year 年度] [--from 目标表编号]\n"
    "                                      新建表单；--from 从项目绩效目标表复制指标 / new form, optionally from a target form\n"
    "  jixiao show 表单编号 [--json]       查看表单 / show a form\n"
    "  jixiao set 表单编号 单元格 值       填写单元格，如 fields.project_name、funds[total].executed、\n"
    "                                      indicators[行编号].actual / set a cell\n"
    "  jixiao add-row 表单编号 表格 [列=值 …]   添加一行 / add a row\n"
    "  jixiao delete-row 表单编号 表格 行编号    删除一行 / delete a row\n"
    "  jixiao history 表单编号 [--json]    修改记录 / the form's history\n"
    "\n"
    "流程 Workflow（离线时先记录，联网登录后同步发送 / queued, sent after an online login）:\n"
    "  jixiao submit 表单编号              提交 / submit\n"
    "  jixiao approve 表单编号 [--comment 意见] [--meeting-kind 主席会|党组会 --meeting-date YYYY-MM-DD\n"
    "       --session 会议届次 --minutes-no 纪要号 --decision 决定 --attachment 文件 …]   通过 / approve\n"
    "  jixiao return 表单编号 --reason 原因 [--to-stage 环节]   退回 / return\n"
    "  jixiao withdraw 表单编号            撤回 / withdraw\n"
    "  jixiao resubmit 表单编号            重新提交 / resubmit\n"
    "  jixiao accept 表单编号 [--comment 意见]   受理 / accept\n"
    "\n"
    "冲突与被拒绝的修改 Conflicts and rejected changes:\n"
    "  jixiao conflicts [表单编号]         未处理的冲突 / open conflicts\n"
    "  jixiao resolve 表单编号 冲突编号 keep|take|new [--value 值]   处理冲突 / resolve a conflict\n"
    "  jixiao rejected [表单编号]          被服务器拒绝、待重新提交的修改 / rejected changes\n"
    "  jixiao reapply 表单编号             重新应用被拒绝的修改 / re-apply them\n"
    "  jixiao discard 操作编号             放弃一项被拒绝的修改 / discard one\n"
    "\n"
    "  jixiao --version | --help\n"
    "\n"
    "通用选项 Common options:\n"
    "  --data 目录        本机数据目录（默认：$JIXIAO_HOME，或 ~/.local/share/jixiao）/ data directory\n"
    "  --templates 目录   模板目录（默认：$JIXIAO_TEMPLATES，或程序旁的 share/jixiao/templates）\n"
    "  --workflows 目录   审批流程定义目录（默认：$JIXIAO_WORKFLOWS，或程序旁的 share/jixiao/workflow）\n"
    "  --password-file 文件   从文件第一行读取密码（不在终端输入时）/ read the password from a file\n"
    "\n"
    "退出码 Exit codes: 0 成功 / ok; 1 表单有错误，或操作被拒绝、失败 / the form has 错误, refused or failed;\n"
    "                   2 无法读取输入或命令有误 / unreadable input or bad usage\n";

struct Options {
  std::vector<std::string> positional;
  bool json = false;
  bool progress = false;
  std::string templates_dir;
  std::string workflows_dir;
  std::string data_dir;
  std::string unit_code;
  std::string unit_name;
  std::string output;
  std::optional<int> year;
  std::string server, user, ca, password_file, from;
  std::optional<long long> interval_s;
  std::optional<long long> max_cycles;
  std::string comment, reason, to_stage, value;
  std::optional<std::string> meeting_kind;
  std::string meeting_date, session, minutes_no, decision;
  std::vector<std::string> attachments;
};

std::optional<long long> parse_count(const std::string& s) {
  if (s.empty() || s.size() > 12) return std::nullopt;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  return std::stoll(s);
}

std::optional<std::string> parse_options(const std::vector<std::string>& args, Options& o) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string& dest) -> bool {
      if (i + 1 >= args.size()) return false;
      dest = args[++i];
      return true;
    };
    struct Text {
      const char* flag;
      std::string* dest;
    };
    const Text texts[] = {{"--templates", &o.templates_dir}, {"--workflows", &o.workflows_dir},
                          {"--data", &o.data_dir},           {"--unit-code", &o.unit_code},
                          {"--unit-name", &o.unit_name},     {"--server", &o.server},
                          {"--user", &o.user},               {"--ca", &o.ca},
                          {"--password-file", &o.password_file}, {"--from", &o.from},
                          {"--comment", &o.comment},         {"--reason", &o.reason},
                          {"--to-stage", &o.to_stage},       {"--value", &o.value},
                          {"--meeting-date", &o.meeting_date}, {"--session", &o.session},
                          {"--minutes-no", &o.minutes_no},   {"--decision", &o.decision}};
    bool matched = false;
    for (const Text& t : texts) {
      if (a == t.flag) {
        if (!value(*t.dest)) return std::string("选项 ") + t.flag + " 需要一个值";
        matched = true;
      }
    }
    if (matched) continue;
    if (a == "--json") {
      o.json = true;
    } else if (a == "--progress") {
      o.progress = true;
    } else if (a == "-o" || a == "--output") {
      if (!value(o.output)) return "选项 -o 需要一个文件名";
    } else if (a == "--meeting-kind") {
      std::string k;
      if (!value(k)) return "选项 --meeting-kind 需要“主席会”或“党组会”";
      o.meeting_kind = k;
    } else if (a == "--attachment") {
      std::string f;
      if (!value(f)) return "选项 --attachment 需要一个文件";
      o.attachments.push_back(f);
    } else if (a == "--interval" || a == "--max-cycles") {
      std::string v;
      if (!value(v)) return "选项 " + a + " 需要一个数字";
      auto n = parse_count(v);
      if (!n || (a == "--interval" && *n == 0)) return "选项 " + a + " 的值“" + v + "”不是正整数";
      (a == "--interval" ? o.interval_s : o.max_cycles) = *n;
    } else if (a == "--year") {
      std::string y;
      if (!value(y)) return "选项 --year 需要一个年度";
      try {
        o.year = std::stoi(y);
      } catch (...) {
        return "年度“" + y + "”不是数字";
      }
    } else if (a.size() > 1 && a[0] == '-' && a != "-") {
      return "未知选项 " + a;
    } else {
      o.positional.push_back(a);
    }
  }
  return std::nullopt;
}

Result<TemplateRegistry> load_templates(const Options& o, const std::string& exe_path) {
  TemplateRegistry reg;
  const std::string dir = o.templates_dir.empty() ? TemplateRegistry::default_directory(exe_path) : o.templates_dir;
  if (auto s = reg.load_directory(dir); !s) return s;
  return reg;
}

Result<std::string> read_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Status::not_found("找不到文件 " + path, "no such file");
  if (std::filesystem::is_directory(path, ec)) return Status::invalid_argument(path + " 是目录，不是表单文件", "is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::not_found("无法打开文件 " + path, "open failed");
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

// The library's messages say what is wrong and name no command; the
// command line adds how to fix it here, from the Status's detail.
std::string command_hint(const Status& s) {
  const std::string& d = s.detail();
  if (d == "no user in client.json") return "（命令行：jixiao register --server 地址 --user 用户名，或 jixiao login）";
  if (d == "no server_url") return "（命令行：jixiao register --server 地址 --user 用户名）";
  if (d == "reauthenticate" || d == "no token, no password") {
    return "（命令行：jixiao login，或用 --password-file 提供密码）";
  }
  if (d == "no verifier") return "（命令行：jixiao login）";
  if (d == "login mismatch") return "（命令行：用 --data 指定另一个数据目录）";
  if (d == "year") return "（命令行：--year 2021）";
  if (d == "reason") return "（命令行：--reason 原因）";
  if (d.rfind("unknown template ", 0) == 0) return "（命令行：jixiao templates 查看可用模板）";
  if (s.code() == StatusCode::kNotFound && s.message().rfind("本机没有编号为", 0) == 0) {
    return "（命令行：jixiao forms 查看本机表单）";
  }
  return {};
}

void print_error(std::ostream& err, const Status& s) {
  err << "jixiao: " << s.message() << command_hint(s) << "\n";
  if (!s.detail().empty()) err << "  位置/详情: " << s.detail() << "\n";
}

// Input that is wrong is a usage error (2); everything else is a refusal or
// a failure (1).
int fail(std::ostream& err, const Status& s) {
  print_error(err, s);
  return s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kNotFound ? kExitUnreadable
                                                                                        : kExitFailed;
}

int usage(std::ostream& err, const std::string& line) {
  err << "用法: " << line << "\n";
  return kExitUnreadable;
}

bool looks_like_file(const std::string& arg) {
  return arg.find('/') != std::string::npos || arg.find('\\') != std::string::npos ||
         (arg.size() > 5 && arg.compare(arg.size() - 5, 5, ".json") == 0);
}

// ---- commands that need no data directory ------------------------------------------------

int cmd_check_file(const Options& o, const std::string& exe_path, std::ostream& out, std::ostream& err) {
  const std::string& path = o.positional[1];
  auto templates = load_templates(o, exe_path);
  if (!templates) {
    print_error(err, templates.status());
    return kExitUnreadable;
  }
  auto text = read_file(path);
  if (!text) {
    print_error(err, text.status());
    return kExitUnreadable;
  }
  const std::string name = std::filesystem::path(path).filename().string();
  auto form = form_from_json(*text, *templates, "表单文件 " + name);
  if (!form) {
    print_error(err, form.status());
    return kExitUnreadable;
  }
  const FormTemplate& tmpl = **templates->find(form->template_ref.id, form->template_ref.version);
  const CheckReport report = check_form(*form, tmpl);
  out << (o.json ? render_report_json(*form, tmpl, report) : render_report_text(*form, tmpl, report));
  return report.has_errors() ? kExitFindings : kExitOk;
}

int cmd_templates(const Options& o, const std::string& exe_path, std::ostream& out, std::ostream& err) {
  auto templates = load_templates(o, exe_path);
  if (!templates) {
    print_error(err, templates.status());
    return kExitUnreadable;
  }
  for (const FormTemplate* t : templates->all()) {
    out << t->id << "\t第" << t->version << "版\t" << t->title << "\t" << t->description << "\n";
  }
  return kExitOk;
}

int cmd_new(const Options& o, const std::string& exe_path, std::ostream& out, std::ostream& err) {
  if (o.positional.size() != 2) {
    err << "用法: jixiao new 模板ID [--unit-code 编码] [--unit-name 名称] [--year 年度] [-o 文件]\n";
    return kExitUnreadable;
  }
  auto templates = load_templates(o, exe_path);
  if (!templates) {
    print_error(err, templates.status());
    return kExitUnreadable;
  }
  const FormTemplate* t = templates->latest(o.positional[1]);
  if (t == nullptr) {
    print_error(err, Status::not_found("未知的表单模板“" + o.positional[1] + "”（用 jixiao templates 查看）"));
    return kExitUnreadable;
  }
  const int year = o.year.value_or(2021);
  const Form form = new_blank_form(*t, o.unit_code, o.unit_name.empty() ? "（单位名称）" : o.unit_name, year);
  const std::string json = form_to_json(form, *t);
  if (o.output.empty()) {
    out << json;
    return kExitOk;
  }
  std::error_code ec;
  if (std::filesystem::exists(o.output, ec)) {
    print_error(err, Status::invalid_argument("文件 " + o.output + " 已存在，不会覆盖"));
    return kExitUnreadable;
  }
  std::ofstream file(o.output, std::ios::binary);
  file << json;
  if (!file) {
    print_error(err, Status::internal("无法写入文件 " + o.output));
    return kExitUnreadable;
  }
  out << "已生成空白表单 " << o.output << "（表单编号 " << form.id << "）\n";
  return kExitOk;
}

// ---- the data directory -------------------------------------------------------------------

// What the commands of the replica and the server share.
struct Session {
  const Options& o;
  const std::string& exe_path;
  const CliEnvironment& env;
  std::ostream& out;
  std::ostream& err;
  TemplateRegistry templates;
  std::unique_ptr<OfficeClient> client;

  // A form id or prefix from positional[i].
  Result<FormId> form_at(std::size_t i) const { return client->resolve_form(o.positional.at(i)); }

  // The password: --password-file, else a prompt on a terminal.
  std::optional<std::string> password() const {
    if (!o.password_file.empty()) {
      std::ifstream in(o.password_file, std::ios::binary);
      std::string line;
      if (!in || !std::getline(in, line)) return std::nullopt;
      while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
      return line;
    }
    if (!env.interactive || ::isatty(STDIN_FILENO) == 0) return std::nullopt;
    err << "用户 " << (o.user.empty() ? client->meta().login : o.user) << " 的密码：" << std::flush;
    termios saved{};
    const bool tty = ::tcgetattr(STDIN_FILENO, &saved) == 0;
    if (tty) {
      termios quiet = saved;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    }
    std::string line;
    const bool got = static_cast<bool>(std::getline(std::cin, line));
    if (tty) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    err << "\n";
    if (!got) return std::nullopt;
    return line;
  }

  SyncOptions sync_options() const {
    SyncOptions so;
    so.password = [this] { return password(); };
    if (o.progress || (env.interactive && ::isatty(STDERR_FILENO) != 0)) {
      so.progress = [this](const SyncProgress& p) {
        if (p.done) {
          err << "\n";
        } else {
          err << "\r正在同步：已发送 " << p.ops_sent << "/" << p.ops_to_send << " 项修改，已接收 "
              << p.records_received << " 条记录…" << std::flush;
        }
      };
    }
    return so;
  }
};

ClientOptions client_options(const Options& o, const std::string& exe_path, const CliEnvironment& env,
                             const TemplateRegistry& templates, std::vector<workflow::WorkflowDefinition> workflows) {
  ClientOptions co;
  co.data_dir = o.data_dir.empty() ? default_data_dir() : std::filesystem::path(o.data_dir);
  co.templates = &templates;
  co.workflows = std::move(workflows);
  co.clock = env.clock;
  co.connect = env.connect;
  if (env.hashing) {
    co.hashing = *env.hashing;
  } else {
    co.hashing = {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
  }
  (void)exe_path;
  return co;
}

std::string roles_text(const User& u) {
  std::string s;
  for (Role r : u.roles) s += (s.empty() ? "" : "、") + std::string(role_name(r));
  return s;
}

std::string short_id(const std::string& id) { return id.substr(0, 8); }

// "2022-01-10 17:00" in China Standard Time (UTC+8), where every user is.
std::string cst_time(std::int64_t unix_ms) {
  using namespace std::chrono;
  const sys_time<milliseconds> t{milliseconds(unix_ms + 8LL * 3600 * 1000)};
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{floor<minutes>(t - day)};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02d:%02d", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()));
  return buf;
}

void print_sync_summary(std::ostream& out, const SyncSummary& s) {
  out << "同步完成：发送 " << s.ops_sent << " 项修改（接受 " << s.accepted << "，拒绝 " << s.rejected << "），接收 "
      << s.records_received << " 条记录\n";
  if (s.rejected > 0) out << "有 " << s.rejected << " 项修改被服务器拒绝，用 jixiao rejected 查看\n";
}

int cmd_register(Session& s) {
  const Options& o = s.o;
  if (o.server.empty() || o.user.empty()) {
    return usage(s.err, "jixiao register --server 地址 --user 用户名 [--ca 证书文件] [--password-file 文件]");
  }
  auto pw = s.password();
  if (!pw) return fail(s.err, Status::invalid_argument("需要密码：请在终端输入，或用 --password-file 指定"));
  Status r = s.client->register_device(o.server, o.user, o.ca, *pw, s.sync_options());
  const ClientMeta& m = s.client->meta();
  if (m.user) {
    s.out << "已注册本机（设备编号 " << m.device_id << "）：用户 " << m.user->display_name << "（" << m.user->id
          << "），单位 " << (m.unit_name.empty() ? m.user->unit : m.unit_name) << "，角色 " << roles_text(*m.user)
          << "\n";
  }
  if (!r) return fail(s.err, r);
  s.out << "首次同步完成，本机共有 " << s.client->forms()->size() << " 张表单\n";
  return kExitOk;
}

int cmd_login(Session& s) {
  auto pw = s.password();
  if (!pw) return fail(s.err, Status::invalid_argument("需要密码：请在终端输入，或用 --password-file 指定"));
  if (Status r = s.client->login(*pw); !r) return fail(s.err, r);
  const User& u = *s.client->meta().user;
  s.out << "登录成功：" << u.display_name << "（" << u.id << "），角色 " << roles_text(u) << "\n";
  return kExitOk;
}

int cmd_unlock(Session& s) {
  auto pw = s.password();
  if (!pw) return fail(s.err, Status::invalid_argument("需要密码：请在终端输入，或用 --password-file 指定"));
  if (Status r = s.client->unlock(*pw); !r) return fail(s.err, r);
  s.out << "密码正确，已解锁（离线核对）\n";
  return kExitOk;
}

int cmd_sync(Session& s) {
  auto r = s.client->sync(s.sync_options());
  if (!r) return fail(s.err, r.status());
  print_sync_summary(s.out, *r);
  return kExitOk;
}

int cmd_forms(Session& s) {
  auto list = s.client->forms();
  if (!list) return fail(s.err, list.status());
  if (s.o.json) {
    s.out << forms_json(*list) << "\n";
    return kExitOk;
  }
  if (list->empty()) {
    s.out << "本机还没有表单（用 jixiao create 新建，或 jixiao sync 同步）\n";
    return kExitOk;
  }
  s.out << "编号\t项目名称\t表单\t单位\t年度\t状态\t待发送\t冲突\t待重新提交\n";
  for (const FormListing& l : *list) {
    s.out << short_id(l.summary.id) << "\t" << (l.project_name.empty() ? "（未填写）" : l.project_name) << "\t"
          << l.template_title << "\t" << l.summary.unit_code << "\t" << l.summary.fiscal_year << "\t" << l.state_text
          << "\t" << l.summary.pending_ops << "\t" << l.summary.open_conflicts << "\t" << l.summary.waiting_rejected
          << "\n";
  }
  return kExitOk;
}

int cmd_todo(Session& s) {
  auto items = s.client->todo();
  if (!items) return fail(s.err, items.status());
  if (s.o.json) {
    s.out << todo_json(*items) << "\n";
    return kExitOk;
  }
  if (items->empty()) {
    s.out << "没有等待您处理的事项\n";
    return kExitOk;
  }
  for (const TodoItem& t : *items) {
    const char* tag = t.kind == TodoItem::Kind::kForm ? "[表单]" : t.kind == TodoItem::Kind::kConflict ? "[冲突]" : "[被拒绝]";
    s.out << tag << " " << short_id(t.form.summary.id) << " "
          << (t.form.project_name.empty() ? t.form.template_title : t.form.project_name) << " — " << t.what;
    if (!t.ref.empty()) s.out << "  编号 " << t.ref;
    s.out << "\n";
  }
  return kExitOk;
}

int cmd_create(Session& s) {
  if (s.o.positional.size() != 2) return usage(s.err, "jixiao create 模板ID [--year 年度] [--from 目标表编号]");
  std::optional<FormId> from;
  if (!s.o.from.empty()) {
    auto f = s.client->resolve_form(s.o.from);
    if (!f) return fail(s.err, f.status());
    from = *f;
  }
  auto id = s.client->create_form(s.o.positional[1], s.o.year, from);
  if (!id) return fail(s.err, id.status());
  s.out << "已新建表单 " << *id << "（尚未同步）\n";
  return kExitOk;
}

int cmd_show(Session& s) {
  if (s.o.positional.size() != 2) return usage(s.err, "jixiao show 表单编号 [--json]");
  auto id = s.form_at(1);
  if (!id) return fail(s.err, id.status());
  if (s.o.json) {
    auto j = s.client->form_json(*id);
    if (!j) return fail(s.err, j.status());
    s.out << *j;
    return kExitOk;
  }
  auto v = s.client->view(*id);
  if (!v) return fail(s.err, v.status());
  const Form& f = v->form;
  const FormTemplate* t = s.client->template_of(f);
  if (t == nullptr) return fail(s.err, Status::not_found("本机没有该表单的模板 " + f.template_ref.id));
  const auto& wf = v->workflow;
  s.out << t->title << "  " << f.id << "\n";
  s.out << "单位 " << f.unit_code << "  年度 " << f.fiscal_year << "  金额单位 " << money_unit_name(f.money_unit)
        << "  状态 " << workflow::phase_name(wf.phase);
  if (wf.phase == workflow::Phase::kInReview) s.out << "·" << s.client->stage_name(wf);
  s.out << "\n";
  if (wf.phase == workflow::Phase::kReturned && !wf.last_return_reason.empty()) {
    s.out << "退回原因：" << wf.last_return_reason << "\n";
  }
  for (const CellDef& d : t->fields) {
    const CellValue& c = f.field(d.key);
    if (c.kind == CellValue::Kind::kEmpty) continue;
    s.out << d.label << "（fields." << d.key << "）：" << c.display(f.money_unit) << "\n";
  }
  for (const TableDef& td : t->tables) {
    const Table* tab = f.table(td.key);
    if (tab == nullptr || tab->rows.empty()) continue;
    s.out << "【" << td.label << "】\n";
    const MoneyUnit mu = td.money_unit.value_or(f.money_unit);
    for (const Row& row : tab->rows) {
      const RowDef* rd = td.row(row.id);
      s.out << "  " << td.key << "[" << row.id << "]" << (rd ? " " + rd->label : std::string()) << "：";
      bool first = true;
      for (const CellDef& col : td.columns) {
        const CellValue& c = row.cell(col.key);
        if (c.kind == CellValue::Kind::kEmpty) continue;
        s.out << (first ? "" : "；") << col.label << " " << c.display(mu);
        first = false;
      }
      s.out << "\n";
    }
  }
  if (!v->conflicts.empty()) {
    std::size_t open = 0;
    for (const auto& [cid, c] : v->conflicts) open += c.resolved ? 0 : 1;
    if (open > 0) s.out << "未处理的冲突 " << open << " 项（jixiao conflicts " << short_id(f.id) << "）\n";
  }
  return kExitOk;
}

int cmd_set(Session& s) {
  if (s.o.positional.size() != 4) return usage(s.err, "jixiao set 表单编号 单元格 值");
  auto id = s.form_at(1);
  if (!id) return fail(s.err, id.status());
  if (Status r = s.client->set_cell(*id, s.o.positional[2], s.o.positional[3]); !r) return fail(s.err, r);
  s.out << "已保存（尚未同步）：" << s.o.positional[2] << " = " << s.o.positional[3] << "\n";
  return kExitOk;
}

int cmd_add_row(Session& s) {
  if (s.o.positional.size() < 3) return usage(s.err, "jixiao add-row 表单编号 表格 [列=值 …]");
  auto id = s.form_at(1);
  if (!id) return fail(s.err, id.status());
  std::vector<std::pair<std::string, std::string>> cells;
  for (std::size_t i = 3; i < s.o.positional.size(); ++i) {
    const std::string& kv = s.o.positional[i];
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) return fail(s.err, Status::invalid_argument("“" + kv + "”应写成 列=值"));
    cells.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  auto row = s.client->add_row(*id, s.o.positional[2], cells);
  if (!row) return fail(s.err, row.status());
  s.out << "已添加一行（尚未同步），行编号 " << *row << "\n";
  return kExitOk;
}

int cmd_delete_row(Session& s) {
  if (s.o.positional.size() != 4) return usage(s.err, "jixiao delete-row 表单编号 表格 行编号");
  auto id = s.form_at(1);
  if (!id) return fail(s.err, id.status());
  if (Status r = s.client->delete_row(*id, s.o.positional[2], s.o.positional[3]); !r) return fail(s.err, r);
  s.out << "已删除该行（尚未同步）\n";
  return kExitOk;
}

int cmd_check_form(Session& s) {
  auto id = s.form_at(1);
  if (!id) return fail(s.err, id.status());
  auto c = s.client->check(*id);
  if (!c) return fail(s.err, c.status());
  s.out << (s.o.json ? render_report_json(c->form, *c->tmpl, c->report) : render_report_text(c->form, *c->tmpl, c->report));
  return c->report.has_errors() ? kExitFindings : kExitOk;
}

int cmd_workflow(Session& s, workflow::Action action) {
  const std::string name(workflow::action_key(action));
  if (s.o.positional.size() != 2) return usage(s.err, "jixiao " + std::string(name == "return" ? "return" : name) + " 表单编号");
  auto id = s.form_at(1);
  if (!id) return fail(s.err, id.status());
  Status r;
  switch (action) {
    case workflow::Action::kSubmit: r = s.client->submit(*id); break;
    case workflow::Action::kWithdraw: r = s.client->withdraw(*id); break;
    case workflow::Action::kResubmit: r = s.client->resubmit(*id); break;
    case workflow::Action::kAccept: r = s.client->accept(*id, s.o.comment); break;
    case workflow::Action::kReturn:
      if (s.o.reason.empty()) return fail(s.err, Status::invalid_argument("退回必须写明原因：--reason 原因"));
      r = s.client->return_form(*id, s.o.reason, s.o.to_stage);
      break;
    case workflow::Action::kApprove: {
      ApproveParams p;
      p.comment = s.o.comment;
      if (s.o.meeting_kind) {
        const Options& o = s.o;
        if (*o.meeting_kind != "主席会" && *o.meeting_kind != "党组会") {
          return fail(s.err, Status::invalid_argument("--meeting-kind 只能是“主席会”或“党组会”"));
        }
        if (!workflow::is_iso_date(o.meeting_date)) {
          return fail(s.err, Status::invalid_argument("--meeting-date 应为会议日期，如 2021-03-15"));
        }
        if (o.session.empty() || o.minutes_no.empty() || o.decision.empty()) {
          return fail(s.err, Status::invalid_argument("会议审核需要 --session 会议届次、--minutes-no 纪要号和 --decision 决定"));
        }
        workflow::MeetingEvidence ev{*o.meeting_kind, o.meeting_date, o.session, o.minutes_no, o.decision, {}};
        for (const std::string& f : o.attachments) {
          auto h = sha256_file(f);
          if (!h) return fail(s.err, h.status());
          ev.attachment_hashes.push_back(*h);
        }
        p.evidence = std::move(ev);
      } else if (!s.o.attachments.empty()) {
        return fail(s.err, Status::invalid_argument("附件只用于会议审核：请同时给出 --meeting-kind 等会议信息"));
      }
      r = s.client->approve(*id, p);
      break;
    }
  }
  if (!r) return fail(s.err, r);
  s.out << "已记录“" << workflow::action_name(action) << "”，将在下次联网登录后同步发送（jixiao sync）\n";
  return kExitOk;
}

int cmd_status(Session& s) {
  ClientStatus st;
  st.last_sync_ms = s.client->meta().last_sync_ms;
  st.changes_waiting = s.client->changes_waiting();
  if (s.o.json) {
    s.out << status_json(st) << "\n";
    return kExitOk;
  }
  s.out << "待发送的修改：" << st.changes_waiting << " 项\n";
  s.out << "上次成功同步：" << (st.last_sync_ms > 0 ? cst_time(st.last_sync_ms) : std::string("从未")) << "\n";
  return kExitOk;
}

int cmd_history(Session& s) {
  if (s.o.positional.size() != 2) return usage(s.err, "jixiao history 表单编号");
  auto id = s.form_at(1);
  if (!id) return fail(s.err, id.status());
  auto h = s.client->history(*id);
  if (!h) return fail(s.err, h.status());
  if (s.o.json) {
    s.out << history_json(*h) << "\n";
    return kExitOk;
  }
  if (h->empty()) {
    s.out << "本机还没有收到该表单的记录（新建或修改后请 jixiao sync）\n";
    return kExitOk;
  }
  for (const HistoryItem& item : *h) {
    s.out << "#" << item.seq << "  " << cst_time(item.wall_ms) << "  " << (item.author.empty() ? "—" : item.author) << "  ";
    for (std::size_t i = 0; i < item.changes.size(); ++i) s.out << (i ? "；" : "") << item.changes[i];
    s.out << "\n";
  }
  return kExitOk;
}

int cmd_conflicts(Session& s) {
  std::optional<FormId> form;
  if (s.o.positional.size() == 2) {
    auto id = s.form_at(1);
    if (!id) return fail(s.err, id.status());
    form = *id;
  } else if (s.o.positional.size() > 2) {
    return usage(s.err, "jixiao conflicts [表单编号]");
  }
  auto list = s.client->conflicts(form);
  if (!list) return fail(s.err, list.status());
  if (list->empty()) {
    s.out << "没有未处理的冲突\n";
    return kExitOk;
  }
  for (const sync::ConflictRecord& c : *list) {
    auto v = s.client->view(c.form_id);
    const MoneyUnit mu = v ? v->form.money_unit : MoneyUnit::kYuan;
    const std::string where = v ? s.client->describe_cell(v->form, c.cell) : c.cell.to_string();
    s.out << "冲突 " << c.id << "  表单 " << short_id(c.form_id) << "  " << where << "：现值“"
          << c.winner.value.display(mu) << "”（" << c.winner.author << "）；未采用“" << c.loser.value.display(mu) << "”（"
          << c.loser.author << "）\n";
  }
  return kExitOk;
}

int cmd_resolve(Session& s) {
  if (s.o.positional.size() != 4) return usage(s.err, "jixiao resolve 表单编号 冲突编号 keep|take|new [--value 值]");
  auto id = s.form_at(1);
  if (!id) return fail(s.err, id.status());
  const std::string& how = s.o.positional[3];
  sync::Resolution r;
  if (how == "keep") {
    r = sync::Resolution::kKeepWinner;
  } else if (how == "take") {
    r = sync::Resolution::kTakeLoser;
  } else if (how == "new") {
    r = sync::Resolution::kNewValue;
  } else {
    return fail(s.err, Status::invalid_argument("处理方式只能是 keep（保留现值）、take（采用被覆盖的值）或 new（写入新值）"));
  }
  if (Status st = s.client->resolve(*id, s.o.positional[2], r, s.o.value); !st) return fail(s.err, st);
  s.out << "已记录冲突处理（尚未同步）\n";
  return kExitOk;
}

int cmd_rejected(Session& s) {
  std::optional<FormId> form;
  if (s.o.positional.size() == 2) {
    auto id = s.form_at(1);
    if (!id) return fail(s.err, id.status());
    form = *id;
  }
  auto list = s.client->rejected(form);
  if (!list) return fail(s.err, list.status());
  if (list->empty()) {
    s.out << "没有被拒绝、待重新提交的修改\n";
    return kExitOk;
  }
  for (const sync::RejectedChange& c : *list) {
    s.out << c.op.id << "  表单 " << short_id(c.op.form_id) << "  " << s.client->describe_op(c.op) << "  原因："
          << c.message << "\n";
  }
  return kExitOk;
}

int cmd_reapply(Session& s) {
  if (s.o.positional.size() != 2) return usage(s.err, "jixiao reapply 表单编号");
  auto id = s.form_at(1);
  if (!id) return fail(s.err, id.status());
  auto n = s.client->reapply(*id);
  if (!n) return fail(s.err, n.status());
  s.out << "已重新应用 " << *n << " 项修改（尚未同步）\n";
  return kExitOk;
}

int cmd_discard(Session& s) {
  if (s.o.positional.size() != 2) return usage(s.err, "jixiao discard 操作编号");
  if (Status r = s.client->discard(s.o.positional[1]); !r) return fail(s.err, r);
  s.out << "已放弃该修改\n";
  return kExitOk;
}

int cmd_daemon(const Options& o, const std::string& exe_path, const CliEnvironment& env, const ClientOptions& co,
               std::ostream& out) {
  (void)exe_path;
  DaemonOptions d;
  if (o.interval_s) d.interval = std::chrono::seconds(*o.interval_s);
  if (o.max_cycles) d.max_cycles = static_cast<std::uint64_t>(*o.max_cycles);
  d.seed = env.seed;
  d.sleep = env.sleep;
  if (!o.password_file.empty()) {
    const std::string file = o.password_file;
    d.password = [file]() -> std::optional<std::string> {
      std::ifstream in(file, std::ios::binary);
      std::string line;
      if (!in || !std::getline(in, line)) return std::nullopt;
      while (!line.empty() && line.back() == '\r') line.pop_back();
      return line;
    };
  }
  out << "后台同步已启动（数据目录 " << co.data_dir.string() << "）\n";
  const DaemonReport r = run_daemon(co, d, out);
  std::size_t ok = 0;
  for (const DaemonCycle& c : r.cycles) ok += c.ok ? 1 : 0;
  out << "后台同步结束：共 " << r.cycles.size() << " 次，成功 " << ok << " 次\n";
  return !r.cycles.empty() && r.cycles.back().ok ? kExitOk : kExitFailed;
}

int run_with_data(const Options& o, const std::string& cmd, const std::string& exe_path, const CliEnvironment& env,
                  std::ostream& out, std::ostream& err) {
  auto templates = load_templates(o, exe_path);
  if (!templates) {
    print_error(err, templates.status());
    return kExitUnreadable;
  }
  auto workflows = load_workflows(o.workflows_dir.empty() ? default_workflows_dir(exe_path) : o.workflows_dir);
  if (!workflows) {
    print_error(err, workflows.status());
    return kExitUnreadable;
  }
  Session s{o, exe_path, env, out, err, std::move(templates).value(), nullptr};
  const ClientOptions co = client_options(o, exe_path, env, s.templates, std::move(workflows).value());
  if (cmd == "daemon") return cmd_daemon(o, exe_path, env, co, out);
  auto client = OfficeClient::open(co);
  if (!client) return fail(err, client.status());
  s.client = std::move(client).value();

  if (cmd == "register") return cmd_register(s);
  if (cmd == "login") return cmd_login(s);
  if (cmd == "logout") {
    if (Status r = s.client->logout(); !r) return fail(err, r);
    out << "已退出登录（本机会话令牌已删除；离线修改保留，下次同步前需重新登录）\n";
    return kExitOk;
  }
  if (cmd == "unlock") return cmd_unlock(s);
  if (cmd == "sync") return cmd_sync(s);
  if (cmd == "forms") return cmd_forms(s);
  if (cmd == "todo") return cmd_todo(s);
  if (cmd == "create") return cmd_create(s);
  if (cmd == "show") return cmd_show(s);
  if (cmd == "set") return cmd_set(s);
  if (cmd == "add-row") return cmd_add_row(s);
  if (cmd == "delete-row") return cmd_delete_row(s);
  if (cmd == "check") return cmd_check_form(s);
  if (cmd == "submit") return cmd_workflow(s, workflow::Action::kSubmit);
  if (cmd == "approve") return cmd_workflow(s, workflow::Action::kApprove);
  if (cmd == "return") return cmd_workflow(s, workflow::Action::kReturn);
  if (cmd == "withdraw") return cmd_workflow(s, workflow::Action::kWithdraw);
  if (cmd == "resubmit") return cmd_workflow(s, workflow::Action::kResubmit);
  if (cmd == "accept") return cmd_workflow(s, workflow::Action::kAccept);
  if (cmd == "history") return cmd_history(s);
  if (cmd == "status") return cmd_status(s);
  if (cmd == "conflicts") return cmd_conflicts(s);
  if (cmd == "resolve") return cmd_resolve(s);
  if (cmd == "rejected") return cmd_rejected(s);
  if (cmd == "reapply") return cmd_reapply(s);
  if (cmd == "discard") return cmd_discard(s);
  return kExitUnreadable;  // not reached: run_cli checked the name
}

bool is_data_command(const std::string& cmd) {
  static const char* names[] = {"register", "login",   "logout",     "unlock",   "sync",     "daemon",
                                "forms",    "todo",    "create",     "show",     "set",      "add-row",
                                "delete-row", "submit", "approve",   "return",   "withdraw", "resubmit",
                                "accept",   "history", "conflicts",  "resolve",  "rejected", "reapply",
                                "discard",  "status"};
  for (const char* n : names) {
    if (cmd == n) return true;
  }
  return false;
}

}  // namespace

int run_cli(const std::vector<std::string>& args, const std::string& exe_path, std::ostream& out, std::ostream& err) {
  return run_cli(args, exe_path, out, err, CliEnvironment{});
}

int run_cli(const std::vector<std::string>& args, const std::string& exe_path, std::ostream& out, std::ostream& err,
            const CliEnvironment& env) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    (args.empty() ? err : out) << kUsage;
    return args.empty() ? kExitUnreadable : kExitOk;
  }
  if (args[0] == "--version") {
    out << "jixiao " << kVersion << "\n";
    return kExitOk;
  }
  Options o;
  if (auto problem = parse_options(args, o)) {
    err << "jixiao: " << *problem << "\n\n" << kUsage;
    return kExitUnreadable;
  }
  const std::string& cmd = o.positional.empty() ? args[0] : o.positional[0];
  if (cmd == "check") {
    if (o.positional.size() != 2) {
      err << "用法: jixiao check 表单.json|表单编号 [--json]\n";
      return kExitUnreadable;
    }
    if (looks_like_file(o.positional[1])) return cmd_check_file(o, exe_path, out, err);
    return run_with_data(o, cmd, exe_path, env, out, err);
  }
  if (cmd == "templates") return cmd_templates(o, exe_path, out, err);
  if (cmd == "new") return cmd_new(o, exe_path, out, err);
  if (is_data_command(cmd)) return run_with_data(o, cmd, exe_path, env, out, err);
  err << "jixiao: 未知命令“" << cmd << "”\n\n" << kUsage;
  return kExitUnreadable;
}

}  // namespace jixiao::client
