// wasmtime's code cache, through the engine interface only: an entry is written by the first
// compile and loaded by the next; a damaged or foreign entry is thrown away and rebuilt.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "support/cant_run.h"
#include "support/engines.h"
#include "support/test_env.h"

namespace kw::wasm {
namespace {

namespace fs = std::filesystem;

class CodeCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto names = test::engineNames();
    if (std::find(names.begin(), names.end(), "wasmtime") == names.end()) {
      KW_CANT_RUN() << "this build was configured with wasmtime, but it has no wasmtime engine";
    }
    std::string pattern = (fs::temp_directory_path() / "kw-code-cache-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    bytes_ = test::readFile(test::testWasmDir() / "engine_probe.wasm");
    ASSERT_FALSE(bytes_.empty());
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  // Compiles with a new engine object (as a new process would) and checks the module runs.
  void compileAndRun() {
    EngineOptions options;
    options.code_cache_dir = dir_.string();
    auto engine = test::makeEngine("wasmtime", options);
    EXPECT_EQ(test::runProbeAdd(*engine, bytes_), "");
  }

  std::vector<fs::path> entries() const {
    std::vector<fs::path> out;
    for (const auto& e : fs::recursive_directory_iterator(dir_)) {
      if (e.is_regular_file()) out.push_back(e.path());
    }
    return out;
  }
  fs::path onlyEntry() const {
    auto all = entries();
    EXPECT_EQ(all.size(), 1u);
    return all.empty() ? fs::path() : all[0];
  }
  // Back-dates an entry, so that a rewrite shows as a new modification time.
  static void backdate(const fs::path& p) {
    fs::last_write_time(p, fs::file_time_type::clock::now() - std::chrono::hours(24));
  }
  static bool rewritten(const fs::path& p) {
    return fs::last_write_time(p) > fs::file_time_type::clock::now() - std::chrono::hours(1);
  }
  static void rewrite(const fs::path& p, const std::string& content) {
    std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
  }
  static std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  fs::path dir_;
  std::vector<uint8_t> bytes_;
};

TEST_F(CodeCacheTest, TheFirstCompileWritesAnEntryTheNextLoadsIt) {
  compileAndRun();
  fs::path entry = onlyEntry();
  EXPECT_EQ(entry.extension(), ".cwasm");
  EXPECT_EQ(entry.stem().string().size(), 64u) << "named by the module's sha256";
  backdate(entry);
  compileAndRun();
  EXPECT_FALSE(rewritten(onlyEntry())) << "a good entry is used, not written again";
}

TEST_F(CodeCacheTest, ACorruptEntryIsDiscardedAndRebuilt) {
  compileAndRun();
  fs::path entry = onlyEntry();
  std::string good = slurp(entry);
  std::string bad = good;
  bad[bad.size() - 100] ^= 0x5a;  // inside the machine code, past the header
  rewrite(entry, bad);
  compileAndRun();
  EXPECT_EQ(slurp(onlyEntry()), good) << "the corrupt entry was compiled again";
  backdate(onlyEntry());
  compileAndRun();
  EXPECT_FALSE(rewritten(onlyEntry())) << "and the rebuilt one is used";
}

TEST_F(CodeCacheTest, ATruncatedEntryIsDiscardedAndRebuilt) {
  compileAndRun();
  fs::path entry = onlyEntry();
  std::string good = slurp(entry);
  rewrite(entry, good.substr(0, good.size() / 2));
  compileAndRun();
  EXPECT_EQ(slurp(onlyEntry()).size(), good.size());
}

TEST_F(CodeCacheTest, AnEntryFromAnotherBuildIsDiscardedAndRebuilt) {
  compileAndRun();
  fs::path entry = onlyEntry();
  std::string good = slurp(entry);
  // Same layout, another engine build named in the header.
  auto first = good.find('\n');
  auto second = good.find('\n', first + 1);
  std::string foreign =
      good.substr(0, first + 1) + "wasmtime-0.0.0-elsewhere" + good.substr(second);
  rewrite(entry, foreign);
  compileAndRun();
  EXPECT_EQ(slurp(onlyEntry()), good);
}

TEST_F(CodeCacheTest, NoFolderMeansNoCache) {
  auto engine = test::makeEngine("wasmtime");
  auto m = engine->compile(bytes_);
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(entries().empty());
}

}  // namespace
}  // namespace kw::wasm
