#include "probes/http/http_response.hpp"

namespace tierwatch {

HttpReadError classify_http_read_error(const boost::system::error_code& code) {
    namespace http = boost::beast::http;
    if (!code) return HttpReadError::none;
    // A chunk header that outgrows the bounded buffer overflows it.
    if (code == http::error::header_limit || code == http::error::buffer_overflow)
        return HttpReadError::header_too_large;
    if (code == http::error::body_limit) return HttpReadError::body_too_large;
    // The rest of Beast's category: a malformed response, or end_of_stream/partial_message.
    if (code.category() == make_error_code(http::error::bad_version).category())
        return HttpReadError::malformed;
    return HttpReadError::io;
}

}  // namespace tierwatch
