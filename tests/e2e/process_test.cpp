// The process toolkit itself: exit codes and output, deadlines, LISTENING,
// signals, temp dirs and the certificate.
#include "process.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <signal.h>

#include <chrono>
#include <cstdio>

namespace jixiao::e2e {
namespace {

using Clock = std::chrono::steady_clock;

TEST(Process, RunCapturesExitCodeAndBothStreams) {
  TempDir tmp;
  const RunResult r = run({"/bin/sh", "-c", "echo 你好; echo oops >&2; exit 3"}, tmp.path());
  EXPECT_TRUE(r.status.exited);
  EXPECT_EQ(r.code(), 3);
  EXPECT_EQ(r.out, "你好\n");
  EXPECT_EQ(r.err, "oops\n");
}

TEST(Process, ReapKillsAtTheDeadline) {
  TempDir tmp;
  const auto t0 = Clock::now();
  const RunResult r = run({"/bin/sleep", "30"}, tmp.path(), Millis(100));
  EXPECT_TRUE(r.status.deadline_kill);
  EXPECT_EQ(r.status.signal, SIGKILL);
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(5));
}

TEST(Process, WaitsForListeningThenStopsOnSignal) {
  TempDir tmp;
  Process p = Process::spawn({"/bin/sh", "-c", "sleep 0.05; echo LISTENING 4321; exec sleep 30"}, tmp / "out",
                             tmp / "err");
  EXPECT_EQ(p.wait_listening(Millis(5000)), std::optional<std::uint16_t>(4321));
  EXPECT_TRUE(p.running());
  EXPECT_TRUE(p.signal(SIGTERM));
  const ExitStatus s = p.reap(Millis(5000));
  EXPECT_EQ(s.signal, SIGTERM);
  EXPECT_FALSE(s.deadline_kill);
  EXPECT_FALSE(p.signal(SIGTERM)) << "a reaped process is never signalled (its PID may be reused)";
}

TEST(Process, NoListeningLineFromAProcessThatEnds) {
  TempDir tmp;
  Process p = Process::spawn({"/bin/sh", "-c", "echo LISTEN; exit 1"}, tmp / "out", tmp / "err");
  const auto t0 = Clock::now();
  EXPECT_FALSE(p.wait_listening(Millis(10000)).has_value());
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(5));
}

TEST(Process, ADestroyedProcessIsKilledAndReaped) {
  TempDir tmp;
  pid_t pid = 0;
  {
    Process p = Process::spawn({"/bin/sleep", "30"}, tmp / "out", tmp / "err");
    pid = p.pid();
  }
  EXPECT_NE(::kill(pid, 0), 0) << "the child outlived its Process";
}

TEST(TempDirTest, IsRemoved) {
  fs::path path;
  {
    TempDir tmp;
    path = tmp.path();
    write_file(tmp / "x", "y");
    EXPECT_TRUE(fs::exists(path / "x"));
  }
  if (std::getenv("JIXIAO_E2E_KEEP") == nullptr) {
    EXPECT_FALSE(fs::exists(path));
  }
}

TEST(Certificate, IsForLoopbackAndKeyIsPrivate) {
  TempDir tmp;
  ASSERT_TRUE(write_self_signed_certificate(tmp / "tls/server.crt", tmp / "tls/server.key"));
  EXPECT_EQ(fs::status(tmp / "tls/server.key").permissions() & (fs::perms::group_all | fs::perms::others_all),
            fs::perms::none);
  FILE* f = std::fopen((tmp / "tls/server.crt").c_str(), "rb");
  ASSERT_NE(f, nullptr);
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_check_ip_asc(cert, "127.0.0.1", 0), 1);
  X509_free(cert);
}

TEST(Config, SetsAValue) {
  TempDir tmp;
  write_file(tmp / "c.conf", "# port = 1\nport = 8443\nthreads = 2\n");
  EXPECT_TRUE(set_config_value(tmp / "c.conf", "port", "0"));
  EXPECT_FALSE(set_config_value(tmp / "c.conf", "prot", "0"));
  EXPECT_EQ(read_file(tmp / "c.conf"), "# port = 1\nport = 0\nthreads = 2\n");
}

}  // namespace
}  // namespace jixiao::e2e
