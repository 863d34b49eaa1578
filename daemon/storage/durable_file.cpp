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

bool read_file(const std::filesystem::path& path, std::string& out, std::string& error) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        error = errno_text("open", errno);
        return false;
    }
    char buffer[64 * 1024];
    while (true) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            error = errno_text("read", errno);
            ::close(fd);
            return false;
        }
        if (n == 0) break;
        out.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return true;
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
