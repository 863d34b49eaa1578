// tierwatch-faultserver: serves scripted faults on loopback for demos and shell tests.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/fault_server.hpp"
#include "tests/support/test_pki.hpp"

namespace tierwatch::test {
namespace {

constexpr std::string_view usage =
    "usage: tierwatch-faultserver --pki-dir DIR [--san NAME]... [--serve SPEC]...\n"
    "  SPEC: MODE@IP:PORT[,option=value...]   IP must be in 127.0.0.0/8, PORT 0 is ephemeral\n"
    "  MODE: banner silent reset garbage tls http https huge_header trickle accept_queue_full\n"
    "  options: text=  delay=MS  interval=MS (trickle)  cert=good|expired|expiring_soon|\n"
    "           wrong_host|self_signed|missing_intermediate (tls, https; default good)\n"
    "           status=  reason=  body=  location=  header=NAME:VALUE (http, https; repeatable)\n"
    "  values take \\r \\n \\t \\\\ and \\, escapes; commas separate options.\n"
    "  Mints a fresh PKI into DIR (root_ca.pem is what clients trust), prints \"ready\" once\n"
    "  every listener is bound, one \"listening MODE IP:PORT\" line each on stderr, and serves\n"
    "  until SIGTERM or SIGINT.\n";

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Splits at unescaped commas and decodes escapes, so banners can carry CRLF and commas.
std::vector<std::string> split_options(std::string_view spec) {
    std::vector<std::string> parts(1);
    for (std::size_t i = 0; i < spec.size(); ++i) {
        const char c = spec[i];
        if (c == ',') {
            parts.emplace_back();
        } else if (c == '\\' && i + 1 < spec.size()) {
            const char escaped = spec[++i];
            parts.back() += escaped == 'r'   ? '\r'
                            : escaped == 'n' ? '\n'
                            : escaped == 't' ? '\t'
                                             : escaped;
        } else {
            parts.back() += c;
        }
    }
    return parts;
}

template <typename Number>
Number parse_number(std::string_view text, std::string_view what) {
    Number value{};
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size()) {
        throw UsageError("bad " + std::string(what) + ": '" + std::string(text) + "'");
    }
    return value;
}

// "250", "250ms" or "2s".
std::chrono::milliseconds parse_duration(std::string_view text) {
    if (text.ends_with("ms")) {
        text.remove_suffix(2);
    } else if (text.ends_with('s')) {
        text.remove_suffix(1);
        return std::chrono::seconds(parse_number<long>(text, "duration"));
    }
    return std::chrono::milliseconds(parse_number<long>(text, "duration"));
}

struct Listener {
    FaultOptions options;
    CertVariant certificate = CertVariant::good;
};

Listener parse_serve(std::string_view spec) {
    const std::vector<std::string> parts = split_options(spec);
    const std::string& head = parts.front();
    const auto at = head.find('@');
    const auto colon = head.rfind(':');
    if (at == std::string::npos || colon == std::string::npos || colon < at) {
        throw UsageError("--serve wants MODE@IP:PORT, got '" + head + "'");
    }
    Listener listener;
    FaultOptions& options = listener.options;
    const auto behaviour = parse_behaviour(std::string_view(head).substr(0, at));
    if (!behaviour) {
        throw UsageError("unknown mode in '" + head + "'");
    }
    options.behaviour = *behaviour;
    boost::system::error_code bad_address;
    options.address = asio::ip::make_address(head.substr(at + 1, colon - at - 1), bad_address);
    if (bad_address) {
        throw UsageError("bad address in '" + head + "'");
    }
    options.port = parse_number<std::uint16_t>(std::string_view(head).substr(colon + 1), "port");

    for (std::size_t i = 1; i < parts.size(); ++i) {
        const std::string_view option = parts[i];
        const auto equals = option.find('=');
        if (equals == std::string_view::npos) {
            throw UsageError("option '" + std::string(option) + "' wants name=value");
        }
        const std::string_view name = option.substr(0, equals);
        const std::string value(option.substr(equals + 1));
        if (name == "text") {
            options.text = value;
        } else if (name == "delay") {
            options.delay = parse_duration(value);
        } else if (name == "interval") {
            options.trickle_interval = parse_duration(value);
        } else if (name == "cert") {
            const auto variant = parse_cert_variant(value);
            if (!variant) {
                throw UsageError("unknown cert '" + value + "'");
            }
            listener.certificate = *variant;
        } else if (name == "status") {
            options.http.status = parse_number<unsigned>(value, "status");
        } else if (name == "reason") {
            options.http.reason = value;
        } else if (name == "body") {
            options.http.body = value;
        } else if (name == "location") {
            options.http.location = value;
        } else if (name == "header") {
            const auto separator = value.find(':');
            if (separator == std::string::npos) {
                throw UsageError("header wants NAME:VALUE, got '" + value + "'");
            }
            const auto start = value.find_first_not_of(' ', separator + 1);
            options.http.headers.emplace_back(
                value.substr(0, separator),
                start == std::string::npos ? std::string() : value.substr(start));
        } else {
            throw UsageError("unknown option '" + std::string(name) + "'");
        }
    }
    return listener;
}

int run(int argc, char** argv) {
    std::filesystem::path pki_dir;
    PkiOptions pki_options;
    std::vector<Listener> listeners;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::cout << usage;
            return 0;
        }
        if (i + 1 >= argc) {
            throw UsageError("missing value after " + std::string(arg));
        }
        const std::string_view value = argv[++i];
        if (arg == "--pki-dir") {
            pki_dir = value;
        } else if (arg == "--san") {
            pki_options.extra_names.emplace_back(value);
        } else if (arg == "--serve") {
            listeners.push_back(parse_serve(value));
        } else {
            throw UsageError("unknown argument " + std::string(arg));
        }
    }
    if (pki_dir.empty()) {
        throw UsageError("--pki-dir is required");
    }

    // Installed before any listener exists, so an early SIGTERM is handled, not fatal.
    asio::io_context io;
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([](const boost::system::error_code&, int) {});

    const Pki pki = make_pki(pki_dir, pki_options);
    std::vector<std::unique_ptr<FaultServer>> servers;
    for (Listener& listener : listeners) {
        if (listener.options.behaviour == Behaviour::tls ||
            listener.options.behaviour == Behaviour::https) {
            listener.options.certificate = pki.leaf(listener.certificate);
        }
        servers.push_back(std::make_unique<FaultServer>(std::move(listener.options)));
        const FaultServer& server = *servers.back();
        std::cerr << "listening " << to_string(server.options().behaviour) << ' '
                  << server.endpoint() << std::endl;
    }
    std::cout << "ready" << std::endl;
    io.run();  // returns once the signal arrived
    return 0;
}

}  // namespace
}  // namespace tierwatch::test

int main(int argc, char** argv) {
    try {
        return tierwatch::test::run(argc, argv);
    } catch (const tierwatch::test::UsageError& error) {
        std::cerr << "tierwatch-faultserver: " << error.what() << '\n' << tierwatch::test::usage;
        return 2;
    } catch (const std::exception& error) {
        std::cerr << "tierwatch-faultserver: " << error.what() << '\n';
        return 1;
    }
}
