// kwctl annotate and inspect, end to end through the built binary.
#include <gtest/gtest.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "policy/metadata.h"
#include "support/cant_run.h"
#include "support/test_env.h"

namespace kw::kwctl {
namespace {

namespace fs = std::filesystem;

const std::vector<uint8_t> kEmptyModule = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};

const char* kMetadataYml = R"(rules:
- apiGroups: [""]
  apiVersions: ["v1"]
  resources: ["pods"]
  operations: ["CREATE", "UPDATE"]
mutating: false
backgroundAudit: false
contextAwareResources:
- apiVersion: v1
  kind: Namespace
executionMode: kubewarden-wapc
minimumKubewardenVersion: 1.9.0
annotations:
  io.kubewarden.policy.title: e2e-policy
  io.kubewarden.policy.description: "A policy used by the tests: nothing more"
  io.kubewarden.policy.author: Test Suite
  io.kubewarden.policy.license: Apache-2.0
  io.artifacthub.keywords: "pod, test"
)";

const char* kReadme = "# e2e-policy\n\nRejects nothing.\n\n```yaml\nkey: value\n```\n";

std::string quote(const fs::path& p) {
  return "'" + p.string() + "'";
}

std::string kwctl() {
  return quote(test::binDir() / "kwctl");
}

void writeFile(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

void writeFile(const fs::path& p, const std::vector<uint8_t>& bytes) {
  std::ofstream(p, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

class AnnotateInspect : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("kw-annotate-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    // A real waPC guest: annotate asks it for its protocol version, as upstream does.
    writeFile(dir_ / "policy.wasm", test::readFile(test::guestPath("pod_privileged")));
    writeFile(dir_ / "metadata.yml", std::string(kMetadataYml));
    writeFile(dir_ / "README.md", std::string(kReadme));
    if (!fs::exists(test::binDir() / "kwctl")) KW_CANT_RUN() << "kwctl binary not built";
  }
  void TearDown() override { fs::remove_all(dir_); }

  test::CommandResult annotate(const std::string& extra = "") {
    return test::runCommand(kwctl() + " annotate " + quote(dir_ / "policy.wasm") + " -m " +
                            quote(dir_ / "metadata.yml") + " -u " + quote(dir_ / "README.md") +
                            " -o " + quote(dir_ / "annotated.wasm") + extra + " 2>&1");
  }

  fs::path dir_;
};

TEST_F(AnnotateInspect, AnnotatedModuleInspectsAsYaml) {
  auto annotated = annotate();
  ASSERT_EQ(annotated.status, 0) << annotated.out;
  ASSERT_TRUE(fs::exists(dir_ / "annotated.wasm"));
  // Nothing is left behind by the atomic write.
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir_)) files += entry.is_regular_file();
  EXPECT_EQ(files, 4);

  auto shown = test::runCommand(kwctl() + " inspect -o yaml " + quote(dir_ / "annotated.wasm"));
  ASSERT_EQ(shown.status, 0) << shown.out;

  YAML::Node doc = YAML::Load(shown.out);
  EXPECT_EQ(doc["protocolVersion"].as<std::string>(), "v1");  // filled in by annotate
  EXPECT_FALSE(doc["mutating"].as<bool>());
  EXPECT_FALSE(doc["backgroundAudit"].as<bool>());
  EXPECT_EQ(doc["executionMode"].as<std::string>(), "kubewarden-wapc");
  EXPECT_EQ(doc["policyType"].as<std::string>(), "kubernetes");
  EXPECT_EQ(doc["minimumKubewardenVersion"].as<std::string>(), "1.9.0");
  ASSERT_EQ(doc["rules"].size(), 1u);
  EXPECT_EQ(doc["rules"][0]["apiGroups"][0].as<std::string>(), "");
  EXPECT_EQ(doc["rules"][0]["operations"][1].as<std::string>(), "UPDATE");
  EXPECT_EQ(doc["contextAwareResources"][0]["kind"].as<std::string>(), "Namespace");
  const YAML::Node annotations = doc["annotations"];
  EXPECT_EQ(annotations["io.kubewarden.policy.title"].as<std::string>(), "e2e-policy");
  EXPECT_EQ(annotations["io.kubewarden.policy.description"].as<std::string>(),
            "A policy used by the tests: nothing more");
  EXPECT_EQ(annotations["io.kubewarden.policy.usage"].as<std::string>(), kReadme);
  EXPECT_EQ(annotations["io.kubewarden.kwctl"].as<std::string>(), "1.10.0-cpp");

  // The same document, decoded as metadata, equals what annotate put in the module.
  auto from_yaml = policy::metadataFromYaml(shown.out);
  ASSERT_TRUE(from_yaml.ok()) << from_yaml.error().message;
  auto in_module = policy::readMetadata(test::readFile(dir_ / "annotated.wasm"));
  ASSERT_TRUE(in_module.ok()) << in_module.error().message;
  ASSERT_TRUE(in_module->has_value());
  EXPECT_EQ(*from_yaml, **in_module);

  // file:// URIs name the same file.
  auto via_uri = test::runCommand(kwctl() + " inspect -o yaml " +
                                  quote("file://" + (dir_ / "annotated.wasm").string()));
  EXPECT_EQ(via_uri.status, 0);
  EXPECT_EQ(via_uri.out, shown.out);
}

TEST_F(AnnotateInspect, TextReportShowsDetailsRulesAndUsage) {
  ASSERT_EQ(annotate().status, 0);
  auto shown = test::runCommand(kwctl() + " inspect " + quote(dir_ / "annotated.wasm") + " 2>&1");
  ASSERT_EQ(shown.status, 0) << shown.out;
  // Upstream's layout (issue 16's CLI comparison): a "policy type" row, one label column for
  // details and annotations, YAML blocks between rules as its Markdown renderer draws them, and
  // its "Context Aware" wording.
  const std::string rule =
      "──────────"
      "──────────\n";
  const std::string expected =
      "Details\n"
      "title:                      e2e-policy\n"
      "description:                A policy used by the tests: nothing more\n"
      "author:                     Test Suite\n"
      "license:                    Apache-2.0\n"
      "mutating:                   false\n"
      "background audit support:   false\n"
      "context aware:              true\n"
      "policy type:                kubernetes\n"
      "execution mode:             kubewarden-wapc\n"
      "protocol version:           v1\n"
      "minimum kubewarden version: 1.9.0\n"
      "\n"
      "Annotations\n"
      "io.artifacthub.keywords     pod, test\n"
      "io.kubewarden.kwctl         1.10.0-cpp\n"
      "\n"
      "Rules\n" +
      rule +
      "- apiGroups:\n  - \"\"\n  apiVersions:\n  - v1\n  resources:\n  - pods\n  operations:\n"
      "  - CREATE\n  - UPDATE\n" +
      rule +
      "\n"
      "Context Aware\n"
      "The policy requires access to the following Kubernetes resources at evaluation time:\n" +
      rule + "- apiVersion: v1\n  kind: Namespace\n" + rule +
      "To avoid abuses, review carefully what the policy requires access to.\n"
      "\n"
      "Usage\n" +
      kReadme;
  EXPECT_EQ(shown.out, expected);
  // Usage is shown once, under its own heading, not again among the annotations.
  EXPECT_EQ(shown.out.find("io.kubewarden.policy.usage"), std::string::npos) << shown.out;

  auto signatures = test::runCommand(kwctl() + " inspect --show-signatures " +
                                     quote(dir_ / "annotated.wasm") + " 2>&1");
  EXPECT_EQ(signatures.status, 0);
  EXPECT_NE(signatures.out.find("No sigstore signatures"), std::string::npos) << signatures.out;
}

TEST_F(AnnotateInspect, AnnotateCanOverwriteItsInput) {
  auto r = test::runCommand(kwctl() + " annotate " + quote(dir_ / "policy.wasm") + " -m " +
                            quote(dir_ / "metadata.yml") + " -o " + quote(dir_ / "policy.wasm") +
                            " 2>&1");
  ASSERT_EQ(r.status, 0) << r.out;
  auto md = policy::readMetadata(test::readFile(dir_ / "policy.wasm"));
  ASSERT_TRUE(md.ok());
  ASSERT_TRUE(md->has_value());
  EXPECT_EQ((*md)->annotations.count("io.kubewarden.policy.usage"), 0u);
}

TEST_F(AnnotateInspect, InspectsUpstreamAnnotatedPolicy) {
  if (!test::haveShared()) KW_CANT_RUN() << "../shared absent";
  fs::path policy = test::sharedDir() / "fixtures/policies/wapc/safe-labels-annotated.wasm";
  auto shown = test::runCommand(kwctl() + " inspect " + quote(policy) + " 2>&1");
  ASSERT_EQ(shown.status, 0) << shown.out;
  EXPECT_NE(shown.out.find("safe-labels"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("denied_labels"), std::string::npos) << shown.out;

  auto yaml = test::runCommand(kwctl() + " inspect -o yaml " + quote(policy));
  ASSERT_EQ(yaml.status, 0);
  YAML::Node doc = YAML::Load(yaml.out);
  EXPECT_EQ(doc["annotations"]["io.kubewarden.policy.title"].as<std::string>(), "safe-labels");
  EXPECT_EQ(doc["annotations"]["io.kubewarden.kwctl"].as<std::string>(), "1.6.0");
}

TEST_F(AnnotateInspect, AnnotateErrorsAreOneLine) {
  // Missing input module.
  auto missing =
      test::runCommand(kwctl() + " annotate " + quote(dir_ / "nope.wasm") + " -m " +
                       quote(dir_ / "metadata.yml") + " -o " + quote(dir_ / "out.wasm") + " 2>&1");
  EXPECT_NE(missing.status, 0);
  EXPECT_NE(missing.out.find("Error:"), std::string::npos) << missing.out;
  EXPECT_NE(missing.out.find("nope.wasm"), std::string::npos) << missing.out;

  // Not a wasm module.
  auto not_wasm =
      test::runCommand(kwctl() + " annotate " + quote(dir_ / "README.md") + " -m " +
                       quote(dir_ / "metadata.yml") + " -o " + quote(dir_ / "out.wasm") + " 2>&1");
  EXPECT_NE(not_wasm.status, 0);
  EXPECT_NE(not_wasm.out.find("Error:"), std::string::npos) << not_wasm.out;
  EXPECT_NE(not_wasm.out.find("not a WebAssembly module"), std::string::npos) << not_wasm.out;

  // Missing metadata file.
  auto no_metadata =
      test::runCommand(kwctl() + " annotate " + quote(dir_ / "policy.wasm") + " -m " +
                       quote(dir_ / "absent.yml") + " -o " + quote(dir_ / "out.wasm") + " 2>&1");
  EXPECT_NE(no_metadata.status, 0);
  EXPECT_NE(no_metadata.out.find("Error:"), std::string::npos) << no_metadata.out;

  // Invalid metadata: the message names the field.
  writeFile(dir_ / "bad.yml",
            std::string("rules:\n- apiGroups: [\"\"]\n  apiVersions: [v1]\n  resources: [pods]\n"
                        "  operations: [CREATE, PATCH]\nmutating: false\n"));
  auto invalid =
      test::runCommand(kwctl() + " annotate " + quote(dir_ / "policy.wasm") + " -m " +
                       quote(dir_ / "bad.yml") + " -o " + quote(dir_ / "out.wasm") + " 2>&1");
  EXPECT_NE(invalid.status, 0);
  EXPECT_NE(invalid.out.find("Error:"), std::string::npos) << invalid.out;
  EXPECT_NE(invalid.out.find("rules[0].operations[1]"), std::string::npos) << invalid.out;
  EXPECT_EQ(std::count(invalid.out.begin(), invalid.out.end(), '\n'), 1) << invalid.out;

  EXPECT_FALSE(fs::exists(dir_ / "out.wasm"));
}

// An empty module cannot answer protocol_version, so a waPC policy built from it is refused
// instead of being recorded with a protocol it does not speak.
TEST_F(AnnotateInspect, AnnotateRefusesAWapcModuleThatCannotTellItsProtocol) {
  writeFile(dir_ / "empty.wasm", kEmptyModule);
  auto r =
      test::runCommand(kwctl() + " annotate " + quote(dir_ / "empty.wasm") + " -m " +
                       quote(dir_ / "metadata.yml") + " -o " + quote(dir_ / "out.wasm") + " 2>&1");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("cannot determine the protocol version"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir_ / "out.wasm"));
}

TEST_F(AnnotateInspect, InspectErrors) {
  auto missing = test::runCommand(kwctl() + " inspect " + quote(dir_ / "nope.wasm") + " 2>&1");
  EXPECT_NE(missing.status, 0);
  EXPECT_NE(missing.out.find("Error:"), std::string::npos) << missing.out;

  auto not_wasm = test::runCommand(kwctl() + " inspect " + quote(dir_ / "README.md") + " 2>&1");
  EXPECT_NE(not_wasm.status, 0);
  EXPECT_NE(not_wasm.out.find("Error:"), std::string::npos) << not_wasm.out;

  auto unannotated =
      test::runCommand(kwctl() + " inspect " + quote(dir_ / "policy.wasm") + " 2>&1");
  EXPECT_EQ(unannotated.status, 1);
  EXPECT_NE(unannotated.out.find("No Kubewarden metadata found"), std::string::npos)
      << unannotated.out;

  // A registry that is not there: the pull into the store fails with a one-line error.
  auto remote = test::runCommand("XDG_CACHE_HOME=" + quote(dir_ / "cache") + " " + kwctl() +
                                 " inspect registry://127.0.0.1:1/kubewarden/safe-labels:v0.1.0"
                                 " 2>&1");
  EXPECT_NE(remote.status, 0);
  EXPECT_NE(remote.out.find("Error:"), std::string::npos) << remote.out;
  EXPECT_FALSE(fs::exists(dir_ / "cache" / "kubewarden" / "store" / "registry")) << remote.out;

  ASSERT_EQ(annotate().status, 0);
  auto bad_format =
      test::runCommand(kwctl() + " inspect -o json " + quote(dir_ / "annotated.wasm") + " 2>&1");
  EXPECT_NE(bad_format.status, 0);
  EXPECT_NE(bad_format.out.find("Error:"), std::string::npos) << bad_format.out;
}

}  // namespace
}  // namespace kw::kwctl
