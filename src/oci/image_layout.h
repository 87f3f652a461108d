// Pushing an OCI image layout (image-spec "oci-layout" folder: index.json + blobs/sha256/) to a
// registry: what `make images` uses, since no container engine runs here.
#pragma once

#include <filesystem>
#include <string>

#include "common/result.h"
#include "oci/reference.h"
#include "oci/registry_client.h"

namespace kw::oci {

// Pushes the one image manifest index.json lists (its config and layers first, each checked
// against its digest by the registry), tagged as `ref`. The manifest's digest.
Result<std::string> pushImageLayout(RegistryClient& client, const Reference& ref,
                                    const std::filesystem::path& layout);

}  // namespace kw::oci
