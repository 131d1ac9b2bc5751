// harness/runtime_info.h: what this binary is and what it runs on (for --version and manifests).
#pragma once

#include <string>

namespace eidetic::harness {

struct RuntimeInfo {
  std::string version;         // Eidetic's own version, e.g. "0.1.0"
  std::string git_commit;      // commit the binary was built from ("-dirty" if modified)
  std::string torch_version;   // libtorch version it was built against
  bool cuda_built = false;     // this build carries CUDA kernels
  bool cuda_usable = false;    // a CUDA device is present and works
  int cuda_device_count = 0;
  std::string device_name;     // name of device 0 when usable, else "cpu"
  std::string cuda_runtime;    // CUDA version torch was built with, "none" without CUDA
};

RuntimeInfo runtime_info();

// The multi-line text `eidetic --version` prints.
std::string version_text(const RuntimeInfo& info);

}  // namespace eidetic::harness
