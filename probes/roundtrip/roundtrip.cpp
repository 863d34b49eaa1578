// The roundtrip prober (roundtrip.hpp): SmtpClient submits, ImapClient polls and cleans up, each
// over its own ProbeSession; the results of both legs are merged into one.
#include "probes/roundtrip/roundtrip.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>
#include <ctime>
#include <random>

#include "probes/imap/imap_client.hpp"
#include "probes/net/use_tuple.hpp"
#include "probes/smtp/smtp_client.hpp"

namespace tierwatch {

namespace asio = boost::asio;

namespace {

// After a timeout the IMAP session still deletes what it can find within this much more time.
constexpr std::chrono::seconds cleanup_grace{10};
// Polls start fast (a healthy delivery takes well under a second) and back off to this.
constexpr std::chrono::milliseconds first_poll{100};
constexpr std::chrono::milliseconds slowest_poll{2000};
// UIDs deleted per round trip at most (bounds the command); any rest goes next time.
constexpr std::size_t max_deleted = 500;
constexpr std::chrono::hours stale_after{24};

constexpr std::array<std::string_view, 7> weekdays{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 12> months{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

std::tm utc(std::chrono::system_clock::time_point when) {
    const std::time_t seconds = std::chrono::system_clock::to_time_t(when);
    std::tm parts{};
    gmtime_r(&seconds, &parts);
    return parts;
}

std::uint64_t fnv1a(std::uint64_t hash, std::string_view bytes) {
    for (const char c : bytes) {
        hash ^= static_cast<unsigned char>(c);
        hash *= 0x100000001b3ULL;
    }
    return hash;
}

std::string hex64(std::uint64_t value) {
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
    return text;
}

const std::string& local_host_name() {
    static const std::string name = [] {
        std::array<char, 256> buffer{};
        if (::gethostname(buffer.data(), buffer.size() - 1) != 0) return std::string("localhost");
        return std::string(buffer.data());
    }();
    return name;
}

std::string random_suffix() {
    static std::mt19937_64 generator{std::random_device{}()};
    return hex64(generator());
}

RoundtripTurns& turns() {
    static RoundtripTurns instance;
    return instance;
}

// One leg as a request of its own (protocol, port, mail settings with its STARTTLS, its TLS
// options), so SmtpClient and ImapClient run it exactly as they run an smtp or imap check. The
// request points into the leg: a leg stays where it was prepared.
struct Leg {
    MailSettings mail;
    TlsSettings tls;
    ProbeRequest target;
};

// Fills `leg`; a host that does not resolve fails `result` with dns.
asio::awaitable<bool> prepare_leg(Leg& leg, const RoundtripLeg& url, const ProbeRequest& target,
                                  ProbeContext& context, Duration timeout, ProbeResult& result,
                                  std::string_view name) {
    leg.mail = MailSettings{};
    leg.mail.starttls = url.starttls;
    leg.mail.auth = is_imap(url.protocol) ? MailAuth::login : MailAuth::plain;
    leg.tls = *target.tls;
    leg.target = target;
    leg.target.protocol = url.protocol;
    leg.target.port = url.port;
    leg.target.deadline = timeout;
    leg.target.tls = &leg.tls;
    leg.target.tls_session = nullptr;
    if (url.via_target) co_return true;
    // A fixed server: its own name is the one its certificate must carry.
    leg.tls.server_name.clear();
    leg.target.server_name = url.host;
    boost::system::error_code ec;
    leg.target.address = asio::ip::make_address(url.address, ec);
    if (!ec) co_return true;
    asio::ip::tcp::resolver resolver(context.executor);
    auto [error, results] = co_await resolver.async_resolve(url.address, "", use_tuple);
    if (!error && !results.empty()) {
        leg.target.address = results.begin()->endpoint().address();
        co_return true;
    }
    result.reason = FailureReason::dns;
    result.detail = std::string(name) + ": cannot resolve " + printable_excerpt(url.address) +
                    ": " + (error ? error.message() : "no addresses");
    co_return false;
}

// Adds one leg's phases, certificate and failure (named after the leg) to the round trip's.
void absorb(ProbeResult& into, ProbeResult leg, std::string_view name) {
    for (std::size_t p = 0; p < phase_count; ++p) {
        into.add_phase(static_cast<Phase>(p), leg.phase(static_cast<Phase>(p)));
    }
    if (leg.certificate && (!into.certificate || leg.certificate->earliest_not_after <
                                                     into.certificate->earliest_not_after)) {
        into.certificate = std::move(leg.certificate);
    }
    if (into.ok() && !leg.ok()) {
        into.reason = leg.reason;
        into.detail = std::string(name) + ": " + leg.detail;
    }
}

asio::awaitable<ProbeResult> submit_message(const Leg& leg, ProbeContext& context,
                                            const std::string& token) {
    ProbeSession session(leg.target, context);
    SmtpClient smtp(session, leg.mail);
    const std::string mailbox(leg.target.username);
    const std::string from = "MAIL FROM:<" + mailbox + ">\r\n";
    const std::string to = "RCPT TO:<" + mailbox + ">\r\n";
    const std::string message = roundtrip_message(token, mailbox, std::chrono::system_clock::now());
    bool ok = co_await smtp.open();
    if (ok) ok = co_await smtp.command(from, "MAIL FROM", 250);
    if (ok) ok = co_await smtp.command(to, "RCPT TO", 250);
    if (ok) ok = co_await smtp.command("DATA\r\n", "DATA", 354);
    if (ok) ok = co_await smtp.command(message, "the message", 250);
    if (ok) co_await smtp.quit();
    co_return session.finish();
}

class Fetcher {
public:
    Fetcher(ProbeSession& session, const MailSettings& settings, ProbeContext& context)
        : session_(session), imap_(session, settings), timer_(context.executor) {}

    // Polls for `token` until `deadline`; sets `delivery` (from `submitted`) when it is found.
    asio::awaitable<bool> await_message(const std::string& token,
                                        std::chrono::steady_clock::time_point submitted,
                                        std::chrono::steady_clock::time_point deadline,
                                        std::optional<std::chrono::nanoseconds>& delivery) {
        if (const bool opened = co_await imap_.open(); !opened) co_return false;
        const std::string_view inbox = "INBOX";
        if (const bool selected = co_await imap_.command("SELECT", std::span(&inbox, 1));
            !selected) {
            co_return false;
        }
        const std::string search = "UID SEARCH " + header_search(token);
        auto wait = first_poll;
        while (true) {
            if (const bool searched = co_await imap_.raw_command(search); !searched)
                co_return false;
            const auto now = std::chrono::steady_clock::now();
            if (!imap_.search_results().empty()) {
                delivery = now - submitted;
                co_return true;
            }
            if (now >= deadline) {
                co_return session_.fail(FailureReason::timeout,
                                        "message not in INBOX within " +
                                            format_duration(std::chrono::duration_cast<Duration>(
                                                deadline - submitted)) +
                                            " of its submission");
            }
            timer_.expires_at(std::min(now + wait, deadline));
            co_await timer_.async_wait(use_tuple);
            wait = std::min(wait * 2, slowest_poll);
            // NOOP lets the server announce (and the mailbox index take in) new deliveries.
            if (const bool noop = co_await imap_.command("NOOP"); !noop) co_return false;
        }
    }

    // Deletes every message of this check (`prefix`) and every probe message older than a day.
    asio::awaitable<void> clean_up(const std::string& prefix) {
        std::vector<std::uint32_t> doomed;
        const std::string ours = "UID SEARCH " + header_search(prefix);
        if (const bool ok = co_await imap_.raw_command(ours); !ok) co_return;
        doomed = imap_.search_results();
        const auto day_ago = std::chrono::system_clock::now() - stale_after;
        // RFC 5032 OLDER is exact; BEFORE compares dates only, so it may keep one more day.
        const std::string age =
            has_capability(imap_.capabilities(), "WITHIN")
                ? "OLDER " + std::to_string(std::chrono::seconds(stale_after).count())
                : "BEFORE " + imap_date(day_ago);
        const std::string stale = "UID SEARCH " + header_search("") + " " + age;
        if (const bool ok = co_await imap_.raw_command(stale); !ok) co_return;
        doomed.insert(doomed.end(), imap_.search_results().begin(), imap_.search_results().end());
        std::sort(doomed.begin(), doomed.end());
        doomed.erase(std::unique(doomed.begin(), doomed.end()), doomed.end());
        if (!doomed.empty()) {
            const std::string set = uid_set(doomed, max_deleted);
            // Named, not a temporary: see the GCC 12 note in mail_session.hpp.
            const std::string store = "UID STORE " + set + " +FLAGS.SILENT (\\Deleted)";
            if (const bool ok = co_await imap_.raw_command(store); !ok) co_return;
            // UID EXPUNGE (UIDPLUS) removes only ours, not what another client marked deleted.
            const std::string expunge =
                has_capability(imap_.capabilities(), "UIDPLUS") ? "UID EXPUNGE " + set : "EXPUNGE";
            if (const bool ok = co_await imap_.raw_command(expunge); !ok) co_return;
        }
        co_await imap_.command("LOGOUT");
    }

private:
    static std::string header_search(std::string_view text) {
        // Tokens are "tw-" and hex digits: a quoted string needs no escaping.
        return "HEADER " + std::string(roundtrip_header) + " \"" + std::string(text) + "\"";
    }

    ProbeSession& session_;
    ImapClient imap_;
    asio::steady_timer timer_;
};

}  // namespace

std::string roundtrip_token_prefix(std::string_view host_name, std::string_view check_name) {
    std::uint64_t hash = fnv1a(0xcbf29ce484222325ULL, host_name);
    hash = fnv1a(hash, std::string_view("\0", 1));
    return "tw-" + hex64(fnv1a(hash, check_name));
}

std::string rfc5322_date(std::chrono::system_clock::time_point when) {
    const std::tm t = utc(when);
    char text[96];
    std::snprintf(text, sizeof text, "%.3s, %02d %.3s %04d %02d:%02d:%02d +0000",
                  weekdays[static_cast<std::size_t>(t.tm_wday) % 7].data(), t.tm_mday,
                  months[static_cast<std::size_t>(t.tm_mon) % 12].data(), t.tm_year + 1900,
                  t.tm_hour, t.tm_min, t.tm_sec);
    return text;
}

std::string imap_date(std::chrono::system_clock::time_point when) {
    const std::tm t = utc(when);
    char text[48];
    std::snprintf(text, sizeof text, "%d-%.3s-%04d", t.tm_mday,
                  months[static_cast<std::size_t>(t.tm_mon) % 12].data(), t.tm_year + 1900);
    return text;
}

std::string uid_set(std::span<const std::uint32_t> uids, std::size_t max) {
    std::string set;
    for (std::size_t i = 0; i < uids.size() && i < max; ++i) {
        if (i > 0) set += ',';
        set += std::to_string(uids[i]);
    }
    return set;
}

std::string roundtrip_message(std::string_view token, std::string_view mailbox,
                              std::chrono::system_clock::time_point now) {
    const std::string address(mailbox);
    std::string message;
    message += "From: tierwatch <" + address + ">\r\n";
    message += "To: <" + address + ">\r\n";
    message += "Subject: tierwatch round trip " + std::string(token) + "\r\n";
    message += "Date: " + rfc5322_date(now) + "\r\n";
    message += "Message-ID: <" + std::string(token) + "@tierwatch.invalid>\r\n";
    message += std::string(roundtrip_header) + ": " + std::string(token) + "\r\n";
    message += "Auto-Submitted: auto-generated\r\n";
    message += "\r\n";
    message +=
        "End-to-end delivery probe of tierwatch; it deletes this message once it sees it.\r\n";
    message += ".\r\n";
    return message;
}

asio::awaitable<RoundtripTurns::Turn> RoundtripTurns::acquire(std::string key,
                                                              asio::any_io_executor executor) {
    auto found = queues_.find(key);
    if (found == queues_.end()) found = queues_.emplace(key, Queue{}).first;
    if (!found->second.busy) {
        found->second.busy = true;
        co_return Turn(this, std::move(key));
    }
    auto timer =
        std::make_shared<asio::steady_timer>(executor, asio::steady_timer::time_point::max());
    found->second.waiting.push_back(timer);
    // release() cancels this wait to hand the turn over; busy stays set for us.
    co_await timer->async_wait(use_tuple);
    co_return Turn(this, std::move(key));
}

bool RoundtripTurns::busy(std::string_view key) const {
    const auto found = queues_.find(key);
    return found != queues_.end() && found->second.busy;
}

void RoundtripTurns::release(const std::string& key) {
    const auto found = queues_.find(key);
    if (found == queues_.end()) return;
    auto& waiting = found->second.waiting;
    while (!waiting.empty()) {
        const auto next = waiting.front().lock();
        waiting.pop_front();
        if (next) {
            next->cancel();
            return;
        }
    }
    queues_.erase(found);
}

asio::awaitable<ProbeResult> probe_roundtrip(const ProbeRequest& target, const RoundtripSettings& settings, ProbeContext& context) {
    const std::string check_name(target.check_name);
    const RoundtripTurns::Turn turn = co_await turns().acquire(check_name, context.executor);
    const auto started = std::chrono::steady_clock::now();
    const auto deadline = started + target.deadline;
    const std::string prefix = roundtrip_token_prefix(local_host_name(), check_name);
    const std::string token = prefix + "-" + random_suffix();
    ProbeResult result;
    const auto finish = [&] {
        result.total = std::chrono::steady_clock::now() - started;
        return std::move(result);
    };

    Leg submit;
    if (const bool ready = co_await prepare_leg(submit, settings.submit, target, context,
                                                target.deadline, result, "submit");
        !ready) {
        co_return finish();
    }
    absorb(result, co_await submit_message(submit, context, token), "submit");
    if (!result.ok()) co_return finish();
    const auto submitted = std::chrono::steady_clock::now();

    Leg fetch;
    const auto left = std::chrono::duration_cast<Duration>(deadline - submitted);
    if (const bool ready =
            co_await prepare_leg(fetch, settings.fetch, target, context,
                                 std::max(left, Duration::zero()) + cleanup_grace, result, "fetch");
        !ready) {
        co_return finish();
    }
    ProbeSession session(fetch.target, context);
    Fetcher fetcher(session, fetch.mail, context);
    std::optional<std::chrono::nanoseconds> delivery;
    const bool awaited = co_await fetcher.await_message(token, submitted, deadline, delivery);
    // Also after a timeout: it deletes what earlier round trips left, and a message that
    // arrives late is deleted by the next one.
    if (awaited || session.result().reason == FailureReason::timeout)
        co_await fetcher.clean_up(prefix);
    absorb(result, session.finish(), "fetch");
    if (result.ok() && delivery) {
        result.set(roundtrip_delivery_measurement, std::chrono::duration<double>(*delivery).count());
    }
    co_return finish();
}

}  // namespace tierwatch
