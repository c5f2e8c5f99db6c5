// The audit log and the approval rule shared by notices and the patch list.
#include <catch2/catch.hpp>

#include "daemon/admin/approval.hpp"
#include "daemon/store.hpp"
#include "tests/support/temp_dir.hpp"

using namespace herald;

TEST_CASE("the audit log keeps entries in order and filters by subject", "[store][admin]") {
  test::TempDir dir;
  {
    auto store = *Store::open(dir.file("h.db"));
    REQUIRE(store->audit().append({0, 100, "alice", "create", "OSFS-SA-2026-001-1", ""}));
    REQUIRE(store->audit().append({0, 110, "bob", "approve", "OSFS-SA-2026-001-1", "1 of 2"}));
    REQUIRE(store->audit().append({0, 120, "bob", "create", "OSFS-SA-2026-0010-1", ""}));
    REQUIRE(store->audit().append({0, 130, "alice", "add", "patch:2.15.7:LU-1", ""}));
  }
  auto store = *Store::open(dir.file("h.db"));  // survives a restart
  auto all = store->audit().list("");
  REQUIRE(all);
  REQUIRE(all->size() == 4);
  CHECK((*all)[0].admin == "alice");
  CHECK((*all)[3].action == "add");
  auto one = store->audit().list("OSFS-SA-2026-001-");
  REQUIRE(one);
  REQUIRE(one->size() == 2);
  CHECK((*one)[1].detail == "1 of 2");
  CHECK((*one)[1].at == 110);
  auto last = store->audit().list("", 1);
  REQUIRE(last->size() == 1);
  CHECK(last->front().subject == "patch:2.15.7:LU-1");
  // A prefix with LIKE's wildcards means itself.
  CHECK(store->audit().list("OSFS_SA")->empty());
}

TEST_CASE("approvals: distinct admins, and not the author under the two-person rule",
          "[admin]") {
  CHECK_FALSE(approval_refused(1, "alice", "alice", {}));
  CHECK(counted_approvals(1, "alice", {"alice"}) == 1);
  auto own = approval_refused(2, "alice", "alice", {});
  REQUIRE(own);
  CHECK_THAT(*own, Catch::Contains("the author may not approve"));
  CHECK_FALSE(approval_refused(2, "alice", "bob", {}));
  auto twice = approval_refused(2, "alice", "bob", {"bob"});
  REQUIRE(twice);
  CHECK_THAT(*twice, Catch::Contains("already approved"));
  CHECK(counted_approvals(2, "alice", {"alice", "bob"}) == 1);
  CHECK(counted_approvals(2, "alice", {"bob", "carol"}) == 2);
}
