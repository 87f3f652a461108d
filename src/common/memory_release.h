// Returning freed heap to the operating system. glibc keeps what a burst freed (a list of a
// thousand objects parsed and dropped) in its arenas, one per thread by default, so a
// long-lived process's RSS stays at its peak. Long-running watchers (the controller) call these.
#pragma once

namespace kw {

// Caps the number of malloc arenas: many threads that allocate in turn (one per watch) would
// otherwise each keep a partly used arena. Call once, early in main.
void limitAllocatorArenas(int arenas);

// Hands free pages at the top of and inside the heaps back to the kernel (malloc_trim).
void releaseFreeMemory();

}  // namespace kw
