#include "wasm/binary/module_binary.h"

#include <gtest/gtest.h>

#include "support/test_env.h"

namespace kw::wasm::binary {
namespace {

const Bytes kEmpty = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};

// (module (memory 2 8)) and (module (import "env" "memory" (memory 1)))
const Bytes kDefinedMemory = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
                              0x05, 0x04, 0x01, 0x01, 0x02, 0x08};
const Bytes kImportedMemory = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x02, 0x0f,
                               0x01, 0x03, 'e',  'n',  'v',  0x06, 'm',  'e',  'm',  'o',
                               'r',  'y',  0x02, 0x00, 0x01};

TEST(ModuleBinary, RecognisesWasm) {
  EXPECT_TRUE(isWasm(kEmpty));
  EXPECT_FALSE(isWasm(Bytes{'h', 'i'}));
  EXPECT_FALSE(parse(Bytes{1, 2, 3, 4, 5, 6, 7, 8}).ok());
}

TEST(ModuleBinary, CustomSectionRoundTrip) {
  auto once = withCustomSection(kEmpty, "io.kubewarden.metadata", "{\"a\":1}");
  ASSERT_TRUE(once.ok());
  EXPECT_EQ(customSection(*once, "io.kubewarden.metadata"), "{\"a\":1}");
  auto twice = withCustomSection(*once, "io.kubewarden.metadata", "{}");
  ASSERT_TRUE(twice.ok());
  EXPECT_EQ(customSection(*twice, "io.kubewarden.metadata"), "{}");
  auto info = parse(*twice);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->custom_sections.size(), 1u) << "the old section is replaced, not kept";
  EXPECT_FALSE(customSection(kEmpty, "io.kubewarden.metadata").has_value());
}

TEST(ModuleBinary, TruncatedSectionIsAnError) {
  Bytes bad = kDefinedMemory;
  bad[9] = 0x40;  // section size larger than what follows
  auto r = parse(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("overruns"), std::string::npos);
}

TEST(ModuleBinary, CapsDefinedMemory) {
  auto info = parse(kDefinedMemory);
  ASSERT_TRUE(info.ok());
  ASSERT_TRUE(info->memory);
  EXPECT_EQ(info->memory->min_pages, 2u);
  EXPECT_EQ(info->memory->max_pages, 8u);
  auto capped = withMemoryCap(kDefinedMemory, 4);
  ASSERT_TRUE(capped.ok());
  auto after = parse(*capped);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->memory->max_pages, 4u);
  auto loose = withMemoryCap(kDefinedMemory, 100);
  EXPECT_EQ(parse(*loose)->memory->max_pages, 8u) << "a smaller declared maximum is kept";
  auto refused = withMemoryCap(kDefinedMemory, 1);
  ASSERT_FALSE(refused.ok());
}

TEST(ModuleBinary, CapsImportedMemoryAndAddsAMaximum) {
  auto capped = withMemoryCap(kImportedMemory, 16);
  ASSERT_TRUE(capped.ok());
  auto info = parse(*capped);
  ASSERT_TRUE(info.ok());
  ASSERT_EQ(info->imports.size(), 1u);
  EXPECT_EQ(info->imports[0].module, "env");
  EXPECT_TRUE(info->memory->imported);
  EXPECT_EQ(info->memory->min_pages, 1u);
  EXPECT_EQ(info->memory->max_pages, 16u);
}

// Found by fuzzing: with two memories (multi-memory) the cap rewrote the first and left the
// second at its own maximum, so a guest could grow past the limit through it.
TEST(ModuleBinary, SeveralMemoriesAreRefusedRatherThanHalfCapped) {
  const Bytes two_imported = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x02, 0x1f, 0x02,
                              0x03, 'e',  'n',  'v',  0x06, 'm',  'e',  'm',  'o',  'r',  'y',
                              0x02, 0x01, 0x01, 0x40, 0x03, 'e',  'n',  'v',  0x06, 'm',  'e',
                              'm',  'o',  'r',  'y',  0x02, 0x01, 0x01, 0x40};
  Bytes imported_and_defined = kImportedMemory;
  imported_and_defined.insert(imported_and_defined.end(), {0x05, 0x03, 0x01, 0x00, 0x40});
  for (const Bytes& module : {two_imported, imported_and_defined}) {
    auto info = parse(module);
    ASSERT_FALSE(info.ok());
    EXPECT_EQ(info.error().message, "modules with several memories are not supported");
    auto capped = withMemoryCap(module, 16);
    ASSERT_FALSE(capped.ok());
    EXPECT_EQ(capped.error().message, "modules with several memories are not supported");
  }
}

TEST(ModuleBinary, ReadsRealPolicyImportsAndExports) {
  auto bytes = test::readFile(test::testWasmDir() / "engine_probe.wasm");
  auto info = parse(bytes);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->imports.size(), 3u);
  bool has_spin = false;
  for (auto& e : info->exports) has_spin |= e.name == "spin";
  EXPECT_TRUE(has_spin);
}

}  // namespace
}  // namespace kw::wasm::binary

namespace kw::wasm::binary {
namespace {

TEST(ModuleBinary, DefinedMemoryBecomesAnImportWithTheSameLimits) {
  auto converted = withImportedMemory(kDefinedMemory, "kw", "memory");
  ASSERT_TRUE(converted.ok());
  auto info = parse(*converted);
  ASSERT_TRUE(info.ok());
  ASSERT_EQ(info->imports.size(), 1u);
  EXPECT_EQ(info->imports[0].module, "kw");
  EXPECT_EQ(info->imports[0].name, "memory");
  EXPECT_EQ(info->imports[0].kind, 2);
  ASSERT_TRUE(info->memory);
  EXPECT_TRUE(info->memory->imported);
  EXPECT_EQ(info->memory->min_pages, 2u);
  EXPECT_EQ(info->memory->max_pages, 8u);
}

// Found by fuzz/wasm_binary_fuzz.cc: an import section with bytes after its last entry was read
// as valid, and withImportedMemory appended the memory import after those bytes, so the module
// it returned no longer parsed (the engine would have refused it, or read another import).
TEST(ModuleBinary, BytesAfterASectionsEntriesAreMalformed) {
  // (module (import "env" "f" (func)) (memory 1 2)) with two stray bytes in the import section.
  const Bytes module = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01,
                        0x60, 0x00, 0x00, 0x02, 0x0b, 0x01, 0x03, 'e',  'n',  'v',  0x01,
                        'f',  0x00, 0x00, 0x03, 0x02, 0x05, 0x04, 0x01, 0x01, 0x01, 0x02};
  auto info = parse(module);
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().message, "malformed wasm: section 2 has 2 bytes after its entries");
  auto converted = withImportedMemory(module, "kw", "memory");
  ASSERT_FALSE(converted.ok());
  EXPECT_EQ(converted.error().message, info.error().message);
  Bytes clean = module;  // the same module without the stray bytes parses and converts
  clean.erase(clean.begin() + 25, clean.begin() + 27);
  clean[15] = 0x09;
  ASSERT_TRUE(parse(clean).ok()) << parse(clean).error().message;
  auto again = withImportedMemory(clean, "kw", "memory");
  ASSERT_TRUE(again.ok());
  auto after = parse(*again);
  ASSERT_TRUE(after.ok()) << after.error().message;
  ASSERT_EQ(after->imports.size(), 2u);
  EXPECT_EQ(after->imports[1].name, "memory");
}

// Found by fuzz/wasm_binary_fuzz.cc: with two memory sections, parse() reported the second and
// withMemoryCap capped the first, so the cap it promised did not hold for what parse() read.
TEST(ModuleBinary, RepeatedOrMisplacedSectionsAreMalformed) {
  Bytes twice = kDefinedMemory;
  twice.insert(twice.end(), kDefinedMemory.begin() + 8, kDefinedMemory.end());
  auto info = parse(twice);
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().message, "malformed wasm: section 5 is repeated or out of order");
  EXPECT_FALSE(withMemoryCap(twice, 4).ok());
  EXPECT_FALSE(withImportedMemory(twice, "kw", "memory").ok());
  // An import section (2) after the memory section (5) is out of order.
  Bytes misplaced = kDefinedMemory;
  misplaced.insert(misplaced.end(), {0x02, 0x01, 0x00});
  ASSERT_FALSE(parse(misplaced).ok());
  // Custom sections may appear anywhere, any number of times.
  Bytes customs = kDefinedMemory;
  customs.insert(customs.begin() + 8, {0x00, 0x02, 0x01, 'a'});
  customs.insert(customs.end(), {0x00, 0x02, 0x01, 'a'});
  EXPECT_TRUE(parse(customs).ok());
}

// Found by fuzz/wasm_binary_fuzz.cc: a section id this reader does not know, before the import
// section, made withImportedMemory insert a new import section there and then extend the
// module's own one too: two import sections.
TEST(ModuleBinary, AnUnknownSectionBeforeTheImportsGetsNoImportSectionOfItsOwn) {
  // An unknown section 45, then (import "env" "f" (func)) and (memory 1 32).
  const Bytes module = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x2d, 0x01, 0x00, 0x01,
                        0x04, 0x01, 0x60, 0x00, 0x00, 0x02, 0x09, 0x01, 0x03, 'e',  'n',  'v',
                        0x01, 'f',  0x00, 0x00, 0x05, 0x04, 0x01, 0x01, 0x01, 0x20};
  ASSERT_TRUE(parse(module).ok()) << parse(module).error().message;
  auto converted = withImportedMemory(module, "kw", "memory");
  ASSERT_TRUE(converted.ok()) << converted.error().message;
  auto info = parse(*converted);
  ASSERT_TRUE(info.ok()) << info.error().message;
  ASSERT_EQ(info->imports.size(), 2u);
  EXPECT_EQ(info->imports[0].name, "f");
  EXPECT_EQ(info->imports[1].name, "memory");
  ASSERT_TRUE(info->memory);
  EXPECT_TRUE(info->memory->imported);
  EXPECT_EQ(info->memory->max_pages, 32u);
}

TEST(ModuleBinary, ImportedMemoryIsLeftAlone) {
  auto same = withImportedMemory(kImportedMemory, "kw", "memory");
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(*same, kImportedMemory);
  auto none = withImportedMemory(kEmpty, "kw", "memory");
  EXPECT_EQ(*none, kEmpty);
}

TEST(ModuleBinary, ConvertedProbeKeepsItsOtherImportsFirst) {
  auto bytes = test::readFile(test::testWasmDir() / "engine_probe.wasm");
  auto converted = withImportedMemory(bytes, "kw", "memory");
  ASSERT_TRUE(converted.ok());
  auto info = parse(*converted);
  ASSERT_TRUE(info.ok());
  ASSERT_EQ(info->imports.size(), 4u);
  EXPECT_EQ(info->imports[0].name, "host_i64") << "function indices must not shift";
  EXPECT_EQ(info->imports[3].name, "memory");
}

}  // namespace
}  // namespace kw::wasm::binary
