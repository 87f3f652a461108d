# Project-wide compile flags. V8 is built without RTTI, and our code shares
# vtables with it through the engine backend, so the whole project matches.
add_compile_options(-fno-rtti -Wall -Wextra -Wno-unused-parameter)
set(KW_ROOT ${CMAKE_SOURCE_DIR})
set(KW_SHARED_DIR "${CMAKE_SOURCE_DIR}/../shared" CACHE PATH "Read-only reference fixtures")
