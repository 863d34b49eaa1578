// Small POSIX file helpers for state that must survive a crash (outbox, silences): errors come
// back as text naming the operation and errno, for a log line that says what failed and where.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "daemon/base/expected.hpp"

namespace tierwatch {

// "ENOSPC"
std::string errno_name(int error);
// "fsync: No space left on device (ENOSPC)"
std::string errno_text(const char* what, int error);
// fsync on a directory: makes a rename or a new file in it durable.
Expected<> sync_directory(const std::filesystem::path& dir);
// State files are written by tierwatchd and stay small; one past this is damage or a runaway
// writer, and reading it whole could exhaust memory before the daemon is ready.
inline constexpr std::size_t max_state_file_bytes = 64 * 1024 * 1024;
struct ReadError {
    std::string text;
    bool too_large = false;  // more than max_bytes: the file is set aside, not retried
};
// The whole file, at most `max_bytes` of it.
Expected<std::string, ReadError> read_file(const std::filesystem::path& path,
                                           std::size_t max_bytes = max_state_file_bytes);
// Renames a state file that cannot be used to `path`.corrupt, keeping the evidence for a
// post-mortem; returns "moved to <path>.corrupt" or why it could not be moved, for the log line.
std::string set_aside(const std::filesystem::path& path);
// Writes `contents` to a temporary file beside `path`, fsyncs it, renames it over `path` and
// fsyncs the directory: after a crash `path` holds either the old or the new contents, whole.
Expected<> replace_file_durably(const std::filesystem::path& path, std::string_view contents);

}  // namespace tierwatch
