// Background sync: exponential backoff with full jitter, capped, reset after
// a success; a failing transport and a recording sleep keep it bounded.
#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "fake_server.h"
#include "jixiao/client/daemon.h"

namespace jixiao::client::testing {
namespace {

using std::chrono::milliseconds;

TEST(Backoff, DelaysGrowExponentiallyUnderTheirCeilingAndStopAtTheCap) {
  Backoff b(milliseconds(1000), milliseconds(300000), 7);
  milliseconds expected_ceiling(1000);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(b.current_ceiling(), expected_ceiling) << i;
    const milliseconds d = b.next_delay();
    EXPECT_GE(d, milliseconds(100)) << i;  // never zero: floor is initial / 10
    EXPECT_LE(d, expected_ceiling) << i;
    expected_ceiling = std::min(expected_ceiling * 2, milliseconds(300000));
  }
  EXPECT_EQ(b.current_ceiling(), milliseconds(300000));
  b.reset();
  EXPECT_EQ(b.current_ceiling(), milliseconds(1000));
}

TEST(Backoff, DelaysAreJitteredAndSpreadOverTheirRange) {
  // Many draws at the cap: spread over [floor, cap], not stuck at one value.
  Backoff b(milliseconds(1000), milliseconds(8000), 12345);
  for (int i = 0; i < 4; ++i) (void)b.next_delay();
  std::set<std::int64_t> seen;
  milliseconds lo = milliseconds::max(), hi = milliseconds::zero();
  for (int i = 0; i < 400; ++i) {
    const milliseconds d = b.next_delay();
    ASSERT_LE(d, milliseconds(8000));
    ASSERT_GE(d, milliseconds(100));
    lo = std::min(lo, d);
    hi = std::max(hi, d);
    seen.insert(d.count());
  }
  EXPECT_GT(seen.size(), 300u);
  EXPECT_LT(lo, milliseconds(2000));
  EXPECT_GT(hi, milliseconds(6000));
  // Two machines with different seeds do not retry in step.
  Backoff x(milliseconds(1000), milliseconds(8000), 1), y(milliseconds(1000), milliseconds(8000), 2);
  int same = 0;
  for (int i = 0; i < 10; ++i) same += x.next_delay() == y.next_delay() ? 1 : 0;
  EXPECT_LT(same, 3);
}

class DaemonTest : public ::testing::Test {
 protected:
  DaemonTest() : clock_(workflow::utc_time(2022, 3, 1, 8, 0)), server_(clock_) {}
  void SetUp() override {
    server_.start();
    options_.data_dir = temp_dir("p1");
    options_.templates = &server_.templates;
    options_.workflows = server_.workflows;
    options_.clock = &clock_;
    options_.connect = server_.factory();
    options_.hashing = {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
    auto c = OfficeClient::open(options_);
    ASSERT_TRUE(c.is_ok());
    ASSERT_TRUE((*c)->register_device("ws://127.0.0.1:9/sync", "p1", "", kPassword).is_ok());
  }

  workflow::ManualClock clock_;
  FakeServer server_;
  ClientOptions options_;
};

TEST_F(DaemonTest, FailuresBackOffUpToTheCapAndASuccessResetsTheBackoff) {
  std::vector<milliseconds> slept;
  int attempts = 0;
  // Fails 12 times, then the link comes back for good; then it fails again.
  options_.connect = [&](const ConnectParams& p) -> Result<std::unique_ptr<Transport>> {
    ++attempts;
    if (attempts <= 12 || attempts >= 15) return Status(StatusCode::kUnavailable, "无法连接服务器", "down");
    return server_.factory()(p);
  };
  DaemonOptions d;
  d.interval = milliseconds(30000);
  d.backoff_initial = milliseconds(1000);
  d.backoff_cap = milliseconds(60000);
  d.max_cycles = 16;
  d.seed = 99;
  d.sleep = [&](milliseconds m) { slept.push_back(m); };
  std::ostringstream log;
  const DaemonReport r = run_daemon(options_, d, log);
  ASSERT_EQ(r.cycles.size(), 16u);
  ASSERT_EQ(slept.size(), 15u);  // no wait after the last cycle
  milliseconds ceiling(1000);
  for (int i = 0; i < 12; ++i) {
    EXPECT_FALSE(r.cycles[static_cast<std::size_t>(i)].ok);
    EXPECT_LE(slept[static_cast<std::size_t>(i)], ceiling) << i;
    EXPECT_GE(slept[static_cast<std::size_t>(i)], milliseconds(100)) << i;
    ceiling = std::min(ceiling * 2, milliseconds(60000));
  }
  // The late failures are capped, and at least one of them well under the
  // cap (jitter), while their ceilings have reached it.
  EXPECT_LE(slept[11], milliseconds(60000));
  EXPECT_TRUE(r.cycles[12].ok) << r.cycles[12].status.to_string();
  EXPECT_TRUE(r.cycles[13].ok);
  EXPECT_EQ(slept[12], milliseconds(30000));
  EXPECT_EQ(slept[13], milliseconds(30000));
  EXPECT_FALSE(r.cycles[14].ok);
  EXPECT_LE(slept[14], milliseconds(1000)) << "reset after the success";
  EXPECT_NE(log.str().find("同步失败：无法连接服务器"), std::string::npos) << log.str();
  EXPECT_NE(log.str().find("同步完成"), std::string::npos) << log.str();
}

TEST_F(DaemonTest, ItPicksUpALoginMadeByAnotherProcess) {
  {
    auto c = OfficeClient::open(options_);
    ASSERT_TRUE((*c)->logout().is_ok());
  }
  std::vector<milliseconds> slept;
  DaemonOptions d;
  d.max_cycles = 3;
  d.seed = 5;
  d.sleep = [&](milliseconds m) {
    slept.push_back(m);
    if (slept.size() == 1) {  // meanwhile: `jixiao login` in another terminal
      auto c = OfficeClient::open(options_);
      ASSERT_TRUE((*c)->login(kPassword).is_ok());
    }
  };
  std::ostringstream log;
  const DaemonReport r = run_daemon(options_, d, log);
  ASSERT_EQ(r.cycles.size(), 3u);
  EXPECT_FALSE(r.cycles[0].ok);
  EXPECT_EQ(r.cycles[0].status.code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(r.cycles[1].ok) << r.cycles[1].status.to_string();
}

}  // namespace
}  // namespace jixiao::client::testing
