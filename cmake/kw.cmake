# Project-wide compile flags. V8 is built without RTTI, and our code shares
# vtables with it through the engine backend, so the whole project matches.
add_compile_options(-fno-rtti -Wall -Wextra -Wno-unused-parameter)
# Our code builds without warnings; keep it so. Third-party headers come from system include
# paths, whose warnings the compiler does not report.
option(KW_WERROR "Treat compiler warnings in our code as errors" ON)
if(KW_WERROR)
  add_compile_options(-Werror)
endif()
set(KW_ROOT ${CMAKE_SOURCE_DIR})
set(KW_SHARED_DIR "${CMAKE_SOURCE_DIR}/../shared" CACHE PATH "Read-only reference fixtures")

# Sanitizer builds of our code (`make test-asan`, `make test-tsan`; docs/reliability.md,
# "Sanitizers"). The flags reach every target we compile, as the warnings above do, and nothing
# else: the guests are custom commands with their own clang flags (guest/CMakeLists.txt), V8 is
# the prebuilt libnode and wasmtime's static library is built by cargo with its own flags.
# `address` is ASan with UBSan; UBSan does not recover, so undefined behaviour fails a test even
# when UBSAN_OPTIONS is not set. UBSan's vptr check needs RTTI, which the project has off.
set(KW_SANITIZE "" CACHE STRING "Sanitizers for our code: empty, address (ASan+UBSan) or thread")
set_property(CACHE KW_SANITIZE PROPERTY STRINGS "" address thread)
if(KW_SANITIZE STREQUAL "address")
  set(kw_sanitize_flags -fsanitize=address,undefined -fno-sanitize=vptr
      -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
elseif(KW_SANITIZE STREQUAL "thread")
  # Boost.Asio's handler fences (std::atomic_thread_fence) are invisible to TSan, and GCC says so
  # at every use (-Wtsan); what races it reports through them are to be read with that in mind.
  set(kw_sanitize_flags -fsanitize=thread -fno-omit-frame-pointer)
  add_compile_options(-Wno-tsan)
elseif(NOT KW_SANITIZE STREQUAL "")
  message(FATAL_ERROR "KW_SANITIZE is '${KW_SANITIZE}': use empty, address or thread")
endif()
add_compile_options(${kw_sanitize_flags})
add_link_options(${kw_sanitize_flags})
if(NOT KW_SANITIZE STREQUAL "")
  # -O1 with line tables only (after, so winning over the build type's -O2 -g): ASan's advice
  # for exact stacks, and a much shorter build of the whole tree on two cores.
  add_compile_options(-O1 -g1)
  # The instrumentation confuses GCC's flow-based warnings (false "may be used uninitialized"
  # inside libstdc++'s <regex>, for one); the plain build still reports them as errors.
  add_compile_options(-Wno-maybe-uninitialized -Wno-array-bounds -Wno-stringop-overflow
                      -Wno-stringop-overread -Wno-restrict)
endif()
# RelWithDebInfo keeps line tables (-g1: backtraces, perf and sanitizer stacks) but not full
# debug info: the full level made every compile about half again as long (40 s against 26 s for
# a test file), and a cold build on two cores has to fit the 45-minute `make test` budget. The
# sanitizer build above and the fuzz build below set their own levels.
if(KW_SANITIZE STREQUAL "" AND NOT KW_FUZZ)
  set(CMAKE_C_FLAGS_RELWITHDEBINFO "-O2 -g1 -DNDEBUG")
  set(CMAKE_CXX_FLAGS_RELWITHDEBINFO "-O2 -g1 -DNDEBUG")
endif()
# Instrumented code runs several times slower, so the tests' ctest timeouts are scaled by this
# factor (tests/CMakeLists.txt) instead of being raised one by one.
if(KW_SANITIZE STREQUAL "")
  set(kw_timeout_factor 1)
else()
  set(kw_timeout_factor 3)
endif()
set(KW_TEST_TIMEOUT_FACTOR ${kw_timeout_factor} CACHE STRING
    "Multiplies every test's ctest TIMEOUT (3 in sanitizer builds)")

# The libFuzzer build (KW_FUZZ, build-fuzz/, fuzz/CMakeLists.txt): every file we compile gets
# libFuzzer's coverage hooks plus ASan and UBSan (a fuzzer finds memory errors and undefined
# behaviour only when they are checked); the fuzz targets alone link libFuzzer's main
# (-fsanitize=fuzzer). Debian's clang-14 with libclang-rt-14-dev provides the runtime.
if(KW_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "KW_FUZZ needs clang (libFuzzer): configure with CC=clang-14 CXX=clang++-14")
  endif()
  if(NOT KW_SANITIZE STREQUAL "")
    message(FATAL_ERROR "KW_FUZZ brings its own sanitizers: leave KW_SANITIZE empty")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize=vptr
                      -fno-sanitize-recover=undefined -fno-omit-frame-pointer -O1 -gline-tables-only)
  add_link_options(-fsanitize=address,undefined)
endif()
