#include "controller/queue_keys.h"

#include <gtest/gtest.h>

namespace kw::controller {
namespace {

TEST(QueueKeys, NamespacedKeysCarryTheirNamespaceAndRoundTrip) {
  EXPECT_EQ(queueKey("team-a", "labels"), "team-a/labels");
  EXPECT_EQ(queueKey("", "psp"), "psp");
  EXPECT_EQ(splitQueueKey("team-a/labels"), std::make_pair(std::string("team-a"), std::string("labels")));
  EXPECT_EQ(splitQueueKey("psp"), std::make_pair(std::string(), std::string("psp")));
}

}  // namespace
}  // namespace kw::controller
