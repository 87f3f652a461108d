# One library per src/ folder, and the rules that keep them layered (docs/ARCHITECTURE.md).
#
# A library sees its own headers and those of the libraries it links, nothing else: each gets an
# include folder of its own under build/include/<library>/, holding symbolic links to its
# headers at their usual paths ("policy/evaluator.h"). src/ itself is on no include path, so an
# #include of a folder the library does not link fails to compile instead of adding a hidden
# edge. Link edges are then the whole dependency graph, and kw_check_layers() refuses a cycle.
# A library that includes a third-party header links that library too, PRIVATE at least, so it
# compiles with its definitions (spdlog's SPDLOG_COMPILED_LIB: without it the header-only spdlog
# would keep a second logger registry).

set_property(GLOBAL PROPERTY KW_LAYER_LIBRARIES "")

# kw_library(<name> DIR <folder under src/> [HEADERS_FROM <folder under include/>...]
#            [PUBLIC <deps>...] [PRIVATE <deps>...])
# The sources are <folder>/*.cc (not recursive: a subfolder is a library of its own). With no
# sources the library is an INTERFACE library of headers.
function(kw_library name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "DIR" "HEADERS_FROM;PUBLIC;PRIVATE")
  set(farm ${CMAKE_BINARY_DIR}/include/${name})
  file(REMOVE_RECURSE ${farm})
  set(header_roots "")
  if(arg_DIR)
    list(APPEND header_roots "${KW_ROOT}/src|${arg_DIR}")
  endif()
  foreach(folder ${arg_HEADERS_FROM})
    list(APPEND header_roots "${KW_ROOT}/include|${folder}")
  endforeach()
  foreach(root ${header_roots})
    string(REPLACE "|" ";" parts "${root}")
    list(GET parts 0 base)
    list(GET parts 1 folder)
    file(GLOB headers CONFIGURE_DEPENDS ${base}/${folder}/*.h)
    foreach(header ${headers})
      get_filename_component(file ${header} NAME)
      file(MAKE_DIRECTORY ${farm}/${folder})
      file(CREATE_LINK ${header} ${farm}/${folder}/${file} SYMBOLIC)
    endforeach()
  endforeach()

  set(sources "")
  if(arg_DIR)
    file(GLOB sources CONFIGURE_DEPENDS ${KW_ROOT}/src/${arg_DIR}/*.cc)
  endif()
  if(sources)
    add_library(${name} STATIC ${sources})
    target_include_directories(${name} PUBLIC ${farm})
    target_link_libraries(${name} PUBLIC ${arg_PUBLIC} PRIVATE ${arg_PRIVATE})
  else()
    if(arg_PRIVATE)
      message(FATAL_ERROR "${name}: a header-only library has no PRIVATE dependencies")
    endif()
    add_library(${name} INTERFACE)
    target_include_directories(${name} INTERFACE ${farm})
    target_link_libraries(${name} INTERFACE ${arg_PUBLIC})
  endif()
  set_property(GLOBAL APPEND PROPERTY KW_LAYER_LIBRARIES ${name})
  # Every edge, public or private, for the cycle check (CMake itself accepts cycles between
  # static libraries).
  set_property(GLOBAL PROPERTY KW_LAYER_EDGES_${name} ${arg_PUBLIC} ${arg_PRIVATE})
endfunction()

# Depth-first search over <nodes>, whose edges are in the variables <prefix><node>; sets <out>
# to the first cycle found ("a -> b -> a") or to "" when there is none. Separate from the
# library bookkeeping so tests/cmake/layers_test.cmake can run it on graphs of its own.
function(kw_find_cycle out prefix)
  set(nodes ${ARGN})
  foreach(node ${nodes})
    set(state_${node} new)
  endforeach()
  set(found "")
  foreach(start ${nodes})
    if(NOT state_${start} STREQUAL "new" OR found)
      continue()
    endif()
    # An explicit stack of "node|next-edge-index" frames; path holds the grey nodes in order.
    set(stack "${start}|0")
    set(path ${start})
    set(state_${start} grey)
    while(stack AND NOT found)
      list(POP_BACK stack frame)
      string(REPLACE "|" ";" frame "${frame}")
      list(GET frame 0 node)
      list(GET frame 1 index)
      set(edges ${${prefix}${node}})
      list(LENGTH edges count)
      if(index LESS count)
        list(GET edges ${index} next)
        math(EXPR index "${index} + 1")
        list(APPEND stack "${node}|${index}")
        if(NOT DEFINED state_${next})
          continue()  # a third-party target: no edges of ours below it
        endif()
        if(state_${next} STREQUAL "grey")
          list(FIND path ${next} at)
          list(SUBLIST path ${at} -1 cycle)
          list(APPEND cycle ${next})
          list(JOIN cycle " -> " found)
        elseif(state_${next} STREQUAL "new")
          set(state_${next} grey)
          list(APPEND path ${next})
          list(APPEND stack "${next}|0")
        endif()
      else()
        set(state_${node} black)
        list(POP_BACK path)
      endif()
    endwhile()
  endforeach()
  set(${out} "${found}" PARENT_SCOPE)
endfunction()

# Fails the configure step when the libraries made by kw_library() depend on each other in a
# circle.
function(kw_check_layers)
  get_property(libraries GLOBAL PROPERTY KW_LAYER_LIBRARIES)
  foreach(library ${libraries})
    get_property(edges_${library} GLOBAL PROPERTY KW_LAYER_EDGES_${library})
  endforeach()
  kw_find_cycle(cycle edges_ ${libraries})
  if(cycle)
    message(FATAL_ERROR "src/ libraries depend on each other in a cycle: ${cycle}. "
      "Move what both need into a lower library (docs/ARCHITECTURE.md, \"Layers\").")
  endif()
endfunction()
