#include "audit/run.h"

int main(int argc, char** argv) {
  return kw::audit::run(argc, argv);
}
