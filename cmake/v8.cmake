# V8 from Debian's libnode108, unpacked by scripts/deps.sh into .deps/v8.
# No V8_* defines: that build has pointer compression and the sandbox off.
set(KW_V8_ROOT "${CMAKE_SOURCE_DIR}/.deps/v8" CACHE PATH "Unpacked libnode108 + libnode-dev")
set(KW_V8_INCLUDE "${KW_V8_ROOT}/usr/include/node")
set(KW_V8_LIB "${KW_V8_ROOT}/usr/lib/x86_64-linux-gnu/libnode.so.108")
if(NOT EXISTS "${KW_V8_INCLUDE}/v8.h" OR NOT EXISTS "${KW_V8_LIB}")
  message(FATAL_ERROR "V8 not found in ${KW_V8_ROOT}: run `make deps` first")
endif()
add_library(kw_v8 SHARED IMPORTED GLOBAL)
set_target_properties(kw_v8 PROPERTIES
  IMPORTED_LOCATION "${KW_V8_LIB}"
  IMPORTED_NO_SONAME FALSE
  INTERFACE_INCLUDE_DIRECTORIES "${KW_V8_INCLUDE}")
# The library lives outside the system paths; binaries find it through RPATH.
set(CMAKE_BUILD_RPATH "${KW_V8_ROOT}/usr/lib/x86_64-linux-gnu")
