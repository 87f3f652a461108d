// Watch support of the fake Kubernetes API server's store.
#include <fmt/format.h>

#include <algorithm>

#include "kube-fake/fake_store.h"

namespace kw::kube::fake {
namespace {

using json = nlohmann::json;

bool matches(const ListQuery& filter, const LabelSelector& labels, const FieldSelector& fields,
             const std::string& ns, const std::string& name, const Labels& object_labels) {
  if (!filter.ns.empty() && ns != filter.ns) return false;
  return fields.matches(ns, name) && labels.matches(object_labels);
}

void parseQuietly(const ListQuery& q, LabelSelector& labels, FieldSelector& fields) {
  // The server validated both selectors with a list-style check before watching.
  if (auto l = LabelSelector::parse(q.label_selector)) labels = std::move(*l);
  if (auto f = FieldSelector::parse(q.field_selector)) fields = std::move(*f);
}

}  // namespace

FakeStore::WatchCursor FakeStore::startWatch(size_t type, const std::string& rv,
                                             const ListQuery& filter,
                                             std::vector<std::string>& initial) {
  LabelSelector labels;
  FieldSelector fields;
  parseQuietly(filter, labels, fields);
  std::lock_guard lock(mu_);
  WatchCursor cursor;
  if (rv.empty() || rv == "0") {
    // "Start at most recent": synthetic ADDED events for the current state, then changes.
    const Objects& objs = types_.at(type);
    for (const auto& [key, obj] : objs.items) {
      Labels object_labels;
      if (auto it = obj["metadata"].find("labels"); it != obj["metadata"].end())
        for (auto& [k, v] : it->items()) object_labels.emplace_back(k, v.get<std::string>());
      if (matches(filter, labels, fields, key.first, key.second, object_labels))
        initial.push_back(fmt::format(R"({{"type":"ADDED","object":{}}})", fullText(objs, obj)));
    }
    cursor.from = rv_;
    return cursor;
  }
  try {
    cursor.from = std::stoull(rv);
  } catch (const std::exception&) {
    cursor.expired = true;
    return cursor;
  }
  cursor.expired = cursor.from < floor_;
  return cursor;
}

void FakeStore::eventsSinceLocked(size_t type, const ListQuery& filter, WatchCursor& cursor,
                                  std::vector<std::string>& lines) {
  if (cursor.from < floor_) {
    cursor.expired = true;
    return;
  }
  LabelSelector labels;
  FieldSelector fields;
  parseQuietly(filter, labels, fields);
  auto it = std::partition_point(history_.begin(), history_.end(),
                                 [&](const FakeEvent& e) { return e.rv <= cursor.from; });
  for (; it != history_.end(); ++it)
    if (it->type == type && matches(filter, labels, fields, it->ns, it->name, it->labels))
      lines.push_back(it->line);
  cursor.from = rv_;
}

std::string FakeStore::expiredLine(uint64_t from) const {
  std::lock_guard lock(mu_);
  json status = {{"kind", "Status"},
                 {"apiVersion", "v1"},
                 {"metadata", json::object()},
                 {"status", "Failure"},
                 {"message", fmt::format("too old resource version: {} ({})", from, floor_)},
                 {"reason", "Expired"},
                 {"code", 410}};
  return json{{"type", "ERROR"}, {"object", status}}.dump();
}

std::string FakeStore::bookmarkLine(size_t type, uint64_t rv) const {
  std::lock_guard lock(mu_);
  const FakeType& t = types_.at(type).type;
  return fmt::format(
      R"({{"type":"BOOKMARK","object":{{"kind":"{}","apiVersion":"{}","metadata":{{"resourceVersion":"{}"}}}}}})",
      t.kind, t.apiVersion(), rv);
}

uint64_t FakeStore::resourceVersion() const {
  std::lock_guard lock(mu_);
  return rv_;
}

void FakeStore::compactHistory() {
  std::lock_guard lock(mu_);
  history_.clear();
  floor_ = rv_;
  changed_.notify_all();
}

}  // namespace kw::kube::fake
