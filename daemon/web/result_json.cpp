// One probe result as JSON fields (see result_json.hpp).
#include "daemon/web/result_json.hpp"

#include <boost/json/array.hpp>
#include <chrono>

namespace tierwatch {

void append_placement_json(boost::json::object& out, const TargetSpec& spec) {
    if (spec.node) {
        out["node"] = spec.node->name;
        out["role"] = spec.node->role;
        out["zone"] = spec.node->zone;
    } else {
        out["nlb"] = spec.nlb->name;
    }
}

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
    // Each measurement under its kind's key; a labelled kind as an object label -> value.
    for (const auto& m : result.measurements) {
        const MeasurementKind& kind = *m.kind;
        boost::json::value value;
        if (kind.unit == MeasurementUnit::state) {
            value = boost::json::string(state_word(m.value));
        } else if (kind.unit == MeasurementUnit::count) {
            value = static_cast<std::int64_t>(m.value);
        } else {
            value = m.value;
        }
        if (kind.label.empty()) {
            out[kind.key] = std::move(value);
            continue;
        }
        auto& by_label = out[kind.key];
        if (!by_label.is_object()) by_label = boost::json::object{};
        by_label.as_object()[m.label] = std::move(value);
    }
}

}  // namespace tierwatch
