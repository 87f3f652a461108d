# wasmtime's C API, built from the pinned wrapper crate in src/wasm/wasmtime/crate by cargo.
# The result lives in a per-machine cache outside the clone, so every build folder and every fresh
# clone on the machine reuses one build:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/kubewarden-cpp/wasmtime-<version>-<hash>/{lib,include,target}
# <hash> covers Cargo.lock, the crate's manifest (features) and its two source files, so changing
# any of them builds a new entry instead of reusing a stale one.
set(KW_WASMTIME_CRATE_DIR "${CMAKE_SOURCE_DIR}/src/wasm/wasmtime/crate")

function(kw_find_rust_tool var name)
  set(dirs)
  if(DEFINED ENV{CARGO_HOME})
    list(APPEND dirs "$ENV{CARGO_HOME}/bin")
  endif()
  if(DEFINED ENV{HOME})
    list(APPEND dirs "$ENV{HOME}/.cargo/bin")
  endif()
  # PATHS are searched after PATH: a toolchain on PATH wins, as in a shell.
  find_program(${var} ${name} PATHS ${dirs} NO_CACHE)
  if(NOT ${var})
    list(JOIN dirs ", " where)
    message(FATAL_ERROR "KW_WITH_WASMTIME needs Rust's `${name}`, which is neither on PATH "
      "nor in ${where}. Install Rust (rustup) or configure with -DKW_WITH_WASMTIME=OFF.")
  endif()
  set(${var} "${${var}}" PARENT_SCOPE)
endfunction()

function(kw_wasmtime_cache_key out_version out_hash)
  file(READ "${KW_WASMTIME_CRATE_DIR}/Cargo.toml" manifest)
  if(NOT manifest MATCHES "wasmtime-c-api-impl\", version = \"=([0-9.]+)\"")
    message(FATAL_ERROR "cannot read the pinned wasmtime-c-api-impl version from Cargo.toml")
  endif()
  set(${out_version} "${CMAKE_MATCH_1}" PARENT_SCOPE)
  # Comments do not change what gets built, so they do not change the key.
  string(REGEX REPLACE "(^|\n)[ \t]*#[^\n]*" "" manifest "${manifest}")
  set(all "${manifest}")
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
    "${KW_WASMTIME_CRATE_DIR}/Cargo.toml")
  foreach(f Cargo.lock lib.rs build.rs)
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${KW_WASMTIME_CRATE_DIR}/${f}")
    file(READ "${KW_WASMTIME_CRATE_DIR}/${f}" text)
    string(APPEND all "\n--${f}--\n${text}")
  endforeach()
  string(SHA256 hash "${all}")
  string(SUBSTRING "${hash}" 0 16 hash)
  set(${out_hash} "${hash}" PARENT_SCOPE)
endfunction()

kw_find_rust_tool(KW_CARGO cargo)
kw_find_rust_tool(KW_RUSTC rustc)
kw_wasmtime_cache_key(KW_WASMTIME_VERSION kw_wasmtime_hash)
if(DEFINED ENV{XDG_CACHE_HOME} AND NOT "$ENV{XDG_CACHE_HOME}" STREQUAL "")
  set(kw_cache_root "$ENV{XDG_CACHE_HOME}")
else()
  set(kw_cache_root "$ENV{HOME}/.cache")
endif()
set(KW_WASMTIME_HASH "${kw_wasmtime_hash}" CACHE INTERNAL "")
set(KW_WASMTIME_DIR "${kw_cache_root}/kubewarden-cpp/wasmtime-${KW_WASMTIME_VERSION}-${kw_wasmtime_hash}"
  CACHE INTERNAL "")
set(KW_CARGO_JOBS "" CACHE STRING "Parallel jobs for the wasmtime cargo build (empty: cargo's default)")

# Cargo runs at build time (not while configuring) so configure stays quick; the script returns at
# once when the cache entry is complete.
set(kw_wasmtime_lib "${KW_WASMTIME_DIR}/lib/libkw_wasmtime.a")
add_custom_command(
  OUTPUT "${KW_WASMTIME_DIR}/complete"
  BYPRODUCTS "${kw_wasmtime_lib}"
  COMMAND ${CMAKE_COMMAND} -DCRATE_DIR=${KW_WASMTIME_CRATE_DIR} -DCACHE_DIR=${KW_WASMTIME_DIR}
    -DCARGO=${KW_CARGO} -DRUSTC=${KW_RUSTC} -DJOBS=${KW_CARGO_JOBS}
    -P ${CMAKE_SOURCE_DIR}/cmake/wasmtime-build.cmake
  COMMENT "wasmtime ${KW_WASMTIME_VERSION} C API (cached in ${KW_WASMTIME_DIR})"
  USES_TERMINAL VERBATIM)
add_custom_target(kw_wasmtime_build DEPENDS "${KW_WASMTIME_DIR}/complete")

# CMake refuses imported targets whose include folder does not exist yet.
file(MAKE_DIRECTORY "${KW_WASMTIME_DIR}/include")
add_library(kw_wasmtime STATIC IMPORTED GLOBAL)
set_target_properties(kw_wasmtime PROPERTIES
  IMPORTED_LOCATION "${kw_wasmtime_lib}"
  INTERFACE_INCLUDE_DIRECTORIES "${KW_WASMTIME_DIR}/include"
  # What `cargo rustc -- --print native-static-libs` lists besides libc and libgcc_s.
  INTERFACE_LINK_LIBRARIES "Threads::Threads;${CMAKE_DL_LIBS};m;rt;util")
add_dependencies(kw_wasmtime kw_wasmtime_build)
message(STATUS "wasmtime ${KW_WASMTIME_VERSION}: ${KW_WASMTIME_DIR} (cargo: ${KW_CARGO})")
