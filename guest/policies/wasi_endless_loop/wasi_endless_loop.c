// Never finishes `_start`: only the host's execution deadline can stop it.
// The volatile load per iteration keeps the compiler from treating the loop as removable.
static volatile int g_spin = 1;

int main(void) {
  while (g_spin) {
  }
  return 0;
}
