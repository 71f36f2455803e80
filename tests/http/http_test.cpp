// The http module over a real listener on 127.0.0.1 (HttpServer): routing,
// limits, keep-alive, the handler pool, static files and the client address
// behind a trusted proxy. Every wait is bounded.
#include <gtest/gtest.h>
#include <zlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "jixiao/common/uuid.h"
#include "jixiao/http/http.h"
#include "jixiao/http/server.h"
#include "raw_http.h"

namespace jixiao::http {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using jixiao::testing::RawHttp;
using jixiao::testing::RawReply;

std::string gunzip(const std::string& data) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) return {};
  std::string out(64 * 1024, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&z, Z_FINISH);
  out.resize(z.total_out);
  inflateEnd(&z);
  return rc == Z_STREAM_END ? out : std::string("<inflate failed>");
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream data;
  data << in.rdbuf();
  return data.str();
}

class HttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("jixiao-http-test-" + new_uuid_v4());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    server_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void start(Router router, HttpConfig config = {}) {
    ListenOptions listen;
    listen.first_request_timeout = 5s;
    auto server = HttpServer::start(listen, config, std::move(router));
    ASSERT_TRUE(server.is_ok()) << server.status().to_string();
    server_ = std::move(*server);
  }

  std::optional<RawReply> get(const std::string& target, const std::string& extra = {}) {
    RawHttp c(server_->port());
    if (!c.request("GET", target, extra + "Connection: close\r\n")) return std::nullopt;
    return c.read_reply();
  }

  // A copy of tests/http/fixtures/site in the temp dir, with a secret
  // beside it and symlinks pointing out of it.
  fs::path site() {
    const fs::path root = dir_ / "site";
    fs::copy(fs::path(JIXIAO_SOURCE_DIR) / "tests/http/fixtures/site", root, fs::copy_options::recursive);
    std::ofstream(dir_ / "secret.txt") << "秘密";
    fs::create_symlink(dir_ / "secret.txt", root / "leak.txt");
    fs::create_directory_symlink(dir_, root / "up");
    return root;
  }

  fs::path dir_;
  std::unique_ptr<HttpServer> server_;
};

// ---- routing ---------------------------------------------------------------------------

TEST_F(HttpTest, RoutesByMethodAndPatternWithParameters) {
  Router router;
  router.get("/api/forms/{id}", [](Request& r) { return Response::json(200, {{"id", r.params.at("id")}}); });
  router.get("/api/forms/{id}/rows/{row}", [](Request& r) {
    return Response::json(200, {{"id", r.params.at("id")}, {"row", r.params.at("row")}});
  });
  router.post("/api/forms/{id}", [](Request& r) { return Response::json(201, {{"posted", r.params.at("id")}}); });
  start(std::move(router));

  auto one = get("/api/forms/12?x=1");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->status, 200u);
  EXPECT_EQ(one->header("content-type"), "application/json; charset=utf-8");
  EXPECT_EQ(nlohmann::json::parse(one->body)["id"], "12");

  auto decoded = get("/api/forms/%E8%A1%A8%201/rows/3");
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->status, 200u);
  EXPECT_EQ(nlohmann::json::parse(decoded->body), (nlohmann::json{{"id", "表 1"}, {"row", "3"}}));

  auto missing = get("/api/nothing");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404u);
  EXPECT_EQ(nlohmann::json::parse(missing->body)["code"], "not_found");
  EXPECT_EQ(nlohmann::json::parse(missing->body)["error"], "找不到请求的地址");

  auto too_deep = get("/api/forms/12/extra");
  ASSERT_TRUE(too_deep);
  EXPECT_EQ(too_deep->status, 404u);

  RawHttp c(server_->port());
  ASSERT_TRUE(c.request("DELETE", "/api/forms/12", "Connection: close\r\n"));
  auto wrong = c.read_reply();
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 405u);
  EXPECT_EQ(wrong->header("allow"), "GET, HEAD, POST");
  EXPECT_EQ(nlohmann::json::parse(wrong->body)["code"], "method_not_allowed");
}

TEST_F(HttpTest, TheRouterMatchesWithoutAServerToo) {
  Router router;
  router.get("/a/{x}", [](Request&) { return Response{}; });
  router.get("/files/{path...}", [](Request&) { return Response{}; });
  EXPECT_EQ(router.match("GET", "/a/1").status, 200u);
  EXPECT_EQ(router.match("GET", "/a/").status, 404u);
  EXPECT_EQ(router.match("HEAD", "/a/1").status, 200u);
  EXPECT_EQ(router.match("PUT", "/a/1").status, 405u);
  auto rest = router.match("GET", "/files/css/site.css");
  EXPECT_EQ(rest.params["path"], "css/site.css");
  EXPECT_EQ(router.match("GET", "/files").params["path"], "");
}

// ---- JSON in and out ---------------------------------------------------------------------

TEST_F(HttpTest, JsonBodiesAreParsedWithALimitAndRefusedInChinese) {
  Router router;
  router.post("/echo", [](Request& r) {
    JsonBody body = parse_json_body(r, 64);
    if (!body) return body.refusal;
    return Response::json(200, {{"got", *body.value}});
  });
  start(std::move(router));
  RawHttp c(server_->port());
  ASSERT_TRUE(c.request("POST", "/echo", "Content-Type: application/json\r\n", R"({"名称":"科协"})"));
  auto ok = c.read_reply();
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200u);
  EXPECT_EQ(nlohmann::json::parse(ok->body)["got"]["名称"], "科协");

  ASSERT_TRUE(c.request("POST", "/echo", "Content-Type: application/json\r\n", "{not json"));
  auto bad = c.read_reply();
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400u);
  EXPECT_EQ(nlohmann::json::parse(bad->body)["code"], "bad_json");
  EXPECT_EQ(nlohmann::json::parse(bad->body)["error"], "请求内容不是有效的 JSON");

  ASSERT_TRUE(c.request("POST", "/echo", "Content-Type: text/plain\r\n", "{}"));
  auto type = c.read_reply();
  ASSERT_TRUE(type);
  EXPECT_EQ(type->status, 415u);

  ASSERT_TRUE(c.request("POST", "/echo", "Content-Type: application/json\r\n", "[" + std::string(100, ' ') + "]"));
  auto big = c.read_reply();
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413u);
}

// ---- limits ------------------------------------------------------------------------------

TEST_F(HttpTest, ABodyOverTheRouteLimitGets413BeforeItIsRead) {
  std::atomic<int> calls{0};
  Router router;
  router.post("/small", [&](Request&) {
    ++calls;
    return Response::json(200, {{"ok", true}});
  }, RouteLimits{std::size_t{16}, std::nullopt, false});
  start(std::move(router));

  RawHttp c(server_->port());
  // Only the header is sent: the answer must come without the body.
  ASSERT_TRUE(c.send("POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n"));
  auto refused = c.read_reply();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 413u);
  EXPECT_EQ(nlohmann::json::parse(refused->body)["code"], "body_too_large");
  EXPECT_EQ(nlohmann::json::parse(refused->body)["error"], "请求内容过大（上限 16 字节）");
  EXPECT_EQ(refused->header("connection"), "close");
  EXPECT_TRUE(c.closed_by_peer());

  // Chunked, so the size is known only while reading.
  RawHttp chunked(server_->port());
  ASSERT_TRUE(chunked.send("POST /small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n20\r\n" +
                           std::string(32, 'a') + "\r\n0\r\n\r\n"));
  auto refused2 = chunked.read_reply();
  ASSERT_TRUE(refused2);
  EXPECT_EQ(refused2->status, 413u);

  RawHttp fits(server_->port());
  ASSERT_TRUE(fits.request("POST", "/small", "Connection: close\r\n", "0123456789"));
  auto ok = fits.read_reply();
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200u);
  EXPECT_EQ(calls.load(), 1);
}

TEST_F(HttpTest, AHeaderOverTheLimitIsRefused) {
  Router router;
  router.get("/", [](Request&) { return Response::text(200, "ok"); });
  HttpConfig config;
  config.max_header_bytes = 1024;
  start(std::move(router), config);
  RawHttp c(server_->port());
  ASSERT_TRUE(c.request("GET", "/", "X-Big: " + std::string(4000, 'x') + "\r\n"));
  auto refused = c.read_reply();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 431u);
}

TEST_F(HttpTest, AHandlerPastItsDeadlineGets503AndTheConnectionStaysUsable) {
  Router router;
  router.get("/slow", [](Request&) {
    std::this_thread::sleep_for(1500ms);
    return Response::text(200, "late");
  }, RouteLimits{std::nullopt, 200ms, false});
  router.get("/fast", [](Request&) { return Response::text(200, "fast"); });
  start(std::move(router));

  RawHttp c(server_->port());
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.request("GET", "/slow"));
  auto late = c.read_reply();
  ASSERT_TRUE(late);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1200ms);
  EXPECT_EQ(late->status, 503u);
  EXPECT_EQ(late->header("retry-after"), "5");
  EXPECT_EQ(nlohmann::json::parse(late->body)["code"], "timeout");
  EXPECT_EQ(nlohmann::json::parse(late->body)["error"], "处理超时，请稍后再试");
  // The same connection answers the next request; the late answer of the
  // slow handler is dropped, not sent in its place.
  ASSERT_TRUE(c.request("GET", "/fast"));
  auto next = c.read_reply();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200u);
  EXPECT_EQ(next->body, "fast");
}

TEST_F(HttpTest, AFullHandlerQueueGets503WithRetryAfter) {
  std::atomic<bool> release{false};
  std::atomic<int> started{0};
  Router router;
  router.get("/block", [&](Request&) {
    ++started;
    for (int i = 0; i < 500 && !release; ++i) std::this_thread::sleep_for(10ms);
    return Response::text(200, "done");
  });
  HttpConfig config;
  config.handler_threads = 1;
  config.handler_queue = 1;
  start(std::move(router), config);

  RawHttp running(server_->port());
  ASSERT_TRUE(running.request("GET", "/block"));
  for (int i = 0; i < 300 && started.load() == 0; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(started.load(), 1);
  RawHttp queued(server_->port());
  ASSERT_TRUE(queued.request("GET", "/block"));
  std::this_thread::sleep_for(100ms);  // let it reach the queue
  RawHttp refused(server_->port());
  ASSERT_TRUE(refused.request("GET", "/block"));
  auto busy = refused.read_reply();
  ASSERT_TRUE(busy);
  EXPECT_EQ(busy->status, 503u);
  EXPECT_EQ(busy->header("retry-after"), "1");
  EXPECT_EQ(nlohmann::json::parse(busy->body)["code"], "busy");
  release = true;
  auto first = running.read_reply();
  auto second = queued.read_reply();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->status, 200u);
  EXPECT_EQ(second->status, 200u);
}

// ---- keep-alive --------------------------------------------------------------------------

TEST_F(HttpTest, TwoRequestsOnOneConnection) {
  std::atomic<int> calls{0};
  Router router;
  router.get("/n", [&](Request&) { return Response::text(200, std::to_string(++calls)); });
  start(std::move(router));
  RawHttp c(server_->port());
  ASSERT_TRUE(c.request("GET", "/n"));
  auto one = c.read_reply();
  ASSERT_TRUE(one);
  EXPECT_EQ(one->body, "1");
  EXPECT_NE(one->header("connection"), "close");
  ASSERT_TRUE(c.request("GET", "/n"));
  auto two = c.read_reply();
  ASSERT_TRUE(two);
  EXPECT_EQ(two->body, "2");
}

TEST_F(HttpTest, AnIdleKeptAliveConnectionIsClosedAfterTheIdleTimeout) {
  Router router;
  router.get("/", [](Request&) { return Response::text(200, "ok"); });
  HttpConfig config;
  config.keepalive_idle = 1s;
  start(std::move(router), config);
  RawHttp c(server_->port());
  ASSERT_TRUE(c.request("GET", "/"));
  ASSERT_TRUE(c.read_reply());
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 4s);
}

// ---- static files ------------------------------------------------------------------------

TEST_F(HttpTest, StaticFilesHaveContentTypesAndIndexHtml) {
  const fs::path root = site();
  Router router;
  router.get("/{path...}", StaticFiles(root).handler());
  start(std::move(router));

  auto index = get("/");
  ASSERT_TRUE(index);
  EXPECT_EQ(index->status, 200u);
  EXPECT_EQ(index->header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(index->body, read_file(root / "index.html"));
  EXPECT_TRUE(index->header("content-encoding").empty());

  const std::vector<std::pair<std::string, std::string>> types = {
      {"/app.js", "application/javascript; charset=utf-8"}, {"/css/site.css", "text/css; charset=utf-8"},
      {"/data.json", "application/json; charset=utf-8"},    {"/logo.svg", "image/svg+xml"},
      {"/icon.png", "image/png"},                           {"/font.woff2", "font/woff2"},
      {"/favicon.ico", "image/x-icon"},                     {"/app.js.map", "application/json; charset=utf-8"},
      {"/robots.txt", "text/plain; charset=utf-8"}};
  for (const auto& [target, type] : types) {
    auto r = get(target);
    ASSERT_TRUE(r) << target;
    EXPECT_EQ(r->status, 200u) << target;
    EXPECT_EQ(r->header("content-type"), type) << target;
    EXPECT_EQ(r->body, read_file(root / target.substr(1))) << target;
  }
  auto missing = get("/nothing.html");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404u);
}

TEST_F(HttpTest, StaticFilesAnswer304ToAMatchingETag) {
  const fs::path root = site();
  Router router;
  router.get("/{path...}", StaticFiles(root).handler());
  start(std::move(router));
  auto first = get("/app.js");
  ASSERT_TRUE(first);
  const std::string etag = first->header("etag");
  ASSERT_FALSE(etag.empty());
  auto again = get("/app.js", "If-None-Match: " + etag + "\r\n");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 304u);
  EXPECT_TRUE(again->body.empty());
  EXPECT_EQ(again->header("etag"), etag);
  auto other = get("/app.js", "If-None-Match: \"something-else\"\r\n");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 200u);

  // A changed file has another ETag.
  std::ofstream(root / "app.js", std::ios::app) << "// changed\n";
  fs::last_write_time(root / "app.js", fs::last_write_time(root / "app.js") + 2s);
  auto changed = get("/app.js", "If-None-Match: " + etag + "\r\n");
  ASSERT_TRUE(changed);
  EXPECT_EQ(changed->status, 200u);
  EXPECT_NE(changed->header("etag"), etag);
}

TEST_F(HttpTest, StaticFilesAreGzippedOnlyWhenAccepted) {
  const fs::path root = site();
  Router router;
  router.get("/{path...}", StaticFiles(root).handler());
  start(std::move(router));
  const std::string original = read_file(root / "app.js");

  auto gz = get("/app.js", "Accept-Encoding: gzip, deflate\r\n");
  ASSERT_TRUE(gz);
  EXPECT_EQ(gz->status, 200u);
  EXPECT_EQ(gz->header("content-encoding"), "gzip");
  EXPECT_EQ(gz->header("vary"), "Accept-Encoding");
  EXPECT_LT(gz->body.size(), original.size());
  EXPECT_EQ(gunzip(gz->body), original);
  auto cached = get("/app.js", "Accept-Encoding: gzip\r\n");  // from the cache
  ASSERT_TRUE(cached);
  EXPECT_EQ(cached->body, gz->body);
  EXPECT_EQ(cached->header("etag"), gz->header("etag"));

  auto plain = get("/app.js");
  ASSERT_TRUE(plain);
  EXPECT_TRUE(plain->header("content-encoding").empty());
  EXPECT_EQ(plain->body, original);
  EXPECT_NE(plain->header("etag"), gz->header("etag"));  // another representation

  auto refused = get("/app.js", "Accept-Encoding: gzip;q=0, br\r\n");
  ASSERT_TRUE(refused);
  EXPECT_TRUE(refused->header("content-encoding").empty());

  auto png = get("/icon.png", "Accept-Encoding: gzip\r\n");  // already compressed
  ASSERT_TRUE(png);
  EXPECT_TRUE(png->header("content-encoding").empty());
}

TEST_F(HttpTest, StaticFilesRefuseEveryWayOutOfTheRoot) {
  const fs::path root = site();
  Router router;
  router.get("/{path...}", StaticFiles(root).handler());
  start(std::move(router));
  ASSERT_EQ(get("/robots.txt")->status, 200u);
  // A symlink whose real location is inside the root is fine.
  EXPECT_EQ(get("/up/site/index.html")->status, 200u);
  for (const std::string target :
       {"/../secret.txt", "/css/../../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt",
        "/css/%2e%2e/%2e%2e/secret.txt", "/..%2fsecret.txt", "/css%2f..%2f..%2fsecret.txt", "/leak.txt",
        "/up/secret.txt", "/..\\secret.txt", "/%00index.html", "/%zz"}) {
    auto r = get(target);
    ASSERT_TRUE(r) << target;
    EXPECT_EQ(r->status, 404u) << target;
    EXPECT_EQ(r->body.find("秘密"), std::string::npos) << target;
  }
}

// ---- the client address ------------------------------------------------------------------

Router address_router() {
  Router router;
  router.get("/who", [](Request& r) {
    return Response::json(200, {{"client", r.client_address}, {"peer", r.peer_address},
                                {"proxy", r.through_proxy}, {"local", r.local()}});
  });
  return router;
}

TEST_F(HttpTest, XForwardedForIsIgnoredFromAnUntrustedPeer) {
  HttpConfig config;
  config.trusted_proxies = {"10.9.9.9"};
  start(address_router(), config);
  auto r = get("/who", "X-Forwarded-For: 203.0.113.7\r\n");
  ASSERT_TRUE(r);
  const auto who = nlohmann::json::parse(r->body);
  EXPECT_EQ(who["client"], "127.0.0.1");
  EXPECT_EQ(who["proxy"], false);
  EXPECT_EQ(who["local"], true);
}

TEST_F(HttpTest, XForwardedForIsUsedFromATrustedProxy) {
  HttpConfig config;
  config.trusted_proxies = {"127.0.0.1"};
  start(address_router(), config);
  // The client may write anything left of what the proxy appended.
  auto r = get("/who", "X-Forwarded-For: 1.2.3.4, 203.0.113.7\r\n");
  ASSERT_TRUE(r);
  const auto who = nlohmann::json::parse(r->body);
  EXPECT_EQ(who["client"], "203.0.113.7");
  EXPECT_EQ(who["peer"], "127.0.0.1");
  EXPECT_EQ(who["proxy"], true);
  EXPECT_EQ(who["local"], false);  // through a proxy is never "loopback"

  EXPECT_EQ(resolve_client_address("10.0.0.1", "203.0.113.7, 10.0.0.2", {"10.0.0.1", "10.0.0.2"}).address,
            "203.0.113.7");
  EXPECT_EQ(resolve_client_address("10.0.0.1", "garbage", {"10.0.0.1"}).address, "10.0.0.1");
  EXPECT_EQ(resolve_client_address("10.0.0.1", "", {"10.0.0.1"}).address, "10.0.0.1");
}

TEST_F(HttpTest, OnlyLoopbackAddressesCanBeListenedOn) {
  ListenOptions listen;
  listen.address = "0.0.0.0";
  auto refused = HttpServer::start(listen, {}, Router{});
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace jixiao::http
