#include "server/run.h"

int main(int argc, char** argv) { return kw::server::run(argc, argv); }
