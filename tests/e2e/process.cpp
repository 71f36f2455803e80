#include "process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace jixiao::e2e {

namespace {

using Clock = std::chrono::steady_clock;

constexpr Millis kPoll{5};

ExitStatus decode_wait_status(int status) {
  ExitStatus s;
  if (WIFEXITED(status)) {
    s.exited = true;
    s.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    s.signal = WTERMSIG(status);
  }
  return s;
}

std::vector<std::string> build_environment(const EnvChanges& changes) {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string entry(*e);
    const auto eq = entry.find('=');
    if (eq == std::string::npos) continue;
    env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (const auto& [name, value] : changes) {
    if (value) {
      env[name] = *value;
    } else {
      env.erase(name);
    }
  }
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [name, value] : env) out.push_back(name + "=" + value);
  return out;
}

// Every line of `text` that starts with `prefix`, the first one.
std::optional<std::string> find_line(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) == 0 && in.good()) return line;  // only whole (newline-terminated) lines
  }
  return std::nullopt;
}

}  // namespace

std::string ExitStatus::describe() const {
  std::string s = exited ? "exit " + std::to_string(code) : "signal " + std::to_string(signal);
  if (deadline_kill) s += " (killed at the deadline)";
  return s;
}

// ---- Process ----------------------------------------------------------------------------

Process::Process(Process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      reaped_(std::exchange(other.reaped_, false)),
      status_(other.status_),
      out_(std::move(other.out_)),
      err_(std::move(other.err_)) {}

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      reap(Millis(10000));
    }
    pid_ = std::exchange(other.pid_, -1);
    reaped_ = std::exchange(other.reaped_, false);
    status_ = other.status_;
    out_ = std::move(other.out_);
    err_ = std::move(other.err_);
  }
  return *this;
}

Process::~Process() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    reap(Millis(10000));
  }
}

Process Process::spawn(const std::vector<std::string>& argv, const fs::path& stdout_file, const fs::path& stderr_file,
                       const EnvChanges& env) {
  if (argv.empty()) throw std::runtime_error("spawn: empty argv");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, stdout_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // The child starts with default signal dispositions and an empty mask,
  // whatever the test process has blocked or ignored.
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const std::vector<std::string> env_strings = build_environment(env);
  std::vector<char*> envp;
  for (const auto& e : env_strings) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, argv[0].c_str(), &actions, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw std::runtime_error("posix_spawn " + argv[0] + ": " + std::strerror(rc));
  Process p;
  p.pid_ = pid;
  p.out_ = stdout_file;
  p.err_ = stderr_file;
  return p;
}

std::optional<ExitStatus> Process::try_reap() {
  if (pid_ <= 0) return std::nullopt;
  if (reaped_) return status_;
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    reaped_ = true;
    status_ = decode_wait_status(status);
    return status_;
  }
  if (r < 0 && errno == ECHILD) {  // cannot happen for our own child; be safe
    reaped_ = true;
    return status_;
  }
  return std::nullopt;
}

bool Process::running() { return pid_ > 0 && !try_reap().has_value(); }

bool Process::signal(int sig) const { return pid_ > 0 && !reaped_ && ::kill(pid_, sig) == 0; }

ExitStatus Process::reap(Millis deadline) {
  if (pid_ <= 0) return status_;
  const auto until = Clock::now() + deadline;
  while (Clock::now() < until) {
    if (auto s = try_reap()) return *s;
    std::this_thread::sleep_for(kPoll);
  }
  if (auto s = try_reap()) return *s;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  status_ = decode_wait_status(status);
  status_.deadline_kill = true;
  return status_;
}

std::optional<std::string> Process::wait_line(const std::string& prefix, Millis deadline) {
  const auto until = Clock::now() + deadline;
  for (;;) {
    if (auto line = find_line(stdout_text(), prefix)) return line;
    if (!running()) return find_line(stdout_text(), prefix);  // what it wrote before ending
    if (Clock::now() >= until) return std::nullopt;
    std::this_thread::sleep_for(kPoll);
  }
}

std::optional<std::uint16_t> Process::wait_listening(Millis deadline) {
  auto line = wait_line("LISTENING ", deadline);
  if (!line) return std::nullopt;
  try {
    const long port = std::stol(line->substr(10));
    if (port > 0 && port < 65536) return static_cast<std::uint16_t>(port);
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

std::string Process::stdout_text() const { return read_file(out_); }
std::string Process::stderr_text() const { return read_file(err_); }

// ---- run --------------------------------------------------------------------------------

RunResult run(const std::vector<std::string>& argv, const fs::path& log_dir, Millis deadline, const EnvChanges& env) {
  static std::atomic<std::uint64_t> counter{0};
  const std::string n = std::to_string(++counter);
  const std::string base = fs::path(argv.empty() ? "run" : argv[0]).filename().string();
  const fs::path out = log_dir / (n + "-" + base + ".out");
  const fs::path err = log_dir / (n + "-" + base + ".err");
  const auto start = Clock::now();
  RunResult r;
  Process p = Process::spawn(argv, out, err, env);
  r.status = p.reap(deadline);
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

// ---- TempDir ----------------------------------------------------------------------------

TempDir::TempDir(const std::string& prefix) {
  std::string templ = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed: " + std::string(std::strerror(errno)));
  path_ = templ;
  const char* keep = std::getenv("JIXIAO_E2E_KEEP");
  keep_ = keep != nullptr && *keep != '\0' && std::string(keep) != "0";
}

TempDir::~TempDir() {
  if (keep_) return;
  std::error_code ec;
  fs::remove_all(path_, ec);
}

// ---- files ------------------------------------------------------------------------------

bool set_config_value(const fs::path& file, const std::string& key, const std::string& value) {
  std::istringstream in(read_file(file));
  std::string out;
  bool found = false;
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find('=');
    if (!found && eq != std::string::npos && line[0] != '#') {
      std::string name = line.substr(0, eq);
      while (!name.empty() && name.back() == ' ') name.pop_back();
      if (name == key) {
        line = key + " = " + value;
        found = true;
      }
    }
    out += line + "\n";
  }
  if (found) write_file(file, out);
  return found;
}

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const fs::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out.flush()) throw std::runtime_error("cannot write " + file.string());
}

std::uint64_t e2e_seed() {
  if (const char* s = std::getenv("JIXIAO_E2E_SEED"); s != nullptr && *s != '\0') {
    return std::strtoull(s, nullptr, 10);
  }
  std::random_device rd;
  return (static_cast<std::uint64_t>(rd()) << 32 | rd()) % 1000000000ULL;
}

void sleep_for(Millis d) { std::this_thread::sleep_for(d); }

}  // namespace jixiao::e2e
