// The admission API driven in-process through Handler::handle (spec §1.7, §1.10): every
// endpoint, protect vs monitor, mutation allowed or refused, the always-accept namespace,
// upstream's HTTP error shapes, timeouts that leave other requests unaffected, and metrics.
#include "server/api.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <future>
#include <memory>
#include <sstream>

#include "support/cluster_env.h"
#include "support/test_env.h"

namespace kw::server {
namespace {

using admission::Json;
using Clock = std::chrono::steady_clock;

constexpr char kPrivilegedMessage[] = "Privileged container is not allowed";
constexpr char kTimeoutMessage[] =
    "internal server error: Guest call failure: guest code interrupted, execution deadline "
    "exceeded";
constexpr char kMutatedLabel[] = "kubewarden.io/mutated";
constexpr char kAlwaysAccept[] = "kube-system";

using kw::test::base64Decode;

// A CREATE Pod AdmissionReview with one container.
Json podReview(const std::string& uid, bool privileged, const std::string& ns = "default",
               Json labels = Json::object()) {
  Json container = {{"name", "c"}, {"image", "nginx"}};
  if (privileged) container["securityContext"] = {{"privileged", true}};
  Json gvk = {{"group", ""}, {"version", "v1"}, {"kind", "Pod"}};
  Json gvr = {{"group", ""}, {"version", "v1"}, {"resource", "pods"}};
  Json request = {
      {"uid", uid},
      {"kind", gvk},
      {"resource", gvr},
      {"requestKind", gvk},
      {"requestResource", gvr},
      {"operation", "CREATE"},
      {"namespace", ns},
      {"name", "web"},
      {"userInfo", {{"username", "alice"}, {"groups", {"system:authenticated"}}}},
      {"dryRun", false},
      {"object",
       {{"apiVersion", "v1"},
        {"kind", "Pod"},
        {"metadata", {{"name", "web"}, {"namespace", ns}, {"labels", labels}}},
        {"spec", {{"containers", Json::array({container})}}}}},
  };
  return {{"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}, {"request", request}};
}

http::HttpRequest post(const std::string& target, const std::string& body,
                       const std::string& content_type = "application/json") {
  return http::HttpRequest{"POST", target, content_type, body};
}

struct Answer {
  http::HttpResponse response;
  bool on_worker = false;  // `done` ran on a pool thread
  Json json() const { return Json::parse(response.body, nullptr, false); }
};

class ApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    for (const char* g : {"pod_privileged", "add_label", "settings_check", "endless_loop"}) {
      if (!std::filesystem::exists(test::guestPath(g))) {
        setup_error_ = "missing " + test::guestPath(g).string();
        return;
      }
    }
    pool_ = new WorkerPool(4);
    ServerConfig config;
    config.policy_timeout_seconds = 1;
    auto policy = [](const char* guest, PolicyMode mode, bool mutate, Json settings = {}) {
      PolicyEntry e;
      e.url = test::guestPath(guest).string();
      e.mode = mode;
      e.allowed_to_mutate = mutate;
      e.settings = settings.is_null() ? Json::object() : settings;
      return e;
    };
    PolicyMap policies{
        {"privileged", policy("pod_privileged", PolicyMode::Protect, false)},
        {"privileged-monitor", policy("pod_privileged", PolicyMode::Monitor, false)},
        {"mutate-refused", policy("add_label", PolicyMode::Protect, false)},
        {"mutate-allowed", policy("add_label", PolicyMode::Protect, true)},
        {"mutate-monitor", policy("add_label", PolicyMode::Monitor, true)},
        {"loop", policy("endless_loop", PolicyMode::Protect, false)},
        {"annotation",
         policy("settings_check", PolicyMode::Protect, false, {{"required_annotation", "owner"}})},
    };
    auto env = EvaluationEnvironment::create(config, policies, *pool_);
    if (!env) {
      setup_error_ = env.error().message;
      return;
    }
    env_ = env->release();
  }

  static void TearDownTestSuite() {
    if (pool_) pool_->shutdown();
    delete env_;
    delete pool_;
    env_ = nullptr;
    pool_ = nullptr;
  }

  void SetUp() override {
    if (!env_) GTEST_FAIL() << "environment not built: " << setup_error_;
    ApiOptions options;
    options.always_accept_namespace = kAlwaysAccept;
    options.host = "test-host";
    api_ = std::make_unique<Api>(*env_, *pool_, &metrics_, options);
  }

  // Sends a request and returns a future of the answer.
  std::future<Answer> send(http::HttpRequest request) {
    auto promise = std::make_shared<std::promise<Answer>>();
    auto future = promise->get_future();
    WorkerPool* pool = pool_;
    api_->handle(std::move(request), [promise, pool](http::HttpResponse r) {
      promise->set_value(Answer{std::move(r), pool->onWorkerThread()});
    });
    return future;
  }

  Answer call(http::HttpRequest request) {
    auto future = send(std::move(request));
    if (future.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
      ADD_FAILURE() << "no answer within 30 s";
      return {};
    }
    return future.get();
  }

  // POSTs an AdmissionReview and returns the 200 answer's `response`.
  Json review(const std::string& target, const Json& body) {
    Answer a = call(post(target, body.dump()));
    EXPECT_EQ(a.response.status, 200) << a.response.body;
    EXPECT_EQ(a.response.content_type, "application/json");
    Json j = a.json();
    EXPECT_TRUE(j.is_object()) << a.response.body;
    if (target.starts_with("/validate_raw/")) {
      EXPECT_EQ(j.size(), 1u) << a.response.body;  // {"response": ...} only
    } else {
      EXPECT_EQ(j.value("apiVersion", ""), "admission.k8s.io/v1") << a.response.body;
      EXPECT_EQ(j.value("kind", ""), "AdmissionReview") << a.response.body;
    }
    return j.is_object() ? j.value("response", Json()) : Json();
  }

  static std::string statusMessage(const Json& r) {
    if (!r.contains("status") || !r["status"].contains("message")) return "";
    return r["status"]["message"];
  }

  inline static WorkerPool* pool_ = nullptr;
  inline static EvaluationEnvironment* env_ = nullptr;
  inline static std::string setup_error_;
  http::Metrics metrics_;
  std::unique_ptr<Api> api_;
};

// ---- routing --------------------------------------------------------------------------------

TEST_F(ApiTest, Readiness) {
  Answer a = call(http::HttpRequest{"GET", "/readiness", "", ""});
  EXPECT_EQ(a.response.status, 200);
  EXPECT_EQ(a.response.body, "");
  EXPECT_EQ(call(http::HttpRequest{"POST", "/readiness", "", ""}).response.status, 405);
}

TEST_F(ApiTest, UnknownRoutesAndMethods) {
  EXPECT_EQ(call(http::HttpRequest{"GET", "/nope", "", ""}).response.status, 404);
  EXPECT_EQ(call(post("/validate/", "{}")).response.status, 404);
  EXPECT_EQ(call(post("/validate/a/b", "{}")).response.status, 404);
  EXPECT_EQ(call(http::HttpRequest{"GET", "/validate/privileged", "", ""}).response.status, 405);
}

TEST_F(ApiTest, UnknownPolicyIs404OnEveryEndpoint) {
  std::string body = podReview("u-404", false).dump();
  for (const char* endpoint : {"/validate/", "/audit/", "/validate_raw/"}) {
    Answer a = call(post(std::string(endpoint) + "nope", body));
    EXPECT_EQ(a.response.status, 404) << endpoint;
    EXPECT_EQ(a.response.content_type, "application/json");
    EXPECT_EQ(a.response.body, R"({"message":"unknown policy: nope","status":404})");
  }
}

// ---- verdicts -------------------------------------------------------------------------------

TEST_F(ApiTest, ValidateRejectsAndAcceptsOnWorkerThreads) {
  Answer a = call(post("/validate/privileged", podReview("u-priv", true).dump()));
  EXPECT_TRUE(a.on_worker) << "evaluation must run on the worker pool";
  Json r = a.json()["response"];
  EXPECT_EQ(r["uid"], "u-priv");
  EXPECT_EQ(r["allowed"], false);
  EXPECT_EQ(statusMessage(r), kPrivilegedMessage);
  EXPECT_TRUE(r.contains("auditAnnotations") && r["auditAnnotations"].is_null()) << r.dump();
  EXPECT_TRUE(r.contains("warnings") && r["warnings"].is_null()) << r.dump();

  Json ok = review("/validate/privileged", podReview("u-ok", false));
  EXPECT_EQ(ok["uid"], "u-ok");
  EXPECT_EQ(ok["allowed"], true);
  EXPECT_FALSE(ok.contains("status")) << ok.dump();
}

TEST_F(ApiTest, PolicySettingsReachTheGuest) {
  Json r = review("/validate/annotation", podReview("u-ann", false));
  EXPECT_EQ(r["allowed"], false);
  EXPECT_EQ(statusMessage(r), "missing required annotation: owner");
}

TEST_F(ApiTest, MonitorModeAllowsOnValidateButAuditReportsTheVerdict) {
  Json validate = review("/validate/privileged-monitor", podReview("u-mon", true));
  EXPECT_EQ(validate["allowed"], true);
  EXPECT_FALSE(validate.contains("status")) << validate.dump();
  EXPECT_EQ(validate["uid"], "u-mon");
  EXPECT_TRUE(validate.contains("warnings"));

  Json audit = review("/audit/privileged-monitor", podReview("u-mon-audit", true));
  EXPECT_EQ(audit["allowed"], false);
  EXPECT_EQ(statusMessage(audit), kPrivilegedMessage);
}

TEST_F(ApiTest, MutationRefusedWhenNotAllowedToMutate) {
  Json r = review("/validate/mutate-refused", podReview("u-mut", false));
  EXPECT_EQ(r["uid"], "u-mut");
  EXPECT_EQ(r["allowed"], false);
  EXPECT_EQ(statusMessage(r),
            "Request rejected by policy mutate-refused. The policy attempted to mutate the "
            "request, but it is currently configured to not allow mutations.");
  EXPECT_FALSE(r["status"].contains("code")) << r.dump();
  EXPECT_FALSE(r.contains("patch")) << r.dump();
  EXPECT_FALSE(r.contains("patchType")) << r.dump();

  // /audit is never post-processed: the patch is reported.
  Json audit = review("/audit/mutate-refused", podReview("u-mut-audit", false));
  EXPECT_EQ(audit["allowed"], true);
  EXPECT_TRUE(audit.contains("patch")) << audit.dump();
}

TEST_F(ApiTest, MutationAllowed) {
  Json review_json = podReview("u-mut-ok", false, "default", {{"app", "web"}});
  Json r = review("/validate/mutate-allowed", review_json);
  EXPECT_EQ(r["allowed"], true);
  ASSERT_EQ(r.value("patchType", ""), "JSONPatch") << r.dump();
  Json patch = Json::parse(base64Decode(r["patch"]), nullptr, false);
  ASSERT_TRUE(patch.is_array()) << r.dump();
  Json patched = review_json["request"]["object"].patch(patch);
  EXPECT_EQ(patched["metadata"]["labels"], Json({{"app", "web"}, {kMutatedLabel, "true"}}));
}

TEST_F(ApiTest, MonitorModeStripsThePatch) {
  Json r = review("/validate/mutate-monitor", podReview("u-mut-mon", false));
  EXPECT_EQ(r["allowed"], true);
  EXPECT_FALSE(r.contains("patch")) << r.dump();
  EXPECT_FALSE(r.contains("patchType")) << r.dump();
}

TEST_F(ApiTest, AlwaysAcceptNamespace) {
  Json validate = review("/validate/privileged", podReview("u-ns", true, kAlwaysAccept));
  EXPECT_EQ(validate["allowed"], true);
  EXPECT_FALSE(validate.contains("status")) << validate.dump();
  Json audit = review("/audit/privileged", podReview("u-ns-audit", true, kAlwaysAccept));
  EXPECT_EQ(audit["allowed"], true);
  EXPECT_FALSE(audit.contains("status")) << audit.dump();
  // A patch is kept.
  Json mutated = review("/validate/mutate-allowed", podReview("u-ns-mut", false, kAlwaysAccept));
  EXPECT_EQ(mutated["allowed"], true);
  EXPECT_TRUE(mutated.contains("patch")) << mutated.dump();
  // Only that namespace.
  EXPECT_EQ(review("/validate/privileged", podReview("u-ns-other", true, "other"))["allowed"],
            false);
}

TEST_F(ApiTest, ValidateRaw) {
  Json request = podReview("u-raw", true)["request"];
  Json r = review("/validate_raw/privileged", Json{{"request", request}});
  EXPECT_EQ(r["uid"], "u-raw");
  EXPECT_EQ(r["allowed"], false);
  EXPECT_EQ(statusMessage(r), kPrivilegedMessage);

  // Raw requests are not AdmissionRequests: the always-accept namespace does not apply.
  Json in_ns = podReview("u-raw-ns", true, kAlwaysAccept)["request"];
  EXPECT_EQ(review("/validate_raw/privileged", Json{{"request", in_ns}})["allowed"], false);

  // Mutation refusal applies to /validate_raw too.
  Json refused = review("/validate_raw/mutate-refused", Json{{"request", request}});
  EXPECT_EQ(refused["allowed"], false);
  EXPECT_FALSE(refused.contains("patch"));
}

TEST_F(ApiTest, ValidateRawDiffsAgainstTheWholeRequest) {
  Json request = podReview("u-raw-mut", false)["request"];
  Json r = review("/validate_raw/mutate-allowed", Json{{"request", request}});
  ASSERT_TRUE(r.contains("patch")) << r.dump();
  Json patch = Json::parse(base64Decode(r["patch"]), nullptr, false);
  ASSERT_TRUE(patch.is_array());
  // The guest's mutated object (the Pod) replaces the raw request, so the patch is against it.
  Json patched = request.patch(patch);
  EXPECT_EQ(patched["metadata"]["labels"][kMutatedLabel], "true") << patched.dump();
}

// ---- HTTP errors ----------------------------------------------------------------------------

TEST_F(ApiTest, MalformedJsonIs400) {
  Answer a = call(post("/validate/privileged", "{not json"));
  EXPECT_EQ(a.response.status, 400);
  Json j = a.json();
  EXPECT_EQ(j["status"], 400);
  EXPECT_TRUE(j.value("message", "").starts_with("Failed to parse the request body as JSON: "))
      << a.response.body;
  // Body errors come before the policy lookup, as upstream's extractor runs first.
  EXPECT_EQ(call(post("/validate/nope", "")).response.status, 400);
  // /audit and /validate_raw answer in plain text (upstream's bare Json extractor).
  Answer audit = call(post("/audit/privileged", "{not json"));
  EXPECT_EQ(audit.response.status, 400);
  EXPECT_TRUE(audit.response.content_type.starts_with("text/plain"));
  EXPECT_TRUE(audit.response.body.starts_with("Failed to parse the request body as JSON: "));
}

// Issue 16's probe: a number out of range answered 500 (and logged an error) instead of 400,
// and a repeated `request` member was accepted, the last one winning.
TEST_F(ApiTest, OutOfRangeNumbersAre400AndRepeatedFieldsAre422) {
  // Any client can send these: they are logged as refusals, never at error level.
  std::ostringstream log;
  auto previous = spdlog::default_logger();
  auto capture = std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(log));
  capture->set_level(spdlog::level::trace);
  spdlog::set_default_logger(capture);
  Answer big = call(post("/validate/privileged", R"({"x": 1e999, "request": {}})"));
  spdlog::set_default_logger(previous);
  EXPECT_EQ(log.str().find("[error]"), std::string::npos) << log.str();
  EXPECT_NE(log.str().find("http_status=400"), std::string::npos) << log.str();
  EXPECT_EQ(big.response.status, 400) << big.response.body;
  EXPECT_TRUE(
      big.json()
          .value("message", "")
          .starts_with("Failed to parse the request body as JSON: number overflow parsing '1e999'"))
      << big.response.body;

  const std::string prefix = "Failed to deserialize the JSON body into the target type: ";
  std::string review = podReview("u-dup", true).dump();
  std::string twice = R"({"request": {"uid": "decoy"}, )" + review.substr(1);
  Answer dup = call(post("/validate/privileged", twice));
  EXPECT_EQ(dup.response.status, 422) << dup.response.body;
  EXPECT_EQ(dup.json().value("message", ""), prefix + "duplicate field `request`");
  std::string nested = review;
  nested.replace(nested.find(R"("uid":)"), 6, R"("uid":"decoy","uid":)");
  Answer inner = call(post("/validate/privileged", nested));
  EXPECT_EQ(inner.response.status, 422) << inner.response.body;
  EXPECT_EQ(inner.json().value("message", ""), prefix + "duplicate field `uid`");
  // The same review without the repeat is evaluated as usual.
  EXPECT_EQ(call(post("/validate/privileged", review)).response.status, 200);
}

TEST_F(ApiTest, WrongContentTypeIs415) {
  std::string body = podReview("u-ct", false).dump();
  for (const char* ct : {"text/plain", "", "application/xml", "json"}) {
    Answer a = call(post("/validate/privileged", body, ct));
    EXPECT_EQ(a.response.status, 415) << ct;
    EXPECT_EQ(
        a.response.body,
        R"({"message":"Expected request with `Content-Type: application/json`","status":415})")
        << ct;
  }
  Answer raw = call(post("/validate_raw/privileged", body, "text/plain"));
  EXPECT_EQ(raw.response.status, 415);
  EXPECT_EQ(raw.response.body, "Expected request with `Content-Type: application/json`");
  for (const char* ct :
       {"application/json; charset=utf-8", "Application/JSON", "application/vnd.kubernetes+json"}) {
    EXPECT_EQ(call(post("/validate/privileged", body, ct)).response.status, 200) << ct;
  }
}

TEST_F(ApiTest, NotAnAdmissionReviewIs422) {
  const std::string prefix = "Failed to deserialize the JSON body into the target type: ";
  Json bad_group = podReview("u-422", false);
  bad_group["request"]["kind"]["group"] = 5;
  Json no_user = podReview("u-422", false);
  no_user["request"].erase("userInfo");
  Json bad_ns = podReview("u-422", false);
  bad_ns["request"]["namespace"] = Json::array();
  struct Case {
    std::string body;
    std::string message;
  };
  const Case cases[] = {
      {R"({"request": {"uid": "x"}})", "request: missing field `kind`"},
      {"{}", "missing field `request`"},
      {"[]", "invalid type: sequence, expected struct AdmissionReview"},
      {R"({"request": 5})", "request: invalid type: integer `5`, expected struct AdmissionRequest"},
      {bad_group.dump(), "request.kind.group: invalid type: integer `5`, expected a string"},
      {no_user.dump(), "request: missing field `userInfo`"},
      {bad_ns.dump(), "request.namespace: invalid type: sequence, expected a string"},
  };
  for (const auto& c : cases) {
    Answer a = call(post("/validate/privileged", c.body));
    EXPECT_EQ(a.response.status, 422) << c.body;
    Json j = a.json();
    EXPECT_EQ(j.value("message", ""), prefix + c.message) << c.body;
    EXPECT_EQ(j["status"], 422);
  }
  Answer raw = call(post("/validate_raw/privileged", R"({"other": 1})"));
  EXPECT_EQ(raw.response.status, 422);
  EXPECT_EQ(raw.response.body, prefix + "missing field `request`");
}

// ---- timeouts -------------------------------------------------------------------------------

TEST_F(ApiTest, LoopingPolicyTimesOutWhileOthersKeepAnswering) {
  auto start = Clock::now();
  auto looping = send(post("/validate/loop", podReview("u-loop", false).dump()));
  for (int i = 0; i < 5; ++i) {
    Json r = review("/validate/privileged", podReview("u-during-" + std::to_string(i), true));
    EXPECT_EQ(r["allowed"], false);
    EXPECT_EQ(statusMessage(r), kPrivilegedMessage);
  }
  EXPECT_NE(looping.wait_for(std::chrono::seconds(0)), std::future_status::ready)
      << "other requests must not wait for the looping one";

  ASSERT_EQ(looping.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  auto elapsed = Clock::now() - start;
  Answer a = looping.get();
  EXPECT_EQ(a.response.status, 200);  // guest failures are verdicts, not HTTP errors
  Json r = a.json()["response"];
  EXPECT_EQ(r["uid"], "u-loop");
  EXPECT_EQ(r["allowed"], false);
  EXPECT_EQ(r["status"]["code"], 500) << r.dump();
  EXPECT_EQ(statusMessage(r), kTimeoutMessage);
  EXPECT_GE(elapsed, std::chrono::milliseconds(900));
  EXPECT_LT(elapsed, std::chrono::seconds(10));

  // The worker that ran it is fit for the next request.
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(review("/validate/privileged", podReview("u-after", false))["allowed"], true);
  }
}

// ---- metrics --------------------------------------------------------------------------------

TEST_F(ApiTest, MetricsRecordTheVanillaVerdict) {
  review("/validate/privileged-monitor", podReview("u-m1", true));
  review("/audit/privileged", podReview("u-m2", false, "team-a"));
  review("/validate_raw/privileged", Json{{"request", podReview("u-m3", true)["request"]}});
  review("/validate/loop", podReview("u-m4", false));
  std::string text = metrics_.render();
  ASSERT_FALSE(text.empty());
  // Monitor mode answered allowed:true, but the policy rejected: accepted="false".
  for (const char* labels :
       {R"({policy_name="privileged-monitor",policy_mode="monitor",resource_kind="Pod",)"
        R"(resource_request_operation="CREATE",accepted="false",mutated="false",)"
        R"(request_origin="validate",resource_namespace="default"})",
        R"({policy_name="privileged",policy_mode="protect",resource_kind="Pod",)"
        R"(resource_request_operation="CREATE",accepted="true",mutated="false",)"
        R"(request_origin="audit",resource_namespace="team-a"})",
        R"({policy_name="privileged",policy_mode="protect",accepted="false",mutated="false"})",
        R"({policy_name="loop",policy_mode="protect",resource_kind="Pod",)"
        R"(resource_request_operation="CREATE",accepted="false",mutated="false",)"
        R"(request_origin="validate",resource_namespace="default",error_code="500"})"}) {
    EXPECT_NE(text.find(std::string("kubewarden_policy_evaluations_total") + labels),
              std::string::npos)
        << labels << "\n"
        << text;
  }
}

// ---- overload (issue #15) ------------------------------------------------------------------

// An Api over its own small pool, whose only worker the test can hold with a job of its own.
class OverloadTest : public ApiTest {
 protected:
  void useOwnPool(PoolOptions pool_options, std::optional<std::chrono::nanoseconds> timeout) {
    own_pool_ = std::make_unique<WorkerPool>(pool_options);
    ApiOptions options;
    options.host = "test-host";
    options.policy_timeout = timeout;
    own_api_ = std::make_unique<Api>(*env_, *own_pool_, &metrics_, options);
  }

  // Occupies one worker of the own pool until release().
  void holdAWorker() {
    auto started = std::make_shared<std::promise<void>>();
    auto future = started->get_future();
    ASSERT_TRUE(own_pool_->submit([started, gate = gate_] {
      started->set_value();
      gate.wait();
    }));
    ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  }
  void release() {
    if (!released_) gate_promise_.set_value();
    released_ = true;
  }

  std::future<Answer> sendOwn(http::HttpRequest request) {
    auto promise = std::make_shared<std::promise<Answer>>();
    auto future = promise->get_future();
    own_api_->handle(std::move(request),
                     [promise](http::HttpResponse r) { promise->set_value(Answer{std::move(r)}); });
    return future;
  }

  static Answer get(std::future<Answer>& f) {
    if (f.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
      ADD_FAILURE() << "no answer within 30 s";
      return {};
    }
    return f.get();
  }

  void TearDown() override {
    release();
    if (own_pool_) own_pool_->shutdown();
  }

  std::promise<void> gate_promise_;
  std::shared_future<void> gate_ = gate_promise_.get_future().share();
  bool released_ = false;
  std::unique_ptr<WorkerPool> own_pool_;
  std::unique_ptr<Api> own_api_;
};

constexpr char kOverloaded[] = "policy-server is overloaded: ";

TEST_F(OverloadTest, FullQueueAnswers503AtOnceAndCountsIt) {
  useOwnPool(PoolOptions{1, 1, 0}, std::chrono::seconds(30));
  holdAWorker();
  auto queued = sendOwn(post("/validate/privileged", podReview("u-q1", true).dump()));
  auto refused = sendOwn(post("/validate/privileged", podReview("u-q2", true).dump()));
  ASSERT_EQ(refused.wait_for(std::chrono::seconds(0)), std::future_status::ready)
      << "a full queue is answered at once, not when a worker frees up";
  Answer r = refused.get();
  EXPECT_EQ(r.response.status, 503);
  EXPECT_EQ(r.json()["message"],
            std::string(kOverloaded) +
                "the evaluation queue is full (1 requests waiting); the request was not evaluated");
  EXPECT_EQ(r.json()["status"], 503);
  EXPECT_NE(queued.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  EXPECT_NE(metrics_.render().find(
                R"(kubewarden_policy_server_rejected_requests_total{policy_name="privileged",)"
                R"(reason="queue_full"} 1)"),
            std::string::npos)
      << metrics_.render();

  release();
  Answer q = get(queued);
  EXPECT_EQ(q.response.status, 200) << q.response.body;
  EXPECT_EQ(q.json()["response"]["allowed"], false);
  // Recovered: the next request is evaluated.
  auto after = sendOwn(post("/validate/privileged", podReview("u-q3", false).dump()));
  Answer a = get(after);
  EXPECT_EQ(a.response.status, 200);
  EXPECT_EQ(a.json()["response"]["allowed"], true);
}

TEST_F(OverloadTest, DeadlinePassedInTheQueueIsAnsweredWithoutEvaluation) {
  useOwnPool(PoolOptions{1, 8, 0}, std::chrono::milliseconds(200));
  holdAWorker();
  auto start = Clock::now();
  auto late = sendOwn(post("/validate/privileged", podReview("u-late", true).dump()));
  // The worker is still held, so this answer cannot come from an evaluation.
  Answer r = get(late);
  auto waited = Clock::now() - start;
  EXPECT_EQ(r.response.status, 503);
  std::string message = r.json().value("message", "");
  EXPECT_TRUE(message.starts_with(std::string(kOverloaded) + "the request waited ")) << message;
  EXPECT_TRUE(message.ends_with(
      " ms for an evaluation worker, past its 200 ms deadline (--policy-timeout); it was not "
      "evaluated"))
      << message;
  EXPECT_GE(waited, std::chrono::milliseconds(200));
  EXPECT_LT(waited, std::chrono::seconds(5));
  EXPECT_NE(metrics_.render().find(
                R"(kubewarden_policy_server_rejected_requests_total{policy_name="privileged",)"
                R"(reason="deadline_exceeded_in_queue"} 1)"),
            std::string::npos);
  EXPECT_EQ(metrics_.render().find("kubewarden_policy_evaluations_total{"), std::string::npos)
      << "nothing was evaluated";
}

TEST_F(OverloadTest, EvaluationDeadlineCountsTheTimeSpentQueued) {
  // One worker: the second looping request waits for the first, then has only what is left of
  // its 1 s (the fixture's timeout) instead of a fresh second: both are answered after ~1 s,
  // not 1 s and 2 s.
  useOwnPool(PoolOptions{1, 8, 0}, std::chrono::seconds(1));
  auto start = Clock::now();
  auto first = sendOwn(post("/validate/loop", podReview("u-l1", false).dump()));
  auto second = sendOwn(post("/validate/loop", podReview("u-l2", false).dump()));
  Answer a = get(first), b = get(second);
  auto elapsed = Clock::now() - start;
  EXPECT_EQ(a.json()["response"]["status"]["message"], kTimeoutMessage);
  // Either the worker picked it up with a sliver of time left (and the guest was cut at the
  // deadline), or it had already expired in the queue.
  if (b.response.status == 200) {
    EXPECT_EQ(b.json()["response"]["status"]["message"], kTimeoutMessage) << b.response.body;
  } else {
    EXPECT_EQ(b.response.status, 503) << b.response.body;
  }
  EXPECT_LT(elapsed, std::chrono::milliseconds(1700));
}

TEST_F(OverloadTest, LatencyMetricIncludesTheQueueWait) {
  // The looping request holds the only worker for ~1 s (the evaluator's timeout); the
  // privileged one, queued behind it with a 10 s deadline, reports the wait in its latency.
  useOwnPool(PoolOptions{1, 8, 0}, std::chrono::seconds(10));
  auto start = Clock::now();
  auto loop = sendOwn(post("/validate/loop", podReview("u-hold", false).dump()));
  ASSERT_TRUE(
      test::waitFor([&] { return own_pool_->stats().busy == 1; }, std::chrono::seconds(10)));
  auto quick = sendOwn(post("/validate/privileged", podReview("u-wait", true).dump()));
  auto gap = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  get(loop);
  Answer q = get(quick);
  EXPECT_EQ(q.json()["response"]["allowed"], false);
  // The loop ran until its arrival + 1 s; the privileged request arrived at most `gap` later.
  std::string text = metrics_.renderEvaluations();
  const std::string sum =
      "kubewarden_policy_evaluation_latency_milliseconds_sum{policy_name="
      "\"privileged\"";
  auto at = text.find(sum);
  ASSERT_NE(at, std::string::npos) << text;
  auto line_end = text.find('\n', at);
  double latency = std::stod(text.substr(text.rfind(' ', line_end) + 1));
  EXPECT_GE(latency, 1000 - gap - 5) << text;
}

TEST_F(OverloadTest, LoopingPolicyKeepsToItsShareOfTheWorkers) {
  useOwnPool(PoolOptions{2, 64, 0}, std::chrono::seconds(1));
  std::vector<std::future<Answer>> loops;
  for (int i = 0; i < 6; ++i) {
    loops.push_back(
        sendOwn(post("/validate/loop", podReview("u-l" + std::to_string(i), false).dump())));
  }
  ASSERT_TRUE(
      test::waitFor([&] { return own_pool_->stats().busy == 1; }, std::chrono::seconds(10)));
  auto start = Clock::now();
  auto privileged = sendOwn(post("/validate/privileged", podReview("u-p", true).dump()));
  Answer r = get(privileged);
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(500));
  EXPECT_EQ(r.json()["response"]["allowed"], false);
  EXPECT_EQ(r.json()["response"]["status"]["message"], kPrivilegedMessage);
  for (auto& f : loops) EXPECT_NE(get(f).response.status, 0);
}

}  // namespace
}  // namespace kw::server
