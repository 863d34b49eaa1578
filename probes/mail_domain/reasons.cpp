// Failure reasons of the mail DNS checks (see reasons.hpp).
#include "probes/mail_domain/reasons.hpp"

namespace tierwatch {

namespace {

constexpr std::array<std::string_view, mail_dns_reason_count> reason_names{
    "dns_error",
    "no_mx",
    "mx_unexpected",
    "spf_missing",
    "spf_invalid",
    "spf_too_many_lookups",
    "spf_not_covered",
    "dmarc_missing",
    "dmarc_invalid",
    "dkim_missing",
    "dkim_invalid",
    "dkim_revoked",
    "dkim_weak_key",
    "mta_sts_missing",
    "mta_sts_invalid",
    "mta_sts_fetch",
    "mta_sts_mx_mismatch",
    "tlsrpt_missing",
    "tlsrpt_invalid",
    "tlsa_missing",
    "tlsa_mismatch",
    "tlsa_next_key_missing",
    "dnssec",
};

constexpr std::array<MailDnsReason, mail_dns_reason_count> make_all() {
    std::array<MailDnsReason, mail_dns_reason_count> all{};
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<MailDnsReason>(i);
    return all;
}

}  // namespace

std::string_view to_string(RecordState state) noexcept {
    switch (state) {
        case RecordState::ok:
            return "ok";
        case RecordState::warning:
            return "warning";
        case RecordState::critical:
            return "critical";
    }
    return "?";
}

std::string_view to_string(MailDnsReason reason) noexcept {
    const auto index = static_cast<std::size_t>(reason);
    return index < reason_names.size() ? reason_names[index] : "?";
}

std::optional<MailDnsReason> parse_mail_dns_reason(std::string_view name) noexcept {
    for (std::size_t i = 0; i < reason_names.size(); ++i) {
        if (reason_names[i] == name) return static_cast<MailDnsReason>(i);
    }
    return std::nullopt;
}

const std::array<MailDnsReason, mail_dns_reason_count>& all_mail_dns_reasons() noexcept {
    static constexpr auto all = make_all();
    return all;
}

RecordState default_state(MailDnsReason reason) noexcept {
    switch (reason) {
        case MailDnsReason::no_mx:
        case MailDnsReason::spf_too_many_lookups:
        case MailDnsReason::spf_not_covered:
        case MailDnsReason::mta_sts_mx_mismatch:
        case MailDnsReason::tlsa_mismatch:
            return RecordState::critical;
        default:
            return RecordState::warning;
    }
}

}  // namespace tierwatch
