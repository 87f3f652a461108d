#include "controller/names.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace kw::controller {
namespace {

TEST(ControllerNames, UniqueNamesFollowThePolicyKind) {
  auto cap = nlohmann::json::parse(
      R"({"kind":"ClusterAdmissionPolicy","metadata":{"name":"privileged-pods"}})");
  auto ap = nlohmann::json::parse(
      R"({"kind":"AdmissionPolicy","metadata":{"namespace":"team-a","name":"safe-labels"}})");
  EXPECT_EQ(uniqueName(cap), "clusterwide-privileged-pods");
  EXPECT_EQ(uniqueName(ap), "namespaced-team-a-safe-labels");
  EXPECT_EQ(policyServerObjectName("default"), "policy-server-default");
  EXPECT_EQ(policyServerAppLabel("default"), "kubewarden-policy-server-default");
}

}  // namespace
}  // namespace kw::controller
