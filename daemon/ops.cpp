// Operations commands. They open the daemon's database while the daemon may be running:
// reads and the backup's one read transaction do not block its writers (WAL mode), and
// everything these commands write is nothing (preview, status) or a new file (backup).
#include "daemon/ops.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>

#include "daemon/clock.hpp"
#include "daemon/pipeline.hpp"
#include "daemon/render.hpp"
#include "daemon/router.hpp"
#include "daemon/release_context.hpp"
#include "daemon/source_kind.hpp"
#include "daemon/schedule.hpp"
#include "daemon/store.hpp"
#include "daemon/util.hpp"

namespace herald {

namespace {

// root opening a database another user owns would leave root-owned -wal and -shm files
// behind, which that user's daemon then cannot open. Refused with the command to use.
bool owner_check(const std::string& database, const char* command) {
  struct stat st {};
  if (geteuid() != 0 || ::stat(database.c_str(), &st) != 0 || st.st_uid == 0) return true;
  std::fprintf(stderr,
               "herald: %s is owned by uid %u: run '%s' as that user (e.g. sudo -u herald "
               "herald %s ...) so that SQLite's -wal and -shm files stay its own\n",
               database.c_str(), static_cast<unsigned>(st.st_uid), command, command);
  return false;
}

std::unique_ptr<Store> open_existing(const Config& cfg, const char* command) {
  if (!std::filesystem::exists(cfg.database)) {
    std::fprintf(stderr, "herald: no database at %s (has herald run yet?)\n", cfg.database.c_str());
    return nullptr;
  }
  if (!owner_check(cfg.database, command)) return nullptr;
  auto store = Store::open(cfg.database);
  if (!store) {
    std::fprintf(stderr, "herald: %s\n", store.error().message.c_str());
    return nullptr;
  }
  return std::move(*store);
}

// Sample events for kinds that have no stored event yet. The release is the real 2.15.8
// event herald derives from the bundled sample feed and ChangeLog (config/sample/); the
// tracker events follow LU-18123 of tests/fixtures/tracker/jira_search_page_v2.json; the EOL
// notice is the one tests/test_eol_source.cpp sees for a 2.12 ending on 2027-03-31.
const std::map<std::string, const char*>& sample_events() {
  static const std::map<std::string, const char*> samples = {
      {"release.published", R"json({"attributes":{"author":"lustre","branch":"2.15",
"changelog_date":"2025-12-02","class":"ga","client_distros":["RHEL 9","RHEL 8","Ubuntu 22.04",
"SLES 15"],"client_kernels":["5.14.0-611.7.1.el9 (RHEL9.7)","5.14.0-570.60.1.el9 (RHEL9.6)",
"4.18.0-553.82.1.el8 (RHEL8.10)","5.15.0-88 (Ubuntu 22.04)","6.4.0-150600.23.73 (SLES15 SP6)"],
"e2fsprogs":"1.47.3-wc1","entry_id":"tag:github.com,2008:Repository/lustre-release/v2_15_8",
"is_dev":false,"is_ga":true,"is_rc":false,"lts":true,"server_distros":["RHEL 8"],
"server_kernels":["4.18.0-553.82.1.el8 (RHEL8.10)"],"version":"2.15.8","zfs":"2.3.2"},
"key":"sample:release:lustre:2.15.8","kind":"release.published","severity":"info",
"source":"sample","summary":"","tags":{"audience":"release","branch":"2.15","class":"ga",
"lts":"yes","project":"lustre","version":"2.15.8"},"time":1764699568,"title":"v2_15_8",
"url":"https://github.com/lustre/lustre-release/releases/tag/v2_15_8"})json"},
      {"bug.created", R"json({"attributes":{},"key":"sample:jira:LU-18123:created",
"kind":"bug.created","severity":"high","source":"sample",
"summary":"A lock cancel racing with the eviction of the client holding it.",
"tags":{"component":"ldlm","priority":"Critical","project":"LU","status":"Open","type":"Bug"},
"time":1764699568,"title":"LU-18123: ldlm: lock cancel races with client eviction",
"url":"https://jira.whamcloud.com/browse/LU-18123"})json"},
      {"bug.updated", R"json({"attributes":{"changes":["priority: Major -> Critical"]},
"key":"sample:jira:LU-18123:updated","kind":"bug.updated","severity":"high","source":"sample",
"summary":"priority: Major -> Critical","tags":{"changes":"priority","component":"ldlm",
"priority":"Critical","project":"LU","status":"In Progress","type":"Bug"},"time":1764699568,
"title":"LU-18123: ldlm: lock cancel races with client eviction",
"url":"https://jira.whamcloud.com/browse/LU-18123"})json"},
      {"bug.resolved", R"json({"attributes":{},"key":"sample:jira:LU-18123:resolved",
"kind":"bug.resolved","severity":"high","source":"sample","summary":"Resolution: Fixed",
"tags":{"component":"ldlm","fix_versions":"2.17.0","priority":"Critical","project":"LU",
"status":"Resolved","type":"Bug"},"time":1764699568,
"title":"LU-18123: ldlm: lock cancel races with client eviction",
"url":"https://jira.whamcloud.com/browse/LU-18123"})json"},
      {"eol.upcoming", R"json({"attributes":{"cycle":"2.12","days_left":30,"eol":"2027-03-31",
"eol_display":"2027-03-31","latest":"2.12.9","lts":true,"point_days":30,"product":"lustre",
"product_name":"Lustre","release_date":"2018-12-21","timezone":"UTC",
"upgrade_branch_release":"2.12.9","upgrade_lts_branch":"2.15","upgrade_lts_release":"2.15.8"},
"key":"sample:eol:lustre:2.12:T-30:2027-03-31","kind":"eol.upcoming","severity":"low",
"source":"sample","summary":"Upgrade path: 2.15.8, the latest release of 2.15, the newest long-term support branch.\nUntil then, 2.12.9 is the latest release of 2.12.",
"tags":{"audience":"eol","branch":"2.12","cycle":"2.12","lts":"yes","product":"lustre",
"project":"lustre"},"time":1803859200,
"title":"Lustre 2.12 reaches end of life on 2027-03-31, in 30 days","url":""})json"},
  };
  return samples;
}

std::string when(int64_t t, int64_t now) {
  if (t <= 0) return "never";
  std::string s = format_rfc3339(t);
  int64_t d = t - now;
  int64_t a = d < 0 ? -d : d;
  std::string span = a < 120      ? std::to_string(a) + "s"
                     : a < 7200   ? std::to_string(a / 60) + "m"
                     : a < 172800 ? std::to_string(a / 3600) + "h"
                                  : std::to_string(a / 86400) + "d";
  return s + (d <= 0 ? " (" + span + " ago)" : " (in " + span + ")");
}

bool write_all(int fd, const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n < 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;

std::string exec_error(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) == SQLITE_OK) return "";
  std::string msg = err ? err : sqlite3_errmsg(db);
  sqlite3_free(err);
  return std::string(sql) + ": " + msg;
}

// Opens `path` with `flags`; the message on failure.
Db open_db(const std::string& path, int flags, std::string& error) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    error = "cannot open " + path + ": " + (db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close_v2(db);
    return nullptr;
  }
  sqlite3_busy_timeout(db, 10'000);
  return Db(db);
}

// Copies, converts and checks; "" or what went wrong.
std::string backup_into(const std::string& source, const std::string& target) {
  std::string error;
  Db src = open_db(source, SQLITE_OPEN_READONLY, error);
  if (!src) return error;
  Db dst = open_db(target, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, error);
  if (!dst) return error;
  sqlite3_backup* b = sqlite3_backup_init(dst.get(), "main", src.get(), "main");
  if (!b) return std::string("backup: ") + sqlite3_errmsg(dst.get());
  // -1: every page in one step, under one read transaction of the source. Copying in
  // smaller steps would restart whenever the daemon commits in between.
  int rc = SQLITE_OK;
  for (int tries = 0; tries < 50; ++tries) {
    rc = sqlite3_backup_step(b, -1);
    if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) break;
    sqlite3_sleep(100);
  }
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) return std::string("backup: ") + sqlite3_errstr(rc);
  // The copy is in WAL mode like its source; a backup is one self-contained file.
  if (auto e = exec_error(dst.get(), "PRAGMA journal_mode=DELETE"); !e.empty()) return e;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(dst.get(), "PRAGMA integrity_check", -1, &st, nullptr) != SQLITE_OK)
    return std::string("integrity_check: ") + sqlite3_errmsg(dst.get());
  std::string verdict;
  while (sqlite3_step(st) == SQLITE_ROW) {
    const auto* t = sqlite3_column_text(st, 0);
    verdict +=
        (verdict.empty() ? "" : "; ") + std::string(t ? reinterpret_cast<const char*>(t) : "");
  }
  sqlite3_finalize(st);
  if (verdict != "ok") return "the copy fails PRAGMA integrity_check: " + verdict;
  return "";
}

bool fsync_path(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

std::string preview_sample_kinds() {
  std::string out;
  for (const auto& [kind, _] : sample_events()) out += (out.empty() ? "" : ", ") + kind;
  return out;
}

int run_preview(const Config& cfg, const PreviewRequest& req) {
  auto templates = Templates::load(cfg.bundled_templates, cfg.templates_dir);
  if (!templates) {
    std::fprintf(stderr, "herald: templates: %s\n", templates.error().message.c_str());
    return 1;
  }
  std::unique_ptr<Store> store;
  if (std::filesystem::exists(cfg.database)) {
    store = open_existing(cfg, "preview");
    if (!store) return 1;
  }
  Event event;
  bool stored = false;
  if (store) {
    auto se = store->events().event_by_key(req.what);
    if (!se) {
      std::fprintf(stderr, "herald: %s\n", se.error().message.c_str());
      return 1;
    }
    if (*se) {
      event = (*se)->event;
      stored = true;
    }
  }
  if (!stored) {
    auto it = sample_events().find(req.what);
    if (it == sample_events().end()) {
      std::fprintf(stderr,
                   "herald: '%s' is neither a stored event's key nor an event kind with a "
                   "sample (%s)\n",
                   req.what.c_str(), preview_sample_kinds().c_str());
      return 1;
    }
    event = event_from_json(nlohmann::json::parse(it->second));
  }
  std::vector<std::string> destinations;
  if (!req.destination.empty()) {
    if (!cfg.destination(req.destination)) {
      std::fprintf(stderr, "herald: no destination named '%s'\n", req.destination.c_str());
      return 1;
    }
    destinations.push_back(req.destination);
  } else {
    destinations = route_event(event, cfg.routes);
    if (destinations.empty()) {
      std::fprintf(stderr,
                   "herald: no route takes %s (%s); name a destination with --destination\n",
                   event.key.c_str(), event.kind.c_str());
      return 1;
    }
  }
  SystemClock clock;
  int status = 0;
  std::optional<nlohmann::json> release;  // links and tickets of a release, made once
  for (const auto& name : destinations) {
    const DestinationConfig& dest = *cfg.destination(name);
    const std::string key = delivery_key(dest, event);
    std::optional<OutboxPayload> row;
    if (store) {
      auto found = store->outbox().outbox_payload(key);
      if (!found) {
        std::fprintf(stderr, "herald: %s\n", found.error().message.c_str());
        return 1;
      }
      row = std::move(*found);
    }
    int64_t date = req.date.value_or(clock.now());
    const char* date_from = req.date ? "--date" : "now";
    if (row && !req.date) date = row->created_at, date_from = "the outbox row";
    if (!release) release = release_context(event, cfg, store.get());  // as routing does
    auto d = render_delivery(cfg, *templates, dest, event, date, &*release);
    if (!d) {
      std::fprintf(stderr, "herald: %s for %s: %s\n", event.key.c_str(), name.c_str(),
                   d.error().message.c_str());
      status = 1;
      continue;
    }
    std::string rcpts;
    for (const auto& r : d->recipients) rcpts += " <" + r + ">";
    if (dest.kind == "mail")
      std::fprintf(stderr, "preview: %s event %s to %s: MAIL FROM:<%s> RCPT TO:%s; Date from %s\n",
                   stored ? "stored" : "sample", event.key.c_str(), name.c_str(),
                   d->sender.c_str(), rcpts.c_str(), date_from);
    else
      std::fprintf(stderr, "preview: %s event %s to %s (%s): the request body%s\n",
                   stored ? "stored" : "sample", event.key.c_str(), name.c_str(),
                   dest.kind.c_str(), d->recipients.empty() ? "" : (" for" + rcpts).c_str());
    if (row && row->payload != d->payload)
      std::fprintf(stderr,
                   "preview: the outbox row %s holds a different message (%s; rendered with the "
                   "templates and configuration of then)\n",
                   key.c_str(), row->state.c_str());
    std::fflush(stderr);
    if (!write_all(STDOUT_FILENO, d->payload)) {
      std::perror("herald: stdout");
      return 1;
    }
  }
  return status;
}

int run_backup(const Config& cfg, const std::string& file) {
  if (!std::filesystem::exists(cfg.database)) {
    std::fprintf(stderr, "herald: no database at %s\n", cfg.database.c_str());
    return 1;
  }
  if (!owner_check(cfg.database, "backup")) return 1;
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::equivalent(cfg.database, file, ec)) {
    std::fprintf(stderr, "herald: %s is the database itself\n", file.c_str());
    return 1;
  }
  const fs::path target = fs::absolute(file, ec);
  const std::string tmp = target.string() + ".tmp-" + std::to_string(getpid());
  fs::remove(tmp, ec);
  std::string error = backup_into(cfg.database, tmp);
  if (error.empty() && !fsync_path(tmp, O_RDONLY)) error = "fsync " + tmp + " failed";
  if (error.empty() && ::rename(tmp.c_str(), target.c_str()) != 0)
    error = "cannot rename " + tmp + " to " + target.string() + ": " + std::strerror(errno);
  if (!error.empty()) {
    fs::remove(tmp, ec);
    fs::remove(tmp + "-journal", ec);
    std::fprintf(stderr, "herald: backup of %s failed: %s\n", cfg.database.c_str(), error.c_str());
    return 1;
  }
  fsync_path(target.parent_path().string(), O_RDONLY | O_DIRECTORY);
  std::printf("backup of %s written to %s (%jd bytes, integrity ok)\n", cfg.database.c_str(),
              target.c_str(), static_cast<intmax_t>(fs::file_size(target, ec)));
  return 0;
}

int run_status(const Config& cfg) {
  auto store = open_existing(cfg, "status");
  if (!store) return 1;
  SystemClock clock;
  const int64_t now = clock.now();
  auto schema = store->schema_version();
  if (!schema) {
    std::fprintf(stderr, "herald: %s\n", schema.error().message.c_str());
    return 1;
  }
  std::printf("herald %s, configuration %s, database %s (schema %d)\n", HERALD_VERSION,
              cfg.path.c_str(), cfg.database.c_str(), *schema);
  std::printf("\nsources:\n");
  if (cfg.sources.empty()) std::printf("  (none)\n");
  for (const auto& s : cfg.sources) {
    auto stored = store->sources().source_state(s.name);
    if (!stored) {
      std::fprintf(stderr, "herald: %s\n", stored.error().message.c_str());
      return 1;
    }
    const SourceState& st = *stored;
    const bool pushed = is_pushed(s);
    std::printf("  %s (%s)\n", s.name.c_str(), s.kind.c_str());
    if (pushed) {
      std::printf("    pushed to %s; see /metrics for its requests\n", s.path.c_str());
      continue;
    }
    std::printf("    last success  %s\n", when(st.last_success, now).c_str());
    if (!st.last_error.empty())
      std::printf("    last error    %s: %s (%lld in a row, %lld in all)\n",
                  when(st.last_attempt, now).c_str(), st.last_error.c_str(),
                  static_cast<long long>(st.consecutive_failures),
                  static_cast<long long>(st.error_count));
    std::printf("    next poll     %s\n",
                st.next_poll_at ? when(st.next_poll_at, now).c_str() : "at the daemon's next pass");
  }
  std::printf("\noutbox:\n");
  auto rows = store->outbox().count_outbox_by_destination();
  if (!rows) {
    std::fprintf(stderr, "herald: %s\n", rows.error().message.c_str());
    return 1;
  }
  std::map<std::string, std::map<std::string, int64_t>> by_dest;
  for (const auto& d : cfg.destinations) by_dest[d.name];
  for (const auto& r : *rows) by_dest[r.first][r.second] = r.count;
  for (const auto& [dest, states] : by_dest) {
    // By reference through an init-capture: clang 14 (the fuzz build) cannot
    // capture a structured binding.
    auto n = [&by_state = states](const char* s) {
      auto it = by_state.find(s);
      return static_cast<long long>(it == by_state.end() ? 0 : it->second);
    };
    std::printf("  %-24s pending %lld  delivered %lld  dead %lld%s\n", dest.c_str(), n("pending"),
                n("delivered"), n("dead"), cfg.destination(dest) ? "" : "  (not configured)");
  }
  if (auto due = store->outbox().next_due_time(); due && *due)
    std::printf("  next attempt  %s\n", when(**due, now).c_str());
  std::printf("\ndigests:\n");
  if (cfg.digests.empty()) std::printf("  (none)\n");
  for (const auto& d : cfg.digests) {
    auto sched = CronSchedule::parse(d.schedule, d.timezone);
    if (!sched) {
      std::printf("  %s: %s\n", d.name.c_str(), sched.error().message.c_str());
      continue;
    }
    auto stored = store->digests().digest_window_end(d.name);
    if (!stored) {
      std::fprintf(stderr, "herald: %s\n", stored.error().message.c_str());
      return 1;
    }
    auto end = *stored;
    std::printf("  %s (%s, %s)\n", d.name.c_str(), d.schedule.c_str(), d.timezone.c_str());
    if (!end) {
      std::printf("    not started: the daemon's next pass opens its first window\n");
      continue;
    }
    int64_t next = sched->next_after(*end);
    std::printf("    window since  %s\n", when(*end, now).c_str());
    std::printf("    next fire     %s\n",
                next == CronSchedule::k_never ? "never" : when(next, now).c_str());
  }
  return 0;
}

}  // namespace herald
