// Durable write-then-rename, directory fsync and whole-file reads, with errno named in every error.
#include "daemon/storage/durable_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tierwatch {

std::string errno_name(int error) {
    const char* name = ::strerrorname_np(error);
    return name ? name : "E" + std::to_string(error);
}

// "write: No space left on device (ENOSPC)": the errno name is what operators grep for.
std::string errno_text(const char* what, int error) {
    return std::string(what) + ": " + std::strerror(error) + " (" + errno_name(error) + ")";
}

bool sync_directory(const std::filesystem::path& dir, std::string& error) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        error = errno_text("open directory", errno);
        return false;
    }
    const bool ok = ::fsync(fd) == 0;
    if (!ok) error = errno_text("fsync directory", errno);
    ::close(fd);
    return ok;
}

ReadResult read_file(const std::filesystem::path& path, std::string& out, std::string& error,
                     std::size_t max_bytes) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        error = errno_text("open", errno);
        return ReadResult::failed;
    }
    char buffer[64 * 1024];
    const std::size_t start = out.size();
    while (true) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            error = errno_text("read", errno);
            ::close(fd);
            return ReadResult::failed;
        }
        if (n == 0) break;
        // Checked as it grows: the size a stat reports can change while we read.
        if (out.size() - start + static_cast<std::size_t>(n) > max_bytes) {
            out.resize(start);
            error = "larger than " + std::to_string(max_bytes) + " bytes, the most a state file may hold";
            ::close(fd);
            return ReadResult::too_large;
        }
        out.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return ReadResult::ok;
}

std::string set_aside(const std::filesystem::path& path) {
    auto aside = path;
    aside += ".corrupt";
    std::error_code error;
    std::filesystem::rename(path, aside, error);
    if (error) return "could not move it to " + aside.string() + ": " + error.message();
    return "moved to " + aside.string();
}

bool replace_file_durably(const std::filesystem::path& path, std::string_view contents,
                          std::string& error) {
    auto temp = path;
    temp += ".tmp";
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        error = errno_text("create", errno);
        return false;
    }
    bool ok = true;
    for (std::size_t done = 0; ok && done < contents.size();) {
        const ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            error = errno_text("write", errno);
            ok = false;
        } else {
            done += static_cast<std::size_t>(n);
        }
    }
    if (ok && ::fsync(fd) != 0) {
        error = errno_text("fsync", errno);
        ok = false;
    }
    ::close(fd);
    if (ok && ::rename(temp.c_str(), path.c_str()) != 0) {
        error = errno_text("rename", errno);
        ok = false;
    }
    if (!ok) {
        ::unlink(temp.c_str());
        return false;
    }
    return sync_directory(path.parent_path().empty() ? "." : path.parent_path(), error);
}

}  // namespace tierwatch
