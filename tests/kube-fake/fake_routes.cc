#include "kube-fake/fake_routes.h"

#include <fmt/format.h>
#include <poll.h>

#include <boost/asio/write.hpp>
#include <chrono>
#include <sstream>

#include "kube-fake/fake_api_server.h"

namespace kw::kube::fake {
namespace {

namespace http = boost::beast::http;
using json = nlohmann::json;
constexpr size_t kRequestLogLimit = 10000;

std::string urlDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i] == '+' ? ' ' : s[i]);
    }
  }
  return out;
}

std::vector<std::string> splitPath(const std::string& path) {
  std::vector<std::string> out;
  std::stringstream in(path);
  for (std::string seg; std::getline(in, seg, '/');)
    if (!seg.empty()) out.push_back(seg);
  return out;
}

FakeReply pathNotFound() {
  return statusReply(404, "NotFound", "the server could not find the requested resource",
                     json::object());
}

json resourceList(const std::string& group_version, const std::vector<FakeType>& types) {
  json resources = json::array();
  for (const FakeType& t : types) {
    if (t.apiVersion() != group_version) continue;
    std::string singular = t.kind;
    for (char& c : singular) c = static_cast<char>(std::tolower(c));
    resources.push_back(
        {{"name", t.plural},
         {"singularName", singular},
         {"namespaced", t.namespaced},
         {"kind", t.kind},
         {"verbs", {"create", "delete", "get", "list", "patch", "update", "watch"}}});
  }
  return {{"kind", "APIResourceList"},
          {"apiVersion", "v1"},
          {"groupVersion", group_version},
          {"resources", resources}};
}

}  // namespace

void Router::run() {
  boost::beast::flat_buffer buffer;
  for (;;) {
    Request req;
    boost::system::error_code ec;
    http::read(stream, buffer, req, ec);
    if (ec || !handle(req)) return;
  }
}

bool Router::reply(const Request& req, const FakeReply& r) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), req.version()};
  res.set(http::field::content_type, "application/json");
  res.keep_alive(req.keep_alive());
  res.body() = r.body;
  res.prepare_payload();
  boost::system::error_code ec;
  http::write(stream, res, ec);
  return !ec && req.keep_alive();
}

FakeReply Router::authorize(const Request& req, const FakeType* type, const std::string& verb,
                            const std::string& ns, bool& ok) {
  ok = false;
  std::string auth(req[http::field::authorization]);
  std::string token = auth.rfind("Bearer ", 0) == 0 ? auth.substr(7) : "";
  std::lock_guard lock(server.mu_);
  auto it = server.tokens_.find(token);
  if (token.empty() || it == server.tokens_.end())
    return statusReply(401, "Unauthorized", "Unauthorized");
  const auto& allowed = it->second.allowed;
  if (type && allowed && !allowed->count(type->plural) && !allowed->count(type->qualified())) {
    std::string scope =
        ns.empty() ? "at the cluster scope" : fmt::format("in the namespace \"{}\"", ns);
    return statusReply(
        403, "Forbidden",
        fmt::format("{} is forbidden: User \"{}\" cannot {} resource \"{}\" in API "
                    "group \"{}\" {}",
                    type->qualified(), it->second.user, verb, type->plural, type->group, scope),
        {{"group", type->group}, {"kind", type->plural}});
  }
  ok = true;
  return {};
}

bool Router::handle(const Request& req) {
  std::string target(req.target());
  std::string path = target.substr(0, target.find('?'));
  Query query;
  if (size_t q = target.find('?'); q != std::string::npos) {
    std::stringstream in(target.substr(q + 1));
    for (std::string kv; std::getline(in, kv, '&');) {
      size_t eq = kv.find('=');
      query[urlDecode(kv.substr(0, eq))] =
          eq == std::string::npos ? "" : urlDecode(kv.substr(eq + 1));
    }
  }
  {
    std::lock_guard lock(server.mu_);
    if (server.request_log_.size() >= kRequestLogLimit) server.request_log_.clear();
    server.request_log_.push_back(std::string(req.method_string()) + " " + target);
  }
  bool ok = false;
  FakeReply denied = authorize(req, nullptr, "", "", ok);
  if (!ok) return reply(req, denied);
  bool handled = false;
  FakeReply r = discovery(path, handled);
  if (handled) return reply(req, r);
  return resource(req, path, query);
}

FakeReply Router::discovery(const std::string& path, bool& handled) {
  handled = true;
  std::vector<FakeType> types = server.store_.types();
  if (path == "/api")
    return {200, json{{"kind", "APIVersions"},
                      {"versions", {"v1"}},
                      {"serverAddressByClientCIDRs",
                       {{{"clientCIDR", "0.0.0.0/0"},
                         {"serverAddress", fmt::format("127.0.0.1:{}", server.port_)}}}}}
                     .dump()};
  if (path == "/apis") {
    std::map<std::string, json> groups;
    for (const FakeType& t : types) {
      if (t.group.empty()) continue;
      json version = {{"groupVersion", t.apiVersion()}, {"version", t.version}};
      json& g = groups[t.group];
      if (g.is_null())
        g = {{"name", t.group}, {"versions", json::array()}, {"preferredVersion", version}};
      if (std::find(g["versions"].begin(), g["versions"].end(), version) == g["versions"].end())
        g["versions"].push_back(version);
    }
    json list = json::array();
    for (auto& [name, g] : groups) list.push_back(g);
    return {200, json{{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", list}}.dump()};
  }
  std::vector<std::string> seg = splitPath(path);
  std::string gv;
  if (seg.size() == 2 && seg[0] == "api") gv = seg[1];
  if (seg.size() == 3 && seg[0] == "apis") gv = seg[1] + "/" + seg[2];
  if (!gv.empty()) {
    json list = resourceList(gv, types);
    if (list["resources"].empty()) return pathNotFound();
    return {200, list.dump()};
  }
  handled = false;
  return {};
}

bool Router::resource(const Request& req, const std::string& path, const Query& query) {
  std::vector<std::string> seg = splitPath(path);
  std::string group, version;
  size_t at = 0;
  if (seg.size() >= 3 && seg[0] == "api") {
    version = seg[1];
    at = 2;
  } else if (seg.size() >= 4 && seg[0] == "apis") {
    group = seg[1];
    version = seg[2];
    at = 3;
  } else {
    return reply(req, pathNotFound());
  }
  std::vector<std::string> rest(seg.begin() + static_cast<long>(at), seg.end());
  std::string ns, plural, name;
  if (rest.size() >= 3 && rest[0] == "namespaces") {
    ns = rest[1];
    plural = rest[2];
    if (rest.size() == 4) name = rest[3];
    if (rest.size() > 4) return reply(req, pathNotFound());
  } else if (rest.size() <= 2) {
    plural = rest[0];
    if (rest.size() == 2) name = rest[1];
  }
  auto type_index = server.store_.findType(group, version, plural);
  if (!type_index) return reply(req, pathNotFound());
  FakeType type = server.store_.type(*type_index);
  if (!type.namespaced && !ns.empty()) return reply(req, pathNotFound());
  if (type.namespaced && ns.empty() && !name.empty()) return reply(req, pathNotFound());
  auto param = [&](const char* key) {
    auto it = query.find(key);
    return it == query.end() ? std::string() : it->second;
  };
  bool is_watch = param("watch") == "true" || param("watch") == "1";
  std::string verb;
  switch (req.method()) {
    case http::verb::get:
      verb = is_watch ? "watch" : name.empty() ? "list" : "get";
      break;
    case http::verb::post:
      verb = "create";
      break;
    case http::verb::put:
      verb = "update";
      break;
    case http::verb::patch:
      verb = "patch";
      break;
    case http::verb::delete_:
      verb = "delete";
      break;
    default:
      return reply(req,
                   statusReply(405, "MethodNotAllowed",
                               "the server does not allow this method on the requested resource"));
  }
  bool ok = false;
  FakeReply denied = authorize(req, &type, verb, ns, ok);
  if (!ok) return reply(req, denied);
  FakeStore& store = server.store_;
  if (verb == "list" || verb == "watch") {
    ListQuery filter{ns, param("labelSelector"), param("fieldSelector"), 0, param("continue")};
    if (verb == "watch") return watch(req, *type_index, filter, query);
    if (!param("limit").empty()) filter.limit = std::atoll(param("limit").c_str());
    return reply(req, store.list(*type_index, filter));
  }
  if (verb == "get") return reply(req, store.get(*type_index, ns, name));
  if (verb == "create") {
    if (!name.empty())
      return reply(req,
                   statusReply(405, "MethodNotAllowed", "POST is not allowed on a named resource"));
    return reply(req, store.create(*type_index, ns, req.body()));
  }
  if (name.empty())
    return reply(req, statusReply(405, "MethodNotAllowed", verb + " needs a resource name"));
  if (verb == "update") return reply(req, store.update(*type_index, ns, name, req.body()));
  if (verb == "patch")
    return reply(req, store.patch(*type_index, ns, name,
                                  std::string(req[http::field::content_type]), req.body()));
  return reply(req, store.remove(*type_index, ns, name));
}

}  // namespace kw::kube::fake
