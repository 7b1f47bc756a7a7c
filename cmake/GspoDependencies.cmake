# Finds the project's dependencies. Order matters: Protobuf and gRPC come before Torch, whose
# config otherwise replaces protobuf::libprotobuf with an empty target (GPU-HOST.md).
find_package(Threads REQUIRED)
find_package(Protobuf REQUIRED)

# gRPC's config looks re2 up through pkg-config, whose file points at /usr; with packages
# unpacked under a prefix (the GPU host, scripts/gpu-build.sh) define the target from there.
if(NOT TARGET re2::re2)
  find_library(GSPO_RE2_LIBRARY NAMES re2)
  find_path(GSPO_RE2_INCLUDE_DIR re2/re2.h)
  if(GSPO_RE2_LIBRARY AND GSPO_RE2_INCLUDE_DIR)
    add_library(re2::re2 UNKNOWN IMPORTED)
    set_target_properties(re2::re2 PROPERTIES
      IMPORTED_LOCATION ${GSPO_RE2_LIBRARY}
      INTERFACE_INCLUDE_DIRECTORIES ${GSPO_RE2_INCLUDE_DIR})
  endif()
endif()
find_package(gRPC CONFIG REQUIRED)
find_package(yaml-cpp REQUIRED)

# yaml-cpp 0.7's config exports the target under its bare name only.
if(NOT TARGET yaml-cpp::yaml-cpp)
  add_library(yaml-cpp::yaml-cpp INTERFACE IMPORTED)
  set_target_properties(yaml-cpp::yaml-cpp PROPERTIES INTERFACE_LINK_LIBRARIES yaml-cpp)
endif()

find_program(GSPO_GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)

if(GSPO_BUILD_ENGINE)
  find_package(Torch REQUIRED)
  # Torch's flags include -D_GLIBCXX_USE_CXX11_ABI=...; keep them on the engine targets only.
  set(GSPO_WITH_CUDA ${TORCH_CUDA_LIBRARIES})
  if(GSPO_WITH_CUDA)
    message(STATUS "gspo: LibTorch ${Torch_VERSION} with CUDA")
  else()
    message(STATUS "gspo: LibTorch ${Torch_VERSION}, CPU only")
  endif()
endif()
