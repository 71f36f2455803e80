// One process per data directory: a lock file (`jixiao.lock`) held with an
// advisory whole-file lock for as long as the process uses the directory,
// holding the process id, the program's name and (later) the port of its
// local service. A second process that wants the directory reads who holds
// it and says so.
//
// POSIX (Debian-family desktops first): flock(2), released by the kernel
// when the process ends, so a crash never leaves the directory locked.
// Windows (later): LockFileEx behind the same function.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "jixiao/common/status.h"

namespace jixiao::client {

struct LockHolder {
  std::int64_t pid = 0;
  std::string program;  // "jixiao daemon"
  int port = 0;         // 0: none yet
};

class DirectoryLock;

// Takes the data directory for this process. kFailedPrecondition (detail
// "data directory locked by pid N") when another process holds it, with
// the message "本机数据目录正由进程 N 使用（程序名）".
Result<std::unique_ptr<DirectoryLock>> lock_data_dir(const std::filesystem::path& data_dir, const std::string& program,
                                                     int port = 0);

class DirectoryLock {
 public:
  ~DirectoryLock();
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;
  const LockHolder& holder() const { return holder_; }

 private:
  friend Result<std::unique_ptr<DirectoryLock>> lock_data_dir(const std::filesystem::path&, const std::string&, int);
  DirectoryLock() = default;
  int fd_ = -1;
  LockHolder holder_;
};


// Who holds the directory's lock file now, if anyone (reads the file; no lock taken).
Result<LockHolder> read_lock_holder(const std::filesystem::path& data_dir);

}  // namespace jixiao::client
