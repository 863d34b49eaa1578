// c-ares on the Asio loop: Asio waits on c-ares' sockets and timer, then runs ares_process_fd.
// Address lookups use ares_query; the probes' own queries go out as built with ares_send.
#include "probes/net/dns_client.hpp"

#include <ares.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <sys/time.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string_view>
#include <unordered_map>

namespace tierwatch {

namespace asio = boost::asio;

namespace detail {

namespace {

// Query slots: one lookup sends both and merges whatever comes back.
enum QuerySlot : std::size_t { a_slot, aaaa_slot, slot_count };

// c-ares retries once per server with a doubled timeout (t + 2t), so a third of the overall
// deadline per try lets the retransmit happen inside it; the lookup deadline still caps it all.
constexpr int tries_per_server = 2;
constexpr int per_try_divisor = 3;

void init_library_once() {
    static std::once_flag once;
    // call_once leaves the flag unset when the lambda throws, so a later resolver retries.
    std::call_once(once, [] {
        const int status = ares_library_init(ARES_LIB_INIT_ALL);
        if (status != ARES_SUCCESS) {
            throw std::runtime_error(std::string("c-ares library init failed: ") +
                                     ares_strerror(status));
        }
    });
}

[[noreturn]] void bad_nameserver(std::string_view entry, std::string_view why) {
    throw std::runtime_error("invalid nameserver \"" + std::string(entry) + "\": " +
                             std::string(why) + " (expected \"ip:port\" or \"[ipv6]:port\")");
}

std::uint16_t parse_port(std::string_view entry, std::string_view text) {
    unsigned value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc{} || end != text.data() + text.size() || value == 0 ||
        value > 65535) {
        bad_nameserver(entry, "port must be a number from 1 to 65535");
    }
    return static_cast<std::uint16_t>(value);
}

// Validates one entry and returns it in the spelling ares_set_servers_ports_csv expects. c-ares
// would reject some of these too, but only with a bare "bad string" and no hint which entry.
std::string to_csv_entry(std::string_view entry) {
    std::string_view host = entry;
    std::string_view port_text;
    bool has_port = false;
    const bool bracketed = entry.starts_with('[');
    if (bracketed) {
        const auto close = entry.find(']');
        if (close == std::string_view::npos) bad_nameserver(entry, "missing ']'");
        host = entry.substr(1, close - 1);
        const auto rest = entry.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') bad_nameserver(entry, "expected \":port\" after ']'");
            port_text = rest.substr(1);
            has_port = true;
        }
    } else if (const auto colon = entry.find(':'); colon != std::string_view::npos) {
        if (entry.find(':', colon + 1) != std::string_view::npos) {
            bad_nameserver(entry, "an IPv6 address needs brackets");
        }
        host = entry.substr(0, colon);
        port_text = entry.substr(colon + 1);
        has_port = true;
    }

    boost::system::error_code error;
    if (bracketed) {
        const auto v6 = asio::ip::make_address_v6(std::string(host), error);
        if (error) bad_nameserver(entry, "not an IPv6 address");
        if (v6.scope_id() != 0) bad_nameserver(entry, "zone ids are not supported");
    } else {
        asio::ip::make_address_v4(std::string(host), error);
        if (error) bad_nameserver(entry, "not an IPv4 address (host names are not accepted)");
    }
    const std::uint16_t port = has_port ? parse_port(entry, port_text) : 53;
    const std::string address = bracketed ? "[" + std::string(host) + "]" : std::string(host);
    return address + ":" + std::to_string(port);
}

std::string to_servers_csv(const std::vector<std::string>& nameservers) {
    std::string csv;
    for (const auto& entry : nameservers) {
        if (!csv.empty()) csv += ',';
        csv += to_csv_entry(entry);
    }
    return csv;
}

std::string describe(int status) {
    switch (status) {
        case ARES_SUCCESS:  // parsed but empty: same meaning as NODATA
        case ARES_ENODATA:
            return "no A/AAAA records";
        case ARES_ENOTFOUND:
            return "NXDOMAIN";
        case ARES_ETIMEOUT:
            return "timeout";
        case ARES_EREFUSED:
            return "REFUSED";
        case ARES_ESERVFAIL:
            return "SERVFAIL";
        case ARES_ECANCELLED:
        case ARES_EDESTRUCTION:
            return "cancelled";
        default:
            return ares_strerror(status);
    }
}

}  // namespace

// One resolve(): shared by the coroutine and the two c-ares callbacks, whichever finishes last.
struct Lookup {
    explicit Lookup(const asio::any_io_executor& executor) : wake(executor) {}

    bool done() const { return pending == 0; }

    asio::steady_timer wake;  // expires at the deadline; cancelled early once both queries end
    std::vector<asio::ip::address> addresses;
    std::array<int, slot_count> statuses{ARES_ETIMEOUT, ARES_ETIMEOUT};
    int pending = slot_count;
};

// One query(): the bytes c-ares handed back, or the status that ended it.
struct RawLookup {
    explicit RawLookup(const asio::any_io_executor& executor) : wake(executor) {}

    asio::steady_timer wake;  // expires at the deadline; cancelled early once the query ends
    int status = ARES_ETIMEOUT;
    std::vector<std::uint8_t> answer;
    bool done = false;
};

class DnsChannel : public std::enable_shared_from_this<DnsChannel> {
  public:
    // raw_answers: every answer reaches the callback whatever its rcode (ARES_FLAG_NOCHECKRESP),
    // so a probe sees SERVFAIL and REFUSED as data; otherwise c-ares tries the next server.
    DnsChannel(asio::any_io_executor executor, const std::vector<std::string>& nameservers,
               std::chrono::milliseconds timeout, bool raw_answers = false);
    ~DnsChannel();
    DnsChannel(const DnsChannel&) = delete;
    DnsChannel& operator=(const DnsChannel&) = delete;

    // Sends the A and AAAA queries; the lookup's wake timer fires at the deadline or on completion.
    std::shared_ptr<Lookup> start(const std::string& name);
    // Sends `query` as is; the lookup's wake timer fires at the earlier of the channel's timeout
    // and `deadline`, or on completion.
    std::shared_ptr<RawLookup> send(const std::vector<std::uint8_t>& query,
                                    std::optional<std::chrono::steady_clock::time_point> deadline);

  private:
    enum Direction : std::size_t { read, write, direction_count };

    // A c-ares socket seen through Asio. The descriptor never owns the fd: c-ares closes it,
    // right after telling us to stop watching, so we release() first and never double-close.
    struct Watch {
        Watch(const asio::any_io_executor& executor, ares_socket_t fd, std::uint64_t serial)
            : descriptor(executor, fd), serial(serial) {}
        ~Watch() { descriptor.release(); }
        Watch(const Watch&) = delete;
        Watch& operator=(const Watch&) = delete;

        asio::posix::stream_descriptor descriptor;
        std::uint64_t serial;  // fd numbers are reused; a stale wait must not act on the new socket
        std::array<bool, direction_count> wanted{};
        std::array<bool, direction_count> waiting{};
    };

    struct QueryContext {
        std::shared_ptr<Lookup> lookup;
        QuerySlot slot;
    };

    static void on_socket_state(void* data, ares_socket_t fd, int readable, int writable) noexcept;
    static void on_query_done(void* arg, int status, int timeouts, unsigned char* answer,
                              int length) noexcept;
    static void on_send_done(void* arg, int status, int timeouts, unsigned char* answer,
                             int length) noexcept;
    static int collect_addresses(QuerySlot slot, const unsigned char* answer, int length,
                                 std::vector<asio::ip::address>& out);

    void update_watch(ares_socket_t fd, bool readable, bool writable);
    void start_waits(ares_socket_t fd);
    void on_ready(ares_socket_t fd, std::uint64_t serial, Direction direction,
                  const boost::system::error_code& error);
    void arm_timer();

    asio::any_io_executor executor_;
    std::chrono::milliseconds timeout_;
    ares_channel channel_ = nullptr;
    asio::steady_timer timer_;  // c-ares retransmits and per-try timeouts
    std::unordered_map<ares_socket_t, std::unique_ptr<Watch>> watches_;
    std::uint64_t next_serial_ = 0;
};

DnsChannel::DnsChannel(asio::any_io_executor executor, const std::vector<std::string>& nameservers,
                       std::chrono::milliseconds timeout, bool raw_answers)
    : executor_(std::move(executor)), timeout_(timeout), timer_(executor_) {
    if (timeout.count() <= 0) throw std::runtime_error("DNS timeout must be positive");
    const std::string servers = to_servers_csv(nameservers);
    init_library_once();

    ares_options options{};
    options.sock_state_cb = &DnsChannel::on_socket_state;
    options.sock_state_cb_data = this;
    options.timeout = static_cast<int>(
        std::max<std::chrono::milliseconds::rep>(1, timeout.count() / per_try_divisor));
    options.tries = tries_per_server;
    options.flags = raw_answers ? ARES_FLAG_NOCHECKRESP : 0;
    const int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
                     (raw_answers ? ARES_OPT_FLAGS : 0);
    int status = ares_init_options(&channel_, &options, mask);
    if (status != ARES_SUCCESS) {
        throw std::runtime_error(std::string("c-ares init failed: ") + ares_strerror(status));
    }
    if (!servers.empty()) {
        status = ares_set_servers_ports_csv(channel_, servers.c_str());
        if (status != ARES_SUCCESS) {
            ares_destroy(channel_);  // the destructor does not run for a throwing constructor
            throw std::runtime_error("c-ares rejected nameservers \"" + servers +
                                     "\": " + ares_strerror(status));
        }
    }
}

DnsChannel::~DnsChannel() {
    // Ends every query with ARES_EDESTRUCTION (waking their coroutines) and reports each socket
    // closed through on_socket_state, which releases its descriptor before c-ares closes the fd.
    ares_destroy(channel_);
    watches_.clear();
}

std::shared_ptr<Lookup> DnsChannel::start(const std::string& name) {
    auto lookup = std::make_shared<Lookup>(executor_);
    lookup->wake.expires_after(timeout_);
    constexpr std::array<std::pair<QuerySlot, int>, slot_count> queries{
        {{a_slot, ns_t_a}, {aaaa_slot, ns_t_aaaa}}};
    for (const auto& [slot, type] : queries) {
        auto context = std::make_unique<QueryContext>(QueryContext{lookup, slot});
        // The callback takes ownership of the context; it may run before ares_query returns.
        ares_query(channel_, name.c_str(), ns_c_in, type, &DnsChannel::on_query_done,
                   context.release());
    }
    arm_timer();
    return lookup;
}

std::shared_ptr<RawLookup> DnsChannel::send(const std::vector<std::uint8_t>& query,
                                            std::optional<std::chrono::steady_clock::time_point> deadline) {
    auto lookup = std::make_shared<RawLookup>(executor_);
    auto until = std::chrono::steady_clock::now() + timeout_;
    if (deadline && *deadline < until) until = *deadline;
    lookup->wake.expires_at(until);
    // The callback owns a reference; it may run before ares_send returns.
    auto context = std::make_unique<std::shared_ptr<RawLookup>>(lookup);
    ares_send(channel_, query.data(), static_cast<int>(query.size()), &DnsChannel::on_send_done,
              context.release());
    arm_timer();
    return lookup;
}

void DnsChannel::on_send_done(void* arg, int status, int /*timeouts*/, unsigned char* answer,
                              int length) noexcept {
    const std::unique_ptr<std::shared_ptr<RawLookup>> context(static_cast<std::shared_ptr<RawLookup>*>(arg));
    RawLookup& lookup = **context;
    lookup.status = status;
    if (status == ARES_SUCCESS && answer != nullptr && length > 0) {
        try {
            lookup.answer.assign(answer, answer + length);
        } catch (const std::bad_alloc&) {
            lookup.status = ARES_ENOMEM;
        }
    }
    lookup.done = true;
    lookup.wake.cancel();
}

void DnsChannel::on_socket_state(void* data, ares_socket_t fd, int readable,
                                 int writable) noexcept {
    // c-ares is C: nothing may unwind through it. A socket we fail to watch only loses its
    // answers, and the query then ends by timeout.
    try {
        static_cast<DnsChannel*>(data)->update_watch(fd, readable != 0, writable != 0);
    } catch (...) {
    }
}

void DnsChannel::on_query_done(void* arg, int status, int /*timeouts*/, unsigned char* answer,
                               int length) noexcept {
    const std::unique_ptr<QueryContext> context(static_cast<QueryContext*>(arg));
    Lookup& lookup = *context->lookup;
    int outcome = status;
    if (status == ARES_SUCCESS) {
        try {
            outcome = collect_addresses(context->slot, answer, length, lookup.addresses);
        } catch (const std::bad_alloc&) {
            outcome = ARES_ENOMEM;
        }
    }
    lookup.statuses[context->slot] = outcome;
    if (--lookup.pending == 0) lookup.wake.cancel();
}

int DnsChannel::collect_addresses(QuerySlot slot, const unsigned char* answer, int length,
                                  std::vector<asio::ip::address>& out) {
    hostent* host = nullptr;
    const int status = slot == a_slot
                           ? ares_parse_a_reply(answer, length, &host, nullptr, nullptr)
                           : ares_parse_aaaa_reply(answer, length, &host, nullptr, nullptr);
    if (status != ARES_SUCCESS) return status;
    const std::unique_ptr<hostent, void (*)(hostent*)> owner(host, &ares_free_hostent);
    for (char** entry = host->h_addr_list; entry != nullptr && *entry != nullptr; ++entry) {
        if (host->h_addrtype == AF_INET) {
            asio::ip::address_v4::bytes_type bytes;
            std::memcpy(bytes.data(), *entry, bytes.size());
            out.emplace_back(asio::ip::address_v4(bytes));
        } else {
            asio::ip::address_v6::bytes_type bytes;
            std::memcpy(bytes.data(), *entry, bytes.size());
            out.emplace_back(asio::ip::address_v6(bytes));
        }
    }
    return ARES_SUCCESS;
}

void DnsChannel::update_watch(ares_socket_t fd, bool readable, bool writable) {
    if (!readable && !writable) {
        watches_.erase(fd);  // releases; pending waits complete as aborted and find no watch
        return;
    }
    auto found = watches_.find(fd);
    if (found == watches_.end()) {
        auto watch = std::make_unique<Watch>(executor_, fd, next_serial_++);
        found = watches_.emplace(fd, std::move(watch)).first;
    }
    // A no-longer-wanted wait is left to complete; on_ready then ignores it. Cancelling would
    // abort the other direction's wait too.
    found->second->wanted = {readable, writable};
    start_waits(fd);
}

void DnsChannel::start_waits(ares_socket_t fd) {
    const auto found = watches_.find(fd);
    if (found == watches_.end()) return;
    Watch& watch = *found->second;
    for (const Direction direction : {read, write}) {
        if (!watch.wanted[direction] || watch.waiting[direction]) continue;
        watch.waiting[direction] = true;
        const auto type = direction == read ? asio::posix::descriptor_base::wait_read
                                            : asio::posix::descriptor_base::wait_write;
        watch.descriptor.async_wait(type, [self = weak_from_this(), fd, serial = watch.serial,
                                           direction](const boost::system::error_code& error) {
            if (const auto channel = self.lock()) channel->on_ready(fd, serial, direction, error);
        });
    }
}

void DnsChannel::on_ready(ares_socket_t fd, std::uint64_t serial, Direction direction,
                          const boost::system::error_code& error) {
    const auto found = watches_.find(fd);
    if (found == watches_.end() || found->second->serial != serial) return;
    Watch& watch = *found->second;
    watch.waiting[direction] = false;
    if (error || !watch.wanted[direction]) return;
    ares_process_fd(channel_, direction == read ? fd : ARES_SOCKET_BAD,
                    direction == write ? fd : ARES_SOCKET_BAD);
    start_waits(fd);  // the same fd may now be a different socket; start_waits copes either way
    arm_timer();
}

void DnsChannel::arm_timer() {
    timeval storage{};
    const timeval* next = ares_timeout(channel_, nullptr, &storage);
    if (next == nullptr) {
        timer_.cancel();
        return;
    }
    // ares_timeout truncates to whole milliseconds; the extra one keeps us from waking just
    // before c-ares considers the try expired and spinning until it does.
    timer_.expires_after(std::chrono::seconds(next->tv_sec) +
                         std::chrono::microseconds(next->tv_usec) + std::chrono::milliseconds(1));
    timer_.async_wait([self = weak_from_this()](const boost::system::error_code& error) {
        if (error) return;  // re-armed or destroyed
        if (const auto channel = self.lock()) {
            ares_process_fd(channel->channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
            channel->arm_timer();
        }
    });
}

namespace {

DnsClient::Answer make_answer(Lookup& lookup, bool cancelled) {
    auto& addresses = lookup.addresses;
    if (!addresses.empty()) {
        // Whatever arrived counts, even if the other family timed out: a reachable address
        // beats a failed resolve.
        std::sort(addresses.begin(), addresses.end());
        addresses.erase(std::unique(addresses.begin(), addresses.end()), addresses.end());
        return {std::move(addresses), {}};
    }
    if (cancelled) return {{}, "cancelled"};
    if (!lookup.done()) return {{}, "timeout"};
    // NODATA for one family is normal; the other family's status then says more.
    const int a_status = lookup.statuses[a_slot];
    const int status = a_status != ARES_ENODATA && a_status != ARES_SUCCESS
                           ? a_status
                           : lookup.statuses[aaaa_slot];
    return {{}, describe(status)};
}

// A failed ares_send as data where the server answered: c-ares swallows SERVFAIL, REFUSED and
// NOTIMP answers (it tries the next server) and reports only their status.
DnsAnswer make_raw_answer(RawLookup& lookup, bool cancelled) {
    DnsAnswer out;
    if (cancelled) {
        out.error = "cancelled";
        return out;
    }
    if (!lookup.done) {
        out.error = "timeout";
        return out;
    }
    const auto rcode_only = [&](DnsRcode rcode) {
        out.message.response = true;
        out.message.rcode = static_cast<std::uint16_t>(rcode);
        return out;
    };
    switch (lookup.status) {
        case ARES_SUCCESS: {
            auto parsed = parse_dns_message(lookup.answer);
            if (!parsed.ok()) {
                out.error = "malformed DNS response: " + parsed.error;
                return out;
            }
            out.message = std::move(parsed.message);
            return out;
        }
        case ARES_ESERVFAIL:
            return rcode_only(DnsRcode::servfail);
        case ARES_EREFUSED:
            return rcode_only(DnsRcode::refused);
        case ARES_ENOTIMP:
            return rcode_only(DnsRcode::notimp);
        case ARES_EFORMERR:
            return rcode_only(DnsRcode::formerr);
        default:
            out.error = describe(lookup.status);
            return out;
    }
}

}  // namespace

}  // namespace detail

DnsClient::DnsClient(asio::any_io_executor executor,
                         const std::vector<std::string>& nameservers,
                         std::chrono::milliseconds timeout)
    : executor_(executor),
      nameservers_(nameservers),
      timeout_(timeout),
      channel_(std::make_shared<detail::DnsChannel>(std::move(executor), nameservers, timeout)) {}

DnsClient::~DnsClient() = default;

asio::awaitable<DnsClient::Answer> DnsClient::resolve(std::string name) {
    boost::system::error_code not_literal;
    const auto literal = asio::ip::make_address(name, not_literal);
    if (!not_literal) co_return Answer{{literal}, {}};
    if (name.empty()) co_return Answer{{}, "empty name"};

    // From here on only the lookup is touched: the resolver may be destroyed while we wait.
    const auto lookup = channel_->start(name);
    bool cancelled = false;
    if (!lookup->done()) {
        const auto [error] = co_await lookup->wake.async_wait(asio::as_tuple(asio::use_awaitable));
        // Aborted but unfinished means our own awaiter was cancelled, not the queries' end.
        cancelled = error == asio::error::operation_aborted && !lookup->done();
    }
    co_return detail::make_answer(*lookup, cancelled);
}

asio::awaitable<DnsAnswer> DnsClient::query(std::string name, DnsType type, DnsQueryOptions options,
                                            std::optional<std::chrono::steady_clock::time_point> deadline) {
    std::string error;
    // c-ares replaces the id with one of its own.
    const auto bytes = build_dns_query(0, name, type, options, error);
    if (!error.empty()) co_return DnsAnswer{{}, error + " (\"" + name + "\")"};
    if (!raw_channel_) {
        raw_channel_ = std::make_shared<detail::DnsChannel>(executor_, nameservers_, timeout_, true);
    }
    // From here on only the lookup is touched: the client may be destroyed while we wait.
    const auto lookup = raw_channel_->send(bytes, deadline);
    bool cancelled = false;
    if (!lookup->done) {
        const auto [wait_error] = co_await lookup->wake.async_wait(asio::as_tuple(asio::use_awaitable));
        cancelled = wait_error == asio::error::operation_aborted && !lookup->done;
    }
    co_return detail::make_raw_answer(*lookup, cancelled);
}

}  // namespace tierwatch
