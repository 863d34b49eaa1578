// The systemd notification protocol (sd_notify(3)) without libsystemd: READY=1 once serving,
// WATCHDOG=1 from the event loop itself, STOPPING=1 on the way out. A no-op outside systemd.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace tierwatch {

// Sends one notification to $NOTIFY_SOCKET; false when there is none or the send failed.
bool notify_systemd(std::string_view state);

// Half of $WATCHDOG_USEC (when it is set for this process): how often to send WATCHDOG=1.
std::optional<std::chrono::microseconds> systemd_watchdog_interval();

}  // namespace tierwatch
