// The alarms that receivers were told about, kept in state_dir/alarms.json so that a restart
// neither re-pages what is still firing nor forgets to resolve what cleared while it was down.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "daemon/alarms/alarms.hpp"

namespace tierwatch {

// Writes every alarm with at least one notified receiver (the others owe nobody a resolve).
// Atomic (temporary file, fsync, rename); returns the error, empty on success.
std::string save_alarm_state(const std::filesystem::path& file, const AlarmBook& book);

// A missing file is no alarms. A file that cannot be read is reported in `error` and yields
// none: the worst case is a resolve not sent, never a crash or a page storm.
std::vector<Alarm> load_alarm_state(const std::filesystem::path& file, std::string& error);

}  // namespace tierwatch
