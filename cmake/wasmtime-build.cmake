# Builds the wasmtime wrapper crate into a per-machine cache folder. Run with `cmake -P`:
#   -DCRATE_DIR=… -DCACHE_DIR=… -DCARGO=… -DRUSTC=… [-DJOBS=N]
# A `complete` marker is written last, so an interrupted build is never mistaken for a finished
# one. A lock keeps two build folders (or CI and a developer) from building the same entry at once.
foreach(var CRATE_DIR CACHE_DIR CARGO RUSTC)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "wasmtime-build.cmake: -D${var}=… is required")
  endif()
endforeach()

set(marker "${CACHE_DIR}/complete")
file(MAKE_DIRECTORY "${CACHE_DIR}")
file(LOCK "${CACHE_DIR}.lock" GUARD PROCESS TIMEOUT 7200)
if(EXISTS "${marker}")
  return()
endif()

set(log "${CACHE_DIR}/cargo-build.log")
message(STATUS "Building wasmtime's C API with cargo into ${CACHE_DIR} (log: ${log}); "
               "this takes a while once per machine")
set(jobs_arg)
if(JOBS)
  set(jobs_arg -j ${JOBS})
endif()
get_filename_component(rustc_dir "${RUSTC}" DIRECTORY)
execute_process(
  COMMAND ${CMAKE_COMMAND} -E env
    "PATH=${rustc_dir}:$ENV{PATH}" "RUSTC=${RUSTC}"
    "CARGO_TARGET_DIR=${CACHE_DIR}/target"
    "KW_WASMTIME_INCLUDE_OUT=${CACHE_DIR}/include"
    "${CARGO}" build --release --locked ${jobs_arg}
    --manifest-path "${CRATE_DIR}/Cargo.toml"
  RESULT_VARIABLE rc
  OUTPUT_FILE "${log}" ERROR_FILE "${log}")
if(NOT rc EQUAL 0)
  file(READ "${log}" tail OFFSET 0)
  string(LENGTH "${tail}" n)
  if(n GREATER 4000)
    math(EXPR from "${n} - 4000")
    string(SUBSTRING "${tail}" ${from} -1 tail)
  endif()
  message(FATAL_ERROR "cargo build of the wasmtime crate failed (${rc}); end of ${log}:\n${tail}")
endif()

set(built "${CACHE_DIR}/target/release/libkw_wasmtime.a")
if(NOT EXISTS "${built}" OR NOT EXISTS "${CACHE_DIR}/include/wasmtime.h")
  message(FATAL_ERROR "cargo finished but ${built} or ${CACHE_DIR}/include/wasmtime.h is missing")
endif()
file(MAKE_DIRECTORY "${CACHE_DIR}/lib")
file(COPY_FILE "${built}" "${CACHE_DIR}/lib/libkw_wasmtime.a" ONLY_IF_DIFFERENT)
file(TOUCH "${marker}")
