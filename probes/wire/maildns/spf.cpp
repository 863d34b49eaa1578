// SPF record parser and check_host() evaluator (see spf.hpp).
#include "probes/wire/maildns/spf.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

#include "probes/wire/ascii.hpp"

namespace tierwatch {

namespace {

constexpr std::string_view mechanism_names[] = {"all", "include", "a",   "mx",
                                                "ptr", "ip4",     "ip6", "exists"};

bool is_delimiter(char c) noexcept {
    return std::string_view(".-+,/_=").find(c) != std::string_view::npos;
}

std::string_view name_of(SpfMechanismKind kind) {
    return mechanism_names[static_cast<std::size_t>(kind)];
}

// RFC 7208's ip4-cidr-length / ip6-cidr-length digits: "0" or no leading zero, at most `max`.
std::optional<unsigned> parse_cidr(std::string_view digits, unsigned max) {
    if (digits.empty() || digits.size() > 3 || (digits.size() > 1 && digits.front() == '0'))
        return std::nullopt;
    unsigned value = 0;
    for (char c : digits) {
        if (!is_digit(c)) return std::nullopt;
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value > max) return std::nullopt;
    return value;
}

bool is_toplabel(std::string_view label) {
    if (label.empty() || label.front() == '-' || label.back() == '-') return false;
    bool alpha = false, hyphen = false;
    for (char c : label) {
        if (c == '-') {
            hyphen = true;
        } else if (is_alpha(c)) {
            alpha = true;
        } else if (!is_digit(c)) {
            return false;
        }
    }
    return alpha || hyphen;
}

// Macro syntax of RFC 7208 §7.1; `explain` admits the c, r and t letters of explanation text.
std::string check_macro_string(std::string_view spec, bool explain, bool* ends_in_macro) {
    *ends_in_macro = false;
    for (std::size_t i = 0; i < spec.size(); ++i) {
        const auto byte = static_cast<unsigned char>(spec[i]);
        *ends_in_macro = false;
        if (spec[i] != '%') {
            if (byte < 0x21 || byte > 0x7e) return "a byte outside printable ASCII";
            continue;
        }
        if (i + 1 >= spec.size()) return "a '%' that starts no macro";
        const char next = spec[i + 1];
        if (next == '%' || next == '_' || next == '-') {
            ++i;
            *ends_in_macro = true;
            continue;
        }
        if (next != '{') return "'%" + std::string(1, next) + "' is not a macro (write %% for '%')";
        const std::size_t close = spec.find('}', i + 2);
        if (close == std::string_view::npos) return "a macro '%{' without '}'";
        const std::string_view body = spec.substr(i + 2, close - i - 2);
        if (body.empty()) return "an empty macro '%{}'";
        const char letter = static_cast<char>(body.front() | 0x20);
        const std::string_view letters = explain ? "slodiphcrtv" : "slodiphv";
        if (!is_alpha(body.front()) || letters.find(letter) == std::string_view::npos) {
            return "macro " + quote(spec.substr(i, close - i + 1)) + " has no valid letter" +
                   (explain ? "" : " (c, r and t are only for explanation text)");
        }
        std::size_t j = 1;
        std::size_t digits_start = j;
        while (j < body.size() && is_digit(body[j])) ++j;
        if (j > digits_start) {
            const std::string_view digits = body.substr(digits_start, j - digits_start);
            if (digits.size() > 3 ||
                std::all_of(digits.begin(), digits.end(), [](char c) { return c == '0'; })) {
                return "macro " + quote(spec.substr(i, close - i + 1)) +
                       " keeps zero or too many parts";
            }
        }
        if (j < body.size() && (body[j] == 'r' || body[j] == 'R')) ++j;
        while (j < body.size() && is_delimiter(body[j])) ++j;
        if (j != body.size())
            return "macro " + quote(spec.substr(i, close - i + 1)) + " has a bad transformer";
        i = close;
        *ends_in_macro = true;
    }
    return {};
}

SpfVerdict verdict_of(SpfQualifier qualifier) noexcept {
    switch (qualifier) {
        case SpfQualifier::pass:
            return SpfVerdict::pass;
        case SpfQualifier::fail:
            return SpfVerdict::fail;
        case SpfQualifier::softfail:
            return SpfVerdict::softfail;
        case SpfQualifier::neutral:
            return SpfVerdict::neutral;
    }
    return SpfVerdict::neutral;
}

// Parses one directive (qualifier and mechanism); returns the error, empty when good.
std::string parse_directive(std::string_view term, SpfMechanism& out) {
    if (!term.empty() && std::string_view("+-~?").find(term.front()) != std::string_view::npos) {
        out.qualifier = static_cast<SpfQualifier>(term.front());
        term.remove_prefix(1);
    }
    const std::size_t name_end = std::min(term.find(':'), term.find('/'));
    const std::string_view name = term.substr(0, name_end);
    std::string_view rest =
        name_end == std::string_view::npos ? std::string_view() : term.substr(name_end);
    std::size_t kind = 0;
    while (kind < std::size(mechanism_names) && !iequals(name, mechanism_names[kind])) ++kind;
    if (kind == std::size(mechanism_names)) return "unknown mechanism " + quote(name);
    out.kind = static_cast<SpfMechanismKind>(kind);
    const std::string mech(name_of(out.kind));
    auto domain_spec = [&](std::string_view spec) -> std::string {
        if (spec.empty()) return mech + ": an empty domain after ':'";
        if (std::string why = check_domain_spec(spec); !why.empty()) return mech + ": " + why;
        out.domain = std::string(spec);
        return {};
    };
    switch (out.kind) {
        case SpfMechanismKind::all:
            return rest.empty() ? std::string() : "all takes no argument";
        case SpfMechanismKind::include:
        case SpfMechanismKind::exists:
            if (!rest.starts_with(':')) return mech + " needs ':domain'";
            // A '/' is a literal character of these domain-specs (no CIDR length).
            return domain_spec(term.substr(name_end + 1));
        case SpfMechanismKind::ptr:
            if (rest.empty()) return {};
            if (!rest.starts_with(':')) return "ptr takes no CIDR length";
            return domain_spec(term.substr(name_end + 1));
        case SpfMechanismKind::a:
        case SpfMechanismKind::mx: {
            if (rest.starts_with(':')) {
                const std::size_t slash = rest.find('/');
                if (std::string why = domain_spec(
                        rest.substr(1, slash == std::string_view::npos ? slash : slash - 1));
                    !why.empty()) {
                    return why;
                }
                rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
            }
            if (rest.empty()) return {};
            // dual-cidr-length: "/n", "//m" or "/n//m".
            const std::size_t dual = rest.find("//");
            const std::string_view four = rest.substr(0, dual);
            if (!four.empty()) {
                out.cidr4 = parse_cidr(four.substr(1), 32);
                if (!out.cidr4)
                    return mech + ": " + quote(four) + " is not an IPv4 CIDR length (0-32)";
            }
            if (dual != std::string_view::npos) {
                out.cidr6 = parse_cidr(rest.substr(dual + 2), 128);
                if (!out.cidr6)
                    return mech + ": " + quote(rest.substr(dual)) +
                           " is not an IPv6 CIDR length (//0-128)";
            }
            return {};
        }
        case SpfMechanismKind::ip4:
        case SpfMechanismKind::ip6: {
            const bool v6 = out.kind == SpfMechanismKind::ip6;
            if (!rest.starts_with(':')) return mech + " needs ':address'";
            std::string_view value = rest.substr(1);
            const std::size_t slash = value.find('/');
            const std::string_view address = value.substr(0, slash);
            const auto parsed = v6 ? parse_ipv6(address) : parse_ipv4(address);
            if (!parsed)
                return mech + ": " + quote(address) + " is not an " + (v6 ? "IPv6" : "IPv4") +
                       " address";
            out.network = *parsed;
            if (slash != std::string_view::npos) {
                auto& cidr = v6 ? out.cidr6 : out.cidr4;
                cidr = parse_cidr(value.substr(slash + 1), v6 ? 128 : 32);
                if (!cidr) {
                    return mech + ": " + quote(value.substr(slash)) + " is not a CIDR length (0-" +
                           (v6 ? "128" : "32") + ")";
                }
            }
            return {};
        }
    }
    return {};
}

}  // namespace

std::string check_domain_spec(std::string_view spec) {
    bool ends_in_macro = false;
    if (std::string why = check_macro_string(spec, false, &ends_in_macro); !why.empty()) return why;
    if (ends_in_macro) return {};
    std::string_view name = spec;
    if (name.ends_with('.')) name.remove_suffix(1);
    const std::size_t dot = name.rfind('.');
    if (dot == std::string_view::npos) return quote(spec) + " is not a domain: it has no '.'";
    if (!is_toplabel(name.substr(dot + 1)))
        return quote(spec) + " does not end in a top-level label";
    return {};
}

Parsed<SpfRecord> parse_spf(std::string_view text) {
    Parsed<SpfRecord> out;
    constexpr std::string_view version = "v=spf1";
    if (!istarts_with(text, version) ||
        (text.size() > version.size() && text[version.size()] != ' ')) {
        out.error = "the record does not start with \"v=spf1 \"";
        return out;
    }
    std::size_t position = 0;
    for (std::string_view term : split(text.substr(version.size()), ' ')) {
        if (term.empty()) continue;  // terms are separated by one or more spaces
        ++position;
        const std::string where = "term " + std::to_string(position) + " " + quote(term) + ": ";
        const std::size_t mark = term.find_first_of(":/=");
        const bool modifier =
            mark != std::string_view::npos && term[mark] == '=' && mark > 0 &&
            is_alpha(term.front()) &&
            std::all_of(term.begin(), term.begin() + static_cast<std::ptrdiff_t>(mark),
                        [](char c) { return is_alnum(c) || c == '-' || c == '_' || c == '.'; });
        if (modifier) {
            SpfModifier mod{to_lower(term.substr(0, mark)), std::string(term.substr(mark + 1))};
            const bool known = mod.name == "redirect" || mod.name == "exp";
            bool ends_in_macro = false;
            // RFC 7208's grammar lets an unknown modifier's macro-string use every macro letter.
            const std::string why =
                known ? (mod.value.empty() ? "an empty domain" : check_domain_spec(mod.value))
                      : check_macro_string(mod.value, true, &ends_in_macro);
            if (!why.empty()) {
                out.error = where + why;
                return out;
            }
            std::optional<std::string>* slot = mod.name == "redirect" ? &out.value.redirect
                                               : mod.name == "exp"    ? &out.value.exp
                                                                      : nullptr;
            if (slot == nullptr) {
                out.value.unknown.push_back(std::move(mod));
            } else if (slot->has_value()) {
                out.error = where + mod.name + "= appears twice";
                return out;
            } else {
                *slot = std::move(mod.value);
            }
            continue;
        }
        SpfMechanism mechanism;
        if (std::string why = parse_directive(term, mechanism); !why.empty()) {
            out.error = where + why;
            return out;
        }
        out.value.mechanisms.push_back(std::move(mechanism));
    }
    return out;
}

std::string to_string(const SpfMechanism& m) {
    std::string out;
    if (m.qualifier != SpfQualifier::pass) out += static_cast<char>(m.qualifier);
    out += name_of(m.kind);
    if (m.kind == SpfMechanismKind::ip4 || m.kind == SpfMechanismKind::ip6) {
        out += ':' + to_string(m.network);
        const auto& cidr = m.kind == SpfMechanismKind::ip4 ? m.cidr4 : m.cidr6;
        if (cidr) out += '/' + std::to_string(*cidr);
        return out;
    }
    if (!m.domain.empty()) out += ':' + m.domain;
    if (m.cidr4) out += '/' + std::to_string(*m.cidr4);
    if (m.cidr6) out += "//" + std::to_string(*m.cidr6);
    return out;
}

std::string to_string(const SpfRecord& record) {
    std::string out = "v=spf1";
    for (const SpfMechanism& m : record.mechanisms) out += ' ' + to_string(m);
    if (record.redirect) out += " redirect=" + *record.redirect;
    if (record.exp) out += " exp=" + *record.exp;
    for (const SpfModifier& mod : record.unknown) out += ' ' + mod.name + '=' + mod.value;
    return out;
}

std::string_view to_string(SpfVerdict verdict) noexcept {
    switch (verdict) {
        case SpfVerdict::none:
            return "none";
        case SpfVerdict::neutral:
            return "neutral";
        case SpfVerdict::pass:
            return "pass";
        case SpfVerdict::fail:
            return "fail";
        case SpfVerdict::softfail:
            return "softfail";
        case SpfVerdict::temperror:
            return "temperror";
        case SpfVerdict::permerror:
            return "permerror";
    }
    return "?";
}

// --- evaluator ------------------------------------------------------------------------------

SpfEvaluator::SpfEvaluator(std::string domain, IpAddress address, SpfLimits limits)
    : domain_(std::move(domain)), address_(address), limits_(limits) {
    while (domain_.ends_with('.')) domain_.pop_back();
    // RFC 7208 §5: an IPv4-mapped IPv6 address (::ffff:a.b.c.d) is checked as the IPv4 address.
    static constexpr std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (address_.v6 && std::equal(std::begin(mapped), std::end(mapped), address_.bytes.begin())) {
        IpAddress v4;
        std::copy(address_.bytes.begin() + 12, address_.bytes.end(), v4.bytes.begin());
        address_ = v4;
    }
    stack_.push_back(Frame{domain_, Frame::Role::top, {}, 0, false});
    ask(domain_, MailDnsType::txt);
    wait_ = Wait::txt;
}

void SpfEvaluator::ask(std::string name, MailDnsType type) {
    while (name.ends_with('.')) name.pop_back();
    query_ = MailDnsQuery{std::move(name), type};
    ++result_.queries;
    asked_ = true;
}

void SpfEvaluator::finish(SpfVerdict verdict, SpfProblem problem, std::string detail) {
    result_.verdict = verdict;
    result_.problem = problem;
    result_.detail = std::move(detail);
    done_ = true;
}

bool SpfEvaluator::count_lookup() {
    const Frame& frame = stack_.back();
    const std::string what = frame.next < frame.record.mechanisms.size()
                                 ? to_string(term())
                                 : "redirect=" + frame.record.redirect.value_or("");
    if (result_.lookups >= limits_.dns_lookups) {
        finish(SpfVerdict::permerror, SpfProblem::too_many_lookups,
               "more than " + std::to_string(limits_.dns_lookups) + " DNS lookups (the next is " +
                   what + " in " + frame.domain + ")");
        result_.domain = frame.domain;
        return false;
    }
    ++result_.lookups;
    return true;
}

bool SpfEvaluator::count_void(const MailDnsAnswer& answer) {
    const bool empty =
        answer.txt.empty() && answer.addresses.empty() && answer.mx.empty() && answer.names.empty();
    if (answer.status != MailDnsAnswer::Status::nxdomain && !empty) return true;
    if (++result_.void_lookups > limits_.void_lookups) {
        finish(SpfVerdict::permerror, SpfProblem::too_many_void_lookups,
               "more than " + std::to_string(limits_.void_lookups) + " void lookups (the last: " +
                   std::string(to_string(query_.type)) + " " + query_.name + ")");
        result_.domain = stack_.back().domain;
        return false;
    }
    return true;
}

std::string SpfEvaluator::expand(std::string_view spec, const std::string& domain) const {
    std::string out;
    for (std::size_t i = 0; i < spec.size(); ++i) {
        if (spec[i] != '%') {
            out += spec[i];
            continue;
        }
        const char next = spec[++i];
        if (next == '%') {
            out += '%';
            continue;
        }
        if (next == '_') {
            out += ' ';
            continue;
        }
        if (next == '-') {
            out += "%20";
            continue;
        }
        const std::size_t close = spec.find('}', i);
        const std::string_view body = spec.substr(i + 1, close - i - 1);
        i = close;
        const char letter = static_cast<char>(body.front() | 0x20);
        std::string value;
        switch (letter) {
            case 's':
                value = "postmaster@" + domain_;
                break;
            case 'l':
                value = "postmaster";
                break;
            case 'o':
            case 'h':
                value = domain_;
                break;
            case 'd':
                value = domain;
                break;
            case 'v':
                value = address_.v6 ? "ip6" : "in-addr";
                break;
            case 'p':
                value = "unknown";
                break;  // RFC 7208 §7.3: what a lookup-free checker writes
            case 'i': {
                if (!address_.v6) {
                    value = to_string(address_);
                } else {
                    const std::string reversed = dotted_labels(address_);
                    value.assign(reversed.rbegin(), reversed.rend());
                }
                break;
            }
            default:
                break;  // c, r, t: only in explanation text, refused by the parser here
        }
        std::size_t j = 1;
        std::size_t keep = 0;
        while (j < body.size() && body[j] >= '0' && body[j] <= '9')
            keep = keep * 10 + static_cast<std::size_t>(body[j++] - '0');
        bool reverse = false;
        if (j < body.size() && (body[j] | 0x20) == 'r') {
            reverse = true;
            ++j;
        }
        const std::string_view delimiters =
            j < body.size() ? body.substr(j) : std::string_view(".");
        std::vector<std::string> parts(1);
        for (char c : value) {
            if (delimiters.find(c) != std::string_view::npos) {
                parts.emplace_back();
            } else {
                parts.back() += c;
            }
        }
        if (reverse) std::reverse(parts.begin(), parts.end());
        if (keep > 0 && keep < parts.size())
            parts.erase(parts.begin(), parts.end() - static_cast<std::ptrdiff_t>(keep));
        std::string joined;
        for (std::size_t p = 0; p < parts.size(); ++p) joined += (p ? "." : "") + parts[p];
        if (body.front() >= 'A' && body.front() <= 'Z') {  // upper-case letter: URL-escaped
            std::string escaped;
            static constexpr char hex[] = "0123456789ABCDEF";
            for (unsigned char c : joined) {
                if (std::isalnum(c) ||
                    std::string_view("-._~").find(static_cast<char>(c)) != std::string_view::npos) {
                    escaped += static_cast<char>(c);
                } else {
                    escaped += '%';
                    escaped += hex[c >> 4];
                    escaped += hex[c & 0xf];
                }
            }
            joined = std::move(escaped);
        }
        out += joined;
    }
    // RFC 7208 §7.3: an expansion over 253 characters loses labels from the left.
    while (out.size() > 253) {
        const std::size_t dot = out.find('.');
        if (dot == std::string::npos) {
            out = out.substr(out.size() - 253);
            break;
        }
        out.erase(0, dot + 1);
    }
    return out;
}

std::optional<std::string> SpfEvaluator::target(const std::string& spec) {
    const std::string& domain = stack_.back().domain;
    if (spec.empty()) return domain;
    std::string expanded = expand(spec, domain);
    while (expanded.ends_with('.')) expanded.pop_back();
    if (expanded.empty()) {
        finish(SpfVerdict::permerror, SpfProblem::syntax,
               quote(spec) + " in " + domain + " expands to nothing");
        result_.domain = domain;
        return std::nullopt;
    }
    return expanded;
}

bool SpfEvaluator::load_record(const MailDnsAnswer& answer) {
    Frame& frame = stack_.back();
    result_.domain = frame.domain;
    if (answer.status == MailDnsAnswer::Status::error) {
        finish(SpfVerdict::temperror, SpfProblem::dns_error,
               "TXT lookup of " + frame.domain + " failed" +
                   (answer.error_detail.empty() ? "" : ": " + answer.error_detail));
        return false;
    }
    const bool missing = answer.status == MailDnsAnswer::Status::nxdomain;
    const std::vector<std::string> records =
        missing ? std::vector<std::string>() : records_with_version(answer.txt, "v=spf1");
    if (records.empty()) {
        const std::string why =
            frame.domain + (missing ? " does not exist" : " publishes no SPF record");
        switch (frame.role) {
            case Frame::Role::top:
                finish(SpfVerdict::none, SpfProblem::no_record, why);
                break;
            case Frame::Role::include:
                finish(SpfVerdict::permerror, SpfProblem::missing_include,
                       "include:" + frame.domain + ": " + why);
                break;
            case Frame::Role::redirect:
                finish(SpfVerdict::permerror, SpfProblem::no_record,
                       "redirect=" + frame.domain + ": " + why);
                break;
        }
        return false;
    }
    if (records.size() > 1) {
        finish(SpfVerdict::permerror, SpfProblem::multiple_records,
               frame.domain + " publishes " + std::to_string(records.size()) + " SPF records");
        return false;
    }
    Parsed<SpfRecord> parsed = parse_spf(records.front());
    if (!parsed.ok()) {
        finish(SpfVerdict::permerror, SpfProblem::syntax,
               "SPF record of " + frame.domain + ": " + parsed.error);
        return false;
    }
    frame.record = std::move(parsed.value);
    frame.next = 0;
    frame.loaded = true;
    return true;
}

void SpfEvaluator::finish_frame(SpfVerdict verdict, const std::string& detail) {
    stack_.pop_back();
    if (stack_.empty()) {
        finish(verdict, SpfProblem::none, detail);
        return;
    }
    // Back in the record that holds the include: RFC 7208 §5.2's table.
    term_matched(verdict == SpfVerdict::pass, detail);
}

void SpfEvaluator::term_matched(bool matched, std::string inner) {
    Frame& frame = stack_.back();
    if (!matched) {
        ++frame.next;
        return;
    }
    const std::string text = to_string(term());
    const SpfVerdict verdict = verdict_of(term().qualifier);
    if (stack_.size() == 1) {
        result_.mechanism = text;
        result_.domain = frame.domain;
    }
    finish_frame(verdict, text + " in " + frame.domain + " matched" +
                              (inner.empty() ? "" : " (" + inner + ")"));
}

void SpfEvaluator::evaluate_term() {
    const SpfMechanism m = term();
    switch (m.kind) {
        case SpfMechanismKind::all:
            term_matched(true);
            return;
        case SpfMechanismKind::ip4:
        case SpfMechanismKind::ip6: {
            const bool v6 = m.kind == SpfMechanismKind::ip6;
            term_matched(address_.v6 == v6 &&
                         in_network(address_, m.network, (v6 ? m.cidr6 : m.cidr4).value_or(128)));
            return;
        }
        default:
            break;
    }
    if (!count_lookup()) return;
    std::optional<std::string> name = target(m.domain);
    if (!name) return;
    target_ = *name;
    wait_ = Wait::term;
    switch (m.kind) {
        case SpfMechanismKind::include:
            stack_.push_back(Frame{target_, Frame::Role::include, {}, 0, false});
            wait_ = Wait::txt;
            ask(target_, MailDnsType::txt);
            return;
        case SpfMechanismKind::a:
            ask(target_, address_.v6 ? MailDnsType::aaaa : MailDnsType::a);
            return;
        case SpfMechanismKind::mx:
            ask(target_, MailDnsType::mx);
            return;
        case SpfMechanismKind::ptr:
            ask(reverse_name(address_), MailDnsType::ptr);
            return;
        case SpfMechanismKind::exists:
            ask(target_, MailDnsType::a);
            return;  // A even for IPv6 (§5.7)
        default:
            return;
    }
}

void SpfEvaluator::next_name() {
    if (pending_names_.empty()) {
        if (term().kind == SpfMechanismKind::mx) {
            term_matched(false);
            return;
        }
        // ptr: a validated name that is the target or below it (RFC 7208 §5.5).
        const std::string target = to_lower(target_);
        bool matched = false;
        for (const std::string& name : ptr_validated_) {
            std::string lowered = to_lower(name);
            while (lowered.ends_with('.')) lowered.pop_back();
            if (lowered == target || lowered.ends_with("." + target)) matched = true;
        }
        ptr_validated_.clear();
        term_matched(matched);
        return;
    }
    std::string name = std::move(pending_names_.front());
    pending_names_.erase(pending_names_.begin());
    ask(std::move(name), address_.v6 ? MailDnsType::aaaa : MailDnsType::a);
}

bool SpfEvaluator::covers(const MailDnsAnswer& answer, bool exact) const {
    const SpfMechanism& m = term();
    const unsigned prefix = address_.v6 ? m.cidr6.value_or(128) : m.cidr4.value_or(32);
    return std::any_of(
        answer.addresses.begin(), answer.addresses.end(), [&](const IpAddress& candidate) {
            return exact ? candidate == address_ : in_network(address_, candidate, prefix);
        });
}

void SpfEvaluator::feed(const MailDnsAnswer& answer) {
    if (done_) return;
    asked_ = false;
    switch (wait_) {
        case Wait::txt:
            if (!load_record(answer)) return;
            break;
        case Wait::term: {
            const SpfMechanismKind kind = term().kind;
            if (answer.status == MailDnsAnswer::Status::error && kind != SpfMechanismKind::ptr) {
                finish(SpfVerdict::temperror, SpfProblem::dns_error,
                       std::string(to_string(query_.type)) + " lookup of " + query_.name + " for " +
                           to_string(term()) + " in " + stack_.back().domain + " failed" +
                           (answer.error_detail.empty() ? "" : ": " + answer.error_detail));
                return;
            }
            if (answer.status != MailDnsAnswer::Status::error && !count_void(answer)) return;
            if (kind == SpfMechanismKind::a) {
                term_matched(covers(answer, false));
            } else if (kind == SpfMechanismKind::exists) {
                term_matched(!answer.addresses.empty());
            } else if (kind == SpfMechanismKind::mx) {
                if (answer.mx.size() > limits_.mx_or_ptr_names) {
                    finish(SpfVerdict::permerror, SpfProblem::too_many_mx,
                           to_string(term()) + " in " + stack_.back().domain + ": " + query_.name +
                               " has " + std::to_string(answer.mx.size()) +
                               " MX records, more than " + std::to_string(limits_.mx_or_ptr_names));
                    return;
                }
                pending_names_.clear();
                for (const MxHost& host : answer.mx) {
                    if (!host.exchange.empty() && host.exchange != ".")
                        pending_names_.push_back(host.exchange);
                }
                wait_ = Wait::term_addresses;
                next_name();
            } else {  // ptr: a failed PTR lookup is no match (§5.5)
                pending_names_.assign(
                    answer.names.begin(),
                    answer.names.begin() + static_cast<std::ptrdiff_t>(std::min(
                                               answer.names.size(), limits_.mx_or_ptr_names)));
                ptr_validated_.clear();
                wait_ = Wait::term_names;
                next_name();
            }
            break;
        }
        case Wait::term_addresses:
            if (answer.status == MailDnsAnswer::Status::error) {
                finish(SpfVerdict::temperror, SpfProblem::dns_error,
                       std::string(to_string(query_.type)) + " lookup of MX host " + query_.name +
                           " failed" +
                           (answer.error_detail.empty() ? "" : ": " + answer.error_detail));
                return;
            }
            if (covers(answer, false)) {
                pending_names_.clear();
                term_matched(true, "MX host " + query_.name);
            } else {
                next_name();
            }
            break;
        case Wait::term_names:
            // A name whose address lookup fails is skipped (§5.5).
            if (answer.status == MailDnsAnswer::Status::ok && covers(answer, true))
                ptr_validated_.push_back(query_.name);
            next_name();
            break;
    }
    if (!done_ && !asked_) run();
}

void SpfEvaluator::run() {
    while (!done_) {
        asked_ = false;
        Frame& frame = stack_.back();
        if (frame.next < frame.record.mechanisms.size()) {
            evaluate_term();
            if (asked_) return;
            continue;
        }
        if (frame.record.redirect) {
            if (!count_lookup()) return;
            std::optional<std::string> name = target(*frame.record.redirect);
            if (!name) return;
            // The redirect's record takes this one's place: its result is this record's result.
            frame = Frame{*name, Frame::Role::redirect, {}, 0, false};
            wait_ = Wait::txt;
            ask(*name, MailDnsType::txt);
            return;
        }
        if (stack_.size() == 1) result_.domain = frame.domain;
        finish_frame(SpfVerdict::neutral, "no term of " + frame.domain + " matched " +
                                              to_string(address_) + "; the default is neutral");
    }
}

}  // namespace tierwatch
