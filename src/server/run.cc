#include "server/run.h"

#include <cstdio>

namespace kw::server {

// Wired up by the lead once config, environment, API and transport exist.
int run(int, char**) {
  std::fprintf(stderr, "Error: policy-server is not wired up yet\n");
  return 1;
}

}  // namespace kw::server
