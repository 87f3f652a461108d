#include "server/environment.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <fstream>
#include <iterator>
#include <latch>
#include <thread>

#include "common/file_read.h"
#include "common/sha256.h"
#include "host/default_dispatcher.h"

namespace kw::server {
namespace {

using Bytes = std::vector<uint8_t>;

// Runs every job on the pool and waits for all of them: boot work (compiling, validating
// settings) then also warms each worker's isolate.
Status runOnPool(WorkerPool& pool, std::vector<std::function<void()>> jobs) {
  std::latch done(std::ptrdiff_t(jobs.size()));
  size_t submitted = 0;
  for (auto& job : jobs) {
    bool ok = pool.submit([&done, job = std::move(job)] {
      try {
        job();
      } catch (...) {
        // Jobs report through their result slot; the latch must still count down.
      }
      done.count_down();
    });
    if (!ok) break;
    ++submitted;
  }
  if (submitted < jobs.size()) done.count_down(std::ptrdiff_t(jobs.size() - submitted));
  done.wait();
  if (submitted < jobs.size()) return makeError("the worker pool is shutting down");
  return okStatus();
}

Result<Bytes> readModule(const std::filesystem::path& path) {
  auto bytes = readModuleFile(path);
  if (!bytes) return bytes.error();
  return Bytes(bytes->begin(), bytes->end());
}

// (major, minor) of a semantic version, nullopt when it does not start with "X.Y".
std::optional<std::pair<uint64_t, uint64_t>> majorMinor(std::string_view v) {
  uint64_t major = 0, minor = 0;
  const char* end = v.data() + v.size();
  auto r = std::from_chars(v.data(), end, major);
  if (r.ec != std::errc() || r.ptr == end || *r.ptr != '.') return std::nullopt;
  r = std::from_chars(r.ptr + 1, end, minor);
  if (r.ec != std::errc()) return std::nullopt;
  return std::pair{major, minor};
}

// Distinct modules: fetched once per URL, compiled once per digest.
struct ModuleSet {
  std::map<std::string, std::string> digest_by_url;
  std::map<std::string, std::pair<std::string, Bytes>> bytes_by_digest;  // digest → (url, bytes)
};

// Downloads are network-bound, so a few run at once even on a small machine.
constexpr size_t kDownloadThreads = 4;

struct FetchJob {
  std::string url;
  std::vector<std::string> ids;  // every policy id using this URL
  Result<Bytes> bytes = makeError("not fetched");
};

void runFetch(FetchJob& job, const Fetcher& fetch) {
  auto path = fetch(job.url);
  if (!path) {
    job.bytes = path.error();
    return;
  }
  job.bytes = readModule(*path);
}

// Each distinct URL once, several at a time; every failure is reported, not just the first.
Result<ModuleSet> fetchAll(const PolicyMap& policies, const Fetcher& fetch) {
  std::map<std::string, size_t> index;
  std::vector<FetchJob> jobs;
  for (const auto& [id, entry] : policies) {
    auto [it, inserted] = index.emplace(entry.url, jobs.size());
    if (inserted) jobs.push_back(FetchJob{entry.url, {}, makeError("not fetched")});
    jobs[it->second].ids.push_back(id);
  }
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < jobs.size(); i = next++) {
      try {
        runFetch(jobs[i], fetch);
      } catch (const std::exception& e) {
        jobs[i].bytes = makeError(e.what());
      }
    }
  };
  std::vector<std::thread> threads;
  for (size_t t = 1; t < std::min(kDownloadThreads, jobs.size()); ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();

  ModuleSet set;
  std::string failures;
  for (auto& job : jobs) {
    if (!job.bytes) {
      for (const auto& id : job.ids) {
        if (!failures.empty()) failures += "\n";
        failures += fmt::format("policy \"{}\": cannot fetch {}: {}", id, job.url,
                                job.bytes.error().message);
      }
      continue;
    }
    std::string digest = sha256Hex(*job.bytes);
    set.digest_by_url[job.url] = digest;
    if (!set.bytes_by_digest.contains(digest)) {
      set.bytes_by_digest.emplace(digest, std::pair{job.url, std::move(*job.bytes)});
    }
  }
  if (!failures.empty()) return makeError(failures);
  return set;
}

Result<std::map<std::string, policy::PolicyModulePtr>> compileAll(const ModuleSet& set,
                                                                  wasm::Engine& engine,
                                                                  WorkerPool& pool) {
  std::vector<std::pair<std::string, Result<policy::PolicyModulePtr>>> results;
  for (const auto& [digest, _] : set.bytes_by_digest) {
    results.emplace_back(digest, makeError("not compiled"));
  }
  std::vector<std::function<void()>> jobs;
  for (auto& slot : results) {
    const Bytes& bytes = set.bytes_by_digest.at(slot.first).second;
    jobs.push_back([&slot, &bytes, &engine] { slot.second = policy::loadModule(engine, bytes); });
  }
  if (auto ok = runOnPool(pool, std::move(jobs)); !ok) return ok.error();

  std::map<std::string, policy::PolicyModulePtr> modules;
  for (auto& [digest, loaded] : results) {
    const std::string& url = set.bytes_by_digest.at(digest).first;
    if (!loaded) return makeError(fmt::format("cannot load {}: {}", url, loaded.error().message));
    if (auto ok = checkMinimumVersion(**loaded); !ok) {
      return makeError(fmt::format("cannot load {}: {}", url, ok.error().message));
    }
    modules.emplace(digest, std::move(*loaded));
  }
  return modules;
}

EnvironmentPolicy makePolicy(const std::string& id, const PolicyEntry& entry,
                             policy::PolicyModulePtr module) {
  EnvironmentPolicy p;
  p.id = id;
  p.mode = entry.mode;
  p.allowed_to_mutate = entry.allowed_to_mutate;
  p.context_aware_resources = entry.context_aware_resources;
  const auto& md = module->metadata;
  p.raw_policy = md && md->policyType == policy::PolicyType::Raw;
  p.admission.id = id;
  p.admission.mode = md ? md->executionMode : policy::ExecutionMode::KubewardenWapc;
  p.admission.settings_json = entry.settings.dump();
  p.admission.module = std::move(module);
  p.admission.raw = false;
  p.raw = p.admission;
  p.raw.raw = true;
  return p;
}

}  // namespace

Status checkMinimumVersion(const policy::PolicyModule& module) {
  if (!module.metadata || !module.metadata->minimumKubewardenVersion) return okStatus();
  const std::string& required = *module.metadata->minimumKubewardenVersion;
  auto want = majorMinor(required);
  auto have = majorMinor(kKubewardenVersion);
  // Only major.minor count: a policy asking for 1.10.3 runs on any 1.10.
  if (!want || *want > *have) {
    return makeError(fmt::format("Policy required Kubewarden version {} but is running on {}",
                                 required, kKubewardenVersion));
  }
  return okStatus();
}

const EnvironmentPolicy* EvaluationEnvironment::find(std::string_view id) const {
  auto it = policies_.find(id);
  return it == policies_.end() ? nullptr : &it->second;
}

Result<std::unique_ptr<EvaluationEnvironment>> EvaluationEnvironment::create(
    const ServerConfig& config, const PolicyMap& policies, WorkerPool& pool,
    EnvironmentOptions options) {
  std::unique_ptr<EvaluationEnvironment> env(new EvaluationEnvironment());
  if (options.engine) {
    env->engine_ = std::move(options.engine);
  } else {
    // Compiled code is kept beside the downloaded policies, so a restart skips compiling.
    wasm::EngineOptions engine_options;
    engine_options.code_cache_dir = config.policies_download_dir;
    auto engine = wasm::createEngine(config.engine, engine_options);
    if (!engine) return engine.error();
    env->engine_ = std::move(*engine);
  }
  env->dispatcher_ = options.dispatcher ? std::move(options.dispatcher)
                                        : std::make_shared<host::DefaultDispatcher>();
  Fetcher fetch = options.fetcher;
  if (!fetch) {
    if (config.enable_verification && !config.verification_path) {
      return makeError("--enable-verification needs --verification-path");
    }
    // As upstream, a verification config alone turns verification on: it is the only setting
    // the controller passes for a PolicyServer's spec.verificationConfig.
    auto real = makePolicyFetcher(config.policies_download_dir, config.sources_path,
                                  config.docker_config_json_path, config.verification_path);
    if (!real) return real.error();
    fetch = std::move(*real);
  }

  auto set = fetchAll(policies, fetch);
  if (!set) return set.error();
  auto modules = compileAll(*set, *env->engine_, pool);
  if (!modules) return modules.error();
  env->modules_ = std::move(*modules);
  for (const auto& [id, entry] : policies) {
    const auto& module = env->modules_.at(set->digest_by_url.at(entry.url));
    env->policies_.emplace(id, makePolicy(id, entry, module));
  }
  spdlog::info("{} policies use {} distinct modules", env->policies_.size(), env->modules_.size());

  env->evaluator_ = std::make_unique<policy::Evaluator>(env->engine_, env->dispatcher_.get(),
                                                        config.policyTimeout());
  if (auto ok = env->validateAllSettings(pool); !ok) return ok.error();
  return env;
}

Status EvaluationEnvironment::validateAllSettings(WorkerPool& pool) const {
  std::vector<std::pair<const EnvironmentPolicy*, policy::SettingsValidation>> results;
  for (const auto& [id, p] : policies_) results.push_back({&p, {}});
  std::vector<std::function<void()>> jobs;
  for (auto& slot : results) {
    jobs.push_back(
        [&slot, this] { slot.second = evaluator_->validateSettings(slot.first->admission); });
  }
  if (auto ok = runOnPool(pool, std::move(jobs)); !ok) return ok.error();
  std::string errors;
  for (const auto& [p, v] : results) {
    if (v.valid) continue;
    if (!errors.empty()) errors += "\n";
    errors += fmt::format("[{}] settings are not valid: {}", p->id, v.message.value_or(""));
  }
  if (!errors.empty()) return makeError(errors);
  return okStatus();
}

}  // namespace kw::server
