// libFuzzer's one-time hook, the same for every target: quiet logs, then the target's prepare().
#include "fuzz_common.h"

namespace kw::fuzz {

__attribute__((weak)) void prepare() {}

}  // namespace kw::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  kw::fuzz::quietLogs();
  kw::fuzz::prepare();
  return 0;
}
