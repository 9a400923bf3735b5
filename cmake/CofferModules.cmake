# Helpers so that each part of the tree declares itself in its own
# CMakeLists.txt: a new module, test or fuzz target never edits a shared file.

set(COFFER_SHARED_DIR "${CMAKE_SOURCE_DIR}/../shared" CACHE PATH "The shared/ folder (vectors, conformance)")
if(DEFINED ENV{COFFER_VECTORS})
  set(COFFER_VECTORS_DEFAULT "$ENV{COFFER_VECTORS}")
else()
  set(COFFER_VECTORS_DEFAULT "${COFFER_SHARED_DIR}/vectors")
endif()
set(COFFER_VECTORS "${COFFER_VECTORS_DEFAULT}" CACHE PATH "Attestation vectors")
set(COFFER_CONFORMANCE "${COFFER_SHARED_DIR}/conformance" CACHE PATH "Conformance suites")

# Exit code ctest reads as "skipped" (cmocka tests call coffer_test_skip_all).
set(COFFER_SKIP_RC 77)

# coffer_module(NAME [DEPS module...] [LIBS target...])
# A libcoffer module: every .c in the calling directory, a static library
# coffer_<NAME>. Executables link only the modules they need, so the agent
# pulls in no policy engine, storage or verifier (ARCHITECTURE.md).
function(coffer_module name)
  cmake_parse_arguments(M "" "" "DEPS;LIBS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.c)
  add_library(coffer_${name} STATIC ${srcs})
  target_include_directories(coffer_${name}
    PUBLIC ${CMAKE_SOURCE_DIR}/include
    PRIVATE ${CMAKE_SOURCE_DIR}/src/lib)
  target_compile_options(coffer_${name} PRIVATE ${COFFER_WARNINGS})
  set(deps "")
  foreach(d IN LISTS M_DEPS)
    list(APPEND deps coffer_${d})
  endforeach()
  target_link_libraries(coffer_${name} PUBLIC ${deps} ${M_LIBS})
  set_property(GLOBAL APPEND PROPERTY COFFER_MODULE_LIST coffer_${name})
endfunction()

# coffer_program(NAME SOURCES... MODULES m... [LIBS ...])
function(coffer_program name)
  cmake_parse_arguments(P "" "" "SOURCES;MODULES;LIBS" ${ARGN})
  add_executable(${name} ${P_SOURCES})
  # subcommand entry points are declared by the generated tables
  target_compile_options(${name} PRIVATE ${COFFER_WARNINGS} -Wno-missing-prototypes)
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/src/lib ${CMAKE_CURRENT_SOURCE_DIR})
  foreach(m IN LISTS P_MODULES)
    target_link_libraries(${name} PRIVATE coffer_${m})
  endforeach()
  target_link_libraries(${name} PRIVATE ${P_LIBS})
  install(TARGETS ${name} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endfunction()

function(coffer_test_env test)
  set_tests_properties(${test} PROPERTIES
    SKIP_RETURN_CODE ${COFFER_SKIP_RC}
    ENVIRONMENT "COFFER_VECTORS=${COFFER_VECTORS};COFFER_CONFORMANCE=${COFFER_CONFORMANCE};COFFER_SOURCE_DIR=${CMAKE_SOURCE_DIR};COFFER_BIN_DIR=${CMAKE_BINARY_DIR}/bin;PYTHON=/usr/bin/python3;ASAN_OPTIONS=detect_leaks=1:abort_on_error=0;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
endfunction()

# coffer_unit_test(NAME MODULES m... [SOURCES extra.c...] [LIBS ...] [TIMEOUT s])
# tests/unit/NAME.c, a cmocka program, run by ctest.
function(coffer_unit_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;MODULES;LIBS" ${ARGN})
  if(NOT CMOCKA_FOUND)
    message(WARNING "cmocka not found: ${name} not built")
    return()
  endif()
  add_executable(${name} ${CMAKE_SOURCE_DIR}/tests/unit/${name}.c ${T_SOURCES})
  target_compile_options(${name} PRIVATE ${COFFER_WARNINGS} -Wno-missing-prototypes)
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/src/lib ${CMAKE_SOURCE_DIR}/tests/unit)
  foreach(m IN LISTS T_MODULES)
    target_link_libraries(${name} PRIVATE coffer_${m})
  endforeach()
  target_link_libraries(${name} PRIVATE PkgConfig::CMOCKA ${T_LIBS})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  add_test(NAME ${name} COMMAND ${name})
  coffer_test_env(${name})
  set_tests_properties(${name} PROPERTIES LABELS unit)
  if(T_TIMEOUT)
    set_tests_properties(${name} PROPERTIES TIMEOUT ${T_TIMEOUT})
  endif()
endfunction()

# coffer_script_test(NAME COMMAND ... [TIMEOUT s] [DEPENDS targets])
# A test run as a process (integration, interop, conformance drivers).
function(coffer_script_test name)
  cmake_parse_arguments(S "" "TIMEOUT" "COMMAND" ${ARGN})
  add_test(NAME ${name} COMMAND ${S_COMMAND} WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  coffer_test_env(${name})
  if(S_TIMEOUT)
    set_tests_properties(${name} PROPERTIES TIMEOUT ${S_TIMEOUT})
  endif()
endfunction()

# coffer_fuzz_target(NAME MODULES m... [LIBS ...])
# tests/fuzz/NAME.c defines LLVMFuzzerTestOneInput. With COFFER_FUZZ (clang)
# it becomes a libFuzzer binary; in every build it is also linked with the
# standalone replay driver and run over tests/fuzz/corpus/NAME by ctest.
function(coffer_fuzz_target name)
  cmake_parse_arguments(F "" "" "MODULES;LIBS" ${ARGN})
  set(src ${CMAKE_SOURCE_DIR}/tests/fuzz/${name}.c)
  set(mods "")
  foreach(m IN LISTS F_MODULES)
    list(APPEND mods coffer_${m})
  endforeach()
  add_executable(${name}_replay ${src} ${CMAKE_SOURCE_DIR}/tests/fuzz/replay.c)
  target_compile_options(${name}_replay PRIVATE ${COFFER_WARNINGS} -Wno-missing-prototypes)
  target_include_directories(${name}_replay PRIVATE ${CMAKE_SOURCE_DIR}/src/lib)
  target_link_libraries(${name}_replay PRIVATE ${mods} ${F_LIBS})
  set_target_properties(${name}_replay PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
  add_test(NAME fuzz_replay_${name}
           COMMAND ${name}_replay ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${name})
  coffer_test_env(fuzz_replay_${name})
  if(COFFER_FUZZ)
    add_executable(${name}_fuzz ${src})
    target_compile_options(${name}_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(${name}_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
    target_include_directories(${name}_fuzz PRIVATE ${CMAKE_SOURCE_DIR}/src/lib)
    target_link_libraries(${name}_fuzz PRIVATE ${mods} ${F_LIBS})
    set_target_properties(${name}_fuzz PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
    set_property(GLOBAL APPEND PROPERTY COFFER_FUZZERS ${name}_fuzz)
  endif()
endfunction()

# libcoffer itself: every module, as one shared and one static library.
function(coffer_finalize)
  get_property(mods GLOBAL PROPERTY COFFER_MODULE_LIST)
  if(COFFER_FUZZ)
    get_property(fuzzers GLOBAL PROPERTY COFFER_FUZZERS)
    add_custom_target(fuzzers DEPENDS ${fuzzers})
  endif()
  add_library(libcoffer SHARED ${CMAKE_SOURCE_DIR}/cmake/empty.c)
  # Raw --whole-archive: modules link each other, which CMake's WHOLE_ARCHIVE
  # feature refuses when a module also appears as a plain dependency.
  set(files "")
  foreach(m IN LISTS mods)
    list(APPEND files "$<TARGET_FILE:${m}>")
  endforeach()
  add_dependencies(libcoffer ${mods})
  target_link_libraries(libcoffer PRIVATE -Wl,--whole-archive ${files} -Wl,--no-whole-archive)
  foreach(lib OPENSSL JANSSON SQLITE PCRE2)
    if(${lib}_FOUND)
      target_link_libraries(libcoffer PRIVATE PkgConfig::${lib})
    endif()
  endforeach()
  set_target_properties(libcoffer PROPERTIES OUTPUT_NAME coffer VERSION ${PROJECT_VERSION} SOVERSION 0)
  set(mri ${CMAKE_BINARY_DIR}/libcoffer.mri)
  set(script "CREATE ${CMAKE_BINARY_DIR}/lib/libcoffer.a\n")
  foreach(m IN LISTS mods)
    string(APPEND script "ADDLIB $<TARGET_FILE:${m}>\n")
  endforeach()
  string(APPEND script "SAVE\nEND\n")
  file(GENERATE OUTPUT ${mri} CONTENT "${script}")
  add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/lib/libcoffer.a
    COMMAND ${CMAKE_COMMAND} -E rm -f ${CMAKE_BINARY_DIR}/lib/libcoffer.a
    COMMAND ${CMAKE_AR} -M < ${mri}
    DEPENDS ${mods} VERBATIM)
  add_custom_target(coffer_static ALL DEPENDS ${CMAKE_BINARY_DIR}/lib/libcoffer.a)
  install(TARGETS libcoffer LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(FILES ${CMAKE_BINARY_DIR}/lib/libcoffer.a DESTINATION ${CMAKE_INSTALL_LIBDIR})
endfunction()
