// The policy-server binary under hostile load (issue #15), over real HTTP on loopback: a
// looping policy flooded with concurrent requests does not delay another policy, the loops
// are all answered within about one --policy-timeout (the queued ones without evaluation), a
// burst larger than the queue gets 503 at once and the server recovers, and the saturation
// gauges show it all.
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <vector>

#include "support/cluster_env.h"
#include "support/server_process.h"
#include "support/test_env.h"

namespace kw::test {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr char kTimeoutMessage[] =
    "internal server error: Guest call failure: guest code interrupted, execution deadline "
    "exceeded";
constexpr char kOverloaded[] = "policy-server is overloaded: ";

std::string podReview(const std::string& uid, bool privileged) {
  json container = {{"name", "c"}, {"image", "nginx"}};
  if (privileged) container["securityContext"] = {{"privileged", true}};
  json gvk = {{"group", ""}, {"version", "v1"}, {"kind", "Pod"}};
  json request = {{"uid", uid},
                  {"kind", gvk},
                  {"resource", {{"group", ""}, {"version", "v1"}, {"resource", "pods"}}},
                  {"requestKind", gvk},
                  {"name", "p"},
                  {"namespace", "d"},
                  {"operation", "CREATE"},
                  {"userInfo", {{"username", "alice"}}},
                  {"object",
                   {{"apiVersion", "v1"},
                    {"kind", "Pod"},
                    {"metadata", {{"name", "p"}, {"namespace", "d"}}},
                    {"spec", {{"containers", json::array({container})}}}}}};
  return json({{"apiVersion", "admission.k8s.io/v1"},
               {"kind", "AdmissionReview"},
               {"request", request}})
      .dump();
}

std::string policiesYml() {
  return "loop:\n  url: " + guestPath("endless_loop").string() +
         "\nprivileged:\n  url: " + guestPath("pod_privileged").string() + "\n";
}

// A policy-server with /metrics on its main port: the metrics port is held by a squatter (as
// upstream's collector sidecar would), so the server falls back to the main listener.
class OverloadE2E : public ::testing::Test {
 protected:
  void start(std::vector<std::string> args) {
    std::string taken = std::to_string(squatter_.local_endpoint().port());
    args.insert(args.end(), {"--enable-metrics", "--metrics-port", taken});
    server_ = std::make_unique<ServerProcess>(policiesYml(), args);
    ASSERT_TRUE(server_->waitReady()) << server_->log();
  }

  // The value of an unlabelled sample (or the first sample whose series starts with `series`),
  // NaN when absent.
  double metric(const std::string& series) const {
    std::istringstream in(server_->get("/metrics").body);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind(series, 0) == 0 && line.size() > series.size() &&
          (line[series.size()] == ' ' || line[series.size()] == '{' || series.back() == '}')) {
        return std::strtod(line.c_str() + line.rfind(' ') + 1, nullptr);
      }
    }
    return std::nan("");
  }

  // Sends `count` concurrent requests to `path` on threads; answers land in `answers`.
  void flood(const std::string& path, int count) {
    for (int i = 0; i < count; ++i) {
      clients_.emplace_back([this, path, i] {
        HttpResult r = server_->post(path, podReview("flood-" + std::to_string(i), false));
        std::lock_guard lock(mu_);
        answers_.push_back(std::move(r));
      });
    }
  }
  void joinFlood() {
    for (auto& t : clients_) t.join();
    clients_.clear();
  }
  void TearDown() override { joinFlood(); }

  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor squatter_{io_, {boost::asio::ip::address_v4::loopback(), 0}};
  std::unique_ptr<ServerProcess> server_;
  std::mutex mu_;
  std::vector<HttpResult> answers_;
  std::vector<std::thread> clients_;
};

TEST_F(OverloadE2E, LoopingPolicyUnderConcurrentRequestsDoesNotDelayAnotherPolicy) {
  // The attack: ten concurrent requests to a looping policy, two workers, 2 s timeout.
  // Before: a privileged pod waited 9.68 s. Bound stated here: 500 ms.
  start({"--workers", "2", "--policy-timeout", "2"});
  auto flood_start = Clock::now();
  flood("/validate/loop", 10);
  ASSERT_TRUE(waitFor(
      [&] {
        return metric("kubewarden_policy_server_busy_workers") == 1 &&
               metric("kubewarden_policy_server_queued_evaluations") == 9;
      },
      10s))
      << "one loop runs, nine wait for the loop policy's share of the workers\n"
      << server_->get("/metrics").body;

  auto sent = Clock::now();
  HttpResult r = server_->post("/validate/privileged", podReview("victim", true));
  auto took = Clock::now() - sent;
  json response = json::parse(r.body, nullptr, false);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(response["response"]["allowed"], false) << r.body;
  EXPECT_EQ(response["response"]["status"]["message"], "Privileged container is not allowed");
  EXPECT_LT(took, 500ms) << "the privileged request waited "
                         << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                         << " ms";
  EXPECT_EQ(server_->get("/readiness").status, 200);

  // Every loop is answered within about one timeout of its arrival (not 2, 4, ... 10 s): the
  // first one cut at its deadline, the queued ones answered when theirs passed.
  joinFlood();
  EXPECT_LT(Clock::now() - flood_start, 4s);
  ASSERT_EQ(answers_.size(), 10u);
  int cut = 0, expired = 0;
  for (const HttpResult& a : answers_) {
    json j = json::parse(a.body, nullptr, false);
    if (a.status == 200 && j["response"]["status"]["message"] == kTimeoutMessage) ++cut;
    if (a.status == 503 && j.value("message", "").starts_with(kOverloaded)) ++expired;
  }
  EXPECT_GE(cut, 1);
  EXPECT_EQ(cut + expired, 10) << "every loop request is either cut or expired";
  double counted = metric(
      "kubewarden_policy_server_rejected_requests_total{policy_name=\"loop\","
      "reason=\"deadline_exceeded_in_queue\"}");
  EXPECT_EQ(std::isnan(counted) ? 0 : counted, expired);
}

TEST_F(OverloadE2E, BurstLargerThanTheQueueIsRefusedAtOnceAndTheServerRecovers) {
  start({"--workers", "1", "--policy-timeout", "1", "--max-queued-evaluations", "4"});
  auto burst_start = Clock::now();
  flood("/validate/loop", 20);
  joinFlood();
  // Nothing hangs: one loop cut at 1 s, four queued ones expired at their deadline, the rest
  // refused at once.
  EXPECT_LT(Clock::now() - burst_start, 5s);
  ASSERT_EQ(answers_.size(), 20u);
  int full = 0, other = 0;
  for (const HttpResult& a : answers_) {
    json j = json::parse(a.body, nullptr, false);
    std::string message = j.is_object() ? j.value("message", "") : "";
    if (a.status == 503 && message == std::string(kOverloaded) +
                                          "the evaluation queue is full (4 requests waiting); "
                                          "the request was not evaluated") {
      ++full;
    } else if (a.status == 200 || a.status == 503) {
      ++other;
    }
  }
  EXPECT_GE(full, 14) << "20 requests, 1 worker, 4 queue slots";
  EXPECT_EQ(full + other, 20);
  EXPECT_EQ(metric("kubewarden_policy_server_rejected_requests_total{policy_name=\"loop\","
                   "reason=\"queue_full\"}"),
            full);

  // Recovered: the queue is empty again and requests are evaluated.
  EXPECT_EQ(metric("kubewarden_policy_server_queued_evaluations"), 0);
  HttpResult r = server_->post("/validate/privileged", podReview("after", true));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body, nullptr, false)["response"]["allowed"], false);
  EXPECT_EQ(metric("kubewarden_policy_server_max_queued_evaluations"), 4);
}

}  // namespace
}  // namespace kw::test
