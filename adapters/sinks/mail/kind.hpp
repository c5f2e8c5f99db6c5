// The mail destination kind: a list address or fixed recipients, over SMTP
// ([mail] smtp_url) or into the Maildir.
#pragma once

#include "daemon/destination.hpp"
#include "daemon/render.hpp"

namespace herald::mail {

DestinationKind mail_destination_kind();

// The outbox row for a rendered mail: From ([mail].from or the destination's),
// To, list headers and a Message-ID derived from key. bad_input when an
// address or a header value is invalid.
Expected<NewDelivery> build_delivery(const Config& cfg, const DestinationConfig& dest,
                                     const RenderedMail& mail, const std::string& key,
                                     int64_t now);

// The transport [mail] asks for: SMTP when smtp_url is set, else the Maildir.
std::unique_ptr<Sink> make_sink(const MailConfig& mail);

}  // namespace herald::mail
