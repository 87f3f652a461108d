// Record/replay of host-capability exchanges (`kwctl run --record-host-capabilities-interactions`
// / `--replay-host-capabilities-interactions`), in upstream's YAML session format:
//
//   - type: Exchange
//     request: |
//       !KubernetesGetResource
//       api_version: v1
//       …
//     response:
//       type: Success        # or: type: Error
//       payload: '…'         #     message: …
//
// Replay answers the recorded requests in order and fails when the policy asks for something
// else, comparing typed requests (not text), as upstream does.
#pragma once

#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "host/callback_handler.h"

namespace kw::host {

struct Exchange {
  std::string request;  // the request's YAML text
  bool success = true;
  std::string payload;  // the reply when success, else the error message
};

std::string sessionToYaml(const std::vector<Exchange>& exchanges);
Result<std::vector<Exchange>> sessionFromYaml(std::string_view text);
// Reads a session file; errors name the file.
Result<std::vector<Exchange>> readSession(const std::filesystem::path& path);
// Writes atomically: a temporary file beside `path`, then a rename.
Status writeSession(const std::filesystem::path& path, const std::vector<Exchange>& exchanges);

// Forwards to `inner` and records every exchange; save() (or the destructor, if save was never
// called) writes the session file.
class RecordingHandler : public CallbackHandler {
 public:
  RecordingHandler(std::shared_ptr<CallbackHandler> inner, std::filesystem::path destination);
  ~RecordingHandler() override;

  Result<std::string> handle(const CallbackRequest& request) override;
  bool mayBlock(const CallbackRequest& request) const override;

  Status save();
  std::vector<Exchange> exchanges() const;

 private:
  std::shared_ptr<CallbackHandler> inner_;
  std::filesystem::path destination_;
  mutable std::mutex mu_;
  std::vector<Exchange> exchanges_;
  bool saved_ = false;
};

// Answers from a recorded session.
class ReplayingHandler : public CallbackHandler {
 public:
  // Fails when a recorded request cannot be read back.
  static Result<std::shared_ptr<ReplayingHandler>> fromExchanges(std::vector<Exchange> exchanges);
  static Result<std::shared_ptr<ReplayingHandler>> fromFile(const std::filesystem::path& path);
  ~ReplayingHandler() override;

  Result<std::string> handle(const CallbackRequest& request) override;
  size_t remaining() const;

 private:
  struct Recorded {
    CallbackRequest request;
    Exchange exchange;
  };
  ReplayingHandler() = default;
  mutable std::mutex mu_;
  std::deque<Recorded> pending_;
};

}  // namespace kw::host
