// herald's configuration: one TOML file read through one table of keys.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace herald {

struct SourceConfig {
  std::string name;
  std::string kind;  // feed | jira | github | eol | osv | gerrit | *-webhook (source_kind.hpp)
  std::string url;   // http(s):// or file://
  int64_t interval_ms = 15 * 60'000;
  int64_t timeout_ms = 30'000;
  int64_t connect_timeout_ms = 10'000;
  int64_t max_size = 5 * 1024 * 1024;
  long max_redirects = 5;
  std::string release_model;  // "lustre" (versions from titles) or "generic"
  std::string project = "lustre";
  bool project_set = false;  // `project` was written (gerrit: a filter only when it was)
  int64_t max_age_ms =
      0;  // entries older than this at first sight are recorded, not announced; 0 = no limit
  std::vector<std::string> changelogs;  // lustre/ChangeLog files or URLs, searched in order
  // Trackers (jira, github) polled over their REST APIs.
  std::string base_url;  // jira: https://jira.whamcloud.com; github: https://api.github.com
  std::string jql = "project = LU";  // jira: the search, herald adds the updated cursor and order
  std::string api = "v2";  // jira: v2 (/rest/api/2/search) | v3 (Cloud /rest/api/3/search/jql)
  int page_size = 50;
  std::string repo;         // github: owner/name
  std::string auth_user;    // basic auth user (jira); empty = token or anonymous
  std::string auth_secret;  // password or token (secret), never logged
  // Webhook sources: where they are posted and how they are verified.
  std::string path;    // e.g. "/hooks/jira"; eol: the product file as written
  std::string file;    // eol: path resolved against the configuration's folder
  std::string secret;  // HMAC key (github, jira) or token (gitlab); secret
  // End-of-life schedules (eol).
  std::string product;                             // e.g. "lustre", "rhel"; in event keys
  std::vector<int64_t> points = {180, 90, 30, 7};  // days before the EOL date
  std::string timezone = "UTC";                    // whose midnight a notice is due at
  // Watches that propose (osv, gerrit): what a record or a change must carry to be taken.
  std::vector<std::string> packages;  // osv: affected package names; empty = all
  std::vector<std::string> branches;  // gerrit: the branches queried
  std::vector<std::string> hashtags;  // gerrit: a change carrying one of them is a candidate
  std::vector<std::string> topics;    // gerrit: ... and so is one whose topic is listed
  int line = 0;        // where it was defined, for messages
};

// The HTTP server: webhooks, the event API, /healthz and /metrics.
struct HttpConfig {
  std::string listen;  // "127.0.0.1:8080"; empty = no HTTP server
  int64_t max_body = 1024 * 1024;
  std::string api_token;  // bearer token for /api/v1/*; secret; empty = API disabled
  int threads = 2;
  int max_connections = 1000;        // open at once; beyond, new ones are closed at once
  int max_connections_per_ip = 64;   // from one client address; 0 = no limit
  int64_t read_timeout_ms = 10'000;  // for a request's headers and body to arrive; 0 = none
};

// A digest: events of a window collected into one message on a schedule.
struct DigestConfig {
  std::string name;
  std::string schedule;  // cron expression or @daily/@weekly
  std::string timezone = "UTC";
  std::vector<std::string> kinds = {"bug.created", "bug.updated", "bug.resolved"};
  std::vector<std::string> projects;    // tag project; empty = any
  std::vector<std::string> components;  // tag component; empty = any
  std::vector<std::string> labels;      // tag labels; empty = any
  std::string min_severity;             // empty = any
  std::vector<std::string> to;          // destination names (the audience)
  std::vector<std::string> group_by = {"component", "priority"};
  bool send_empty = false;
  std::string title;  // default: "<name> digest"
  int line = 0;
};

// A subscription topic: what its subscribers receive (events of these kinds
// carrying all of these tags, "key=value").
struct TopicConfig {
  std::string name;
  std::string title;               // shown on the subscribe page; default: the name
  std::vector<std::string> kinds;  // event kinds; empty = any
  std::vector<std::string> tags;   // "key=value", all must hold; empty = any
  int line = 0;
};

// The subscription pages: where subscribers reach them (links in mail).
struct WebConfig {
  std::string base_url;  // "https://announce.example.org"; empty = no subscription pages
  std::string from;      // sender of subscriber mail; empty = [mail] from
  int subscribe_per_client = 10;  // subscribe attempts an hour from one client address
  int mails_per_address = 3;      // confirmation (or preferences) mails an hour to one address
  int64_t confirm_expiry_s = 3 * 86'400;
  int line = 0;
};

// An admin of the security notices and the patch list: the admin API takes
// their bearer token (from a secret file) and lets them do what `may` names.
struct AdminConfig {
  std::string name;
  std::string token;  // read from token_file; at least 32 characters
  // draft (create, revise, withdraw), approve, publish, patches, read (show, list, log).
  std::vector<std::string> may = {"draft", "approve", "publish", "patches", "read"};
  int line = 0;
};

// Security notices: their ids, the approval rule, where a published one goes.
struct SecurityConfig {
  std::string prefix = "OSFS-SA";  // advisory ids PREFIX-YYYY-NNN
  int approvals = 1;               // distinct admins; with 2 or more, never the author
  std::string topic = "security";  // subscribers of this topic get every published notice
  std::vector<std::string> to;     // destinations (the list, chat channels)
  int64_t max_embargo_s = 14 * 86'400;
  int priority = 100;  // deliveries of a notice are claimed before those of a lower priority
};

struct DestinationConfig {
  std::string name;
  std::string kind = "mail";
  std::vector<std::string> to;  // recipients ("Name <a@b>" or "a@b")
  std::string from;             // overrides [mail].from
  std::string subject_prefix;   // e.g. "[lustre-announce]"
  std::string list_id, list_post, list_archive, list_help;
  bool precedence_list = true;
  std::string templates = "";  // template set name; default: by event kind
  // HTTP kinds (webhook, slack, mattermost, discord, matrix, teams).
  std::string url;                   // the endpoint; secret (its path or query is the token)
  std::vector<std::string> secrets;  // webhook: Standard Webhooks keys (whsec_...), all sign
  std::string homeserver;            // matrix: https://matrix.example.org
  std::string room;                  // matrix: !room:example.org
  std::string access_token;          // matrix: secret
  std::string username;              // slack, mattermost, discord: the poster's name
  std::string icon_url;              // slack, mattermost, discord: the poster's picture
  double rate = 0;                   // messages a second at most; 0 = the kind's default
  int burst = 1;                     // sent at once before the rate applies
  int64_t timeout_ms = 15'000;       // one request, connect included
  int64_t connect_timeout_ms = 10'000;
  // Waits after each failed attempt; past the last the delivery is dead.
  std::vector<int64_t> retry_schedule_ms = {5'000,      300'000,    1'800'000, 7'200'000,
                                            18'000'000, 36'000'000, 36'000'000};
  int max_connections = 0;  // sends in flight; 0 = the kind's default
  int line = 0;
};

struct RouteConfig {
  std::vector<std::string> kinds;                        // empty = any kind
  std::map<std::string, std::vector<std::string>> tags;  // all must match (any of the values)
  std::string min_severity;                              // empty = any
  std::vector<std::string> to;                           // destination names
  int line = 0;
};

struct MailConfig {
  std::string from = "herald <herald@localhost>";
  std::string domain = "localhost";  // Message-ID right-hand side and EHLO
  std::string smtp_url;              // empty = Maildir
  std::string tls = "none";          // none | starttls | implicit
  std::string username;
  std::string password;  // resolved secret, never logged
  std::string ca_file;
  bool verify_peer = true;
  int64_t timeout_ms = 60'000;
  int64_t connect_timeout_ms = 10'000;
  // The wait for the answer to the end of the message data (RFC 5321
  // 4.5.3.2.6: 10 minutes): a server that took the message but whose answer
  // is given up on gets it again.
  int64_t data_timeout_ms = 600'000;
  int max_connections = 2;  // per destination
  std::string maildir = "var/Maildir";
};

// OpenPGP signatures on mail ([openpgp]; absent = nothing is signed): the
// mails of events of these kinds are signed with one key of a GnuPG home.
struct OpenPgpConfig {
  bool enabled = false;         // the table is present
  std::string gnupg_home;       // GnuPG home directory holding the secret key (no passphrase)
  std::string key;              // fingerprint, or a user id matching exactly one secret key
  std::string form = "inline";  // inline (clear-signed text) | pgp-mime (RFC 3156)
  std::vector<std::string> kinds = {"security.notice", "patch.supported"};
  int line = 0;  // the [openpgp] header
};

struct DeliveryConfig {
  int64_t max_age_ms = 5LL * 86'400'000;  // retry temporary failures this long, then dead
  int64_t backoff_initial_ms = 60'000;
  int64_t backoff_max_ms = 6LL * 3'600'000;
  int batch = 16;  // rows a delivery lane claims at once
};

struct LustreConfig {
  std::vector<std::string> lts_branches = {"2.15"};
  std::string ga = "release";  // audience tag for GA releases ("none" = not announced)
  std::string rc = "testing";
  std::string dev = "none";
  // Links of a release announcement; "{version}" ("2.15.8") and "{branch}" ("2.15") are
  // replaced. Empty = the line is left out. Download and release notes go with GA releases,
  // "report problems here" with GA releases and release candidates.
  std::string download_url;       // https://downloads.whamcloud.com/public/lustre/lustre-{version}/
  std::string release_notes_url;  // https://wiki.lustre.org/Lustre_{version}_Changelog
  std::string report_url;         // https://jira.whamcloud.com/
  // The first GA release of a new branch names the latest LTS release it interoperates
  // with: branch -> release, e.g. {"2.17": "2.15.8"}.
  std::map<std::string, std::string> lts_interop;
  // The tickets fixed in a GA release, looked up when its announcement is rendered, in the
  // Jira source named by tracker (empty = the first kind = "jira" source; none = no lookup).
  std::string tracker;
  std::string fixed_jql = "project = LU AND fixVersion = \"Lustre {version}\"";  // "" = none
  int fixed_max = 20;                 // listed at most; the total and the search link follow
  int64_t fixed_timeout_ms = 10'000;  // the whole lookup; past it the mail goes without
};

struct Config {
  std::string path;      // the file it came from
  std::string base_dir;  // relative paths are resolved against this
  std::string database = "var/herald.db";
  std::string templates_dir;        // overrides bundled templates file by file
  std::string bundled_templates;    // templates shipped with herald
  std::string log_format = "text";  // text | json
  std::string log_level = "info";
  MailConfig mail;
  OpenPgpConfig openpgp;
  DeliveryConfig delivery;
  LustreConfig lustre;
  std::vector<SourceConfig> sources;
  std::vector<DestinationConfig> destinations;
  std::vector<RouteConfig> routes;
  HttpConfig http;
  std::vector<DigestConfig> digests;
  std::vector<TopicConfig> topics;
  WebConfig web;
  std::vector<AdminConfig> admins;
  SecurityConfig security;

  const DestinationConfig* destination(const std::string& name) const;
};

// One problem found in a configuration file.
struct ConfigError {
  std::string file;
  int line = 0;  // 0: about the file as a whole (missing, empty, ...)
  std::string message;
  std::string to_string() const;  // "file:line: message", or "file: message" without a line
};

struct ConfigResult {
  std::optional<Config> config;     // set only when errors is empty
  std::vector<ConfigError> errors;  // every problem found, in file order
};

// Loads and validates a configuration file. Relative paths in it are taken
// relative to the file's directory. Secrets (`*_file`, "env:NAME") are read here.
ConfigResult load_config(const std::string& path);
// The same from text, for tests; `path` is only used in messages.
ConfigResult parse_config(const std::string& text, const std::string& path);

// The sections herald reads, in no particular order.
std::vector<std::string> config_sections();
// The keys of a section, for `herald check-config --keys` and suggestions.
std::vector<std::string> config_keys(const std::string& section);

}  // namespace herald
