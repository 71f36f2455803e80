// The data directory's lock file (directory_lock.h).
#include "jixiao/client/directory_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace jixiao::client {
namespace fs = std::filesystem;
namespace {

fs::path lock_path(const fs::path& dir) { return dir / "jixiao.lock"; }

// The file: "pid\nprogram\nport\n".
LockHolder parse(const std::string& text) {
  LockHolder h;
  std::istringstream in(text);
  std::string line;
  if (std::getline(in, line)) h.pid = std::atoll(line.c_str());
  if (std::getline(in, line)) h.program = line;
  if (std::getline(in, line)) h.port = std::atoi(line.c_str());
  return h;
}

// The one platform call: an exclusive, non-blocking whole-file lock.
// true: taken; false: another open file holds it.
Result<bool> try_lock_file(int fd) {
  if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return true;
  if (errno == EWOULDBLOCK) return false;
  return Status(StatusCode::kUnavailable, "无法锁定本机数据目录", std::string("flock: ") + std::strerror(errno));
}

}  // namespace

DirectoryLock::~DirectoryLock() {
  if (fd_ >= 0) {
    // Emptied first: a reader that finds the file with no holder knows it is free.
    if (::ftruncate(fd_, 0) != 0) {
      // Nothing to do: closing releases the lock all the same.
    }
    ::close(fd_);  // releases the lock
  }
}

Result<LockHolder> read_lock_holder(const fs::path& data_dir) {
  std::ifstream in(lock_path(data_dir), std::ios::binary);
  if (!in) return LockHolder{};
  std::ostringstream buf;
  buf << in.rdbuf();
  return parse(buf.str());
}

Result<std::unique_ptr<DirectoryLock>> lock_data_dir(const fs::path& data_dir, const std::string& program, int port) {
  const fs::path path = lock_path(data_dir);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status(StatusCode::kUnavailable, "无法打开本机数据目录的锁文件 " + path.string(),
                  std::string("open: ") + std::strerror(errno));
  }
  auto taken = try_lock_file(fd);
  if (!taken || !*taken) {
    ::close(fd);
    if (!taken) return taken.status();
    auto holder = read_lock_holder(data_dir);
    const LockHolder h = holder ? *holder : LockHolder{};
    return Status(StatusCode::kFailedPrecondition,
                  "本机数据目录正由进程 " + std::to_string(h.pid) + " 使用（" +
                      (h.program.empty() ? std::string("jixiao") : h.program) + "）",
                  "data directory locked by pid " + std::to_string(h.pid));
  }
  std::unique_ptr<DirectoryLock> lock(new DirectoryLock());
  lock->fd_ = fd;
  lock->holder_ = LockHolder{static_cast<std::int64_t>(::getpid()), program, port};
  const std::string text =
      std::to_string(lock->holder_.pid) + "\n" + program + "\n" + std::to_string(port) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
    return Status(StatusCode::kUnavailable, "无法写入本机数据目录的锁文件 " + path.string(),
                  std::string("write: ") + std::strerror(errno));
  }
  return lock;
}

}  // namespace jixiao::client
