"""End to end: kill -9 while 1,000 announcements are being delivered; after a
restart every one arrives, and any repeat carries the same Message-ID."""
import collections
import os
import signal
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

N = 1000


class CrashDuringDelivery(unittest.TestCase):
    def test_kill_9_loses_nothing(self):
        work = harness.Workdir()
        http = harness.FeedServer()
        # Each DATA answer waits 2 ms so that the kill lands mid-delivery.
        smtp = harness.SmtpServer(work.file("smtp"), "--delay-data", "0.002")
        try:
            entries = [{"id": "urn:herald-test:%d" % i, "title": "Announcement %04d" % i,
                        "updated": "2025-12-01T00:00:00Z",
                        "link": "https://example.org/a/%d" % i} for i in range(N)]
            feed = http.put("/big.atom", harness.atom_feed(entries))
            cfg = work.config(feed, smtp.url, model="generic")
            p = subprocess.Popen([harness.HERALD, "run", "--config", cfg],
                                 stderr=subprocess.DEVNULL)
            self.assertTrue(harness.wait_until(lambda: len(smtp.messages()) >= 200, 60))
            os.kill(p.pid, signal.SIGKILL)
            p.wait()
            before = len(smtp.messages())
            self.assertLess(before, N, "the kill came too late to test anything")
            r = harness.herald("run", "--once", "--config", cfg, timeout=300)
            self.assertEqual(r.returncode, 0, r.stderr.decode()[-2000:])
            msgs = smtp.messages()
            ids_by_subject = collections.defaultdict(set)
            code, parsed, problems = harness.check_mime(smtp.files())
            self.assertEqual(code, 0, problems[:2000])
            for m in parsed:
                ids_by_subject[m["subject"]].add(m["message_id"])
            self.assertEqual(len(ids_by_subject), N)  # every announcement arrived
            for subject, ids in ids_by_subject.items():
                self.assertEqual(len(ids), 1, subject)  # a repeat has the same Message-ID
            repeats = len(msgs) - N
            print("delivered before kill: %d, total received: %d, repeats: %d" %
                  (before, len(msgs), repeats))
        finally:
            smtp.stop()
            http.close()
            work.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
