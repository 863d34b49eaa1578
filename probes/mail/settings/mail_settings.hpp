// The mail family's typed settings and their reader: what a check of protocol smtp, smtps,
// submission, lmtp, imap, imaps, pop3 or pop3s may set beyond the common keys. The configuration
// core hands a mail check's table to read_mail_settings(); the family's probers read the result.
// Plain values, so the configuration layer can hold them without seeing the network layer.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/protocol/protocols.hpp"

namespace tierwatch {

class Section;

// How a mail check logs in. `login` is the protocol's own plain-text login where it has one
// (IMAP LOGIN, POP3 USER/PASS) and SASL LOGIN for SMTP; `plain` is SASL PLAIN everywhere.
enum class MailAuth : std::uint8_t { plain, login };

// SMTP / LMTP / IMAP / POP3 dialogue settings.
struct MailSettings {
    bool starttls = false;  // upgrade the plain dialogue; the capabilities after TLS are checked
    // Each entry is a capability keyword, optionally followed by parameters it must list
    // ("AUTH PLAIN", "SASL PLAIN"); IMAP atoms such as "AUTH=PLAIN" are matched whole.
    std::vector<std::string> expect_capabilities;
    std::string mailbox = "INBOX";  // IMAP: examined after login
    MailAuth auth = MailAuth::plain;
    // EHLO/LHLO argument: syntactically a domain (postscreen and reject_non_fqdn_helo_hostname
    // accept it), and reserved by RFC 2606, so it never names anybody's host.
    std::string helo_name = "tierwatch.invalid";
};

// The keys read_mail_settings() reads, for the core's list of keys a check may have.
std::span<const std::string_view> mail_settings_keys() noexcept;
// Refuses, for any protocol, a mail key it would ignore, naming the protocols the key is for.
void reject_foreign_mail_keys(const Section& s, Protocol protocol);
// A mail protocol's settings from its check's table (`starttls` included; whether the protocol
// can upgrade at all is the core's STARTTLS rule). Throws ConfigError at the offending value.
MailSettings read_mail_settings(const Section& s, Protocol protocol);

}  // namespace tierwatch
