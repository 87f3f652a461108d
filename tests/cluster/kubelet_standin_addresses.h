// Part of the kubelet stand-in (kubelet_standin.h): Pod IPs as extra addresses on `lo`.
// 10.244.0.N/32 is not loopback to the API (it refuses 127.0.0.0/8 endpoints), yet only this
// machine reaches it. Adding needs CAP_NET_ADMIN (root). The kernel arbitrates between several
// stand-ins on one machine: an address another one holds fails ("File exists", or "Address
// already assigned" from newer kernels) and the next N is tried. What we hold is recorded in a file, so a killed run's addresses can be removed.
#pragma once

#include <filesystem>
#include <set>
#include <string>

#include "common/result.h"

namespace kw::cluster {

class PodAddresses {
 public:
  // `record`: the file listing the addresses held; `log`: the `ip` command's output.
  PodAddresses(std::filesystem::path record, std::filesystem::path log);
  ~PodAddresses();  // releases all
  PodAddresses(const PodAddresses&) = delete;
  PodAddresses& operator=(const PodAddresses&) = delete;

  // Adds a free 10.244.0.N to lo; the error says why none could be (e.g. not root).
  Result<std::string> allocate();
  void release(const std::string& ip);
  void releaseAll();

  // Removes the addresses a record file lists, and empties it.
  static void releaseRecorded(const std::filesystem::path& record,
                              const std::filesystem::path& log);

 private:
  void save() const;
  std::filesystem::path record_, log_;
  std::set<std::string> held_;
};

// Removes what a stand-in run recorded in `dir` and may have left behind when it was killed:
// its policy-server processes (pods/*/pid) and its addresses (dir/addresses). Run by the
// stand-in at start and by kw-cluster stop.
void cleanupStandinLeftovers(const std::filesystem::path& dir);

}  // namespace kw::cluster
