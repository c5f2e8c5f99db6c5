#include "daemon/config_doc.hpp"

namespace herald {

const std::vector<SectionDoc>& config_section_docs() {
  static const std::vector<SectionDoc> docs = {
      {"herald", false, "Where herald keeps its state and how it logs."},
      {"mail", false,
       "How mail leaves herald: an SMTP relay when smtp_url is set, else a Maildir. One "
       "connection per lane is reused across messages; each recipient is its own transaction."},
      {"openpgp", false,
       "OpenPGP signatures on mail: the mails of events of the listed kinds are signed with one "
       "key of a GnuPG home, clear-signed inline (as Debian's advisories) or as PGP/MIME. "
       "Signed mail is text only; a subscriber's footer stays outside the signature, which is "
       "made once for every copy. Without this table nothing is signed."},
      {"delivery", false,
       "Retries of the outbox: temporary failures (4xx, 552, connection errors) are retried with "
       "exponential backoff and +-20% jitter until max_age, then the delivery is dead."},
      {"lustre", false,
       "The Lustre release model: which branches are long-term support, and the audience tag "
       "each release class gets (routes pick destinations by it; \"none\" = not announced)."},
      {"source", true,
       "A place events come from: a release feed (feed), a bug tracker polled over its REST API "
       "(jira, github), an end-of-life schedule (eol), a watch that proposes to an admin (osv "
       "advisories, gerrit merged changes: stored, never routed) or webhooks pushed to herald's "
       "HTTP server (jira-webhook, github-webhook, gitlab-webhook). A failing source backs off; "
       "the others go on."},
      {"destination", true,
       "Where announcements and digests go, by kind: mail (recipients with the list headers and "
       "subject prefix of that audience), webhook (signed JSON, Standard Webhooks), slack, "
       "mattermost, discord, matrix, teams. Each kind takes the keys marked with it."},
      {"route", true,
       "Which events go to which destinations. An event goes to every destination of every "
       "route it matches; all conditions given must hold."},
      {"http", false,
       "herald's HTTP server: webhook paths of the webhook sources, POST /api/v1/events, "
       "GET /healthz, GET /metrics (Prometheus), and GET /support (the support matrix page) "
       "when an eol source reads a changelog."},
      {"digest", true,
       "A digest: the tracker events of a window, filtered and grouped, sent as one message per "
       "destination on a cron schedule in a named time zone."},
      {"topic", true,
       "A subscription topic members subscribe to on herald's web pages (releases, release "
       "candidates, EOL notices, security notices, bug digests): the events it carries."},
      {"web", false,
       "herald's subscription pages (/subscribe, /confirm, /preferences, /unsubscribe), served "
       "by the [http] server; links in subscriber mail start with base_url."},
      {"admin", true,
       "An admin of the security notices and the critical-patch list. The admin API "
       "(/api/v1/admin/..., on the [http] server) and `herald notice` take the admin's bearer "
       "token; tokens are compared in constant time."},
      {"security", false,
       "Security notices: advisory ids, how many admins approve, the longest embargo, and where "
       "a published notice goes (ahead of every other delivery)."},
  };
  return docs;
}

const std::vector<KeyDoc>& config_key_docs() {
  static const std::vector<KeyDoc> docs = {
      {"herald", "database", "path", "var/herald.db",
       "The SQLite database (WAL mode): events, source state, outbox, digest windows. Created on "
       "first start. The Debian package's configuration uses /var/lib/herald/herald.db."},
      {"herald", "templates_dir", "path", "",
       "A directory whose mail/NAME.mustache files override the bundled templates file by file."},
      {"herald", "log_format", "text | json", "text",
       "Log lines as text, or one JSON object per line."},
      {"herald", "log_level", "trace | debug | info | warn | error", "info",
       "The least severe level logged."},

      {"mail", "from", "address", "herald <herald@localhost>",
       "The From header and envelope sender, \"Name <a@b>\" or \"a@b\"; a destination's from "
       "overrides it. A mailing list must accept it as a member or an accepted non-member."},
      {"mail", "domain", "string", "localhost",
       "The right-hand side of every Message-ID and the EHLO name."},
      {"mail", "smtp_url", "URL", "",
       "smtp://host:port or smtps://host:port (implicit TLS). Unset: mail is written to the "
       "Maildir instead."},
      {"mail", "tls", "none | starttls | implicit", "none",
       "starttls requires STARTTLS and never falls back to cleartext; implicit is TLS from the "
       "first byte (port 465)."},
      {"mail", "username", "string", "", "SMTP AUTH user; AUTH is used when it is set."},
      {"mail", "password", "secret", "",
       "SMTP AUTH password, literally or as \"env:NAME\". Never logged."},
      {"mail", "password_file", "path", "",
       "A file holding the SMTP AUTH password (surrounding white space ignored)."},
      {"mail", "ca_file", "path", "", "CA bundle to verify the relay's certificate with."},
      {"mail", "verify_peer", "boolean", "true", "Verify the relay's TLS certificate and name."},
      {"mail", "timeout", "duration", "60s",
       "The longest an SMTP transaction may take up to the end of the message data."},
      {"mail", "data_timeout", "duration", "10m",
       "How long the answer to the end of the message data (the final dot) is waited for, as "
       "RFC 5321 4.5.3.2.6 says: the server has the message by then, and giving up would send "
       "it twice."},
      {"mail", "connect_timeout", "duration", "10s", "The longest a connection may take."},
      {"mail", "max_connections", "integer 1-32", "2",
       "Delivery lanes per destination: parallel SMTP connections, each reused across messages. "
       "A slow or hung server holds up only its own destination's lanes."},
      {"mail", "maildir", "path", "var/Maildir",
       "The Maildir written when smtp_url is not set (tmp/, new/, cur/ are created)."},

      {"openpgp", "gnupg_home", "path", "",
       "Required. The GnuPG home directory holding the signing key; the key must have no "
       "passphrase (herald never asks for one). Must be a directory."},
      {"openpgp", "key", "string", "",
       "Required. The signing key: its fingerprint, or a user id that matches exactly one secret "
       "key. check-config and the start look it up and refuse a key that cannot sign."},
      {"openpgp", "form", "inline | pgp-mime", "inline",
       "inline: the text/plain body is the clear-signed text (gpg --verify on the body); "
       "pgp-mime: multipart/signed with a detached signature (RFC 3156)."},
      {"openpgp", "kinds", "list of strings", "[\"security.notice\", \"patch.supported\"]",
       "Event kinds whose mails are signed; the mails of other kinds and digests are not."},

      {"delivery", "max_age", "duration", "5d",
       "How long a temporary failure is retried before the delivery is dead."},
      {"delivery", "backoff_initial", "duration", "1m",
       "The first retry delay; it doubles per attempt. Never below a server's Retry-After."},
      {"delivery", "backoff_max", "duration", "6h", "The longest retry delay."},
      {"delivery", "batch", "integer 1-100000", "16",
       "Outbox rows a delivery lane claims (leases) at once; each outcome is recorded before "
       "the next send."},

      {"lustre", "lts_branches", "list of strings", "[\"2.15\"]",
       "Branches whose releases are announced as long-term support (LTS)."},
      {"lustre", "ga", "string", "release", "Audience tag of GA releases."},
      {"lustre", "rc", "string", "testing", "Audience tag of release candidates."},
      {"lustre", "dev", "string", "none",
       "Audience tag of development builds (x.y.50 to x.y.99); none = recorded, not announced."},
      {"lustre", "download_url", "URL template", "",
       "Where a GA release is downloaded, with {version} and {branch} replaced, e.g. "
       "https://downloads.whamcloud.com/public/lustre/lustre-{version}/. Unset: no line."},
      {"lustre", "release_notes_url", "URL template", "",
       "A GA release's notes, e.g. https://wiki.lustre.org/Lustre_{version}_Changelog. Unset: no "
       "line."},
      {"lustre", "report_url", "URL template", "",
       "Where to report problems, shown with GA releases and release candidates. Unset: no line."},
      {"lustre", "lts_interop", "table of branch = release", "{}",
       "For the first GA release of a new branch: the LTS release it interoperates with, e.g. "
       "{ \"2.17\" = \"2.15.8\" }, named in its upgrade note."},
      {"lustre", "tracker", "source name", "",
       "The kind = \"jira\" source that looks up the tickets fixed in a GA release; unset: the "
       "first Jira source."},
      {"lustre", "fixed_jql", "JQL template", "project = LU AND fixVersion = \"Lustre {version}\"",
       "The search for the tickets fixed in a release; empty: no lookup."},
      {"lustre", "fixed_max", "integer 0-1000", "20",
       "Tickets listed at most; the total and a link to the whole search follow."},
      {"lustre", "fixed_timeout", "duration", "10s",
       "The whole lookup's bound: past it the announcement goes out without the list."},

      {"source", "name", "string", "", "Required, unique; names the source in logs and metrics."},
      {"source", "kind",
       "feed | jira | github | eol | osv | gerrit | jira-webhook | github-webhook | "
       "gitlab-webhook",
       "", "Required. What the source is."},
      {"source", "url", "URL or path", "",
       "feed: the Atom or RSS feed, http(s)://, file:// or a path (relative to the "
       "configuration file). eol: the endoflife.date API v1 product URL, e.g. "
       "https://endoflife.date/api/v1/products/rhel/ (polled with a conditional GET). osv: "
       "OSV records (one, an array, or the OSV API's {\"vulns\": [...]}), with a conditional "
       "GET; give path or url. gerrit: required, the server's base URL, e.g. "
       "https://review.whamcloud.com."},
      {"source", "release_model", "lustre | generic", "generic",
       "feed: lustre reads versions, branch, class and LTS from tag titles (2.15.7, "
       "v2_15_0, 2.16.0-RC3); generic announces entries as they are."},
      {"source", "changelog", "list of paths or URLs", "",
       "feed (lustre): lustre/ChangeLog files searched in order for a release's kernels, "
       "distributions, e2fsprogs and ZFS versions. eol (rhel, sles, ubuntu, fedora, openeuler): "
       "the ChangeLogs whose support matrix names, in each notice, the Lustre branches built "
       "for that distribution release."},
      {"source", "project", "string", "lustre",
       "The project tag of the source's events. gerrit: when set, the Gerrit project queried "
       "(e.g. fs/lustre-release); unset = every project."},
      {"source", "interval", "duration", "15m",
       "Time between polls (at least 10s), jittered +-10%; failures back off from 30s."},
      {"source", "max_age", "duration", "",
       "Entries older than this when first seen are recorded, not announced; for trackers, how "
       "far back the first poll reads. Unset: no limit."},
      {"source", "timeout", "duration", "30s", "The longest a whole request may take."},
      {"source", "connect_timeout", "duration", "10s", "The longest a connection may take."},
      {"source", "max_size", "size", "5MiB", "A larger response body is an error on the source."},
      {"source", "max_redirects", "integer 0-20", "5", "Redirects followed per request."},
      {"source", "base_url", "URL", "",
       "jira: the Jira server (required), e.g. https://jira.whamcloud.com; github: the API "
       "(https://api.github.com)."},
      {"source", "jql", "string", "project = LU",
       "jira: the search; herald adds the updated cursor and the order."},
      {"source", "api", "v2 | v3", "v2",
       "jira: v2 (/rest/api/2/search) or Jira Cloud's v3 (/rest/api/3/search/jql)."},
      {"source", "page_size", "integer 1-1000", "50", "jira, github, gerrit: items per page."},
      {"source", "repo", "owner/name", "", "github: the repository (required)."},
      {"source", "username", "string", "",
       "jira: basic auth user, with password_file; without it a token is sent as a bearer token."},
      {"source", "password_file", "path", "", "jira: a file holding the basic auth password."},
      {"source", "token", "secret", "",
       "jira, github: an API token, literally or as \"env:NAME\". Never logged."},
      {"source", "token_file", "path", "", "jira, github: a file holding the API token."},
      {"source", "path", "string", "",
       "webhooks: the URL path herald takes this source's deliveries on, e.g. /hooks/jira. eol: "
       "an endoflife.date product file (relative to the configuration file), e.g. "
       "lustre-eol.md; give path or url. osv: a record file or a directory of *.json records "
       "(relative to the configuration file)."},
      {"source", "product", "string", "",
       "eol: required. The product's name in the notices' keys and tags, e.g. lustre, rhel."},
      {"source", "points", "list of days 1-3650", "[180, 90, 30, 7]",
       "eol: an eol.upcoming notice is sent this many days before a cycle's EOL date, and "
       "eol.reached on the day; each once per cycle, point and date."},
      {"source", "timezone", "IANA time zone", "UTC",
       "eol: a notice is due at local midnight of its day in this zone."},
      {"source", "packages", "list of strings", "",
       "osv: a record is proposed when one of its affected[].package.name is listed "
       "(case-insensitive), e.g. [\"lustre\", \"kernel\"]; empty = every record."},
      {"source", "branches", "list of strings", "",
       "gerrit: required. The branches queried, one request each (GET "
       "<url>/changes/?q=status:merged+branch:<b>[+project:<p>]+after:\"<cursor>\"), e.g. "
       "[\"b2_15\", \"b2_16\"]."},
      {"source", "hashtags", "list of strings", "",
       "gerrit: a merged change carrying one of these hashtags (case-insensitive) is proposed "
       "as a patch.candidate. hashtags or topics must list something."},
      {"source", "topics", "list of strings", "",
       "gerrit: a merged change whose topic is one of these (case-insensitive) is proposed as "
       "a patch.candidate."},
      {"source", "secret", "secret", "",
       "webhooks: the HMAC key (github, jira) or token (gitlab), literally or as \"env:NAME\"."},
      {"source", "secret_file", "path", "", "webhooks: a file holding the secret."},

      {"destination", "name", "string", "", "Required, unique; routes and digests name it."},
      {"destination", "kind", "mail | webhook | slack | mattermost | discord | matrix | teams",
       "mail", "How the destination is reached; the keys below say which kinds take them."},
      {"destination", "to", "list of addresses", "", "mail: required. The recipients."},
      {"destination", "from", "address", "", "mail: overrides [mail] from for this destination."},
      {"destination", "subject_prefix", "string", "",
       "mail: put before every subject, e.g. \"[testing]\". For a Mailman list that adds its "
       "own prefix, leave one of the two empty."},
      {"destination", "list_id", "string", "",
       "mail: List-Id header (RFC 2919), e.g. \"Lustre discussion "
       "<lustre-discuss.lists.lustre.org>\"."},
      {"destination", "list_post", "string", "",
       "mail: List-Post header, e.g. <mailto:list@host>."},
      {"destination", "list_archive", "string", "", "mail: List-Archive header."},
      {"destination", "list_help", "string", "", "mail: List-Help header."},
      {"destination", "precedence_list", "boolean", "true",
       "mail: adds \"Precedence: list\" when list_id is set."},
      {"destination", "templates", "string", "",
       "The template set to render with; default: the event's kind, then default."},
      {"destination", "url", "secret URL", "",
       "webhook, slack, mattermost, discord, teams: required. The endpoint; its path or query "
       "is the credential, so it is never logged (only scheme and host are shown). Literally or "
       "as \"env:NAME\"."},
      {"destination", "url_file", "path", "", "A file holding the url."},
      {"destination", "secrets", "list of secrets", "",
       "webhook: Standard Webhooks signing keys (whsec_ + base64); each signs every request, so "
       "a new key can be added before the old one is removed. Each literally or as "
       "\"env:NAME\". Empty: unsigned."},
      {"destination", "secrets_file", "path", "", "webhook: a file holding the keys, one a line."},
      {"destination", "homeserver", "URL", "", "matrix: required, e.g. https://matrix.org."},
      {"destination", "room", "room id", "", "matrix: required, e.g. !abc:matrix.org."},
      {"destination", "access_token", "secret", "",
       "matrix: required. The posting account's token, literally or as \"env:NAME\"."},
      {"destination", "access_token_file", "path", "", "matrix: a file holding the token."},
      {"destination", "username", "string", "",
       "slack, mattermost, discord: the name posts appear under (where the webhook allows)."},
      {"destination", "icon_url", "URL", "", "slack, mattermost, discord: the poster's picture."},
      {"destination", "rate", "number", "webhook: no limit; discord: 0.5; other chat kinds: 1",
       "HTTP kinds: messages a second at most (a token bucket shared by the destination's "
       "connections)."},
      {"destination", "burst", "integer", "1",
       "HTTP kinds: messages sent at once before rate applies."},
      {"destination", "timeout", "duration", "15s", "HTTP kinds: one request, connect included."},
      {"destination", "connect_timeout", "duration", "10s", "HTTP kinds: the connection."},
      {"destination", "retry_schedule", "list of durations",
       "[\"5s\", \"5m\", \"30m\", \"2h\", \"5h\", \"10h\", \"10h\"]",
       "HTTP kinds: the wait after each failed attempt (each +-20%); after the last the delivery "
       "is dead. A Retry-After longer than the wait is honoured; after a 429 or a timeout the "
       "wait is at least 60s."},
      {"destination", "max_connections", "integer",
       "mail: [mail] max_connections; webhook: 2; chat kinds: 1",
       "Sends in flight at once, each on its own reused connection."},

      {"route", "kinds", "list of strings", "",
       "Event kinds taken; empty = any. security.advisory and patch.candidate are proposals "
       "held for an admin and are never routed: naming them is an error."},
      {"route", "tags", "table of strings or lists", "",
       "Every tag named must have one of the values, e.g. { audience = \"release\" }."},
      {"route", "min_severity", "info | low | medium | high | critical", "",
       "The least severity taken; unset = any."},
      {"route", "to", "list of destination names", "", "Required."},

      {"http", "listen", "host:port or port", "",
       "Where the HTTP server listens; 8080 means 127.0.0.1:8080. Empty: no server."},
      {"http", "max_body", "size", "1MiB", "A larger request body gets 413."},
      {"http", "api_token", "secret", "",
       "Bearer token of /api/v1/*, literally or as \"env:NAME\". Unset: the API is disabled."},
      {"http", "api_token_file", "path", "", "A file holding the API token."},
      {"http", "threads", "integer 1-64", "2", "HTTP worker threads."},
      {"http", "max_connections", "integer 1-100000", "1000",
       "Connections open at once; beyond, new ones are closed at once."},
      {"http", "max_connections_per_ip", "integer", "64",
       "Connections from one client address; 0 = no limit."},
      {"http", "read_timeout", "duration", "10s",
       "A request whose headers and body have not all arrived by then is cut off, however "
       "steadily it trickles; 0 = none."},

      {"digest", "name", "string", "", "Required, unique; keys the digest's windows."},
      {"digest", "schedule", "cron or @daily | @weekly", "",
       "Required. Five cron fields: minute hour day-of-month month day-of-week."},
      {"digest", "timezone", "IANA time zone", "UTC",
       "The schedule's time zone; a time skipped by daylight saving fires at the end of the gap, "
       "a repeated one fires once."},
      {"digest", "kinds", "list of strings", "[\"bug.created\", \"bug.updated\", \"bug.resolved\"]",
       "Event kinds collected."},
      {"digest", "projects", "list of strings", "", "Project tags collected; empty = any."},
      {"digest", "components", "list of strings", "", "Components collected; empty = any."},
      {"digest", "labels", "list of strings", "", "Labels collected; empty = any."},
      {"digest", "min_severity", "info | low | medium | high | critical", "",
       "The least severity collected; unset = any."},
      {"digest", "to", "list of destination names and topic:NAME", "",
       "Required. topic:NAME: each confirmed subscriber of the topic gets their own digest."},
      {"digest", "group_by", "list of tag names", "[\"component\", \"priority\"]",
       "Grouping of each section, first key then second."},
      {"digest", "send_empty", "boolean", "false", "Send a digest for a window with no events."},
      {"digest", "title", "string", "NAME digest", "The digest's title in subject and body."},

      {"topic", "name", "string", "",
       "Required, unique; letters, digits, '-', '_' and '.'. Subscribers and the CLI name it."},
      {"topic", "title", "string", "NAME", "What the subscribe page calls it."},
      {"topic", "kinds", "list of strings", "", "Event kinds the topic carries; empty = any."},
      {"topic", "tags", "list of key=value", "",
       "Tags an event must all carry (e.g. \"class=security\"); empty = any."},

      {"web", "base_url", "URL", "",
       "Where subscribers reach herald's pages, e.g. https://announce.example.org (https:// or "
       "http://); the List-Unsubscribe and preferences links in subscriber mail start with it. "
       "Unset = no subscription pages."},
      {"web", "from", "address", "[mail] from",
       "The sender of subscriber mail (confirmations, announcements to a topic's subscribers). "
       "Subscriber mail goes through a mail destination herald adds, named 'subscribers'."},
      {"web", "subscribe_per_client", "number", "10",
       "Subscribe attempts an hour from one client address; beyond, the page answers 429."},
      {"web", "mails_per_address", "number", "3",
       "Confirmation mails an hour to one address; beyond, the page answers the same and "
       "sends nothing."},
      {"web", "confirm_expiry", "duration", "3d",
       "How long a confirmation link works (at least 1h)."},

      {"admin", "name", "string", "",
       "Who the admin is: the audit log, approvals and the notice's author name them."},
      {"admin", "token_file", "path", "",
       "A file holding the admin's bearer token (at least 32 characters; openssl rand -hex 32). "
       "Keep it readable by herald and the admin only."},
      {"admin", "may", "list of draft | approve | publish | patches | read", "all five",
       "What the admin may do: draft (create, revise, withdraw notices), approve, publish, "
       "patches (propose and approve changes to the critical-patch list), read (show, list, "
       "the audit log). Anything else answers 403."},

      {"security", "prefix", "string", "OSFS-SA",
       "Advisory ids are PREFIX-YYYY-NNN, numbered in sequence within each year; a revision "
       "adds -2, -3."},
      {"security", "approvals", "number", "1",
       "How many distinct admins approve a notice before it may be published. With 2 or more, "
       "the author's own approval does not count (the two-person rule)."},
      {"security", "topic", "string", "security",
       "The [[topic]] whose confirmed subscribers get every published notice at once, whatever "
       "their delivery mode; a subscriber's branch filter takes a notice when one of its "
       "affected branches is listed (a notice naming no branch goes to all)."},
      {"security", "to", "list of destination names", "",
       "Where a published notice goes besides the topic's subscribers: the list, chat channels."},
      {"security", "max_embargo", "duration", "14d",
       "The longest embargo a notice may be given (at most 90d)."},
      {"security", "priority", "number", "100",
       "The outbox priority of a notice's deliveries: they are claimed before every delivery "
       "of a lower priority (announcements and digests have 0)."},
  };
  return docs;
}

}  // namespace herald
