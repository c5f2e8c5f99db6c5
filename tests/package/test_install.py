"""Install: `cmake --install` of the build into a temporary prefix, then the demo run from
the installed files alone, with the source tree (and the build tree inside it) hidden by
an empty directory mounted over it in a private mount namespace.

Environment: HERALD_BUILD_DIR (the configured build), HERALD_SOURCE_DIR (the repository).
Exit status 77 (skipped) when a mount namespace cannot be made (not root, no unshare).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

SRC = os.environ["HERALD_SOURCE_DIR"]
BUILD = os.environ["HERALD_BUILD_DIR"]
SKIP = 77


def can_hide_source():
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    r = subprocess.run(["unshare", "--mount", "true"], capture_output=True)
    return r.returncode == 0


def hidden(cmd, cwd):
    """Runs cmd with SRC replaced by an empty tmpfs (this process's view is unchanged)."""
    script = 'mount -t tmpfs -o size=1m herald-hidden "$0" && cd "$1" && shift && exec "$@"'
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script,
                           SRC, cwd] + cmd, capture_output=True, timeout=120)


class Install(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.prefix = tempfile.mkdtemp(prefix="herald-install-")
        r = subprocess.run(["cmake", "--install", BUILD, "--prefix", cls.prefix],
                           capture_output=True)
        if r.returncode != 0:
            raise RuntimeError(r.stdout.decode() + r.stderr.decode())

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.prefix, ignore_errors=True)

    def path(self, *parts):
        return os.path.join(self.prefix, *parts)

    def test_files_are_in_their_fhs_places(self):
        for p in ["bin/herald", "share/herald/demo.toml", "share/herald/lustre-eol.md",
                  "share/herald/templates/mail/release.published.text.mustache",
                  "share/herald/templates/mail/default.subject.mustache",
                  "share/herald/sample/lustre-release-tags.atom",
                  "share/herald/sample/ChangeLog.master", "share/man/man8/herald.8",
                  "share/man/man5/herald.toml.5", "share/doc/herald/examples/herald.toml",
                  "share/doc/herald/admin-guide.md", "lib/systemd/system/herald.service"]:
            self.assertTrue(os.path.isfile(self.path(p)), p)
        self.assertTrue(os.access(self.path("bin/herald"), os.X_OK))
        with open(self.path("lib/systemd/system/herald.service")) as f:
            unit = f.read()
        self.assertIn("ExecStart=%s/bin/herald run\n" % self.prefix, unit)
        self.assertNotIn("@HERALD", unit)
        with open(self.path("share/herald/demo.toml")) as f:
            demo = f.read()
        self.assertIn('"%s/share/herald/sample/lustre-release-tags.atom"' % self.prefix, demo)
        self.assertNotIn(SRC, demo)
        self.assertNotIn("../var", demo)

    def test_the_installed_demo_runs_without_the_source_tree(self):
        if not can_hide_source():
            sys.stderr.write("skipped: needs root and unshare to hide the source tree\n")
            raise unittest.SkipTest("no mount namespace")
        work = tempfile.mkdtemp(prefix="herald-demo-")
        try:
            shutil.copy(self.path("share/herald/demo.toml"), work)
            herald = self.path("bin/herald")
            # The source tree is really out of reach inside the namespace.
            r = hidden(["ls", "-A", SRC], work)
            self.assertEqual((r.returncode, r.stdout), (0, b""), r.stderr)
            r = hidden([herald, "check-config", "--config", "demo.toml"], work)
            self.assertEqual(r.returncode, 0, r.stderr)
            # Every bundled template was found, installed (not through the source tree).
            tdir = os.path.join(SRC, "templates")
            bundled = sum(len([f for f in os.listdir(os.path.join(tdir, c)) if f.endswith(".mustache")])
                          for c in os.listdir(tdir))
            self.assertIn(b"%d templates" % bundled, r.stdout)
            r = hidden([herald, "run", "--once", "--config", "demo.toml"], work)
            self.assertEqual(r.returncode, 0, r.stderr)
            new = os.path.join(work, "var", "Maildir", "new")
            subjects = []
            for name in sorted(os.listdir(new)):
                with open(os.path.join(new, name), "rb") as f:
                    m = re.search(rb"^Subject: (.*)\r$", f.read(), re.M)
                    subjects.append(m.group(1).decode())
            self.assertIn("Lustre 2.15.8 (LTS) released", subjects)
            self.assertTrue(any("release candidate" in s for s in subjects), subjects)
            # Run again: nothing new.
            r = hidden([herald, "run", "--once", "--config", "demo.toml"], work)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(len(os.listdir(new)), len(subjects))
            r = hidden(["man", "-l", "-P", "cat", self.path("share/man/man5/herald.toml.5")], work)
            if r.returncode == 0:
                self.assertIn(b"max_connections", r.stdout)
        finally:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    result = unittest.main(exit=False).result
    if not result.wasSuccessful():
        sys.exit(1)
    sys.exit(SKIP if result.skipped and not result.failures else 0)
