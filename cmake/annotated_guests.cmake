# Annotates every guest policy with its metadata.yml and README, using our own kwctl, into
# ${KW_GUEST_OUT}/annotated/<name>.wasm. The policy-server reads the execution mode from
# this metadata, as upstream does, and `make run` serves these annotated modules.
file(GLOB KW_GUEST_POLICY_DIRS LIST_DIRECTORIES true ${CMAKE_SOURCE_DIR}/guest/policies/*)
set(KW_ANNOTATED_OUT ${KW_GUEST_OUT}/annotated)
set(KW_ANNOTATED_OUTPUTS)
foreach(dir ${KW_GUEST_POLICY_DIRS})
  if(NOT IS_DIRECTORY ${dir} OR NOT EXISTS ${dir}/metadata.yml)
    continue()
  endif()
  get_filename_component(name ${dir} NAME)
  set(out ${KW_ANNOTATED_OUT}/${name}.wasm)
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${KW_ANNOTATED_OUT}
    COMMAND $<TARGET_FILE:kwctl> annotate ${KW_GUEST_OUT}/${name}.wasm -m ${dir}/metadata.yml
            -u ${dir}/README.md -o ${out}
    DEPENDS kwctl guests ${KW_GUEST_OUT}/${name}.wasm ${dir}/metadata.yml ${dir}/README.md
    COMMENT "Annotating guest policy ${name}")
  list(APPEND KW_ANNOTATED_OUTPUTS ${out})
endforeach()
add_custom_target(annotated_guests ALL DEPENDS ${KW_ANNOTATED_OUTPUTS})
