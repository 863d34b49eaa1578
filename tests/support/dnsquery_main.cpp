// tierwatch-dnsquery NAMESERVER NAME TYPE: one query through DnsClient::query (RD, AD, EDNS0), the
// answer as one JSON line: {"error", "rcode", "ad", "answers": [{"name", "type", "data"}]}.
// Exit 0 when the query got an answer (any rcode), 1 when it did not, 2 on bad arguments.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <iostream>
#include <map>
#include <optional>
#include <string>

#include "probes/net/dns_client.hpp"
#include "probes/net/dns_probe.hpp"

namespace {

using namespace tierwatch;

const std::map<std::string, DnsType> types{{"A", DnsType::a},       {"AAAA", DnsType::aaaa}, {"PTR", DnsType::ptr},
                                           {"CNAME", DnsType::cname}, {"TXT", DnsType::txt},   {"MX", DnsType::mx},
                                           {"TLSA", DnsType::tlsa}};

std::string data_of(const DnsRecord& record) {
    if (record.is(DnsType::a) || record.is(DnsType::aaaa)) return address_text(record.address);
    if (record.is(DnsType::txt)) return record.text();
    if (record.is(DnsType::mx)) return std::to_string(record.preference) + " " + record.target;
    if (record.is(DnsType::tlsa)) {
        return std::to_string(record.tlsa_usage) + " " + std::to_string(record.tlsa_selector) + " " +
               std::to_string(record.tlsa_matching) + " (" + std::to_string(record.tlsa_data.size()) + " bytes)";
    }
    return record.target;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4 || !types.contains(argv[3])) {
        std::cerr << "usage: tierwatch-dnsquery NAMESERVER NAME A|AAAA|PTR|CNAME|TXT|MX|TLSA\n";
        return 2;
    }
    boost::asio::io_context io;
    DnsClient client(io.get_executor(), {argv[1]}, std::chrono::seconds(3));
    std::optional<DnsAnswer> answer;
    boost::asio::co_spawn(io, client.query(argv[2], types.at(argv[3])),
                          [&](std::exception_ptr error, DnsAnswer result) {
                              if (error) std::rethrow_exception(error);
                              answer = std::move(result);
                          });
    io.run();
    boost::json::array records;
    for (const auto& record : answer->message.answers) {
        records.push_back({{"name", record.name}, {"type", record.type}, {"data", data_of(record)}});
    }
    const boost::json::object out{{"error", answer->error},
                                  {"rcode", dns_rcode_name(answer->message.rcode)},
                                  {"ad", answer->message.authentic_data},
                                  {"answers", std::move(records)}};
    std::cout << boost::json::serialize(out) << '\n';
    return answer->ok() ? 0 : 1;
}
