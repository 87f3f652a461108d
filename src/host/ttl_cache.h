// A small thread-safe cache whose entries expire a fixed time after insertion, as upstream's
// `cached(time = …)` functions do. Callers store only successes. The clock is injectable so
// tests can move time forward.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace kw::host {

using Clock = std::function<std::chrono::steady_clock::time_point()>;

inline Clock steadyClock() {
  return [] { return std::chrono::steady_clock::now(); };
}

class TtlCache {
 public:
  TtlCache(std::chrono::steady_clock::duration ttl, Clock clock, size_t max_entries = 4096)
      : ttl_(ttl), clock_(std::move(clock)), max_entries_(max_entries) {}

  std::optional<std::string> get(const std::string& key) {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return std::nullopt;
    if (clock_() >= it->second.expires) {
      entries_.erase(it);
      return std::nullopt;
    }
    return it->second.value;
  }

  void put(const std::string& key, std::string value) {
    auto now = clock_();
    std::lock_guard lock(mu_);
    // Expired entries go first; a cache still full of live ones starts over rather than grow
    // without bound under a flood of distinct keys.
    if (entries_.size() >= max_entries_) {
      std::erase_if(entries_, [&](const auto& kv) { return now >= kv.second.expires; });
      if (entries_.size() >= max_entries_) entries_.clear();
    }
    entries_[key] = Entry{std::move(value), now + ttl_};
  }

  size_t size() const {
    std::lock_guard lock(mu_);
    return entries_.size();
  }

 private:
  struct Entry {
    std::string value;
    std::chrono::steady_clock::time_point expires;
  };
  const std::chrono::steady_clock::duration ttl_;
  const Clock clock_;
  const size_t max_entries_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> entries_;
};

}  // namespace kw::host
