// Admission latency as kube-apiserver measures it, with our policy-server as a validating
// webhook and with no webhook, in one run against a running kw-cluster control plane.
//
//   admission_latency --env build/bench-cluster/env --policy-server build/bin/policy-server
//       --policy build/guest/annotated/pod_privileged.wasm [--pods 2000] [--warmup 100]
//
// Two namespaces: bench-webhook (a ValidatingWebhookConfiguration sends its Pods to the
// pod-privileged policy over HTTPS by URL) and bench-plain (no webhook). After a warm-up, N Pods
// are created one at a time through the API in bench-plain, then N in bench-webhook, and the
// API server's /metrics is read before, between and after, so each phase's histograms are
// differences of two readings. Client-side latency of every create is kept too (exact
// percentiles; the API server's histograms have coarse buckets).
#include <sys/types.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "cluster/harness_pki.h"
#include "cluster/harness_process.h"
#include "cluster/prometheus_text.h"
#include "cluster/webhooks.h"
#include "common/yaml_json.h"
#include "kube/client.h"
#include "kube/config.h"
#include "support/cluster_state.h"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using kw::cluster::Sample;

constexpr char kPlain[] = "bench-plain";
constexpr char kWebhook[] = "bench-webhook";
constexpr char kHookName[] = "pod-privileged.bench.kubewarden.io";

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "admission_latency: %s\n", why.c_str());
  std::exit(1);
}

json pod(const std::string& name) {
  return {
      {"apiVersion", "v1"},
      {"kind", "Pod"},
      {"metadata", {{"name", name}, {"labels", {{"app", "bench"}}}}},
      {"spec",
       {{"containers", json::array({{{"name", "app"}, {"image", "registry.invalid/app:1"}}})}}}};
}

std::string metrics(kw::kube::Client& admin) {
  auto reply = admin.request("GET", "/metrics");
  if (!reply || reply->status != 200) die("cannot read /metrics");
  return reply->body;
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size()))) - 1;
  return v[std::min(i, v.size() - 1)];
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? std::nan("") : s / static_cast<double>(v.size());
}

// One histogram's change between two readings, for the samples matching `match`.
struct Histogram {
  std::map<double, double> buckets;
  double sum = 0, count = 0;
};

Histogram diff(const std::string& before, const std::string& after, const std::string& metric,
               const std::map<std::string, std::string>& match) {
  Histogram h;
  h.buckets = kw::cluster::bucketsMinus(
      kw::cluster::bucketsOf(kw::cluster::samplesOf(after, metric + "_bucket"), match),
      kw::cluster::bucketsOf(kw::cluster::samplesOf(before, metric + "_bucket"), match));
  h.sum = kw::cluster::sumOf(kw::cluster::samplesOf(after, metric + "_sum"), match) -
          kw::cluster::sumOf(kw::cluster::samplesOf(before, metric + "_sum"), match);
  h.count = kw::cluster::sumOf(kw::cluster::samplesOf(after, metric + "_count"), match) -
            kw::cluster::sumOf(kw::cluster::samplesOf(before, metric + "_count"), match);
  return h;
}

// "≤5 ms: 99.9 %" for the first bucket, the share of observations at or under its bound.
std::string firstBucketShare(const Histogram& h) {
  if (h.count <= 0 || h.buckets.empty()) return "n/a";
  auto first = h.buckets.begin();
  char out[64];
  std::snprintf(out, sizeof out, "%.1f %% ≤ %g ms", 100.0 * first->second / h.count,
                first->first * 1000);
  return out;
}

std::string ms(double seconds);

// The API server's buckets are coarse (5 ms, 25 ms, 100 ms, ...): the p99 is reported as the
// bucket that holds it, with PromQL's interpolation inside that bucket in parentheses.
std::string p99Text(const Histogram& h) {
  if (h.count <= 0) return "n/a";
  double rank = 0.99 * h.count, lower = 0;
  for (const auto& [le, count] : h.buckets) {
    if (count >= rank) {
      char out[96];
      std::snprintf(out, sizeof out, "%g–%g (interpolated %s)", lower * 1000, le * 1000,
                    ms(kw::cluster::quantileOf(h.buckets, 0.99)).c_str());
      return out;
    }
    lower = le;
  }
  return "n/a";
}

std::string ms(double seconds) {
  if (std::isnan(seconds)) return "n/a";
  char out[32];
  std::snprintf(out, sizeof out, "%.2f", seconds * 1000);
  return out;
}

struct Phase {
  std::vector<double> client;  // seconds per create
  std::string before, after;   // /metrics
};

Phase run(kw::kube::Client& admin, const std::string& ns, const std::string& prefix, int pods) {
  Phase p;
  p.before = metrics(admin);
  p.client.reserve(static_cast<size_t>(pods));
  for (int i = 0; i < pods; ++i) {
    std::string body = pod(prefix + std::to_string(i)).dump();
    auto t0 = Clock::now();
    auto reply =
        admin.request("POST", "/api/v1/namespaces/" + ns + "/pods", body, "application/json");
    p.client.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    if (!reply || reply->status != 201)
      die("creating a Pod in " + ns + ": " +
          (reply ? std::to_string(reply->status) + " " + reply->body : reply.error().message));
  }
  p.after = metrics(admin);
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  fs::path env_file, policy_server, policy;
  int pods = 2000, warmup = 100;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--env")
      env_file = argv[i + 1];
    else if (flag == "--policy-server")
      policy_server = argv[i + 1];
    else if (flag == "--policy")
      policy = argv[i + 1];
    else if (flag == "--pods")
      pods = std::atoi(argv[i + 1]);
    else if (flag == "--warmup")
      warmup = std::atoi(argv[i + 1]);
    else
      die("unknown flag " + flag);
  }
  if (env_file.empty() || policy_server.empty() || policy.empty())
    die("usage: admission_latency --env ENV --policy-server BIN --policy WASM [--pods N] "
        "[--warmup N]");

  auto state = kw::test::readClusterState(env_file);
  if (!state || (*state)[kw::test::kClusterStatus] != "running")
    die("no running control plane in " + env_file.string());
  auto config = kw::kube::loadKubeconfig(fs::path((*state)[kw::test::kClusterKubeconfig]));
  if (!config) die(config.error().message);
  auto admin_or = kw::kube::Client::create(*config);
  if (!admin_or) die(admin_or.error().message);
  auto admin = *admin_or;
  fs::path dir = env_file.parent_path() / "admission-bench";
  fs::create_directories(dir / "logs");

  for (const char* ns : {kPlain, kWebhook}) {
    json body = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}};
    auto made = admin->request("POST", "/api/v1/namespaces", body.dump(), "application/json");
    if (!made || (made->status != 201 && made->status != 409))
      die(std::string("cannot create namespace ") + ns);
  }

  // The policy-server: HTTPS with a CA of its own, one policy.
  kw::cluster::ServingPki pki;
  std::string error;
  if (!kw::cluster::makeServingPki(dir / "pki", {}, pki, error)) die(error);
  auto ports = kw::cluster::freePorts(2);
  auto port = ports.at(0), metrics_port = ports.at(1);
  std::string url = "https://127.0.0.1:" + std::to_string(port);
  std::ofstream(dir / "policies.yml")
      << "pod-privileged:\n  url: " << fs::absolute(policy).string() << "\n  policyMode: protect\n";
  pid_t server = kw::cluster::spawnDaemon(
      {fs::absolute(policy_server).string(), "--addr", "127.0.0.1", "--port", std::to_string(port),
       "--policies", (dir / "policies.yml").string(), "--policies-download-dir", dir.string(),
       "--cert-file", pki.cert.string(), "--key-file", pki.key.string(), "--enable-metrics",
       "--metrics-port", std::to_string(metrics_port)},
      dir / "logs" / "policy-server.log");
  auto ca = kw::readTextFile(pki.ca_cert);
  if (!ca) die(ca.error().message);
  kw::kube::Config ps_config;
  ps_config.server = url;
  ps_config.ca_pem = *ca;
  auto ps = kw::kube::Client::create(ps_config);
  if (!ps) die(ps.error().message);
  auto t0 = Clock::now();
  for (;;) {
    auto r = (*ps)->request("GET", "/readiness");
    if (r && r->status == 200) break;
    if (kw::cluster::childExited(server))
      die("policy-server exited:\n" + kw::cluster::tailOf(dir / "logs" / "policy-server.log"));
    if (Clock::now() - t0 > std::chrono::seconds(120)) die("policy-server not ready");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }

  kw::kube::Config metrics_config;
  metrics_config.server = "http://127.0.0.1:" + std::to_string(metrics_port);
  auto ps_metrics = kw::kube::Client::create(metrics_config);
  if (!ps_metrics) die(ps_metrics.error().message);
  auto policyServerMetrics = [&] {
    auto r = (*ps_metrics)->request("GET", "/metrics");
    return r && r->status == 200 ? r->body : std::string();
  };

  kw::cluster::Webhook hook;
  hook.name = kHookName;
  hook.policy = "pod-privileged";
  hook.namespace_selector = kw::cluster::onlyNamespace(kWebhook);
  kw::cluster::WebhookTarget target;
  target.url_base = url;
  target.ca_pem = *ca;
  const std::string kind = "ValidatingWebhookConfiguration";
  auto config_path = kw::cluster::webhookConfigurationPath(kind);
  (void)admin->request("DELETE", config_path + "/admission-bench");  // an earlier run's
  auto made = admin->request(
      "POST", config_path,
      kw::cluster::webhookConfiguration(kind, "admission-bench", {hook}, target).dump(),
      "application/json");
  if (!made || made->status != 201) die("cannot register the webhook");
  // In force once a privileged Pod (dry run) is refused by it.
  json privileged = pod("probe");
  privileged["spec"]["containers"][0]["securityContext"] = {{"privileged", true}};
  t0 = Clock::now();
  for (;;) {
    auto r =
        admin->request("POST", std::string("/api/v1/namespaces/") + kWebhook + "/pods?dryRun=All",
                       privileged.dump(), "application/json");
    if (r && r->status >= 400 &&
        r->body.find("Privileged container is not allowed") != std::string::npos)
      break;
    if (Clock::now() - t0 > std::chrono::seconds(60)) die("webhook not in force after 60 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }

  // Unique names per run, so the benchmark can run again on the same control plane.
  std::string run_id = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count() %
                                      100000);
  run(*admin, kPlain, "warm-" + run_id + "-", warmup);
  run(*admin, kWebhook, "warm-" + run_id + "-", warmup);
  auto wall0 = Clock::now();
  Phase plain = run(*admin, kPlain, "p-" + run_id + "-", pods);
  std::string ps_before = policyServerMetrics();
  Phase hooked = run(*admin, kWebhook, "p-" + run_id + "-", pods);
  std::string ps_after = policyServerMetrics();
  double wall = std::chrono::duration<double>(Clock::now() - wall0).count();

  // The policy-server alone: the same number of AdmissionReviews POSTed to it directly over
  // one HTTPS keep-alive connection, timed by the client.
  std::vector<double> direct;
  direct.reserve(static_cast<size_t>(pods));
  for (int i = 0; i < pods; ++i) {
    json object = pod("direct-" + std::to_string(i));
    object["metadata"]["namespace"] = kWebhook;
    json review = {{"apiVersion", "admission.k8s.io/v1"},
                   {"kind", "AdmissionReview"},
                   {"request",
                    {{"uid", "direct-" + std::to_string(i)},
                     {"kind", {{"group", ""}, {"version", "v1"}, {"kind", "Pod"}}},
                     {"resource", {{"group", ""}, {"version", "v1"}, {"resource", "pods"}}},
                     {"operation", "CREATE"},
                     {"namespace", kWebhook},
                     {"name", object["metadata"]["name"]},
                     {"userInfo", {{"username", "kubewarden-cpp-admin"}}},
                     {"object", object}}}};
    std::string body = review.dump();
    auto t1 = Clock::now();
    auto r = (*ps)->request("POST", "/validate/pod-privileged", body, "application/json");
    direct.push_back(std::chrono::duration<double>(Clock::now() - t1).count());
    if (!r || r->status != 200) die("direct AdmissionReview failed");
  }

  kw::cluster::terminate(server, std::chrono::seconds(10));
  (void)admin->request("DELETE", config_path + "/admission-bench");

  const std::map<std::string, std::string> create = {{"operation", "CREATE"}};
  Histogram webhook =
      diff(hooked.before, hooked.after, "apiserver_admission_webhook_admission_duration_seconds",
           {{"name", kHookName}, {"operation", "CREATE"}});
  Histogram webhook_in_plain =
      diff(plain.before, plain.after, "apiserver_admission_webhook_admission_duration_seconds",
           {{"name", kHookName}});
  auto step = [&](const Phase& p) {
    return diff(p.before, p.after, "apiserver_admission_step_admission_duration_seconds",
                {{"operation", "CREATE"}, {"type", "validate"}});
  };
  auto request = [&](const Phase& p) {
    return diff(p.before, p.after, "apiserver_request_duration_seconds",
                {{"verb", "POST"}, {"resource", "pods"}});
  };
  Histogram step_plain = step(plain), step_hooked = step(hooked);
  Histogram req_plain = request(plain), req_hooked = request(hooked);

  std::printf(
      "Pods created per phase: %d (after %d warm-up Pods per namespace), one at a time; "
      "wall time of both phases %.1f s\n\n",
      pods, warmup, wall);
  std::printf(
      "| measured by | what | no webhook | with our webhook | added |\n|---|---|---|---|---|\n");
  std::printf(
      "| kube-apiserver | `apiserver_admission_webhook_admission_duration_seconds` "
      "(our webhook's calls): count | %.0f | %.0f | |\n",
      webhook_in_plain.count, webhook.count);
  std::printf("| kube-apiserver | … mean (sum / count), ms | – | %s | %s |\n",
              ms(webhook.count > 0 ? webhook.sum / webhook.count : std::nan("")).c_str(),
              ms(webhook.count > 0 ? webhook.sum / webhook.count : std::nan("")).c_str());
  std::printf("| kube-apiserver | … first bucket | – | %s | |\n",
              firstBucketShare(webhook).c_str());
  std::printf("| kube-apiserver | … p99, ms | – | %s | %s |\n", p99Text(webhook).c_str(),
              p99Text(webhook).c_str());
  double step_mean_plain = step_plain.count > 0 ? step_plain.sum / step_plain.count : std::nan("");
  double step_mean_hooked =
      step_hooked.count > 0 ? step_hooked.sum / step_hooked.count : std::nan("");
  std::printf(
      "| kube-apiserver | `apiserver_admission_step_admission_duration_seconds` "
      "(validate, CREATE) mean, ms | %s | %s | %s |\n",
      ms(step_mean_plain).c_str(), ms(step_mean_hooked).c_str(),
      ms(step_mean_hooked - step_mean_plain).c_str());
  std::printf("| kube-apiserver | … first bucket | %s | %s | |\n",
              firstBucketShare(step_plain).c_str(), firstBucketShare(step_hooked).c_str());
  double req_mean_plain = req_plain.count > 0 ? req_plain.sum / req_plain.count : std::nan("");
  double req_mean_hooked = req_hooked.count > 0 ? req_hooked.sum / req_hooked.count : std::nan("");
  std::printf(
      "| kube-apiserver | `apiserver_request_duration_seconds` (POST pods) mean, ms | %s | "
      "%s | %s |\n",
      ms(req_mean_plain).c_str(), ms(req_mean_hooked).c_str(),
      ms(req_mean_hooked - req_mean_plain).c_str());
  for (auto [name, q] : {std::pair{"p50", 0.50}, std::pair{"p99", 0.99}}) {
    double a = percentile(plain.client, q), b = percentile(hooked.client, q);
    std::printf("| client (our kube client) | create latency %s, ms | %s | %s | %s |\n", name,
                ms(a).c_str(), ms(b).c_str(), ms(b - a).c_str());
  }
  // The policy-server's own view: evaluation time of the policy alone (milliseconds).
  Histogram evaluation =
      diff(ps_before, ps_after, "kubewarden_policy_evaluation_latency_milliseconds",
           {{"policy_name", "pod-privileged"}});
  std::printf(
      "| policy-server | `kubewarden_policy_evaluation_latency_milliseconds` mean (sum / "
      "count of %.0f), ms | – | %.3f | |\n",
      evaluation.count, evaluation.count > 0 ? evaluation.sum / evaluation.count : std::nan(""));
  std::printf(
      "| client → policy-server directly (HTTPS, keep-alive) | AdmissionReview p50 / p99 / "
      "mean, ms | – | %s / %s / %s | |\n",
      ms(percentile(direct, 0.5)).c_str(), ms(percentile(direct, 0.99)).c_str(),
      ms(mean(direct)).c_str());
  double a = mean(plain.client), b = mean(hooked.client);
  std::printf("| client (our kube client) | create latency mean, ms | %s | %s | %s |\n",
              ms(a).c_str(), ms(b).c_str(), ms(b - a).c_str());
  return 0;
}
