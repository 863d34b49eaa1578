// E-mail pager: delivers a page as a plain-text mail through an SMTP relay (STARTTLS or
// implicit TLS, optional AUTH PLAIN), with the mails of one alarm threaded by its dedup key.
//
// [[pager]] keys: url = "smtp://relay:587" (STARTTLS unless starttls = false) or
// "smtps://relay:465"; from = "tierwatch@example.com"; to = ["oncall@example.com", ...];
// username with secret_file (the password) for AUTH PLAIN, only ever over TLS; helo_name;
// ca_file, tls_verify.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "daemon/paging/pagers.hpp"

namespace tierwatch {

// The RFC 5322 message for `event`, CRLF line ends, dot-stuffed and ending in CRLF "." CRLF,
// ready to follow DATA. Header values are stripped of line breaks (no header injection).
std::string email_message(const PageEvent& event, const std::string& from,
                          const std::vector<std::string>& to);

// Throws std::runtime_error for a missing `to`, a bad url or an unreadable secret file.
std::unique_ptr<Pager> make_email_pager(const PagerConfig& config, const PagerOptions& options);

}  // namespace tierwatch
