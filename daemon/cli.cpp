// Command-line parsing and the daemon's wiring. `run` builds the daemon
// step by step (config, logging, store, templates, pipeline), then loops:
// poll what is due, route, deliver, sleep until the next due time or a
// signal. Signals are taken by a dedicated thread with sigwait, so no code
// runs in signal context.
#include "daemon/cli.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#ifdef HERALD_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "daemon/admin/client.hpp"
#include "daemon/clock.hpp"
#include "daemon/config.hpp"
#include "daemon/http_server.hpp"
#include "daemon/ingest.hpp"
#include "daemon/log.hpp"
#include "daemon/metrics.hpp"
#include "daemon/notices/api.hpp"
#include "daemon/ops.hpp"
#include "daemon/patches/routes.hpp"
#include "daemon/pipeline.hpp"
#include "daemon/render.hpp"
#include "daemon/source_kind.hpp"
#include "daemon/store.hpp"
#include "daemon/store/watch.hpp"
#include "daemon/subscriptions/web.hpp"
#include "daemon/util.hpp"

namespace herald {

namespace {

constexpr const char* k_usage =
    R"(herald — release, EOL and bug announcements for the Lustre community

Usage:
  herald run [--config FILE] [--once]
      Run the daemon: poll the sources (feeds, Jira, GitHub), route events,
      send digests on their schedules, deliver mail. With [http] listen set it
      also takes webhooks, POST /api/v1/events, GET /healthz and /metrics.
      --once   poll every source once, deliver what is due, and exit
               (exit 1 if a poll or a delivery failed; for cron and benchmarks)
      SIGTERM/SIGINT stop gracefully; SIGHUP reloads the configuration
      (a bad configuration is reported and the old one keeps running).
  herald check-config [--config FILE]
      Validate the configuration and templates; print every error as
      file:line: message and exit 1, or exit 0.
  herald outbox list [--state pending|delivered|dead] [--destination NAME]
                     [--older-than DURATION] [--limit N] [--config FILE]
      Deliveries (one per message and recipient), tab-separated: ID, state,
      destination, recipient, attempts, age, next attempt, key, subject and
      the last answer.
  herald outbox show ID [--config FILE]
      Every field of a delivery and its message, and the whole last answer.
  herald outbox retry (--all | ID) [--destination NAME] [--state dead]
                      [--config FILE]
      Make dead deliveries pending again, due now; their age starts again
      (a destination's max_age counts from the retry).
  herald outbox purge --state dead|delivered --older-than DURATION
                      [--destination NAME] [--config FILE]
      Delete dead or delivered deliveries created longer ago than DURATION
      (30d, 12h), and messages left with none. Pending ones are never purged.
  herald subscribers list [--state STATE] [--config FILE]
  herald subscribers show ADDRESS | export | import FILE.csv
  herald subscribers add ADDRESS [--topics T,..] [--branches 2.15,..] [--mode MODE]
  herald subscribers remove ADDRESS [--erase]
      Subscribers of the topics; safe while herald runs. An address added or
      imported is confirmed. remove --erase also deletes what the outbox sent
      to it. import reads address,topics,branches,mode lines.
  herald notice list | show ID | log [ID] | proposals
  herald notice create FILE.json [--embargo TIME]
  herald notice approve ID | publish ID [--embargo TIME]
  herald notice revise ID FILE.json [--reason TEXT] | withdraw ID --reason TEXT
      Security notices (OSFS-SA-YYYY-NNN), through the running daemon's admin
      API with an admin's token: --token-file FILE (or $HERALD_ADMIN_TOKEN_FILE)
      and --url http://HOST:PORT (or $HERALD_URL; default: [http] listen of
      --config). FILE.json holds the notice's fields ("-" reads stdin); see
      herald notice --help. A notice goes out once approved by [security]
      approvals admins and published, at once or when its embargo ends.
  herald destination list [--config FILE]
      Destinations, and for a disabled one since when and why.
  herald destination enable NAME [--config FILE]
      Let a disabled destination take its pending deliveries again.
  herald status [--config FILE]
      Sources (last success, last error, next poll), outbox rows by
      destination and state, and when each digest fires next.
  herald preview (EVENT-KEY | EVENT-KIND) [--destination NAME] [--date TIME]
                 [--config FILE]
      Print, without sending, the message herald sends for a stored event, or
      for a sample event of a kind (release.published, bug.created,
      bug.updated, bug.resolved): every header and part, on stdout; the
      envelope on stderr. Without --destination, for each destination the
      routes choose. The Date is the outbox row's when the event was routed,
      else --date (RFC 3339 as 2026-01-31T12:00:00Z, or Unix seconds), else now.
  herald backup FILE [--config FILE]
      Copy the database to FILE with SQLite's online backup (safe while the
      daemon runs), check the copy (PRAGMA integrity_check), replace FILE.
  herald patches list [--release RELEASE]
  herald patches add RELEASE TICKET --summary TEXT --change-url URL
                     --severity low|medium|high|critical [--branches 2.15,2.16]
  herald patches remove RELEASE TICKET
  herald patches approve CHANGE-ID | cancel CHANGE-ID
      The supported critical-patch list, through the running daemon's admin
      API (--url URL, --token-file FILE, or [http] listen of --config). add
      and remove propose a change; it applies once [security] approvals
      admins approved it. Pages: /patches/RELEASE (.json, .atom).
  herald -h | --help | -V | --version

The configuration file (-c FILE or --config FILE) defaults to $HERALD_CONFIG,
else /etc/herald/herald.toml.
Quick start with bundled sample data: herald run --once --config config/demo.toml
)";

struct Args {
  std::string command;
  std::string destination;
  std::optional<int64_t> date;
  std::vector<std::string> positional;
  std::string config;
  std::string state;
  int64_t limit = 50;
  std::optional<int64_t> older_than_s;
  bool once = false;
  bool all = false;
  bool erase = false;
  std::optional<std::string> topics, branches, mode;
};

int usage_error(const std::string& msg) {
  std::fprintf(stderr, "herald: %s\nTry 'herald --help'.\n", msg.c_str());
  return 2;
}

// A whole decimal number in [lo, hi]: no sign, no spaces, no trailing text,
// no overflow (atoi would read "abc" as 0 and "12x" as 12).
std::optional<int64_t> parse_number(const std::string& s, int64_t lo, int64_t hi) {
  if (s.empty() || !std::isdigit(static_cast<unsigned char>(s[0]))) return std::nullopt;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < lo || v > hi) return std::nullopt;
  return v;
}

constexpr int64_t k_max_limit = 1'000'000;

std::string default_config() {
  if (const char* e = std::getenv("HERALD_CONFIG"); e && *e) return e;
  return "/etc/herald/herald.toml";
}

// Loads the config or prints every error; nullopt on failure.
std::optional<Config> load_or_report(const std::string& path) {
  auto r = load_config(path);
  for (const auto& e : r.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
  return r.config;
}

int cmd_check_config(const Args& a) {
  auto cfg = load_or_report(a.config);
  if (!cfg) return 1;
  auto t = Templates::load(cfg->bundled_templates, cfg->templates_dir);
  if (!t) {
    std::fprintf(stderr, "%s\n", t.error().message.c_str());
    return 1;
  }
  std::printf("%s: OK (%zu sources, %zu destinations, %zu routes, %zu templates)\n",
              a.config.c_str(), cfg->sources.size(), cfg->destinations.size(), cfg->routes.size(),
              t->names().size());
  return 0;
}

std::unique_ptr<Store> open_store(const Config& cfg) {
  auto store = Store::open(cfg.database);
  if (!store) {
    spdlog::critical("{}", store.error().message);
    return nullptr;
  }
  return std::move(*store);
}

// "90s", "12m", "5h", "3d": how long ago or ahead, for listings.
std::string span(int64_t s) {
  const int64_t a = s < 0 ? -s : s;
  return a < 120      ? std::to_string(a) + "s"
         : a < 7200   ? std::to_string(a / 60) + "m"
         : a < 172800 ? std::to_string(a / 3600) + "h"
                      : std::to_string(a / 86400) + "d";
}

// When a pending delivery is next attempted, relative to now.
std::string next_attempt(const OutboxRow& r, int64_t now) {
  if (r.state != "pending") return "-";
  const int64_t at = std::max(r.next_attempt_at, r.lease_until);
  return at <= now ? "now" : "in " + span(at - now);
}

void print_row_details(const OutboxRow& r, int64_t now) {
  auto t = [now](int64_t at) {
    if (at <= 0) return std::string("never");
    return format_rfc3339(at) +
           (at <= now ? " (" + span(now - at) + " ago)" : " (in " + span(at - now) + ")");
  };
  std::printf("delivery %lld\n", static_cast<long long>(r.id));
  std::printf("  state           %s\n", r.state.c_str());
  std::printf("  destination     %s\n", r.destination.c_str());
  std::printf("  recipient       %s\n", r.recipient.empty() ? "(none)" : r.recipient.c_str());
  std::printf("  key             %s\n", r.idempotency_key.c_str());
  std::printf("  attempts        %d\n", r.attempts);
  std::printf("  created         %s\n", t(r.created_at).c_str());
  std::printf("  next attempt    %s\n",
              r.state == "pending" ? t(std::max(r.next_attempt_at, r.lease_until)).c_str() : "-");
  std::printf("  delivered       %s\n", t(r.delivered_at).c_str());
  std::printf("  lease           %s\n",
              r.lease_owner.empty() || r.lease_until <= now
                  ? "none"
                  : (r.lease_owner + " until " + t(r.lease_until)).c_str());
  std::printf("message %lld\n", static_cast<long long>(r.message_id));
  std::printf("  key             %s\n", r.message_key.c_str());
  std::printf("  subject         %s\n", r.subject.c_str());
  std::printf("  sender          %s\n", r.sender.empty() ? "(none)" : r.sender.c_str());
  std::printf("  priority        %d\n", r.priority);
  std::printf("  payload         %lld bytes\n", static_cast<long long>(r.payload_size));
  std::printf("  created         %s\n", t(r.message_created_at).c_str());
  std::printf("last answer\n%s\n", r.last_error.empty() ? "  (none)" : r.last_error.c_str());
}

int cmd_outbox(const Args& a) {
  // The command line is checked before the configuration is read: a usage
  // error is a usage error whatever state the configuration is in.
  const std::string sub = a.positional.empty() ? "list" : a.positional[0];
  std::optional<int64_t> id;
  auto parse_id = [&]() -> bool {
    id = parse_number(a.positional[1], 1, std::numeric_limits<int64_t>::max());
    if (!id)
      usage_error("outbox " + sub + ": '" + a.positional[1] +
                  "' is not a delivery ID (a positive whole number, see outbox list)");
    return id.has_value();
  };
  if (sub == "list") {
    if (a.positional.size() > 1)
      return usage_error("outbox list takes no argument, not '" + a.positional[1] + "'");
  } else if (sub == "show") {
    if (a.positional.size() != 2) return usage_error("outbox show needs one delivery ID");
    if (!parse_id()) return 2;
  } else if (sub == "retry") {
    if (a.all && a.positional.size() > 1)
      return usage_error("outbox retry takes --all or an ID, not both");
    if (!a.state.empty() && a.state != "dead")
      return usage_error("outbox retry: only dead deliveries are retried, not " + a.state);
    if (!a.all) {
      if (a.positional.size() < 2) return usage_error("outbox retry needs --all or an ID");
      if (a.positional.size() > 2)
        return usage_error("outbox retry takes one ID, not '" + a.positional[2] + "'");
      if (!parse_id()) return 2;
    }
  } else if (sub == "purge") {
    if (a.positional.size() > 1)
      return usage_error("outbox purge takes no argument, not '" + a.positional[1] + "'");
    if (a.state == "pending")
      return usage_error(
          "outbox purge: pending deliveries are not purged (they are still to "
          "be sent)");
    if (a.state.empty()) return usage_error("outbox purge needs --state dead or --state delivered");
    if (!a.older_than_s) return usage_error("outbox purge needs --older-than DURATION");
  } else {
    return usage_error("unknown outbox command '" + sub + "'");
  }
  auto cfg = load_or_report(a.config);
  if (!cfg) return 1;
  setup_logging(cfg->log_format, "warn");
  auto store = open_store(*cfg);
  if (!store) return 1;
  SystemClock clock;
  const int64_t now = clock.now();
  if (sub == "list") {
    OutboxFilter f;
    f.state = a.state;
    f.destination = a.destination;
    if (a.older_than_s) f.created_before = now - *a.older_than_s;
    f.limit = static_cast<int>(a.limit);
    auto rows = store->outbox().outbox_rows(f);
    if (!rows) {
      std::fprintf(stderr, "herald: %s\n", rows.error().message.c_str());
      return 1;
    }
    // Tab-separated for scripts; the last answer last, as it may be long.
    for (const auto& r : *rows) {
      std::printf("%lld\t%s\t%s\t%s\tattempts=%d\tage=%s\tnext=%s\t%s\t%s%s%s\n",
                  static_cast<long long>(r.id), r.state.c_str(), r.destination.c_str(),
                  r.recipient.empty() ? "-" : r.recipient.c_str(), r.attempts,
                  span(now - r.created_at).c_str(), next_attempt(r, now).c_str(),
                  r.idempotency_key.c_str(), r.subject.c_str(),
                  r.last_error.empty() ? "" : "\tlast: ", one_line(r.last_error).c_str());
    }
    return 0;
  }
  if (sub == "show") {
    auto row = store->outbox().outbox_row(*id);
    if (!row) {
      std::fprintf(stderr, "herald: %s\n", row.error().message.c_str());
      return 1;
    }
    if (!*row) {
      std::fprintf(stderr, "herald: no delivery with ID %lld (see herald outbox list)\n",
                   static_cast<long long>(*id));
      return 1;
    }
    print_row_details(**row, now);
    return 0;
  }
  if (sub == "purge") {
    auto n = store->outbox().purge(a.state, a.destination, now - *a.older_than_s);
    if (!n) {
      std::fprintf(stderr, "herald: %s\n", n.error().message.c_str());
      return 1;
    }
    std::printf("%d %s deliveries purged\n", *n, a.state.c_str());
    return 0;
  }
  auto n = store->outbox().retry_dead(id, now, a.destination);
  if (!n) {
    std::fprintf(stderr, "herald: %s\n", n.error().message.c_str());
    return 1;
  }
  if (id && *n == 0) {
    std::fprintf(
        stderr, "herald: no dead delivery with ID %lld%s (see herald outbox list --state dead)\n",
        static_cast<long long>(*id), a.destination.empty() ? "" : (" to " + a.destination).c_str());
    return 1;
  }
  std::printf("%d dead deliveries made pending again\n", *n);
  return 0;
}

// "a,b c" -> {"a", "b", "c"}: topic and branch lists on the command line and
// in CSV files are separated by commas or spaces.
std::vector<std::string> list_arg(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s + ",") {
    if (c == ',' || c == ' ' || c == ';') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  return out;
}

std::string spaced(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : " ") + s;
  return out;
}

int cmd_subscribers(const Args& a) {
  const std::string sub = a.positional.empty() ? "list" : a.positional[0];
  const bool one_arg = sub == "show" || sub == "add" || sub == "remove" || sub == "import";
  if (one_arg && a.positional.size() != 2)
    return usage_error("subscribers " + sub + " needs one " +
                       (sub == "import" ? "FILE" : "ADDRESS"));
  if ((sub == "list" || sub == "export") && a.positional.size() > 1)
    return usage_error("subscribers " + sub + " takes no argument, not '" + a.positional[1] + "'");
  if (!one_arg && sub != "list" && sub != "export")
    return usage_error("unknown subscribers command '" + sub + "'");
  if (sub == "add" && !plausible_address(a.positional[1]))
    return usage_error("'" + a.positional[1] + "' is not a mail address");
  auto cfg = load_or_report(a.config);
  if (!cfg) return 1;
  setup_logging(cfg->log_format, "warn");
  auto store = open_store(*cfg);
  if (!store) return 1;
  auto& subs = store->subscribers();
  SystemClock clock;
  const int64_t now = clock.now();
  auto fail = [](const Error& e) {
    std::fprintf(stderr, "herald: %s\n", e.message.c_str());
    return 1;
  };
  auto when = [](int64_t t) { return t ? format_rfc3339(t) : std::string("-"); };
  if (sub == "list" || sub == "export") {
    auto all = subs.list(a.state);
    if (!all) return fail(all.error());
    if (sub == "export")
      std::printf(
          "address,state,topics,branches,mode,subscribed_at,subscribed_client,"
          "confirmed_at,confirmed_client\n");
    for (const auto& s : *all) {
      if (sub == "list")
        std::printf("%s\t%s\t%s\t%s\t%s\n", s.address.c_str(), s.state.c_str(),
                    spaced(s.topics).c_str(),
                    s.branches.empty() ? "all" : spaced(s.branches).c_str(), s.mode.c_str());
      else
        std::printf("%s,%s,%s,%s,%s,%s,%s,%s,%s\n", s.address.c_str(), s.state.c_str(),
                    spaced(s.topics).c_str(), spaced(s.branches).c_str(), s.mode.c_str(),
                    when(s.subscribed_at).c_str(), s.subscribed_client.c_str(),
                    when(s.confirmed_at).c_str(), s.confirmed_client.c_str());
    }
    return 0;
  }
  if (sub == "show") {
    auto s = subs.find(a.positional[1]);
    if (!s) return fail(s.error());
    if (!*s) {
      std::fprintf(stderr, "herald: no subscriber %s\n", a.positional[1].c_str());
      return 1;
    }
    const auto& x = **s;
    std::printf(
        "address     %s\nstate       %s\ntopics      %s\nbranches    %s\nmode        %s\n"
        "subscribed  %s from %s\nconfirmed   %s%s%s\n",
        x.address.c_str(), x.state.c_str(), spaced(x.topics).c_str(),
        x.branches.empty() ? "all" : spaced(x.branches).c_str(), x.mode.c_str(),
        when(x.subscribed_at).c_str(),
        x.subscribed_client.empty() ? "-" : x.subscribed_client.c_str(),
        when(x.confirmed_at).c_str(), x.confirmed_client.empty() ? "" : " from ",
        x.confirmed_client.c_str());
    return 0;
  }
  if (sub == "remove") {
    auto r = subs.remove(a.positional[1], a.erase);
    if (!r) return fail(r.error());
    if (!*r) {
      std::fprintf(stderr, "herald: no subscriber %s\n", a.positional[1].c_str());
      return 1;
    }
    std::printf("removed %s%s\n", a.positional[1].c_str(),
                a.erase ? " (address, consent record and sent copies erased)" : "");
    return 0;
  }
  // add, import: an admin's addition is confirmed, its consent recorded as
  // given to the admin ("cli" / "import").
  auto make = [&](const std::string& address, const std::string& topics,
                  const std::string& branches, const std::string& mode, const char* client) {
    Subscriber s;
    s.address = address;
    s.state = "confirmed";
    s.topics = list_arg(topics);
    s.branches = list_arg(branches);
    s.mode = mode.empty() ? "immediate" : mode;
    s.subscribed_at = s.confirmed_at = s.updated_at = now;
    s.subscribed_client = s.confirmed_client = client;
    return s;
  };
  if (sub == "add") {
    auto id = subs.add(make(a.positional[1], a.topics.value_or(""), a.branches.value_or(""),
                            a.mode.value_or(""), "cli"));
    if (!id) return fail(id.error());
    std::printf("added %s\n", a.positional[1].c_str());
    return 0;
  }
  // import FILE.csv: address[,topics[,branches[,mode]]] per line; a first
  // line starting "address" is a header; every error names FILE:LINE.
  auto text = read_file(a.positional[1]);
  if (!text) {
    std::fprintf(stderr, "herald: cannot read %s\n", a.positional[1].c_str());
    return 1;
  }
  int line_no = 0, added = 0, errors = 0;
  size_t start = 0;
  while (start < text->size()) {
    auto nl = text->find('\n', start);
    if (nl == std::string::npos) nl = text->size();
    std::string line = text->substr(start, nl - start);
    start = nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (line_no == 1 && line.rfind("address", 0) == 0)) continue;
    std::vector<std::string> f;
    size_t p = 0;
    for (;;) {
      auto c = line.find(',', p);
      f.push_back(line.substr(p, c == std::string::npos ? std::string::npos : c - p));
      if (c == std::string::npos) break;
      p = c + 1;
    }
    auto where = a.positional[1] + ":" + std::to_string(line_no) + ": ";
    f.resize(std::max<size_t>(f.size(), 4));
    if (!plausible_address(f[0])) {
      std::fprintf(stderr, "%s'%s' is not a mail address\n", where.c_str(), f[0].c_str());
      ++errors;
      continue;
    }
    if (!f[3].empty() && !valid_subscriber_mode(f[3])) {
      std::fprintf(stderr, "%smode must be immediate, daily or weekly, not '%s'\n", where.c_str(),
                   f[3].c_str());
      ++errors;
      continue;
    }
    auto id = subs.add(make(f[0], f[1], f[2], f[3], "import"));
    if (!id) {
      std::fprintf(stderr, "%s%s\n", where.c_str(), id.error().message.c_str());
      ++errors;
      continue;
    }
    ++added;
  }
  std::printf("%d subscribers imported, %d lines refused\n", added, errors);
  return errors ? 1 : 0;
}

int cmd_destination(const Args& a) {
  const std::string sub = a.positional.empty() ? "list" : a.positional[0];
  if (sub == "list") {
    if (a.positional.size() > 1)
      return usage_error("destination list takes no argument, not '" + a.positional[1] + "'");
  } else if (sub == "enable") {
    if (a.positional.size() != 2) return usage_error("destination enable needs one NAME");
  } else {
    return usage_error("unknown destination command '" + sub + "'");
  }
  auto cfg = load_or_report(a.config);
  if (!cfg) return 1;
  setup_logging(cfg->log_format, "warn");
  auto store = open_store(*cfg);
  if (!store) return 1;
  SystemClock clock;
  const int64_t now = clock.now();
  auto disabled = store->destinations().disabled();
  if (!disabled) {
    std::fprintf(stderr, "herald: %s\n", disabled.error().message.c_str());
    return 1;
  }
  auto since = [now](const DisabledDestination& d) {
    return format_rfc3339(d.since) + " (" + span(now - d.since) + " ago)";
  };
  if (sub == "list") {
    std::map<std::string, bool> names;  // name -> configured
    for (const auto& d : cfg->destinations) names[d.name] = true;
    for (const auto& [name, d] : *disabled) names.emplace(name, false);
    for (const auto& [name, configured] : names) {
      auto it = disabled->find(name);
      std::string state = it == disabled->end() ? "enabled"
                                                : "disabled since " + since(it->second) + ": " +
                                                      one_line(it->second.reason);
      std::printf("%s\t%s%s\n", name.c_str(), state.c_str(),
                  configured ? "" : "\t(not configured)");
    }
    return 0;
  }
  const std::string& name = a.positional[1];
  auto was = store->destinations().enable(name);
  if (!was) {
    std::fprintf(stderr, "herald: %s\n", was.error().message.c_str());
    return 1;
  }
  if (*was)
    std::printf("%s enabled (it was disabled since %s: %s)\n", name.c_str(),
                since(disabled->at(name)).c_str(), one_line(disabled->at(name).reason).c_str());
  else
    std::printf("%s was not disabled\n", name.c_str());
  return 0;
}

// "2026-01-31T12:00:00Z" or Unix seconds.
int cmd_ops(const Args& a) {
  const size_t wanted = a.command == "status" ? 0 : 1;
  if (a.positional.size() != wanted)
    return usage_error(a.command + (wanted ? " needs one argument" : " takes no argument"));
  auto cfg = load_or_report(a.config);
  if (!cfg) return 1;
  setup_logging(cfg->log_format, "warn");
  if (a.command == "status") return run_status(*cfg);
  if (a.command == "backup") return run_backup(*cfg, a.positional[0]);
  return run_preview(*cfg, {a.positional[0], a.destination, a.date});
}

// Everything the daemon loop shares with the signal thread.
struct Control {
  std::mutex mutex;
  std::condition_variable wake;
  std::atomic<bool> stop{false};
  std::atomic<bool> reload{false};
  std::atomic<bool> ingested{false};    // pushed events were committed: route them now
  std::atomic<bool> db_changed{false};  // the database was written: by another command?
  int signal = 0;
};

void notify_systemd([[maybe_unused]] const char* state) {
#ifdef HERALD_HAVE_SYSTEMD
  sd_notify(0, state);
#endif
}

struct Daemon {
  Config cfg;
  std::unique_ptr<Store> store;
  std::unique_ptr<Pipeline> pipeline;
};

// Builds the daemon from a configuration: store, templates, pipeline.
std::optional<Daemon> build(Config cfg, const Clock& clock) {
  Daemon d;
  auto templates = Templates::load(cfg.bundled_templates, cfg.templates_dir);
  if (!templates) {
    spdlog::critical("templates: {}", templates.error().message);
    return std::nullopt;
  }
  d.store = open_store(cfg);
  if (!d.store) return std::nullopt;
  SinkEnv env;
  env.http = [] { return make_curl_transport(); };
  env.clock = &clock;
  d.pipeline = std::make_unique<Pipeline>(cfg, std::move(*templates), *d.store, clock,
                                          destination_sinks(cfg, env));
  d.cfg = std::move(cfg);
  return d;
}

// The daemon's HTTP side: the ingest writer and the server that feeds it.
struct HttpSide {
  std::unique_ptr<IngestWriter> writer;
  std::unique_ptr<HttpServer> server;

  // No new requests; the answers owed are sent after their commit; then the writer stops.
  void stop() {
    if (server) server->stop();
    server.reset();
    writer.reset();
  }
};

// Starts the writer and the server when [http] listen is set (an empty side
// when it is not); nullopt when the server cannot listen.
std::optional<HttpSide> start_http(const Daemon& d, Metrics& metrics, Control& ctl,
                                   const Clock& clock) {
  HttpSide side;
  const HttpConfig& http = d.cfg.http;
  if (http.listen.empty()) return side;
  side.writer = std::make_unique<IngestWriter>(*d.store, clock, [&metrics, &ctl](int stored) {
    metrics.add("herald_ingest_commits_total", {});
    metrics.add("herald_ingest_items_total", {{"result", "stored"}}, stored);
    {
      std::lock_guard lock(ctl.mutex);
      ctl.ingested = true;
    }
    ctl.wake.notify_all();
  });
  HttpServerOptions options;
  options.listen = http.listen;
  options.threads = http.threads;
  options.max_body = http.max_body;
  options.max_connections = static_cast<unsigned>(http.max_connections);
  options.max_connections_per_ip = static_cast<unsigned>(http.max_connections_per_ip);
  options.read_timeout = std::chrono::milliseconds(http.read_timeout_ms);
  side.server = std::make_unique<HttpServer>(options);
  std::vector<std::string> sources;
  for (const auto& s : d.cfg.sources) sources.push_back(s.name);
  add_ops_routes(*side.server, *d.store, metrics, sources);
  add_inbound_routes(*side.server, d.cfg, InboundEnv{*side.writer, metrics, clock, d.store.get()});
  if (!d.cfg.web.base_url.empty()) {
    Pipeline* pipeline = d.pipeline.get();
    SubscriptionLimits limits;
    limits.per_client = d.cfg.web.subscribe_per_client;
    limits.per_address = d.cfg.web.mails_per_address;
    limits.confirm_ttl_s = d.cfg.web.confirm_expiry_s;
    add_subscription_routes(
        *side.server, d.cfg, *d.store, pipeline->templates(), clock,
        [pipeline] { pipeline->deliverer().wake(); }, limits);
  }
  if (!d.cfg.admins.empty()) {
    // A scheduled notice, or an applied addition to the patch list, wakes the
    // loop as pushed events do: it is published and routed on the next pass.
    auto wake = [&ctl] {
      {
        std::lock_guard lock(ctl.mutex);
        ctl.ingested = true;
      }
      ctl.wake.notify_all();
    };
    add_notice_routes(*side.server, d.cfg, *d.store, clock, wake);
    add_patch_routes(*side.server, d.cfg, *d.store, d.pipeline->templates(), clock, wake);
  }
  if (auto s = side.server->start(); !s) {
    spdlog::critical("http: {}", s.error().message);
    side.stop();
    return std::nullopt;
  }
  spdlog::info("http: listening on {} (webhooks, {}{}{}/healthz, /metrics)",
               side.server->address(), http.api_token.empty() ? "" : "/api/v1/events, ",
               d.cfg.web.base_url.empty() ? "" : "/subscribe, ",
               d.cfg.admins.empty() ? "" : "/api/v1/admin/, ");
  return side;
}

// The shortest time between two routing passes woken by pushed events.
constexpr auto k_push_route_gap = std::chrono::milliseconds(50);

// Adds a loop iteration's poll figures to the counters (deliveries are
// counted by the delivery hooks as they complete).
void count_run(Metrics& metrics, const RunReport& rep) {
  metrics.add("herald_polls_total", {{"result", "ok"}}, rep.polls - rep.poll_failures);
  metrics.add("herald_polls_total", {{"result", "failed"}}, rep.poll_failures);
}

// Starts the daemon's background delivery, counted in metrics; a failure to
// record outcomes shows in /metrics and makes /healthz unhealthy.
void start_delivery(Daemon& d, Metrics& metrics) {
  // The transport by destination: "smtp" or "maildir" for mail, else the kind.
  auto sinks = std::make_shared<std::map<std::string, std::string>>();
  for (const auto& dest : d.cfg.destinations)
    (*sinks)[dest.name] = dest.kind != "mail"           ? dest.kind
                          : d.cfg.mail.smtp_url.empty() ? "maildir"
                                                        : "smtp";
  DeliveryHooks hooks;
  hooks.outcome = [&metrics, sinks](const OutboxItem& item, const DeliveryOutcome& o) {
    const char* result = o.dead                                                 ? "dead"
                         : o.result.status == DeliveryResult::Status::delivered ? "delivered"
                         : o.result.status == DeliveryResult::Status::disable   ? "disabled"
                                                                                : "retry";
    auto it = sinks->find(item.destination);
    metrics.add("herald_deliveries_total",
                {{"sink", it == sinks->end() ? "unknown" : it->second}, {"result", result}});
  };
  hooks.recording = [&metrics](const std::string& problem) {
    metrics.set("herald_delivery_recording_failed", {}, problem.empty() ? 0 : 1);
    metrics.set_problem("delivery", problem);
  };
  hooks.disabled = [&metrics](const std::string& destination, const std::string&) {
    metrics.set("herald_destination_disabled", {{"destination", destination}}, 1);
  };
  hooks.enabled = [&metrics](const std::string& destination) {
    metrics.set("herald_destination_disabled", {{"destination", destination}}, 0);
  };
  d.pipeline->start_delivery(std::move(hooks));
  // Every destination shows, 0 when it takes deliveries.
  const auto disabled = d.pipeline->deliverer().disabled();
  for (const auto& dest : d.cfg.destinations)
    metrics.set("herald_destination_disabled", {{"destination", dest.name}},
                disabled.count(dest.name) ? 1 : 0);
}

int cmd_run(const Args& a) {
  auto cfg = load_or_report(a.config);
  if (!cfg) return 1;
  setup_logging(cfg->log_format, cfg->log_level);
  SystemClock clock;
  spdlog::info("herald {} starting with {} ({} sources, {} destinations; mail via {})",
               HERALD_VERSION, a.config, cfg->sources.size(), cfg->destinations.size(),
               cfg->mail.smtp_url.empty() ? "Maildir " + cfg->mail.maildir : cfg->mail.smtp_url);
  auto daemon = build(std::move(*cfg), clock);
  if (!daemon) return 1;

  if (a.once) {
    RunReport rep;
    daemon->pipeline->poll_sources(true, rep);
    daemon->pipeline->publish_notices(rep);
    daemon->pipeline->route_pending(rep);
    daemon->pipeline->run_digests(rep);
    daemon->pipeline->deliver_due(rep);
    spdlog::info(
        "run --once: {} polls ({} failed, {} unchanged), {} new events, {} deliveries "
        "created, {} delivered, {} to retry, {} dead",
        rep.polls, rep.poll_failures, rep.unchanged, rep.new_events, rep.deliveries_created,
        rep.delivered, rep.retried, rep.dead);
    if (rep.unrecorded)
      spdlog::critical(
          "run --once: {} deliveries were attempted but their outcome could not be "
          "recorded; the next run attempts them again",
          rep.unrecorded);
    return rep.poll_failures || rep.retried || rep.dead || rep.render_failures || rep.unrecorded ||
                   rep.store_failures
               ? 1
               : 0;
  }

  // Signals go to the signal thread only.
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, s);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  Control ctl;
  // Webhooks and the event API; [http] changes apply on SIGHUP by restarting the server.
  Metrics metrics;
  metrics.set("herald_delivery_recording_failed", {}, 0);
  auto http = start_http(*daemon, metrics, ctl, clock);
  if (!http) return 1;
  start_delivery(*daemon, metrics);
  // `herald destination enable` and `herald outbox retry` write the database
  // while the daemon runs: the watch says when to look, the data version whether
  // it was another connection.
  auto watch_database = [&ctl](const std::string& path) {
    return std::make_unique<DatabaseWatch>(path, [&ctl] {
      {
        std::lock_guard lock(ctl.mutex);
        ctl.db_changed = true;
      }
      ctl.wake.notify_all();
    });
  };
  auto watch = watch_database(daemon->cfg.database);
  (void)daemon->store->database().changed_by_others();  // the version to compare with
  // Daemons replaced by a reload whose lanes still finish a send in flight.
  std::vector<Daemon> retiring;
  std::thread signals([&] {
    for (;;) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0) continue;
      {
        std::lock_guard lock(ctl.mutex);
        if (sig == SIGHUP) {
          ctl.reload = true;
        } else {
          ctl.signal = sig;
          ctl.stop = true;
        }
      }
      ctl.wake.notify_all();
      if (sig != SIGHUP) return;
    }
  });

  notify_systemd("READY=1");
  uint64_t watchdog_usec = 0;
#ifdef HERALD_HAVE_SYSTEMD
  if (sd_watchdog_enabled(0, &watchdog_usec) <= 0) watchdog_usec = 0;
#endif
  spdlog::info("herald running (pid {})", getpid());
  while (!ctl.stop) {
    if (ctl.reload.exchange(false)) {
      auto fresh = load_config(a.config);
      if (!fresh.config) {
        for (const auto& e : fresh.errors) spdlog::error("reload: {}", e.to_string());
        spdlog::error("reload: configuration has errors; keeping the running one");
      } else if (auto next = build(std::move(*fresh.config), clock)) {
        http->stop();
        // The old lanes finish what they are sending (a hung server holds up
        // only them) while the new ones take over; leases keep them apart.
        daemon->pipeline->deliverer().request_stop();
        retiring.push_back(std::move(*daemon));
        daemon = std::move(next);
        start_delivery(*daemon, metrics);
        watch = watch_database(daemon->cfg.database);
        (void)daemon->store->database().changed_by_others();
        if (auto fresh_http = start_http(*daemon, metrics, ctl, clock))
          http = std::move(fresh_http);
        else
          spdlog::error("reload: the HTTP server did not start; pushes are refused until fixed");
        spdlog::info("reload: configuration {} applied", a.config);
      } else {
        spdlog::error("reload: could not apply the new configuration; keeping the running one");
      }
    }
    if (ctl.db_changed.exchange(false)) {
      auto others = daemon->store->database().changed_by_others();
      if (!others)
        spdlog::warn("store: {}", others.error().message);
      else if (*others)
        daemon->pipeline->deliverer().refresh();
    }
    // Retired lanes that have finished gave their unsent rows back: the new lanes take them.
    const size_t retired = retiring.size();
    std::erase_if(retiring, [](Daemon& d) { return d.pipeline->deliverer().stopped(); });
    RunReport rep;
    ctl.ingested = false;
    const auto pass_started = std::chrono::steady_clock::now();
    daemon->pipeline->poll_sources(false, rep);
    daemon->pipeline->publish_notices(rep);
    daemon->pipeline->route_pending(rep);
    daemon->pipeline->run_digests(rep);
    if (rep.deliveries_created || retiring.size() != retired) daemon->pipeline->deliverer().wake();
    count_run(metrics, rep);
    notify_systemd("WATCHDOG=1");
    int64_t wait_s = std::max<int64_t>(1, daemon->pipeline->next_wakeup() - clock.now());
    if (!retiring.empty()) wait_s = 1;
    auto wait = std::chrono::seconds(wait_s);
    if (watchdog_usec)
      wait = std::min<std::chrono::seconds>(
          wait, std::chrono::seconds(std::max<uint64_t>(1, watchdog_usec / 2'000'000)));
    std::unique_lock lock(ctl.mutex);
    ctl.wake.wait_for(lock, wait, [&] {
      return ctl.stop.load() || ctl.reload.load() || ctl.ingested.load() || ctl.db_changed.load();
    });
    // Pushed events come in bursts: route what a burst brought together, at most one
    // pass per k_push_route_gap, instead of one small routing transaction per commit.
    if (ctl.ingested)
      ctl.wake.wait_until(lock, pass_started + k_push_route_gap,
                          [&] { return ctl.stop.load() || ctl.reload.load(); });
  }
  notify_systemd("STOPPING=1");
  http->stop();
  daemon->pipeline->deliverer().stop();
  for (auto& d : retiring) d.pipeline->deliverer().stop();
  spdlog::info("herald stopping on {}; in-flight deliveries finished, the rest stay in the outbox",
               strsignal(ctl.signal));
  signals.join();
  return 0;
}

}  // namespace

const char* usage_text() { return k_usage; }

int cli_main(int argc, char** argv) {
  Args a;
  a.config = default_config();
  std::vector<std::string> args(argv + 1, argv + argc);
  // Admin commands talk to the running daemon and parse their own options.
  if (!args.empty() && (args[0] == "notice" || args[0] == "patches")) return admin_cli_main(args);
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& s = args[i];
    auto value = [&](const char* name) -> std::optional<std::string> {
      if (i + 1 >= args.size()) {
        usage_error(std::string(name) + " needs a value");
        return std::nullopt;
      }
      return args[++i];
    };
    if (s == "-h" || s == "--help" || s == "help") {
      std::fputs(k_usage, stdout);
      return 0;
    } else if (s == "-V" || s == "--version") {
      std::printf("herald %s\n", HERALD_VERSION);
      return 0;
    } else if (s == "-c" || s == "--config") {
      auto v = value("--config");
      if (!v) return 2;
      a.config = *v;
    } else if (s.rfind("--config=", 0) == 0) {
      a.config = s.substr(9);
    } else if (s == "--once") {
      a.once = true;
    } else if (s == "--all") {
      a.all = true;
    } else if (s == "--state") {
      auto v = value("--state");
      if (!v) return 2;
      if (a.command == "subscribers") {
        if (!valid_subscriber_state(*v))
          return usage_error("--state must be pending, confirmed, unsubscribed or disabled, not '" +
                             *v + "'");
      } else if (*v != "pending" && *v != "delivered" && *v != "dead")
        return usage_error("--state must be pending, delivered or dead, not '" + *v + "'");
      a.state = *v;
    } else if (s == "--erase") {
      a.erase = true;
    } else if (s == "--topics" || s == "--branches" || s == "--mode") {
      auto v = value(s.c_str());
      if (!v) return 2;
      if (s == "--mode" && !valid_subscriber_mode(*v))
        return usage_error("--mode must be immediate, daily or weekly, not '" + *v + "'");
      (s == "--topics" ? a.topics : s == "--branches" ? a.branches : a.mode) = *v;
    } else if (s == "--destination") {
      auto v = value("--destination");
      if (!v) return 2;
      a.destination = *v;
    } else if (s == "--date") {
      auto v = value("--date");
      if (!v) return 2;
      a.date = parse_utc_time(*v);
      if (!a.date) return usage_error("--date: '" + *v + "' is not RFC 3339 or Unix seconds");
    } else if (s == "--older-than") {
      auto v = value("--older-than");
      if (!v) return 2;
      auto ms = parse_duration_ms(*v);
      if (!ms || *ms <= 0)
        return usage_error("--older-than must be a duration such as 30d or 12h, not '" + *v + "'");
      a.older_than_s = *ms / 1000;
    } else if (s == "--limit") {
      auto v = value("--limit");
      if (!v) return 2;
      auto n = parse_number(*v, 1, k_max_limit);
      if (!n)
        return usage_error("--limit must be a whole number from 1 to " +
                           std::to_string(k_max_limit) + ", not '" + *v + "'");
      a.limit = *n;
    } else if (a.command == "outbox" && s.size() > 1 && s[0] == '-' &&
               std::isdigit(static_cast<unsigned char>(s[1]))) {
      a.positional.push_back(s);  // a negative ID: refused as one, not as an unknown option
    } else if (!s.empty() && s[0] == '-') {
      return usage_error("unknown option '" + s + "'");
    } else if (a.command.empty()) {
      a.command = s;
    } else {
      a.positional.push_back(s);
    }
  }
  if (a.command.empty()) {
    std::fputs(k_usage, stderr);
    return 2;
  }
  try {
    if (a.command == "run") return cmd_run(a);
    if (a.command == "check-config") return cmd_check_config(a);
    if (a.command == "outbox") return cmd_outbox(a);
    if (a.command == "destination") return cmd_destination(a);
    if (a.command == "subscribers") return cmd_subscribers(a);
    if (a.command == "status" || a.command == "preview" || a.command == "backup") return cmd_ops(a);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "herald: %s\n", e.what());
    return 1;
  }
  return usage_error("unknown command '" + a.command + "'");
}

}  // namespace herald
