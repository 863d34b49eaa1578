// One probe result as JSON fields (see result_json.hpp).
#include "daemon/web/result_json.hpp"

#include <boost/json/array.hpp>
#include <chrono>

namespace tierwatch {

void append_result_json(boost::json::object& out, const ProbeResult& result) {
    using seconds = std::chrono::duration<double>;
    out["success"] = result.ok();
    out["reason"] = result.ok() ? "" : to_string(result.reason);
    out["detail"] = result.detail;
    out["duration_seconds"] = seconds(result.total).count();
    boost::json::object phases;
    for (std::size_t p = 0; p < phase_count; ++p) {
        const auto phase = static_cast<Phase>(p);
        if (result.phase(phase).count() > 0)
            phases[to_string(phase)] = seconds(result.phase(phase)).count();
    }
    out["phases"] = std::move(phases);
    if (result.certificate) {
        const auto& cert = *result.certificate;
        boost::json::array names;
        for (const auto& name : cert.subject_alt_names) names.emplace_back(name);
        out["tls"] = boost::json::object{{"version", cert.tls_version},
                                         {"cipher", cert.cipher},
                                         {"earliest_not_after", cert.earliest_not_after},
                                         {"subject", cert.subject},
                                         {"issuer", cert.issuer},
                                         {"subject_alt_names", std::move(names)}};
    }
    if (result.status_code != 0) out["http_status"] = result.status_code;
    if (result.delivery) out["delivery_seconds"] = seconds(*result.delivery).count();
    if (!result.replication_lags.empty()) {
        boost::json::object lags;
        for (const auto& lag : result.replication_lags) lags[lag.peer] = lag.seconds;
        out["replication_lag_seconds"] = std::move(lags);  // behind each peer
    }
}

}  // namespace tierwatch
