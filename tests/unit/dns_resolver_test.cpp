// DnsResolver against a real dnsmasq child on loopback, plus a silent server for timeouts.
#include "daemon/scheduling/dns_resolver.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace tierwatch {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* dnsmasq_path = "/usr/sbin/dnsmasq";
constexpr const char* dnsmasq_ip = "127.0.0.53";
constexpr const char* silent_ip = "127.0.0.54";

std::vector<asio::ip::address> addresses(std::initializer_list<const char*> texts) {
    std::vector<asio::ip::address> out;
    for (const char* text : texts) out.push_back(asio::ip::make_address(text));
    return out;
}

// A socket fd closed on scope exit.
class Socket {
  public:
    explicit Socket(int type) : fd_(::socket(AF_INET, type, 0)) {
        if (fd_ < 0) throw std::runtime_error("socket() failed");
    }
    ~Socket() { ::close(fd_); }
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;

    int fd() const { return fd_; }
    bool bind(const char* ip, std::uint16_t port) const {
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        ::inet_pton(AF_INET, ip, &address.sin_addr);
        return ::bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
    }
    std::uint16_t local_port() const {
        sockaddr_in address{};
        socklen_t length = sizeof address;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
        return ntohs(address.sin_port);
    }

  private:
    int fd_;
};

// A port free for both UDP and TCP on ip, since dnsmasq binds both.
std::uint16_t free_port(const char* ip) {
    for (;;) {
        const Socket udp(SOCK_DGRAM);
        if (!udp.bind(ip, 0)) throw std::runtime_error(std::string("cannot bind ") + ip);
        const Socket tcp(SOCK_STREAM);
        if (tcp.bind(ip, udp.local_port())) return udp.local_port();
    }
}

// True once a DNS server at ip:port replies to anything: a plain A query over UDP.
bool dns_answers(const char* ip, std::uint16_t port) {
    const Socket udp(SOCK_DGRAM);
    const timeval wait{0, 200'000};
    ::setsockopt(udp.fd(), SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    // id 0x7477, RD set, one question: ready.test IN A.
    const std::string query = std::string("\x74\x77\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12) +
                              std::string("\x05ready\x04test\x00\x00\x01\x00\x01", 16);
    sockaddr_in server{};
    server.sin_family = AF_INET;
    server.sin_port = htons(port);
    ::inet_pton(AF_INET, ip, &server.sin_addr);
    if (::sendto(udp.fd(), query.data(), query.size(), 0,
                 reinterpret_cast<const sockaddr*>(&server), sizeof server) < 0) {
        return false;
    }
    std::array<unsigned char, 512> reply{};
    const auto length = ::recv(udp.fd(), reply.data(), reply.size(), 0);
    return length >= 2 && reply[0] == 0x74 && reply[1] == 0x77;
}

// A dnsmasq instance serving a hosts file for the .test domain; killed and reaped on destruction.
class Dnsmasq {
  public:
    // Without local_domain, dnsmasq has no upstream for AAAA and answers REFUSED instead of NODATA.
    explicit Dnsmasq(bool local_domain = true) : local_domain_(local_domain) {
        char pattern[] = "/tmp/tierwatch-dns-XXXXXX";
        if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
        dir_ = pattern;
        std::filesystem::permissions(dir_, std::filesystem::perms(0755));
    }
    ~Dnsmasq() {
        stop();
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }
    Dnsmasq(const Dnsmasq&) = delete;
    Dnsmasq& operator=(const Dnsmasq&) = delete;

    ::testing::AssertionResult start(const std::string& hosts) {
        if (::access(dnsmasq_path, X_OK) != 0) {
            return ::testing::AssertionFailure()
                   << dnsmasq_path << " is missing: install the Debian package dnsmasq-base";
        }
        write_hosts(hosts);
        // Another test may grab the port between our probe and dnsmasq's bind; try a fresh one.
        for (int attempt = 0; attempt < 5; ++attempt) {
            port_ = free_port(dnsmasq_ip);
            if (const auto result = spawn(); !result) return result;
            const auto deadline = Clock::now() + 10s;
            while (Clock::now() < deadline && running()) {
                if (dns_answers(dnsmasq_ip, port_)) return ::testing::AssertionSuccess();
                std::this_thread::sleep_for(50ms);
            }
            stop();
        }
        return ::testing::AssertionFailure()
               << "dnsmasq did not answer on " << dnsmasq_ip << "; log:\n"
               << log();
    }

    // Rewrites the hosts file and waits until dnsmasq logs that it re-read it.
    ::testing::AssertionResult reload(const std::string& hosts) {
        const auto before = reads_logged();
        write_hosts(hosts);
        if (::kill(pid_, SIGHUP) != 0)
            return ::testing::AssertionFailure() << "kill(SIGHUP) failed";
        const auto deadline = Clock::now() + 5s;
        while (Clock::now() < deadline) {
            if (reads_logged() > before) return ::testing::AssertionSuccess();
            std::this_thread::sleep_for(20ms);
        }
        return ::testing::AssertionFailure()
               << "dnsmasq did not re-read " << hosts_path() << "; log:\n"
               << log();
    }

    std::string nameserver() const { return std::string(dnsmasq_ip) + ":" + std::to_string(port_); }

  private:
    std::filesystem::path hosts_path() const { return dir_ / "hosts"; }
    std::filesystem::path log_path() const { return dir_ / "dnsmasq.log"; }

    void write_hosts(const std::string& hosts) const {
        // Write-then-rename so dnsmasq never reads a half-written file.
        const auto temporary = dir_ / "hosts.new";
        std::ofstream(temporary) << hosts;
        std::filesystem::rename(temporary, hosts_path());
    }

    std::string log() const {
        std::ifstream file(log_path());
        std::stringstream text;
        text << file.rdbuf();
        return text.str();
    }

    std::size_t reads_logged() const {
        const std::string needle = "read " + hosts_path().string();
        const std::string text = log();
        std::size_t count = 0;
        for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
            ++count;
        }
        return count;
    }

    ::testing::AssertionResult spawn() {
        std::vector<std::string> arguments{
            dnsmasq_path,
            "--keep-in-foreground",
            "--no-resolv",
            "--no-hosts",
            "--no-poll",
            "--conf-file=/dev/null",
            "--listen-address=" + std::string(dnsmasq_ip),
            "--bind-interfaces",
            "--port=" + std::to_string(port_),
            "--addn-hosts=" + hosts_path().string(),
            "--local-ttl=1",
            "--txt-record=text.test,only-text",
            "--pid-file=" + (dir_ / "dnsmasq.pid").string(),
            "--log-facility=-",
            "--user=root",
            "--group=root",
        };
        if (local_domain_) arguments.push_back("--local=/test/");
        std::vector<char*> argv;
        for (const auto& argument : arguments) argv.push_back(const_cast<char*>(argument.c_str()));
        argv.push_back(nullptr);

        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&actions, 1, log_path().c_str(),
                                         O_WRONLY | O_CREAT | O_APPEND, 0644);
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
        posix_spawnattr_t attributes;
        posix_spawnattr_init(&attributes);
        sigset_t no_signals;
        sigemptyset(&no_signals);
        posix_spawnattr_setsigmask(&attributes, &no_signals);
        posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK);
        const int error =
            ::posix_spawn(&pid_, dnsmasq_path, &actions, &attributes, argv.data(), environ);
        posix_spawnattr_destroy(&attributes);
        posix_spawn_file_actions_destroy(&actions);
        if (error != 0) {
            pid_ = -1;
            return ::testing::AssertionFailure()
                   << "cannot start " << dnsmasq_path << ": " << std::strerror(error);
        }
        return ::testing::AssertionSuccess();
    }

    bool running() {
        if (pid_ <= 0) return false;
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return false;
        }
        return true;
    }

    void stop() {
        if (!running()) return;
        ::kill(pid_, SIGTERM);
        const auto deadline = Clock::now() + 5s;
        while (Clock::now() < deadline && running()) std::this_thread::sleep_for(10ms);
        if (running()) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
            pid_ = -1;
        }
    }

    bool local_domain_;
    std::filesystem::path dir_;
    std::uint16_t port_ = 0;
    pid_t pid_ = -1;
};

// Runs one coroutine on io to completion; the test fails loudly instead of hanging.
template <class T>
T run_to_end(asio::io_context& io, asio::awaitable<T> work) {
    std::optional<T> answer;
    asio::co_spawn(io, std::move(work), [&](std::exception_ptr error, T result) {
        if (error) std::rethrow_exception(error);
        answer = std::move(result);
    });
    io.restart();
    while (!answer && io.run_one_for(30s) != 0) {
    }
    if (!answer) throw std::runtime_error("resolve did not complete");
    return std::move(*answer);
}

DnsResolver::Answer run_resolve(asio::io_context& io, DnsResolver& resolver, std::string name) {
    return run_to_end(io, resolver.resolve(std::move(name)));
}

DnsAnswer run_query(asio::io_context& io, DnsClient& client, std::string name, DnsType type,
                    std::optional<Clock::time_point> deadline = std::nullopt) {
    return run_to_end(io, client.query(std::move(name), type, {}, deadline));
}

std::size_t open_fd_count() {
    std::size_t count = 0;
    for ([[maybe_unused]] const auto& entry :
         std::filesystem::directory_iterator("/proc/self/fd")) {
        ++count;
    }
    return count;
}

const std::string initial_hosts =
    "127.1.0.1 multi.test\n"
    "127.1.0.2 multi.test\n"
    "127.1.0.3 dual.test\n"
    "fd00::3 dual.test\n"
    "127.1.0.4 gone.test\n";

class DnsResolverTest : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_TRUE(dnsmasq_.start(initial_hosts));
        resolver_.emplace(io_.get_executor(), std::vector{dnsmasq_.nameserver()}, 2s);
    }

    DnsResolver::Answer resolve(std::string name) {
        return run_resolve(io_, *resolver_, std::move(name));
    }

    Dnsmasq dnsmasq_;
    asio::io_context io_;
    std::optional<DnsResolver> resolver_;  // needs the port dnsmasq got in SetUp
};

// Only A records: the AAAA query gets NODATA, which must not spoil the A answer.
TEST_F(DnsResolverTest, NameWithTwoARecordsGivesBoth) {
    const auto answer = resolve("multi.test");
    ASSERT_TRUE(answer.ok()) << answer.error;
    EXPECT_EQ(answer.addresses, addresses({"127.1.0.1", "127.1.0.2"}));
}

TEST_F(DnsResolverTest, NameWithAAndAaaaGivesBothSorted) {
    const auto answer = resolve("dual.test");
    ASSERT_TRUE(answer.ok()) << answer.error;
    EXPECT_EQ(answer.addresses, addresses({"127.1.0.3", "fd00::3"}));
}

TEST_F(DnsResolverTest, ReloadedHostsFileChangesTheAnswer) {
    ASSERT_EQ(resolve("multi.test").addresses.size(), 2u);
    ASSERT_TRUE(resolve("gone.test").ok());

    ASSERT_TRUE(dnsmasq_.reload("127.1.0.2 multi.test\n127.1.0.3 dual.test\n"));
    const auto shrunk = resolve("multi.test");
    ASSERT_TRUE(shrunk.ok()) << shrunk.error;
    EXPECT_EQ(shrunk.addresses, addresses({"127.1.0.2"}));

    const auto removed = resolve("gone.test");
    EXPECT_FALSE(removed.ok());
    EXPECT_EQ(removed.error, "NXDOMAIN");
    EXPECT_TRUE(removed.addresses.empty());
}

TEST_F(DnsResolverTest, UnknownNameIsNxdomain) {
    const auto answer = resolve("never-there.test");
    EXPECT_EQ(answer.error, "NXDOMAIN");
}

// The name exists (it has a TXT record) but has neither A nor AAAA.
TEST_F(DnsResolverTest, NameWithoutAddressRecordsIsAnError) {
    const auto answer = resolve("text.test");
    EXPECT_EQ(answer.error, "no A/AAAA records");
    EXPECT_TRUE(answer.addresses.empty());
}

TEST_F(DnsResolverTest, ConcurrentResolvesShareOneChannel) {
    std::vector<std::optional<DnsResolver::Answer>> answers(3);
    const std::array<const char*, 3> names{"multi.test", "dual.test", "never-there.test"};
    for (std::size_t i = 0; i < names.size(); ++i) {
        asio::co_spawn(io_, resolver_->resolve(names[i]),
                       [&answers, i](std::exception_ptr error, DnsResolver::Answer answer) {
                           if (error) std::rethrow_exception(error);
                           answers[i] = std::move(answer);
                       });
    }
    io_.run_for(10s);
    ASSERT_TRUE(answers[0] && answers[1] && answers[2]);
    EXPECT_EQ(answers[0]->addresses.size(), 2u);
    EXPECT_EQ(answers[1]->addresses.size(), 2u);
    EXPECT_EQ(answers[2]->error, "NXDOMAIN");
}

TEST(DnsResolver, RefusedAaaaStillGivesTheARecords) {
    Dnsmasq dnsmasq(false);
    ASSERT_TRUE(dnsmasq.start(initial_hosts));
    asio::io_context io;
    DnsResolver resolver(io.get_executor(), {dnsmasq.nameserver()}, 2s);
    const auto answer = run_resolve(io, resolver, "multi.test");
    ASSERT_TRUE(answer.ok()) << answer.error;
    EXPECT_EQ(answer.addresses, addresses({"127.1.0.1", "127.1.0.2"}));
}

// A bound UDP socket that never reads: queries vanish without an ICMP error.
class SilentServer {
  public:
    SilentServer() : socket_(SOCK_DGRAM) {
        if (!socket_.bind(silent_ip, 0)) throw std::runtime_error("cannot bind the silent server");
    }
    std::string nameserver() const {
        return std::string(silent_ip) + ":" + std::to_string(socket_.local_port());
    }

  private:
    Socket socket_;
};

TEST(DnsResolver, SilentServerTimesOutWithinTheTimeout) {
    const SilentServer silent;
    asio::io_context io;
    DnsResolver resolver(io.get_executor(), {silent.nameserver()}, 600ms);
    const auto started = Clock::now();
    const auto answer = run_resolve(io, resolver, "multi.test");
    const auto elapsed = Clock::now() - started;
    EXPECT_EQ(answer.error, "timeout");
    EXPECT_GE(elapsed, 550ms);
    EXPECT_LT(elapsed, 900ms);
}

TEST(DnsResolver, LiteralAddressesResolveToThemselvesWithoutAQuery) {
    const SilentServer silent;
    asio::io_context io;
    DnsResolver resolver(io.get_executor(), {silent.nameserver()}, 5s);
    const auto started = Clock::now();
    EXPECT_EQ(run_resolve(io, resolver, "127.0.0.9").addresses, addresses({"127.0.0.9"}));
    EXPECT_EQ(run_resolve(io, resolver, "::1").addresses, addresses({"::1"}));
    EXPECT_LT(Clock::now() - started, 1s);  // a query would have waited on the silent server
}

TEST(DnsResolver, DestroyingTheResolverCancelsPendingResolvesAndKeepsFdsBalanced) {
    const SilentServer silent;
    asio::io_context io;
    const asio::steady_timer reactor_warmup(io);  // the reactor's own fds open on first use
    const auto fds_before = open_fd_count();
    std::optional<DnsResolver::Answer> answer;
    {
        DnsResolver resolver(io.get_executor(), {silent.nameserver()}, 10s);
        asio::co_spawn(io, resolver.resolve("multi.test"),
                       [&](std::exception_ptr error, DnsResolver::Answer result) {
                           if (error) std::rethrow_exception(error);
                           answer = std::move(result);
                       });
        io.run_for(100ms);  // the query is now in flight on a c-ares socket
        EXPECT_FALSE(answer);
        EXPECT_GT(open_fd_count(), fds_before);
    }
    io.restart();
    io.run_for(1s);
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->error, "cancelled");
    EXPECT_EQ(open_fd_count(), fds_before);
}

TEST(DnsResolver, SystemResolverNeedsNoNameservers) {
    asio::io_context io;
    DnsResolver resolver(io.get_executor(), {});
    // Only a literal: a name would leave loopback through /etc/resolv.conf.
    EXPECT_EQ(run_resolve(io, resolver, "127.0.0.1").addresses, addresses({"127.0.0.1"}));
}

TEST(DnsResolver, AcceptsIpv4AndBracketedIpv6WithOrWithoutPort) {
    asio::io_context io;
    EXPECT_NO_THROW(
        DnsResolver(io.get_executor(), {"127.0.0.1:5353", "127.0.0.2", "[::1]:53", "[::1]"}));
}

TEST(DnsResolver, BadNameserverSyntaxThrowsNamingTheEntry) {
    asio::io_context io;
    for (const char* bad :
         {"localhost:53", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:5x", "[::1",
          "[::1]53", "::1:53", "[127.0.0.1]:53", "", "127.0.0.256:53"}) {
        try {
            DnsResolver resolver(io.get_executor(), {"127.0.0.1:53", bad});
            ADD_FAILURE() << "accepted \"" << bad << "\"";
        } catch (const std::runtime_error& error) {
            EXPECT_NE(std::string(error.what()).find('"' + std::string(bad) + '"'),
                      std::string::npos)
                << error.what();
        }
    }
}

TEST(DnsResolver, NonPositiveTimeoutThrows) {
    asio::io_context io;
    EXPECT_THROW(DnsResolver(io.get_executor(), {"127.0.0.1:53"}, 0ms), std::runtime_error);
}

}  // namespace
}  // namespace tierwatch

namespace tierwatch {
namespace {

// query(): our own bytes out, the parsed message back, rcodes as data.
TEST_F(DnsResolverTest, QueryReturnsTheParsedAnswer) {
    const auto a = run_query(io_, *resolver_, "multi.test", DnsType::a);
    ASSERT_TRUE(a.ok()) << a.error;
    EXPECT_TRUE(a.message.rcode_is(DnsRcode::noerror));
    EXPECT_TRUE(a.message.response);
    ASSERT_EQ(a.message.answers_of(DnsType::a).size(), 2u);
    EXPECT_EQ(a.message.question_name, "multi.test");

    const auto txt = run_query(io_, *resolver_, "text.test", DnsType::txt);
    ASSERT_TRUE(txt.ok()) << txt.error;
    ASSERT_EQ(txt.message.answers_of(DnsType::txt).size(), 1u);
    EXPECT_EQ(txt.message.answers_of(DnsType::txt)[0]->text(), "only-text");

    // dnsmasq answers PTR for every hosts-file entry.
    const auto ptr = run_query(io_, *resolver_, "4.0.1.127.in-addr.arpa", DnsType::ptr);
    ASSERT_TRUE(ptr.ok()) << ptr.error;
    ASSERT_EQ(ptr.message.answers_of(DnsType::ptr).size(), 1u);
    EXPECT_EQ(ptr.message.answers_of(DnsType::ptr)[0]->target, "gone.test");
}

TEST_F(DnsResolverTest, QueryReportsNxdomainAsData) {
    const auto answer = run_query(io_, *resolver_, "absent.test", DnsType::a);
    ASSERT_TRUE(answer.ok()) << answer.error;
    EXPECT_TRUE(answer.message.rcode_is(DnsRcode::nxdomain));
    EXPECT_TRUE(answer.message.answers.empty());
}

TEST_F(DnsResolverTest, QueryRefusesANameDnsCannotCarry) {
    const auto answer = run_query(io_, *resolver_, "a..test", DnsType::a);
    EXPECT_EQ(answer.error, "empty label in DNS name (\"a..test\")");
}

// REFUSED (dnsmasq without a local domain and no upstream) comes back as the rcode.
TEST(DnsClient, QueryReportsRefusedAsData) {
    Dnsmasq dnsmasq(false);
    ASSERT_TRUE(dnsmasq.start(initial_hosts));
    asio::io_context io;
    DnsClient client(io.get_executor(), {dnsmasq.nameserver()}, 2s);
    const auto answer = run_query(io, client, "elsewhere.example", DnsType::a);
    ASSERT_TRUE(answer.ok()) << answer.error;
    EXPECT_TRUE(answer.message.rcode_is(DnsRcode::refused)) << dns_rcode_name(answer.message.rcode);
}

// A probe's deadline ends the wait before the client's own timeout.
TEST(DnsClient, QueryTimesOutAtTheEarlierDeadline) {
    const SilentServer silent;
    asio::io_context io;
    DnsClient client(io.get_executor(), {silent.nameserver()}, 10s);
    const auto started = Clock::now();
    const auto answer = run_query(io, client, "multi.test", DnsType::txt, started + 300ms);
    const auto elapsed = Clock::now() - started;
    EXPECT_EQ(answer.error, "timeout");
    EXPECT_GE(elapsed, 290ms);
    EXPECT_LT(elapsed, 2s);
}

}  // namespace
}  // namespace tierwatch
