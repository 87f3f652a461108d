// The policy-server's entry point: parse flags and environment, load and validate every
// policy, then serve until SIGTERM/SIGINT, draining in-flight requests before exiting 0.
#pragma once

namespace kw::server {
int run(int argc, char** argv);
}
