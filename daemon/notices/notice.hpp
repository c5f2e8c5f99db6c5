// A security notice's fields, as the admin API takes them and as the
// published event carries them (templates/mail/security.notice.*):
//
//   severity           low | medium | high | critical (required)
//   title              one line (required)
//   summary            a paragraph (required)
//   details            longer text
//   cves               ["CVE-2026-1234", ...]
//   affected_versions  ["2.15.0 - 2.15.6", ...]
//   affected_branches  ["2.15", "2.16"]
//   fixed              [{"branch": "2.15", "version": "2.15.7"}, ...]
//   patches            [{"ticket": "LU-17000", "url": "https://...", "summary": "..."}]
//   patch_list         [{"release": "2.15.7", "ticket": "LU-17000"}]: entries of
//                      the supported critical-patch list. Each must be on the
//                      release's list when the notice is created or revised;
//                      its change_url, severity, summary and page_url (the
//                      release's page) are then copied into the notice, so
//                      that what is approved and sent never changes, even if
//                      the entry leaves the list later.
//   credits            ["Jane Doe (Example Lab)", ...]
//   url                the advisory's page, if it has one
//
// Revisions add revision_reason (why it was revised or withdrawn).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "daemon/config.hpp"
#include "daemon/event.hpp"
#include "daemon/expected.hpp"
#include "daemon/store/notices.hpp"

namespace herald {

// The fields of a notice from an API body's "notice" object, checked and
// normalised (unknown fields refused, sizes bounded). bad_input naming the
// field and what is wrong with it.
Expected<nlohmann::json> notice_fields(const nlohmann::json& in);

// The event a published notice becomes (kind security.notice, key
// notice:OSFS-SA-2026-001-1).
Event notice_event(const Notice& n);

// What the admin API shows of a notice.
nlohmann::json notice_json(const Notice& n, const SecurityConfig& rule);

}  // namespace herald
