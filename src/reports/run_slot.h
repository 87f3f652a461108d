// The scan run a store is writing for: one at a time, named by its uid. The stores that keep
// no run table (memory, Kubernetes) hold one of these under their own lock; the texts are the
// SQL store's too.
#pragma once

#include <string>

#include "common/result.h"

namespace kw::reports {

class RunSlot {
 public:
  Status begin(const std::string& run_uid) {
    if (run_uid.empty()) return makeError("a scan run needs a run uid");
    if (!uid_.empty()) return makeError("run " + uid_ + " is still in progress");
    uid_ = run_uid;
    return okStatus();
  }
  Status commit() {
    if (uid_.empty()) return makeError("commitRun without beginRun");
    uid_.clear();
    return okStatus();
  }
  void abort() { uid_.clear(); }
  // Empty between runs.
  const std::string& uid() const { return uid_; }

 private:
  std::string uid_;
};

}  // namespace kw::reports
