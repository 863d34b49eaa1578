// Small POSIX file helpers for state that must survive a crash (outbox, silences): errors come
// back as text naming the operation and errno, for a log line that says what failed and where.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace tierwatch {

// "ENOSPC"
std::string errno_name(int error);
// "fsync: No space left on device (ENOSPC)"
std::string errno_text(const char* what, int error);
// fsync on a directory: makes a rename or a new file in it durable.
bool sync_directory(const std::filesystem::path& dir, std::string& error);
bool read_file(const std::filesystem::path& path, std::string& out, std::string& error);
// Writes `contents` to a temporary file beside `path`, fsyncs it, renames it over `path` and
// fsyncs the directory: after a crash `path` holds either the old or the new contents, whole.
bool replace_file_durably(const std::filesystem::path& path, std::string_view contents,
                          std::string& error);

}  // namespace tierwatch
