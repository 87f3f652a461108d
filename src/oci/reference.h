// OCI image references as Kubewarden users write them: `registry://ghcr.io/org/policy:v1`,
// `ghcr.io/org/policy@sha256:…`, or short Docker Hub names (`busybox` is
// docker.io/library/busybox:latest), expanded the way upstream's OCI client does.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace kw::oci {

struct Reference {
  std::string registry;    // host[:port] as written ("docker.io" for short names)
  std::string repository;  // e.g. "kubewarden/policies/pod-privileged"
  std::string tag;         // empty only when `digest` is set
  std::string digest;      // "sha256:<64 hex>" or empty

  // host[:port] to send HTTP requests to ("registry-1.docker.io" for docker.io).
  std::string apiHost() const;
  // The digest, else the tag: what goes after /manifests/. A digest pins the content, so when
  // both are written the tag is only a label and never decides what is fetched.
  std::string manifestRef() const;
  // "registry/repository:tag" (plus "@digest" when present), without a scheme.
  std::string whole() const;
};

// Accepts an optional `registry://` prefix. Errors name the text and what is wrong.
Result<Reference> parseReference(std::string_view text);

}  // namespace kw::oci
