// kwctl's entry point. Each subcommand lives in its own file and registers itself on the
// CLI11 app through one add*Command function (see commands.h).
#pragma once

namespace kw::kwctl {
int run(int argc, char** argv);
}
