#include "store/store.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "common/sha256.h"

namespace kw::store {
namespace {
namespace fs = std::filesystem;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("kw-store-test-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  // Writes `content` where the store keeps `uri`; returns the path.
  fs::path put(const Store& store, const std::string& uri, const std::string& content) {
    auto path = store.pathFor(uri);
    EXPECT_TRUE(path.ok()) << uri;
    fs::create_directories(path->parent_path());
    std::ofstream(*path, std::ios::binary) << content;
    return *path;
  }

  fs::path root_;
};

TEST_F(StoreTest, PathForMatchesUpstreamLayout) {
  Store store(root_);
  const std::pair<const char*, const char*> cases[] = {
      {"registry://ghcr.io/kubewarden/policies/pod-privileged:v0.2.2",
       "registry/ghcr.io/kubewarden/policies/pod-privileged:v0.2.2"},
      {"registry://host.example.com:1234/path/to/policy:tag",
       "registry/host.example.com:1234/path/to/policy:tag"},
      {"registry://ghcr.io/org/policy@sha256:abcd", "registry/ghcr.io/org/policy@sha256:abcd"},
      {"https://github.com/kubewarden/pod-privileged-policy/releases/download/v0.1.6/policy.wasm",
       "https/github.com/kubewarden/pod-privileged-policy/releases/download/v0.1.6/policy.wasm"},
      {"http://Host.Example.com:1234/path/to/policy.wasm?x=1",
       "http/host.example.com:1234/path/to/policy.wasm"},
  };
  for (const auto& [uri, rel] : cases) {
    auto path = store.pathFor(uri);
    ASSERT_TRUE(path.ok()) << uri << ": " << path.error().message;
    EXPECT_EQ(*path, root_ / rel) << uri;
  }
}

TEST_F(StoreTest, PathForRejectsWhatItCannotStore) {
  Store store(root_);
  for (const char* uri :
       {"file:///tmp/x.wasm", "ghcr.io/org/policy:v1", "registry://ghcr.io", "registry://ghcr.io/",
        "https://host/../etc/passwd", "registry://host/a//b"}) {
    auto path = store.pathFor(uri);
    ASSERT_FALSE(path.ok()) << uri;
    EXPECT_NE(path.error().message.find(uri), std::string::npos) << path.error().message;
  }
}

TEST_F(StoreTest, DefaultRootFollowsXdgCacheHome) {
  const char* old = std::getenv("XDG_CACHE_HOME");
  std::string saved = old ? old : "";
  ::setenv("XDG_CACHE_HOME", "/tmp/kw-xdg", 1);
  EXPECT_EQ(Store::defaultRoot(), fs::path("/tmp/kw-xdg/kubewarden/store"));
  ::unsetenv("XDG_CACHE_HOME");
  EXPECT_EQ(Store::defaultRoot(), fs::path(std::getenv("HOME")) / ".cache/kubewarden/store");
  if (old) ::setenv("XDG_CACHE_HOME", saved.c_str(), 1);
}

TEST_F(StoreTest, ListRebuildsUrisWithHashAndSize) {
  Store store(root_);
  put(store, "registry://internal.host.company:5000/some/path/to/wasm-module.wasm:1.0.0", "bbb");
  put(store, "https://internal.host.company/some/path/to/1.0.0/wasm-module.wasm", "a");
  put(store, "registry://ghcr.io/some/path/to/wasm-module.wasm:1.0.0", "cc");
  // A download in flight is not a policy.
  std::ofstream(root_ / "registry/ghcr.io/some/path/to/.kw-tmp-x.wasm.123456") << "partial";
  std::ofstream(root_ / "unrelated-file") << "x";

  auto list = store.list();
  ASSERT_TRUE(list.ok()) << list.error().message;
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].uri, "https://internal.host.company/some/path/to/1.0.0/wasm-module.wasm");
  EXPECT_EQ((*list)[1].uri, "registry://ghcr.io/some/path/to/wasm-module.wasm:1.0.0");
  EXPECT_EQ((*list)[2].uri,
            "registry://internal.host.company:5000/some/path/to/wasm-module.wasm:1.0.0");
  std::string bbb = "bbb";
  EXPECT_EQ((*list)[2].sha256, sha256Hex({reinterpret_cast<const uint8_t*>(bbb.data()), 3}));
  EXPECT_EQ((*list)[2].size, 3u);
  EXPECT_EQ((*list)[1].path, root_ / "registry/ghcr.io/some/path/to/wasm-module.wasm:1.0.0");
}

TEST_F(StoreTest, ListOfMissingRootIsEmpty) {
  auto list = Store(root_ / "absent").list();
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
}

TEST_F(StoreTest, FindByUriOrUniqueShaPrefix) {
  Store store(root_);
  put(store, "registry://r.io/a:1", "first");
  put(store, "registry://r.io/b:1", "second");
  auto list = store.list();
  ASSERT_TRUE(list.ok());
  const auto& a = (*list)[0];
  const auto& b = (*list)[1];

  auto by_uri = store.find("registry://r.io/b:1");
  ASSERT_TRUE(by_uri.ok());
  EXPECT_EQ(by_uri->sha256, b.sha256);

  // The shortest prefix that tells the two apart.
  size_t n = 1;
  while (a.sha256.substr(0, n) == b.sha256.substr(0, n)) ++n;
  auto by_sha = store.find(a.sha256.substr(0, n));
  ASSERT_TRUE(by_sha.ok()) << by_sha.error().message;
  EXPECT_EQ(by_sha->uri, a.uri);

  auto missing = store.find("registry://r.io/c:1");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("registry://r.io/c:1"), std::string::npos);

  std::string unmatched = a.sha256[0] == '0' ? "1" : "0";
  while (b.sha256.rfind(unmatched, 0) == 0 || a.sha256.rfind(unmatched, 0) == 0) unmatched += "0";
  auto none = store.find(unmatched);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("SHA-256 starting with " + unmatched), std::string::npos);
}

TEST_F(StoreTest, AmbiguousShaPrefixIsAnError) {
  Store store(root_);
  // Add modules until two share a first hex digit (at most 17 by pigeonhole).
  std::map<char, std::string> seen;
  std::string prefix;
  for (int i = 0; prefix.empty(); ++i) {
    std::string uri = "registry://r.io/p" + std::to_string(i) + ":1";
    put(store, uri, "content-" + std::to_string(i));
    auto found = store.find(uri);
    ASSERT_TRUE(found.ok());
    char first = found->sha256[0];
    if (seen.count(first)) prefix = std::string(1, first);
    seen[first] = uri;
  }
  auto result = store.find(prefix);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("ambiguous"), std::string::npos) << result.error().message;
}

TEST_F(StoreTest, RemovePrunesEmptyFoldersOnly) {
  Store store(root_);
  fs::path kept = put(store, "registry://r.io/org/keep:1", "k");
  fs::path gone = put(store, "registry://r.io/org/deep/er/gone:1", "g");
  ASSERT_TRUE(store.remove("registry://r.io/org/deep/er/gone:1").ok());
  EXPECT_FALSE(fs::exists(gone));
  EXPECT_FALSE(fs::exists(root_ / "registry/r.io/org/deep"));
  EXPECT_TRUE(fs::exists(kept));

  ASSERT_TRUE(store.remove("registry://r.io/org/keep:1").ok());
  EXPECT_FALSE(fs::exists(root_ / "registry"));
  EXPECT_TRUE(fs::exists(root_));

  auto again = store.remove("registry://r.io/org/keep:1");
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("not found"), std::string::npos);
}

}  // namespace
}  // namespace kw::store
