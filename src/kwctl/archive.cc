#include "kwctl/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>

namespace kw::kwctl {
namespace fs = std::filesystem;
namespace {

using ArchivePtr = std::unique_ptr<struct archive, int (*)(struct archive*)>;

std::string archiveError(struct archive* a) {
  const char* msg = archive_error_string(a);
  return msg ? msg : "unknown libarchive error";
}

// A unique temporary name beside `target`; removed by the guard unless released.
struct TempFile {
  fs::path path;
  bool keep = false;
  explicit TempFile(const fs::path& target)
      : path(target.string() +
             fmt::format(".tmp-{}-{}", ::getpid(), reinterpret_cast<uintptr_t>(this))) {}
  ~TempFile() {
    std::error_code ec;
    if (!keep) fs::remove(path, ec);
  }
};

Status addFile(struct archive* a, const fs::path& file, const std::string& name) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return makeError(fmt::format("cannot read {}", file.string()));
  std::error_code ec;
  auto size = fs::file_size(file, ec);
  if (ec) return makeError(fmt::format("cannot stat {}: {}", file.string(), ec.message()));
  std::unique_ptr<archive_entry, void (*)(archive_entry*)> entry(archive_entry_new(),
                                                                 archive_entry_free);
  archive_entry_set_pathname(entry.get(), name.c_str());
  archive_entry_set_size(entry.get(), la_int64_t(size));
  archive_entry_set_filetype(entry.get(), AE_IFREG);
  archive_entry_set_perm(entry.get(), 0644);
  if (archive_write_header(a, entry.get()) != ARCHIVE_OK) return makeError(archiveError(a));
  std::vector<char> buf(1 << 16);
  while (in) {
    in.read(buf.data(), std::streamsize(buf.size()));
    if (in.gcount() > 0 && archive_write_data(a, buf.data(), size_t(in.gcount())) < 0) {
      return makeError(archiveError(a));
    }
  }
  return okStatus();
}

Result<ArchivePtr> openReader(const fs::path& input) {
  ArchivePtr a(archive_read_new(), archive_read_free);
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_filename(a.get(), input.c_str(), 1 << 16) != ARCHIVE_OK) {
    return makeError(fmt::format("cannot open {}: {}", input.string(), archiveError(a.get())));
  }
  return a;
}

// First pass: every entry must be a regular file with a safe path.
Status checkEntries(const fs::path& input) {
  auto a = openReader(input);
  if (!a) return a.error();
  archive_entry* entry = nullptr;
  int r;
  while ((r = archive_read_next_header(a->get(), &entry)) == ARCHIVE_OK) {
    std::string name = archive_entry_pathname(entry) ? archive_entry_pathname(entry) : "";
    if (archive_entry_filetype(entry) == AE_IFDIR) continue;
    if (archive_entry_filetype(entry) != AE_IFREG) {
      return makeError(fmt::format("{}: entry '{}' is not a regular file", input.string(), name));
    }
    if (!isSafeEntryPath(name)) {
      return makeError(
          fmt::format("{}: entry '{}' would escape the policy store", input.string(), name));
    }
  }
  if (r != ARCHIVE_EOF) {
    return makeError(fmt::format("cannot read {}: {}", input.string(), archiveError(a->get())));
  }
  return okStatus();
}

Status extractTo(struct archive* a, const fs::path& target) {
  std::error_code ec;
  fs::create_directories(target.parent_path(), ec);
  if (ec)
    return makeError(
        fmt::format("cannot create {}: {}", target.parent_path().string(), ec.message()));
  TempFile tmp(target);
  {
    std::ofstream out(tmp.path, std::ios::binary);
    if (!out) return makeError(fmt::format("cannot write {}", tmp.path.string()));
    const void* buf;
    size_t size;
    la_int64_t offset;
    int r;
    while ((r = archive_read_data_block(a, &buf, &size, &offset)) == ARCHIVE_OK) {
      out.write(static_cast<const char*>(buf), std::streamsize(size));
    }
    if (r != ARCHIVE_EOF) return makeError(archiveError(a));
    out.close();
    if (!out) return makeError(fmt::format("cannot write {}", tmp.path.string()));
  }
  fs::rename(tmp.path, target, ec);
  if (ec) return makeError(fmt::format("cannot write {}: {}", target.string(), ec.message()));
  tmp.keep = true;
  return okStatus();
}

}  // namespace

bool isSafeEntryPath(const std::string& entry) {
  if (entry.empty()) return false;
  fs::path p(entry);
  if (p.is_absolute() || p.has_root_name() || p.has_root_directory()) return false;
  for (const auto& part : p) {
    if (part == "..") return false;
  }
  return true;
}

Status saveArchive(const store::Store& store, const std::vector<std::string>& policies,
                   const fs::path& output) {
  std::vector<store::StoredPolicy> found;
  for (const auto& p : policies) {
    auto hit = store.find(p);
    if (!hit) return hit.error();
    found.push_back(std::move(*hit));
  }
  TempFile tmp(fs::absolute(output));
  {
    ArchivePtr a(archive_write_new(), archive_write_free);
    archive_write_add_filter_gzip(a.get());
    archive_write_set_format_pax_restricted(a.get());
    if (archive_write_open_filename(a.get(), tmp.path.c_str()) != ARCHIVE_OK) {
      return makeError(fmt::format("cannot write {}: {}", output.string(), archiveError(a.get())));
    }
    for (const auto& p : found) {
      std::string name = fs::relative(p.path, store.root()).generic_string();
      if (auto ok = addFile(a.get(), p.path, name); !ok) return ok.error();
    }
    if (archive_write_close(a.get()) != ARCHIVE_OK) {
      return makeError(fmt::format("cannot write {}: {}", output.string(), archiveError(a.get())));
    }
  }
  std::error_code ec;
  fs::rename(tmp.path, output, ec);
  if (ec) return makeError(fmt::format("cannot write {}: {}", output.string(), ec.message()));
  tmp.keep = true;
  return okStatus();
}

Result<std::vector<std::string>> loadArchive(const store::Store& store, const fs::path& input) {
  if (auto ok = checkEntries(input); !ok) return ok.error();
  auto a = openReader(input);
  if (!a) return a.error();
  std::vector<std::string> loaded;
  archive_entry* entry = nullptr;
  while (archive_read_next_header(a->get(), &entry) == ARCHIVE_OK) {
    if (archive_entry_filetype(entry) != AE_IFREG) continue;
    std::string name = archive_entry_pathname(entry);
    if (auto ok = extractTo(a->get(), store.root() / name); !ok) {
      return makeError(fmt::format("{}: entry '{}': {}", input.string(), name, ok.error().message));
    }
    loaded.push_back(name);
  }
  return loaded;
}

}  // namespace kw::kwctl
