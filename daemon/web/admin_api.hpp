// The write side of the HTTP interface: silences (/api/v1/silences) and POST /-/reload, behind a
// bearer token read from [daemon] api_token_file. Reads of silences need no token.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <string>

#include "config/config.hpp"
#include "daemon/base/expected.hpp"
#include "daemon/web/http_server.hpp"

namespace tierwatch {

class Engine;

enum class Authorization { granted, no_token_configured, missing, wrong };

// Compares the request's "Authorization: Bearer ..." with `token` in constant time (over
// digests, so not even the length leaks).
Authorization authorize(const HttpRequest& request, const Secret& token);

// Serves the request if its path is one of the admin endpoints and returns true; false leaves
// it to other routes. `reload` reloads the configuration file.
boost::asio::awaitable<bool> serve_admin(Engine& engine, const std::function<Expected<>()>& reload,
                                         const HttpRequest& request, HttpResponse& response);

}  // namespace tierwatch
