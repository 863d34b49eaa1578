// One OpenSSL client context per trust configuration (and tls_resume setting), shared by every
// probe that uses it, and the certificate facts read from a finished handshake.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "probes/net/result.hpp"

namespace tierwatch {

class TlsContextCache {
public:
    // The context for this trust configuration, built (and its CA file read) on first use.
    // Throws std::runtime_error naming the file when the CA file cannot be loaded.
    boost::asio::ssl::context& get(const TlsSettings& settings);

private:
    struct Entry {
        bool verify;
        bool resume;
        std::filesystem::path ca_file;
        std::unique_ptr<boost::asio::ssl::context> context;
    };
    // A handful of trust configurations: get() runs once per TLS handshake, and a scan comparing
    // two flags and a path builds no key string and hashes nothing.
    std::vector<Entry> contexts_;
};

// Prepares a client SSL object: SNI and the expected host name or IP.
void configure_client_ssl(SSL* ssl, const TlsSettings& settings, std::string_view server_name,
                          std::string_view address_text);

// Certificate facts of the peer's presented chain (valid after a handshake).
CertificateFacts read_certificate_facts(SSL* ssl);

// After a handshake: none when the chain verified (or verification is off), otherwise
// cert_expired or tls_verify with OpenSSL's reason in `detail`.
FailureReason verification_failure(SSL* ssl, const TlsSettings& settings, std::string& detail);

}  // namespace tierwatch
