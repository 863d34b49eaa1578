// The daemon's three modes: run, --check-config and --once.
#pragma once

#include <memory>
#include <string>

#include "config/config.hpp"

namespace tierwatch {

// Serves until SIGTERM/SIGINT; returns the process exit code.
int run_daemon(std::shared_ptr<const Config> config);

// A human summary of a validated configuration: nodes, NLBs, checks, targets by check and by
// zone and role. NLB targets are counted per NLB (their addresses are known only at run time).
std::string summarize_config(const Config& config);

// Probes every target once and prints a table (or JSON); returns 0 ok, 1 warning, 2 critical.
int run_once(std::shared_ptr<const Config> config, bool json);

// Raises RLIMIT_NOFILE to its hard limit; returns the new soft limit.
std::uint64_t raise_file_limit();

}  // namespace tierwatch
