// Watch streams of the fake Kubernetes API server: a chunked HTTP response carrying one JSON
// event per line, as kube-apiserver sends them.
#include <poll.h>

#include <boost/asio/write.hpp>
#include <chrono>

#include "kube-fake/fake_api_server.h"
#include "kube-fake/fake_routes.h"

namespace kw::kube::fake {
namespace {

namespace http = boost::beast::http;
constexpr auto kWatchPoll = std::chrono::milliseconds(200);
constexpr int kDefaultTimeoutSeconds = 1800;

// A watch client never sends while streaming; readable or hung up means it went away.
bool peerGone(TlsStream& stream) {
  pollfd p{stream.next_layer().native_handle(), POLLIN, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR));
}

}  // namespace

bool Router::watch(const Request& req, size_t type, const ListQuery& filter, const Query& query) {
  auto param = [&](const char* key) {
    auto it = query.find(key);
    return it == query.end() ? std::string() : it->second;
  };
  FakeStore& store = server.store_;
  {
    // Same selector validation as a list, so a bad selector gets the same 400.
    ListQuery probe = filter;
    probe.limit = 1;
    probe.continue_token.clear();
    FakeReply check = store.list(type, probe);
    if (check.status != 200) return reply(req, check);
  }
  bool bookmarks = param("allowWatchBookmarks") == "true";
  int timeout = std::atoi(param("timeoutSeconds").c_str());
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::seconds(timeout > 0 ? timeout : kDefaultTimeoutSeconds);
  std::vector<std::string> lines;
  FakeStore::WatchCursor cursor = store.startWatch(type, param("resourceVersion"), filter, lines);
  uint64_t asked = cursor.from;

  http::response<http::empty_body> res{http::status::ok, req.version()};
  res.set(http::field::content_type, "application/json");
  res.chunked(true);
  res.keep_alive(req.keep_alive());
  http::response_serializer<http::empty_body> serializer{res};
  boost::system::error_code ec;
  http::write_header(stream, serializer, ec);
  if (ec) return false;
  auto send = [&](const std::vector<std::string>& batch) {
    if (batch.empty()) return true;
    std::string chunk;
    for (const std::string& l : batch) chunk += l + "\n";
    boost::asio::write(stream, http::make_chunk(boost::asio::buffer(chunk)), ec);
    return !ec;
  };
  auto finish = [&] {
    boost::asio::write(stream, http::make_chunk_last(), ec);
    return !ec && req.keep_alive();
  };
  if (cursor.expired) {
    // kube-apiserver answers 200 and then a single ERROR event carrying the 410 Status.
    send({store.expiredLine(asked)});
    return finish();
  }
  if (!send(lines)) return false;
  uint64_t generation = server.watch_generation_.load();
  server.active_watches_.fetch_add(1);
  struct Leave {
    std::atomic<size_t>& n;
    ~Leave() { n.fetch_sub(1); }
  } leave{server.active_watches_};
  auto next_bookmark = std::chrono::steady_clock::now() + server.options_.bookmark_interval;
  for (;;) {
    lines.clear();
    {
      std::unique_lock lock(store.mutex());
      store.changed().wait_for(lock, kWatchPoll, [&] {
        return store.resourceVersionLocked() > cursor.from || server.stopping_.load() ||
               server.watch_generation_.load() != generation;
      });
      if (server.stopping_.load()) return false;
      if (server.watch_generation_.load() != generation) {
        lock.unlock();
        cut();  // abrupt: no terminating chunk, as when a real apiserver or proxy drops a stream
        return false;
      }
      store.eventsSinceLocked(type, filter, cursor, lines);
    }
    if (cursor.expired) {
      send({store.expiredLine(asked)});
      return finish();
    }
    if (!send(lines)) return false;
    auto now = std::chrono::steady_clock::now();
    if (bookmarks && now >= next_bookmark) {
      if (!send({store.bookmarkLine(type, cursor.from)})) return false;
      next_bookmark = now + server.options_.bookmark_interval;
    }
    if (now >= deadline) return finish();
    if (peerGone(stream)) return false;
  }
}

}  // namespace kw::kube::fake
