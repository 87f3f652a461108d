#include "common/file_read.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace kw {
namespace {

namespace fs = std::filesystem;

class FileRead : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("kw-fileread-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(FileRead, ReadsAWholeFileUpToTheLimit) {
  std::ofstream(dir_ / "f", std::ios::binary) << std::string(1000, 'a') << '\0' << "tail";
  auto text = readFileBounded(dir_ / "f", 1005);
  ASSERT_TRUE(text.ok()) << text.error().message;
  EXPECT_EQ(text->size(), 1005u);
  EXPECT_EQ(text->substr(1001), "tail");
  auto empty = readFileBounded("/dev/null");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST_F(FileRead, RefusesFoldersMissingFilesAndTooMuch) {
  auto folder = readFileBounded(dir_);
  ASSERT_FALSE(folder.ok());
  EXPECT_EQ(folder.error().message, dir_.string() + " is a directory, not a file");

  auto missing = readFileBounded(dir_ / "absent");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message,
            "cannot read " + (dir_ / "absent").string() + ": No such file or directory");

  std::ofstream(dir_ / "big", std::ios::binary) << std::string(2048, 'b');
  auto big = readFileBounded(dir_ / "big", 2047);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().message, (dir_ / "big").string() + " is larger than 2047 bytes");

  // A device with no end stops at the limit instead of filling memory.
  auto zero = readFileBounded("/dev/zero", 1u << 20);
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.error().message, "/dev/zero is larger than 1048576 bytes");
}

// A device named as a policy module is refused before reading: `kwctl run /dev/zero` read
// 512 MiB of zeros before saying it was too large.
TEST_F(FileRead, ModulesMustNotBeDevices) {
  auto zero = readModuleFile("/dev/zero");
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.error().message, "/dev/zero is a device, not a WebAssembly module");
  std::ofstream(dir_ / "m.wasm", std::ios::binary) << std::string("\0asm\1\0\0\0", 8);
  auto module = readModuleFile(dir_ / "m.wasm");
  ASSERT_TRUE(module.ok()) << module.error().message;
  EXPECT_EQ(module->size(), 8u);
  auto folder = readModuleFile(dir_);
  ASSERT_FALSE(folder.ok());
  EXPECT_EQ(folder.error().message, dir_.string() + " is a directory, not a file");
}

}  // namespace
}  // namespace kw
