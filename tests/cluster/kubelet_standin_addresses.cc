#include "cluster/kubelet_standin_addresses.h"

#include <sys/types.h>

#include <cstdlib>
#include <fstream>
#include <vector>

#include "cluster/harness_process.h"

namespace kw::cluster {
namespace fs = std::filesystem;

namespace {

int ipAddr(const char* verb, const std::string& ip, const fs::path& log) {
  return runLogged({"ip", "addr", verb, ip + "/32", "dev", "lo"}, log);
}

}  // namespace

PodAddresses::PodAddresses(fs::path record, fs::path log)
    : record_(std::move(record)), log_(std::move(log)) {}

PodAddresses::~PodAddresses() {
  releaseAll();
}

Result<std::string> PodAddresses::allocate() {
  // .1 is left out, as a network's gateway would be.
  for (int n = 2; n < 255; ++n) {
    std::string ip = "10.244.0." + std::to_string(n);
    if (held_.count(ip) != 0) continue;
    auto before = fs::exists(log_) ? fs::file_size(log_) : 0;
    int status = ipAddr("add", ip, log_);
    if (status == 0) {
      held_.insert(ip);
      save();
      return ip;
    }
    std::string output = tailOf(log_, fs::file_size(log_) - before);
    // Another stand-in's: older kernels say "File exists", newer ones "Address already assigned".
    if (output.find("File exists") != std::string::npos ||
        output.find("already assigned") != std::string::npos)
      continue;
    return makeError("cannot add " + ip + "/32 to lo (`ip addr add` exited " +
                     std::to_string(status) + ": " + output +
                     "); the kubelet stand-in gives each Pod its own address and needs "
                     "CAP_NET_ADMIN for that (run it as root)");
  }
  return makeError("no free address left in 10.244.0.2-254 on lo");
}

void PodAddresses::release(const std::string& ip) {
  if (held_.erase(ip) == 0) return;
  ipAddr("del", ip, log_);
  save();
}

void PodAddresses::releaseAll() {
  for (const auto& ip : held_) ipAddr("del", ip, log_);
  held_.clear();
  save();
}

void PodAddresses::save() const {
  std::ofstream out(record_, std::ios::trunc);
  for (const auto& ip : held_) out << ip << "\n";
}

void PodAddresses::releaseRecorded(const fs::path& record, const fs::path& log) {
  std::ifstream in(record);
  std::string ip;
  while (std::getline(in, ip))
    if (ip.rfind("10.244.0.", 0) == 0) ipAddr("del", ip, log);
  in.close();
  std::error_code ec;
  fs::remove(record, ec);
}

void cleanupStandinLeftovers(const fs::path& dir) {
  std::error_code ec;
  std::vector<fs::path> pods;
  for (const auto& entry : fs::directory_iterator(dir / "pods", ec)) pods.push_back(entry.path());
  for (const auto& pod : pods) {
    std::ifstream pid_file(pod / "pid");
    std::string pid_text, binary;
    std::getline(pid_file, pid_text);
    std::getline(pid_file, binary);
    pid_t pid = static_cast<pid_t>(std::atoi(pid_text.c_str()));
    // Only a process still running the binary we started under that pid.
    if (pid > 0 && processRuns(pid, binary)) terminate(pid, std::chrono::seconds(10));
    fs::remove_all(pod, ec);
  }
  PodAddresses::releaseRecorded(dir / "addresses", dir / "logs" / "ip.log");
}

}  // namespace kw::cluster
