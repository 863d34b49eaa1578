// The mail_domain prober: the evaluator's DNS questions through DnsProbe, its policy fetch
// through ProbeSession and the shared HTTP response reader.
#include "probes/mail_domain/mail_domain.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/write.hpp>

#include "probes/http/http.hpp"
#include "probes/http/http_response.hpp"
#include "probes/mail_domain/domain_evaluator.hpp"
#include "probes/net/connection.hpp"
#include "probes/net/dns_probe.hpp"
#include "probes/net/use_tuple.hpp"
#include "probes/wire/maildns/dkim.hpp"
#include "probes/wire/printable.hpp"
#include "probes/wire/url.hpp"

namespace tierwatch {

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

// RFC 8461 sets no size; real policies are a few hundred bytes.
constexpr HttpLimits policy_limits{16 * 1024, 64 * 1024};

MtaStsFetch fetch_failed(std::string why) { return MtaStsFetch{false, {}, std::move(why)}; }

MtaStsFetch session_failed(ProbeSession& session) {
    ProbeResult result = session.finish();
    return fetch_failed(std::string(to_string(result.reason)) + (result.detail.empty() ? "" : ": " + result.detail));
}

// The first address of `host` (A, then AAAA), or why there is none.
asio::awaitable<std::optional<boost::asio::ip::address>> policy_address(const std::string& host, DnsProbe& dns,
                                                                        std::string& why) {
    for (const DnsType type : {DnsType::a, DnsType::aaaa}) {
        const DnsAnswer answer = co_await dns.query(host, type);
        if (!answer.ok()) {
            why = host + ": " + answer.error;
            co_return std::nullopt;
        }
        if (!answer.message.rcode_is(DnsRcode::noerror)) {
            why = host + ": " + dns_rcode_name(answer.message.rcode);
            co_return std::nullopt;
        }
        for (const DnsRecord* record : answer.message.answers_of(type)) {
            boost::system::error_code error;
            const auto address = boost::asio::ip::make_address(address_text(record->address), error);
            if (!error) co_return address;
        }
    }
    why = host + ": no A or AAAA record";
    co_return std::nullopt;
}

// GET the policy over HTTPS with the check's TLS settings (the certificate verified against
// mta-sts.<domain>), under what is left of the probe's deadline.
asio::awaitable<MtaStsFetch> fetch_policy(const std::string& url, const ProbeRequest& target, ProbeContext& context,
                                          DnsProbe& dns) {
    const UrlSplit split = split_url(url);
    const std::string host(split.parts.host);
    const std::string path(split.parts.path);
    std::string why;
    const auto address = co_await policy_address(host, dns, why);
    if (!address) co_return fetch_failed(why);
    const auto left = std::chrono::duration_cast<Duration>(dns.deadline - std::chrono::steady_clock::now());
    ProbeRequest request = target;
    request.address = *address;
    request.server_name = host;
    request.deadline = std::max(left, Duration(0));
    request.tls_session = nullptr;
    ProbeSession session(request, context);
    // Named locals: GCC 12 mis-compiles co_await in conditions (probes/mail/mail_session.hpp).
    bool ready = co_await session.connect();
    if (ready) ready = co_await session.start_tls();
    if (!ready) co_return session_failed(session);
    session.begin(Phase::command);
    const auto get = make_http_request(http::verb::get, path, host);
    auto [write_error, written] = co_await http::async_write(session.stream(), get, use_tuple);
    if (write_error) {
        session.fail_io(write_error);
        co_return session_failed(session);
    }
    auto read = co_await read_http_response(session.stream(), policy_limits);
    if (read.error == HttpReadError::io) {
        session.fail_io(read.code);
        co_return session_failed(session);
    }
    if (read.error != HttpReadError::none) {
        co_return fetch_failed("https://" + host + path + ": unreadable response (" + read.code.message() + ")");
    }
    const int status = static_cast<int>(read.response.result_int());
    // RFC 8461 §3.3: only a 200 is a policy; a redirect must not be followed.
    if (status != 200) {
        co_return fetch_failed("https://" + host + path + " answered HTTP " + std::to_string(status) + " " +
                               printable_excerpt(read.response.reason()));
    }
    co_return MtaStsFetch{true, std::move(read.response.body()), {}};
}

// The answers of one probe by question: asked once, however many MTAs' SPF evaluations need them.
class AnswerCache {
public:
    const DnsAnswer* find(const MailDnsQuery& query) const {
        for (const auto& [asked, answer] : answers_) {
            if (asked == query) return &answer;
        }
        return nullptr;
    }
    void add(MailDnsQuery query, DnsAnswer answer) { answers_.emplace_back(std::move(query), std::move(answer)); }

private:
    std::vector<std::pair<MailDnsQuery, DnsAnswer>> answers_;  // a few dozen at most: a list will do
};

// Every query at once under the probe's deadline; their common wall time is the command phase's.
asio::awaitable<void> ask_together(const std::vector<MailDnsQuery>& queries, DnsProbe& dns, AnswerCache& cache) {
    const auto executor = co_await asio::this_coro::executor;
    const auto sent = std::chrono::steady_clock::now();
    using Query = decltype(asio::co_spawn(executor, dns.client().query({}, DnsType::a), asio::deferred));
    std::vector<Query> sending;
    for (const MailDnsQuery& query : queries) {
        sending.push_back(asio::co_spawn(
            executor, dns.client().query(query.name, dns_type(query.type), {}, dns.deadline), asio::deferred));
    }
    auto [order, exceptions, answers] = co_await asio::experimental::make_parallel_group(std::move(sending))
                                            .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
    dns.result().add_phase(Phase::command, std::chrono::steady_clock::now() - sent);
    for (std::size_t i = 0; i < queries.size(); ++i) {
        if (exceptions[i]) std::rethrow_exception(exceptions[i]);  // probe_target reports it as `protocol`
        cache.add(queries[i], std::move(answers[i]));
    }
}

}  // namespace

std::vector<MailDnsQuery> independent_queries(const MailDomainSettings& settings) {
    const std::string& domain = settings.domain;
    std::vector<MailDnsQuery> queries{{domain, MailDnsType::mx}, {domain, MailDnsType::txt},
                                      {"_dmarc." + domain, MailDnsType::txt}};
    for (const std::string& selector : settings.dkim_selectors) {
        queries.push_back({dkim_key_name(selector, domain), MailDnsType::txt});
    }
    if (settings.mta_sts) queries.push_back({"_mta-sts." + domain, MailDnsType::txt});
    if (settings.tls_rpt) queries.push_back({"_smtp._tls." + domain, MailDnsType::txt});
    return queries;
}

DnsType dns_type(MailDnsType type) noexcept {
    switch (type) {
        case MailDnsType::txt: return DnsType::txt;
        case MailDnsType::a: return DnsType::a;
        case MailDnsType::aaaa: return DnsType::aaaa;
        case MailDnsType::mx: return DnsType::mx;
        case MailDnsType::ptr: return DnsType::ptr;
    }
    return DnsType::txt;
}

MailDnsAnswer mail_dns_answer(const DnsAnswer& answer, MailDnsType type) {
    MailDnsAnswer out;
    if (!answer.ok()) {
        out.status = MailDnsAnswer::Status::error;
        out.error_detail = answer.error;
        return out;
    }
    const DnsMessage& message = answer.message;
    out.authentic = message.authentic_data;  // a validated NXDOMAIN is authenticated denial
    if (message.rcode_is(DnsRcode::nxdomain)) {
        out.status = MailDnsAnswer::Status::nxdomain;
        return out;
    }
    if (!message.rcode_is(DnsRcode::noerror)) {
        out.status = MailDnsAnswer::Status::error;
        out.error_detail = dns_rcode_name(message.rcode);
        return out;
    }
    for (const DnsRecord* record : message.answers_of(dns_type(type))) {
        switch (type) {
            case MailDnsType::txt: out.txt.push_back(record->texts); break;
            case MailDnsType::a:
            case MailDnsType::aaaa: {
                IpAddress address;
                address.v6 = record->address.size() == 16;
                std::copy_n(record->address.begin(), std::min(record->address.size(), address.bytes.size()),
                            address.bytes.begin());
                out.addresses.push_back(address);
                break;
            }
            case MailDnsType::mx: out.mx.push_back(MxHost{record->preference, record->target}); break;
            case MailDnsType::ptr: out.names.push_back(record->target); break;
        }
    }
    return out;
}

void report_verdict(const DomainVerdict& verdict, ProbeResult& result) {
    for (const RecordVerdict& record : verdict.records) {
        const std::string name = record.name();
        result.measurements.push_back({&mail_domain_record_measurement, static_cast<double>(record.state), name});
        if (record.ok()) continue;
        std::string line = name;
        if (record.reason) line += " " + std::string(to_string(*record.reason));
        if (!record.detail.empty()) line += ": " + record.detail;
        result.detail += (result.detail.empty() ? "" : "; ") + line;
    }
}

asio::awaitable<ProbeResult> probe_mail_domain(const ProbeRequest& target, const MailDomainSettings& settings, ProbeContext& context) {
    DnsProbe dns(target, context);
    AnswerCache cache;
    const std::vector<MailDnsQuery> ahead = independent_queries(settings);
    co_await ask_together(ahead, dns, cache);
    MailDomainEvaluator evaluator(settings);
    while (evaluator.need() != MailDomainEvaluator::Need::done) {
        if (evaluator.need() == MailDomainEvaluator::Need::policy) {
            const std::string url = evaluator.policy_url();
            const MtaStsFetch fetched = co_await fetch_policy(url, target, context, dns);
            evaluator.feed_policy(fetched);
            continue;
        }
        const MailDnsQuery query = evaluator.query();
        if (const DnsAnswer* known = cache.find(query)) {
            evaluator.feed(mail_dns_answer(*known, query.type));
            continue;
        }
        DnsAnswer answer = co_await dns.query(query.name, dns_type(query.type));
        evaluator.feed(mail_dns_answer(answer, query.type));
        cache.add(query, std::move(answer));
    }
    report_verdict(evaluator.verdict(), dns.result());
    std::string detail = std::move(dns.result().detail);
    co_return dns.finish(FailureReason::none, std::move(detail));
}

}  // namespace tierwatch
