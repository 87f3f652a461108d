#include "kwctl/cli.h"

int main(int argc, char** argv) { return kw::kwctl::run(argc, argv); }
