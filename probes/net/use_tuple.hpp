// The completion token of every awaited operation on the loop: (error_code, value...) instead of
// an exception, because a refused connection or a timed-out read is data for a prober, not a fault.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace tierwatch {

inline constexpr auto use_tuple = boost::asio::as_tuple(boost::asio::use_awaitable);

}  // namespace tierwatch
