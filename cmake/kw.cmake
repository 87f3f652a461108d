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
