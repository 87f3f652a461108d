// policies.yml and sources.yml (spec §1.4, §1.5): YAML or JSON, upstream's defaults, unknown
// keys ignored, errors naming the file, the policy and the field; and the local Fetcher.
#include "server/policies_file.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "oci/registry_test_util.h"
#include "support/test_env.h"

namespace kw::server {
namespace {

using admission::Json;
namespace fs = std::filesystem;

constexpr char kFullYaml[] = R"(
psp-capabilities:
  url: file:///policies/psp.wasm
  policyMode: monitor
  allowedToMutate: true
  settings:
    allowed_capabilities: ["*"]
    max: 3
    ratio: 0.5
    enabled: yes-really
    strict: false
    quoted_number: "42"
    nothing: ~
  contextAwareResources:
    - apiVersion: v1
      kind: Namespace
    - apiVersion: apps/v1
      kind: Deployment
  namespacedName:
    Namespace: ""
    Name: psp-capabilities
minimal:
  url: /policies/minimal.wasm
)";

// Parses `text` expecting success.
PolicyMap parseOk(std::string_view text) {
  auto r = parsePolicies(text, "policies.yml");
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r ? *r : PolicyMap{};
}

// Parses `text` expecting an error, returned.
std::string parseError(std::string_view text) {
  auto r = parsePolicies(text, "policies.yml");
  EXPECT_FALSE(r.ok()) << text;
  return r ? "" : r.error().message;
}

TEST(PoliciesFileTest, FullYaml) {
  PolicyMap m = parseOk(kFullYaml);
  ASSERT_EQ(m.size(), 2u);
  const PolicyEntry& p = m.at("psp-capabilities");
  EXPECT_EQ(p.url, "file:///policies/psp.wasm");
  EXPECT_EQ(p.mode, PolicyMode::Monitor);
  EXPECT_TRUE(p.allowed_to_mutate);
  EXPECT_EQ(p.settings, Json::parse(R"({"allowed_capabilities": ["*"], "max": 3, "ratio": 0.5,
      "enabled": "yes-really", "strict": false, "quoted_number": "42", "nothing": null})"));
  std::set<policy::ContextAwareResource> expected{{"v1", "Namespace"}, {"apps/v1", "Deployment"}};
  EXPECT_EQ(p.context_aware_resources, expected);
}

TEST(PoliciesFileTest, Defaults) {
  PolicyMap m = parseOk(kFullYaml);
  const PolicyEntry& p = m.at("minimal");
  EXPECT_EQ(p.url, "/policies/minimal.wasm");
  EXPECT_EQ(p.mode, PolicyMode::Protect);
  EXPECT_FALSE(p.allowed_to_mutate);
  EXPECT_EQ(p.settings, Json::object());
  EXPECT_TRUE(p.context_aware_resources.empty());
}

TEST(PoliciesFileTest, NullSettingsAreAnEmptyObject) {
  PolicyMap m = parseOk("a:\n  url: a.wasm\n  settings:\n  policyMode: protect\n");
  EXPECT_EQ(m.at("a").settings, Json::object());
  EXPECT_EQ(m.at("a").settings.dump(), "{}");
}

TEST(PoliciesFileTest, Json) {
  PolicyMap m = parseOk(R"({
    "psp": {"url": "file:///p.wasm", "policyMode": "monitor", "allowedToMutate": false,
            "settings": {"a": [1, "two", true, null], "nested": {"x": 1.5}},
            "contextAwareResources": [{"apiVersion": "v1", "kind": "Pod"}],
            "namespacedName": {"Namespace": "", "Name": "psp"}},
    "other": {"url": "o.wasm", "settings": null}
  })");
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m.at("psp").mode, PolicyMode::Monitor);
  EXPECT_EQ(m.at("psp").settings,
            Json::parse(R"({"a": [1, "two", true, null], "nested": {"x": 1.5}})"));
  EXPECT_EQ(m.at("psp").context_aware_resources.size(), 1u);
  EXPECT_EQ(m.at("other").settings, Json::object());
}

TEST(PoliciesFileTest, EmptyFileHasNoPolicies) {
  EXPECT_TRUE(parseOk("").empty());
  EXPECT_TRUE(parseOk("# only a comment\n").empty());
}

TEST(PoliciesFileTest, YamlScalarsFollowTheCoreSchema) {
  PolicyMap m = parseOk(R"(p:
  url: p.wasm
  settings:
    hex: 0x1F
    octal: 0o17
    negative: -5
    exp: 1e3
    upper_true: TRUE
    string_yes: yes
    string_on: on
    tagged: !!str 12
    single: '007'
    big: 18446744073709551615
)");
  EXPECT_EQ(m.at("p").settings, Json::parse(R"({"hex": 31, "octal": 15, "negative": -5,
      "exp": 1000.0, "upper_true": true, "string_yes": "yes", "string_on": "on",
      "tagged": "12", "single": "007", "big": 18446744073709551615})"));
}

TEST(PoliciesFileTest, ErrorsNameFilePolicyAndField) {
  EXPECT_EQ(parseError("psp:\n  url: a.wasm\n  policyMode: enforce\n"),
            R"(policies.yml: policy "psp": field "policyMode": expected protect or monitor)");
  EXPECT_EQ(parseError("psp:\n  policyMode: protect\n"),
            R"(policies.yml: policy "psp": field "url": missing (the module URL is required))");
  EXPECT_EQ(parseError("psp:\n  url: [a]\n"),
            R"(policies.yml: policy "psp": field "url": expected a string)");
  EXPECT_EQ(parseError("psp:\n  url: a.wasm\n  allowedToMutate: yes\n"),
            R"(policies.yml: policy "psp": field "allowedToMutate": expected true or false)");
  EXPECT_EQ(parseError("psp:\n  url: a.wasm\n  settings: [1, 2]\n"),
            R"(policies.yml: policy "psp": field "settings": expected a map)");
  EXPECT_EQ(parseError("psp:\n  url: a.wasm\n  contextAwareResources: {kind: Pod}\n"),
            R"(policies.yml: policy "psp": field "contextAwareResources": expected a list)");
  EXPECT_EQ(parseError("psp:\n  url: a.wasm\n  contextAwareResources:\n  - apiVersion: v1\n"),
            R"(policies.yml: policy "psp": field "contextAwareResources[0].kind": missing)");
  EXPECT_EQ(parseError("psp:\n  url: a.wasm\n  contextAwareResources:\n  - kind: Pod\n"
                       "    apiVersion: 1\n"),
            R"(policies.yml: policy "psp": field "contextAwareResources[0].apiVersion": )"
            "expected a string");
  EXPECT_EQ(parseError("psp: a.wasm\n"),
            R"(policies.yml: policy "psp": expected a map with at least the field "url")");
  EXPECT_EQ(parseError("psp:\n  url: a.wasm\npsp:\n  url: b.wasm\n"),
            R"(policies.yml: policy "psp": duplicate policy id)");
  EXPECT_EQ(parseError("- url: a.wasm\n"), "policies.yml: expected a map of policy id to policy");
}

TEST(PoliciesFileTest, SyntaxErrorsNameFileAndPosition) {
  std::string e = parseError("psp:\n  url: a.wasm\n  settings: {a: 1\n");
  EXPECT_TRUE(e.starts_with("policies.yml: invalid YAML at line ")) << e;
  std::string j = parseError(R"({"psp": {"url": "a.wasm"})");
  EXPECT_TRUE(j.starts_with("policies.yml: ")) << j;
}

// Found by fuzz/policies_fuzz.cc: a YAML map or list used as a key has no JSON form, and the
// exception saying so escaped parsePolicies and ended the process.
TEST(PoliciesFileTest, ANonScalarKeyIsAnErrorNotAnException) {
  EXPECT_EQ(parseError("psp:\n  url: a.wasm\n  settings:\n    ? [a, b]\n    : 1\n"),
            R"(policies.yml: policy "psp": a mapping key must be a scalar)");
  EXPECT_EQ(parseError("psp:\n  {x: 1}: a.wasm\n"),
            R"(policies.yml: policy "psp": a mapping key must be a scalar)");
}

class PoliciesFileOnDiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("kw-policies-file-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write(const std::string& name, const std::string& text) {
    fs::path p = dir_ / name;
    std::ofstream(p) << text;
    return p;
  }

  fs::path dir_;
};

TEST_F(PoliciesFileOnDiskTest, ReadPoliciesFileUsesThePathInErrors) {
  auto good = readPoliciesFile(write("policies.yml", "a:\n  url: a.wasm\n"));
  ASSERT_TRUE(good.ok()) << good.error().message;
  EXPECT_EQ(good->at("a").url, "a.wasm");

  fs::path bad = write("bad.yml", "a:\n  url: a.wasm\n  policyMode: x\n");
  auto r = readPoliciesFile(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().message.starts_with(bad.string() + ": policy \"a\"")) << r.error().message;

  auto missing = readPoliciesFile(dir_ / "absent.yml");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("absent.yml"), std::string::npos);
}

TEST_F(PoliciesFileOnDiskTest, PolicyFetcherServesPathsAndFileUrls) {
  fs::path module = write("m.wasm", "\0asm");
  auto fetch = makePolicyFetcher(dir_ / "downloads", std::nullopt, std::nullopt);
  ASSERT_TRUE(fetch.ok()) << fetch.error().message;
  auto plain = (*fetch)(module.string());
  ASSERT_TRUE(plain.ok()) << plain.error().message;
  EXPECT_EQ(fs::weakly_canonical(*plain), fs::weakly_canonical(module));
  auto file_url = (*fetch)("file://" + module.string());
  ASSERT_TRUE(file_url.ok()) << file_url.error().message;
  EXPECT_EQ(fs::weakly_canonical(*file_url), fs::weakly_canonical(module));

  auto missing = (*fetch)("file://" + (dir_ / "nope.wasm").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("nope.wasm"), std::string::npos)
      << missing.error().message;
  // Nothing is downloaded for local files.
  EXPECT_FALSE(fs::exists(dir_ / "downloads" / "registry"));
}

TEST_F(PoliciesFileOnDiskTest, PolicyFetcherReadsSourcesUpFront) {
  fs::path bad = write("sources.yml", "insecure_sources: {not: a list}\n");
  auto fetch = makePolicyFetcher(dir_ / "downloads", bad.string(), std::nullopt);
  ASSERT_FALSE(fetch.ok());
  EXPECT_NE(fetch.error().message.find("sources.yml"), std::string::npos) << fetch.error().message;
  auto absent = makePolicyFetcher(dir_ / "downloads", (dir_ / "absent.yml").string(), std::nullopt);
  EXPECT_FALSE(absent.ok());
}

TEST(PoliciesFileFetchTest, UnreachableRegistryIsAnErrorNamingTheUrl) {
  auto dir = fs::temp_directory_path() / ("kw-pf-fetch-" + std::to_string(::getpid()));
  auto fetch = makePolicyFetcher(dir, std::nullopt, std::nullopt);
  ASSERT_TRUE(fetch.ok());
  auto r = (*fetch)("registry://127.0.0.1:1/kubewarden/psp:v0.1.0");
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(r.error().message.empty());
  EXPECT_FALSE(fs::exists(dir / "registry" / "127.0.0.1:1" / "kubewarden" / "psp:v0.1.0"));
  fs::remove_all(dir);
}

TEST(PoliciesFileSourcesTest, ParsesSourcesYml) {
  auto s = parseSources(R"(
insecure_sources: ["registry.dev.my-corp.com", "registry-2.dev.my-corp.com:5001"]
source_authorities:
  "registry.pre.my-corp.com:5001":
    - type: Path
      path: /path/to/ca.pem
    - type: Data
      data: |
        -----BEGIN CERTIFICATE-----
        abc
        -----END CERTIFICATE-----
unknown_key: ignored
)",
                        "sources.yml");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->insecure_sources,
            (std::set<std::string>{"registry.dev.my-corp.com", "registry-2.dev.my-corp.com:5001"}));
  const auto& cas = s->source_authorities.at("registry.pre.my-corp.com:5001");
  ASSERT_EQ(cas.size(), 2u);
  EXPECT_EQ(cas[0].type, SourceAuthority::Type::Path);
  EXPECT_EQ(cas[0].path, "/path/to/ca.pem");
  EXPECT_EQ(cas[1].type, SourceAuthority::Type::Data);
  EXPECT_TRUE(cas[1].data.starts_with("-----BEGIN CERTIFICATE-----\nabc\n")) << cas[1].data;

  auto empty = parseSources("", "sources.yml");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->insecure_sources.empty());
}

TEST(PoliciesFileSourcesTest, ErrorsNameFileAndEntry) {
  auto bad_type = parseSources("source_authorities:\n  host:\n  - type: Url\n", "sources.yml");
  ASSERT_FALSE(bad_type.ok());
  EXPECT_EQ(bad_type.error().message,
            R"(sources.yml: source_authorities "host"[0]: field "type": expected Path or Data)");
  auto no_data = parseSources("source_authorities:\n  host:\n  - type: Data\n", "sources.yml");
  ASSERT_FALSE(no_data.ok());
  EXPECT_EQ(no_data.error().message,
            R"(sources.yml: source_authorities "host"[0]: field "data": expected a string)");
  auto insecure = parseSources("insecure_sources: host\n", "sources.yml");
  ASSERT_FALSE(insecure.ok());
  EXPECT_EQ(insecure.error().message, R"(sources.yml: field "insecure_sources": expected a list)");
}

// Found by fuzz/sources_fuzz.cc: a map used as a key threw out of parseSources instead of
// failing with the file's name.
TEST(PoliciesFileSourcesTest, ANonScalarKeyIsAnErrorNotAnException) {
  auto s = parseSources("insecure_sources: [a]\n? {host: x}\n: y\n", "sources.yml");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "sources.yml: a mapping key must be a scalar");
}

}  // namespace
}  // namespace kw::server

namespace kw::server {
namespace {

// Issue 16's probe: `setting:` for `settings:` turned a policy's settings off without a word.
TEST(PoliciesFileTest, UnknownFieldsAreAcceptedWithAWarning) {
  std::ostringstream log;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
  auto policies = parsePolicies(
      "safe:\n  url: file:///p.wasm\n  setting:\n    denied_labels: [owner]\n"
      "  namespacedName: {Namespace: \"\", Name: safe}\n",
      "policies.yml");
  spdlog::set_default_logger(previous);
  ASSERT_TRUE(policies.ok()) << policies.error().message;
  EXPECT_TRUE(policies->at("safe").settings.empty());
  EXPECT_NE(log.str().find("policies.yml: policy \"safe\": unknown field \"setting\" is ignored"),
            std::string::npos)
      << log.str();
  EXPECT_EQ(log.str().find("namespacedName"), std::string::npos) << log.str();
}

// Issue 16's probe: `policy-server --policies /etc` died on an uncaught std::ios_base::failure.
TEST(PoliciesFileTest, AFolderIsAClearError) {
  auto policies = readPoliciesFile("/etc");
  ASSERT_FALSE(policies.ok());
  EXPECT_EQ(policies.error().message, "/etc is a directory, not a file");
  auto run = test::runCommand((test::binDir() / "policy-server").string() +
                              " --policies /etc --port 0 2>&1");
  EXPECT_GT(run.status, 0) << run.out;  // an exit with an error, not a crash (-1)
  EXPECT_NE(run.out.find("/etc is a directory, not a file"), std::string::npos) << run.out;
}

// The same probe with the folder as a policy's module: `url: file:///etc` was "not found".
TEST(PoliciesFileTest, AFolderAsAPolicyModuleIsAClearError) {
  std::filesystem::path dir = test::freshTestDir("policies-folder-url");
  std::ofstream(dir / "policies.yml") << "folder:\n  url: file:///etc\n";
  auto run = test::runCommand((test::binDir() / "policy-server").string() + " --policies " +
                              (dir / "policies.yml").string() + " --policies-download-dir " +
                              dir.string() + " --port 0 2>&1");
  std::filesystem::remove_all(dir);
  EXPECT_GT(run.status, 0) << run.out;
  EXPECT_NE(run.out.find("policy \"folder\": cannot fetch file:///etc: policy file file:///etc "
                         "is a directory, not a file"),
            std::string::npos)
      << run.out;
}

}  // namespace
}  // namespace kw::server
