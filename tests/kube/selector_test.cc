#include "kube/selector.h"

#include <gtest/gtest.h>

namespace kw::kube {
namespace {

bool labelsMatch(const std::string& selector, const Labels& labels) {
  auto sel = LabelSelector::parse(selector);
  EXPECT_TRUE(sel.ok()) << selector << ": " << (sel.ok() ? "" : sel.error().message);
  return sel.ok() && sel->matches(labels);
}

TEST(KubeSelector, EqualityAndInequality) {
  Labels labels = {{"app", "web"}, {"tier", "front"}};
  EXPECT_TRUE(labelsMatch("app=web", labels));
  EXPECT_TRUE(labelsMatch("app==web", labels));
  EXPECT_FALSE(labelsMatch("app=db", labels));
  EXPECT_TRUE(labelsMatch("app!=db", labels));
  EXPECT_FALSE(labelsMatch("app!=web", labels));
  // As in the API server, != also selects objects that lack the label.
  EXPECT_TRUE(labelsMatch("missing!=x", labels));
  EXPECT_TRUE(labelsMatch("app=web, tier=front", labels));
  EXPECT_FALSE(labelsMatch("app=web,tier=back", labels));
}

TEST(KubeSelector, SetBasedAndExistence) {
  Labels labels = {{"env", "prod"}, {"kubernetes.io/metadata.name", "x"}};
  EXPECT_TRUE(labelsMatch("env in (prod, qa)", labels));
  EXPECT_FALSE(labelsMatch("env in (qa)", labels));
  EXPECT_TRUE(labelsMatch("env notin (qa,dev)", labels));
  EXPECT_FALSE(labelsMatch("env notin (prod)", labels));
  EXPECT_TRUE(labelsMatch("other notin (prod)", labels));
  EXPECT_TRUE(labelsMatch("env", labels));
  EXPECT_TRUE(labelsMatch("!other", labels));
  EXPECT_FALSE(labelsMatch("!env", labels));
  EXPECT_TRUE(labelsMatch("kubernetes.io/metadata.name=x,env in (prod),!other", labels));
  EXPECT_TRUE(labelsMatch("", labels));
}

TEST(KubeSelector, MalformedSelectorsAreRejectedWithTheTerm) {
  auto bad = LabelSelector::parse("env in prod");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("env in prod"), std::string::npos);
  EXPECT_FALSE(LabelSelector::parse("a=b,,c=d").ok());
  EXPECT_FALSE(LabelSelector::parse("=value").ok());
  EXPECT_FALSE(FieldSelector::parse("metadata.name").ok());
}

TEST(KubeSelector, FieldSelectors) {
  auto sel = FieldSelector::parse("metadata.name=web,metadata.namespace!=kube-system");
  ASSERT_TRUE(sel.ok());
  EXPECT_TRUE(sel->supported());
  EXPECT_TRUE(sel->matches("default", "web"));
  EXPECT_FALSE(sel->matches("kube-system", "web"));
  EXPECT_FALSE(sel->matches("default", "db"));
  auto other = FieldSelector::parse("status.phase==Running");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->supported());
}

}  // namespace
}  // namespace kw::kube
