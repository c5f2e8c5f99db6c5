#include <catch2/catch.hpp>

#include <sqlite3.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "daemon/store.hpp"
#include "tests/support/temp_dir.hpp"

using namespace herald;
using herald::test::TempDir;

namespace {
Event make_event(const std::string& key) {
  Event e;
  e.key = key;
  e.kind = "release.published";
  e.source = "tags";
  e.time = 1'700'000'000;
  e.title = "Lustre " + key;
  e.tags = {{"branch", "2.15"}};
  e.attributes = {{"version", key}};
  return e;
}

// A small tmpfs mounted for one test (the tests run as root); unmounted at scope exit.
class Tmpfs {
 public:
  Tmpfs(const std::string& dir, const std::string& options, bool read_only = false) : m_dir(dir) {
    std::filesystem::create_directories(dir);
    if (::mount("tmpfs", dir.c_str(), "tmpfs", read_only ? MS_RDONLY : 0, options.c_str()) == 0)
      m_mounted = true;
    else
      m_error = std::strerror(errno);
  }
  ~Tmpfs() {
    if (m_mounted) ::umount2(m_dir.c_str(), MNT_DETACH);
  }
  Tmpfs(const Tmpfs&) = delete;
  Tmpfs& operator=(const Tmpfs&) = delete;

  bool mounted() const { return m_mounted; }
  const std::string& error() const { return m_error; }
  bool remount_read_only() {
    return ::mount("tmpfs", m_dir.c_str(), "tmpfs", MS_REMOUNT | MS_RDONLY, nullptr) == 0;
  }

 private:
  std::string m_dir;
  bool m_mounted = false;
  std::string m_error;
};

// The error Store::open gives for `path`, or "opened" when it opens.
std::string open_error(const std::string& path) {
  auto store = Store::open(path);
  return store ? "opened" : store.error().message;
}

// Fills the file system holding `dir` up to `leave` free bytes (0: until ENOSPC).
void fill(const std::string& dir, int64_t leave) {
  std::ofstream out(dir + "/fill", std::ios::binary);
  std::string block(1024, 'x');
  for (;;) {
    auto space = std::filesystem::space(dir);
    if (static_cast<int64_t>(space.available) <= leave) break;
    if (!out.write(block.data(), static_cast<std::streamsize>(block.size())).flush()) break;
  }
}
}  // namespace

TEST_CASE("store: a new database is migrated to the current schema in WAL mode", "[store]") {
  TempDir dir;
  auto store = Store::open(dir.file("sub/herald.db"));
  REQUIRE(store);
  CHECK((*store)->schema_version() == k_schema_version);
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(dir.file("sub/herald.db").c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))) == "wal");
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST_CASE("store: a database written by a newer herald is refused with a clear message",
          "[store]") {
  TempDir dir;
  { REQUIRE(Store::open(dir.file("h.db"))); }
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(dir.file("h.db").c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  auto store = Store::open(dir.file("h.db"));
  REQUIRE_FALSE(store);
  CHECK(store.error().message.find("schema version 99 was written by a newer herald") !=
        std::string::npos);
}

TEST_CASE("store: events are unique by key and the cursor moves with them", "[store]") {
  TempDir dir;
  auto store = std::move(*Store::open(dir.file("h.db")));
  PollCommit poll;
  poll.source = "tags";
  poll.events = {make_event("2.15.7"), make_event("2.15.8"), make_event("2.15.7")};
  poll.cursor = "c1";
  poll.etag = "\"abc\"";
  poll.now = 100;
  poll.next_poll_at = 1000;
  auto added = store->commit_poll(poll);
  REQUIRE(added);
  CHECK(*added == 2);
  auto st = store->source_state("tags");
  CHECK(st.cursor == "c1");
  CHECK(st.etag == "\"abc\"");
  CHECK(st.last_success == 100);

  poll.cursor = "c2";
  CHECK(*store->commit_poll(poll) == 0);
  CHECK(store->count_events() == 2);
  CHECK(store->source_state("tags").cursor == "c2");

  CHECK(store->record_poll_failure("tags", "HTTP 503", 200, 260));
  st = store->source_state("tags");
  CHECK(st.cursor == "c2");
  CHECK(st.last_error == "HTTP 503");
  CHECK(st.consecutive_failures == 1);
  CHECK(st.next_poll_at == 260);
}

TEST_CASE("store: events recorded as not announced are never routed", "[store]") {
  TempDir dir;
  auto store = std::move(*Store::open(dir.file("h.db")));
  PollCommit poll;
  poll.source = "tags";
  poll.events = {make_event("old"), make_event("new")};
  poll.announce = {false, true};
  REQUIRE(store->commit_poll(poll));
  auto pending = store->unrouted_events(10);
  REQUIRE(pending.size() == 1);
  CHECK(pending[0].event.key == "new");
  CHECK(pending[0].event.attributes["version"] == "new");
  CHECK(pending[0].event.tags.at("branch") == "2.15");
}

TEST_CASE("store: routing writes outbox rows once and outcomes move their state", "[store]") {
  TempDir dir;
  auto store = std::move(*Store::open(dir.file("h.db")));
  REQUIRE(store->insert_events({make_event("a")}, 10));
  auto ev = store->unrouted_events(10);
  REQUIRE(ev.size() == 1);
  NewDelivery d{"mail:list:a", "list", "h@example.org", {"list@example.org"}, "bytes", "subj"};
  REQUIRE(store->commit_routing({ev[0].id}, {d, d}, 10));
  CHECK(store->unrouted_events(10).empty());
  auto due = store->due_deliveries(10, 10);
  REQUIRE(due.size() == 1);
  CHECK(due[0].recipients == std::vector<std::string>{"list@example.org"});
  CHECK(due[0].payload == "bytes");
  CHECK(due[0].created_at == 10);

  DeliveryOutcome retry{due[0].id, DeliveryResult::retry("451 try later"), 70, false};
  REQUIRE(store->record_outcomes({retry}, 11));
  CHECK(store->due_deliveries(69, 10).empty());
  CHECK(store->next_due_time() == 70);
  due = store->due_deliveries(70, 10);
  REQUIRE(due.size() == 1);
  CHECK(due[0].attempts == 1);

  DeliveryOutcome dead{due[0].id, DeliveryResult::fail("550 no such user"), 0, true};
  REQUIRE(store->record_outcomes({dead}, 71));
  auto rows = store->outbox_rows("dead", 10);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].last_error == "550 no such user");
  CHECK_FALSE(store->next_due_time());

  CHECK(*store->retry_dead(std::nullopt, 80) == 1);
  CHECK(store->due_deliveries(80, 10).size() == 1);
}

TEST_CASE("store: pushed events no route can take are stored as routed", "[store]") {
  TempDir dir;
  auto store = std::move(*Store::open(dir.file("h.db")));
  InboundItem item{"hooks", "d1", {make_event("routed-later"), make_event("digest-only")}};
  item.announce = {true, false};
  auto r = store->ingest({item}, 10);
  REQUIRE(r);
  CHECK(*r == std::vector<bool>{true});
  CHECK(store->count_events() == 2);
  auto pending = store->unrouted_events(10);
  REQUIRE(pending.size() == 1);
  CHECK(pending[0].event.key == "routed-later");
  // Digests read every event of a window, routed or not.
  CHECK(store->events_received_between(10, 11, {}).size() == 2);
}

TEST_CASE("store: a read-only file system is named as the cause, for a new or an existing database",
          "[store]") {
  TempDir dir;
  {
    Tmpfs ro(dir.file("ro"), "size=64k", true);
    if (!ro.mounted()) {
      WARN("skipped: cannot mount a tmpfs (" << ro.error() << "); needs root");
      return;
    }
    const std::string path = dir.file("ro/herald.db");
    CHECK(open_error(path) ==
          "cannot write the database " + path + ": read-only file system (EROFS)");
    const std::string deeper = dir.file("ro/var/herald.db");
    CHECK(open_error(deeper) ==
          "cannot write the database " + deeper + ": read-only file system (EROFS)");
  }
  Tmpfs rw(dir.file("rw"), "size=1m");
  REQUIRE(rw.mounted());
  const std::string path = dir.file("rw/herald.db");
  REQUIRE(open_error(path) == "opened");
  REQUIRE(rw.remount_read_only());
  CHECK(open_error(path) ==
        "cannot write the database " + path + ": read-only file system (EROFS)");
}

TEST_CASE("store: a full disk at start is named as the cause, however little space is left",
          "[store]") {
  TempDir dir;
  const std::string mnt = dir.file("small");
  const std::string path = mnt + "/herald.db";
  const std::string full = "cannot write the database " + path + ": the disk is full (ENOSPC)";
  int refused = 0;
  // From no space at all to most of the 64 KiB free: SQLite fails at different
  // steps (opening the WAL, its shared memory, the first commit).
  for (int64_t leave : {0, 4096, 8192, 12288, 16384, 24576, 32768, 49152}) {
    Tmpfs small(mnt, "size=64k");
    if (!small.mounted()) {
      WARN("skipped: cannot mount a tmpfs (" << small.error() << "); needs root");
      return;
    }
    fill(mnt, leave);
    INFO("free bytes left: " << leave);
    const std::string got = open_error(path);
    if (got != "opened") {
      CHECK(got == full);
      ++refused;
    }
    if (leave == 0) CHECK(got == full);
  }
  CHECK(refused > 0);
}

TEST_CASE("store: a directory herald may not write is named as the cause", "[store]") {
  TempDir dir;
  std::filesystem::create_directories(dir.file("locked"));
  std::filesystem::permissions(dir.file("locked"), std::filesystem::perms(0555));
  std::filesystem::permissions(dir.path(), std::filesystem::perms(0755));
  const std::string path = dir.file("locked/herald.db");
  const std::string nested = dir.file("locked/var/herald.db");
  const std::string expected = "permission denied on " + dir.file("locked") + " (EACCES)";
  // root writes anywhere: the check runs as nobody in a child process.
  auto as_unprivileged = [](const std::string& p) -> std::string {
    if (::geteuid() != 0) return open_error(p);
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(fds[0]);
      std::string msg = (::setgid(65534) == 0 && ::setuid(65534) == 0)
                            ? open_error(p)
                            : std::string("setuid: ") + std::strerror(errno);
      ssize_t n = ::write(fds[1], msg.data(), msg.size());
      ::_exit(n == static_cast<ssize_t>(msg.size()) ? 0 : 1);
    }
    ::close(fds[1]);
    std::string msg;
    char buf[512];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
      msg.append(buf, static_cast<size_t>(n));
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return msg;
  };
  CHECK(as_unprivileged(path) == "cannot write the database " + path + ": " + expected);
  CHECK(as_unprivileged(nested) == "cannot write the database " + nested + ": " + expected);
}
