// Static files: content types, ETags, gzip on the fly with a bounded cache,
// and the checks that keep every answer inside the root.
#include <zlib.h>

#include <fstream>
#include <list>
#include <sstream>

#include "jixiao/http/http.h"

namespace jixiao::http {
namespace {

namespace fs = std::filesystem;

bool compressible(const std::string& type) {
  return type.rfind("text/", 0) == 0 || type.rfind("application/javascript", 0) == 0 ||
         type.rfind("application/json", 0) == 0 || type.rfind("image/svg+xml", 0) == 0;
}

// The client accepts gzip unless it says "gzip;q=0".
bool accepts_gzip(const std::string& accept_encoding) {
  std::size_t start = 0;
  while (start < accept_encoding.size()) {
    std::size_t comma = accept_encoding.find(',', start);
    if (comma == std::string::npos) comma = accept_encoding.size();
    std::string item = accept_encoding.substr(start, comma - start);
    start = comma + 1;
    item.erase(std::remove(item.begin(), item.end(), ' '), item.end());
    const std::size_t semi = item.find(';');
    const std::string coding = item.substr(0, semi);
    if (coding != "gzip" && coding != "x-gzip") continue;
    if (semi == std::string::npos) return true;
    const std::string params = item.substr(semi + 1);
    return !(params == "q=0" || params == "q=0.0" || params == "q=0.00" || params == "q=0.000");
  }
  return false;
}

// If-None-Match holds `etag` (weak comparison) or "*".
bool none_match(const std::string& header, const std::string& etag) {
  if (header.empty()) return false;
  if (header.find('*') != std::string::npos) return true;
  std::size_t start = 0;
  while (start < header.size()) {
    std::size_t comma = header.find(',', start);
    if (comma == std::string::npos) comma = header.size();
    std::string item = header.substr(start, comma - start);
    start = comma + 1;
    item.erase(std::remove(item.begin(), item.end(), ' '), item.end());
    if (item.rfind("W/", 0) == 0) item = item.substr(2);
    if (item == etag) return true;
  }
  return false;
}

std::optional<std::string> read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream data;
  data << in.rdbuf();
  return data.str();
}

Response not_found() { return Response::error(404, "not_found", "找不到请求的页面或文件"); }

}  // namespace

std::string gzip(std::string_view data) {
  z_stream z{};
  if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return {};
  std::string out;
  out.resize(deflateBound(&z, static_cast<uLong>(data.size())) + 32);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return rc == Z_STREAM_END ? out : std::string();
}

// Compressed copies by file, least recently used dropped beyond the budget.
struct StaticFiles::Cache {
  struct Entry {
    std::uintmax_t size = 0;
    fs::file_time_type mtime;
    std::string gz;
  };
  std::mutex mu;
  std::list<std::string> order;  // front: most recent
  std::map<std::string, std::pair<Entry, std::list<std::string>::iterator>> entries;
  std::size_t bytes = 0;
  std::size_t budget = 0;

  std::optional<std::string> find(const std::string& key, std::uintmax_t size, fs::file_time_type mtime) {
    std::lock_guard lock(mu);
    auto it = entries.find(key);
    if (it == entries.end()) return std::nullopt;
    if (it->second.first.size != size || it->second.first.mtime != mtime) {
      bytes -= it->second.first.gz.size();
      order.erase(it->second.second);
      entries.erase(it);
      return std::nullopt;
    }
    order.splice(order.begin(), order, it->second.second);
    return it->second.first.gz;
  }
  void put(const std::string& key, Entry entry) {
    std::lock_guard lock(mu);
    if (entry.gz.size() > budget || entries.count(key) != 0) return;
    bytes += entry.gz.size();
    order.push_front(key);
    entries.emplace(key, std::make_pair(std::move(entry), order.begin()));
    while (bytes > budget && !order.empty()) {
      auto victim = entries.find(order.back());
      bytes -= victim->second.first.gz.size();
      entries.erase(victim);
      order.pop_back();
    }
  }
};

StaticFiles::StaticFiles(fs::path root, std::size_t cache_bytes) : cache_(std::make_shared<Cache>()) {
  std::error_code ec;
  root_ = fs::canonical(root, ec);
  if (ec) root_ = root.lexically_normal();
  cache_->budget = cache_bytes;
}

std::string StaticFiles::content_type_for(const fs::path& file) {
  static const std::map<std::string, std::string, std::less<>> types = {
      {".html", "text/html; charset=utf-8"},
      {".htm", "text/html; charset=utf-8"},
      {".js", "application/javascript; charset=utf-8"},
      {".mjs", "application/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json; charset=utf-8"},
      {".map", "application/json; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".woff2", "font/woff2"},
      {".ico", "image/x-icon"},
      {".txt", "text/plain; charset=utf-8"},
  };
  std::string ext = file.extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto it = types.find(ext);
  return it == types.end() ? "application/octet-stream" : it->second;
}

Response StaticFiles::serve(const Request& request, std::string_view relative) const {
  // Decode segment by segment and refuse anything that could climb out or
  // hide: "..", ".", dot files, backslashes, NUL, an encoded slash.
  fs::path rel;
  std::size_t start = 0;
  while (start <= relative.size()) {
    std::size_t slash = relative.find('/', start);
    if (slash == std::string_view::npos) slash = relative.size();
    const std::string_view raw = relative.substr(start, slash - start);
    start = slash + 1;
    if (!raw.empty()) {
      auto seg = percent_decode(raw);
      if (!seg || seg->empty() || seg->front() == '.' || seg->find('/') != std::string::npos ||
          seg->find('\\') != std::string::npos) {
        return not_found();
      }
      rel /= *seg;
    }
    if (slash == relative.size()) break;
  }
  std::error_code ec;
  fs::path file = fs::canonical(root_ / rel, ec);
  if (ec) return not_found();
  // The real location must be the root or below it (symlinks resolved).
  const auto [root_end, file_it] = std::mismatch(root_.begin(), root_.end(), file.begin(), file.end());
  if (root_end != root_.end()) return not_found();
  if (fs::is_directory(file, ec)) file /= "index.html";
  if (!fs::is_regular_file(file, ec)) return not_found();
  const std::uintmax_t size = fs::file_size(file, ec);
  if (ec) return not_found();
  const fs::file_time_type mtime = fs::last_write_time(file, ec);
  if (ec) return not_found();

  const std::string type = content_type_for(file);
  const bool gz = compressible(type) && accepts_gzip(request.header("accept-encoding"));
  std::ostringstream tag;
  tag << '"' << std::hex << size << '-' << static_cast<std::uint64_t>(mtime.time_since_epoch().count())
      << (gz ? "-gz" : "") << '"';
  const std::string etag = tag.str();

  Response out;
  out.set("etag", etag);
  out.set("cache-control", "no-cache");  // revalidate: cheap with the ETag
  out.set("x-content-type-options", "nosniff");
  if (compressible(type)) out.set("vary", "Accept-Encoding");
  if (none_match(request.header("if-none-match"), etag)) {
    out.status = 304;
    return out;
  }
  std::string body;
  if (gz) {
    const std::string key = file.string();
    if (auto hit = cache_->find(key, size, mtime)) {
      body = std::move(*hit);
    } else {
      auto data = read_file(file);
      if (!data) return not_found();
      body = gzip(*data);
      cache_->put(key, Cache::Entry{size, mtime, body});
    }
    out.set("content-encoding", "gzip");
  } else {
    auto data = read_file(file);
    if (!data) return not_found();
    body = std::move(*data);
  }
  out.status = 200;
  out.set("content-type", type);
  out.body = std::move(body);
  return out;
}

Handler StaticFiles::handler() const {
  return [self = *this](Request& request) {
    auto it = request.params.find("path");
    return self.serve(request, it == request.params.end() ? std::string_view() : std::string_view(it->second));
  };
}

}  // namespace jixiao::http
