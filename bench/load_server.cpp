// Cheap loopback load target for bench/run: answers TCP, SMTP, IMAP, POP3, HTTP(S) and implicit
// TLS on many 127.x.y.z addresses × ports, or stays silent / trickles bytes for in-flight tests.
//
//   load_server --cert C --key K [--threads N] [--ready FILE] [--max-seconds S]
//               --listen MODE,FIRST_ADDR,COUNT,PORT [--listen ...]
//
// MODE: tcp smtp imap pop3 http tls smtps imaps pop3s https silent trickle.
// FIRST_ADDR must be a 127.x.y.z address; COUNT consecutive addresses are bound (x.y.z carry).
// The server exits by itself after --max-seconds (default 3600) so a crashed harness leaves
// nothing behind.
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <sys/resource.h>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

enum class Mode { tcp, smtp, imap, pop3, http, tls, smtps, imaps, pop3s, https, silent, trickle };

struct ModeName {
    std::string_view name;
    Mode mode;
};
constexpr ModeName mode_names[] = {
    {"tcp", Mode::tcp},     {"smtp", Mode::smtp},   {"imap", Mode::imap},   {"pop3", Mode::pop3},
    {"http", Mode::http},   {"tls", Mode::tls},     {"smtps", Mode::smtps}, {"imaps", Mode::imaps},
    {"pop3s", Mode::pop3s}, {"https", Mode::https}, {"silent", Mode::silent}, {"trickle", Mode::trickle},
};

// Which line dialogue a mode speaks once any implicit TLS is up.
enum class Dialogue { none, smtp, imap, pop3, http };

Dialogue dialogue_of(Mode m) {
    switch (m) {
        case Mode::smtp:
        case Mode::smtps: return Dialogue::smtp;
        case Mode::imap:
        case Mode::imaps: return Dialogue::imap;
        case Mode::pop3:
        case Mode::pop3s: return Dialogue::pop3;
        case Mode::http:
        case Mode::https: return Dialogue::http;
        default: return Dialogue::none;
    }
}

bool implicit_tls(Mode m) {
    return m == Mode::tls || m == Mode::smtps || m == Mode::imaps || m == Mode::pop3s || m == Mode::https;
}

constexpr std::size_t max_line = 4096;  // bounded reads: a runaway client cannot grow a buffer
std::atomic<std::uint64_t> accepted_total{0};

bool starts_with_nocase(std::string_view line, std::string_view word) {
    if (line.size() < word.size()) return false;
    for (std::size_t i = 0; i < word.size(); ++i) {
        if (std::toupper(static_cast<unsigned char>(line[i])) != word[i]) return false;
    }
    return true;
}

// Reads one CRLF line into `line` (without CRLF); false on EOF, error or an oversized line.
template <class Stream>
asio::awaitable<bool> read_line(Stream& s, std::string& buf, std::string& line) {
    auto [ec, n] = co_await asio::async_read_until(s, asio::dynamic_buffer(buf, max_line), "\n",
                                                   asio::as_tuple(asio::use_awaitable));
    if (ec) co_return false;
    line.assign(buf.data(), n);
    buf.erase(0, n);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    co_return true;
}

template <class Stream>
asio::awaitable<bool> send(Stream& s, std::string_view text) {
    auto [ec, n] = co_await asio::async_write(s, asio::buffer(text), asio::as_tuple(asio::use_awaitable));
    (void)n;
    co_return !ec;
}

// Holds the connection until the peer closes it (or sends anything we do not parse).
template <class Stream>
asio::awaitable<void> drain(Stream& s) {
    char sink[512];
    for (;;) {
        auto [ec, n] = co_await s.async_read_some(asio::buffer(sink), asio::as_tuple(asio::use_awaitable));
        (void)n;
        if (ec) co_return;
    }
}

struct Shared {
    ssl::context* tls = nullptr;
};

template <class Stream>
asio::awaitable<void> dialogue(Stream& s, tcp::socket& raw, Dialogue d, bool in_tls, Shared& shared,
                               std::string buf);

// STARTTLS: upgrade the plain socket and continue the same dialogue inside TLS.
asio::awaitable<void> upgrade(tcp::socket& raw, Dialogue d, Shared& shared, std::string buf) {
    if (!buf.empty()) co_return;  // pipelined plaintext after STARTTLS is an injection: refuse
    ssl::stream<tcp::socket&> tls(raw, *shared.tls);
    auto [ec] = co_await tls.async_handshake(ssl::stream_base::server, asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    co_await dialogue(tls, raw, d, true, shared, {});
}

template <class Stream>
asio::awaitable<void> smtp(Stream& s, tcp::socket& raw, bool in_tls, Shared& shared, std::string buf) {
    std::string line;
    while (co_await read_line(s, buf, line)) {
        if (starts_with_nocase(line, "EHLO") || starts_with_nocase(line, "LHLO")) {
            if (!co_await send(s, in_tls ? "250-bench.test\r\n250-PIPELINING\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"
                                         : "250-bench.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n"))
                co_return;
        } else if (starts_with_nocase(line, "HELO")) {
            if (!co_await send(s, "250 bench.test\r\n")) co_return;
        } else if (starts_with_nocase(line, "STARTTLS") && !in_tls) {
            if constexpr (std::is_same_v<Stream, tcp::socket>) {
                if (!co_await send(s, "220 2.0.0 ready\r\n")) co_return;
                co_await upgrade(raw, Dialogue::smtp, shared, std::move(buf));
                co_return;
            }
        } else if (starts_with_nocase(line, "QUIT")) {
            co_await send(s, "221 2.0.0 bye\r\n");
            co_return;
        } else if (starts_with_nocase(line, "AUTH")) {
            if (!co_await send(s, "235 2.7.0 ok\r\n")) co_return;
        } else if (starts_with_nocase(line, "NOOP") || starts_with_nocase(line, "RSET")) {
            if (!co_await send(s, "250 2.0.0 ok\r\n")) co_return;
        } else {
            if (!co_await send(s, "502 5.5.2 no\r\n")) co_return;
        }
    }
}

template <class Stream>
asio::awaitable<void> imap(Stream& s, tcp::socket& raw, bool in_tls, Shared& shared, std::string buf) {
    const std::string_view caps = in_tls ? "IMAP4rev1 AUTH=PLAIN" : "IMAP4rev1 STARTTLS AUTH=PLAIN";
    std::string line, out;
    while (co_await read_line(s, buf, line)) {
        const auto space = line.find(' ');
        if (space == std::string::npos) {
            if (!co_await send(s, "* BAD no tag\r\n")) co_return;
            continue;
        }
        const std::string tag = line.substr(0, space);
        const std::string_view cmd = std::string_view(line).substr(space + 1);
        out.clear();
        if (starts_with_nocase(cmd, "CAPABILITY")) {
            out.append("* CAPABILITY ").append(caps).append("\r\n").append(tag).append(" OK done\r\n");
        } else if (starts_with_nocase(cmd, "LOGIN")) {
            out.append(tag).append(" OK [CAPABILITY IMAP4rev1] logged in\r\n");
        } else if (starts_with_nocase(cmd, "SELECT") || starts_with_nocase(cmd, "EXAMINE")) {
            out.append("* 0 EXISTS\r\n").append(tag).append(" OK [READ-ONLY] done\r\n");
        } else if (starts_with_nocase(cmd, "NOOP")) {
            out.append(tag).append(" OK done\r\n");
        } else if (starts_with_nocase(cmd, "LOGOUT")) {
            out.append("* BYE bench\r\n").append(tag).append(" OK bye\r\n");
            co_await send(s, out);
            co_return;
        } else if (starts_with_nocase(cmd, "STARTTLS") && !in_tls) {
            if constexpr (std::is_same_v<Stream, tcp::socket>) {
                out.append(tag).append(" OK begin TLS\r\n");
                if (!co_await send(s, out)) co_return;
                co_await upgrade(raw, Dialogue::imap, shared, std::move(buf));
                co_return;
            }
        } else if (starts_with_nocase(cmd, "AUTHENTICATE")) {
            // SASL-IR or a continuation: accept whatever comes.
            if (cmd.find(' ', 13) == std::string_view::npos) {
                if (!co_await send(s, "+ \r\n")) co_return;
                if (!co_await read_line(s, buf, line)) co_return;
            }
            out.append(tag).append(" OK authenticated\r\n");
        } else {
            out.append(tag).append(" BAD unknown\r\n");
        }
        if (!co_await send(s, out)) co_return;
    }
}

template <class Stream>
asio::awaitable<void> pop3(Stream& s, tcp::socket& raw, bool in_tls, Shared& shared, std::string buf) {
    std::string line;
    while (co_await read_line(s, buf, line)) {
        if (starts_with_nocase(line, "CAPA")) {
            if (!co_await send(s, in_tls ? "+OK\r\nUSER\r\nSASL PLAIN\r\n.\r\n" : "+OK\r\nUSER\r\nSTLS\r\nSASL PLAIN\r\n.\r\n"))
                co_return;
        } else if (starts_with_nocase(line, "STLS") && !in_tls) {
            if constexpr (std::is_same_v<Stream, tcp::socket>) {
                if (!co_await send(s, "+OK begin TLS\r\n")) co_return;
                co_await upgrade(raw, Dialogue::pop3, shared, std::move(buf));
                co_return;
            }
        } else if (starts_with_nocase(line, "STAT")) {
            if (!co_await send(s, "+OK 0 0\r\n")) co_return;
        } else if (starts_with_nocase(line, "QUIT")) {
            co_await send(s, "+OK bye\r\n");
            co_return;
        } else if (starts_with_nocase(line, "AUTH") && line.find(' ', 5) == std::string::npos && line.size() > 5) {
            if (!co_await send(s, "+ \r\n")) co_return;
            if (!co_await read_line(s, buf, line)) co_return;
            if (!co_await send(s, "+OK authenticated\r\n")) co_return;
        } else {
            // USER, PASS, NOOP, AUTH with an initial response: all accepted.
            if (!co_await send(s, "+OK\r\n")) co_return;
        }
    }
}

template <class Stream>
asio::awaitable<void> http(Stream& s) {
    std::string buf;
    auto [ec, n] = co_await asio::async_read_until(s, asio::dynamic_buffer(buf, max_line), "\r\n\r\n",
                                                   asio::as_tuple(asio::use_awaitable));
    (void)n;
    if (ec) co_return;
    co_await send(s, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 9\r\nConnection: close\r\n\r\nbench ok\n");
}

template <class Stream>
asio::awaitable<void> dialogue(Stream& s, tcp::socket& raw, Dialogue d, bool in_tls, Shared& shared,
                               std::string buf) {
    switch (d) {
        case Dialogue::smtp: co_await smtp(s, raw, in_tls, shared, std::move(buf)); break;
        case Dialogue::imap: co_await imap(s, raw, in_tls, shared, std::move(buf)); break;
        case Dialogue::pop3: co_await pop3(s, raw, in_tls, shared, std::move(buf)); break;
        case Dialogue::http: co_await http(s); break;
        case Dialogue::none: co_await drain(s); break;
    }
}

std::string_view greeting(Dialogue d) {
    switch (d) {
        case Dialogue::smtp: return "220 bench.test ESMTP bench\r\n";
        case Dialogue::imap: return "* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] bench ready\r\n";
        case Dialogue::pop3: return "+OK bench ready\r\n";
        default: return {};
    }
}

std::string_view tls_greeting(Dialogue d) {
    switch (d) {
        case Dialogue::imap: return "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] bench ready\r\n";
        default: return greeting(d);
    }
}

asio::awaitable<void> session(tcp::socket sock, Mode mode, Shared& shared) {
    sock.set_option(tcp::no_delay(true));
    const Dialogue d = dialogue_of(mode);
    if (mode == Mode::silent) {
        co_await drain(sock);
    } else if (mode == Mode::trickle) {
        // One byte a second of an SMTP greeting that never completes: keeps a prober waiting.
        asio::steady_timer timer(sock.get_executor());
        for (int i = 0; i < 3600; ++i) {
            char c = "220 bench"[i % 9];
            if (!co_await send(sock, std::string_view(&c, 1))) co_return;
            timer.expires_after(1s);
            co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        }
    } else if (implicit_tls(mode)) {
        ssl::stream<tcp::socket&> tls(sock, *shared.tls);
        auto [ec] = co_await tls.async_handshake(ssl::stream_base::server, asio::as_tuple(asio::use_awaitable));
        if (ec) co_return;
        if (const auto g = tls_greeting(d); !g.empty() && !co_await send(tls, g)) co_return;
        co_await dialogue(tls, sock, d, true, shared, {});
        // No close_notify wait: probers close first and a lingering shutdown only costs CPU.
    } else {
        if (const auto g = greeting(d); !g.empty() && !co_await send(sock, g)) co_return;
        co_await dialogue(sock, sock, d, false, shared, {});
    }
}

asio::awaitable<void> accept_loop(tcp::acceptor acceptor, Mode mode, Shared& shared) {
    for (;;) {
        auto [ec, sock] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
        if (ec) {
            if (ec == asio::error::operation_aborted) co_return;
            // EMFILE and friends: back off briefly rather than spin.
            asio::steady_timer t(acceptor.get_executor(), 10ms);
            co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
            continue;
        }
        accepted_total.fetch_add(1, std::memory_order_relaxed);
        asio::co_spawn(acceptor.get_executor(), session(std::move(sock), mode, shared), asio::detached);
    }
}

struct Listen {
    Mode mode;
    asio::ip::address_v4 first;
    unsigned count;
    unsigned short port;
};

[[noreturn]] void usage(const char* why) {
    std::cerr << "load_server: " << why
              << "\nusage: load_server --cert C --key K [--threads N] [--ready FILE] [--max-seconds S] "
                 "--listen MODE,FIRST_127_ADDR,COUNT,PORT ...\n";
    std::exit(2);
}

Listen parse_listen(const std::string& spec) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (;;) {
        const auto comma = spec.find(',', start);
        parts.push_back(spec.substr(start, comma - start));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    if (parts.size() != 4) usage("--listen wants MODE,FIRST_ADDR,COUNT,PORT");
    Listen l{};
    bool known = false;
    for (const auto& m : mode_names) {
        if (m.name == parts[0]) {
            l.mode = m.mode;
            known = true;
        }
    }
    if (!known) usage("unknown mode");
    boost::system::error_code ec;
    l.first = asio::ip::make_address_v4(parts[1], ec);
    // Loopback only, ever: the harness must never open a port on a real interface.
    if (ec || (l.first.to_uint() >> 24) != 127) usage("FIRST_ADDR must be a 127.x.y.z address");
    l.count = static_cast<unsigned>(std::stoul(parts[2]));
    l.port = static_cast<unsigned short>(std::stoul(parts[3]));
    if (l.count == 0 || ((l.first.to_uint() + l.count - 1) >> 24) != 127) usage("address range leaves 127/8");
    return l;
}

}  // namespace

int main(int argc, char** argv) {
    std::string cert, key, ready;
    unsigned threads = std::max(1u, std::thread::hardware_concurrency());
    long max_seconds = 3600;
    std::vector<Listen> listens;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage("missing value");
            return argv[++i];
        };
        if (a == "--cert") cert = value();
        else if (a == "--key") key = value();
        else if (a == "--threads") threads = static_cast<unsigned>(std::stoul(value()));
        else if (a == "--ready") ready = value();
        else if (a == "--max-seconds") max_seconds = std::stol(value());
        else if (a == "--listen") listens.push_back(parse_listen(value()));
        else usage("unknown argument");
    }
    if (listens.empty()) usage("nothing to listen on");

    // Silent-server scenarios hold tens of thousands of sockets.
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
    std::signal(SIGPIPE, SIG_IGN);

    asio::io_context io(static_cast<int>(threads));
    ssl::context tls(ssl::context::tls_server);
    Shared shared{&tls};
    bool need_tls = false;
    for (const auto& l : listens) need_tls = need_tls || implicit_tls(l.mode) || dialogue_of(l.mode) != Dialogue::none;
    if (need_tls) {
        if (cert.empty() || key.empty()) usage("TLS and STARTTLS modes need --cert and --key");
        tls.use_certificate_chain_file(cert);
        tls.use_private_key_file(key, ssl::context::pem);
    }

    std::size_t bound = 0;
    for (const auto& l : listens) {
        for (unsigned k = 0; k < l.count; ++k) {
            const tcp::endpoint ep(asio::ip::address_v4(l.first.to_uint() + k), l.port);
            tcp::acceptor acc(io);
            acc.open(ep.protocol());
            acc.set_option(tcp::acceptor::reuse_address(true));
            acc.bind(ep);
            acc.listen(4096);
            asio::co_spawn(io, accept_loop(std::move(acc), l.mode, shared), asio::detached);
            ++bound;
        }
    }

    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](auto, int) { io.stop(); });
    asio::steady_timer deadline(io, std::chrono::seconds(max_seconds));
    deadline.async_wait([&](auto ec) {
        if (!ec) io.stop();
    });

    if (!ready.empty()) {
        std::ofstream(ready) << bound << "\n";
    }
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back([&] { io.run(); });
    io.run();
    for (auto& t : pool) t.join();
    std::cerr << "load_server: accepted " << accepted_total.load() << " connections\n";
    return 0;
}
