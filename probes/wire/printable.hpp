// Server bytes made safe to quote in a failure detail, a log line or a label.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tierwatch {

// A server's bytes made safe for a detail text: at most `max` characters, control and non-ASCII
// bytes shown as \xNN, so garbage from the wire cannot break a log line or a label.
std::string printable_excerpt(std::string_view bytes, std::size_t max = 120);

}  // namespace tierwatch
