// Fails the way a crashing WASI policy does: a note on stderr and a non-zero exit status,
// without writing any reply. The host must turn this into an evaluation error.
#include <stdio.h>

int main(void) {
  fputs("boom", stderr);
  return 3;
}
