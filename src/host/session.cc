#include "host/session.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "common/file_read.h"
#include "host/yaml_text.h"

namespace kw::host {

std::string sessionToYaml(const std::vector<Exchange>& exchanges) {
  if (exchanges.empty()) return "[]\n";
  std::string out;
  for (const auto& e : exchanges) {
    out += "- type: Exchange\n  request:";
    appendYamlString(out, e.request, 4);
    out += "  response:\n    type: ";
    out += e.success ? "Success\n    payload:" : "Error\n    message:";
    appendYamlString(out, e.payload, 6);
  }
  return out;
}

Result<std::vector<Exchange>> sessionFromYaml(std::string_view text) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return makeError(fmt::format("not valid YAML: {}", e.what()));
  }
  std::vector<Exchange> out;
  if (!root || root.IsNull()) return out;
  if (!root.IsSequence()) return makeError("expected a sequence of exchanges");
  size_t i = 0;
  for (const auto& item : root) {
    auto fail = [&](std::string_view why) {
      return makeError(fmt::format("exchange {}: {}", i, why));
    };
    if (!item.IsMap()) return fail("not a mapping");
    auto type = item["type"];
    if (type && (!type.IsScalar() || type.Scalar() != "Exchange")) {
      return fail("`type` must be Exchange");
    }
    auto request = item["request"];
    auto response = item["response"];
    if (!request || !request.IsScalar()) return fail("missing field `request`");
    if (!response || !response.IsMap()) return fail("missing field `response`");
    Exchange e;
    e.request = request.Scalar();
    auto rtype = response["type"];
    std::string kind = rtype && rtype.IsScalar() ? rtype.Scalar() : "";
    if (kind == "Success") {
      auto p = response["payload"];
      if (!p || !p.IsScalar()) return fail("missing field `payload`");
      e.payload = p.Scalar();
    } else if (kind == "Error") {
      auto m = response["message"];
      if (!m || !m.IsScalar()) return fail("missing field `message`");
      e.success = false;
      e.payload = m.Scalar();
    } else {
      return fail("response `type` must be Success or Error");
    }
    out.push_back(std::move(e));
    ++i;
  }
  return out;
}

Result<std::vector<Exchange>> readSession(const std::filesystem::path& path) {
  auto text = readFileBounded(path);
  if (!text) {
    return makeError(fmt::format("Cannot open host capabilities interactions file {}: {}",
                                 path.string(), text.error().message));
  }
  std::stringstream ss(*text);
  auto r = sessionFromYaml(ss.str());
  if (!r)
    return makeError(
        fmt::format("cannot deserialize contents of {}: {}", path.string(), r.error().message));
  return r;
}

Status writeSession(const std::filesystem::path& path, const std::vector<Exchange>& exchanges) {
  const std::string text = sessionToYaml(exchanges);
  std::filesystem::path tmp = path;
  tmp += fmt::format(".tmp-{}", ::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) {
      return makeError(
          fmt::format("Cannot save context aware session to file {}: cannot "
                      "create {}",
                      path.string(), tmp.string()));
    }
    out << text;
    out.flush();
    if (!out) {
      out.close();
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      return makeError(
          fmt::format("Cannot save context aware session to file {}: write failed", path.string()));
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return makeError(fmt::format("Cannot save context aware session to file {}: {}", path.string(),
                                 ec.message()));
  }
  return okStatus();
}

// ---- recording --------------------------------------------------------------------------

RecordingHandler::RecordingHandler(std::shared_ptr<CallbackHandler> inner,
                                   std::filesystem::path destination)
    : inner_(std::move(inner)), destination_(std::move(destination)) {}

RecordingHandler::~RecordingHandler() {
  if (saved_) return;
  if (auto st = save(); !st) spdlog::error("{}", st.error().message);
}

bool RecordingHandler::mayBlock(const CallbackRequest& request) const {
  return inner_->mayBlock(request);
}

Result<std::string> RecordingHandler::handle(const CallbackRequest& request) {
  auto reply = inner_->handle(request);
  Exchange e{requestToYaml(request), reply.ok(), reply ? *reply : reply.error().message};
  std::lock_guard lock(mu_);
  exchanges_.push_back(std::move(e));
  return reply;
}

Status RecordingHandler::save() {
  std::vector<Exchange> copy;
  {
    std::lock_guard lock(mu_);
    saved_ = true;
    copy = exchanges_;
  }
  auto st = writeSession(destination_, copy);
  if (st) spdlog::info("Context aware session saved to file {}", destination_.string());
  return st;
}

std::vector<Exchange> RecordingHandler::exchanges() const {
  std::lock_guard lock(mu_);
  return exchanges_;
}

// ---- replaying --------------------------------------------------------------------------

Result<std::shared_ptr<ReplayingHandler>> ReplayingHandler::fromExchanges(
    std::vector<Exchange> exchanges) {
  std::shared_ptr<ReplayingHandler> h(new ReplayingHandler());
  size_t i = 0;
  for (auto& e : exchanges) {
    auto request = requestFromYaml(e.request);
    if (!request) return makeError(fmt::format("exchange {}: {}", i, request.error().message));
    h->pending_.push_back(Recorded{std::move(*request), std::move(e)});
    ++i;
  }
  return h;
}

Result<std::shared_ptr<ReplayingHandler>> ReplayingHandler::fromFile(
    const std::filesystem::path& path) {
  auto exchanges = readSession(path);
  if (!exchanges) return exchanges.error();
  auto h = fromExchanges(std::move(*exchanges));
  if (!h)
    return makeError(
        fmt::format("cannot deserialize contents of {}: {}", path.string(), h.error().message));
  return h;
}

ReplayingHandler::~ReplayingHandler() {
  if (!pending_.empty()) {
    spdlog::warn("Some of the recorded exchanges have not been replayed: {} left", pending_.size());
  }
}

Result<std::string> ReplayingHandler::handle(const CallbackRequest& request) {
  std::lock_guard lock(mu_);
  if (pending_.empty()) return makeError("the list of recorded responses is empty");
  Recorded next = std::move(pending_.front());
  pending_.pop_front();
  if (!(next.request == request)) {
    return makeError(
        fmt::format("Replay error: unexpected request. Was expecting {}, got {} instead",
                    requestDebug(next.request), requestDebug(request)));
  }
  if (next.exchange.success) return std::move(next.exchange.payload);
  return makeError(next.exchange.payload);
}

size_t ReplayingHandler::remaining() const {
  std::lock_guard lock(mu_);
  return pending_.size();
}

}  // namespace kw::host
