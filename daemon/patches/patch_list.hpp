// The supported critical-patch list outside the store: what an entry must
// look like, the event that announces an addition, and the public views of a
// release's list (JSON, Atom). Only applied entries are ever shown publicly.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/config.hpp"
#include "daemon/event.hpp"
#include "daemon/expected.hpp"
#include "daemon/store/patches.hpp"

namespace herald {

bool valid_release(std::string_view s);  // 2.15.7 (three or four numbers)
bool valid_ticket(std::string_view s);   // LU-17000
bool valid_branch(std::string_view s);   // 2.15

// The entry an "add" body names, checked field by field; bad_input says which
// field is wrong. Without branches, the release's own branch (2.15.7 -> 2.15).
Expected<PatchEntry> patch_entry_from_json(const nlohmann::json& body);

// The URL of a release's page: [web] base_url + /patches/RELEASE, or the
// path alone when base_url is not set.
std::string patch_page_url(const Config& cfg, const std::string& release);

// The patch.supported event of an applied addition; its key is
// patch:RELEASE:TICKET:CHANGE (the change applying it, entry.change_id), its
// url the release's page when [web] base_url is set, else empty.
Event supported_patch_event(const Config& cfg, const PatchEntry& entry, int64_t now);

// Release numbers in order, newest first (2.16.1 before 2.15.10 before 2.15.9).
bool release_newer(const std::string& a, const std::string& b);

// A release's public JSON (docs/patches.schema.json).
nlohmann::json release_json(const Config& cfg, const std::string& release,
                            const std::vector<PatchEntry>& supported, int64_t now);
// A release's Atom 1.0 feed: one entry per supported patch, tag: ids that
// never change for an entry, updated = when it became supported.
std::string release_atom(const Config& cfg, const std::string& release,
                         const std::vector<PatchEntry>& supported, int64_t now);

}  // namespace herald
