// The audit-scanner command line (spec §5.1 plus issue 12's flags) and its run: exit code 0
// when every evaluation gave a verdict, 2 when some results are errors (a policy-server down),
// 1 when the scan could not be done at all.
#pragma once

#include <string>
#include <vector>

#include "audit/options.h"
#include "common/result.h"

namespace kw::audit {

// Parses the flags; `exit_code` set when the run should end at once (--help, --version,
// a bad flag) with that code.
Result<ScanOptions> parseArgs(int argc, char** argv, int& exit_code);

int run(int argc, char** argv);

}  // namespace kw::audit
