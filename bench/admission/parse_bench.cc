// What refusing repeated members costs on the request path: parseStrict (SAX into a DOM with a
// lookup per key) against nlohmann's own DOM parser, on the AdmissionReviews the suite uses.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "admission/strict_json.h"

namespace {

std::string readReview(const char* name) {
  std::ifstream in(std::filesystem::path(KW_SOURCE_DIR) / "examples" / "requests" / name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void BM_NlohmannParse(benchmark::State& state) {
  const std::string body = readReview("privileged-pod.json");
  for (auto _ : state) benchmark::DoNotOptimize(kw::admission::Json::parse(body));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}

void BM_StrictParse(benchmark::State& state) {
  const std::string body = readReview("privileged-pod.json");
  for (auto _ : state) benchmark::DoNotOptimize(kw::admission::parseStrict(body));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}

BENCHMARK(BM_NlohmannParse);
BENCHMARK(BM_StrictParse);

}  // namespace

BENCHMARK_MAIN();
