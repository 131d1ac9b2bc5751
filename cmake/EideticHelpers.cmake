# Helpers shared by every CMakeLists.txt of the project.

# eidetic_torch_runtime_paths(OUT): the folders that hold libtorch and the CUDA libraries the
# torch wheel depends on (its nvidia-* packages beside it in site-packages). Executables get
# them as RPATH so that they run without LD_LIBRARY_PATH, on this machine and on the GPU one.
function(eidetic_torch_runtime_paths out)
  get_filename_component(torch_lib_dir "${TORCH_LIBRARY}" DIRECTORY)
  get_filename_component(site_packages "${torch_lib_dir}/../.." ABSOLUTE)
  file(GLOB nvidia_lib_dirs LIST_DIRECTORIES true "${site_packages}/nvidia/*/lib")
  set(${out} "${torch_lib_dir};${nvidia_lib_dirs}" PARENT_SCOPE)
endfunction()

# eidetic_target_defaults(TARGET): warnings, include root, the CUDA switch as a definition.
function(eidetic_target_defaults target)
  target_include_directories(${target} PUBLIC
    "${PROJECT_SOURCE_DIR}" "${PROJECT_BINARY_DIR}/generated")
  if(EIDETIC_WITH_CUDA)
    target_compile_definitions(${target} PUBLIC EIDETIC_WITH_CUDA=1)
  else()
    target_compile_definitions(${target} PUBLIC EIDETIC_WITH_CUDA=0)
  endif()
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-unused-parameter>)
endfunction()

# eidetic_executable(TARGET): an executable that finds libtorch and the CUDA libraries at run
# time through its RPATH.
function(eidetic_executable target)
  set_target_properties(${target} PROPERTIES
    BUILD_RPATH "${EIDETIC_TORCH_RPATH}"
    INSTALL_RPATH "${EIDETIC_TORCH_RPATH}")
  # Appended, not set: the directory's link options (the sanitizers') must stay.
  target_link_options(${target} PRIVATE "-Wl,--disable-new-dtags")
  # libtorch.so exports its own copy of std::filesystem (64 functions), and some of them crash
  # when called from our code (remove_all jumps to a null pointer). Naming libstdc++ before any
  # other library puts it first in the search order, so the real implementation wins.
  target_link_options(${target} PRIVATE "LINKER:--push-state,--no-as-needed" "-lstdc++" "LINKER:--pop-state")
  # The CUDA libraries of the wheel must also be found while linking (libtorch_cuda needs them).
  foreach(dir IN LISTS EIDETIC_TORCH_RPATH)
    target_link_options(${target} PRIVATE "-Wl,-rpath-link,${dir}")
  endforeach()
endfunction()

# eidetic_add_test(NAME LABEL cpu|gpu SOURCES ... [LIBS ...]): one GoogleTest executable whose
# tests are registered with CTest under the label, so that `ctest -L cpu` and `ctest -L gpu`
# select them. `gpu` tests skip themselves (GTEST_SKIP) when no device is present.
function(eidetic_add_test name)
  cmake_parse_arguments(ARG "" "LABEL" "SOURCES;LIBS" ${ARGN})
  if(NOT ARG_LABEL MATCHES "^(cpu|gpu)$")
    message(FATAL_ERROR "eidetic_add_test(${name}): LABEL must be cpu or gpu")
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gtest_main)
  eidetic_target_defaults(${name})
  eidetic_executable(${name})
  # Discovery runs the binary (which loads libtorch) when ctest starts: on a loaded machine that
  # can take longer than CMake's default 5 s.
  gtest_discover_tests(${name}
    DISCOVERY_MODE PRE_TEST
    DISCOVERY_TIMEOUT 120
    WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
    PROPERTIES LABELS ${ARG_LABEL}
               ENVIRONMENT "EIDETIC_SOURCE_DIR=${PROJECT_SOURCE_DIR};EIDETIC_BUILD_DIR=${PROJECT_BINARY_DIR}")
endfunction()
