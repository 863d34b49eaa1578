// Shared by the libFuzzer harnesses: the input as text, an invariant check that aborts with a
// message (libFuzzer keeps the input that broke it), and scratch files for the file readers.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace tierwatch::fuzz {

inline std::string_view text(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

// An invariant of the parser under test; a violation is a finding, like a crash.
inline void require(bool holds, const char* invariant) {
    if (!holds) {
        std::fprintf(stderr, "invariant violated: %s\n", invariant);
        std::abort();
    }
}

// A directory of this process's own for state files, made once and reused by every input.
inline const std::filesystem::path& scratch_dir() {
    static const std::filesystem::path dir = [] {
        auto path = std::filesystem::temp_directory_path() /
                    ("tierwatch-fuzz-" + std::to_string(::getpid()));
        std::filesystem::create_directories(path);
        return path;
    }();
    return dir;
}

// Writes `bytes` to `name` in the scratch directory and returns its path.
inline std::filesystem::path scratch_file(std::string_view name, std::string_view bytes) {
    const auto path = scratch_dir() / name;
    std::filesystem::remove(path.string() + ".corrupt");
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return path;
}

}  // namespace tierwatch::fuzz
