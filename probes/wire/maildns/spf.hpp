// SPF (RFC 7208): the record parser, its canonical text, and the evaluator that answers "is this
// address covered by the domain's SPF" as a resumable state machine: it names the DNS lookup it
// needs, the caller resolves it and feeds the answer back, until a result with its detail.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "probes/wire/maildns/address.hpp"
#include "probes/wire/maildns/lookup.hpp"
#include "probes/wire/maildns/text.hpp"

namespace tierwatch {

enum class SpfQualifier : char { pass = '+', fail = '-', softfail = '~', neutral = '?' };

enum class SpfMechanismKind : std::uint8_t { all, include, a, mx, ptr, ip4, ip6, exists };

struct SpfMechanism {
    SpfQualifier qualifier = SpfQualifier::pass;
    SpfMechanismKind kind = SpfMechanismKind::all;
    std::string domain;  // the domain-spec as written (macros unexpanded); empty = current domain
    IpAddress network;   // ip4 / ip6
    std::optional<unsigned> cidr4;  // ip4, a, mx: "/n"
    std::optional<unsigned> cidr6;  // ip6: "/n"; a, mx: "//n"
    bool operator==(const SpfMechanism&) const = default;
};

struct SpfModifier {
    std::string name;   // lower case
    std::string value;  // as written
    bool operator==(const SpfModifier&) const = default;
};

struct SpfRecord {
    std::vector<SpfMechanism> mechanisms;  // in evaluation order
    std::optional<std::string> redirect;   // redirect=domain-spec
    std::optional<std::string> exp;        // exp=domain-spec
    std::vector<SpfModifier> unknown;      // other modifiers, ignored as RFC 7208 §6 says
    bool operator==(const SpfRecord&) const = default;
};

// "v=spf1" (any case) then terms separated by spaces. Errors name the term by its position and
// text: an unknown mechanism, a bad qualifier, CIDR length or address, a domain-spec without a
// top label or with bad macro syntax, redirect= or exp= twice. Macros (%{i}, %{d2r}, %%, %_, %-)
// are accepted and kept for the evaluator to expand.
Parsed<SpfRecord> parse_spf(std::string_view text);

// The record in canonical form: "v=spf1", mechanisms in order with their qualifier only when it is
// not '+', then redirect, exp and the unknown modifiers. Parsing it gives the same SpfRecord.
std::string to_string(const SpfRecord& record);
std::string to_string(const SpfMechanism& mechanism);  // one term, as to_string(record) writes it

// Checks the macro-string syntax of RFC 7208 §7.1 and, when it ends in no macro, that it ends in a
// top label. Empty string when good, else what is wrong.
std::string check_domain_spec(std::string_view spec);

// --- evaluation ---------------------------------------------------------------------------

enum class SpfVerdict : std::uint8_t { none, neutral, pass, fail, softfail, temperror, permerror };
std::string_view to_string(SpfVerdict verdict) noexcept;

// Why a permerror or none, so the caller can name a failure reason without reading the sentence.
enum class SpfProblem : std::uint8_t {
    none,
    no_record,         // the domain (or a redirect target) publishes no SPF record
    multiple_records,  // more than one "v=spf1" record
    syntax,            // a record does not parse
    too_many_lookups,  // more than the limit of DNS-querying terms
    too_many_void_lookups,
    missing_include,  // include: target has no SPF record or does not exist
    too_many_mx,      // an mx term's host has more than 10 MX records
    dns_error,        // temperror
};

struct SpfLimits {
    std::size_t dns_lookups = 10;  // RFC 7208 §4.6.4
    std::size_t void_lookups = 2;
    std::size_t mx_or_ptr_names = 10;  // address lookups per mx / ptr term
};

struct SpfResult {
    SpfVerdict verdict = SpfVerdict::neutral;
    SpfProblem problem = SpfProblem::none;
    std::string detail;     // which term of which domain matched, or why nothing did, or the error
    std::string mechanism;  // the matching term as to_string(SpfMechanism) writes it; empty if none
    std::string domain;     // the domain whose record holds that term (or the failing record)
    std::size_t lookups = 0;  // DNS-querying terms evaluated
    std::size_t void_lookups = 0;
    std::size_t queries = 0;  // every query asked, TXT and address lookups included
};

// Evaluates check_host(address, domain) of RFC 7208 §4. Usage:
//   SpfEvaluator spf(domain, address);
//   while (!spf.done()) spf.feed(resolve(spf.query()));
//   spf.result();
// The sender for %{s} %{l} %{o} is postmaster@domain, %{h} is the domain: the question is whether
// the address is covered, not a real message's check.
class SpfEvaluator {
public:
    SpfEvaluator(std::string domain, IpAddress address, SpfLimits limits = {});

    bool done() const noexcept { return done_; }
    const MailDnsQuery& query() const noexcept { return query_; }  // while !done()
    void feed(const MailDnsAnswer& answer);  // answers query(); ignored once done
    const SpfResult& result() const noexcept { return result_; }  // once done()

private:
    struct Frame {
        enum class Role : std::uint8_t { top, include, redirect };
        std::string domain;
        Role role = Role::top;
        SpfRecord record;
        std::size_t next = 0;  // index of the next mechanism to evaluate
        bool loaded = false;
    };
    enum class Wait : std::uint8_t { txt, term, term_names, term_addresses };

    void run();  // advances until a query is needed or the end
    bool load_record(const MailDnsAnswer& answer);
    void evaluate_term();  // the current frame's next mechanism
    void term_matched(bool matched, std::string inner = {});
    void next_name();  // resolves the next mx / ptr name, or decides the term
    bool covers(const MailDnsAnswer& answer, bool exact) const;  // an address answer holds ours
    void finish_frame(SpfVerdict verdict, const std::string& detail);
    void finish(SpfVerdict verdict, SpfProblem problem, std::string detail);
    bool count_lookup();  // false (and finished) when over the limit
    bool count_void(const MailDnsAnswer& answer);
    void ask(std::string name, MailDnsType type);
    std::optional<std::string> target(const std::string& spec);  // expanded, or finished
    std::string expand(std::string_view spec, const std::string& domain) const;
    const SpfMechanism& term() const { return stack_.back().record.mechanisms[stack_.back().next]; }

    std::string domain_;
    IpAddress address_;
    SpfLimits limits_;
    std::vector<Frame> stack_;
    Wait wait_ = Wait::txt;
    MailDnsQuery query_;
    std::vector<std::string> pending_names_;  // mx / ptr names still to resolve
    std::vector<std::string> ptr_validated_;  // ptr names whose addresses include ours
    std::string target_;                      // the current term's expanded domain
    bool done_ = false;
    bool asked_ = false;
    SpfResult result_;
};

}  // namespace tierwatch
