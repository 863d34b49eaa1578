// The long-running daemon: engine, HTTP interface and signal handling on one event loop.
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <functional>

#include "daemon/web/admin_api.hpp"
#include "daemon/cli/commands.hpp"
#include "daemon/engine/engine.hpp"
#include "daemon/web/http_server.hpp"
#include "daemon/web/status_routes.hpp"
#include "daemon/engine/systemd_notify.hpp"

namespace tierwatch {

namespace asio = boost::asio;
namespace http = boost::beast::http;

std::uint64_t raise_file_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
        getrlimit(RLIMIT_NOFILE, &limit);
    }
    return limit.rlim_cur;
}

namespace {

void text_response(HttpResponse& response, http::status status, std::string body,
                   std::string_view content_type = "text/plain; charset=utf-8") {
    response.result(status);
    response.set(http::field::content_type, content_type);
    response.body() = std::move(body);
}

HttpHandler make_routes(Engine& engine, std::function<Expected<>()> reload) {
    return [&engine, reload = std::move(reload)](const HttpRequest& request,
                                                 HttpResponse& response) -> asio::awaitable<void> {
        bool served = co_await serve_status_routes(engine, request, response);  // /status, /api/v1 reads
        if (!served) served = co_await serve_admin(engine, reload, request, response);
        if (served) co_return;
        const std::string_view target = request.target();
        const std::string_view path = target.substr(0, target.find('?'));
        const bool read = request.method() == http::verb::get || request.method() == http::verb::head;
        if (path == "/metrics" && read) {
            std::string body;
            body.reserve(1 << 16);
            co_await engine.render_metrics(body);
            text_response(response, http::status::ok, std::move(body),
                          "text/plain; version=0.0.4; charset=utf-8");
        } else if (path == "/-/healthy" && read) {
            text_response(response, http::status::ok, "tierwatch is healthy.\n");
        } else if (path == "/-/ready" && read) {
            if (engine.ready()) {
                text_response(response, http::status::ok, "tierwatch is ready.\n");
            } else {
                text_response(response, http::status::service_unavailable,
                              "tierwatch is resolving its targets.\n");
            }
        } else if (path == "/" && read) {
            // The NOC types the bare address into the wall screen's browser.
            text_response(response, http::status::found, "see /status\n");
            response.set(http::field::location, "/status");
        } else if (path == "/metrics" || path == "/-/healthy" || path == "/-/ready") {
            text_response(response, http::status::method_not_allowed, "use GET\n");
            response.set(http::field::allow, "GET, HEAD");
        } else {
            text_response(response, http::status::not_found, "not found; try /status, /metrics, /api/v1/targets, /api/v1/alarms, /api/v1/silences\n");
        }
    };
}

}  // namespace

// Every probe in flight holds a socket; the rest is the listener, scrapes, DNS and pagers.
constexpr std::uint64_t reserved_files = 256;

// A max_in_flight the descriptor limit cannot carry would fail probes with EMFILE at the worst
// moment (an outage makes every probe wait its full timeout): refuse it when the operator asked
// for it, lower the built-in default with a warning.
std::shared_ptr<const Config> fit_file_limit(std::shared_ptr<const Config> config, std::uint64_t files) {
    const std::uint64_t wanted = config->daemon.max_in_flight;
    if (wanted + reserved_files <= files) return config;
    if (config->daemon.max_in_flight_explicit || files <= 2 * reserved_files) {
        throw std::runtime_error(config->file.string() + ": max_in_flight = " + std::to_string(wanted) +
                                 " needs about " + std::to_string(wanted + reserved_files) +
                                 " file descriptors, but the limit is " + std::to_string(files) +
                                 " (raise LimitNOFILE or ulimit -Hn, or lower max_in_flight)");
    }
    auto fitted = std::make_shared<Config>(*config);
    fitted->daemon.max_in_flight = static_cast<std::uint32_t>(files - reserved_files);
    spdlog::warn("max_in_flight lowered from its default {} to {}: the file descriptor limit is {}", wanted,
                 fitted->daemon.max_in_flight, files);
    return fitted;
}

int run_daemon(std::shared_ptr<const Config> config) {
    std::signal(SIGPIPE, SIG_IGN);
    const auto files = raise_file_limit();
    config = fit_file_limit(std::move(config), files);
    asio::io_context io(1);
    Engine engine(io.get_executor(), config);
    const auto listener_tls = [](const Config& c) {
        return c.daemon.tls_cert_file.empty() ? nullptr
                                              : make_listener_tls(c.daemon.tls_cert_file, c.daemon.tls_key_file);
    };
    std::unique_ptr<HttpServer> server;
    // The file is validated whole before anything changes; the listener's certificate is
    // re-read too (renewed certificates need no restart).
    auto reload = [&, file = config->file, shard = config->daemon.shard, files] {
        spdlog::info("reloading the configuration from {}", file.string());
        std::shared_ptr<asio::ssl::context> tls;
        auto reloaded = engine.reload([&] {
            auto loaded = load_config(file);
            loaded.daemon.shard = shard;  // from the command line, which a reload does not re-read
            auto next = fit_file_limit(std::make_shared<const Config>(std::move(loaded)), files);
            tls = listener_tls(*next);
            return next;
        });
        if (reloaded) server->set_tls(std::move(tls));
        return reloaded;
    };
    server = std::make_unique<HttpServer>(io.get_executor(), parse_listen_address(config->daemon.listen),
                                          make_routes(engine, reload));
    server->set_tls(listener_tls(*config));
    asio::signal_set reload_signal(io, SIGHUP);
    std::function<void()> await_reload = [&] {
        reload_signal.async_wait([&](const boost::system::error_code& error, int) {
            if (error) return;
            notify_systemd("RELOADING=1");
            (void)reload();  // a failure is logged and counted; the running configuration stays
            notify_systemd("READY=1");
            await_reload();
        });
    };
    await_reload();
    asio::steady_timer watchdog(io);
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& error, int signal) {
        if (error) return;
        spdlog::info("received signal {}, stopping", signal);
        notify_systemd("STOPPING=1");
        engine.stop();
        server->stop();
        reload_signal.cancel();
        watchdog.cancel();
        io.stop();  // in-flight probes are abandoned and their sockets closed with the loop
    });
    engine.start();
    server->start();
    // The keep-alive comes from a timer on the loop: if the loop is stuck, systemd restarts us.
    std::function<void()> keep_alive;
    if (const auto interval = systemd_watchdog_interval()) {
        keep_alive = [&, every = *interval] {
            notify_systemd("WATCHDOG=1");
            watchdog.expires_after(every);
            watchdog.async_wait([&](const boost::system::error_code& error) {
                if (!error) keep_alive();
            });
        };
        keep_alive();
    }
    const auto endpoint = server->local_endpoint();
    spdlog::info("tierwatch {} listening on {}{}:{} ({} nodes, {} NLBs, {} checks, file limit {})",
                 TIERWATCH_VERSION, config->daemon.tls_cert_file.empty() ? "" : "https://",
                 endpoint.address().to_string(), endpoint.port(),
                 config->nodes.size(), config->nlbs.size(), config->checks.size(), files);
    // Configuration loaded and listener bound: ready.
    notify_systemd("READY=1\nSTATUS=probing");
    io.run();
    spdlog::info("stopped");
    return 0;
}

}  // namespace tierwatch
