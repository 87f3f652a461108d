#include "cluster/kubelet_standin.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "cluster/harness_process.h"
#include "cluster/kubelet_standin_addresses.h"
#include "cluster/kubelet_standin_pod.h"
#include "common/base64.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/selector.h"
#include "support/test_http.h"

namespace kw::cluster {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {

const kube::ResourceType kPods{{"v1", "Pod"}, "pods", true};
constexpr auto kTick = std::chrono::milliseconds(100);
constexpr auto kProbeUntilReady = std::chrono::milliseconds(200);
constexpr auto kHeartbeat = std::chrono::seconds(20);
constexpr auto kRetry = std::chrono::seconds(2);

std::string nowRfc3339() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

std::string keyOf(const json& pod) {
  return pod["metadata"].value("namespace", "") + "/" + pod["metadata"].value("name", "");
}

kube::Labels labelsOf(const json& pod) {
  kube::Labels labels;
  // Named: a range-for over a temporary's items() dangles.
  const json all = pod["metadata"].value("labels", json::object());
  for (const auto& [k, v] : all.items())
    if (v.is_string()) labels.emplace_back(k, v.get<std::string>());
  return labels;
}

// One watch event or list result for the sync loop.
struct PodEvent {
  enum class Kind { kUpsert, kDeleted, kListed } kind;
  json pod;                            // kUpsert, kDeleted
  std::map<std::string, json> listed;  // kListed: every Pod the list returned, by key
};

// What the stand-in runs for one Pod.
struct PodRun {
  json pod;
  std::string uid, ip, error;
  fs::path folder, log;
  PodLaunch launch;
  pid_t pid = -1;
  bool prepared = false, ready = false;
  int restarts = 0, last_exit = 0;
  std::string started_at, ready_since;
  Clock::time_point next_probe{}, retry_at{};
  std::string last_status;  // the last status we wrote, to write only differences
};

// One readiness check as the kubelet makes it: HTTP(S) GET, any certificate, 200-399 is ready.
bool probeHttp(const std::string& url, long timeout_ms) {
  long status = test::probeStatus(url, timeout_ms);
  return status >= 200 && status < 400;
}

class Standin {
 public:
  Standin(const StandinOptions& o, std::shared_ptr<kube::Client> client, kube::LabelSelector sel)
      : o_(o),
        client_(std::move(client)),
        selector_(std::move(sel)),
        addresses_(o.dir / "addresses", o.dir / "logs" / "ip.log") {}

  int run(const std::atomic<bool>& stop) {
    // Fails here, clearly, rather than at the first Pod.
    auto probe = addresses_.allocate();
    if (!probe) {
      spdlog::error("{}", probe.error().message);
      return 1;
    }
    addresses_.release(*probe);
    if (auto s = registerNode(); !s) {
      spdlog::error("{}", s.error().message);
      return 1;
    }
    spdlog::info("node {} registered; taking Pods matching '{}' in {}", o_.node_name, o_.selector,
                 o_.ns.empty() ? "every namespace" : "namespace " + o_.ns);
    std::thread watcher([&] { watchLoop(stop); });
    syncLoop(stop);
    watch_cancel_.cancel();
    watcher.join();
    for (auto& [key, run] : runs_) stopProcess(run);
    addresses_.releaseAll();
    spdlog::info("stopped");
    return 0;
  }

 private:
  // ---- the Node ----
  json nodeStatus() const {
    std::string now = nowRfc3339();
    json resources = {{"cpu", "4"}, {"memory", "8Gi"}, {"pods", "110"}};
    return {
        {"capacity", resources},
        {"allocatable", resources},
        {"addresses", json::array({{{"type", "InternalIP"}, {"address", "127.0.0.1"}},
                                   {{"type", "Hostname"}, {"address", o_.node_name}}})},
        {"conditions", json::array({{{"type", "Ready"},
                                     {"status", "True"},
                                     {"reason", "KubeletReady"},
                                     {"message", "kw-kubelet-standin (a test double) is running"},
                                     {"lastHeartbeatTime", now},
                                     {"lastTransitionTime", node_since_}}})},
        {"nodeInfo",
         {{"kubeletVersion", "kw-kubelet-standin"},
          {"operatingSystem", "linux"},
          {"architecture", "amd64"}}}};
  }

  Status registerNode() {
    node_since_ = nowRfc3339();
    json node = {{"apiVersion", "v1"},
                 {"kind", "Node"},
                 {"metadata",
                  {{"name", o_.node_name},
                   {"labels",
                    {{"kubernetes.io/hostname", o_.node_name},
                     {"kubernetes.io/os", "linux"},
                     {"kubewarden.io/kubelet-standin", "true"}}}}}};
    auto created = client_->request("POST", "/api/v1/nodes", node.dump(), "application/json");
    if (!created) return created.error();
    if (created->status != 201 && created->status != 409)
      return kube::apiError(created->status, created->body, "registering node " + o_.node_name);
    return heartbeat();
  }

  Status heartbeat() {
    last_heartbeat_ = Clock::now();
    auto reply =
        client_->request("PATCH", "/api/v1/nodes/" + o_.node_name + "/status",
                         json{{"status", nodeStatus()}}.dump(), "application/merge-patch+json");
    if (!reply) return reply.error();
    if (reply->status != 200)
      return kube::apiError(reply->status, reply->body, "writing node status");
    return okStatus();
  }

  // ---- watching Pods: list, then watch from its version; 410 or a break lists again ----
  void push(PodEvent event) {
    std::lock_guard lock(mu_);
    events_.push_back(std::move(event));
    cv_.notify_one();
  }

  void watchLoop(const std::atomic<bool>& stop) {
    std::string rv;
    while (!stop.load()) {
      if (rv.empty()) {
        kube::Client::ListOptions options;
        options.ns = o_.ns;
        auto list = client_->list(kPods, options);
        json parsed = list ? json::parse(*list, nullptr, false) : json();
        if (!list || parsed.is_discarded()) {
          spdlog::warn("listing pods: {}", list ? "malformed list" : list.error().message);
          waitOrStop(stop, kRetry);
          continue;
        }
        PodEvent listed{PodEvent::Kind::kListed, {}, {}};
        for (auto& pod : parsed.value("items", json::array())) listed.listed[keyOf(pod)] = pod;
        rv = parsed["metadata"].value("resourceVersion", "");
        push(std::move(listed));
      }
      kube::Client::WatchOptions options;
      options.ns = o_.ns;
      options.resource_version = rv;
      options.timeout_seconds = 300;
      bool expired = false;
      auto end = client_->watch(
          kPods, options,
          [&](std::string_view line) {
            json event = json::parse(line, nullptr, false);
            if (event.is_discarded()) return true;
            std::string type = event.value("type", "");
            json& object = event["object"];
            if (type == "ERROR") {
              expired = object.value("code", 0) == 410;
              if (!expired) spdlog::warn("watch error: {}", object.dump());
              return false;
            }
            rv = object["metadata"].value("resourceVersion", rv);
            if (type == "ADDED" || type == "MODIFIED")
              push({PodEvent::Kind::kUpsert, std::move(object), {}});
            else if (type == "DELETED")
              push({PodEvent::Kind::kDeleted, std::move(object), {}});
            return true;
          },
          watch_cancel_);
      if (stop.load()) break;
      if (expired || (end && *end == kube::Client::WatchEnd::kExpired)) rv.clear();
      if (!end) {
        spdlog::warn("watching pods: {}", end.error().message);
        rv.clear();
        waitOrStop(stop, kRetry);
      }
    }
  }

  void waitOrStop(const std::atomic<bool>& stop, Clock::duration d) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, d, [&] { return stop.load(); });
  }

  // ---- the sync loop: every Pod's state is touched by this thread only ----
  void syncLoop(const std::atomic<bool>& stop) {
    while (!stop.load()) {
      std::deque<PodEvent> events;
      {
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, kTick, [&] { return stop.load() || !events_.empty(); });
        events.swap(events_);
      }
      for (auto& event : events) apply(event);
      for (auto& [key, run] : runs_) tick(run);
      if (Clock::now() - last_heartbeat_ > kHeartbeat)
        if (auto s = heartbeat(); !s) spdlog::warn("node heartbeat: {}", s.error().message);
    }
  }

  void apply(PodEvent& event) {
    if (event.kind == PodEvent::Kind::kListed) {
      // Pods we run that the fresh list lacks were deleted while we were not watching.
      for (auto it = runs_.begin(); it != runs_.end();) {
        if (event.listed.count(it->first) == 0) {
          teardown(it->second);
          it = runs_.erase(it);
        } else {
          ++it;
        }
      }
      for (auto& [key, pod] : event.listed) sync(pod);
      return;
    }
    if (event.kind == PodEvent::Kind::kDeleted) {
      auto it = runs_.find(keyOf(event.pod));
      if (it != runs_.end()) {
        teardown(it->second);
        runs_.erase(it);
      }
      return;
    }
    sync(event.pod);
  }

  void sync(const json& pod) {
    std::string key = keyOf(pod);
    const json& spec = pod["spec"];
    std::string node = spec.value("nodeName", "");
    auto it = runs_.find(key);
    if (it != runs_.end() && it->second.uid != pod["metadata"].value("uid", "")) {
      teardown(it->second);  // a new Pod of the same name
      runs_.erase(it);
      it = runs_.end();
    }
    if (node.empty()) {
      std::string phase = pod.value(json::json_pointer("/status/phase"), std::string("Pending"));
      if (phase == "Pending" && !pod["metadata"].contains("deletionTimestamp") &&
          selector_.matches(labelsOf(pod)))
        bind(pod);
      return;
    }
    if (node != o_.node_name) return;
    if (pod["metadata"].contains("deletionTimestamp")) {
      if (it != runs_.end()) {
        teardown(it->second);
        runs_.erase(it);
      }
      finalize(pod);
      return;
    }
    if (it == runs_.end()) {
      PodRun run;
      run.uid = pod["metadata"].value("uid", "");
      it = runs_.emplace(key, std::move(run)).first;
    }
    it->second.pod = pod;
    if (!it->second.prepared && Clock::now() >= it->second.retry_at) start(it->second);
  }

  // No scheduler runs: the stand-in assigns its Pods itself, through the binding subresource.
  void bind(const json& pod) {
    std::string name = pod["metadata"].value("name", "");
    json binding = {{"apiVersion", "v1"},
                    {"kind", "Binding"},
                    {"metadata", {{"name", name}}},
                    {"target", {{"apiVersion", "v1"}, {"kind", "Node"}, {"name", o_.node_name}}}};
    auto reply =
        client_->request("POST", podPath(pod) + "/binding", binding.dump(), "application/json");
    if (!reply)
      spdlog::warn("binding {}: {}", keyOf(pod), reply.error().message);
    else if (reply->status == 201)
      spdlog::info("bound {} to {}", keyOf(pod), o_.node_name);
    else if (reply->status != 409)  // 409: bound meanwhile; the watch brings the result
      spdlog::warn("{}",
                   kube::apiError(reply->status, reply->body, "binding " + keyOf(pod)).message);
  }

  static std::string podPath(const json& pod) {
    return "/api/v1/namespaces/" + pod["metadata"].value("namespace", "") + "/pods/" +
           pod["metadata"].value("name", "");
  }

  // ---- running a Pod ----
  void start(PodRun& run) {
    const json& pod = run.pod;
    std::string key = keyOf(pod), ns = pod["metadata"].value("namespace", "");
    std::string file_key = ns + "_" + pod["metadata"].value("name", "");
    run.folder = o_.dir / "pods" / file_key;
    run.log = o_.dir / "logs" / (file_key + "_" + run.uid.substr(0, 8) + ".log");
    std::error_code ec;
    fs::remove_all(run.folder, ec);
    fs::create_directories(run.folder, ec);
    if (run.ip.empty()) {
      auto ip = addresses_.allocate();
      if (!ip) return prepareFailed(run, ip.error().message);
      run.ip = *ip;
    }
    auto get = [&](const std::string& plural, const std::string& name) -> Result<json> {
      auto reply = client_->request("GET", "/api/v1/namespaces/" + ns + "/" + plural + "/" + name);
      if (!reply) return reply.error();
      if (reply->status != 200)
        return kube::apiError(reply->status, reply->body, "reading " + plural + " " + name);
      return json::parse(reply->body);
    };
    auto launch = preparePod(pod, run.ip, run.folder, o_.policy_server, podKubeconfig(run), get);
    if (!launch) return prepareFailed(run, launch.error().message);
    run.launch = std::move(*launch);
    run.prepared = true;
    run.error.clear();
    spawn(run);
  }

  void prepareFailed(PodRun& run, const std::string& why) {
    spdlog::warn("{} (retrying in {} s)", why, kRetry.count());
    run.error = why;
    run.retry_at = Clock::now() + kRetry;
    writeStatus(run);
  }

  void spawn(PodRun& run) {
    run.pid = spawnDaemon(run.launch.args, run.log, run.launch.env, run.launch.cwd);
    run.started_at = nowRfc3339();
    run.ready = false;
    run.next_probe = Clock::now();
    // For cleanupStandinLeftovers, should this process be killed.
    std::ofstream(run.folder / "pid") << run.pid << "\n" << run.launch.args[0] << "\n";
    spdlog::info("{}: started {} (pid {}) on {}, log {}", keyOf(run.pod), o_.policy_server.string(),
                 run.pid, run.ip, run.log.string());
    writeStatus(run);
  }

  // A token of the Pod's ServiceAccount (TokenRequest bound to the Pod) in a kubeconfig, so the
  // process reads the cluster with the Pod's rights; none when the account does not exist.
  fs::path podKubeconfig(const PodRun& run) {
    const json& pod = run.pod;
    std::string sa = pod["spec"].value("serviceAccountName", "");
    json spec = {{"expirationSeconds", 86400}};
    // Bound to the Pod only when the Pod names its account: the API refuses (400) a Pod-bound
    // token for an account the Pod does not name, and without the ServiceAccount admission
    // plugin an unnamed account stays unnamed.
    if (!sa.empty())
      spec["boundObjectRef"] = {{"apiVersion", "v1"},
                                {"kind", "Pod"},
                                {"name", pod["metadata"].value("name", "")},
                                {"uid", run.uid}};
    else
      sa = "default";
    json request = {
        {"apiVersion", "authentication.k8s.io/v1"}, {"kind", "TokenRequest"}, {"spec", spec}};
    auto reply = client_->request("POST",
                                  "/api/v1/namespaces/" + pod["metadata"].value("namespace", "") +
                                      "/serviceaccounts/" + sa + "/token",
                                  request.dump(), "application/json");
    if (!reply || reply->status != 201) {
      spdlog::info("{}: no token of ServiceAccount {} ({}); it runs without cluster access",
                   keyOf(pod), sa, reply ? std::to_string(reply->status) : reply.error().message);
      return {};
    }
    std::string token =
        json::parse(reply->body).value(json::json_pointer("/status/token"), std::string());
    fs::path file = run.folder / "kubeconfig";
    json kubeconfig = {
        {"apiVersion", "v1"},
        {"kind", "Config"},
        {"clusters",
         {{{"name", "cluster"},
           {"cluster",
            {{"server", client_->config().server},
             {"certificate-authority-data", base64Encode(client_->config().ca_pem)}}}}}},
        {"users", {{{"name", sa}, {"user", {{"token", token}}}}}},
        {"contexts", {{{"name", "pod"}, {"context", {{"cluster", "cluster"}, {"user", sa}}}}}},
        {"current-context", "pod"}};
    std::ofstream(file) << kubeconfig.dump(2) << "\n";  // JSON is YAML
    return file;
  }

  void tick(PodRun& run) {
    auto now = Clock::now();
    if (!run.prepared) {
      if (!run.pod.is_null() && now >= run.retry_at) start(run);
      return;
    }
    if (run.pid > 0 && childExited(run.pid)) {
      spdlog::warn("{}: process {} exited; restarting in {} s (log {})", keyOf(run.pod), run.pid,
                   kRetry.count(), run.log.string());
      run.pid = -1;
      run.ready = false;
      run.retry_at = now + kRetry;
      writeStatus(run);
      return;
    }
    if (run.pid < 0) {
      if (now >= run.retry_at) {
        ++run.restarts;
        spawn(run);
      }
      return;
    }
    if (now < run.next_probe) return;
    bool ready = probe(run);
    run.next_probe = now + (ready ? probePeriod(run) : kProbeUntilReady);
    if (ready != run.ready) {
      run.ready = ready;
      if (ready) run.ready_since = nowRfc3339();
      spdlog::info("{}: {}", keyOf(run.pod), ready ? "ready" : "not ready");
      writeStatus(run);
    }
  }

  const json& container(const PodRun& run) const { return run.pod["spec"]["containers"][0]; }

  // Until the first success it probes every 200 ms (a test waits on it); then at the Pod's
  // periodSeconds, as the kubelet does.
  std::chrono::seconds probePeriod(const PodRun& run) const {
    int period = container(run).value(json::json_pointer("/readinessProbe/periodSeconds"), 10);
    return std::chrono::seconds(std::max(1, period));
  }

  bool probe(const PodRun& run) const {
    const json& c = container(run);
    if (!c.contains("readinessProbe")) return true;  // no probe: ready once running
    const json& probe = c["readinessProbe"];
    if (!probe.contains("httpGet")) return true;  // only HTTP probes are played
    const json& get = probe["httpGet"];
    std::string port;
    if (get["port"].is_number()) {
      port = std::to_string(get["port"].get<int>());
    } else {
      for (const auto& p : c.value("ports", json::array()))
        if (p.value("name", "") == get["port"].get<std::string>())
          port = std::to_string(p.value("containerPort", 0));
    }
    std::string scheme = get.value("scheme", "HTTP") == "HTTPS" ? "https" : "http";
    long timeout_ms = 1000L * probe.value("timeoutSeconds", 1);
    return probeHttp(scheme + "://" + run.ip + ":" + port + get.value("path", "/"), timeout_ms);
  }

  // The Pod's status as a kubelet reports it, written only when it differs from the last one.
  void writeStatus(PodRun& run) {
    const json& c = container(run);
    std::string ready = run.ready ? "True" : "False";
    std::string since = run.ready ? run.ready_since : run.started_at;
    json state;
    if (run.pid > 0)
      state = {{"running", {{"startedAt", run.started_at}}}};
    else if (!run.error.empty())
      state = {{"waiting", {{"reason", "CreateContainerConfigError"}, {"message", run.error}}}};
    else
      state = {{"waiting", {{"reason", "CrashLoopBackOff"}}}};
    auto condition = [&](const char* type, const std::string& status) {
      return json{{"type", type}, {"status", status}, {"lastTransitionTime", since}};
    };
    json status = {{"phase", run.pid > 0 || run.restarts > 0 ? "Running" : "Pending"},
                   {"hostIP", "127.0.0.1"},
                   {"hostIPs", {{{"ip", "127.0.0.1"}}}},
                   {"startTime", run.started_at.empty() ? nowRfc3339() : run.started_at},
                   {"conditions",
                    {condition("PodScheduled", "True"), condition("Initialized", "True"),
                     condition("ContainersReady", ready), condition("Ready", ready)}},
                   {"containerStatuses",
                    {{{"name", c.value("name", "")},
                      {"image", c.value("image", "")},
                      {"imageID", ""},
                      {"containerID", "kw-kubelet-standin://" + std::to_string(run.pid)},
                      {"ready", run.ready},
                      {"started", run.pid > 0},
                      {"restartCount", run.restarts},
                      {"state", state}}}}};
    if (!run.ip.empty()) {
      status["podIP"] = run.ip;
      status["podIPs"] = {{{"ip", run.ip}}};
    }
    std::string text = status.dump();
    if (text == run.last_status) return;
    auto reply = client_->request("PATCH", podPath(run.pod) + "/status",
                                  json{{"status", status}}.dump(), "application/merge-patch+json");
    if (reply && reply->status == 200) {
      run.last_status = text;
      return;
    }
    spdlog::warn("{}", reply ? kube::apiError(reply->status, reply->body,
                                              "writing the status of " + keyOf(run.pod))
                                   .message
                             : reply.error().message);
  }

  void stopProcess(PodRun& run) {
    if (run.pid > 0) {
      terminate(run.pid, std::chrono::seconds(10));
      spdlog::info("{}: stopped process {}", keyOf(run.pod), run.pid);
    }
    run.pid = -1;
    if (!run.ip.empty()) addresses_.release(run.ip);
    run.ip.clear();
  }

  // The Pod is going (or gone): stop its process, free its address, drop its files (the log
  // stays in logs/).
  void teardown(PodRun& run) {
    stopProcess(run);
    std::error_code ec;
    if (!run.folder.empty()) fs::remove_all(run.folder, ec);
  }

  // The kubelet's last word on a deleted Pod: remove it for good (grace 0), for this uid only.
  void finalize(const json& pod) {
    json options = {{"apiVersion", "v1"},
                    {"kind", "DeleteOptions"},
                    {"gracePeriodSeconds", 0},
                    {"preconditions", {{"uid", pod["metadata"].value("uid", "")}}}};
    auto reply = client_->request("DELETE", podPath(pod), options.dump(), "application/json");
    if (reply && (reply->status == 200 || reply->status == 404 || reply->status == 409)) {
      spdlog::info("{}: deleted", keyOf(pod));
      return;
    }
    spdlog::warn(
        "{}", reply ? kube::apiError(reply->status, reply->body, "deleting " + keyOf(pod)).message
                    : reply.error().message);
  }

  const StandinOptions& o_;
  std::shared_ptr<kube::Client> client_;
  kube::LabelSelector selector_;
  PodAddresses addresses_;
  kube::WatchCancel watch_cancel_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<PodEvent> events_;
  std::map<std::string, PodRun> runs_;  // by namespace/name
  std::string node_since_;
  Clock::time_point last_heartbeat_{};
};

}  // namespace

int runKubeletStandin(const StandinOptions& o, const std::atomic<bool>& stop) {
  std::error_code ec;
  fs::create_directories(o.dir / "logs", ec);
  fs::create_directories(o.dir / "pods", ec);
  cleanupStandinLeftovers(o.dir);
  if (::access(o.policy_server.c_str(), X_OK) != 0) {
    spdlog::error("{} is not an executable (--policy-server)", o.policy_server.string());
    return 1;
  }
  auto selector = kube::LabelSelector::parse(o.selector);
  if (!selector) {
    spdlog::error("--selector: {}", selector.error().message);
    return 1;
  }
  auto config = kube::loadKubeconfig(o.kubeconfig);
  if (!config) {
    spdlog::error("{}", config.error().message);
    return 1;
  }
  auto client = kube::Client::create(std::move(*config));
  if (!client) {
    spdlog::error("{}", client.error().message);
    return 1;
  }
  return Standin(o, std::move(*client), std::move(*selector)).run(stop);
}

}  // namespace kw::cluster
