"""End to end: the command line an operator meets first."""
import os
import sqlite3
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402


class CommandLine(unittest.TestCase):
    def test_help_and_version(self):
        r = harness.herald("--help")
        self.assertEqual(r.returncode, 0)
        out = r.stdout.decode()
        for word in ("herald run", "--once", "check-config", "outbox", "SIGHUP"):
            self.assertIn(word, out)
        r = harness.herald("--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout.decode(), r"^herald \d+\.\d+\.\d+\n$")
        r = harness.herald("frobnicate")
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown command 'frobnicate'", r.stderr.decode())

    def test_check_config_accepts_the_shipped_files(self):
        for name in ("demo.toml", "herald.toml"):
            r = harness.herald("check-config", "--config",
                               os.path.join(harness.SRC, "config", name))
            self.assertEqual(r.returncode, 0, r.stderr.decode())
            self.assertIn("OK", r.stdout.decode())

    def test_check_config_prints_every_error_with_file_and_line(self):
        work = harness.Workdir()
        try:
            path = work.file("bad.toml")
            with open(path, "w") as f:
                f.write('[mail]\nfrom = "a@b"\n\n[[source]]\nname = "x"\nkind = "feed"\n'
                        'url = "http://x/"\nintervall = "5m"\ntimeout = "soon"\n')
            r = harness.herald("check-config", "--config", path)
            self.assertEqual(r.returncode, 1)
            err = r.stderr.decode().splitlines()
            self.assertIn("%s:8: unknown key 'intervall' in [[source]]; did you mean 'interval'?"
                          % path, err)
            self.assertTrue(any(l.startswith("%s:9: 'timeout': 'soon' is not a duration" % path)
                                for l in err), err)
        finally:
            work.cleanup()

    def test_check_config_refuses_what_configures_nothing(self):
        work = harness.Workdir()
        try:
            empty = work.file("empty.toml")
            open(empty, "w").close()
            gopher = work.config("gopher://example.org/tags")
            missing = work.file("missing.toml")
            for path, expected in (
                    (missing, "%s: cannot read: No such file or directory" % missing),
                    (work.path, "%s: is a directory, not a configuration file" % work.path),
                    (empty, "%s: the configuration is empty; it needs at least one [[source]]"
                            % empty),
                    (gopher, "%s:24: 'url': scheme 'gopher' is not supported; use http://, "
                             "https://, file:// or a path" % gopher)):
                r = harness.herald("check-config", "--config", path)
                self.assertEqual(r.returncode, 1, (path, r.stdout))
                self.assertNotIn(b"OK", r.stdout)
                self.assertTrue(r.stderr.decode().startswith(expected), r.stderr)
        finally:
            work.cleanup()

    def test_a_template_that_does_not_parse_is_reported(self):
        work = harness.Workdir()
        try:
            os.makedirs(work.file("tpl/mail"))
            with open(work.file("tpl/mail/release.published.subject.mustache"), "w") as f:
                f.write("Lustre {{#attributes.version}}{{attributes.version}}\n")
            cfg = work.config("http://127.0.0.1:1/x")
            with open(cfg) as f:
                text = f.read().replace("[herald]\n", '[herald]\ntemplates_dir = "tpl"\n')
            with open(cfg, "w") as f:
                f.write(text)
            r = harness.herald("check-config", "--config", cfg)
            self.assertEqual(r.returncode, 1)
            self.assertIn("release.published.subject.mustache", r.stderr.decode())
        finally:
            work.cleanup()

    def test_json_logs_are_one_valid_object_per_line(self):
        import json
        work = harness.Workdir()
        http = harness.FeedServer()
        try:
            feed = http.put("/f.atom", harness.atom_feed([
                {"id": "j1", "title": 'quote " backslash \\ tab\t', "updated": "2025-12-01T00:00:00Z"}]))
            cfg = work.config(feed, model="generic")
            with open(cfg) as f:
                text = f.read().replace('log_level = "info"', 'log_level = "info"\nlog_format = "json"')
            with open(cfg, "w") as f:
                f.write(text)
            r = harness.herald("run", "--once", "--config", cfg)
            self.assertEqual(r.returncode, 0, r.stderr.decode())
            lines = r.stderr.decode().splitlines()
            self.assertGreater(len(lines), 3)
            for line in lines:
                obj = json.loads(line)
                self.assertEqual(set(obj), {"time", "level", "msg"})
            self.assertTrue(any("delivery mail:lustre-discuss:feed:tags:j1" in json.loads(l)["msg"]
                                for l in lines))
        finally:
            http.close()
            work.cleanup()

    def test_numbers_on_the_command_line_are_parsed_strictly(self):
        work = harness.Workdir()
        try:
            cfg = work.config("http://127.0.0.1:1/x")
            for args, why in (
                    (["outbox", "retry", "abc"], "'abc' is not a delivery ID"),
                    (["outbox", "retry", "12x"], "'12x' is not a delivery ID"),
                    (["outbox", "retry", "0"], "'0' is not a delivery ID"),
                    (["outbox", "retry", "-3"], "'-3' is not a delivery ID"),
                    (["outbox", "retry", " 7"], "' 7' is not a delivery ID"),
                    (["outbox", "retry", "99999999999999999999"], "is not a delivery ID"),
                    (["outbox", "retry", "--all", "4"], "--all or an ID, not both"),
                    (["outbox", "list", "--limit", "x"], "--limit must be a whole number"),
                    (["outbox", "list", "--limit", "5x"], "not '5x'"),
                    (["outbox", "list", "--limit", "-1"], "not '-1'"),
                    (["outbox", "list", "--limit", "0"], "not '0'"),
                    (["outbox", "list", "--limit", "99999999999999999999"], "--limit must be"),
                    (["outbox", "list", "--state", "sent"], "--state must be pending")):
                r = harness.herald(*args, "--config", cfg)
                self.assertEqual(r.returncode, 2, (args, r.stdout, r.stderr))
                self.assertIn(why, r.stderr.decode(), args)
                self.assertEqual(r.stdout, b"", args)
            # A well-formed ID that names no dead delivery is an error, not "0 made pending".
            r = harness.herald("outbox", "retry", "12", "--config", cfg)
            self.assertEqual(r.returncode, 1, r.stdout)
            self.assertIn("no dead delivery with ID 12", r.stderr.decode())
            r = harness.herald("outbox", "list", "--limit", "3", "--config", cfg)
            self.assertEqual(r.returncode, 0, r.stderr.decode())
        finally:
            work.cleanup()

    def test_a_full_or_read_only_disk_at_start_is_named(self):
        work = harness.Workdir()
        mnt = work.file("db")
        os.makedirs(mnt)
        try:
            cfg = work.config("http://127.0.0.1:1/x")
            with open(cfg) as f:
                text = f.read().replace(work.file("herald.db"), os.path.join(mnt, "herald.db"))
            with open(cfg, "w") as f:
                f.write(text)
            db = os.path.join(mnt, "herald.db")
            for options, fill, cause in (("size=64k", 44 * 1024, "the disk is full (ENOSPC)"),
                                         ("size=64k,ro", 0, "read-only file system (EROFS)")):
                r = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", mnt],
                                   capture_output=True)
                if r.returncode != 0:
                    self.skipTest("cannot mount a tmpfs (needs root): %s" % r.stderr.decode())
                try:
                    if fill:
                        with open(os.path.join(mnt, "fill"), "wb") as f:
                            f.write(b"x" * fill)
                    r = harness.herald("run", "--once", "--config", cfg)
                    self.assertEqual(r.returncode, 1)
                    self.assertIn("cannot write the database %s: %s" % (db, cause),
                                  r.stderr.decode())
                finally:
                    subprocess.run(["umount", "-l", mnt], check=True)
        finally:
            work.cleanup()

    def test_a_database_from_a_newer_herald_is_refused(self):
        work = harness.Workdir()
        try:
            cfg = work.config("http://127.0.0.1:1/x")
            db = work.file("herald.db")
            con = sqlite3.connect(db)
            con.execute("PRAGMA user_version=42")
            con.close()
            r = harness.herald("run", "--once", "--config", cfg)
            self.assertEqual(r.returncode, 1)
            self.assertIn("schema version 42 was written by a newer herald", r.stderr.decode())
        finally:
            work.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
