// Target expansion: shards split the fleet without overlap, and names not looked up yet wait.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "daemon/scheduling/targets.hpp"

namespace tierwatch {
namespace {

std::string fleet_config() {
    std::string text;
    for (int i = 0; i < 60; ++i) {
        text += "[[node]]\nname = \"mta" + std::to_string(i) + "\"\nrole = \"mta\"\naddress = \"10.0." +
                std::to_string(i / 250) + "." + std::to_string(i % 250 + 1) + "\"\n";
    }
    text += "[[node]]\nname = \"named\"\nrole = \"mta\"\naddress = \"mta.example.test\"\n";
    text += "[[nlb]]\nname = \"mail\"\nfqdn = \"mail.example.test\"\n";
    text += "[[check]]\nname = \"smtp\"\nprotocol = \"smtp\"\nport = 25\nroles = [\"mta\"]\nnlbs = [\"mail\"]\n";
    text += "[[check]]\nname = \"connect\"\nprotocol = \"tcp\"\nport = 25\nroles = [\"mta\"]\n";
    return text;
}

std::set<std::string> identities(const Config& config, const ResolvedNames& resolved) {
    std::set<std::string> out;
    for (const auto& spec : expand_targets(config, resolved)) out.insert(spec.identity);
    return out;
}

ResolvedNames all_resolved() {
    ResolvedNames resolved;
    resolved["mta.example.test"] = {{boost::asio::ip::make_address("10.9.0.1")}, ""};
    resolved["mail.example.test"] = {{boost::asio::ip::make_address("10.8.0.1"),
                                      boost::asio::ip::make_address("10.8.0.2")}, ""};
    return resolved;
}

TEST(Shard, ParsesIndexOverCount) {
    const auto shard = parse_shard("2/4");
    ASSERT_TRUE(shard);
    EXPECT_EQ(shard->index, 2u);
    EXPECT_EQ(shard->count, 4u);
    for (const auto* bad : {"4/4", "1/0", "1", "/2", "1/", "a/2", "-1/2", "1/2/3", " 1/2", ""}) {
        EXPECT_FALSE(parse_shard(bad)) << bad;
    }
}

TEST(Shard, InstancesSplitTheTargetsWithoutOverlap) {
    Config config = parse_config(fleet_config(), "fleet.toml");
    const auto everything = identities(config, all_resolved());
    ASSERT_EQ(everything.size(), 61u * 2 + 2);
    std::set<std::string> covered;
    for (std::uint32_t index = 0; index < 3; ++index) {
        config.daemon.shard = {index, 3};
        const auto part = identities(config, all_resolved());
        EXPECT_GT(part.size(), everything.size() / 6) << "shard " << index << " is far too small";
        for (const auto& identity : part) {
            EXPECT_TRUE(covered.insert(identity).second) << identity << " is in two shards";
        }
    }
    EXPECT_EQ(covered, everything);
}

TEST(ExpandTargets, NamesNotLookedUpYetGetNoStandIn) {
    const Config config = parse_config(fleet_config(), "fleet.toml");
    const auto before_dns = identities(config, {});
    EXPECT_EQ(before_dns.size(), 60u * 2) << "only the IP-literal nodes";
    ResolvedNames failed = all_resolved();
    failed["mail.example.test"] = {{}, "NXDOMAIN"};
    const auto specs = expand_targets(config, failed);
    const auto stand_in = std::find_if(specs.begin(), specs.end(),
                                       [](const TargetSpec& s) { return s.identity == "smtp|nlb:mail|dns"; });
    ASSERT_NE(stand_in, specs.end()) << "a name that fails to resolve is a target that reports it";
    EXPECT_EQ(stand_in->dns_error, "mail.example.test: NXDOMAIN");
}

// The DNS reputation checks look up a node's public_address; the others still connect to address.
TEST(ExpandTargets, DnsReputationChecksUseThePublicAddress) {
    const Config config = parse_config(
        "[[node]]\nname = \"mta1\"\nrole = \"mta\"\naddress = \"10.0.0.1\"\npublic_address = \"198.51.100.7\"\n"
        "[[node]]\nname = \"mta2\"\nrole = \"mta\"\naddress = \"10.0.0.2\"\n"
        "[[check]]\nname = \"bl\"\nprotocol = \"dnsbl\"\nroles = [\"mta\"]\nzones = [\"bl.test\"]\n"
        "[[check]]\nname = \"smtp\"\nprotocol = \"smtp\"\nroles = [\"mta\"]\n",
        "fleet.toml");
    std::map<std::string, std::string> address_of;
    for (const auto& spec : expand_targets(config, {})) address_of[spec.identity] = spec.address.to_string();
    EXPECT_EQ(address_of["bl|node:mta1"], "198.51.100.7");
    EXPECT_EQ(address_of["bl|node:mta2"], "10.0.0.2");
    EXPECT_EQ(address_of["smtp|node:mta1"], "10.0.0.1");
}

}  // namespace
}  // namespace tierwatch
