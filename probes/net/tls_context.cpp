// Shared SSL_CTX per trust configuration, client SSL setup and certificate facts.
#include "probes/net/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>
#include <ctime>
#include <stdexcept>

#include "probes/net/tls_session.hpp"

namespace tierwatch {
namespace {

std::string name_to_string(const X509_NAME* name) {
    if (name == nullptr) return {};
    BIO* bio = BIO_new(BIO_s_mem());
    X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio, &data);
    std::string text(data, static_cast<std::size_t>(length));
    BIO_free(bio);
    return text;
}

std::int64_t to_epoch_seconds(const ASN1_TIME* time) {
    std::tm tm{};
    if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) return 0;
    return static_cast<std::int64_t>(timegm(&tm));
}

std::vector<std::string> subject_alt_names(X509* cert) {
    std::vector<std::string> names;
    auto* general_names = static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    if (general_names == nullptr) return names;
    for (int i = 0; i < sk_GENERAL_NAME_num(general_names); ++i) {
        const GENERAL_NAME* entry = sk_GENERAL_NAME_value(general_names, i);
        if (entry->type == GEN_DNS) {
            const auto* dns = entry->d.dNSName;
            names.emplace_back("DNS:" + std::string(reinterpret_cast<const char*>(
                                                         ASN1_STRING_get0_data(dns)),
                                                     ASN1_STRING_length(dns)));
        } else if (entry->type == GEN_IPADD) {
            const auto* ip = entry->d.iPAddress;
            const auto* bytes = ASN1_STRING_get0_data(ip);
            if (ASN1_STRING_length(ip) == 4) {
                boost::asio::ip::address_v4::bytes_type v4;
                std::copy(bytes, bytes + 4, v4.begin());
                names.emplace_back("IP:" + boost::asio::ip::address_v4(v4).to_string());
            } else if (ASN1_STRING_length(ip) == 16) {
                boost::asio::ip::address_v6::bytes_type v6;
                std::copy(bytes, bytes + 16, v6.begin());
                names.emplace_back("IP:" + boost::asio::ip::address_v6(v6).to_string());
            }
        }
    }
    GENERAL_NAMES_free(general_names);
    return names;
}

// "TLSv1.3" -> "TLS 1.3", as blackbox_exporter labels it.
std::string blackbox_version_name(std::string_view openssl_name) {
    if (openssl_name.starts_with("TLSv")) return "TLS " + std::string(openssl_name.substr(4));
    return std::string(openssl_name);
}

bool is_ip_literal(std::string_view text) {
    boost::system::error_code ec;
    boost::asio::ip::make_address(text, ec);
    return !ec;
}

}  // namespace

boost::asio::ssl::context& TlsContextCache::get(const TlsSettings& settings) {
    for (const Entry& entry : contexts_) {
        if (entry.verify == settings.verify && entry.resume == settings.resume &&
            entry.ca_file.native() == settings.ca_file.native()) {
            return *entry.context;
        }
    }

    auto context = std::make_unique<boost::asio::ssl::context>(boost::asio::ssl::context::tls_client);
    SSL_CTX* ctx = context->native_handle();
    // The handshake completes whatever the chain; the verdict is read afterwards so a failed
    // verification still reports the certificate's facts (expiry, subject) to the operator.
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    if (settings.resume) {
        // Sessions are kept per target, handed over by a callback; checks without tls_resume keep
        // a context with no session handling at all.
        enable_session_capture(ctx);
    } else {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    }
    if (settings.verify) {
        if (SSL_CTX_load_verify_locations(ctx, settings.ca_file.c_str(), nullptr) != 1) {
            char reason[256];
            ERR_error_string_n(ERR_get_error(), reason, sizeof reason);
            ERR_clear_error();
            throw std::runtime_error("cannot load CA file " + settings.ca_file.string() + ": " +
                                     reason);
        }
    }
    auto& stored = *context;
    contexts_.push_back({settings.verify, settings.resume, settings.ca_file, std::move(context)});
    return stored;
}

void configure_client_ssl(SSL* ssl, const TlsSettings& settings, std::string_view server_name,
                          std::string_view address_text) {
    const std::string name(settings.server_name.empty() ? server_name : settings.server_name);
    if (!name.empty() && !is_ip_literal(name)) SSL_set_tlsext_host_name(ssl, name.c_str());
    if (!settings.verify || !settings.verify_hostname) return;
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (!name.empty() && !is_ip_literal(name)) {
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
    } else {
        const std::string ip(name.empty() ? address_text : name);
        X509_VERIFY_PARAM_set1_ip_asc(param, ip.c_str());
    }
}

CertificateFacts read_certificate_facts(SSL* ssl) {
    CertificateFacts facts;
    facts.tls_version = blackbox_version_name(SSL_get_version(ssl));
    if (const char* cipher = SSL_get_cipher_name(ssl)) facts.cipher = cipher;
    STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
    for (int i = 0; chain != nullptr && i < sk_X509_num(chain); ++i) {
        const auto not_after = to_epoch_seconds(X509_get0_notAfter(sk_X509_value(chain, i)));
        if (facts.earliest_not_after == 0 || not_after < facts.earliest_not_after) {
            facts.earliest_not_after = not_after;
        }
    }
    if (X509* leaf = SSL_get0_peer_certificate(ssl)) {
        facts.subject = name_to_string(X509_get_subject_name(leaf));
        facts.issuer = name_to_string(X509_get_issuer_name(leaf));
        facts.subject_alt_names = subject_alt_names(leaf);
    }
    return facts;
}

FailureReason verification_failure(SSL* ssl, const TlsSettings& settings, std::string& detail) {
    if (!settings.verify) return FailureReason::none;
    if (SSL_get0_peer_certificate(ssl) == nullptr) {
        detail = "server presented no certificate";
        return FailureReason::tls_verify;
    }
    const long result = SSL_get_verify_result(ssl);
    if (result == X509_V_OK) return FailureReason::none;
    detail = X509_verify_cert_error_string(result);
    return result == X509_V_ERR_CERT_HAS_EXPIRED ? FailureReason::cert_expired
                                                 : FailureReason::tls_verify;
}

}  // namespace tierwatch
