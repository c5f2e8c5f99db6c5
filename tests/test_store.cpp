#include <sqlite3.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "daemon/store.hpp"
#include "daemon/store/sqlite.hpp"
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
  CHECK(*(*store)->schema_version() == k_schema_version);
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
  auto added = store->sources().commit_poll(poll);
  REQUIRE(added);
  CHECK(*added == 2);
  auto st = *store->sources().source_state("tags");
  CHECK(st.cursor == "c1");
  CHECK(st.etag == "\"abc\"");
  CHECK(st.last_success == 100);

  poll.cursor = "c2";
  CHECK(*store->sources().commit_poll(poll) == 0);
  CHECK(*store->events().count_events() == 2);
  CHECK((*store->sources().source_state("tags")).cursor == "c2");

  CHECK(store->sources().record_poll_failure("tags", "HTTP 503", 200, 260));
  st = *store->sources().source_state("tags");
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
  REQUIRE(store->sources().commit_poll(poll));
  auto pending = *store->events().unrouted_events(10);
  REQUIRE(pending.size() == 1);
  CHECK(pending[0].event.key == "new");
  CHECK(pending[0].event.attributes["version"] == "new");
  CHECK(pending[0].event.tags.at("branch") == "2.15");
}

TEST_CASE("store: routing writes outbox rows once and outcomes move their state", "[store]") {
  TempDir dir;
  auto store = std::move(*Store::open(dir.file("h.db")));
  REQUIRE(store->events().insert_events({make_event("a")}, 10));
  auto ev = *store->events().unrouted_events(10);
  REQUIRE(ev.size() == 1);
  NewDelivery d{"mail:list:a", "list", "h@example.org", {"list@example.org"}, "bytes", "subj"};
  REQUIRE(store->outbox().commit_routing({ev[0].id}, {d, d}, 10));
  CHECK((*store->events().unrouted_events(10)).empty());
  auto due = *store->outbox().due_deliveries(10, 10);
  REQUIRE(due.size() == 1);
  CHECK(due[0].recipients == std::vector<std::string>{"list@example.org"});
  CHECK(due[0].payload == "bytes");
  CHECK(due[0].created_at == 10);

  DeliveryOutcome retry{due[0].id, DeliveryResult::retry("451 try later"), 70, false};
  REQUIRE(store->outbox().record_outcomes({retry}, 11));
  CHECK((*store->outbox().due_deliveries(69, 10)).empty());
  CHECK(*store->outbox().next_due_time() == 70);
  due = *store->outbox().due_deliveries(70, 10);
  REQUIRE(due.size() == 1);
  CHECK(due[0].attempts == 1);

  DeliveryOutcome dead{due[0].id, DeliveryResult::fail("550 no such user"), 0, true};
  REQUIRE(store->outbox().record_outcomes({dead}, 71));
  auto rows = *store->outbox().outbox_rows("dead", 10);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].last_error == "550 no such user");
  CHECK_FALSE(*store->outbox().next_due_time());

  CHECK(*store->outbox().retry_dead(std::nullopt, 80) == 1);
  CHECK((*store->outbox().due_deliveries(80, 10)).size() == 1);
}

TEST_CASE("store: pushed events no route can take are stored as routed", "[store]") {
  TempDir dir;
  auto store = std::move(*Store::open(dir.file("h.db")));
  InboundItem item{"hooks", "d1", {make_event("routed-later"), make_event("digest-only")}};
  item.announce = {true, false};
  auto r = store->events().ingest({item}, 10);
  REQUIRE(r);
  CHECK(*r == std::vector<bool>{true});
  CHECK(*store->events().count_events() == 2);
  auto pending = *store->events().unrouted_events(10);
  REQUIRE(pending.size() == 1);
  CHECK(pending[0].event.key == "routed-later");
  // Digests read every event of a window, routed or not.
  CHECK((*store->events().events_received_between(10, 11, {})).size() == 2);
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

namespace {
// Runs SQL on a raw connection; the test fails on an SQL error.
void sql(sqlite3* db, const std::string& text) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, text.c_str(), nullptr, nullptr, &err);
  INFO(text << ": " << (err ? err : ""));
  sqlite3_free(err);
  REQUIRE(rc == SQLITE_OK);
}

// The schema-3 outbox as herald 0.1 wrote it (migrations 1 to 3 of that version).
const char* const k_schema3_ddl = R"sql(
CREATE TABLE events(
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  source TEXT NOT NULL,
  time INTEGER NOT NULL,
  severity TEXT NOT NULL,
  title TEXT NOT NULL,
  body TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  routed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX events_unrouted ON events(id) WHERE routed = 0;
CREATE TABLE source_state(
  source TEXT PRIMARY KEY,
  cursor TEXT NOT NULL DEFAULT '',
  etag TEXT NOT NULL DEFAULT '',
  last_modified TEXT NOT NULL DEFAULT '',
  content_hash TEXT NOT NULL DEFAULT '',
  last_success INTEGER NOT NULL DEFAULT 0,
  last_attempt INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  error_count INTEGER NOT NULL DEFAULT 0,
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  next_poll_at INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE outbox(
  id INTEGER PRIMARY KEY,
  idempotency_key TEXT NOT NULL UNIQUE,
  destination TEXT NOT NULL,
  sender TEXT NOT NULL,
  recipients TEXT NOT NULL,
  subject TEXT NOT NULL,
  payload BLOB NOT NULL,
  state TEXT NOT NULL DEFAULT 'pending' CHECK(state IN ('pending','delivered','dead')),
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  delivered_at INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_due ON outbox(next_attempt_at, id) WHERE state = 'pending';
CREATE TABLE inbound_deliveries(
  source TEXT NOT NULL,
  delivery_id TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  PRIMARY KEY(source, delivery_id)
) WITHOUT ROWID;
CREATE TABLE digest_state(
  name TEXT PRIMARY KEY,
  window_end INTEGER NOT NULL
);
CREATE INDEX events_received ON events(received_at);
ALTER TABLE outbox ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox(destination, priority DESC, next_attempt_at, id)
  WHERE state = 'pending';
PRAGMA user_version=3;
)sql";
}  // namespace

TEST_CASE("store: a schema-3 outbox migrates to messages and deliveries with its history",
          "[store]") {
  TempDir dir;
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(dir.file("h.db").c_str(), &db) == SQLITE_OK);
    sql(db, k_schema3_ddl);
    sql(db,
        "INSERT INTO outbox(id, idempotency_key, destination, sender, recipients, subject, "
        "payload, state, attempts, created_at, next_attempt_at, delivered_at, last_error, "
        "priority) VALUES"
        "(1, 'mail:list:<a@h>', 'list', 'h@example.org', '[\"list@example.org\"]', 'A', "
        "'payload A', 'pending', 2, 100, 500, 0, '451 later', 5),"
        "(2, 'mail:team:<b@h>', 'team', 'h@example.org', "
        "'[\"x@example.org\",\"y@example.org\",\"z@example.org\"]', 'B', 'payload B', 'dead', "
        "7, 200, 900, 0, '550 5.1.1 no such user', 0),"
        "(3, 'mail:list:<c@h>', 'list', 'h@example.org', '[\"p@example.org\",\"q@example.org\"]', "
        "'C', 'payload C', 'delivered', 1, 300, 300, 310, '250 ok', 0),"
        "(4, 'hook:ops:e1', 'ops', '', '[]', 'D', '{\"e\":1}', 'pending', 0, 400, 400, 0, '', 0)");
    sqlite3_close(db);
  }
  auto opened = Store::open(dir.file("h.db"));
  REQUIRE(opened);
  auto& store = **opened;
  CHECK(*store.schema_version() == k_schema_version);  // 4: messages and deliveries; 5: the claim index; 6: subscribers; 7: notices
  auto rows = *store.outbox().outbox_rows("", 100);
  REQUIRE(rows.size() == 7);  // 1 + 3 + 2 + 1 deliveries
  std::map<std::string, OutboxRow> by_key;
  for (const auto& r : rows) by_key[r.idempotency_key] = r;
  REQUIRE(by_key.size() == 7);

  // One recipient: the delivery keeps the row's key and all of its history.
  const auto& a = by_key.at("mail:list:<a@h>");
  CHECK(a.state == "pending");
  CHECK(a.recipient == "list@example.org");
  CHECK(a.attempts == 2);
  CHECK(a.created_at == 100);
  CHECK(a.next_attempt_at == 500);
  CHECK(a.last_error == "451 later");
  CHECK(a.priority == 5);
  CHECK(a.message_key == "mail:list:<a@h>");
  CHECK(a.subject == "A");

  // Several recipients: one delivery each, keyed key/recipient, history copied to each.
  for (const char* r : {"x@example.org", "y@example.org", "z@example.org"}) {
    const auto& b = by_key.at(std::string("mail:team:<b@h>/") + r);
    CHECK(b.state == "dead");
    CHECK(b.recipient == r);
    CHECK(b.attempts == 7);
    CHECK(b.created_at == 200);
    CHECK(b.next_attempt_at == 900);
    CHECK(b.last_error == "550 5.1.1 no such user");
    CHECK(b.destination == "team");
    CHECK(b.message_key == "mail:team:<b@h>");
    CHECK(b.message_id == 2);
  }
  for (const char* r : {"p@example.org", "q@example.org"}) {
    const auto& c = by_key.at(std::string("mail:list:<c@h>/") + r);
    CHECK(c.state == "delivered");
    CHECK(c.delivered_at == 310);
    CHECK(c.attempts == 1);
    CHECK(c.last_error == "250 ok");
  }
  // No recipients (HTTP): one delivery with none.
  const auto& d = by_key.at("hook:ops:e1");
  CHECK(d.state == "pending");
  CHECK(d.recipient.empty());
  CHECK(d.payload_size == 7);

  // The migrated rows are claimed as deliveries, by priority.
  auto claimed = store.outbox().claim_deliveries("list", 1000, 10, "t:1:1:1", 2000);
  REQUIRE(claimed);
  REQUIRE(claimed->size() == 1);
  CHECK((*claimed)[0].payload == "payload A");
  CHECK((*claimed)[0].recipients == std::vector<std::string>{"list@example.org"});
  auto hook = store.outbox().claim_deliveries("ops", 1000, 10, "t:1:1:1", 2000);
  REQUIRE(hook);
  REQUIRE(hook->size() == 1);
  CHECK((*hook)[0].recipients.empty());

  // herald preview finds a message by its key and by a delivery's key.
  auto p = *store.outbox().outbox_payload("mail:team:<b@h>");
  REQUIRE(p);
  CHECK(p->payload == "payload B");
  CHECK(p->state == "dead");
  CHECK(p->created_at == 200);
  auto q = *store.outbox().outbox_payload("mail:team:<b@h>/y@example.org");
  REQUIRE(q);
  CHECK(q->payload == "payload B");
}

TEST_CASE("store: a message to several recipients is one delivery per recipient", "[store]") {
  TempDir dir;
  auto store = std::move(*Store::open(dir.file("h.db")));
  NewDelivery d{"mail:list:<m@h>", "list", "h@example.org", {"a@x.org", "b@x.org"}, "bytes", "s"};
  REQUIRE(store->outbox().commit_routing({}, {d}, 10));
  REQUIRE(store->outbox().commit_routing({}, {d}, 11));  // the same message again: nothing new
  auto due = *store->outbox().due_deliveries(10, 10);
  REQUIRE(due.size() == 2);
  CHECK(due[0].idempotency_key == "mail:list:<m@h>/a@x.org");
  CHECK(due[0].recipients == std::vector<std::string>{"a@x.org"});
  CHECK(due[1].recipients == std::vector<std::string>{"b@x.org"});
  CHECK(due[0].message_id == due[1].message_id);
  CHECK(due[0].message_key == "mail:list:<m@h>");
  CHECK(due[1].payload == "bytes");
  auto depth = *store->outbox().outbox_depth();
  REQUIRE(depth.size() == 1);
  CHECK(depth[0] == std::pair<std::string, int64_t>{"pending", 2});
}

TEST_CASE("store: retrying a dead delivery gives it a fresh age; purge removes only what is done",
          "[store]") {
  TempDir dir;
  auto store = std::move(*Store::open(dir.file("h.db")));
  NewDelivery a{"mail:list:a", "list", "h@example.org", {"l@x.org"}, "A", "a"};
  NewDelivery b{"mail:team:b", "team", "h@example.org", {"t@x.org"}, "B", "b"};
  REQUIRE(store->outbox().commit_routing({}, {a, b}, 10));
  auto due = *store->outbox().due_deliveries(10, 10);
  REQUIRE(due.size() == 2);
  REQUIRE(store->outbox().record_outcomes({{due[0].id, DeliveryResult::fail("550 gone"), 0, true},
                                           {due[1].id, DeliveryResult::fail("550 gone"), 0, true}},
                                          20));
  // Only team's, by destination.
  CHECK(*store->outbox().retry_dead(std::nullopt, 5000, "team") == 1);
  auto row = store->outbox().outbox_row(due[1].id);
  REQUIRE(row);
  REQUIRE(*row);
  CHECK((*row)->state == "pending");
  CHECK((*row)->created_at == 5000);  // max_age counts from the retry
  CHECK((*row)->attempts == 0);
  CHECK((*row)->next_attempt_at == 5000);
  CHECK((*row)->last_error == "550 gone");  // the answer that killed it stays visible
  auto missing = store->outbox().outbox_row(999);
  REQUIRE(missing);
  CHECK_FALSE(*missing);

  auto refused = store->outbox().purge("pending", "", 1'000'000);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind == ErrorKind::bad_input);
  CHECK(*store->outbox().purge("dead", "", 5) == 0);  // created at 10: not older than 5
  CHECK(*store->outbox().purge("dead", "", 11) == 1);
  CHECK_FALSE(*store->outbox().outbox_payload("mail:list:a"));  // its message went with it
  CHECK(*store->outbox().outbox_payload("mail:team:b"));
  CHECK((*store->outbox().outbox_rows("", 10)).size() == 1);
}

TEST_CASE("store: a disabled destination's deliveries stay pending and are not claimed",
          "[store]") {
  TempDir dir;
  auto store = std::move(*Store::open(dir.file("h.db")));
  NewDelivery a{"hook:ops:1", "ops", "", {}, "{}", "one"};
  NewDelivery b{"hook:ops:2", "ops", "", {}, "{}", "two"};
  REQUIRE(store->outbox().commit_routing({}, {a, b}, 10));
  auto first = store->outbox().claim_deliveries("ops", 10, 1, "t:1:1:1", 100);
  REQUIRE(first);
  REQUIRE(first->size() == 1);
  // The endpoint answered 410 Gone: the destination is disabled, the delivery kept.
  REQUIRE(store->outbox().record_outcomes(
      {{(*first)[0].id, DeliveryResult::disable("HTTP 410 Gone"), 0, false}}, 20));
  auto disabled = store->destinations().disabled();
  REQUIRE(disabled);
  REQUIRE(disabled->count("ops") == 1);
  CHECK(disabled->at("ops").reason == "HTTP 410 Gone");
  CHECK(disabled->at("ops").since == 20);
  CHECK((*store->outbox().outbox_rows("pending", 10)).size() == 2);
  auto none = store->outbox().claim_deliveries("ops", 30, 10, "t:1:1:1", 100);
  REQUIRE(none);
  CHECK(none->empty());
  CHECK_FALSE(*store->outbox().next_due_time("ops"));

  auto was = store->destinations().enable("ops");
  REQUIRE(was);
  CHECK(*was);
  auto again = store->destinations().enable("ops");
  REQUIRE(again);
  CHECK_FALSE(*again);
  auto both = store->outbox().claim_deliveries("ops", 30, 10, "t:1:1:1", 100);
  REQUIRE(both);
  CHECK(both->size() == 2);
  CHECK((*both)[0].attempts == 0);  // a disable is not an attempt

  REQUIRE(store->destinations().disable("mail", "by hand", 40));
  CHECK(store->destinations().disabled()->at("mail").reason == "by hand");
}

namespace {
// Another connection holding the write lock for `hold`, from a thread.
class WriteLockHolder {
 public:
  WriteLockHolder(const std::string& path, std::chrono::milliseconds hold) {
    REQUIRE(sqlite3_open(path.c_str(), &m_db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(m_db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
    m_thread = std::thread([this, hold] {
      std::this_thread::sleep_for(hold);
      sqlite3_exec(m_db, "COMMIT", nullptr, nullptr, nullptr);
    });
  }
  ~WriteLockHolder() {
    m_thread.join();
    sqlite3_close(m_db);
  }
  WriteLockHolder(const WriteLockHolder&) = delete;
  WriteLockHolder& operator=(const WriteLockHolder&) = delete;

 private:
  sqlite3* m_db = nullptr;
  std::thread m_thread;
};
}  // namespace

TEST_CASE("store: a write waits for another connection's write lock, up to a bound",
          "[store][threads]") {
  TempDir dir;
  auto store = std::move(*Store::open(dir.file("h.db")));
  NewDelivery d{"hook:ops:1", "ops", "", {}, "{}", "one"};
  {
    WriteLockHolder other(dir.file("h.db"), std::chrono::milliseconds(1500));
    const auto start = std::chrono::steady_clock::now();
    auto s = store->outbox().commit_routing({}, {d}, 10);  // BEGIN IMMEDIATE waits
    const auto waited = std::chrono::steady_clock::now() - start;
    INFO((s ? "" : s.error().message));
    CHECK(s);
    CHECK(waited >= std::chrono::milliseconds(1000));
    auto n = store->outbox().retry_dead(std::nullopt, 20);  // an autocommit write after the wait
    CHECK(n);
  }
  CHECK((*store->outbox().outbox_rows("pending", 10)).size() == 1);
  {
    WriteLockHolder other(dir.file("h.db"), std::chrono::milliseconds(1500));
    store->set_busy_timeout(std::chrono::milliseconds(300));
    const auto start = std::chrono::steady_clock::now();
    auto claimed = store->outbox().claim_deliveries("ops", 10, 10, "t:1:1:1", 100);
    const auto waited = std::chrono::steady_clock::now() - start;
    REQUIRE_FALSE(claimed);
    CHECK(claimed.error().kind == ErrorKind::temporary);
    CHECK(claimed.error().message.find("locked") != std::string::npos);
    CHECK(waited >= std::chrono::milliseconds(300));
    CHECK(waited < std::chrono::milliseconds(1400));
    auto n = store->outbox().retry_dead(std::nullopt, 20);  // an autocommit write, same bound
    REQUIRE_FALSE(n);
    CHECK(n.error().kind == ErrorKind::temporary);
  }
  // Once the other connection is done, the same store writes again.
  auto claimed = store->outbox().claim_deliveries("ops", 10, 10, "t:1:1:1", 100);
  REQUIRE(claimed);
  CHECK(claimed->size() == 1);
}

TEST_CASE("store: a claim walks the claim index in claim order, sorting nothing", "[store]") {
  TempDir dir;
  auto store = std::move(*Store::open(dir.file("h.db")));
  // Many pending deliveries of another destination, and of this one at two priorities.
  std::vector<NewDelivery> rows;
  for (int i = 0; i < 2000; ++i)
    rows.push_back({"hook:other:" + std::to_string(i), "other", "", {}, "{}", "o"});
  for (int i = 0; i < 50; ++i)
    rows.push_back({"hook:ops:" + std::to_string(i), "ops", "", {}, "{}", "n", i % 2 ? 0 : 9});
  REQUIRE(store->outbox().commit_routing({}, rows, 10));
  auto plan = store->outbox().claim_plan();
  REQUIRE(plan);
  INFO(*plan);
  CHECK(plan->find("deliveries_claim") != std::string::npos);
  CHECK(plan->find("TEMP B-TREE") == std::string::npos);

  auto first = store->outbox().claim_deliveries("ops", 10, 30, "t:1:1:1", 100);
  REQUIRE(first);
  REQUIRE(first->size() == 30);
  // The 25 of priority 9 first, each destination's own rows only.
  for (size_t i = 0; i < first->size(); ++i) {
    CHECK((*first)[i].destination == "ops");
    const int n = std::stoi((*first)[i].idempotency_key.substr(std::string("hook:ops:").size()));
    CHECK((n % 2 == 0) == (i < 25));
  }
  // The leased rows are skipped by the next claim, which takes the other 20.
  auto rest = store->outbox().claim_deliveries("ops", 10, 30, "t:2:1:1", 100);
  REQUIRE(rest);
  CHECK(rest->size() == 20);
}

namespace {

int synchronous_level(sqlite3* db) {
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "PRAGMA synchronous", -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  const int level = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  return level;
}

}  // namespace

TEST_CASE("store: delivery bookkeeping commits survive a crash; the connection stays FULL",
          "[store]") {
  TempDir dir;
  auto opened = Store::open(dir.file("h.db"));
  REQUIRE(opened);
  Store& store = **opened;
  sqlite3* db = store.database().raw();
  constexpr int k_normal = 1, k_full = 2;
  CHECK(synchronous_level(db) == k_full);  // acknowledged data survives power loss
  {
    store_sql::Transaction tx(store_sql::conn(store.database()), store_sql::Durability::crash);
    CHECK(synchronous_level(db) == k_normal);
    tx.commit();
  }
  CHECK(synchronous_level(db) == k_full);
  {  // rolled back
    store_sql::Transaction tx(store_sql::conn(store.database()), store_sql::Durability::crash);
    CHECK(synchronous_level(db) == k_normal);
  }
  CHECK(synchronous_level(db) == k_full);
  // Through the outbox: a claim and an outcome leave the connection as it was.
  auto claimed = store.outbox().claim_deliveries("list", 1000, 10, "t:1:1:1", 2000);
  REQUIRE(claimed);
  CHECK(synchronous_level(db) == k_full);
  REQUIRE(store.outbox().record_outcomes({}, 1000));
  CHECK(synchronous_level(db) == k_full);
}

TEST_CASE("store: the log is checkpointed beside the writer and stays bounded; nothing is lost",
          "[store][threads]") {
  TempDir dir;
  const std::string path = dir.file("h.db");
  constexpr int k_commits = 160;
  constexpr size_t k_payload = 256 * 1024;  // 40 MiB in all, ten times SQLite's 4 MiB threshold
  {
    auto store = std::move(*Store::open(path));
    std::string payload(k_payload, 'x');
    uint32_t seed = 12345;  // incompressible enough that every page is its own
    for (int c = 0; c < k_commits; ++c) {
      for (auto& ch : payload) {
        seed = seed * 1103515245u + 12345u;
        ch = static_cast<char>('a' + (seed >> 16) % 26);
      }
      NewDelivery d{"hook:ops:" + std::to_string(c), "ops", "", {}, payload, "big"};
      REQUIRE(store->outbox().commit_routing({}, {d}, 10));
    }
    // The log restarts once a checkpoint has copied it all, so its file never
    // holds every commit: without checkpoints it would hold all 40 MiB.
    const auto wal = std::filesystem::file_size(path + "-wal");
    INFO("WAL high-water mark " << wal << " bytes");
    CHECK(wal < k_commits * k_payload / 2);
  }
  // Closing checkpoints the rest; a new connection sees every row.
  CHECK_FALSE(std::filesystem::exists(path + "-wal"));
  auto store = std::move(*Store::open(path));
  auto rows = store->outbox().outbox_rows("pending", 1000);
  REQUIRE(rows);
  CHECK(rows->size() == k_commits);
}
