// The one error convention for fallible functions outside the probes: a value or what went wrong,
// shaped like C++23's std::expected so it can become that type when the toolchain allows (clang
// 14, which the fuzzers build with, lacks <expected>). The error is a sentence naming what failed
// and where ("alarms.json: open: No such file or directory (ENOENT)") unless a caller must tell
// failures apart (E).
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace tierwatch {

template <typename E>
struct Unexpected {
    E error;
};

inline Unexpected<std::string> unexpected(std::string error) { return {std::move(error)}; }

template <typename T = void, typename E = std::string>
class [[nodiscard]] Expected {
public:
    Expected(T value) : state_(std::in_place_index<0>, std::move(value)) {}
    Expected(Unexpected<E> failure) : state_(std::in_place_index<1>, std::move(failure.error)) {}

    bool has_value() const noexcept { return state_.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }
    T& value() & { return std::get<0>(state_); }
    const T& value() const& { return std::get<0>(state_); }
    T&& value() && { return std::get<0>(std::move(state_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    // Only when !has_value().
    const E& error() const { return std::get<1>(state_); }

private:
    std::variant<T, E> state_;
};

// Success that carries nothing: ok, or an error.
template <typename E>
class [[nodiscard]] Expected<void, E> {
public:
    Expected() = default;
    Expected(Unexpected<E> failure) : error_(std::move(failure.error)), failed_(true) {}

    bool has_value() const noexcept { return !failed_; }
    explicit operator bool() const noexcept { return has_value(); }
    const E& error() const noexcept { return error_; }

private:
    E error_{};
    bool failed_ = false;
};

}  // namespace tierwatch
