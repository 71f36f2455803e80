#include "jixiao/client/cli.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "jixiao/client/check_report.h"
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
    "  jixiao new 模板ID [选项]            生成一张空白表单（JSON）/ write a blank form\n"
    "       --unit-code 编码  --unit-name 名称  --year 年度  -o 输出文件\n"
    "  jixiao templates                    列出可用的表单模板 / list form templates\n"
    "  jixiao --version | --help\n"
    "\n"
    "通用选项 Common options:\n"
    "  --templates 目录   模板目录（默认：$JIXIAO_TEMPLATES，或程序旁的 share/jixiao/templates）\n"
    "\n"
    "退出码 Exit codes: 0 无错误 / no 错误; 1 表单有错误 / the form has 错误;\n"
    "                   2 无法读取输入或命令有误 / unreadable input or bad usage\n";

struct Options {
  std::vector<std::string> positional;
  bool json = false;
  std::string templates_dir;
  std::string unit_code;
  std::string unit_name;
  std::string output;
  std::optional<int> year;
};

std::optional<std::string> parse_options(const std::vector<std::string>& args, Options& o) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string& dest) -> bool {
      if (i + 1 >= args.size()) return false;
      dest = args[++i];
      return true;
    };
    if (a == "--json") {
      o.json = true;
    } else if (a == "--templates") {
      if (!value(o.templates_dir)) return "选项 --templates 需要一个目录";
    } else if (a == "--unit-code") {
      if (!value(o.unit_code)) return "选项 --unit-code 需要一个值";
    } else if (a == "--unit-name") {
      if (!value(o.unit_name)) return "选项 --unit-name 需要一个值";
    } else if (a == "-o" || a == "--output") {
      if (!value(o.output)) return "选项 -o 需要一个文件名";
    } else if (a == "--year") {
      std::string y;
      if (!value(y)) return "选项 --year 需要一个年度";
      try {
        o.year = std::stoi(y);
      } catch (...) {
        return "年度“" + y + "”不是数字";
      }
    } else if (a.size() > 1 && a[0] == '-') {
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

void print_error(std::ostream& err, const Status& s) {
  err << "jixiao: " << s.message() << "\n";
  if (!s.detail().empty()) err << "  位置/详情: " << s.detail() << "\n";
}

int cmd_check(const Options& o, const std::string& exe_path, std::ostream& out, std::ostream& err) {
  if (o.positional.size() != 2) {
    err << "用法: jixiao check 表单.json [--json]\n";
    return kExitUnreadable;
  }
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

}  // namespace

int run_cli(const std::vector<std::string>& args, const std::string& exe_path, std::ostream& out, std::ostream& err) {
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
  if (cmd == "check") return cmd_check(o, exe_path, out, err);
  if (cmd == "templates") return cmd_templates(o, exe_path, out, err);
  if (cmd == "new") return cmd_new(o, exe_path, out, err);
  err << "jixiao: 未知命令“" << cmd << "”\n\n" << kUsage;
  return kExitUnreadable;
}

}  // namespace jixiao::client
