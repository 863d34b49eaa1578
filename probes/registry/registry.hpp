// The protocol table of the probes: each protocol's prober and the measurement kinds it
// declares, one line per protocol in registry.cpp (find_prober and run_probe: probes/net/probe.hpp).
#pragma once

#include <span>

#include "probes/net/probe.hpp"

namespace tierwatch {

struct ProberEntry {
    Protocol protocol;
    ProbeFunction probe;
    std::span<const MeasurementKind* const> measures;  // the kinds its results may carry
};

// Every protocol, in enum order.
std::span<const ProberEntry> all_probers() noexcept;

// Every declared kind once, in registry order: /metrics writes each family's HELP and TYPE even
// when no target has a value of it.
std::span<const MeasurementKind* const> all_measurement_kinds() noexcept;

}  // namespace tierwatch
