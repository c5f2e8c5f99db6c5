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
// (only those configured and fitting the release's class); for a GA release the upgrade
// note (upgrade_previous + upgrade_branch, or interop_release + interop_branch) and
// "fixed", the tickets fixed in it, looked up in the tracker once per call and within
// [lustre] fixed_timeout (left out, with a warning in the log, when the tracker does not
// answer in time). An empty object for events that are not Lustre releases.
nlohmann::json announcement_context(const Event& e, const Config& cfg);

}  // namespace herald::lustre
