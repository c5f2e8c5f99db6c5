"""End to end: `herald subscribers` against the real binary and database:
add, list, show, export, import (errors at FILE:LINE), remove --erase."""
import os
import sqlite3
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402


class SubscribersCli(unittest.TestCase):
    def setUp(self):
        self.work = harness.Workdir()
        self.cfg = self.work.config("http://127.0.0.1:9/feed.xml")

    def tearDown(self):
        self.work.cleanup()

    def run_ok(self, *args):
        r = harness.herald("subscribers", *args, "--config", self.cfg)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        return r.stdout.decode()

    def test_add_list_show_export_import_remove(self):
        self.run_ok("add", "ann@example.org", "--topics", "releases,eol", "--branches", "2.15",
                    "--mode", "daily")
        r = harness.herald("subscribers", "add", "Ann@Example.org", "--config", self.cfg)
        self.assertEqual(r.returncode, 1)
        self.assertIn("already exists", r.stderr.decode())
        r = harness.herald("subscribers", "add", "not-an-address", "--config", self.cfg)
        self.assertEqual(r.returncode, 2)
        r = harness.herald("subscribers", "add", "x@example.org", "--mode", "hourly",
                           "--config", self.cfg)
        self.assertEqual(r.returncode, 2)

        csv = self.work.file("in.csv")
        with open(csv, "w") as f:
            f.write("address,topics,branches,mode\n"
                    "bob@example.org,releases,,immediate\n"
                    "bogus\n"
                    "carol@example.org,security,2.16 2.15,weekly\n"
                    "dave@example.org,releases,,monthly\n")
        r = harness.herald("subscribers", "import", csv, "--config", self.cfg)
        self.assertEqual(r.returncode, 1)
        err = r.stderr.decode()
        self.assertIn("%s:3: 'bogus' is not a mail address" % csv, err)
        self.assertIn("%s:5: mode must be immediate, daily or weekly, not 'monthly'" % csv, err)
        self.assertIn("2 subscribers imported, 2 lines refused", r.stdout.decode())

        lines = self.run_ok("list").splitlines()
        self.assertEqual(lines, [
            "ann@example.org\tconfirmed\treleases eol\t2.15\tdaily",
            "bob@example.org\tconfirmed\treleases\tall\timmediate",
            "carol@example.org\tconfirmed\tsecurity\t2.16 2.15\tweekly",
        ])
        self.assertEqual(self.run_ok("list", "--state", "pending"), "")
        show = self.run_ok("show", "carol@example.org")
        self.assertIn("mode        weekly", show)
        self.assertIn("from import", show)
        export = self.run_ok("export").splitlines()
        self.assertEqual(export[0].split(",")[0:5],
                         ["address", "state", "topics", "branches", "mode"])
        self.assertEqual(len(export), 4)

        # A delivered copy to ann and one still pending.
        db = os.path.join(self.work.path, "herald.db")
        con = sqlite3.connect(db)
        con.executescript(
            "INSERT INTO messages(id, destination, sender, subject, payload, created_at, key) "
            "VALUES(1, 'members', 'h@example.org', 'S', 'P', 1, 'k1');"
            "INSERT INTO deliveries(message_id, recipient, idempotency_key, state, "
            "next_attempt_at, created_at, destination) VALUES"
            "(1, 'ann@example.org', 'k1/a', 'delivered', 1, 1, 'members'),"
            "(1, 'ann@example.org', 'k1/b', 'pending', 1, 1, 'members');")
        con.commit()
        con.close()
        out = self.run_ok("remove", "ann@example.org", "--erase")
        self.assertIn("erased", out)
        con = sqlite3.connect(db)
        left = con.execute("SELECT state FROM deliveries WHERE recipient = 'ann@example.org'"
                           ).fetchall()
        gone = con.execute("SELECT count(*) FROM subscribers WHERE address = 'ann@example.org'"
                           ).fetchone()[0]
        con.close()
        self.assertEqual(left, [("pending",)])
        self.assertEqual(gone, 0)
        r = harness.herald("subscribers", "show", "ann@example.org", "--config", self.cfg)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no subscriber ann@example.org", r.stderr.decode())


if __name__ == "__main__":
    unittest.main()
