#include "host/default_dispatcher.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

namespace kw::host {
namespace {

std::optional<spdlog::level::level_enum> levelFrom(std::string level) {
  for (auto& ch : level) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  if (level == "trace") return spdlog::level::trace;
  if (level == "debug") return spdlog::level::debug;
  if (level == "info") return spdlog::level::info;
  if (level == "warning" || level == "warn") return spdlog::level::warn;
  if (level == "error") return spdlog::level::err;
  return std::nullopt;
}

}  // namespace

Status emitPolicyLog(std::string_view policy_id, std::string_view payload) {
  auto j = nlohmann::json::parse(payload, nullptr, false);
  if (!j.is_object()) return makeError("tracing/log payload is not a JSON object");
  auto lvl = j.find("level");
  auto level =
      lvl != j.end() && lvl->is_string() ? levelFrom(lvl->get<std::string>()) : std::nullopt;
  if (!level) return makeError("tracing/log payload has no valid `level`");
  std::string message;
  if (auto m = j.find("message"); m != j.end() && m->is_string()) message = m->get<std::string>();
  j.erase("level");
  j.erase("message");
  // Extra fields travel along, as upstream's structured event does.
  spdlog::log(*level, "policy_log [{}] {}{}{}", policy_id, message, j.empty() ? "" : " ",
              j.empty() ? "" : j.dump());
  return okStatus();
}

Result<std::string> DefaultDispatcher::dispatch(const HostCall& call) {
  if (call.binding == "kubewarden" && call.ns == "tracing" && call.operation == "log") {
    auto st = emitPolicyLog(call.policy_id, call.payload);
    if (!st) return st.error();
    return std::string();
  }
  return makeError(fmt::format("host capability {}/{}/{} is not available in this build",
                               call.binding, call.ns, call.operation));
}

}  // namespace kw::host
