// Durable write-then-rename, directory fsync and bounded whole-file reads, with errno named in every error.
#include "daemon/storage/durable_file.hpp"

#include "config/toml/section.hpp"

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

Expected<> sync_directory(const std::filesystem::path& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return unexpected(errno_text("open directory", errno));
    const bool ok = ::fsync(fd) == 0;
    const int fsync_errno = errno;
    ::close(fd);
    if (!ok) return unexpected(errno_text("fsync directory", fsync_errno));
    return {};
}

Expected<std::string, ReadError> read_file(const std::filesystem::path& path,
                                           std::size_t max_bytes) {
    FileRead read = read_bounded(path, max_bytes);
    if (read.error != 0) return Unexpected<ReadError>{{errno_text("read", read.error)}};
    if (read.content.size() > max_bytes) {
        return Unexpected<ReadError>{
            {"larger than " + std::to_string(max_bytes) + " bytes, the most a state file may hold",
             true}};
    }
    return std::move(read.content);
}

std::string set_aside(const std::filesystem::path& path) {
    auto aside = path;
    aside += ".corrupt";
    std::error_code error;
    std::filesystem::rename(path, aside, error);
    if (error) return "could not move it to " + aside.string() + ": " + error.message();
    return "moved to " + aside.string();
}

Expected<> replace_file_durably(const std::filesystem::path& path, std::string_view contents) {
    auto temp = path;
    temp += ".tmp";
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return unexpected(errno_text("create", errno));
    std::string error;
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
        return unexpected(std::move(error));
    }
    return sync_directory(path.parent_path().empty() ? "." : path.parent_path());
}

}  // namespace tierwatch
