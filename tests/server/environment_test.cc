// The evaluation environment (spec §1.2 steps 5-9): modules deduplicated by digest, settings
// validated at boot with upstream's error text, execution mode and policy type from metadata,
// and the minimumKubewardenVersion check.
#include "server/environment.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>

#include "support/test_env.h"

namespace kw::server {
namespace {

using admission::Json;
namespace fs = std::filesystem;

class EnvironmentTest : public ::testing::Test {
 protected:
  static std::shared_ptr<wasm::Engine> engine() {
    static auto e = wasm::createV8Engine({wasm::CompileTier::Optimized, 256ull << 20});
    return e;
  }

  void SetUp() override {
    for (const char* g : {"pod_privileged", "settings_check", "add_label", "wasi_pod_privileged"}) {
      if (!fs::exists(test::guestPath(g))) FAIL() << "missing " << test::guestPath(g);
    }
    dir_ = fs::temp_directory_path() / ("kw-environment-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static PolicyEntry entry(const fs::path& module, Json settings = Json::object()) {
    PolicyEntry e;
    e.url = module.string();
    e.settings = std::move(settings);
    return e;
  }

  Result<std::unique_ptr<EvaluationEnvironment>> create(const PolicyMap& policies,
                                                        ServerConfig config = {}) {
    EnvironmentOptions options;
    options.engine = engine();
    return EvaluationEnvironment::create(config, policies, pool_, std::move(options));
  }

  // A copy of guest `name` annotated with `metadata`, in the test's directory.
  fs::path annotated(const std::string& name, const policy::Metadata& metadata,
                     const std::string& file) {
    auto bytes = test::readFile(test::guestPath(name));
    auto written = policy::writeMetadata(bytes, metadata);
    EXPECT_TRUE(written.ok()) << written.error().message;
    fs::path out = dir_ / file;
    std::ofstream(out, std::ios::binary)
        .write(reinterpret_cast<const char*>(written->data()), std::streamsize(written->size()));
    return out;
  }

  static policy::Metadata guestMetadata(const std::string& name) {
    auto bytes = test::readFile(test::guestDir() / (name + ".metadata.yml"));
    auto md = policy::metadataFromYaml(std::string(bytes.begin(), bytes.end()));
    EXPECT_TRUE(md.ok()) << md.error().message;
    return md ? *md : policy::Metadata{};
  }

  WorkerPool pool_{2};
  fs::path dir_;
};

TEST_F(EnvironmentTest, PoliciesOnOneModuleShareIt) {
  // Three ids on one module, reached through three different URLs (path, file://, a copy).
  fs::path copy = dir_ / "copy.wasm";
  fs::copy_file(test::guestPath("pod_privileged"), copy);
  PolicyMap policies{
      {"a", entry(test::guestPath("pod_privileged"))},
      {"b", entry("file://" + test::guestPath("pod_privileged").string())},
      {"c", entry(copy)},
      {"strict", entry(test::guestPath("settings_check"), {{"required_annotation", "owner"}})},
  };
  auto env = create(policies);
  ASSERT_TRUE(env.ok()) << env.error().message;
  EXPECT_EQ((*env)->policyCount(), 4u);
  EXPECT_EQ((*env)->distinctModules(), 2u);
  const auto* a = (*env)->find("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->admission.module.get(), (*env)->find("b")->admission.module.get());
  EXPECT_EQ(a->admission.module.get(), (*env)->find("c")->admission.module.get());
  EXPECT_EQ(a->raw.module.get(), a->admission.module.get());
  EXPECT_NE(a->admission.module.get(), (*env)->find("strict")->admission.module.get());
  EXPECT_EQ((*env)->find("nope"), nullptr);
}

TEST_F(EnvironmentTest, PerPolicyFieldsAreKept) {
  PolicyEntry e = entry(test::guestPath("settings_check"), {{"required_annotation", "owner"}});
  e.mode = PolicyMode::Monitor;
  e.allowed_to_mutate = true;
  e.context_aware_resources = {{"v1", "Namespace"}};
  auto env = create({{"strict", e}});
  ASSERT_TRUE(env.ok()) << env.error().message;
  const EnvironmentPolicy* p = (*env)->find("strict");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->id, "strict");
  EXPECT_EQ(p->mode, PolicyMode::Monitor);
  EXPECT_TRUE(p->allowed_to_mutate);
  EXPECT_EQ(p->context_aware_resources, e.context_aware_resources);
  EXPECT_EQ(p->admission.id, "strict");
  EXPECT_EQ(p->admission.settings_json, R"({"required_annotation":"owner"})");
  EXPECT_EQ(p->admission.mode, policy::ExecutionMode::KubewardenWapc);  // no metadata
  EXPECT_FALSE(p->admission.raw);
  EXPECT_TRUE(p->raw.raw);
  EXPECT_EQ(p->raw.settings_json, p->admission.settings_json);
  EXPECT_FALSE(p->raw_policy);
  EXPECT_EQ(&p->forRequest(true), &p->raw);
  EXPECT_EQ(&p->forRequest(false), &p->admission);
}

TEST_F(EnvironmentTest, InvalidSettingsAtBootUseUpstreamsText) {
  auto env = create({{"psp", entry(test::guestPath("settings_check"))}});
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(env.error().message,
            "[psp] settings are not valid: required_annotation must be a non-empty string");
}

TEST_F(EnvironmentTest, EveryInvalidPolicyIsReported) {
  auto env = create({
      {"good", entry(test::guestPath("settings_check"), {{"required_annotation", "x"}})},
      {"one", entry(test::guestPath("settings_check"))},
      {"two", entry(test::guestPath("settings_check"), {{"required_annotation", 5}})},
  });
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(env.error().message,
            "[one] settings are not valid: required_annotation must be a non-empty string\n"
            "[two] settings are not valid: required_annotation must be a non-empty string");
}

TEST_F(EnvironmentTest, FetchErrorsNameThePolicy) {
  auto missing = create({{"gone", entry(dir_ / "absent.wasm")}});
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.error().message.starts_with("policy \"gone\": ")) << missing.error().message;
}

TEST_F(EnvironmentTest, EveryFetchFailureIsListedOncePerPolicy) {
  EnvironmentOptions options;
  options.engine = engine();
  std::atomic<int> calls{0};
  options.fetcher = [&](const std::string& url) -> Result<fs::path> {
    ++calls;
    if (url.find("good") != std::string::npos) return test::guestPath("pod_privileged");
    return makeError("refused by the test");
  };
  PolicyEntry good, bad1, bad2;
  good.url = "registry://r/good:v1";
  bad1.url = "registry://r/bad:v1";
  bad2.url = "registry://r/other:v1";
  auto env = EvaluationEnvironment::create({}, {{"a", good}, {"b", bad1}, {"c", bad1}, {"d", bad2}},
                                           pool_, std::move(options));
  ASSERT_FALSE(env.ok());
  const std::string& m = env.error().message;
  EXPECT_EQ(calls.load(), 3);  // once per distinct URL
  EXPECT_NE(m.find("policy \"b\": cannot fetch registry://r/bad:v1: refused by the test"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("policy \"c\": cannot fetch registry://r/bad:v1"), std::string::npos) << m;
  EXPECT_NE(m.find("policy \"d\": cannot fetch registry://r/other:v1"), std::string::npos) << m;
  EXPECT_EQ(m.find("policy \"a\""), std::string::npos) << m;
}

TEST_F(EnvironmentTest, CustomFetcherIsUsed) {
  std::vector<std::string> asked;
  EnvironmentOptions options;
  options.engine = engine();
  options.fetcher = [&](const std::string& url) -> Result<fs::path> {
    asked.push_back(url);
    return test::guestPath("pod_privileged");
  };
  PolicyEntry e;
  e.url = "registry://example/psp:v1";
  auto env = EvaluationEnvironment::create({}, {{"x", e}, {"y", e}}, pool_, std::move(options));
  ASSERT_TRUE(env.ok()) << env.error().message;
  EXPECT_EQ(asked, std::vector<std::string>{"registry://example/psp:v1"});  // once per URL
  EXPECT_EQ((*env)->distinctModules(), 1u);
}

TEST_F(EnvironmentTest, NotAModuleIsAnError) {
  fs::path junk = dir_ / "junk.wasm";
  std::ofstream(junk) << "not wasm";
  auto env = create({{"junk", entry(junk)}});
  ASSERT_FALSE(env.ok());
  EXPECT_NE(env.error().message.find(junk.string()), std::string::npos) << env.error().message;
}

TEST_F(EnvironmentTest, ExecutionModeAndPolicyTypeComeFromMetadata) {
  policy::Metadata md = guestMetadata("wasi_pod_privileged");
  ASSERT_EQ(md.executionMode, policy::ExecutionMode::Wasi);
  md.policyType = policy::PolicyType::Raw;
  fs::path module = annotated("wasi_pod_privileged", md, "wasi.wasm");
  auto env = create({{"wasi", entry(module)}});
  ASSERT_TRUE(env.ok()) << env.error().message;
  const EnvironmentPolicy* p = (*env)->find("wasi");
  EXPECT_EQ(p->admission.mode, policy::ExecutionMode::Wasi);
  EXPECT_EQ(p->raw.mode, policy::ExecutionMode::Wasi);
  EXPECT_TRUE(p->raw_policy);
  EXPECT_FALSE(p->admission.raw);
}

TEST_F(EnvironmentTest, MinimumKubewardenVersion) {
  policy::Metadata md = guestMetadata("pod_privileged");
  md.minimumKubewardenVersion = "1.11.0";
  fs::path too_new = annotated("pod_privileged", md, "new.wasm");
  auto env = create({{"new", entry(too_new)}});
  ASSERT_FALSE(env.ok());
  EXPECT_NE(env.error().message.find(
                "Policy required Kubewarden version 1.11.0 but is running on 1.10.0"),
            std::string::npos)
      << env.error().message;

  md.minimumKubewardenVersion = "1.10.7";  // only major.minor count
  fs::path same_minor = annotated("pod_privileged", md, "same.wasm");
  auto ok = create({{"same", entry(same_minor)}});
  EXPECT_TRUE(ok.ok()) << ok.error().message;
}

TEST(EnvironmentVersionTest, CheckMinimumVersionComparesMajorMinor) {
  auto check = [](std::optional<std::string> v) {
    policy::PolicyModule m;
    if (v) {
      m.metadata = policy::Metadata{};
      m.metadata->minimumKubewardenVersion = v;
    }
    return checkMinimumVersion(m);
  };
  EXPECT_TRUE(check(std::nullopt).ok());
  EXPECT_TRUE(check("1.9.0").ok());
  EXPECT_TRUE(check("1.10.0").ok());
  EXPECT_TRUE(check("1.10.99").ok());
  EXPECT_TRUE(check("0.99.0").ok());
  auto newer = check("2.0.0");
  ASSERT_FALSE(newer.ok());
  EXPECT_EQ(newer.error().message,
            "Policy required Kubewarden version 2.0.0 but is running on 1.10.0");
  EXPECT_FALSE(check("1.11.0-rc1").ok());
}

TEST_F(EnvironmentTest, DefaultEngineAndDispatcher) {
  // No options: the environment makes the configured (default) engine and a DefaultDispatcher.
  ServerConfig config;
  config.disable_timeout_protection = true;
  auto env = EvaluationEnvironment::create(
      config, {{"a", entry(test::guestPath("pod_privileged"))}}, pool_);
  ASSERT_TRUE(env.ok()) << env.error().message;
  std::string request = R"({"uid":"u1","object":{"spec":{"containers":[{"name":"c"}]}}})";
  std::promise<admission::OrderedJson> answer;
  ASSERT_TRUE(pool_.submit([&] {
    answer.set_value((*env)->evaluator().validate((*env)->find("a")->admission,
                                                  policy::Request{request, "u1", nullptr}));
  }));
  auto r = answer.get_future().get();
  EXPECT_EQ(r["allowed"], true) << r.dump();
  EXPECT_EQ(r["uid"], "u1");
}

}  // namespace
}  // namespace kw::server
