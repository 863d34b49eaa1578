// The daemon's name re-sync resolves node and NLB names with the probes' DNS client (probes/net):
// one c-ares channel on the event loop, A and AAAA together.
#pragma once

#include "probes/net/dns_client.hpp"

namespace tierwatch {

using DnsResolver = DnsClient;

}  // namespace tierwatch
