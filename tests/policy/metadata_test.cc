#include "policy/metadata.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/cant_run.h"
#include "support/test_env.h"
#include "wasm/binary/module_binary.h"

namespace kw::policy {
namespace {

// The smallest valid module: magic and version, no sections.
const std::vector<uint8_t> kEmptyModule = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};

Rule podRule() {
  return Rule{{""}, {"v1"}, {"pods"}, {"CREATE"}};
}

Metadata validMetadata() {
  Metadata m;
  m.protocolVersion = ProtocolVersion::V1;
  m.rules = {podRule()};
  return m;
}

// The error text of a validation that must fail.
std::string failure(const Metadata& m) {
  Status s = validate(m);
  EXPECT_FALSE(s.ok());
  return s.ok() ? std::string() : s.error().message;
}

TEST(MetadataEnums, RoundTripTheirSpellings) {
  for (auto mode : {ExecutionMode::KubewardenWapc, ExecutionMode::Opa, ExecutionMode::Gatekeeper,
                    ExecutionMode::Wasi}) {
    EXPECT_EQ(executionModeFromString(toString(mode)), mode);
  }
  EXPECT_EQ(toString(ExecutionMode::KubewardenWapc), "kubewarden-wapc");
  EXPECT_EQ(toString(ExecutionMode::Gatekeeper), "gatekeeper");
  EXPECT_EQ(toString(PolicyType::Raw), "raw");
  EXPECT_EQ(toString(ProtocolVersion::V1), "v1");
  EXPECT_EQ(toString(ProtocolVersion::Unknown), "Unknown");
  EXPECT_EQ(policyTypeFromString("kubernetes"), PolicyType::Kubernetes);
  EXPECT_FALSE(executionModeFromString("kubewarden").has_value());
  EXPECT_FALSE(protocolVersionFromString("v2").has_value());
}

TEST(MetadataJson, ParsesUpstreamShape) {
  auto m = metadataFromJson(R"({
    "protocolVersion": "v1",
    "rules": [{"apiGroups": ["", "apps"], "apiVersions": ["v1"],
               "resources": ["pods", "deployments"], "operations": ["CREATE", "UPDATE"]}],
    "annotations": {"io.kubewarden.policy.title": "demo", "io.kubewarden.policy.author": "me"},
    "mutating": true,
    "backgroundAudit": false,
    "executionMode": "kubewarden-wapc",
    "policyType": "raw",
    "contextAwareResources": [{"apiVersion": "v1", "kind": "Namespace"},
                              {"apiVersion": "apps/v1", "kind": "Deployment"},
                              {"apiVersion": "v1", "kind": "Namespace"}],
    "minimumKubewardenVersion": "1.9.0"
  })");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->protocolVersion, ProtocolVersion::V1);
  ASSERT_EQ(m->rules.size(), 1u);
  EXPECT_EQ(m->rules[0].apiGroups, (std::vector<std::string>{"", "apps"}));
  EXPECT_EQ(m->rules[0].operations, (std::vector<std::string>{"CREATE", "UPDATE"}));
  EXPECT_EQ(m->annotations.at("io.kubewarden.policy.title"), "demo");
  EXPECT_TRUE(m->mutating);
  EXPECT_FALSE(m->backgroundAudit);
  EXPECT_EQ(m->policyType, PolicyType::Raw);
  // A set: the duplicate collapses and the order is (apiVersion, kind).
  ASSERT_EQ(m->contextAwareResources.size(), 2u);
  EXPECT_EQ(m->contextAwareResources.begin()->apiVersion, "apps/v1");
  EXPECT_EQ(m->minimumKubewardenVersion, "1.9.0");
}

TEST(MetadataJson, AppliesUpstreamDefaultsAndIgnoresUnknownKeys) {
  // `contextAware` is what kwctl wrote before contextAwareResources existed.
  auto m = metadataFromJson(R"({"rules": [], "mutating": false, "contextAware": true,
                                "protocolVersion": null, "annotations": null})");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->protocolVersion, ProtocolVersion::Unknown);
  EXPECT_TRUE(m->backgroundAudit);
  EXPECT_EQ(m->executionMode, ExecutionMode::KubewardenWapc);
  EXPECT_EQ(m->policyType, PolicyType::Kubernetes);
  EXPECT_TRUE(m->annotations.empty());
  EXPECT_TRUE(m->contextAwareResources.empty());
  EXPECT_FALSE(m->minimumKubewardenVersion.has_value());
}

TEST(MetadataJson, ReportsErrorsWithTheFieldPath) {
  auto missing = metadataFromJson(R"({"rules": []})");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("mutating"), std::string::npos);

  auto no_rules = metadataFromJson(R"({"mutating": false})");
  ASSERT_FALSE(no_rules.ok());
  EXPECT_NE(no_rules.error().message.find("rules"), std::string::npos);

  auto bad_type = metadataFromJson(
      R"({"mutating": false, "rules": [{"apiGroups": [1], "apiVersions": [], "resources": [],
          "operations": []}]})");
  ASSERT_FALSE(bad_type.ok());
  EXPECT_NE(bad_type.error().message.find("rules[0].apiGroups[0]"), std::string::npos)
      << bad_type.error().message;

  auto bad_mode = metadataFromJson(R"({"mutating": false, "rules": [], "executionMode": "rego"})");
  ASSERT_FALSE(bad_mode.ok());
  EXPECT_NE(bad_mode.error().message.find("executionMode"), std::string::npos);

  auto bad_bool = metadataFromJson(R"({"mutating": "yes", "rules": []})");
  ASSERT_FALSE(bad_bool.ok());
  EXPECT_NE(bad_bool.error().message.find("mutating"), std::string::npos);

  EXPECT_FALSE(metadataFromJson("{").ok());
  EXPECT_FALSE(metadataFromJson("[]").ok());
  EXPECT_FALSE(metadataFromJson("").ok());
}

TEST(MetadataJson, WritesUpstreamShape) {
  Metadata m = validMetadata();
  m.annotations["io.kubewarden.policy.author"] = "Jane \"J\" Doe";
  m.contextAwareResources.insert({"v1", "Namespace"});
  m.minimumKubewardenVersion = "1.10.0";
  EXPECT_EQ(metadataToJson(m),
            R"({"protocolVersion":"v1","rules":[{"apiGroups":[""],"apiVersions":["v1"],)"
            R"("resources":["pods"],"operations":["CREATE"]}],)"
            R"("annotations":{"io.kubewarden.policy.author":"Jane \"J\" Doe"},)"
            R"("mutating":false,"backgroundAudit":true,"executionMode":"kubewarden-wapc",)"
            R"("policyType":"kubernetes","contextAwareResources":[{"apiVersion":"v1",)"
            R"("kind":"Namespace"}],"minimumKubewardenVersion":"1.10.0"})");

  // Optional fields are left out rather than written as null.
  Metadata bare;
  bare.protocolVersion = ProtocolVersion::V1;
  EXPECT_EQ(metadataToJson(bare),
            R"({"protocolVersion":"v1","rules":[],"mutating":false,"backgroundAudit":true,)"
            R"("executionMode":"kubewarden-wapc","policyType":"kubernetes",)"
            R"("contextAwareResources":[]})");
}

TEST(MetadataYaml, ParsesAUserMetadataFile) {
  auto m = metadataFromYaml(R"(# metadata.yml as policy authors write it
rules:
- apiGroups: [""]
  apiVersions: ["v1"]
  resources: ["pods"]
  operations: ["CREATE", "UPDATE"]
- apiGroups:
  - apps
  apiVersions:
  - v1
  resources:
  - "*"
  operations:
  - "*"
mutating: false
backgroundAudit: true
contextAwareResources:
  - apiVersion: v1
    kind: Namespace
executionMode: kubewarden-wapc
annotations:
  io.kubewarden.policy.title: pod-privileged
  io.kubewarden.policy.description: Limit the ability to create privileged containers
  io.artifacthub.keywords: 1
  io.kubewarden.policy.usage: |
    First line.
    Second line.
)");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->protocolVersion, ProtocolVersion::Unknown);  // annotate fills it in
  ASSERT_EQ(m->rules.size(), 2u);
  EXPECT_EQ(m->rules[0].apiGroups, std::vector<std::string>{""});
  EXPECT_EQ(m->rules[1].resources, std::vector<std::string>{"*"});
  EXPECT_FALSE(m->mutating);
  EXPECT_EQ(m->contextAwareResources.size(), 1u);
  EXPECT_EQ(m->annotations.at("io.kubewarden.policy.title"), "pod-privileged");
  EXPECT_EQ(m->annotations.at("io.artifacthub.keywords"), "1");  // the text as written
  EXPECT_EQ(m->annotations.at("io.kubewarden.policy.usage"), "First line.\nSecond line.\n");
}

// Found by fuzz/metadata_fuzz.cc: yaml-cpp read invalid UTF-8 as it was, and metadataToJson then
// wrote U+FFFD in its place, so `kwctl annotate` silently changed the annotation it embedded.
TEST(MetadataYaml, RefusesInvalidUtf8) {
  auto bad = metadataFromYaml("rules: []\nmutating: false\nannotations:\n  a: \"x\xff\"\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "metadata is not valid UTF-8 (byte 46)");
  // Overlong forms and UTF-16 surrogates are not UTF-8 either.
  EXPECT_FALSE(metadataFromYaml("rules: []\nmutating: false\n# \xc0\xaf\n").ok());
  EXPECT_FALSE(metadataFromYaml("rules: []\nmutating: false\n# \xed\xa0\x80\n").ok());
  EXPECT_FALSE(metadataFromYaml("rules: []\nmutating: false\n# \xf4\x90\x80\x80\n").ok());
  // Well-formed multi-byte text (2, 3 and 4 bytes) survives the round trip unchanged.
  auto good = metadataFromYaml(
      "rules: []\nmutating: false\nannotations:\n  a: \"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"\n");
  ASSERT_TRUE(good.ok()) << good.error().message;
  EXPECT_EQ(good->annotations.at("a"), "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
  auto again = metadataFromJson(metadataToJson(*good));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *good);
}

// Found by fuzz/metadata_fuzz.cc: metadataToYaml wrote an annotation key of over 1024 characters
// as an implicit key, which YAML does not allow, so the file it wrote could not be read back.
TEST(MetadataYaml, LongAnnotationKeysRoundTrip) {
  Metadata m;
  m.annotations[std::string(1100, 'k')] = "multi\nline\n";
  m.annotations[std::string(1030, 'q') + "\""] = "plain";
  m.annotations["short"] = "v";
  std::string yaml = metadataToYaml(m);
  EXPECT_NE(yaml.find("  ? " + std::string(1100, 'k') + "\n  : |\n"), std::string::npos) << yaml;
  auto back = metadataFromYaml(yaml);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, m);
}

TEST(MetadataYaml, ReportsErrors) {
  auto quoted_bool = metadataFromYaml("rules: []\nmutating: \"false\"\n");
  ASSERT_FALSE(quoted_bool.ok());
  EXPECT_NE(quoted_bool.error().message.find("mutating"), std::string::npos);

  auto bad_syntax = metadataFromYaml("rules: [\nmutating: false\n");
  ASSERT_FALSE(bad_syntax.ok());
  EXPECT_NE(bad_syntax.error().message.find("YAML"), std::string::npos);

  EXPECT_FALSE(metadataFromYaml("").ok());
  EXPECT_FALSE(metadataFromYaml("- a\n- b\n").ok());
  auto no_mutating = metadataFromYaml("rules: []\n");
  ASSERT_FALSE(no_mutating.ok());
  EXPECT_NE(no_mutating.error().message.find("mutating"), std::string::npos);
}

TEST(MetadataYaml, RoundTripsAwkwardStrings) {
  Metadata m = validMetadata();
  m.rules.push_back(Rule{{"*"}, {"*"}, {"*/*"}, {"*"}});
  m.rules.push_back(
      Rule{{"apps", "batch"}, {"v1", "v1beta1"}, {"pods/*", "*/status"}, {"DELETE", "CONNECT"}});
  m.rules.push_back(Rule{{}, {}, {}, {}});
  m.mutating = true;
  m.backgroundAudit = false;
  m.executionMode = ExecutionMode::Gatekeeper;
  m.policyType = PolicyType::Raw;
  m.minimumKubewardenVersion = "1.10.0-rc1+build.5";
  m.contextAwareResources = {{"v1", "Namespace"}, {"apps/v1", "Deployment"}};
  const std::vector<std::string> values = {
      "", "*", "true", "False", "yes", "no", "on", "null", "~", "1", "1.0", "0x1F", "1e3", "-1",
      ".5", ".inf", "2024-01-15", "- item", "? key", "key: value", "a #comment", "#hash",
      "'single'", "\"double\"", "back\\slash", "&anchor", "!tag", "%percent", "@at", "`tick",
      "{flow}", "[list]", "trailing ", " leading", "tab\there", "ctrl\x01\x7f", "carriage\r\n",
      "caf\xc3\xa9 \xe2\x9c\x93", "line\xe2\x80\xa8sep", "ends with colon:", "=", "<<",
      "plain text with spaces",
      // Multi-line texts, as usage annotations are: every chomping case and indentation.
      "one\ntwo", "one\ntwo\n", "one\ntwo\n\n\n", "one\n\n  indented\n\ttabbed\nlast",
      "  starts indented\nsecond\n", "\nstarts with newline\n", "trailing spaces  \nnext \n",
      "blank-only line\n   \nafter\n", "---\n...\n# not a comment\n", "\n", "\n\n",
      "- not a list\n  - still text\n"};
  for (size_t i = 0; i < values.size(); ++i) {
    m.annotations[std::string("io.example/key-") + std::to_string(i)] = values[i];
  }
  // Keys need quoting too.
  m.annotations["weird key: yes"] = "v";
  m.annotations["true"] = "key that looks like a bool";

  std::string yaml = metadataToYaml(m);
  auto back = metadataFromYaml(yaml);
  ASSERT_TRUE(back.ok()) << back.error().message << "\n" << yaml;
  EXPECT_EQ(back->rules, m.rules) << yaml;
  for (const auto& [k, v] : m.annotations) {
    EXPECT_EQ(back->annotations[k], v) << "key " << k << "\n" << yaml;
  }
  EXPECT_EQ(*back, m) << yaml;

  // And the JSON encoding is lossless too (modulo invalid UTF-8, which none of these has).
  auto from_json = metadataFromJson(metadataToJson(m));
  ASSERT_TRUE(from_json.ok()) << from_json.error().message;
  EXPECT_EQ(*from_json, m);
}

TEST(MetadataYaml, UsesLiteralBlocksForReadableMultiLineText) {
  Metadata m = validMetadata();
  m.annotations[std::string(kAnnotationUsage)] = "# Title\n\nSome text.\n";
  std::string yaml = metadataToYaml(m);
  EXPECT_NE(yaml.find("  io.kubewarden.policy.usage: |\n    # Title\n\n    Some text.\n"),
            std::string::npos)
      << yaml;
  EXPECT_NE(yaml.find("- \"\"\n"), std::string::npos) << yaml;  // the core API group
}

TEST(MetadataYaml, RulesAloneFormAYamlList) {
  std::string yaml = rulesToYaml({podRule()});
  EXPECT_EQ(yaml,
            "- apiGroups:\n  - \"\"\n  apiVersions:\n  - v1\n  resources:\n  - pods\n"
            "  operations:\n  - CREATE\n");
  EXPECT_EQ(rulesToYaml({}), "[]\n");
}

TEST(MetadataValidate, AcceptsValidMetadata) {
  EXPECT_TRUE(validate(validMetadata()).ok());
  Metadata no_rules = validMetadata();
  no_rules.rules.clear();
  EXPECT_TRUE(validate(no_rules).ok());
  Metadata wildcards = validMetadata();
  wildcards.rules = {Rule{{"*"}, {"*"}, {"*"}, {"*"}}, Rule{{""}, {"v1"}, {"*/*"}, {"DELETE"}}};
  EXPECT_TRUE(validate(wildcards).ok());
}

TEST(MetadataValidate, RuleListsMustNotBeEmpty) {
  const char* fields[] = {"apiGroups", "apiVersions", "resources", "operations"};
  for (int f = 0; f < 4; ++f) {
    Metadata m = validMetadata();
    Rule& r = m.rules[0];
    std::vector<std::string>* lists[] = {&r.apiGroups, &r.apiVersions, &r.resources, &r.operations};
    lists[f]->clear();
    std::string msg = failure(m);
    EXPECT_NE(msg.find(std::string("rules[0].") + fields[f] + ": must not be empty"),
              std::string::npos)
        << msg;
  }
}

TEST(MetadataValidate, AsteriskMustBeExclusive) {
  Metadata groups = validMetadata();
  groups.rules[0].apiGroups = {"", "*"};
  EXPECT_NE(failure(groups).find("rules[0].apiGroups"), std::string::npos);

  Metadata versions = validMetadata();
  versions.rules[0].apiVersions = {"*", "v1"};
  EXPECT_NE(failure(versions).find("rules[0].apiVersions"), std::string::npos);

  Metadata ops = validMetadata();
  ops.rules[0].operations = {"*", "CREATE"};
  EXPECT_NE(failure(ops).find("rules[0].operations"), std::string::npos);
}

TEST(MetadataValidate, OperationsMustBeKnown) {
  Metadata m = validMetadata();
  m.rules.push_back(Rule{{""}, {"v1"}, {"pods"}, {"CREATE", "PATCH"}});
  std::string msg = failure(m);
  EXPECT_NE(msg.find("rules[1].operations[1]: 'PATCH'"), std::string::npos) << msg;

  Metadata lower = validMetadata();
  lower.rules[0].operations = {"create"};
  EXPECT_FALSE(validate(lower).ok());

  Metadata all = validMetadata();
  all.rules[0].operations = {"CREATE", "UPDATE", "DELETE", "CONNECT"};
  EXPECT_TRUE(validate(all).ok());
}

TEST(MetadataValidate, ResourceWildcardsFollowKubernetes) {
  auto check = [](std::vector<std::string> resources) {
    Metadata m = validMetadata();
    m.rules[0].resources = std::move(resources);
    return validate(m);
  };
  EXPECT_TRUE(check({"*", "a/b", "a/*", "*/b"}).ok());
  EXPECT_TRUE(check({"a/*", "a"}).ok());
  EXPECT_TRUE(check({"pods", "pods/status", "deployments"}).ok());
  EXPECT_FALSE(check({"*", "a"}).ok());
  EXPECT_FALSE(check({"a/*", "a/x"}).ok());
  EXPECT_FALSE(check({"*/a", "x/a"}).ok());
  EXPECT_FALSE(check({"*/*", "a"}).ok());
  EXPECT_FALSE(check({"pods", ""}).ok());
  // Kubernetes only remembers the last plain resource; the API server accepts this list, so
  // refusing it would break policies that work upstream.
  EXPECT_TRUE(check({"a", "*"}).ok());

  Metadata m = validMetadata();
  m.rules[0].resources = {"*/*", "pods"};
  std::string msg = failure(m);
  EXPECT_NE(msg.find("rules[0].resources"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'*/*'"), std::string::npos) << msg;
}

TEST(MetadataValidate, ProtocolVersionIsRequiredForWapcOnly) {
  Metadata m = validMetadata();
  m.protocolVersion = ProtocolVersion::Unknown;
  EXPECT_NE(failure(m).find("protocolVersion"), std::string::npos);
  for (auto mode : {ExecutionMode::Opa, ExecutionMode::Gatekeeper, ExecutionMode::Wasi}) {
    m.executionMode = mode;
    EXPECT_TRUE(validate(m).ok()) << toString(mode);
  }
}

TEST(MetadataValidate, MinimumKubewardenVersionMustBeSemver) {
  Metadata m = validMetadata();
  m.minimumKubewardenVersion = "1.10.0";
  EXPECT_TRUE(validate(m).ok());
  m.minimumKubewardenVersion = "v1.10";
  std::string msg = failure(m);
  EXPECT_NE(msg.find("minimumKubewardenVersion: 'v1.10'"), std::string::npos) << msg;
}

TEST(MetadataValidate, ContextAwareResourcesNeedApiVersionAndKind) {
  Metadata m = validMetadata();
  m.contextAwareResources = {{"", "Pod"}};
  EXPECT_NE(failure(m).find("contextAwareResources[0].apiVersion"), std::string::npos);
  m.contextAwareResources = {{"v1", ""}};
  EXPECT_NE(failure(m).find("contextAwareResources[0].kind"), std::string::npos);
}

TEST(MetadataValidate, ListsEveryProblem) {
  Metadata m = validMetadata();
  m.protocolVersion = ProtocolVersion::Unknown;
  m.rules[0].operations = {"READ"};
  std::string msg = failure(m);
  EXPECT_NE(msg.find("operations[0]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("protocolVersion"), std::string::npos) << msg;
}

TEST(MetadataSemver, FollowsSemver2) {
  for (const char* ok : {"0.0.0", "1.10.0", "1.2.3-rc.1", "1.2.3-0.alpha", "1.2.3+build.007",
                         "1.2.3-beta-2+exp.sha.5114f85"}) {
    EXPECT_TRUE(isSemver(ok)) << ok;
  }
  for (const char* bad : {"", "1", "1.2", "v1.2.3", "1.2.3.4", "01.2.3", "1.02.3", "1.2.3-",
                          "1.2.3-01", "1.2.3+", "1.2.3-a..b", "1.2.x", " 1.2.3", "1.2.3_a"}) {
    EXPECT_FALSE(isSemver(bad)) << bad;
  }
}

TEST(MetadataWasm, WriteThenReadRoundTrips) {
  Metadata m = validMetadata();
  m.annotations[std::string(kAnnotationTitle)] = "round-trip";
  auto annotated = writeMetadata(kEmptyModule, m);
  ASSERT_TRUE(annotated.ok()) << annotated.error().message;
  EXPECT_TRUE(wasm::binary::isWasm(*annotated));
  auto back = readMetadata(*annotated);
  ASSERT_TRUE(back.ok()) << back.error().message;
  ASSERT_TRUE(back->has_value());
  EXPECT_EQ(**back, m);
  EXPECT_EQ(wasm::binary::customSection(*annotated, kMetadataSection), metadataToJson(m));
}

TEST(MetadataWasm, WritingReplacesThePreviousSection) {
  Metadata first = validMetadata();
  first.annotations[std::string(kAnnotationTitle)] = "first";
  Metadata second = validMetadata();
  second.annotations[std::string(kAnnotationTitle)] = "second";
  second.mutating = true;

  // Another custom section must survive the rewrite.
  auto with_other = wasm::binary::withCustomSection(kEmptyModule, "producers", "x");
  ASSERT_TRUE(with_other.ok());
  auto once = writeMetadata(*with_other, first);
  ASSERT_TRUE(once.ok());
  auto twice = writeMetadata(*once, second);
  ASSERT_TRUE(twice.ok());

  auto info = wasm::binary::parse(*twice);
  ASSERT_TRUE(info.ok()) << info.error().message;
  int metadata_sections = 0, producers = 0;
  for (const auto& [name, payload] : info->custom_sections) {
    metadata_sections += name == kMetadataSection;
    producers += name == "producers";
  }
  EXPECT_EQ(metadata_sections, 1);
  EXPECT_EQ(producers, 1);
  auto back = readMetadata(*twice);
  ASSERT_TRUE(back.ok());
  ASSERT_TRUE(back->has_value());
  EXPECT_EQ(**back, second);
}

TEST(MetadataWasm, MissingSectionIsNotAnError) {
  auto none = readMetadata(kEmptyModule);
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_FALSE(none->has_value());
}

TEST(MetadataWasm, RejectsNonWasmAndBadPayloads) {
  std::vector<uint8_t> text = {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'};
  EXPECT_FALSE(readMetadata(text).ok());
  EXPECT_FALSE(writeMetadata(text, validMetadata()).ok());

  auto broken = wasm::binary::withCustomSection(kEmptyModule, kMetadataSection, "{not json");
  ASSERT_TRUE(broken.ok());
  auto read = readMetadata(*broken);
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.error().message.find(std::string(kMetadataSection)), std::string::npos);
}

TEST(MetadataWasm, ReadsUpstreamAnnotatedPolicy) {
  if (!test::haveShared()) KW_CANT_RUN() << "../shared absent";
  auto bytes =
      test::readFile(test::sharedDir() / "fixtures/policies/wapc/safe-labels-annotated.wasm");
  ASSERT_FALSE(bytes.empty());
  auto m = readMetadata(bytes);
  ASSERT_TRUE(m.ok()) << m.error().message;
  ASSERT_TRUE(m->has_value());
  const Metadata& md = **m;
  EXPECT_EQ(md.protocolVersion, ProtocolVersion::V1);
  EXPECT_EQ(md.annotations.at(std::string(kAnnotationTitle)), "safe-labels");
  EXPECT_EQ(md.annotations.at(std::string(kAnnotationKwctlVersion)), "1.6.0");
  EXPECT_NE(md.annotations.at(std::string(kAnnotationUsage)).find("denied_labels"),
            std::string::npos);
  ASSERT_EQ(md.rules.size(), 1u);
  EXPECT_EQ(md.rules[0].operations, (std::vector<std::string>{"CREATE", "UPDATE"}));
  EXPECT_FALSE(md.mutating);
  EXPECT_FALSE(md.backgroundAudit);
  EXPECT_EQ(md.executionMode, ExecutionMode::KubewardenWapc);
  EXPECT_TRUE(md.contextAwareResources.empty());
  EXPECT_TRUE(validate(md).ok());

  // Our encoders carry everything upstream wrote.
  auto via_yaml = metadataFromYaml(metadataToYaml(md));
  ASSERT_TRUE(via_yaml.ok()) << via_yaml.error().message;
  EXPECT_EQ(*via_yaml, md);
  auto rewritten = writeMetadata(bytes, md);
  ASSERT_TRUE(rewritten.ok());
  auto reread = readMetadata(*rewritten);
  ASSERT_TRUE(reread.ok());
  EXPECT_EQ(**reread, md);
}

}  // namespace
}  // namespace kw::policy
