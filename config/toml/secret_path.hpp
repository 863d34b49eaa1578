// Where a secret file named in the configuration lives: a path, or a systemd credential.
#pragma once

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string_view>

namespace tierwatch {

// "credential:NAME" names a credential the service manager handed over (LoadCredential=NAME:...)
// and is read from $CREDENTIALS_DIRECTORY/NAME; anything else is a path, a relative one taken
// from `base_dir` (the configuration file's directory). Throws std::invalid_argument saying
// what is wrong (the caller adds file:line:column) for a bad NAME or a missing directory.
std::filesystem::path resolve_secret_path(
    std::string_view written, const std::filesystem::path& base_dir,
    const std::optional<std::filesystem::path>& credentials_directory);
// Same, with the directory from this process's $CREDENTIALS_DIRECTORY.
std::filesystem::path resolve_secret_path(std::string_view written,
                                          const std::filesystem::path& base_dir);

}  // namespace tierwatch
