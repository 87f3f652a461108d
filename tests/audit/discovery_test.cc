#include "audit/discovery.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace kw::audit {
namespace {

TEST(AuditDiscovery, ResourcesOfADiscoveryDocumentWithoutSubresources) {
  nlohmann::json doc = {
      {"kind", "APIResourceList"},
      {"groupVersion", "apps/v1"},
      {"resources",
       {{{"name", "deployments"}, {"kind", "Deployment"}, {"namespaced", true}},
        {{"name", "deployments/scale"}, {"kind", "Scale"}, {"namespaced", true}},
        {{"name", "controllerrevisions"}, {"kind", "ControllerRevision"}, {"namespaced", true}}}}};
  auto types = resourcesOf(doc, "apps/v1");
  ASSERT_EQ(types.size(), 2u);
  const kube::ResourceType& d = types.at("deployments");
  EXPECT_EQ(d.key.api_version, "apps/v1");
  EXPECT_EQ(d.key.kind, "Deployment");
  EXPECT_EQ(d.plural, "deployments");
  EXPECT_TRUE(d.namespaced);
  EXPECT_EQ(types.count("deployments/scale"), 0u);

  nlohmann::json core = {
      {"resources", {{{"name", "namespaces"}, {"kind", "Namespace"}, {"namespaced", false}}}}};
  EXPECT_FALSE(resourcesOf(core, "v1").at("namespaces").namespaced);
}

}  // namespace
}  // namespace kw::audit
