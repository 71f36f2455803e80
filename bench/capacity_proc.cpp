#include "capacity_proc.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <thread>

namespace jixiao::bench {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

pid_t spawn_process(const std::vector<std::string>& argv, const fs::path& out, const fs::path& err) {
  if (argv.empty()) throw std::runtime_error("spawn_process: empty argv");
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const std::string out_s = out.string();
  const std::string err_s = err.string();
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    // Only async-signal-safe calls from here to exec.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);  // the parent died before prctl
    const int o = open(out_s.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    const int e = open(err_s.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    const int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (o < 0 || e < 0 || in < 0) _exit(126);
    dup2(in, 0);
    dup2(o, 1);
    dup2(e, 2);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

std::optional<int> wait_exit(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return -1;
    }
    if (r < 0 && errno != EINTR) return -1;  // not our child (already reaped)
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

int run_command(const std::vector<std::string>& argv, const fs::path& out, const fs::path& err,
                std::chrono::milliseconds timeout) {
  const pid_t pid = spawn_process(argv, out, err);
  if (auto code = wait_exit(pid, timeout)) return *code;
  kill(pid, SIGKILL);
  (void)wait_exit(pid, std::chrono::milliseconds(5000));
  throw std::runtime_error(argv[0] + " " + (argv.size() > 1 ? argv[1] : "") + ": no exit within " +
                           std::to_string(timeout.count()) + " ms; killed");
}

StopResult stop_process(pid_t pid, std::chrono::milliseconds grace) {
  StopResult r;
  if (pid <= 0) return r;
  kill(pid, SIGTERM);
  if (auto code = wait_exit(pid, grace)) {
    r.code = *code;
    return r;
  }
  kill(pid, SIGKILL);
  r.killed = true;
  r.code = wait_exit(pid, std::chrono::milliseconds(10000)).value_or(-1);
  return r;
}

std::uint64_t proc_status_kb(pid_t pid, const char* key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  const std::string prefix = std::string(key) + ":";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) return std::strtoull(line.c_str() + prefix.size(), nullptr, 10);
  }
  return 0;
}

std::uint64_t proc_io(pid_t pid, const char* key) {
  std::ifstream in(pid == 0 ? std::string("/proc/self/io") : "/proc/" + std::to_string(pid) + "/io");
  std::string line;
  const std::string prefix = std::string(key) + ":";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) return std::strtoull(line.c_str() + prefix.size(), nullptr, 10);
  }
  return 0;
}

namespace {

// Fields of a /proc/…/stat line after "(comm)": field 3 is index 0.
std::vector<std::string> stat_fields(const std::string& text) {
  std::vector<std::string> out;
  const auto close = text.rfind(')');
  if (close == std::string::npos) return out;
  std::istringstream s(text.substr(close + 1));
  std::string f;
  while (s >> f) out.push_back(f);
  return out;
}

}  // namespace

ProcCpu proc_cpu(pid_t pid) {
  ProcCpu r;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  const auto read = [&](const fs::path& stat, double& user, double& sys) {
    const auto f = stat_fields(read_text(stat));
    // utime is field 14, stime 15 (man 5 proc).
    if (f.size() < 13) return false;
    user = std::strtod(f[14 - 3].c_str(), nullptr) / tick;
    sys = std::strtod(f[15 - 3].c_str(), nullptr) / tick;
    return true;
  };
  const fs::path base = "/proc/" + std::to_string(pid);
  read(base / "stat", r.user_s, r.system_s);
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(base / "task", ec)) {
    ThreadCpu t;
    t.tid = std::atoi(entry.path().filename().c_str());
    if (read(entry.path() / "stat", t.user_s, t.system_s)) r.threads.push_back(t);
  }
  return r;
}

std::vector<ThreadState> thread_states(pid_t pid) {
  std::vector<ThreadState> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    const auto f = stat_fields(read_text(entry.path() / "stat"));
    if (f.empty()) continue;
    ThreadState t;
    t.tid = std::atoi(entry.path().filename().c_str());
    t.state = f[0];
    if (t.state != "R") {
      const std::string wchan = read_text(entry.path() / "wchan");
      t.state.push_back(' ');
      t.state.append(wchan.empty() || wchan == "0" ? std::string_view("?") : std::string_view(wchan));
    }
    out.push_back(std::move(t));
  }
  return out;
}

double self_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

MachineFacts machine_facts(const fs::path& work_dir) {
  MachineFacts m;
  m.nproc = static_cast<unsigned>(sysconf(_SC_NPROCESSORS_ONLN));
  std::istringstream cpu(read_text("/proc/cpuinfo"));
  std::string line;
  while (std::getline(cpu, line)) {
    if (line.rfind("model name", 0) == 0) {
      m.cpu_model = line.substr(line.find(':') + 2);
      break;
    }
  }
  utsname u{};
  if (uname(&u) == 0) m.kernel = std::string(u.sysname) + " " + u.release;
  std::istringstream mem(read_text("/proc/meminfo"));
  while (std::getline(mem, line)) {
    if (line.rfind("MemTotal:", 0) == 0) m.mem_total_kb = std::strtoull(line.c_str() + 9, nullptr, 10);
  }
  struct statfs sf{};
  if (statfs(work_dir.c_str(), &sf) == 0) {
    switch (static_cast<unsigned long>(sf.f_type)) {
      case 0xEF53: m.filesystem = "ext4"; break;
      case 0x58465342: m.filesystem = "xfs"; break;
      case 0x01021994: m.filesystem = "tmpfs"; break;
      case 0x9123683E: m.filesystem = "btrfs"; break;
      case 0x794c7630: m.filesystem = "overlayfs"; break;
      default: {
        std::ostringstream s;
        s << "0x" << std::hex << static_cast<unsigned long>(sf.f_type);
        m.filesystem = s.str();
      }
    }
  }
  return m;
}

}  // namespace jixiao::bench
