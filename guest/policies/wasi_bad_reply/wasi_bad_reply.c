// Succeeds (exit status 0) but answers with text that is no ValidationResponse, so the host's
// reply parsing, not its exit handling, has to report the problem.
#include <stdio.h>

int main(void) {
  fputs("this is not JSON", stdout);
  return 0;
}
