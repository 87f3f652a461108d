// Work-queue keys of the controller: "<name>" for cluster-scoped objects, "<namespace>/<name>"
// otherwise (as client-go's MetaNamespaceKeyFunc spells them).
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace kw::controller {

std::string queueKey(std::string_view ns, std::string_view name);
// The inverse: {"", key} for a key without '/'.
std::pair<std::string, std::string> splitQueueKey(const std::string& key);

}  // namespace kw::controller
