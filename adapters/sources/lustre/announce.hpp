// What a Lustre release announcement adds to its mail context when it is
// rendered: links from [lustre] (download, release notes, where to report
// problems), the upgrade note, and the tickets the tracker lists as fixed in
// the release.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "daemon/config.hpp"
#include "daemon/event.hpp"

namespace herald::lustre {

// tmpl with every "{version}" and "{branch}" replaced.
std::string expand_template(std::string_view tmpl, const std::string& version,
                            const std::string& branch);

// The keys to merge into the mail context of e: download_url, release_notes_url, report_url
// (only those configured and fitting the release's class). An empty object for events that
// are not Lustre releases (no "version" attribute).
nlohmann::json announcement_context(const Event& e, const Config& cfg);

}  // namespace herald::lustre
