// One way to probe a target, shared by the daemon's loop, `--once` and `tierwatch check`.
#include "daemon/scheduling/probe_target.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <string>

namespace tierwatch {

boost::asio::awaitable<ProbeResult> probe_target(const TargetSpec& spec, const ProbeRequest& request,
                                                 ProbeContext& context, ProberException on_exception) {
    ProbeResult result;
    if (!spec.dns_error.empty()) {
        co_await boost::asio::post(context.executor, boost::asio::use_awaitable);
        result.reason = FailureReason::dns;
        result.detail = spec.dns_error;
        co_return result;
    }
    try {
        result = co_await run_probe(request, context);
    } catch (const std::exception& error) {
        if (on_exception == ProberException::propagate) throw;
        result = ProbeResult{};
        result.reason = FailureReason::protocol;
        result.detail = std::string("internal error: ") + error.what();
    }
    co_return result;
}

}  // namespace tierwatch
