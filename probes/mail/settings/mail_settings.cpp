// Reads the mail family's keys of a check (see mail_settings.hpp).
#include "probes/mail/settings/mail_settings.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include "config/toml/section.hpp"

namespace tierwatch {

namespace {

using detail::contains;
using detail::in_quotes;
using detail::joined;

constexpr std::array<std::string_view, 2> mail_only_keys{"expect_capabilities", "auth_mechanism"};
constexpr std::array<std::string_view, 1> smtp_only_keys{"helo_name"};
constexpr std::array<std::string_view, 1> imap_only_keys{"mailbox"};
constexpr std::array<std::string_view, 4> mail_keys{"expect_capabilities", "auth_mechanism", "helo_name", "mailbox"};
constexpr std::array<std::string_view, 2> auth_mechanisms{"plain", "login"};

}  // namespace

std::span<const std::string_view> mail_settings_keys() noexcept { return mail_keys; }

void reject_foreign_mail_keys(const Section& s, Protocol protocol) {
    const std::string_view name = to_string(protocol);
    if (!is_mail_protocol(protocol)) {
        s.reject_keys_for(mail_only_keys, "mail protocols (smtp, smtps, submission, lmtp, imap, imaps, pop3, pop3s)",
                          name);
    }
    if (!is_smtp_family(protocol)) {
        s.reject_keys_for(smtp_only_keys, "protocols smtp, smtps, submission, lmtp", name);
    }
    if (!is_imap(protocol)) {
        s.reject_keys_for(imap_only_keys, "protocols imap, imaps", name);
    }
}

MailSettings read_mail_settings(const Section& s, Protocol protocol) {
    MailSettings mail;
    mail.starttls = s.flag("starttls").value_or(false);
    mail.expect_capabilities =
        s.get_list<std::string>("expect_capabilities", [](const std::string& value) {
             if (value.empty() || value.front() == ' ' || value.back() == ' ') {
                 return std::string("each entry of \"expect_capabilities\" must be a capability name without "
                                    "surrounding spaces, got ") +
                        in_quotes(value);
             }
             return control_character_problem("expect_capabilities", value);
         }).value_or(std::vector<std::string>{});
    mail.mailbox = s.get<std::string>("mailbox", [](const std::string& value) {
                        return value.empty() ? std::string("\"mailbox\" must not be empty")
                                             : control_character_problem("mailbox", value);
                    }).value_or(mail.mailbox);
    // SMTP's AUTH PLAIN is the common ground; IMAP LOGIN and POP3 USER/PASS work where SASL is off.
    mail.auth = is_smtp_family(protocol) ? MailAuth::plain : MailAuth::login;
    if (const auto mechanism = s.get<std::string>("auth_mechanism", [](const std::string& value) {
            return contains(auth_mechanisms, value) ? std::string()
                                                    : "invalid auth_mechanism " + in_quotes(value) +
                                                          " (expected one of: " + joined(auth_mechanisms) + ")";
        })) {
        mail.auth = *mechanism == "plain" ? MailAuth::plain : MailAuth::login;
    }
    mail.helo_name = s.get<std::string>("helo_name", [](const std::string& value) {
                          const bool valid = !value.empty() && std::all_of(value.begin(), value.end(), [](char c) {
                              return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' ||
                                     c == ':' || c == '[' || c == ']';
                          });
                          return valid ? std::string()
                                       : "invalid helo_name " + in_quotes(value) +
                                             " (expected a domain or an address literal like [192.0.2.1])";
                      }).value_or(mail.helo_name);
    return mail;
}

}  // namespace tierwatch
