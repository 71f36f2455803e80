// Process and machine helpers for the capacity benchmark (issue 6, part 4):
// starting jixiao-server and its administrative commands as child
// processes, stopping exactly those children, and reading what Linux says
// about them under /proc. Nothing here uses a shell, pkill or killall: every
// signal goes to a PID this program created.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace jixiao::bench {

// fork + exec of argv[0] (a path) with stdout and stderr appended to the
// given files. The child gets SIGTERM when this program's main thread dies
// (PR_SET_PDEATHSIG), so an interrupted benchmark does not leave a server
// behind. Call it before starting threads (it forks).
pid_t spawn_process(const std::vector<std::string>& argv, const std::filesystem::path& out,
                    const std::filesystem::path& err);

// waitpid with a deadline: the exit code (128 + signal when killed), or
// nullopt when the child is still running at the deadline.
std::optional<int> wait_exit(pid_t pid, std::chrono::milliseconds timeout);

// Runs a command to its end within `timeout`; past it the child is killed
// (SIGKILL, by its PID) and a std::runtime_error thrown. Returns the exit code.
int run_command(const std::vector<std::string>& argv, const std::filesystem::path& out,
                const std::filesystem::path& err, std::chrono::milliseconds timeout);

// SIGTERM, then SIGKILL after `grace`; always reaps. Returns the exit code
// and whether SIGKILL was needed.
struct StopResult {
  int code = -1;
  bool killed = false;
};
StopResult stop_process(pid_t pid, std::chrono::milliseconds grace);

// ---- /proc ------------------------------------------------------------------------
// A "Vm…:  1234 kB" line of /proc/<pid>/status, in kB (0 when unreadable).
std::uint64_t proc_status_kb(pid_t pid, const char* key);

struct ThreadCpu {
  int tid = 0;
  double user_s = 0;
  double system_s = 0;
};
struct ProcCpu {
  double user_s = 0;
  double system_s = 0;
  std::vector<ThreadCpu> threads;
};
ProcCpu proc_cpu(pid_t pid);  // the process and each of its threads

// What each thread of `pid` is doing right now: its scheduler state (R
// running or runnable, S sleeping, D uninterruptible: disk) and, when not
// running, the kernel function it waits in (/proc/…/wchan), e.g.
// "S futex_do_wait", "D submit_bio_wait", "S hrtimer_nanosleep". Sampled
// often, it is a poor man's profile of where the threads spend their time.
struct ThreadState {
  int tid = 0;
  std::string state;
};
std::vector<ThreadState> thread_states(pid_t pid);

// A field of /proc/<pid>/io ("write_bytes": what the process caused to be
// written to the block layer; "wchar": bytes passed to write calls), 0 when
// unreadable. pid 0: this process.
std::uint64_t proc_io(pid_t pid, const char* key);

// This process's own CPU time (getrusage), user + system, seconds.
double self_cpu_seconds();

struct MachineFacts {
  unsigned nproc = 0;
  std::string cpu_model;
  std::string kernel;
  std::uint64_t mem_total_kb = 0;
  std::string filesystem;  // of the benchmark's working directory (statfs type)
};
MachineFacts machine_facts(const std::filesystem::path& work_dir);

// The whole text of a small file ("" when it cannot be read).
std::string read_text(const std::filesystem::path& path);

}  // namespace jixiao::bench
