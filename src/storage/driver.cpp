// SPDX-License-Identifier: Apache-2.0
#include "storage/driver.hpp"

#include <fmt/format.h>

#include "common/file.hpp"

namespace berth::storage {

Result<std::unique_ptr<Driver>> open_overlay2(const std::string& home);
Result<std::unique_ptr<Driver>> open_vfs(const std::string& home);

Result<std::unique_ptr<Driver>> open_driver(const std::string& name, const std::string& home) {
  TRY(mkdir_all(home, 0711));
  std::string n = name;
  if (n.empty()) n = overlay_supported(home) ? "overlay2" : "vfs";
  if (n == "overlay2" || n == "overlay") return open_overlay2(home + "/overlay2");
  if (n == "vfs") return open_vfs(home + "/vfs");
  return fail(Errc::InvalidArgument, fmt::format("unknown storage driver \"{}\"", name));
}

}  // namespace berth::storage
