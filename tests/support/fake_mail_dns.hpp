// An in-memory DNS for the mail DNS checks: the unit tests and the fuzz harness publish records,
// drive SpfEvaluator to its result and see every query it asked. A name that holds no record
// answers NXDOMAIN; a name that holds records of another type answers NODATA.
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "probes/wire/maildns/spf.hpp"

namespace tierwatch::test {

class FakeMailDns {
public:
    // One TXT record made of the given character-strings.
    FakeMailDns& txt(const std::string& name, TxtStrings strings) {
        entry(name, MailDnsType::txt).txt.push_back(std::move(strings));
        return *this;
    }
    FakeMailDns& spf(const std::string& name, const std::string& record) {
        return txt(name, {record});
    }
    FakeMailDns& address(const std::string& name, const std::string& text) {
        const std::optional<IpAddress> parsed = parse_ip(text);
        entry(name, parsed && parsed->v6 ? MailDnsType::aaaa : MailDnsType::a)
            .addresses.push_back(parsed.value());
        return *this;
    }
    FakeMailDns& mx(const std::string& name, std::uint16_t preference,
                    const std::string& exchange) {
        entry(name, MailDnsType::mx).mx.push_back(MxHost{preference, exchange});
        return *this;
    }
    FakeMailDns& ptr(const std::string& name, const std::string& target) {
        entry(name, MailDnsType::ptr).names.push_back(target);
        return *this;
    }
    // Every query of `name` fails (SERVFAIL, timeout).
    FakeMailDns& fail(const std::string& name) {
        failing_.insert(name);
        return *this;
    }

    // Answers for `name` come without the AD bit (every other answer is validated).
    FakeMailDns& unsigned_name(const std::string& name) {
        unsigned_.insert(name);
        return *this;
    }

    MailDnsAnswer answer(const MailDnsQuery& query) const {
        MailDnsAnswer out = answer_records(query);
        out.authentic = !unsigned_.count(query.name) && out.status != MailDnsAnswer::Status::error;
        return out;
    }

    MailDnsAnswer answer_records(const MailDnsQuery& query) const {
        MailDnsAnswer out;
        if (failing_.count(query.name)) {
            out.status = MailDnsAnswer::Status::error;
            out.error_detail = "SERVFAIL";
            return out;
        }
        if (!names_.count(query.name)) {
            out.status = MailDnsAnswer::Status::nxdomain;
            return out;
        }
        const auto found = records_.find({query.name, query.type});
        if (found != records_.end()) out = found->second;
        return out;
    }

    // Runs the evaluator to its end; `max_queries` bounds a runaway evaluator.
    SpfResult check(const std::string& domain, const IpAddress& address, SpfLimits limits = {},
                    std::size_t max_queries = 10000) {
        asked.clear();
        SpfEvaluator evaluator(domain, address, limits);
        while (!evaluator.done() && asked.size() < max_queries) {
            asked.push_back(evaluator.query());
            evaluator.feed(answer(evaluator.query()));
        }
        return evaluator.result();
    }
    SpfResult check(const std::string& domain, const std::string& address, SpfLimits limits = {}) {
        return check(domain, parse_ip(address).value(), limits);
    }

    std::vector<MailDnsQuery> asked;  // by the last check(), in order

private:
    MailDnsAnswer& entry(const std::string& name, MailDnsType type) {
        names_.insert(name);
        return records_[{name, type}];
    }

    std::map<std::pair<std::string, MailDnsType>, MailDnsAnswer> records_;
    std::set<std::string> names_;
    std::set<std::string> failing_;
    std::set<std::string> unsigned_;
};

}  // namespace tierwatch::test
