// Shared by the context-aware end-to-end tests (tests/context/ and, against the real
// kube-apiserver, tests/cluster/): Kubernetes objects and AdmissionRequests to feed them, and
// `kwctl run` invocations with a given KUBECONFIG.
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

// The policies the context-aware server tests run: our waPC, WASI, OPA and Gatekeeper guests
// reading Namespaces, and a host caller granted only Services (its Namespace calls are denied).
inline std::string contextPoliciesYml() {
  std::string ns_resources =
      "  contextAwareResources:\n"
      "  - apiVersion: v1\n"
      "    kind: Namespace\n";
  std::string out;
  for (const auto& [id, guest] : std::vector<std::pair<std::string, std::string>>{
           {"ns-label", "ctx_namespace_label"},
           {"wasi-ns-label", "wasi_ctx_namespace_label"},
           {"opa-ns", "opa_ctx_namespace"},
           {"gk-ns", "gatekeeper_ctx_namespace"}}) {
    out += id + ":\n  url: " + annotatedGuest(guest).string() + "\n" + ns_resources;
    if (guest.find("label") != std::string::npos) out += "  settings:\n    required_label: owner\n";
  }
  // Granted v1 Service only: its Namespace calls take the denied path.
  out += "caller:\n  url: " + annotatedGuest("host_caller").string() +
         "\n  contextAwareResources:\n  - apiVersion: v1\n    kind: Service\n"
         "  settings:\n    binding: kubewarden\n    namespace: kubernetes\n"
         "    operation: list_resources_all\n"
         "    payload: {\"api_version\": \"v1\", \"kind\": \"Namespace\"}\n";
  return out;
}

}  // namespace kw::context_test
