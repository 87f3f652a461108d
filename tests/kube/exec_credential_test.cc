// Exec credential plugins: small sh scripts written by each test stand in for aws,
// gke-gcloud-auth-plugin and friends. They count their runs and record what they were given.
#include "kube/exec_credential.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <atomic>
#include <cerrno>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "kube/kube_fixture.h"
#include "kube/kubeconfig_exec.h"

namespace kw::kube {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using std::chrono::system_clock;

constexpr const char* kCertPem =
    "-----BEGIN CERTIFICATE-----\nQ0VSVA==\n-----END CERTIFICATE-----\n";
constexpr const char* kKeyPem = "-----BEGIN PRIVATE KEY-----\nS0VZ\n-----END PRIVATE KEY-----\n";

std::string slurp(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class ExecPlugin : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::tempDir("exec"); }
  void TearDown() override { fs::remove_all(dir_); }

  // An executable script that records its run, arguments, KUBERNETES_EXEC_INFO and $PLUGIN_VAR,
  // then runs `body`.
  ExecConfig plugin(const std::string& body, const std::string& api_version = kExecV1) {
    fs::path script = dir_ / "plugin.sh";
    std::ofstream(script) << "#!/bin/sh\n"
                          << "echo run >> '" << (dir_ / "runs").string() << "'\n"
                          << "printf '%s\\n' \"$@\" > '" << (dir_ / "args").string() << "'\n"
                          << "printf '%s' \"$KUBERNETES_EXEC_INFO\" > '" << (dir_ / "info").string()
                          << "'\n"
                          << "printf '%s' \"$PLUGIN_VAR\" > '" << (dir_ / "var").string() << "'\n"
                          << body << "\n";
    ::chmod(script.c_str(), 0755);
    ExecConfig exec;
    exec.api_version = api_version;
    exec.command = script.string();
    exec.interactive_mode = "Never";
    exec.user = "tester";
    return exec;
  }
  // A plugin printing `credential` (JSON) on stdout.
  ExecConfig printing(const json& credential, const std::string& api_version = kExecV1) {
    return plugin("cat <<'EOF'\n" + credential.dump() + "\nEOF", api_version);
  }
  static json credential(const json& status, const std::string& api_version = kExecV1) {
    return {{"apiVersion", api_version}, {"kind", "ExecCredential"}, {"status", status}};
  }
  int runs() {
    std::ifstream in(dir_ / "runs");
    int n = 0;
    for (std::string line; std::getline(in, line);) ++n;
    return n;
  }
  std::string errorOf(const ExecConfig& exec,
                      std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    auto cred = runExecPlugin(exec, timeout);
    EXPECT_FALSE(cred.ok());
    return cred.ok() ? "" : cred.error().message;
  }

  fs::path dir_;
};

TEST_F(ExecPlugin, TokenWithBothApiVersionsArgsEnvAndExecInfo) {
  for (const std::string api : {kExecV1, kExecV1beta1}) {
    ExecConfig exec = printing(credential({{"token", "tok-" + api}}, api), api);
    exec.args = {"get-token", "--cluster", "a b"};
    exec.env = {{"PLUGIN_VAR", "from kubeconfig"}};
    auto cred = runExecPlugin(exec);
    ASSERT_TRUE(cred.ok()) << cred.error().message;
    EXPECT_EQ(cred->token, "tok-" + api);
    EXPECT_TRUE(cred->client_cert_pem.empty());
    EXPECT_FALSE(cred->expires.has_value());
    EXPECT_EQ(slurp(dir_ / "args"), "get-token\n--cluster\na b\n");
    EXPECT_EQ(slurp(dir_ / "var"), "from kubeconfig");
    EXPECT_EQ(json::parse(slurp(dir_ / "info")), json({{"apiVersion", api},
                                                       {"kind", "ExecCredential"},
                                                       {"spec", {{"interactive", false}}}}));
  }
}

TEST_F(ExecPlugin, TheInheritedEnvironmentIsKept) {
  test::ScopedEnv inherited("PLUGIN_VAR", "inherited");
  auto cred = runExecPlugin(printing(credential({{"token", "t"}})));
  ASSERT_TRUE(cred.ok()) << cred.error().message;
  EXPECT_EQ(slurp(dir_ / "var"), "inherited");
}

TEST_F(ExecPlugin, ClientCertificateWithExpiry) {
  auto cred =
      runExecPlugin(printing(credential({{"clientCertificateData", kCertPem},
                                         {"clientKeyData", kKeyPem},
                                         {"expirationTimestamp", "2030-01-02T03:04:05Z"}})));
  ASSERT_TRUE(cred.ok()) << cred.error().message;
  EXPECT_EQ(cred->client_cert_pem, kCertPem);
  EXPECT_EQ(cred->client_key_pem, kKeyPem);
  EXPECT_TRUE(cred->token.empty());
  ASSERT_TRUE(cred->expires.has_value());
  EXPECT_EQ(system_clock::to_time_t(*cred->expires), 1893553445);
}

TEST_F(ExecPlugin, ProvideClusterInfoSetsSpecCluster) {
  ExecConfig exec = printing(credential({{"token", "t"}}));
  exec.cluster_info_json = R"({"server":"https://k:6443","config":{"audience":"a"}})";
  ASSERT_TRUE(runExecPlugin(exec).ok());
  EXPECT_EQ(json::parse(slurp(dir_ / "info")),
            json::parse(R"({"apiVersion":"client.authentication.k8s.io/v1",
                "kind":"ExecCredential","spec":{"interactive":false,
                "cluster":{"server":"https://k:6443","config":{"audience":"a"}}}})"));
}

TEST_F(ExecPlugin, ProcessFailuresAreExplained) {
  ExecConfig absent = plugin("");
  absent.command = (dir_ / "absent").string();
  std::string who = "exec plugin \"" + absent.command + "\" of kubeconfig user \"tester\"";
  EXPECT_EQ(errorOf(absent), who + " was not found (is it installed and in PATH?)");
  absent.command = "kw-no-such-plugin-anywhere";
  absent.install_hint = "Install it with: apt install kw-plugin";
  EXPECT_EQ(errorOf(absent),
            "exec plugin \"kw-no-such-plugin-anywhere\" of kubeconfig user \"tester\" was not "
            "found; Install it with: apt install kw-plugin");

  ExecConfig failing = plugin("echo 'session expired, run login' >&2\nexit 3");
  who = "exec plugin \"" + failing.command + "\" of kubeconfig user \"tester\"";
  EXPECT_EQ(errorOf(failing), who + " exited with code 3: session expired, run login");
  EXPECT_EQ(errorOf(plugin("exit 1")), who + " exited with code 1 (nothing on stderr)");
  std::string chatty = errorOf(plugin("head -c 5000 /dev/zero | tr '\\0' x >&2\nexit 1"));
  EXPECT_EQ(chatty,
            who + " exited with code 1: " + std::string(1024, 'x') + "... (3976 more bytes)");
  EXPECT_EQ(errorOf(plugin("kill -9 $$")), who + " was killed by signal 9 (nothing on stderr)");
}

TEST_F(ExecPlugin, AHungOrFloodingPluginIsKilled) {
  auto start = std::chrono::steady_clock::now();
  ExecConfig hung = plugin("sleep 30 & wait");  // the grandchild holds stdout open as well
  std::string who = "exec plugin \"" + hung.command + "\" of kubeconfig user \"tester\"";
  EXPECT_EQ(errorOf(hung, std::chrono::milliseconds(300)),
            who + " did not finish within 300 ms and was killed");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_EQ(errorOf(plugin("head -c 5000000 /dev/zero")),
            who + " printed more than 4194304 bytes and was killed");
}

TEST_F(ExecPlugin, RunsLeaveNoZombies) {
  ASSERT_TRUE(runExecPlugin(printing(credential({{"token", "t"}}))).ok());
  (void)runExecPlugin(plugin("exit 2"));
  (void)runExecPlugin(plugin("sleep 30"), std::chrono::milliseconds(100));
  errno = 0;
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

TEST(ExecCredentialParse, InvalidAnswersAreExplained) {
  ExecConfig exec;
  exec.api_version = kExecV1;
  exec.command = "p";
  exec.user = "u";
  const std::string who = "exec plugin \"p\" of kubeconfig user \"u\"";
  auto status = [](json s) {
    return json({{"apiVersion", kExecV1}, {"kind", "ExecCredential"}, {"status", s}}).dump();
  };
  struct Case {
    std::string out, expected;
  } cases[] = {
      {"token: abc", " did not print an ExecCredential JSON object on stdout"},
      {"[1]", " did not print an ExecCredential JSON object on stdout"},
      {json({{"apiVersion", kExecV1beta1}, {"kind", "ExecCredential"}}).dump(),
       " answered with apiVersion \"client.authentication.k8s.io/v1beta1\", but "
       "client.authentication.k8s.io/v1 was asked for"},
      {json({{"apiVersion", kExecV1}, {"kind", "Secret"}}).dump(),
       " answered with kind \"Secret\", not ExecCredential"},
      {json({{"apiVersion", kExecV1}, {"kind", "ExecCredential"}}).dump(),
       " returned an ExecCredential without status"},
      {status(json::object()),
       " returned neither status.token nor status.clientCertificateData and "
       "status.clientKeyData"},
      {status({{"clientCertificateData", kCertPem}}),
       " returned status.clientCertificateData without clientKeyData"},
      {status({{"clientKeyData", kKeyPem}}),
       " returned status.clientKeyData without clientCertificateData"},
      {status({{"clientCertificateData", "CERT"}, {"clientKeyData", "KEY"}}),
       " returned a client certificate or key that is not PEM"},
      {status({{"token", "t"}, {"expirationTimestamp", "tomorrow"}}),
       " returned status.expirationTimestamp tomorrow, which is not an RFC 3339 time"},
  };
  for (const Case& c : cases) {
    auto cred = parseExecCredential(c.out, exec);
    ASSERT_FALSE(cred.ok()) << c.out;
    EXPECT_EQ(cred.error().message, who + c.expected);
  }
  auto both = parseExecCredential(
      status({{"token", "t"}, {"clientCertificateData", kCertPem}, {"clientKeyData", kKeyPem}}),
      exec);
  ASSERT_TRUE(both.ok()) << both.error().message;
  EXPECT_EQ(both->token, "t");
  EXPECT_EQ(both->client_key_pem, kKeyPem);
}

// Found by fuzz/kubeconfig_fuzz.cc: an expiry past 2262 overflowed converting seconds to
// system_clock's nanoseconds (undefined behaviour; the credential then looked long expired).
TEST(ExecCredentialParse, ExpiriesBeyondTheClocksRangeAreHeldAtItsEnds) {
  ExecConfig exec;
  exec.api_version = kExecV1;
  exec.command = "p";
  auto expiry = [&](const char* when) {
    auto cred = parseExecCredential(json({{"apiVersion", kExecV1},
                                          {"kind", "ExecCredential"},
                                          {"status", {{"token", "t"}, {"expirationTimestamp", when}}}})
                                        .dump(),
                                    exec);
    EXPECT_TRUE(cred.ok()) << when;
    return cred.ok() ? cred->expires : std::nullopt;
  };
  using std::chrono::system_clock;
  EXPECT_EQ(expiry("4060-01-02T03:04:05Z"), system_clock::time_point::max());
  EXPECT_EQ(expiry("1000-01-01T00:00:00Z"), system_clock::time_point::min());
  EXPECT_EQ(expiry("2030-01-01T00:00:00Z"),
            system_clock::time_point(std::chrono::seconds(1893456000)));
}

// The source runs the plugin again only when its credential expired (the test's clock moves)
// or a 401 invalidated it.
TEST_F(ExecPlugin, SourceCachesUntilExpiry) {
  auto now = system_clock::from_time_t(1893553445 - 60);  // a minute before the expiry
  ExecCredentialSource source(
      printing(credential({{"token", "t"}, {"expirationTimestamp", "2030-01-02T03:04:05Z"}})),
      [&] { return now; });
  auto first = source.get();
  ASSERT_TRUE(first.ok()) << first.error().message;
  auto second = source.get();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(runs(), 1);
  EXPECT_EQ(first->get(), second->get());
  now += std::chrono::minutes(2);
  auto third = source.get();
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(runs(), 2);
  EXPECT_NE(third->get(), first->get());
  // The fake clock stays past the expiry: each get() runs it again.
  ASSERT_TRUE(source.get().ok());
  EXPECT_EQ(runs(), 3);
}

TEST_F(ExecPlugin, WithoutExpiryTheCredentialLastsUntilInvalidated) {
  ExecCredentialSource source(printing(credential({{"token", "t"}})),
                              [] { return system_clock::from_time_t(4102444800); });  // 2100
  auto first = source.get();
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_TRUE(source.get().ok());
  EXPECT_EQ(runs(), 1);
  source.invalidate(*first);
  ASSERT_TRUE(source.get().ok());
  EXPECT_EQ(runs(), 2);
  source.invalidate(*first);  // a 401 seen with the old one: the fresh credential is kept
  ASSERT_TRUE(source.get().ok());
  EXPECT_EQ(runs(), 2);
}

TEST_F(ExecPlugin, ConcurrentRequestsShareOneRun) {
  ExecCredentialSource source(
      plugin("sleep 0.3\ncat <<'EOF'\n" + credential({{"token", "t"}}).dump() + "\nEOF"));
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&] {
      if (auto cred = source.get(); cred.ok() && (*cred)->token == "t") ++ok;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 4);
  EXPECT_EQ(runs(), 1);
}

TEST_F(ExecPlugin, AFailedRunIsNotCached) {
  ExecCredentialSource source(plugin("exit 7"));
  auto first = source.get();
  ASSERT_FALSE(first.ok());
  EXPECT_NE(first.error().message.find("exited with code 7"), std::string::npos);
  EXPECT_FALSE(source.get().ok());
  EXPECT_EQ(runs(), 2);
}

}  // namespace
}  // namespace kw::kube
