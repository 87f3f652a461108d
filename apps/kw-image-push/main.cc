// kw-image-push: pushes an OCI image layout to a registry (scripts/images.sh, `make images`).
#include <CLI/CLI.hpp>
#include <cstdio>

#include "oci/image_layout.h"
#include "oci/reference.h"
#include "oci/registry_client.h"

int main(int argc, char** argv) {
  CLI::App app{"Pushes an OCI image layout (index.json + blobs/) to a registry"};
  std::string layout;
  std::string target;
  bool https_only = false;
  app.add_option("--layout", layout, "OCI image layout folder")
      ->required()
      ->check(CLI::ExistingDirectory);
  app.add_option("reference", target, "host[:port]/repository:tag")->required();
  app.add_flag("--https-only", https_only,
               "never fall back to plain HTTP (default: allowed for the target registry)");
  CLI11_PARSE(app, argc, argv);

  auto ref = kw::oci::parseReference(target);
  if (!ref) {
    std::fprintf(stderr, "kw-image-push: %s\n", ref.error().message.c_str());
    return 2;
  }
  kw::oci::ClientOptions options;
  // A local registry (the tests' docker-registry) speaks plain HTTP.
  if (!https_only) options.sources.insecure_sources.insert(ref->registry);
  kw::oci::RegistryClient client(options);
  auto digest = kw::oci::pushImageLayout(client, *ref, layout);
  if (!digest) {
    std::fprintf(stderr, "kw-image-push: %s\n", digest.error().message.c_str());
    return 1;
  }
  std::printf("%s/%s@%s\n", ref->registry.c_str(), ref->repository.c_str(), digest->c_str());
  return 0;
}
