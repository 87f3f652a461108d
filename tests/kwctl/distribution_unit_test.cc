// Pure pieces of kwctl's distribution commands: size and table formatting, the progress line,
// scaffold YAML, cosign tags, and the save/load archive with a throwaway store.
#include <gtest/gtest.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>

#include "kwctl/archive.h"
#include "kwctl/commands.h"
#include "kwctl/completions.h"
#include "kwctl/progress.h"
#include "kwctl/scaffold.h"
#include "kwctl/signatures.h"
#include "kwctl/table.h"
#include "support/test_env.h"

namespace kw::kwctl {
namespace {
namespace fs = std::filesystem;

TEST(KwctlDistributionFormat, SizesUseDecimalUnitsLikeUpstream) {
  EXPECT_EQ(formatSize(0), "0 B");
  EXPECT_EQ(formatSize(512), "512 B");
  EXPECT_EQ(formatSize(1500), "1.5 kB");
  EXPECT_EQ(formatSize(2000), "2 kB");
  EXPECT_EQ(formatSize(20971520), "20.97 MB");
  EXPECT_EQ(formatSize(2.5e9), "2.5 GB");
}

TEST(KwctlDistributionFormat, TableHasRulesAndPaddedColumns) {
  std::string t = renderTable({"Policy", "Size"}, {{"registry://a/b:v1", "1 kB"}, {"x", "22 MB"}});
  EXPECT_EQ(t,
            "+-------------------+-------+\n"
            "| Policy            | Size  |\n"
            "+-------------------+-------+\n"
            "| registry://a/b:v1 | 1 kB  |\n"
            "| x                 | 22 MB |\n"
            "+-------------------+-------+\n");
}

TEST(KwctlDistributionFormat, ProgressLineShowsBytesTotalAndSpeed) {
  std::string line = renderProgress("Pulling p", 500000, 1000000, 1.0, 10);
  EXPECT_EQ(line, "Pulling p [#####     ] 500 kB / 1 MB 500 kB/s");
  // Unknown total: no bar, just bytes and speed.
  EXPECT_EQ(renderProgress("Pushing p", 2000, 0, 2.0), "Pushing p 2 kB 1 kB/s");
}

policy::Metadata sampleMetadata() {
  policy::Metadata m;
  m.protocolVersion = policy::ProtocolVersion::V1;
  m.rules.push_back({{""}, {"v1"}, {"pods"}, {"CREATE", "UPDATE"}});
  m.mutating = true;
  m.backgroundAudit = false;
  m.contextAwareResources.insert({"v1", "Namespace"});
  m.annotations["io.kubewarden.policy.title"] = "pod-privileged";
  m.annotations["io.kubewarden.policy.severity"] = "medium";
  return m;
}

TEST(KwctlDistributionScaffold, ClusterAdmissionPolicyFromMetadata) {
  ManifestRequest req;
  req.uri = "registry://ghcr.io/kubewarden/policies/pod-privileged:v0.2.2";
  req.type = "ClusterAdmissionPolicy";
  req.settings_yaml = R"({"allowed": ["a", "b"]})";
  std::vector<std::string> warnings;
  auto yaml = scaffoldManifest(req, sampleMetadata(), warnings);
  ASSERT_TRUE(yaml.ok()) << yaml.error().message;
  YAML::Node doc = YAML::Load(*yaml);
  EXPECT_EQ(doc["apiVersion"].as<std::string>(), "policies.kubewarden.io/v1");
  EXPECT_EQ(doc["kind"].as<std::string>(), "ClusterAdmissionPolicy");
  EXPECT_EQ(doc["metadata"]["name"].as<std::string>(), "pod-privileged");
  EXPECT_EQ(doc["metadata"]["annotations"]["io.kubewarden.policy.severity"].as<std::string>(),
            "medium");
  EXPECT_EQ(doc["spec"]["module"].as<std::string>(), req.uri);
  EXPECT_EQ(doc["spec"]["settings"]["allowed"][1].as<std::string>(), "b");
  EXPECT_EQ(doc["spec"]["rules"][0]["apiGroups"][0].as<std::string>(), "");
  EXPECT_EQ(doc["spec"]["rules"][0]["operations"][1].as<std::string>(), "UPDATE");
  EXPECT_TRUE(doc["spec"]["mutating"].as<bool>());
  EXPECT_FALSE(doc["spec"]["backgroundAudit"].as<bool>());
  // Context-aware access is not granted unless asked for; the user is told why.
  EXPECT_FALSE(doc["spec"]["contextAwareResources"]);
  EXPECT_EQ(warnings.size(), 3u);

  req.allow_context_aware = true;
  req.title = "custom-name";
  warnings.clear();
  yaml = scaffoldManifest(req, sampleMetadata(), warnings);
  ASSERT_TRUE(yaml.ok());
  doc = YAML::Load(*yaml);
  EXPECT_EQ(doc["metadata"]["name"].as<std::string>(), "custom-name");
  EXPECT_EQ(doc["spec"]["contextAwareResources"][0]["kind"].as<std::string>(), "Namespace");
}

TEST(KwctlDistributionScaffold, AdmissionPolicyOmitsDefaultsAndRejectsBadInput) {
  auto m = sampleMetadata();
  m.backgroundAudit = true;
  ManifestRequest req{"p.wasm", "AdmissionPolicy"};
  std::vector<std::string> warnings;
  auto yaml = scaffoldManifest(req, m, warnings);
  ASSERT_TRUE(yaml.ok()) << yaml.error().message;
  EXPECT_EQ(yaml->find("backgroundAudit"), std::string::npos) << *yaml;
  EXPECT_EQ(yaml->find("contextAwareResources"), std::string::npos) << *yaml;
  EXPECT_TRUE(warnings.empty());
  EXPECT_TRUE(YAML::Load(*yaml)["spec"]["settings"].IsMap());

  req.type = "Pod";
  EXPECT_FALSE(scaffoldManifest(req, m, warnings).ok());
  req.type = "AdmissionPolicy";
  req.settings_yaml = "[1, 2]";
  auto bad = scaffoldManifest(req, m, warnings);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("settings"), std::string::npos);
}

TEST(KwctlDistributionScaffold, VerificationConfigTrustsKubewardenGithubActions) {
  std::string text =
      scaffoldVerificationConfig("/home/u/.config/kubewarden/verification-config.yml");
  EXPECT_NE(text.find("kwctl scaffold verification-config > /home/u/.config/kubewarden/"),
            std::string::npos);
  YAML::Node doc = YAML::Load(text);
  EXPECT_EQ(doc["apiVersion"].as<std::string>(), "v1");
  EXPECT_EQ(doc["allOf"][0]["kind"].as<std::string>(), "githubAction");
  EXPECT_EQ(doc["allOf"][0]["owner"].as<std::string>(), "kubewarden");
}

TEST(KwctlDistributionScaffold, ArtifacthubPackageFromAnnotations) {
  auto m = sampleMetadata();
  m.annotations["io.artifacthub.displayName"] = "Pod privileged";
  m.annotations["io.kubewarden.policy.description"] = "Rejects privileged pods";
  m.annotations["io.kubewarden.policy.ociUrl"] = "ghcr.io/kubewarden/policies/pod-privileged";
  m.annotations["io.kubewarden.policy.url"] = "https://github.com/kubewarden/pod-privileged";
  m.annotations["io.kubewarden.policy.author"] = "Jane Doe <jane@example.com>, Bob";
  m.annotations["io.artifacthub.keywords"] = "pod, privileged";
  auto yaml = scaffoldArtifacthub(m, "0.2.2", std::string("questions: []\n"),
                                  "2024-01-25T10:00:00.000000000Z");
  ASSERT_TRUE(yaml.ok()) << yaml.error().message;
  YAML::Node doc = YAML::Load(*yaml);
  EXPECT_EQ(doc["version"].as<std::string>(), "0.2.2");
  EXPECT_EQ(doc["name"].as<std::string>(), "pod-privileged");
  EXPECT_EQ(doc["containersImages"][0]["image"].as<std::string>(),
            "ghcr.io/kubewarden/policies/pod-privileged:v0.2.2");
  EXPECT_EQ(doc["keywords"][1].as<std::string>(), "privileged");
  EXPECT_EQ(doc["maintainers"][0]["email"].as<std::string>(), "jane@example.com");
  EXPECT_EQ(doc["maintainers"][1]["name"].as<std::string>(), "Bob");
  EXPECT_EQ(doc["annotations"]["kubewarden/mutation"].as<std::string>(), "true");
  EXPECT_EQ(doc["annotations"]["kubewarden/questions-ui"].as<std::string>(), "questions: []\n");

  EXPECT_FALSE(scaffoldArtifacthub(m, "not-semver", std::nullopt, "t").ok());
  m.annotations.erase("io.kubewarden.policy.ociUrl");
  auto missing = scaffoldArtifacthub(m, "0.2.2", std::nullopt, "t");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("io.kubewarden.policy.ociUrl"), std::string::npos);
}

TEST(KwctlDistributionSignatures, CosignTagAndManifestLayers) {
  EXPECT_EQ(signatureTag("sha256:abc123"), "sha256-abc123.sig");
  auto layers = parseSignatureManifest(R"({"schemaVersion":2,"layers":[
    {"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","size":245,
     "digest":"sha256:ff","annotations":{"dev.cosignproject.cosign/signature":"MEUC"}}]})");
  ASSERT_TRUE(layers.ok());
  ASSERT_EQ(layers->size(), 1u);
  EXPECT_EQ((*layers)[0].size, 245u);
  std::string shown = renderSignatures(*layers);
  EXPECT_NE(shown.find("sha256:ff"), std::string::npos);
  EXPECT_NE(shown.find("dev.cosignproject.cosign/signature: MEUC"), std::string::npos);
  EXPECT_FALSE(parseSignatureManifest("not json").ok());
}

class KwctlDistributionCompletions : public ::testing::Test {
 protected:
  void SetUp() override {
    addPullCommand(app_, code_);
    addScaffoldCommand(app_, code_);
    path_ = fs::temp_directory_path() / ("kw-completions-" + std::to_string(::getpid()));
  }
  void TearDown() override { fs::remove(path_); }
  // Runs bash's own completion machinery over the generated script for `words`.
  std::string complete(const std::string& words, int cword) {
    auto script = completionScript(app_, "bash");
    EXPECT_TRUE(script.ok());
    std::ofstream(path_) << *script;
    return test::runCommand("bash -c 'source " + path_.string() + "; COMP_WORDS=(" + words +
                            "); COMP_CWORD=" + std::to_string(cword) +
                            "; _kwctl; echo \"${COMPREPLY[*]}\"'")
        .out;
  }
  CLI::App app_{"test"};
  int code_ = 0;
  fs::path path_;
};

TEST_F(KwctlDistributionCompletions, BashCompletesSubcommandsAndFlags) {
  EXPECT_EQ(complete("kwctl sc", 1), "scaffold\n");
  EXPECT_EQ(complete("kwctl scaffold ma", 2), "manifest\n");
  std::string flags = complete("kwctl scaffold manifest --all", 3);
  EXPECT_EQ(flags, "--allow-context-aware\n");
  std::string pull = complete("kwctl pull --out", 2);
  EXPECT_EQ(pull, "--output-path\n");
}

TEST_F(KwctlDistributionCompletions, ZshAndFishScriptsNameEveryCommand) {
  auto zsh = completionScript(app_, "zsh");
  ASSERT_TRUE(zsh.ok());
  EXPECT_EQ(zsh->rfind("#compdef kwctl", 0), 0u);
  EXPECT_NE(zsh->find("\"kwctl scaffold manifest\""), std::string::npos);
  auto fish = completionScript(app_, "fish");
  ASSERT_TRUE(fish.ok());
  EXPECT_NE(fish->find("-n '__fish_use_subcommand' -a pull"), std::string::npos) << *fish;
  EXPECT_NE(fish->find("-n '__fish_seen_subcommand_from manifest' -l allow-context-aware"),
            std::string::npos)
      << *fish;
  EXPECT_FALSE(completionScript(app_, "powershell").ok());
  if (std::system("command -v zsh >/dev/null 2>&1") == 0) {
    std::ofstream(path_) << *zsh;
    EXPECT_EQ(test::runCommand("zsh -n " + path_.string() + " 2>&1").status, 0);
  }
}

class KwctlDistributionArchive : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("kw-archive-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
  }
  fs::path dir_;
};

TEST_F(KwctlDistributionArchive, SaveThenLoadRecreatesStorePaths) {
  store::Store from(dir_ / "from");
  write(dir_ / "from/registry/127.0.0.1:5000/kw/policy:v1", std::string("\0asm\1\0\0\0", 8));
  auto listed = from.list();
  ASSERT_TRUE(listed.ok()) << listed.error().message;
  ASSERT_EQ(listed->size(), 1u);
  fs::path archive = dir_ / "policies.tar.gz";
  auto saved = saveArchive(from, {(*listed)[0].uri}, archive);
  ASSERT_TRUE(saved.ok()) << saved.error().message;

  store::Store to(dir_ / "to");
  auto loaded = loadArchive(to, archive);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(*loaded, std::vector<std::string>{"registry/127.0.0.1:5000/kw/policy:v1"});
  auto again = to.list();
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ((*again)[0].uri, (*listed)[0].uri);
  EXPECT_EQ((*again)[0].sha256, (*listed)[0].sha256);

  // An unknown policy: nothing is written.
  fs::path other = dir_ / "other.tar.gz";
  EXPECT_FALSE(saveArchive(from, {"registry://nope/x:v1"}, other).ok());
  EXPECT_FALSE(fs::exists(other));
}

TEST_F(KwctlDistributionArchive, EscapingEntriesAreRefused) {
  EXPECT_TRUE(isSafeEntryPath("registry/host/repo:v1"));
  EXPECT_FALSE(isSafeEntryPath("../evil"));
  EXPECT_FALSE(isSafeEntryPath("registry/../../evil"));
  EXPECT_FALSE(isSafeEntryPath("/etc/passwd"));
  EXPECT_FALSE(isSafeEntryPath(""));

  // A hand-made archive with a good entry first and an escaping one second.
  write(dir_ / "src/registry/h/ok:v1", "ok");
  write(dir_ / "evil", "evil");
  fs::path archive = dir_ / "bad.tar.gz";
  int rc = std::system(("cd '" + dir_.string() + "/src' && tar -P -czf '" + archive.string() +
                        "' registry/h/ok:v1 ../evil 2>/dev/null")
                           .c_str());
  ASSERT_EQ(rc, 0);
  store::Store to(dir_ / "to");
  auto loaded = loadArchive(to, archive);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().message.find("escape"), std::string::npos) << loaded.error().message;
  EXPECT_FALSE(fs::exists(dir_ / "to")) << "nothing may be written";
}

}  // namespace
}  // namespace kw::kwctl
