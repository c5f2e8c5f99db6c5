"""End to end: dead letters and disabled destinations through the command line
(herald outbox list/show/retry/purge, herald destination list/enable) on the
database a real run wrote after a real SMTP server refused the mail."""
import os
import sqlite3
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402


def one_release_feed():
    return harness.atom_feed([{"id": "t:2.15.8", "title": "2.15.8",
                               "updated": "2025-12-02T18:19:20Z",
                               "link": "https://example.org/tag/2.15.8"}])


class OutboxCommands(unittest.TestCase):
    def setUp(self):
        self.work = harness.Workdir()
        self.http = harness.FeedServer()
        self.feed = self.http.put("/tags.atom", one_release_feed())
        self.smtp = harness.SmtpServer(self.work.file("smtp"), "--script",
                                       "550 5.7.1 Announcements not accepted here")
        self.cfg = self.work.config(self.feed, self.smtp.url)
        self.db = self.work.file("herald.db")

    def tearDown(self):
        self.smtp.stop()
        self.http.close()
        self.work.cleanup()

    def herald(self, *args, code=0):
        r = harness.herald(*args, "--config", self.cfg)
        self.assertEqual(r.returncode, code, (args, r.stdout, r.stderr))
        return r.stdout.decode(), r.stderr.decode()

    def rows(self, *args):
        out, _ = self.herald("outbox", "list", *args)
        return [l.split("\t") for l in out.splitlines()]

    def sql(self, query, *params):
        con = sqlite3.connect(self.db)
        try:
            with con:
                return con.execute(query, params).fetchall()
        finally:
            con.close()

    def test_dead_letters_are_listed_shown_retried_with_a_fresh_age_and_purged(self):
        r = harness.herald("run", "--once", "--config", self.cfg)
        self.assertEqual(r.returncode, 1, r.stderr)
        dead = self.rows("--state", "dead")
        self.assertEqual(len(dead), 1, dead)
        row = dead[0]
        ident = row[0]
        self.assertEqual(row[1], "dead")
        self.assertEqual(row[2], "lustre-discuss")
        self.assertEqual(row[3], "lustre-discuss@lists.lustre.example")
        self.assertEqual(row[4], "attempts=1")
        self.assertTrue(row[5].startswith("age="), row)
        self.assertEqual(row[6], "next=-")
        self.assertIn("Announcements not accepted here", row[-1])
        self.assertEqual(self.rows("--destination", "testers"), [])
        self.assertEqual(len(self.rows("--destination", "lustre-discuss")), 1)
        self.assertEqual(self.rows("--older-than", "1h"), [])

        out, _ = self.herald("outbox", "show", ident)
        self.assertIn("state           dead", out)
        self.assertIn("recipient       lustre-discuss@lists.lustre.example", out)
        self.assertIn("subject         ", out)
        self.assertRegex(out, r"payload         [1-9]\d* bytes")
        self.assertIn("550 5.7.1 Announcements not accepted here", out)
        _, err = self.herald("outbox", "show", "999", code=1)
        self.assertIn("no delivery with ID 999", err)

        # Purging needs what to purge and never takes pending deliveries.
        _, err = self.herald("outbox", "purge", "--state", "pending", "--older-than", "1s",
                             code=2)
        self.assertIn("pending deliveries are not purged", err)
        _, err = self.herald("outbox", "purge", "--state", "dead", code=2)
        self.assertIn("--older-than", err)

        # Made old, then retried: pending, due now, its age counted from the retry.
        self.sql("UPDATE deliveries SET created_at = created_at - 86400 * 10")
        self.assertEqual(len(self.rows("--older-than", "9d")), 1)
        _, err = self.herald("outbox", "retry", "--all", "--state", "pending", code=2)
        self.assertIn("only dead deliveries are retried", err)
        out, _ = self.herald("outbox", "retry", "--all", "--destination", "testers")
        self.assertIn("0 dead deliveries made pending again", out)
        out, _ = self.herald("outbox", "retry", ident, "--state", "dead")
        self.assertIn("1 dead deliveries made pending again", out)
        pending = self.rows("--state", "pending")
        self.assertEqual(len(pending), 1)
        self.assertEqual(pending[0][4], "attempts=0")
        self.assertEqual(pending[0][6], "next=now")
        [(created,)] = self.sql("SELECT created_at FROM deliveries")
        self.assertLess(abs(created - time.time()), 60)
        self.assertEqual(self.rows("--older-than", "9d"), [])

        # The server takes it this time; the delivered row is purged once old
        # enough, and its message with it.
        r = harness.herald("run", "--once", "--config", self.cfg)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(self.smtp.messages()), 1)
        self.assertEqual(len(self.rows("--state", "delivered")), 1)
        out, _ = self.herald("outbox", "purge", "--state", "delivered", "--older-than", "1d")
        self.assertIn("0 delivered deliveries purged", out)
        self.sql("UPDATE deliveries SET created_at = created_at - 86400 * 2")
        out, _ = self.herald("outbox", "purge", "--state", "dead", "--older-than", "1d")
        self.assertIn("0 dead deliveries purged", out)
        out, _ = self.herald("outbox", "purge", "--state", "delivered", "--older-than", "1d",
                             "--destination", "testers")
        self.assertIn("0 delivered deliveries purged", out)
        out, _ = self.herald("outbox", "purge", "--state", "delivered", "--older-than", "1d",
                             "--destination", "lustre-discuss")
        self.assertIn("1 delivered deliveries purged", out)
        self.assertEqual(self.rows(), [])
        self.assertEqual(self.sql("SELECT count(*) FROM messages"), [(0,)])

    def test_a_disabled_destination_is_listed_and_enabled(self):
        out, _ = self.herald("destination", "list")
        self.assertEqual(out.splitlines(), ["lustre-discuss\tenabled", "testers\tenabled"])
        harness.herald("outbox", "list", "--config", self.cfg)  # creates the database
        self.sql("INSERT INTO destination_state(name, disabled_reason, disabled_since) "
                 "VALUES('testers', 'HTTP 410 Gone', strftime('%s','now') - 7200)")
        out, _ = self.herald("destination", "list")
        lines = out.splitlines()
        self.assertEqual(lines[0], "lustre-discuss\tenabled")
        self.assertRegex(lines[1], r"^testers\tdisabled since \S+ \(2h ago\): HTTP 410 Gone$")
        out, _ = self.herald("destination", "enable", "testers")
        self.assertIn("testers enabled (it was disabled since", out)
        self.assertIn("HTTP 410 Gone", out)
        out, _ = self.herald("destination", "enable", "testers")
        self.assertEqual(out, "testers was not disabled\n")
        out, _ = self.herald("destination", "list")
        self.assertEqual(out.splitlines(), ["lustre-discuss\tenabled", "testers\tenabled"])
        _, err = self.herald("destination", "enable", code=2)
        self.assertIn("destination enable needs one NAME", err)


if __name__ == "__main__":
    unittest.main()
