#include "controller/informer.h"

namespace kw::controller {

using json = nlohmann::json;

void Informer::onChange(Handler handler) {
  if (!handlers_) {
    handlers_ = std::make_shared<std::vector<Handler>>();
    reflector_->addListener([handlers = handlers_](const kube::ObjectKey&,
                                                   const kube::StoredObject* old,
                                                   const kube::StoredObject* now) {
      json o = old ? json::parse(*old->json, nullptr, false) : json();
      json n = now ? json::parse(*now->json, nullptr, false) : json();
      for (const Handler& handler : *handlers) handler(o, n);
    });
  }
  handlers_->push_back(std::move(handler));
}

std::optional<json> Informer::get(std::string_view ns, std::string_view name) const {
  std::shared_ptr<const std::string> text;
  reflector_->read([&](const kube::ObjectMap& objects, const std::string&) {
    auto it = objects.find(kube::ObjectKey{std::string(ns), std::string(name)});
    if (it != objects.end()) text = it->second.json;
  });
  if (!text) return std::nullopt;
  return json::parse(*text);  // parsed outside the lock: the text is immutable and shared
}

std::vector<json> Informer::listByLabel(std::string_view key, std::string_view value) const {
  std::vector<std::shared_ptr<const std::string>> texts;
  reflector_->read([&](const kube::ObjectMap& objects, const std::string&) {
    for (const auto& [k, stored] : objects)
      for (const auto& [lk, lv] : stored.labels)
        if (lk == key && (value.empty() || lv == value)) {
          texts.push_back(stored.json);
          break;
        }
  });
  std::vector<json> out;
  out.reserve(texts.size());
  for (const auto& t : texts) out.push_back(json::parse(*t));
  return out;
}

std::vector<json> Informer::list() const {
  std::vector<std::shared_ptr<const std::string>> texts;
  reflector_->read([&](const kube::ObjectMap& objects, const std::string&) {
    for (const auto& [k, stored] : objects) texts.push_back(stored.json);
  });
  std::vector<json> out;
  out.reserve(texts.size());
  for (const auto& t : texts) out.push_back(json::parse(*t));
  return out;
}

}  // namespace kw::controller
