// An in-memory ResourceReader for host tests: types and objects are set by the test, and every
// call is logged so tests can check what the dispatcher asked for.
#pragma once

#include <fmt/format.h>

#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "kube/resource_reader.h"

namespace kw::host::test {

class FakeReader : public kube::ResourceReader {
 public:
  void addType(const kube::ResourceKey& key, std::string plural, bool namespaced) {
    std::lock_guard lock(mu_);
    types_[key] = kube::ResourceType{key, std::move(plural), namespaced};
  }
  void put(const kube::ResourceKey& key, const std::string& ns, const std::string& name,
           std::string json) {
    std::lock_guard lock(mu_);
    objects_[key][{ns, name}] = std::move(json);
  }
  void erase(const kube::ResourceKey& key, const std::string& ns, const std::string& name) {
    std::lock_guard lock(mu_);
    objects_[key].erase({ns, name});
  }
  std::vector<std::string> calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }

  Result<std::string> listByNamespace(const kube::ResourceKey& key, std::string_view ns,
                                      const kube::Selectors& s) override {
    log(fmt::format("listByNamespace {}/{} ns={} labels={} fields={}", key.api_version, key.kind,
                    ns, s.label_selector, s.field_selector));
    return list(key, std::string(ns), true);
  }
  Result<std::string> listAll(const kube::ResourceKey& key, const kube::Selectors& s) override {
    log(fmt::format("listAll {}/{} labels={} fields={}", key.api_version, key.kind,
                    s.label_selector, s.field_selector));
    return list(key, "", false);
  }
  Result<std::string> get(const kube::ResourceKey& key, std::string_view name, std::string_view ns,
                          bool disable_cache) override {
    log(fmt::format("get {}/{} name={} ns={} disable_cache={}", key.api_version, key.kind, name, ns,
                    disable_cache));
    std::lock_guard lock(mu_);
    auto& objs = objects_[key];
    auto it = objs.find({std::string(ns), std::string(name)});
    if (it == objs.end()) {
      return makeError(fmt::format("Cannot find {}/{} named '{}' inside of namespace '{}'",
                                   key.api_version, key.kind, name, ns));
    }
    return it->second;
  }
  Result<kube::ResourceType> describe(const kube::ResourceKey& key) override {
    std::lock_guard lock(mu_);
    auto it = types_.find(key);
    if (it == types_.end()) {
      return makeError(fmt::format("unknown resource type {}/{}", key.api_version, key.kind));
    }
    return it->second;
  }
  Status forEach(const kube::ResourceKey& key, const Visitor& visit) override {
    std::lock_guard lock(mu_);
    for (const auto& [k, json] : objects_[key]) visit(k.first, k.second, json);
    return okStatus();
  }

 private:
  void log(std::string line) {
    std::lock_guard lock(mu_);
    calls_.push_back(std::move(line));
  }
  Result<std::string> list(const kube::ResourceKey& key, const std::string& ns, bool by_ns) {
    std::lock_guard lock(mu_);
    std::string items;
    for (const auto& [k, json] : objects_[key]) {
      if (by_ns && k.first != ns) continue;
      if (!items.empty()) items += ',';
      items += json;
    }
    return fmt::format(R"({{"apiVersion":"{}","kind":"{}List","metadata":{{}},"items":[{}]}})",
                       key.api_version, key.kind, items);
  }

  mutable std::mutex mu_;
  std::map<kube::ResourceKey, kube::ResourceType> types_;
  std::map<kube::ResourceKey, std::map<std::pair<std::string, std::string>, std::string>> objects_;
  std::vector<std::string> calls_;
};

}  // namespace kw::host::test
