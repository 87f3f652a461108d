# cmake -P tests/cmake/layers_test.cmake: kw_find_cycle (cmake/kw_layers.cmake) finds a cycle
# that a new #include would add, and none in a layered graph.
get_filename_component(root ${CMAKE_CURRENT_LIST_DIR}/../.. ABSOLUTE)
include(${root}/cmake/kw_layers.cmake)

function(expect_cycle expected)
  kw_find_cycle(found e_ ${ARGN})
  if(NOT found STREQUAL expected)
    message(FATAL_ERROR "expected cycle '${expected}', got '${found}'")
  endif()
endfunction()

# Layered: a diamond with a third-party leaf (no edges of its own) is not a cycle.
set(e_server kw_policy kw_host)
set(e_kw_host kw_policy fmt::fmt)
set(e_kw_policy kw_opa kw_common)
set(e_kw_opa kw_common)
set(e_kw_common "")
expect_cycle("" server kw_host kw_policy kw_opa kw_common)

# The policy <-> opa cycle this project once had, reached from above.
set(e_kw_opa kw_common kw_policy)
expect_cycle("kw_policy -> kw_opa -> kw_policy" server kw_host kw_policy kw_opa kw_common)

# A self edge, and a longer cycle found from any starting node.
set(e_a a)
expect_cycle("a -> a" a)
set(e_x y)
set(e_y z)
set(e_z x)
expect_cycle("z -> x -> y -> z" z x y)
message(STATUS "layers_test: all cases passed")
