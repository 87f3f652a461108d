#include "controller/run.h"

int main(int argc, char** argv) { return kw::controller::run(argc, argv); }
