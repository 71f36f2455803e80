#include "jixiao/server/server_cli.h"

#include <ostream>

#include "jixiao/common/form_template.h"

namespace jixiao::server {
namespace {

const char* kUsage =
    "jixiao-server — 科协预算绩效自评 · 服务端 (server)\n"
    "\n"
    "用法 Usage:\n"
    "  jixiao-server templates [--templates 目录]   校验并列出本部署提供的表单模板\n"
    "                                              validate and list the templates this deployment serves\n"
    "  jixiao-server --version | --help\n"
    "\n"
    "说明 Note: 同步服务、账户与管理命令将在后续版本提供（见 README）。\n"
    "           The sync service, accounts and administration arrive in a later release (see README).\n";

}  // namespace

int run_server_cli(const std::vector<std::string>& args, const std::string& exe_path, std::ostream& out,
                   std::ostream& err) {
  if (args.empty()) {
    err << kUsage;
    return 2;
  }
  if (args[0] == "--help" || args[0] == "-h") {
    out << kUsage;
    return 0;
  }
  if (args[0] == "--version") {
    out << "jixiao-server 0.1.0\n";
    return 0;
  }
  if (args[0] == "templates") {
    std::string dir = TemplateRegistry::default_directory(exe_path);
    if (args.size() == 3 && args[1] == "--templates") {
      dir = args[2];
    } else if (args.size() != 1) {
      err << kUsage;
      return 2;
    }
    TemplateRegistry reg;
    if (auto s = reg.load_directory(dir); !s) {
      err << "jixiao-server: " << s.message() << "\n  位置/详情: " << s.detail() << "\n";
      return 2;
    }
    out << "模板目录 " << dir << "：\n";
    for (const FormTemplate* t : reg.all()) {
      out << "  " << t->id << " 第" << t->version << "版  " << t->title << "（" << t->kind << "）\n";
    }
    return 0;
  }
  err << "jixiao-server: 未知命令“" << args[0] << "”\n\n" << kUsage;
  return 2;
}

}  // namespace jixiao::server
