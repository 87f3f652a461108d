// Shared by the context-aware end-to-end tests: the `kube-fake` binary (the Kubernetes API
// server test double from tests/kube-fake) run as a child process, objects created in it through
// its REST API with curl, and `kwctl run` invocations with KUBECONFIG pointing at it.
//
// Header-only on purpose: tests/CMakeLists.txt compiles only *_test.cc files outside
// tests/support.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "admission/admission_response.h"
#include "support/server_process.h"
#include "support/test_env.h"

namespace kw::context_test {

namespace fs = std::filesystem;
using admission::Json;

inline fs::path makeTempDir(const std::string& tag) {
  static int counter = 0;
  fs::path dir = fs::temp_directory_path() / ("kw-ctx-" + tag + "-" + std::to_string(::getpid()) +
                                              "-" + std::to_string(++counter));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

inline void writeFile(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

inline std::string readText(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Single-quotes a word for /bin/sh.
inline std::string shellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

inline bool haveKubeFake() {
  return fs::exists(test::binDir() / "kube-fake");
}

// The kube-fake binary on a free loopback port, with its kubeconfig in a temp dir. Objects are
// created through the API server's own REST API (POST), as a client would.
class KubeFake {
 public:
  explicit KubeFake(std::vector<std::string> extra_args = {})
      : dir_(makeTempDir("kube")), port_(test::freePort()) {
    std::vector<std::string> args = {(test::binDir() / "kube-fake").string(), "--port",
                                     std::to_string(port_), "--kubeconfig-out",
                                     kubeconfig().string()};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    pid_ = test::spawnLogged(std::move(args), dir_ / "kube-fake.log");
  }
  ~KubeFake() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      for (int i = 0; i < 100 && ::waitpid(pid_, nullptr, WNOHANG) == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    fs::remove_all(dir_);
  }
  KubeFake(const KubeFake&) = delete;
  KubeFake& operator=(const KubeFake&) = delete;

  // Waits until the kubeconfig is written and the API answers discovery with the token.
  bool waitReady(int timeout_ms = 30000) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < end) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      if (fs::exists(kubeconfig()) && readConfig() && request("GET", "/api/v1").first == 200) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  // {HTTP status, body} of one API request (curl, TLS verification off: the fake's CA is
  // ephemeral and the clients under test check it themselves).
  std::pair<int, std::string> request(const std::string& method, const std::string& path,
                                      const std::string& body = "",
                                      const std::string& content_type = "application/json") {
    fs::path body_file = dir_ / "body.json";
    writeFile(body_file, body);
    std::string cmd = "curl -sk -o " + shellQuote((dir_ / "out.json").string()) +
                      " -w '%{http_code}' -X " + method + " -H " +
                      shellQuote("Authorization: Bearer " + token_) + " -H " +
                      shellQuote("Content-Type: " + content_type);
    if (!body.empty()) cmd += " --data-binary @" + shellQuote(body_file.string());
    cmd += " " + shellQuote(server_ + path) + " 2>/dev/null";
    auto r = test::runCommand(cmd);
    int status = std::atoi(r.out.c_str());
    return {status, readText(dir_ / "out.json")};
  }

  // POSTs `object` to its collection; returns the HTTP status.
  int create(const Json& object) {
    return request("POST", collection(object), object.dump()).first;
  }

  const fs::path& dir() const { return dir_; }
  fs::path kubeconfig() const { return dir_ / "kubeconfig"; }
  std::string log() const { return readText(dir_ / "kube-fake.log"); }
  const std::string& server() const { return server_; }

 private:
  bool readConfig() {
    try {
      YAML::Node cfg = YAML::LoadFile(kubeconfig().string());
      std::string current = cfg["current-context"].as<std::string>("");
      std::string cluster, user;
      for (const auto& c : cfg["contexts"]) {
        if (c["name"].as<std::string>("") == current || current.empty()) {
          cluster = c["context"]["cluster"].as<std::string>("");
          user = c["context"]["user"].as<std::string>("");
        }
      }
      for (const auto& c : cfg["clusters"]) {
        if (c["name"].as<std::string>("") == cluster) {
          server_ = c["cluster"]["server"].as<std::string>("");
        }
      }
      for (const auto& u : cfg["users"]) {
        if (u["name"].as<std::string>("") == user) token_ = u["user"]["token"].as<std::string>("");
      }
    } catch (const std::exception&) {
      return false;
    }
    return !server_.empty();
  }

  // /api/v1[/namespaces/<ns>]/<plural> or /apis/<group>/<version>/... for the few kinds used.
  static std::string collection(const Json& object) {
    std::string api_version = object.value("apiVersion", "v1");
    std::string kind = object.value("kind", "");
    std::string plural = kind == "Ingress" ? "ingresses" : [&] {
      std::string p;
      for (char c : kind) p += char(std::tolower(static_cast<unsigned char>(c)));
      return p + "s";
    }();
    std::string base = api_version == "v1" ? "/api/v1" : "/apis/" + api_version;
    std::string ns = object["metadata"].value("namespace", "");
    if (!ns.empty()) base += "/namespaces/" + ns;
    return base + "/" + plural;
  }

  fs::path dir_;
  uint16_t port_;
  pid_t pid_ = -1;
  std::string server_;
  std::string token_;
};

inline Json namespaceObject(const std::string& name, const Json& labels = Json::object()) {
  Json meta = {{"name", name}};
  if (!labels.empty()) meta["labels"] = labels;
  return {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", meta}};
}

inline Json serviceObject(const std::string& ns, const std::string& name) {
  Json port = {{"port", 80}, {"protocol", "TCP"}};
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec", {{"ports", Json::array({port})}}}};
}

inline Json ingressObject(const std::string& ns, const std::string& name, const std::string& host) {
  Json rule = {{"host", host}};
  return {{"apiVersion", "networking.k8s.io/v1"},
          {"kind", "Ingress"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec", {{"rules", Json::array({rule})}}}};
}

inline Json secretObject(const std::string& ns, const std::string& name) {
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"data", {{"k", "dg=="}}}};
}

// A CREATE Pod AdmissionRequest in `ns`.
inline Json podRequest(const std::string& ns, const std::string& uid = "ctx-uid") {
  Json container = {{"name", "c"}, {"image", "nginx"}};
  return {{"uid", uid},
          {"kind", {{"group", ""}, {"version", "v1"}, {"kind", "Pod"}}},
          {"resource", {{"group", ""}, {"version", "v1"}, {"resource", "pods"}}},
          {"operation", "CREATE"},
          {"namespace", ns},
          {"name", "web"},
          {"userInfo", {{"username", "alice"}}},
          {"object",
           {{"apiVersion", "v1"},
            {"kind", "Pod"},
            {"metadata", {{"name", "web"}, {"namespace", ns}}},
            {"spec", {{"containers", Json::array({container})}}}}}};
}

inline Json admissionReview(const Json& request) {
  return {{"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}, {"request", request}};
}

inline fs::path annotatedGuest(const std::string& name) {
  return test::guestDir() / "annotated" / (name + ".wasm");
}

struct KwctlResult {
  int status = -1;
  std::string out;  // stdout
  std::string err;  // stderr
  Json response;    // the last stdout line parsed as JSON (discarded when it is not)
};

// Runs `kwctl run POLICY -r REQUEST -s SETTINGS ARGS...` with the given KUBECONFIG (empty:
// unset) in `dir`.
inline KwctlResult kwctlRun(const fs::path& dir, const fs::path& policy, const Json& request,
                            const Json& settings, const std::vector<std::string>& args,
                            const std::string& kubeconfig) {
  static int counter = 0;
  std::string tag = std::to_string(++counter);
  fs::path req = dir / ("request-" + tag + ".json");
  fs::path set = dir / ("settings-" + tag + ".json");
  fs::path err = dir / ("stderr-" + tag + ".txt");
  writeFile(req, request.dump());
  writeFile(set, settings.dump());
  std::string cmd =
      kubeconfig.empty() ? "env -u KUBECONFIG " : "KUBECONFIG=" + shellQuote(kubeconfig) + " ";
  cmd += shellQuote((test::binDir() / "kwctl").string()) + " run " + shellQuote(policy.string()) +
         " -r " + shellQuote(req.string()) + " -s " + shellQuote(set.string());
  for (const auto& a : args) cmd += " " + shellQuote(a);
  cmd += " 2>" + shellQuote(err.string());
  auto r = test::runCommand(cmd);
  KwctlResult out;
  out.status = r.status;
  out.out = r.out;
  out.err = readText(err);
  std::string last = r.out;
  while (!last.empty() && last.back() == '\n') last.pop_back();
  if (auto nl = last.rfind('\n'); nl != std::string::npos) last = last.substr(nl + 1);
  out.response = Json::parse(last, nullptr, false);
  // No answer (e.g. kwctl refused its flags): an empty object keeps the tests' lookups safe.
  if (!out.response.is_object()) out.response = Json::object();
  return out;
}

inline std::string statusMessage(const Json& response) {
  if (!response.is_object() || !response.contains("status")) return "";
  return response["status"].value("message", "");
}

// The names of a List's items.
inline std::vector<std::string> itemNames(const Json& list) {
  std::vector<std::string> names;
  if (!list.is_object() || !list.contains("items")) return names;
  for (const Json& item : list["items"]) names.push_back(item["metadata"].value("name", ""));
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace kw::context_test
