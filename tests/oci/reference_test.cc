#include "oci/reference.h"

#include <gtest/gtest.h>

namespace kw::oci {
namespace {

struct Case {
  const char* input;
  const char* registry;
  const char* repository;
  const char* tag;
  const char* digest;
};

constexpr const char* kDigest =
    "sha256:72b4569c3daee67abeaa64192fb53895d0edb2d44fa6e1d9d4c5d3f8ece09f6e";

TEST(OciReference, ParsesTable) {
  const Case cases[] = {
      {"registry://ghcr.io/kubewarden/policies/pod-privileged:v0.2.2", "ghcr.io",
       "kubewarden/policies/pod-privileged", "v0.2.2", ""},
      {"containers.local.lan/kubewarden/psp-apparmor:v0.1.0", "containers.local.lan",
       "kubewarden/psp-apparmor", "v0.1.0", ""},
      {"containers.local.lan/kubewarden/psp-apparmor", "containers.local.lan",
       "kubewarden/psp-apparmor", "latest", ""},
      {"localhost:5000/psp-apparmor", "localhost:5000", "psp-apparmor", "latest", ""},
      {"localhost/psp-apparmor:1", "localhost", "psp-apparmor", "1", ""},
      {"127.0.0.1:5000/a/b_c__d.e-f:tag-1.0", "127.0.0.1:5000", "a/b_c__d.e-f", "tag-1.0", ""},
      {"busybox", "docker.io", "library/busybox", "latest", ""},
      {"registry://busybox", "docker.io", "library/busybox", "latest", ""},
      {"opensuse/leap:15.3", "docker.io", "opensuse/leap", "15.3", ""},
      {"docker.io/busybox:1", "docker.io", "library/busybox", "1", ""},
      {"index.docker.io/org/img", "docker.io", "org/img", "latest", ""},
      {"ghcr.io/org/policy@sha256:72b4569c3daee67abeaa64192fb53895d0edb2d44fa6e1d9d4c5d3f8ece09f6e",
       "ghcr.io", "org/policy", "", kDigest},
      {"ghcr.io/org/"
       "policy:v1@sha256:72b4569c3daee67abeaa64192fb53895d0edb2d44fa6e1d9d4c5d3f8ece09f6e",
       "ghcr.io", "org/policy", "v1", kDigest},
  };
  for (const auto& c : cases) {
    auto ref = parseReference(c.input);
    ASSERT_TRUE(ref.ok()) << c.input << ": " << ref.error().message;
    EXPECT_EQ(ref->registry, c.registry) << c.input;
    EXPECT_EQ(ref->repository, c.repository) << c.input;
    EXPECT_EQ(ref->tag, c.tag) << c.input;
    EXPECT_EQ(ref->digest, c.digest) << c.input;
  }
}

TEST(OciReference, ApiHostManifestRefAndWhole) {
  auto hub = parseReference("busybox");
  ASSERT_TRUE(hub.ok());
  EXPECT_EQ(hub->apiHost(), "registry-1.docker.io");
  EXPECT_EQ(hub->whole(), "docker.io/library/busybox:latest");
  EXPECT_EQ(hub->manifestRef(), "latest");

  auto pinned = parseReference(std::string("127.0.0.1:5000/p@") + kDigest);
  ASSERT_TRUE(pinned.ok());
  EXPECT_EQ(pinned->apiHost(), "127.0.0.1:5000");
  EXPECT_EQ(pinned->manifestRef(), kDigest);
  EXPECT_EQ(pinned->whole(), std::string("127.0.0.1:5000/p@") + kDigest);

  // With both, the digest decides what is fetched; the tag is only a label (issue 17).
  auto both = parseReference(std::string("registry://127.0.0.1:5000/p:v1@") + kDigest);
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->tag, "v1");
  EXPECT_EQ(both->manifestRef(), kDigest);
}

TEST(OciReference, RejectsInvalidTextWithReason) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "empty"},
      {"registry://", "empty"},
      {"ghcr.io/Org/policy", "lower-case"},
      {"ghcr.io/org//policy", "invalid repository path component"},
      {"ghcr.io/org/policy@sha256:1234", "digest"},
      {"ghcr.io/org/policy:", "invalid tag"},
      {"ghcr.io/org/policy:-bad", "invalid tag"},
      {"ghcr.io/org/po licy", "whitespace"},
      {":v1", "repository name is missing"},
      {"ghcr.io:port/x", "invalid registry host"},
  };
  for (const auto& [input, why] : cases) {
    auto ref = parseReference(input);
    ASSERT_FALSE(ref.ok()) << input << " parsed as " << ref->whole();
    EXPECT_NE(ref.error().message.find(why), std::string::npos)
        << input << ": " << ref.error().message;
    EXPECT_NE(ref.error().message.find("invalid OCI reference"), std::string::npos);
  }
}

}  // namespace
}  // namespace kw::oci
