// An informer: a kube::Reflector (list + watch into memory) plus change handlers, and typed
// reads of its store as JSON. Everything the controller reads comes from one of these, so a
// steady cluster costs only open watches.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <vector>

#include "kube/reflector.h"

namespace kw::controller {

class Informer {
 public:
  Informer(std::shared_ptr<kube::Client> client, kube::ResourceType type,
           kube::Reflector::Options options = {})
      : reflector_(std::make_unique<kube::Reflector>(std::move(client), std::move(type),
                                                     std::move(options))) {}

  // Before start(). `old`/`now` are the parsed objects (null JSON when absent).
  using Handler = std::function<void(const nlohmann::json& old, const nlohmann::json& now)>;
  void onChange(Handler handler);
  void start() { reflector_->start(); }
  void stop() { reflector_->stop(); }
  bool waitForSync(std::chrono::milliseconds timeout) { return reflector_->waitForSync(timeout); }
  bool synced() const { return reflector_->synced(); }

  std::optional<nlohmann::json> get(std::string_view ns, std::string_view name) const;
  // Objects whose labels hold `key`=`value` (any value when `value` is empty).
  std::vector<nlohmann::json> listByLabel(std::string_view key, std::string_view value) const;
  std::vector<nlohmann::json> list() const;
  const kube::ResourceType& type() const { return reflector_->type(); }
  kube::Reflector& reflector() { return *reflector_; }

 private:
  std::unique_ptr<kube::Reflector> reflector_;
  // Called in order, with one parse of the event's objects for all of them.
  std::shared_ptr<std::vector<Handler>> handlers_;
};

}  // namespace kw::controller
