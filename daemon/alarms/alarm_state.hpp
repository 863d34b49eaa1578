// The alarms that receivers were told about, kept in state_dir/alarms.json so that a restart
// neither re-pages what is still firing nor forgets to resolve what cleared while it was down.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "daemon/alarms/alarms.hpp"
#include "daemon/base/expected.hpp"

namespace tierwatch {

// Writes every alarm with at least one notified receiver (the others owe nobody a resolve).
// Atomic (temporary file, fsync, rename).
Expected<> save_alarm_state(const std::filesystem::path& file, const AlarmBook& book);

// A missing file is no alarms. A file that cannot be read or used is an error (a damaged or
// oversized one is set aside first), and the daemon starts without it: the worst case is a
// resolve not sent, never a crash or a page storm.
Expected<std::vector<Alarm>> load_alarm_state(const std::filesystem::path& file);

}  // namespace tierwatch
