// End to end: oci/v1/manifest_digest through our host_caller policies (waPC and WASI) against a
// local docker-registry, compared with `kwctl digest` of the same pushed artifact.
#include <gtest/gtest.h>

#include "context/context_env.h"
#include "support/cant_run.h"
#include "support/registry_process.h"

namespace kw::context_test {
namespace {

TEST(ContextOci, ManifestDigestMatchesKwctlDigest) {
  using test::RegistryProcess;
  auto why = RegistryProcess::unavailableReason(RegistryProcess::Mode::Http);
  if (!why.empty()) KW_CANT_RUN() << why;
  RegistryProcess registry(RegistryProcess::Mode::Http);
  ASSERT_TRUE(registry.ready()) << registry.error();
  fs::path dir = makeTempDir("oci");
  fs::path sources = dir / "sources.yml";
  writeFile(sources, "insecure_sources:\n- \"" + registry.host() + "\"\n");
  std::string image = registry.host() + "/ctx/host-caller:v1";
  std::string kwctl = shellQuote((test::binDir() / "kwctl").string());
  auto pushed = test::runCommand(
      kwctl + " push " + shellQuote(annotatedGuest("host_caller").string()) + " registry://" +
      image + " --sources-path " + shellQuote(sources.string()) + " 2>&1");
  ASSERT_EQ(pushed.status, 0) << pushed.out;
  auto digest = test::runCommand(kwctl + " digest registry://" + image + " --sources-path " +
                                 shellQuote(sources.string()) + " 2>/dev/null");
  ASSERT_EQ(digest.status, 0) << digest.out;
  auto at = digest.out.find("@sha256:");
  ASSERT_NE(at, std::string::npos) << digest.out;
  std::string expected = digest.out.substr(at + 1, 7 + 64);

  Json settings = {{"binding", "kubewarden"},
                   {"namespace", "oci"},
                   {"operation", "v1/manifest_digest"},
                   {"payload", image}};
  for (std::string policy : {"host_caller", "wasi_host_caller"}) {
    SCOPED_TRACE(policy);
    auto r = kwctlRun(dir, annotatedGuest(policy), podRequest("default"), settings,
                      {"--sources-path", sources.string()}, "");
    ASSERT_EQ(r.status, 0) << r.err;
    ASSERT_EQ(r.response.value("allowed", false), true) << r.out << r.err;
    Json reply = Json::parse(statusMessage(r.response), nullptr, false);
    ASSERT_TRUE(reply.is_object() && reply["digest"].is_string()) << r.out;
    // Kubewarden 1.10 JSON-encodes the digest inside the field (spec §2.4): accept both forms.
    std::string got = reply["digest"].get<std::string>();
    EXPECT_TRUE(got == expected || got == "\"" + expected + "\"") << got << " vs " << expected;

    Json missing = settings;
    missing["payload"] = registry.host() + "/ctx/nothing-here:v1";
    auto absent = kwctlRun(dir, annotatedGuest(policy), podRequest("default"), missing,
                           {"--sources-path", sources.string()}, "");
    EXPECT_EQ(absent.response.value("allowed", true), false) << absent.out << absent.err;
    EXPECT_EQ(statusMessage(absent.response).rfind("host error: ", 0), 0u) << absent.out;
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kw::context_test
