#include "wasm/binary/module_binary.h"

#include <fmt/format.h>

#include <cstring>

namespace kw::wasm::binary {
namespace {

constexpr uint8_t kMagic[8] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
constexpr uint8_t kCustom = 0, kImport = 2, kMemory = 5, kExport = 7;

// A cursor over untrusted bytes: every read is bounds-checked and sets `bad` instead of reading
// past the end, so a truncated module yields an error rather than undefined behaviour.
struct Reader {
  std::span<const uint8_t> b;
  size_t pos = 0;
  bool bad = false;

  bool atEnd() const { return pos >= b.size(); }
  uint8_t byte() {
    if (pos >= b.size()) { bad = true; return 0; }
    return b[pos++];
  }
  uint64_t leb() {
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t v = byte();
      if (bad) return 0;
      result |= uint64_t(v & 0x7f) << shift;
      if (!(v & 0x80)) return result;
    }
    bad = true;
    return 0;
  }
  std::string name() {
    uint64_t len = leb();
    if (bad || len > b.size() - pos) { bad = true; return {}; }
    std::string s(reinterpret_cast<const char*>(b.data() + pos), len);
    pos += len;
    return s;
  }
  void skip(uint64_t n) {
    if (n > b.size() - pos) { bad = true; return; }
    pos += n;
  }
};

struct Section {
  uint8_t id;
  size_t header_start;  // offset of the id byte
  size_t body_start;
  size_t body_end;
};

void putLeb(Bytes& out, uint64_t v) {
  do {
    uint8_t byte = v & 0x7f;
    v >>= 7;
    if (v) byte |= 0x80;
    out.push_back(byte);
  } while (v);
}

// The order of the non-custom sections in a module (data count sits before code).
int sectionRank(uint8_t id) {
  static const int kRank[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 10};
  return id < 13 ? kRank[id] : 99;
}

Result<std::vector<Section>> sections(std::span<const uint8_t> bytes) {
  if (!isWasm(bytes)) return makeError("not a WebAssembly module (bad magic or version)");
  Reader r{bytes, 8};
  std::vector<Section> out;
  int last_rank = 0;
  while (!r.atEnd()) {
    Section s;
    s.header_start = r.pos;
    s.id = r.byte();
    uint64_t size = r.leb();
    if (r.bad || size > bytes.size() - r.pos) {
      return makeError(fmt::format("malformed wasm: section at offset {} overruns the module",
                                   s.header_start));
    }
    s.body_start = r.pos;
    s.body_end = r.pos + size;
    r.pos = s.body_end;
    // Each known section at most once and in the binary format's order: with two memory
    // sections, the reader and the rewriters would each pick a different one.
    if (s.id != kCustom && s.id < 13) {
      if (sectionRank(s.id) <= last_rank) {
        return makeError(
            fmt::format("malformed wasm: section {} is repeated or out of order", s.id));
      }
      last_rank = sectionRank(s.id);
    }
    out.push_back(s);
  }
  return out;
}

// Reads limits; returns {flags, min, max?} and leaves r after them.
MemoryLimits readLimits(Reader& r) {
  MemoryLimits l;
  uint8_t flags = r.byte();
  l.min_pages = r.leb();
  if (flags & 1) l.max_pages = r.leb();
  if (flags > 7) r.bad = true;
  return l;
}

struct LimitsSpot {
  size_t section_index;
  size_t start, end;  // byte range of the limits inside the module
  MemoryLimits limits;
  uint8_t flags;
};

Result<std::optional<LimitsSpot>> findMemoryLimits(std::span<const uint8_t> bytes,
                                                    const std::vector<Section>& secs) {
  for (size_t i = 0; i < secs.size(); ++i) {
    const Section& s = secs[i];
    if (s.id != kImport && s.id != kMemory) continue;
    Reader r{bytes.subspan(0, s.body_end), s.body_start};
    uint64_t count = r.leb();
    for (uint64_t n = 0; n < count && !r.bad; ++n) {
      bool is_memory = true;
      if (s.id == kImport) {
        r.name();
        r.name();
        uint8_t kind = r.byte();
        is_memory = kind == 2;
        if (kind == 0) r.leb();
        else if (kind == 1) { r.byte(); readLimits(r); }
        else if (kind == 3) { r.byte(); r.byte(); }
        if (!is_memory) continue;
      }
      LimitsSpot spot{i, r.pos, 0, {}, bytes[r.pos]};
      spot.limits = readLimits(r);
      spot.limits.imported = s.id == kImport;
      spot.end = r.pos;
      if (r.bad) break;
      return std::optional<LimitsSpot>(spot);
    }
    if (r.bad) return makeError("malformed wasm: bad import or memory section");
  }
  return std::optional<LimitsSpot>();
}

// Rebuilds `bytes` with the byte range [start,end) inside section `sec` replaced.
Bytes spliceSection(std::span<const uint8_t> bytes, const Section& sec, size_t start, size_t end,
                    const Bytes& replacement) {
  Bytes body(bytes.begin() + sec.body_start, bytes.begin() + start);
  body.insert(body.end(), replacement.begin(), replacement.end());
  body.insert(body.end(), bytes.begin() + end, bytes.begin() + sec.body_end);
  Bytes out(bytes.begin(), bytes.begin() + sec.header_start);
  out.push_back(sec.id);
  putLeb(out, body.size());
  out.insert(out.end(), body.begin(), body.end());
  out.insert(out.end(), bytes.begin() + sec.body_end, bytes.end());
  return out;
}

void putName(Bytes& out, std::string_view s) {
  putLeb(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

void putSection(Bytes& out, uint8_t id, const Bytes& body) {
  out.push_back(id);
  putLeb(out, body.size());
  out.insert(out.end(), body.begin(), body.end());
}

}  // namespace

bool isWasm(std::span<const uint8_t> bytes) {
  return bytes.size() >= 8 && std::memcmp(bytes.data(), kMagic, 8) == 0;
}

Result<ModuleInfo> parse(std::span<const uint8_t> bytes) {
  auto secs = sections(bytes);
  if (!secs) return secs.error();
  ModuleInfo info;
  // Memories imported and defined: the caps apply to one, so a second (multi-memory) would
  // escape them.
  uint64_t memories = 0;
  for (const Section& s : *secs) {
    Reader r{bytes.subspan(0, s.body_end), s.body_start};
    if (s.id == kCustom) {
      std::string name = r.name();
      if (r.bad) return makeError("malformed wasm: bad custom section name");
      info.custom_sections.emplace_back(
          std::move(name), std::string(reinterpret_cast<const char*>(bytes.data() + r.pos),
                                       s.body_end - r.pos));
    } else if (s.id == kImport) {
      uint64_t count = r.leb();
      for (uint64_t n = 0; n < count && !r.bad; ++n) {
        Import im{r.name(), r.name(), r.byte()};
        if (im.kind == 0) r.leb();
        else if (im.kind == 1) { r.byte(); readLimits(r); }
        else if (im.kind == 2) {
          auto l = readLimits(r);
          l.imported = true;
          info.memory = l;
          ++memories;
        }
        else if (im.kind == 3) { r.byte(); r.byte(); }
        else r.bad = true;
        info.imports.push_back(std::move(im));
      }
    } else if (s.id == kMemory) {
      uint64_t count = r.leb();
      for (uint64_t n = 0; n < count && !r.bad; ++n) {
        MemoryLimits limits = readLimits(r);
        if (memories == 0) info.memory = limits;  // index 0, what the rewriters cap
        ++memories;
      }
    } else if (s.id == kExport) {
      uint64_t count = r.leb();
      for (uint64_t n = 0; n < count && !r.bad; ++n) {
        Export ex{r.name(), r.byte()};
        r.leb();
        info.exports.push_back(std::move(ex));
      }
    }
    if (r.bad) return makeError(fmt::format("malformed wasm: section {} is truncated", s.id));
    // The entries must fill the section exactly, as the binary format requires: the rewriters
    // copy an import section's entries as bytes and append after them, so bytes left over
    // would turn into the start of the entry they add.
    if ((s.id == kImport || s.id == kMemory || s.id == kExport) && r.pos != s.body_end) {
      return makeError(fmt::format("malformed wasm: section {} has {} bytes after its entries",
                                   s.id, s.body_end - r.pos));
    }
  }
  if (memories > 1) return makeError("modules with several memories are not supported");
  return info;
}

std::optional<std::string> customSection(std::span<const uint8_t> bytes, std::string_view name) {
  auto secs = sections(bytes);
  if (!secs) return std::nullopt;
  for (const Section& s : *secs) {
    if (s.id != kCustom) continue;
    Reader r{bytes.subspan(0, s.body_end), s.body_start};
    if (r.name() != name || r.bad) continue;
    return std::string(reinterpret_cast<const char*>(bytes.data() + r.pos), s.body_end - r.pos);
  }
  return std::nullopt;
}

Result<Bytes> withCustomSection(std::span<const uint8_t> bytes, std::string_view name,
                                std::string_view payload) {
  auto secs = sections(bytes);
  if (!secs) return secs.error();
  Bytes out(bytes.begin(), bytes.begin() + 8);
  for (const Section& s : *secs) {
    if (s.id == kCustom) {
      Reader r{bytes.subspan(0, s.body_end), s.body_start};
      if (r.name() == name) continue;
    }
    out.insert(out.end(), bytes.begin() + s.header_start, bytes.begin() + s.body_end);
  }
  Bytes body;
  putLeb(body, name.size());
  body.insert(body.end(), name.begin(), name.end());
  body.insert(body.end(), payload.begin(), payload.end());
  out.push_back(kCustom);
  putLeb(out, body.size());
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

Result<Bytes> withMemoryCap(std::span<const uint8_t> bytes, uint64_t cap_pages) {
  // Only a module that parses, and so has at most one memory, is capped: the cap rewrites one.
  if (auto info = parse(bytes); !info) return info.error();
  auto secs = sections(bytes);
  if (!secs) return secs.error();
  auto spot = findMemoryLimits(bytes, *secs);
  if (!spot) return spot.error();
  if (!spot->has_value()) return Bytes(bytes.begin(), bytes.end());
  const LimitsSpot& s = **spot;
  if (s.limits.min_pages > cap_pages) {
    return makeError(fmt::format(
        "the module needs at least {} memory pages ({} MiB), more than the {} MiB limit",
        s.limits.min_pages, s.limits.min_pages / 16, cap_pages / 16));
  }
  uint64_t max = s.limits.max_pages ? std::min(*s.limits.max_pages, cap_pages) : cap_pages;
  Bytes limits;
  limits.push_back(uint8_t(s.flags | 1));
  putLeb(limits, s.limits.min_pages);
  putLeb(limits, max);
  return spliceSection(bytes, (*secs)[s.section_index], s.start, s.end, limits);
}

}  // namespace kw::wasm::binary

namespace kw::wasm::binary {

Result<Bytes> withImportedMemory(std::span<const uint8_t> bytes, std::string_view module,
                                 std::string_view name) {
  // The import section is copied and extended: only a module whose sections parse is rewritten.
  if (auto info = parse(bytes); !info) return info.error();
  auto secs = sections(bytes);
  if (!secs) return secs.error();
  auto spot = findMemoryLimits(bytes, *secs);
  if (!spot) return spot.error();
  if (!spot->has_value() || (*spot)->limits.imported) return Bytes(bytes.begin(), bytes.end());
  const LimitsSpot& mem = **spot;
  const Section& memory_section = (*secs)[mem.section_index];
  Reader count_reader{bytes.subspan(0, memory_section.body_end), memory_section.body_start};
  if (count_reader.leb() != 1) return makeError("modules with several memories are not supported");

  // The import entry: module, name, kind 2 (memory), then the original limits bytes.
  Bytes entry;
  putName(entry, module);
  putName(entry, name);
  entry.push_back(2);
  entry.insert(entry.end(), bytes.begin() + mem.start, bytes.begin() + mem.end);

  Bytes out(bytes.begin(), bytes.begin() + 8);
  bool placed = false;
  for (const Section& s : *secs) {
    if (s.id == kMemory) continue;  // its only memory now comes in as an import
    if (s.id == kImport) {
      Reader r{bytes.subspan(0, s.body_end), s.body_start};
      uint64_t count = r.leb();
      Bytes body;
      putLeb(body, count + 1);
      body.insert(body.end(), bytes.begin() + r.pos, bytes.begin() + s.body_end);
      body.insert(body.end(), entry.begin(), entry.end());
      putSection(out, kImport, body);
      placed = true;
      continue;
    }
    // Before the first known section that follows imports; a section id this reader does not
    // know (rank 99) says nothing about where the import section is, which may still come.
    if (!placed && s.id != kCustom && s.id < 13 && sectionRank(s.id) > sectionRank(kImport)) {
      Bytes body;
      putLeb(body, 1);
      body.insert(body.end(), entry.begin(), entry.end());
      putSection(out, kImport, body);
      placed = true;
    }
    out.insert(out.end(), bytes.begin() + s.header_start, bytes.begin() + s.body_end);
  }
  if (!placed) {
    Bytes body;
    putLeb(body, 1);
    body.insert(body.end(), entry.begin(), entry.end());
    putSection(out, kImport, body);
  }
  return out;
}

}  // namespace kw::wasm::binary
