// The mail DNS checks' questions and answers (see lookup.hpp).
#include "probes/wire/maildns/lookup.hpp"

namespace tierwatch {

std::string_view to_string(MailDnsType type) noexcept {
    switch (type) {
        case MailDnsType::txt:
            return "TXT";
        case MailDnsType::a:
            return "A";
        case MailDnsType::aaaa:
            return "AAAA";
        case MailDnsType::mx:
            return "MX";
        case MailDnsType::ptr:
            return "PTR";
    }
    return "?";
}

}  // namespace tierwatch
