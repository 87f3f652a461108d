#include "cluster/harness.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <thread>

#include "cluster/harness_http.h"
#include "cluster/harness_kcm.h"
#include "cluster/harness_kubewarden.h"
#include "cluster/harness_pki.h"
#include "cluster/harness_policy_server.h"
#include "cluster/harness_process.h"
#include "cluster/harness_standin.h"
#include "cluster/kubelet_standin_addresses.h"
#include "support/cluster_state.h"

namespace kw::cluster {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using test::ClusterState;

namespace {

fs::path envFile(const Options& o) { return o.dir / "env"; }

double secondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// YAML single-quoted scalar: the only escape is a doubled quote.
std::string yamlQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// A kubeconfig for one identity: the admin's (tests, kubectl) or kube-controller-manager's.
void writeKubeconfig(const fs::path& file, const std::string& server, const fs::path& ca,
                     const fs::path& cert, const fs::path& key) {
  std::ofstream(file) << "apiVersion: v1\nkind: Config\n"
                      << "clusters:\n- name: kw-test\n  cluster:\n    server: " << server
                      << "\n    certificate-authority: " << yamlQuote(ca.string())
                      << "\nusers:\n- name: kw-user\n  user:\n    client-certificate: "
                      << yamlQuote(cert.string()) << "\n    client-key: " << yamlQuote(key.string())
                      << "\ncontexts:\n- name: kw-test\n  context:\n    cluster: kw-test\n"
                      << "    user: kw-user\n    namespace: default\ncurrent-context: kw-test\n";
}

// One GET of /readyz as the admin; true when it answers 200 "ok". `last` keeps the answer.
bool readyz(const std::string& server, const Pki& pki, std::string& last) {
  auto answer = httpsGet(server + "/readyz", pki.ca_cert, pki.admin_cert, pki.admin_key);
  last = answer.describe();
  return answer.status == 200 && answer.body == "ok";
}

// Stops whatever a state file says is running (an interrupted run, a second setup, `stop`):
// the policy-server first, so nothing calls it while the API server goes; the controller
// manager before the API server, so it does not log a storm of failed requests.
void stopRecorded(const ClusterState& state, bool verbose) {
  auto value = [&](const char* key) {
    auto it = state.find(key);
    return it == state.end() ? std::string() : it->second;
  };
  auto tools = fs::path(value(test::kClusterTools));
  struct Daemon {
    const char* pid_key;
    std::string binary;
    const char* name;
  };
  for (const auto& d :
       {Daemon{test::kClusterControllerPid, value(test::kClusterController),
               "kubewarden-controller"},
        Daemon{test::kClusterStandinPid, value(test::kClusterStandin), "kw-kubelet-standin"},
        Daemon{test::kClusterPolicyServerPid, value(test::kClusterPolicyServer), "policy-server"},
        Daemon{test::kClusterKcmPid, (tools / "kube-controller-manager").string(),
               "kube-controller-manager"},
        Daemon{test::kClusterApiserverPid, (tools / "kube-apiserver").string(), "kube-apiserver"},
        Daemon{test::kClusterEtcdPid, (tools / "etcd").string(), "etcd"}}) {
    std::string pid_text = value(d.pid_key);
    if (pid_text.empty()) continue;
    pid_t pid = std::stoi(pid_text);
    if (!processRuns(pid, d.binary)) continue;
    auto t0 = Clock::now();
    bool clean = terminate(pid, std::chrono::seconds(20));
    if (verbose)
      std::printf("cluster: %s (pid %d) %s after %.1f s\n", d.name, pid,
                  clean ? "stopped" : "did not stop on SIGTERM; killed", secondsSince(t0));
  }
  // What a killed stand-in left: its policy-servers and its addresses on lo.
  if (auto dir = value(test::kClusterStandinDir); !dir.empty()) cleanupStandinLeftovers(dir);
}

class Starter {
 public:
  explicit Starter(const Options& o) : o_(o) {}

  int run() {
    std::error_code ec;
    fs::create_directories(o_.dir / "logs", ec);
    if (auto old = test::readClusterState(envFile(o_))) stopRecorded(*old, true);
    fs::remove_all(o_.dir / "tests", ec);  // the previous run's per-test files
    auto t0 = Clock::now();  // after any clean-up, so the figure is this start-up alone

    fs::path etcd = o_.tools / "etcd", apiserver = o_.tools / "kube-apiserver";
    for (const auto& bin : {etcd, apiserver})
      if (::access(bin.c_str(), X_OK) != 0)
        return fail(bin.string() + " is missing: run `make deps` (scripts/tools.sh builds it)");

    Pki pki;
    std::string error;
    if (!makePki(o_.dir / "pki", pki, error)) return fail(error);
    double pki_seconds = secondsSince(t0);

    auto ports = freePorts(3);
    if (ports.size() != 3) return fail("could not reserve three loopback ports");
    std::string etcd_url = "http://127.0.0.1:" + std::to_string(ports[0]);
    std::string peer_url = "http://127.0.0.1:" + std::to_string(ports[1]);
    server_ = "https://127.0.0.1:" + std::to_string(ports[2]);
    fs::path data = o_.dir / "etcd-data";
    fs::remove_all(data, ec);
    writeKubeconfig(o_.dir / "kubeconfig", server_, pki.ca_cert, pki.admin_cert, pki.admin_key);
    writeKubeconfig(o_.dir / "kcm.kubeconfig", server_, pki.ca_cert, pki.kcm_cert, pki.kcm_key);

    state_[test::kClusterTools] = o_.tools.string();
    state_[test::kClusterKubeconfig] = (o_.dir / "kubeconfig").string();
    state_[test::kClusterServer] = server_;
    state_[test::kClusterEtcd] = etcd_url;
    state_[test::kClusterCa] = pki.ca_cert.string();
    state_[test::kClusterEtcdLog] = (o_.dir / "logs" / "etcd.log").string();
    state_[test::kClusterApiserverLog] = (o_.dir / "logs" / "kube-apiserver.log").string();

    // No fsync: the data dies with the run, and fsync on a shared disk dominates start-up.
    // Progress notifications every second (etcd's default is 10 minutes): the API server's watch
    // cache learns of revisions other types made only through them, and its bookmarks carry
    // that version, so a test waiting for a bookmark does not depend on unrelated traffic.
    etcd_pid_ = spawnDaemon({etcd.string(), "--name", "kw-test", "--data-dir", data.string(),
                             "--listen-client-urls", etcd_url, "--advertise-client-urls", etcd_url,
                             "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls",
                             peer_url, "--initial-cluster", "kw-test=" + peer_url,
                             "--unsafe-no-fsync", "--watch-progress-notify-interval", "1s"},
                            state_[test::kClusterEtcdLog]);
    // ServiceAccount admission is off: it would refuse a Pod in a namespace whose `default`
    // account kube-controller-manager has not made yet, and tests create Pods right away.
    // Aggregator routing lets webhooks reach Services through EndpointSlices.
    apiserver_pid_ = spawnDaemon(
        {apiserver.string(), "--etcd-servers", etcd_url, "--bind-address", "127.0.0.1",
         "--advertise-address", "127.0.0.1", "--secure-port", std::to_string(ports[2]),
         "--tls-cert-file", pki.serving_cert.string(), "--tls-private-key-file",
         pki.serving_key.string(), "--client-ca-file", pki.ca_cert.string(),
         "--authorization-mode", "RBAC", "--allow-privileged=true",
         "--enable-aggregator-routing=true", "--service-cluster-ip-range", "10.0.0.0/24",
         "--service-account-issuer", server_, "--service-account-key-file", pki.sa_pub.string(),
         "--service-account-signing-key-file", pki.sa_key.string(),
         "--disable-admission-plugins", "ServiceAccount",
         // The `kubernetes` Service can't list a loopback endpoint; don't retry that forever.
         "--endpoint-reconciler-type", "none",
         // PodTemplates bypass the watch cache: their watches read etcd, so an etcd
         // compaction gives 410 Gone as on a busy cluster (tests/cluster/kube_*_test.cc).
         "--watch-cache-sizes", "podtemplates#0"},
        state_[test::kClusterApiserverLog]);
    if (etcd_pid_ < 0 || apiserver_pid_ < 0) return fail("fork failed");
    state_[test::kClusterEtcdPid] = std::to_string(etcd_pid_);
    state_[test::kClusterApiserverPid] = std::to_string(apiserver_pid_);
    // Recorded before waiting, so `stop` finds the daemons even if this process is killed.
    save("starting");

    if (int rc = waitReady(pki); rc >= 0) return rc;
    double apiserver_seconds = secondsSince(t0) - pki_seconds;
    ControllerManagerOptions kcm{o_.tools / "kube-controller-manager", o_.dir / "kcm.kubeconfig",
                                 o_.dir / "logs" / "kube-controller-manager.log", server_,
                                 o_.ready_timeout};
    if (!startControllerManager(
            kcm, pki, state_, [this] { save("starting"); }, error))
      return fail(error);
    double total = secondsSince(t0);
    state_[test::kClusterStartupMs] = std::to_string(static_cast<long>(total * 1000));
    std::printf(
        "cluster: control plane ready in %.2f s (credentials %.2f s, etcd + kube-apiserver "
        "%.2f s, kube-controller-manager %.2f s)\ncluster: %s, kubeconfig %s\n"
        "cluster: logs in %s\n",
        total, pki_seconds, apiserver_seconds, total - pki_seconds - apiserver_seconds,
        server_.c_str(), state_[test::kClusterKubeconfig].c_str(), (o_.dir / "logs").c_str());

    if (!o_.kubelet_standin.empty())
      if (int rc = startStandin(pki); rc >= 0) return rc;

    if (int rc = startKubewarden(); rc >= 0) return rc;

    if (!o_.policy_server.empty()) {
      PolicyServerOptions ps{o_.policy_server, o_.policies, o_.dir,
                             state_[test::kClusterKubeconfig]};
      if (!startPolicyServer(
              ps, state_, [this] { save("starting"); }, error))
        return fail(error);
    }
    save("running");
    std::printf("cluster: ready in %.2f s\n\nexport KUBECONFIG=%s\n", secondsSince(t0),
                state_[test::kClusterKubeconfig].c_str());
    return 0;
  }

 private:
  // -1 once ready; else the exit code of a failure.
  int waitReady(const Pki& pki) {
    auto deadline = Clock::now() + o_.ready_timeout;
    std::string last = "no answer yet";
    while (Clock::now() < deadline) {
      if (childExited(etcd_pid_))
        return fail("etcd exited during start-up:\n" + tailOf(state_[test::kClusterEtcdLog]));
      if (childExited(apiserver_pid_))
        return fail("kube-apiserver exited during start-up:\n" +
                    tailOf(state_[test::kClusterApiserverLog]));
      if (readyz(server_, pki, last)) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return fail("kube-apiserver not ready after " + std::to_string(o_.ready_timeout.count()) +
                " s; last /readyz: " + last + "\n" + tailOf(state_[test::kClusterApiserverLog]));
  }

  // The CRDs, the namespace and the controller, each when asked for; -1 to go on.
  int startKubewarden() {
    KubewardenLaunch launch{o_.tools,      state_[test::kClusterKubeconfig],
                            o_.dir,        o_.crds,
                            o_.controller, o_.controller_args};
    std::string error;
    auto t0 = Clock::now();
    if (!o_.crds.empty()) {
      if (!applyCrds(launch, error)) return fail(error);
      std::printf("cluster: CRDs of %s established in %.2f s\n", o_.crds.c_str(), secondsSince(t0));
    }
    if (!o_.controller.empty()) {
      t0 = Clock::now();
      if (!startController(
              launch, state_, [this] { save("starting"); }, error))
        return fail(error);
      std::printf("cluster: kubewarden-controller ready in %.2f s (namespace %s, log %s)\n",
                  secondsSince(t0), launch.deployments_namespace.c_str(),
                  state_[test::kClusterControllerLog].c_str());
    }
    return -1;
  }

  // A stand-in that can't start (say, not root) fails a strict run; otherwise only the tests
  // that need it fail or skip, reading KW_CLUSTER_STANDIN_ERROR.
  // -1 to go on; else the exit code of a failure.
  int startStandin(const Pki& pki) {
    StandinLaunch launch{o_.kubelet_standin, o_.standin_policy_server,
                         state_[test::kClusterKubeconfig], o_.dir / "standin", server_};
    std::string error;
    auto t0 = Clock::now();
    if (cluster::startStandin(
            launch, pki, state_, [this] { save("starting"); }, error)) {
      std::printf("cluster: kubelet stand-in ready in %.2f s (node %s, log %s)\n", secondsSince(t0),
                  kStandinNode, state_[test::kClusterStandinLog].c_str());
      return -1;
    }
    std::fprintf(stderr, "cluster: the kubelet stand-in did not start: %s\n", error.c_str());
    if (o_.strict) return fail(error);
    std::string one_line = error.substr(0, error.find('\n'));
    state_[test::kClusterStandinError] =
        one_line.find('\'') == std::string::npos ? one_line : "see its log";
    return -1;
  }

  void save(const std::string& status) {
    state_[test::kClusterStatus] = status;
    if (!test::writeClusterState(envFile(o_), state_))
      std::fprintf(stderr, "cluster: cannot write %s\n", envFile(o_).c_str());
  }

  int fail(const std::string& why) {
    stopRecorded(state_, false);  // the policy-server, if it was started
    for (pid_t pid : {apiserver_pid_, etcd_pid_})
      if (pid > 0) terminate(pid, std::chrono::seconds(10));
    std::string one_line = why.substr(0, why.find('\n'));
    state_[test::kClusterError] = one_line.find('\'') == std::string::npos ? one_line : "see log";
    save("failed");
    std::fprintf(stderr, "cluster: FAILED to start the control plane: %s\n", why.c_str());
    if (o_.strict) return 1;
    std::fprintf(stderr, "cluster: not CI: the cluster tests will skip\n");
    return 0;
  }

  const Options& o_;
  ClusterState state_;
  std::string server_;
  pid_t etcd_pid_ = -1, apiserver_pid_ = -1;
};

}  // namespace

int start(const Options& options) {
  return Starter(options).run();
}

int stop(const Options& options) {
  auto state = test::readClusterState(envFile(options));
  if (!state) {
    std::printf("cluster: no %s; nothing to stop\n", envFile(options).c_str());
    return 0;
  }
  stopRecorded(*state, true);
  std::error_code ec;
  fs::remove_all(options.dir / "etcd-data", ec);
  (*state)[test::kClusterStatus] = "stopped";
  test::writeClusterState(envFile(options), *state);
  std::printf("cluster: stopped; logs kept in %s\n", (options.dir / "logs").c_str());
  return 0;
}

}  // namespace kw::cluster
