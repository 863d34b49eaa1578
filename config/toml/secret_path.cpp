// "credential:NAME" and plain paths for the *_file secrets of every configuration section.
#include "config/toml/secret_path.hpp"

#include <cstdlib>
#include <string>

#include "config/toml/text.hpp"

namespace tierwatch {

namespace {

constexpr std::string_view credential_prefix = "credential:";

}  // namespace

std::filesystem::path resolve_secret_path(
    std::string_view written, const std::filesystem::path& base_dir,
    const std::optional<std::filesystem::path>& credentials_directory) {
    if (!written.starts_with(credential_prefix)) {
        return (base_dir / written).lexically_normal();  // an absolute path replaces base_dir
    }
    const std::string_view name = written.substr(credential_prefix.size());
    // systemd's own rule for credential names: one path component, never "." or "..".
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos) {
        throw std::invalid_argument(
            detail::in_quotes(written) +
            ": a credential name is one file name, as in LoadCredential=NAME:/path");
    }
    if (!credentials_directory || credentials_directory->empty()) {
        throw std::invalid_argument(
            detail::in_quotes(written) +
            " needs $CREDENTIALS_DIRECTORY, which systemd sets for a unit with "
            "LoadCredential=" +
            std::string(name) + ":/path; it is not set here");
    }
    return (*credentials_directory / name).lexically_normal();
}

std::filesystem::path resolve_secret_path(std::string_view written,
                                          const std::filesystem::path& base_dir) {
    const char* directory = std::getenv("CREDENTIALS_DIRECTORY");
    return resolve_secret_path(
        written, base_dir,
        directory ? std::optional<std::filesystem::path>(directory) : std::nullopt);
}

}  // namespace tierwatch
